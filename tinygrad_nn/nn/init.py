"""Weight-init rules. All draw from the generator `tinygrad_nn.manual_seed` seeds.

The text's rule: normal, mean 0, std = 1/√(incoming links), so a node's summed input
stays of order one and the sigmoid is not saturated from the start. Never start with
all-equal (or all-zero) weights: every node of a layer would then compute the same
output and receive the same error, so they would stay equal forever, and all-zero
weights also send back zero hidden errors (Wᵀ·e = 0), so nothing before them learns.
"""

from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor, generator
from ..autograd import ShapeError

__all__ = ["book_normal_", "normal_", "uniform_", "zeros_", "constant_", "xavier_uniform_",
           "fan_in_and_fan_out"]


def fan_in_and_fan_out(tensor: Tensor) -> tuple:
    """(incoming, outgoing) links per node for a weight of shape (out, in, ...)."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ShapeError(f"init: fan in/out needs a weight with at least 2 dimensions, "
                         f"got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    tensor.data[...] = values.astype(tensor.data.dtype, copy=False)
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill in place with samples of normal(mean, std)."""
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


def book_normal_(tensor: Tensor) -> Tensor:
    """The text's rule: normal(0, fan_in**-0.5), fan_in = incoming links of a node."""
    fan_in, _ = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, fan_in**-0.5)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill in place with samples of uniform[a, b)."""
    return _fill(tensor, generator().uniform(a, b, tensor.shape))


def zeros_(tensor: Tensor) -> Tensor:
    tensor.data[...] = 0
    return tensor


def constant_(tensor: Tensor, value: float) -> Tensor:
    tensor.data[...] = value
    return tensor


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: uniform(−a, a) with a = gain·√(6/(fan_in+fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a)
