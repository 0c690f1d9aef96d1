"""Math of the day-one surface against torch 2.13: values, dtypes, gradients (float32 and
float64, broadcasting shapes), and tinygrad_nn.gradcheck in float64 for each case."""

import numpy as np
import pytest

import tinygrad_nn as tg

from .surface import FLOATS, arrays, check, gradcheck, run, to_np, torch

C23 = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])


def const(m, a, like):
    """An ndarray constant of `like`'s dtype on our side, a torch tensor on torch's."""
    a = a.astype(to_np(like).dtype)
    return torch.tensor(a) if m is torch else a


# name -> (fn(m, *tensors), input shapes, domain)
CASES = {
    # element-wise
    "abs": (lambda m, a: a.abs(), [(2, 3)], "normal"),
    "sqrt": (lambda m, a: a.sqrt(), [(2, 3)], "positive"),
    "square": (lambda m, a: a.square(), [(2, 3)], "normal"),
    "sin": (lambda m, a: a.sin(), [(4,)], "normal"),
    "cos": (lambda m, a: a.cos(), [(4,)], "normal"),
    "exp": (lambda m, a: a.exp(), [(2, 3)], "normal"),
    "log": (lambda m, a: a.log(), [(2, 3)], "positive"),
    "sigmoid": (lambda m, a: a.sigmoid(), [(2, 3)], "normal"),
    "tanh": (lambda m, a: a.tanh(), [(2, 3)], "normal"),
    "relu": (lambda m, a: a.relu(), [(2, 3)], "normal"),
    "neg": (lambda m, a: -a, [(2, 3)], "normal"),
    "clamp": (lambda m, a: a.clamp(-0.5, 0.4), [(3, 4)], "normal"),
    "clamp_min": (lambda m, a: a.clamp(min=-0.3), [(3, 4)], "normal"),
    "clamp_max": (lambda m, a: a.clamp(max=0.2), [(3, 4)], "normal"),
    "clamp_none_max": (lambda m, a: a.clamp(None, 0.2), [(3, 4)], "normal"),
    "clamp_min_none": (lambda m, a: a.clamp(-0.2, None), [(3, 4)], "normal"),
    "leaky_relu": (lambda m, a: m.nn.functional.leaky_relu(a), [(3, 4)], "normal"),
    "leaky_relu_slope": (lambda m, a: m.nn.functional.leaky_relu(a, 0.2), [(3, 4)], "normal"),
    "leaky_relu_kw": (lambda m, a: m.nn.functional.leaky_relu(a, negative_slope=0.3),
                      [(5,)], "normal"),
    "sigmoid_F": (lambda m, a: m.nn.functional.sigmoid(a), [(3,)], "normal"),
    "softmax0": (lambda m, a: a.softmax(0), [(3, 4)], "normal"),
    "softmax1": (lambda m, a: a.softmax(dim=1), [(3, 4)], "normal"),
    "softmax_neg": (lambda m, a: a.softmax(-2), [(2, 3, 4)], "normal"),
    "log_softmax1": (lambda m, a: a.log_softmax(1), [(3, 4)], "normal"),
    "log_softmax0": (lambda m, a: a.log_softmax(dim=0), [(3, 4)], "normal"),
    "F_softmax": (lambda m, a: m.nn.functional.softmax(a, dim=1), [(3, 4)], "normal"),
    "F_log_softmax": (lambda m, a: m.nn.functional.log_softmax(a, dim=-1), [(2, 5)], "normal"),
    # binary, broadcasting
    "add_bcast": (lambda m, a, b: a + b, [(2, 3), (3,)], "normal"),
    "sub_bcast": (lambda m, a, b: a - b, [(2, 1, 3), (4, 1)], "normal"),
    "mul_bcast": (lambda m, a, b: a * b, [(3, 1), (1, 4)], "normal"),
    "div_bcast": (lambda m, a, b: a / b, [(2, 3), (2, 1)], "positive"),
    "add_0d": (lambda m, a, b: a + b, [(), (2, 3)], "normal"),
    "pow_tensor": (lambda m, a, b: a ** b, [(2, 3), (3,)], "positive"),
    "pow_tensor_bcast": (lambda m, a, b: a ** b, [(3, 1), (1, 2)], "positive"),
    "minimum": (lambda m, a, b: m.minimum(a, b), [(2, 3), (3,)], "distinct"),
    "maximum": (lambda m, a, b: m.maximum(a, b), [(3, 1), (1, 4)], "distinct"),
    "minimum_method": (lambda m, a, b: a.minimum(b), [(2, 3), (2, 3)], "distinct"),
    "maximum_method": (lambda m, a, b: a.maximum(b), [(4,), (4,)], "distinct"),
    # numbers and arrays on either side
    "rsub": (lambda m, a: 1 - a, [(2, 3)], "normal"),
    "rdiv": (lambda m, a: 2 / a, [(2, 3)], "positive"),
    "radd": (lambda m, a: 0.5 + a, [(3,)], "normal"),
    "rmul": (lambda m, a: 3 * a, [(3,)], "normal"),
    "sub_number": (lambda m, a: a - 0.25, [(3,)], "normal"),
    "div_number": (lambda m, a: a / 4, [(3,)], "normal"),
    "pow0": (lambda m, a: a ** 0, [(2, 3)], "normal"),
    "pow1": (lambda m, a: a ** 1, [(2, 3)], "normal"),
    "pow2": (lambda m, a: a ** 2, [(2, 3)], "normal"),
    "pow3": (lambda m, a: a ** 3, [(2, 3)], "normal"),
    "pow_half": (lambda m, a: a ** 0.5, [(2, 3)], "positive"),
    "pow_neg": (lambda m, a: a ** -1.5, [(2, 3)], "positive"),
    "rpow": (lambda m, a: 2 ** a, [(2, 3)], "normal"),
    "rpow_e": (lambda m, a: 2.5 ** a, [(4,)], "normal"),
    "array_rmatmul": (lambda m, a: const(m, C23, a) @ a, [(3, 4)], "normal"),
    "array_matmul": (lambda m, a: a @ const(m, C23.T, a), [(4, 3)], "normal"),
    "array_radd": (lambda m, a: const(m, C23, a) + a, [(3,)], "normal"),
    "array_rsub": (lambda m, a: const(m, C23, a) - a, [(2, 3)], "normal"),
    # matmul: every numpy.matmul case
    "mm_1d_1d": (lambda m, a, b: a @ b, [(3,), (3,)], "normal"),
    "mm_1d_2d": (lambda m, a, b: a @ b, [(3,), (3, 4)], "normal"),
    "mm_2d_1d": (lambda m, a, b: a @ b, [(2, 3), (3,)], "normal"),
    "mm_2d_2d": (lambda m, a, b: a @ b, [(2, 3), (3, 4)], "normal"),
    "mm_batched": (lambda m, a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)], "normal"),
    "mm_batched_2d": (lambda m, a, b: a @ b, [(2, 3, 4), (4, 5)], "normal"),
    "mm_2d_batched": (lambda m, a, b: a @ b, [(3, 4), (2, 4, 5)], "normal"),
    "mm_1d_batched": (lambda m, a, b: a @ b, [(4,), (2, 4, 3)], "normal"),
    "mm_batched_1d": (lambda m, a, b: a @ b, [(2, 3, 4), (4,)], "normal"),
    # reductions without a dim
    "sum": (lambda m, a: a.sum(), [(2, 3)], "normal"),
    "mean": (lambda m, a: a.mean(), [(2, 3)], "normal"),
    "prod": (lambda m, a: a.prod(), [(2, 3)], "positive"),
    "var": (lambda m, a: a.var(), [(2, 3)], "normal"),
    "std": (lambda m, a: a.std(), [(2, 3)], "normal"),
    "max": (lambda m, a: a.max(), [(3, 4)], "distinct"),
    "min": (lambda m, a: a.min(), [(3, 4)], "distinct"),
    "amax": (lambda m, a: a.amax(), [(3, 4)], "distinct"),
    "amin": (lambda m, a: a.amin(), [(3, 4)], "distinct"),
    # reductions with a dim
    "sum1": (lambda m, a: a.sum(1), [(2, 3)], "normal"),
    "sum_keep": (lambda m, a: a.sum(dim=0, keepdim=True), [(2, 3)], "normal"),
    "sum_dims": (lambda m, a: a.sum((0, 2)), [(2, 3, 4)], "normal"),
    "sum_neg": (lambda m, a: a.sum(-1), [(2, 3, 4)], "normal"),
    "mean1": (lambda m, a: a.mean(1), [(2, 3)], "normal"),
    "mean_keep": (lambda m, a: a.mean(dim=(0, 1), keepdim=True), [(2, 3, 2)], "normal"),
    "prod1": (lambda m, a: a.prod(1), [(2, 3)], "positive"),
    "prod_keep": (lambda m, a: a.prod(0, keepdim=True), [(2, 3)], "normal"),
    "var1": (lambda m, a: a.var(1), [(3, 4)], "normal"),
    "var_c0": (lambda m, a: a.var(0, correction=0), [(3, 4)], "normal"),
    "var_keep": (lambda m, a: a.var(dim=1, keepdim=True), [(3, 4)], "normal"),
    "std1": (lambda m, a: a.std(1), [(3, 4)], "normal"),
    "std_c0_keep": (lambda m, a: a.std(dim=0, correction=0, keepdim=True), [(3, 4)], "normal"),
    "std_c2": (lambda m, a: a.std(1, correction=2), [(3, 5)], "normal"),
    "amax1": (lambda m, a: a.amax(1), [(3, 4)], "distinct"),
    "amax_keep": (lambda m, a: a.amax(dim=0, keepdim=True), [(3, 4)], "distinct"),
    "amin1": (lambda m, a: a.amin(-1), [(3, 4)], "distinct"),
    "amax_dims": (lambda m, a: a.amax((0, 2)), [(2, 3, 4)], "distinct"),
    "max_dim_values": (lambda m, a: a.max(1).values, [(3, 4)], "distinct"),
    "max_dim_tuple": (lambda m, a: tuple(a.max(1)), [(3, 4)], "distinct"),
    "max_dim_keep": (lambda m, a: tuple(a.max(dim=0, keepdim=True)), [(3, 4)], "distinct"),
    "min_dim": (lambda m, a: tuple(a.min(1)), [(3, 4)], "distinct"),
    "min_dim_neg": (lambda m, a: a.min(-1)[0], [(2, 3, 4)], "distinct"),
    "argmax": (lambda m, a: a.argmax(), [(3, 4)], "distinct"),
    "argmax1": (lambda m, a: a.argmax(1), [(3, 4)], "distinct"),
    "argmax_keep": (lambda m, a: a.argmax(dim=0, keepdim=True), [(3, 4)], "distinct"),
    "argmin": (lambda m, a: a.argmin(), [(3, 4)], "distinct"),
    "argmin1": (lambda m, a: a.argmin(dim=1), [(3, 4)], "distinct"),
    "argmin_keep": (lambda m, a: a.argmin(1, keepdim=True), [(3, 4)], "distinct"),
    # compositions a user writes
    "mlp_step": (lambda m, x, w, b: (x @ w.T + b).sigmoid().log_softmax(1),
                 [(4, 3), (2, 3), (2,)], "normal"),
    "normalise": (lambda m, a: (a - a.mean(1, keepdim=True)) / a.std(1, keepdim=True),
                  [(3, 5)], "normal"),
    "where_clamp": (lambda m, a, b: m.where(a > 0, a.sqrt().clamp(max=1.2), b.abs()),
                    [(3, 4), (4,)], "positive"),
}

