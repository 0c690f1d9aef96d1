"""Creation functions against torch 2.13: dtype inference, shapes, values, seeding."""

import numpy as np
import pytest

import tinygrad_nn as tg

from .surface import to_np, torch

# data -> tensor(data): dtype inferred as torch.tensor does
TENSOR_DATA = {
    "int": 3,
    "float": 3.5,
    "bool": True,
    "int_list": [1, 2, 3],
    "float_list": [1.0, 2.0],
    "mixed_list": [1, 2.5],
    "bool_list": [True, False],
    "nested": [[1, 2], [3, 4]],
    "nested_float": [[1.5], [2.0]],
    "empty": [],
    "int32_array": np.array([1, 2], dtype=np.int32),
    "int64_array": np.array([1, 2], dtype=np.int64),
    "uint8_array": np.array([1, 255], dtype=np.uint8),
    "float32_array": np.array([1.5, 2], dtype=np.float32),
    "float64_array": np.array([1.5, 2], dtype=np.float64),
    "bool_array": np.array([True, False]),
    "numpy_float64_scalar": np.float64(2.5),
    "numpy_int_scalar": np.int64(7),
    "0d_array": np.array(2.25),
}


@pytest.mark.parametrize("name", list(TENSOR_DATA))
def test_tensor_infers_dtype_as_torch(name):
    data = TENSOR_DATA[name]
    ours, theirs = tg.tensor(data), torch.tensor(data)
    assert isinstance(ours, tg.Tensor)
    assert ours.dtype == to_np(theirs).dtype, f"{name}: {ours.dtype} vs torch {theirs.dtype}"
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.data, to_np(theirs))
    assert not ours.requires_grad and ours.is_leaf


@pytest.mark.parametrize("data, dtype", [([1, 2], np.float64), ([1.5], np.float64),
                                         (np.arange(3), np.float32), ([0.5, 1], np.int64),
                                         (3, np.float32), ([1, 0], np.bool_)])
def test_tensor_dtype_argument(data, dtype):
    tdt = {np.float64: torch.float64, np.float32: torch.float32, np.int64: torch.int64,
           np.bool_: torch.bool}[dtype]
    ours, theirs = tg.tensor(data, dtype=dtype), torch.tensor(data, dtype=tdt)
    assert ours.dtype == dtype == to_np(theirs).dtype
    np.testing.assert_array_equal(ours.data, to_np(theirs))


def test_tensor_copies_and_requires_grad():
    a = np.array([1.0, 2.0])
    t = tg.tensor(a, requires_grad=True)
    a[0] = 9.0
    assert t.tolist() == [1.0, 2.0] and t.requires_grad and t.is_leaf and t.dtype == np.float64
    f = tg.tensor([1.0, 2.0], requires_grad=True)
    (f * f).sum().backward()
    assert f.grad.tolist() == [2.0, 4.0] and f.grad.dtype == np.float32


@pytest.mark.parametrize("data", [[1, 2], [True], 3, np.arange(3), np.array([1, 0], np.int32)])
def test_integer_and_bool_tensors_cannot_require_grad(data):
    with pytest.raises(RuntimeError):
        torch.tensor(data, requires_grad=True)
    with pytest.raises(RuntimeError, match="(?i)float"):
        tg.tensor(data, requires_grad=True)
    t = tg.tensor(data)
    with pytest.raises(RuntimeError, match="(?i)float"):
        t.requires_grad_()
    assert not t.requires_grad


# data -> Tensor(data): always floating, as torch.Tensor
CLASS_DATA = {
    "int_list": [1, 2, 3],
    "bool_list": [True, False],
    "float_list": [1.5, 2.0],
    "nested": [[1, 2], [3, 4]],
    "int_array": np.array([1, 2]),
    "bool_array": np.array([True, False]),
    "float32_array": np.array([1.5, 2], dtype=np.float32),
}


