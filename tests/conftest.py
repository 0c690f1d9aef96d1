import numpy as np
import pytest

import tinygrad_nn as tg


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)
    yield


def leaf(arr, dtype=np.float64):
    """A float64 leaf that requires grad (for gradient checks)."""
    return tg.Tensor(np.asarray(arr, dtype=dtype), requires_grad=True)