DIFFERENTIABLE = [n for n in CASES if not n.startswith("arg")]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name, dtype):
    fn, shapes, domain = CASES[name]
    check(fn, arrays(shapes, domain, seed=len(name)), dtype)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradcheck(name):
    fn, shapes, domain = CASES[name]
    gradcheck(fn, arrays(shapes, domain, seed=len(name)))


def test_max_with_dim_unpacks_to_values_and_indices():
    out = tg.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]])  # a batch of two rows
    _, pred = out.max(1)
    assert pred.dtype == np.int64 and pred.tolist() == [1, 0]
    values, indices = out.max(dim=1)
    assert values.tolist() == pytest.approx([0.9, 0.8]) and indices.tolist() == [1, 0]
    r = out.max(1)
    assert r.values is r[0] or np.array_equal(r.values.data, r[0].data)
    assert r.indices.tolist() == [1, 0] and len(r) == 2
    _, low = out.min(1)
    assert low.tolist() == [2, 1]


# ties: max/min without dim and amax/amin share evenly; max(dim) picks one index
TIES = {
    "max_all": lambda m, a: a.max(),
    "min_all": lambda m, a: a.min(),
    "amax_all": lambda m, a: a.amax(),
    "amin_all": lambda m, a: a.amin(),
    "amax1": lambda m, a: a.amax(1),
    "amin0": lambda m, a: a.amin(0),
    "amax_keep": lambda m, a: a.amax(1, keepdim=True),
    "max_dim": lambda m, a: a.max(1)[0],
    "min_dim": lambda m, a: a.min(0).values,
    "maximum": lambda m, a: m.maximum(a, a.detach() * 0 + 1.0),
    "minimum": lambda m, a: m.minimum(a, a.detach() * 0 + 1.0),
    "relu_at_0": lambda m, a: (a - 1.0).relu(),
    "clamp_at_edge": lambda m, a: a.clamp(1.0, 2.0),
}
TIED = np.array([[1.0, 2.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 0.0, 2.0]])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(TIES))
def test_ties_share_gradient_as_torch(name, dtype):
    check(TIES[name], [TIED], dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_pow_zero_gradients_are_zero_not_nan(dtype):
    # x ** 0 at x = 0, and 0 ** y at y = 0 (torch: 0, never NaN)
    check(lambda m, a: a ** 0, [np.array([0.0, 1.0, -2.0])], dtype)
    check(lambda m, b: 0 ** b, [np.array([0.0, 1.0, 2.5])], dtype)
    check(lambda m, b: 0.0 ** b, [np.array([0.0, 1.0, 2.5])], dtype)
    check(lambda m, a, b: a ** b, [np.array([0.0, 0.0, 2.0]), np.array([0.0, 2.0, 0.0])], dtype)
    x = tg.tensor(np.zeros(3, dtype), requires_grad=True)
    (x ** 0).sum().backward()
    assert np.array_equal(x.grad.data, np.zeros(3)) and x.grad.dtype == dtype


@pytest.mark.parametrize("dtype", FLOATS)
def test_numbers_keep_the_tensor_dtype(dtype):
    check(lambda m, a: a * 2.5 + 1 - a / 3 + np.float64(0.5) * a, [np.ones(3)], dtype)
    check(lambda m, a: (2 - a) ** 2 / 7, [np.ones(3)], dtype)


def test_mixed_float_precision_gradients_keep_input_dtypes():
    a32, b64 = np.linspace(0, 1, 3).astype(np.float32), np.linspace(1, 2, 3)
    outs_t, grads_t = run(torch, lambda m, a, b: a * b, [a32, b64])
    outs_o, grads_o = run(tg, lambda m, a, b: a * b, [a32, b64])
    assert outs_o[0].dtype == outs_t[0].dtype == np.float64
    assert [g.dtype for g in grads_o] == [g.dtype for g in grads_t]
    for g, gt in zip(grads_o, grads_t):
        np.testing.assert_allclose(g, gt, rtol=1e-6)


# integer and bool tensors in arithmetic: dtypes as torch
INT_CASES = {
    "int_add_int": lambda m: m.tensor([1, 2]) + 3,
    "int_mul_float": lambda m: m.tensor([1, 2]) * 1.5,
    "int_truediv": lambda m: m.tensor([1, 2]) / 2,
    "int_plus_float32": lambda m: m.tensor([1, 2]) + m.tensor([0.5, 0.25]),
    "int_plus_float64": lambda m: m.tensor([1, 2]) + m.tensor(np.array([0.5, 0.25])),
    "bool_sum": lambda m: m.tensor([True, False, True]).sum(),
    "bool_float_mean": lambda m: m.tensor([True, False, True, True]).float().mean(),
    "int_sum": lambda m: m.tensor([[1, 2], [3, 4]]).sum(0),
    "int_max": lambda m: m.tensor([[1, 5], [3, 4]]).max(),
    "int_neg": lambda m: -m.tensor([1, -2]),
    "int_abs": lambda m: m.tensor([1, -2]).abs(),
    "int_matmul": lambda m: m.tensor([[1, 2], [3, 4]]) @ m.tensor([1, 1]),
    "int_argmax": lambda m: m.tensor([[1, 5], [3, 4]]).argmax(1),
    "int_where": lambda m: m.where(m.tensor([True, False]), m.tensor([1, 2]), m.tensor([3, 4])),
    "int_clamp": lambda m: m.tensor([-3, 0, 7]).clamp(-1, 5),
    "int_floor_pow": lambda m: m.tensor([1, 2, 3]) ** 2,
}


@pytest.mark.parametrize("name", list(INT_CASES))
def test_integer_and_bool_arithmetic_dtypes(name):
    ours, theirs = to_np(INT_CASES[name](tg)), to_np(INT_CASES[name](torch))
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_one_hot():
    y = np.array([2, 0, 1, 2])
    ours = tg.nn.functional.one_hot(tg.tensor(y), 4)
    theirs = torch.nn.functional.one_hot(torch.tensor(y), 4).numpy()
    assert ours.dtype == np.int64 and not ours.requires_grad
    np.testing.assert_array_equal(ours.data, theirs)
    inferred = tg.nn.functional.one_hot(tg.tensor(y))  # num_classes=-1: max + 1
    np.testing.assert_array_equal(inferred.data, torch.nn.functional.one_hot(
        torch.tensor(y)).numpy())
    assert tg.nn.functional.one_hot(tg.tensor([[0, 1]]), num_classes=3).shape == (1, 2, 3)
    for bad in [lambda m: m.nn.functional.one_hot(m.tensor([0, 3]), 3),
                lambda m: m.nn.functional.one_hot(m.tensor([-1, 0]), 2),
                lambda m: m.nn.functional.one_hot(m.tensor([0.0, 1.0]), 2)]:
        with pytest.raises(RuntimeError):
            bad(torch)
        with pytest.raises((ValueError, TypeError)):
            bad(tg)


@pytest.mark.parametrize("name, call", [
    ("sum", lambda t, **k: t.sum(**k)), ("mean", lambda t, **k: t.mean(**k)),
    ("prod", lambda t, **k: t.prod(**k)), ("var", lambda t, **k: t.var(**k)),
    ("std", lambda t, **k: t.std(**k)), ("amax", lambda t, **k: t.amax(**k)),
    ("amin", lambda t, **k: t.amin(**k)), ("argmax", lambda t, **k: t.argmax(**k)),
    ("argmin", lambda t, **k: t.argmin(**k)), ("max", lambda t, **k: t.max(**k)[0]),
    ("min", lambda t, **k: t.min(**k)[1]),
])
def test_axis_keepdims_and_dim_keepdim_are_the_same_argument(name, call):
    a = arrays([(3, 4)], "distinct")[0]
    ours = [call(tg.tensor(a), axis=1, keepdims=True), call(tg.tensor(a), dim=1, keepdim=True),
            call(tg.tensor(a), axis=1, keepdim=True), call(tg.tensor(a), dim=1, keepdims=True)]
    theirs = to_np(call(torch.tensor(a), dim=1, keepdim=True))
    for o in ours:
        assert to_np(o).shape == theirs.shape == (3, 1) and to_np(o).dtype == theirs.dtype
        np.testing.assert_allclose(to_np(o), theirs, rtol=1e-12)


def test_softmax_and_cat_take_axis_too():
    a = arrays([(3, 4)])[0]
    np.testing.assert_allclose(tg.tensor(a).softmax(axis=0).data,
                               torch.tensor(a).softmax(0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tg.tensor(a).log_softmax(axis=0).data,
                               torch.tensor(a).log_softmax(0).numpy(), rtol=1e-12)
    assert tg.cat([tg.tensor(a), tg.tensor(a)], axis=1).shape == (3, 8)
    assert tg.stack([tg.tensor(a), tg.tensor(a)], axis=2).shape == (3, 4, 2)
    assert tg.tensor(a).squeeze(axis=0).shape == (3, 4)