@pytest.mark.parametrize("name", list(CLASS_DATA))
def test_class_makes_floating_tensors(name):
    data = CLASS_DATA[name]
    ours, theirs = tg.Tensor(data), torch.Tensor(data)
    assert ours.dtype == np.float32 == to_np(theirs).dtype
    np.testing.assert_array_equal(ours.data, to_np(theirs))


def test_class_keeps_float64_and_may_require_grad():
    assert tg.Tensor(np.array([1.5, 2.0])).dtype == np.float64
    t = tg.Tensor([1, 2], requires_grad=True)
    assert t.requires_grad and t.dtype == np.float32


def test_from_numpy_shares_memory():
    a = np.zeros(3)
    t = tg.from_numpy(a)
    assert t.dtype == np.float64 and not t.requires_grad
    a[0] = 5.0
    assert t.tolist() == [5.0, 0.0, 0.0]
    t.add_(1)
    assert a.tolist() == [6.0, 1.0, 1.0]
    i = tg.from_numpy(np.arange(4, dtype=np.int32))
    assert i.dtype == np.int32 == to_np(torch.from_numpy(np.arange(4, dtype=np.int32))).dtype


# factory calls (same spelling in both libraries) -> same dtype, shape and values
FACTORIES = {
    "arange_int": lambda m: m.arange(5),
    "arange_start_end": lambda m: m.arange(2, 7),
    "arange_step": lambda m: m.arange(1, 10, 3),
    "arange_negative_step": lambda m: m.arange(5, 0, -2),
    "arange_float": lambda m: m.arange(5.0),
    "arange_float_step": lambda m: m.arange(0, 1, 0.25),
    "arange_kw": lambda m: m.arange(start=1, end=4),
    "arange_mixed": lambda m: m.arange(1, 2.5, 0.5),
    "linspace": lambda m: m.linspace(0, 1, 5),
    "linspace_neg": lambda m: m.linspace(-2, 3, steps=11),
    "linspace_one": lambda m: m.linspace(1, 2, 1),
    "full_int": lambda m: m.full((2, 3), 7),
    "full_float": lambda m: m.full((2, 3), 1.5),
    "full_bool": lambda m: m.full((2,), True),
    "full_list_shape": lambda m: m.full([3], -1.0),
    "eye": lambda m: m.eye(3),
    "eye_rect": lambda m: m.eye(2, 3),
    "eye_kw": lambda m: m.eye(n=2, m=4),
    "zeros_args": lambda m: m.zeros(2, 3),
    "zeros_tuple": lambda m: m.zeros((2, 3)),
    "zeros_list": lambda m: m.zeros([2, 3]),
    "zeros_0d": lambda m: m.zeros(()),
    "ones_args": lambda m: m.ones(4),
    "ones_tuple": lambda m: m.ones((1, 2)),
    "zeros_like_int": lambda m: m.zeros_like(m.tensor([1, 2])),
    "zeros_like_float64": lambda m: m.zeros_like(m.tensor(np.ones((2, 2)))),
    "ones_like": lambda m: m.ones_like(m.tensor([[1.5, 2.0]])),
    "ones_like_bool": lambda m: m.ones_like(m.tensor([True, False])),
    "full_like_float": lambda m: m.full_like(m.tensor([1.0, 2.0]), 2.5),
    "full_like_int": lambda m: m.full_like(m.tensor([1, 2]), 2.5),
    "full_like_f64": lambda m: m.full_like(m.tensor(np.ones(3)), 7),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories_match_torch(name):
    ours, theirs = FACTORIES[name](tg), FACTORIES[name](torch)
    assert isinstance(ours, tg.Tensor) and not ours.requires_grad
    o, t = to_np(ours), to_np(theirs)
    assert o.dtype == t.dtype and o.shape == t.shape
    np.testing.assert_allclose(o, t, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_and_requires_grad_keywords(dtype):
    for t in [tg.zeros(2, dtype=dtype), tg.ones((2,), dtype=dtype), tg.randn(2, dtype=dtype),
              tg.rand(2, dtype=dtype), tg.arange(3, dtype=dtype), tg.full((2,), 1, dtype=dtype),
              tg.linspace(0, 1, 3, dtype=dtype), tg.eye(2, dtype=dtype),
              tg.zeros_like(tg.tensor([1, 2]), dtype=dtype)]:
        assert t.dtype == dtype
    for t in [tg.zeros(2, requires_grad=True), tg.randn(2, 2, requires_grad=True),
              tg.ones(3, dtype=dtype, requires_grad=True), tg.rand(2, requires_grad=True),
              tg.full((2,), 1.0, requires_grad=True), tg.arange(3.0, requires_grad=True)]:
        assert t.requires_grad and t.is_leaf


RANDOM = {
    "randn": lambda **k: tg.randn(2, 3, **k),
    "randn_tuple": lambda **k: tg.randn((2, 3), **k),
    "rand": lambda **k: tg.rand(2, 3, **k),
    "rand_tuple": lambda **k: tg.rand((4,), **k),
    "randint": lambda **k: tg.randint(0, 10, (5, 2), **k),
    "randint_high_only": lambda **k: tg.randint(3, (6,), **k),
    "randn_like": lambda **k: tg.randn_like(tg.zeros(2, 3), **k),
    "rand_like": lambda **k: tg.rand_like(tg.zeros(2, 3, dtype=np.float64), **k),
}
RANDOM_DTYPES = {"randint": np.int64, "randint_high_only": np.int64, "rand_like": np.float64}


@pytest.mark.parametrize("name", list(RANDOM))
def test_random_dtypes_ranges_and_seeding(name):
    draw = RANDOM[name]
    tg.manual_seed(3)
    a = draw()
    tg.manual_seed(3)
    b = draw()
    c = draw()
    assert a.dtype == RANDOM_DTYPES.get(name, np.float32) and not a.requires_grad
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(b.data, c.data), "two draws in a row must differ"
    if name in ("rand", "rand_tuple", "rand_like"):
        assert np.all((a.data >= 0) & (a.data < 1))
    if name == "randint":
        assert np.all((a.data >= 0) & (a.data < 10)) and a.shape == (5, 2)
    if name == "randint_high_only":
        assert np.all((a.data >= 0) & (a.data < 3)) and a.shape == (6,)
    if "like" not in name:
        g1, g2 = np.random.default_rng(11), np.random.default_rng(11)
        tg.manual_seed(5)
        x = draw(generator=g1)
        y = draw(generator=g2)
        after = draw()
        tg.manual_seed(5)
        np.testing.assert_array_equal(x.data, y.data)
        # a generator= draw leaves the global generator alone
        np.testing.assert_array_equal(after.data, draw().data)


def test_random_statistics():
    tg.manual_seed(0)
    n = tg.randn(20000, dtype=np.float64).data
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    u = tg.rand(20000, dtype=np.float64).data
    assert abs(u.mean() - 0.5) < 0.01
    r = tg.randint(0, 4, (20000,)).data
    assert set(np.unique(r).tolist()) == {0, 1, 2, 3}


def test_manual_seed_seeds_everything_that_draws():
    def draws():
        w = tg.nn.Linear(3, 2).weight.data.copy()
        t = tg.zeros(4)
        t.normal_()
        u = tg.zeros(4)
        u.uniform_(-1, 1)
        return [w, tg.randn(3).data, tg.rand(2).data, tg.randint(0, 100, (3,)).data, t.data,
                u.data, tg.randn_like(t).data]

    tg.manual_seed(42)
    first = draws()
    tg.manual_seed(42)
    second = draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    tg.manual_seed(43)
    assert not np.array_equal(draws()[1], first[1])


def test_default_dtypes_are_float32():
    for t in [tg.zeros(2, 3), tg.ones(2), tg.randn(2), tg.rand(1), tg.eye(2),
              tg.linspace(0, 1, 2), tg.full((1,), 2.0), tg.arange(0.5, 2)]:
        assert t.dtype == np.float32
    assert tg.zeros(2, 3).shape == tg.zeros((2, 3)).shape == (2, 3)
