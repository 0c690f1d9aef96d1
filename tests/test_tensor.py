"""Tensor construction, dtype rules, properties and conversions."""

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import Tensor


def test_lists_ints_bools_become_float32():
    assert Tensor([1, 2, 3]).dtype == np.float32
    assert Tensor([[1.5, 2.0]]).dtype == np.float32
    assert Tensor(np.array([1, 2], dtype=np.int64)).dtype == np.float32
    assert Tensor(np.array([True, False])).dtype == np.float32
    assert Tensor(3).dtype == np.float32 and Tensor(3).shape == ()


def test_float_arrays_keep_dtype():
    assert Tensor(np.zeros(3, dtype=np.float64)).dtype == np.float64
    assert Tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor([1, 2], dtype="float64").dtype == np.float64
    assert isinstance(Tensor([1.0]).dtype, np.dtype)


def test_constructor_copies_the_data():
    a = np.zeros(3)
    t = Tensor(a)
    a[0] = 5
    assert t.data[0] == 0


@pytest.mark.parametrize("bad, exc", [("abc", TypeError), (None, TypeError),
                                      ([[1, 2], [3]], ValueError),
                                      (np.array([object()]), TypeError),
                                      ([1 + 2j], TypeError)])
def test_bad_data(bad, exc):
    with pytest.raises(exc, match="Tensor"):
        Tensor(bad)


def test_integer_dtype_refused():
    with pytest.raises(TypeError, match="floating"):
        Tensor([1, 2], dtype=np.int32)


def test_properties():
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.is_leaf and t.requires_grad
    assert t.grad is None
    assert t.T.shape == (3, 2)
    assert isinstance(t.numpy(), np.ndarray)
    assert t.tolist() == [[1.0] * 3] * 2
    assert Tensor([[2.5]]).item() == 2.5
    assert not (t * 2).is_leaf
    with pytest.raises(ValueError, match="item"):
        t.item()


def test_detach_shares_data_and_cuts_graph():
    t = Tensor([1.0, 2.0], requires_grad=True)
    d = (t * 2).detach()
    assert d.is_leaf and not d.requires_grad
    d2 = t.detach()
    assert d2.data is t.data


def test_repr_mentions_grad():
    assert "requires_grad=True" in repr(Tensor([1.0], requires_grad=True))
    assert "grad_fn=<Mul>" in repr(Tensor([1.0], requires_grad=True) * 2)
    assert "float64" in repr(Tensor(np.zeros(2)))


def test_creation_functions_and_seed():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == np.float32
    assert tg.ones(4).data.sum() == 4
    tg.manual_seed(7)
    a = tg.randn(3, 2)
    tg.manual_seed(7)
    b = tg.randn((3, 2))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a.data, b.data)
    assert tg.randn(2, dtype=np.float64).dtype == np.float64
    assert tg.zeros(2, requires_grad=True).requires_grad


def test_numpy_interop():
    t = Tensor([1.0, 2.0])
    assert np.asarray(t).dtype == np.float32
    assert float(Tensor([3.0])) == 3.0
    assert len(Tensor(np.zeros((4, 2)))) == 4
    assert [r.shape for r in Tensor(np.zeros((3, 2)))] == [(2,)] * 3
