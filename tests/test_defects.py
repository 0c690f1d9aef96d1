"""Regression tests for the defects of issue 11 (found by fuzzing and peers' suites), each
against torch 2.13, and the error-message rules (op and shapes named)."""

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn, optim

from .surface import FLOATS, check, raises_like_torch, to_np, torch


@pytest.mark.parametrize("dtype", FLOATS)
def test_pow_zero_exponent_gradient_is_zero_at_zero(dtype):
    x = tg.tensor(np.array([0.0, 2.0, -1.0], dtype), requires_grad=True)
    (x ** 0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0] and x.grad.dtype == dtype
    check(lambda m, a: (a * 1) ** 0 * a, [np.array([0.0, 3.0])], dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_zero_base_gradient_is_zero_not_nan(dtype):
    y = tg.tensor(np.array([0.0, 1.0, 2.0], dtype), requires_grad=True)
    (0 ** y).sum().backward()
    assert not np.isnan(y.grad.data).any()
    check(lambda m, b: 0 ** b, [np.array([0.0, 1.0, 2.0])], dtype)
    check(lambda m, a, b: (a * 0) ** b, [np.array([1.0, 2.0, 3.0]),
                                        np.array([0.0, 1.5, 2.0])], dtype)


@pytest.mark.parametrize("axes", [(0, 3), (3, 0), (0, 2), (-3, 0), (5, 1)])
def test_transpose_out_of_range_axis_on_2d_raises(axes):
    with pytest.raises((ValueError, IndexError), match="transpose"):
        tg.zeros(2, 3).transpose(*axes)


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(0, 3).amax(1), lambda m: m.zeros(0, 3).amin(1),
    lambda m: m.zeros(0, 3).max(1)[0], lambda m: m.zeros(0, 3).min(dim=1).values,
    lambda m: m.zeros(0, 3).max(1).indices, lambda m: m.zeros(0, 3).argmax(1),
    lambda m: m.zeros(2, 0, 3).amax(2), lambda m: m.zeros(0, 3).sum(1),
    lambda m: m.zeros(0, 3).softmax(1), lambda m: m.zeros(3, 0).amax(0),
])
def test_reduce_over_non_empty_axes_of_an_empty_tensor(call):
    ours, theirs = to_np(call(tg)), to_np(call(torch))
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype


def test_max_over_empty_tensor_with_gradient():
    x = tg.zeros(0, 3, requires_grad=True)
    x.amax(1).sum().backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(0).max(), lambda m: m.zeros(0, 3).max(), lambda m: m.zeros(0).amax(),
    lambda m: m.zeros(0, 2).min(), lambda m: m.zeros(0).amin(),
])
def test_max_of_an_empty_tensor_raises(call):
    raises_like_torch(call)


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(3, 0).amax(1), lambda m: m.zeros(0, 3).amin(0),
    lambda m: m.zeros(0, 3).max(0),
])
def test_max_over_an_empty_axis_raises(call):
    with pytest.raises(IndexError):
        call(torch)
    with pytest.raises((IndexError, ValueError)):
        call(tg)


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(()).sum(5), lambda m: m.zeros(()).sum(dim=1),
    lambda m: m.zeros(()).mean(3), lambda m: m.zeros(()).amax(2),
    lambda m: m.zeros(()).softmax(1), lambda m: m.zeros(2, 3).sum(5),
    lambda m: m.zeros(2, 3).mean(-3), lambda m: m.zeros(2, 3).var(2),
    lambda m: m.zeros(2, 3).argmax(2), lambda m: m.zeros(2, 3).softmax(2),
    lambda m: m.zeros(2, 3).log_softmax(-3), lambda m: m.zeros(2, 3).max(2),
])
def test_axis_out_of_range_raises_index_error_as_torch(call):
    raises_like_torch(call)


@pytest.mark.parametrize("call", [lambda m: m.zeros(()).sum(0), lambda m: m.zeros(()).sum(-1),
                                  lambda m: m.zeros(()).mean(0), lambda m: m.zeros(()).amax(0)])
def test_axis_0_and_minus_1_of_a_0d_tensor_are_allowed_as_torch(call):
    ours, theirs = to_np(call(tg)), to_np(call(torch))
    assert ours.shape == theirs.shape == ()


@pytest.mark.parametrize("op, call", [
    ("reshape", lambda t: t.reshape(2.0, 3)), ("reshape", lambda t: t.reshape((2, 3.0))),
    ("view", lambda t: t.view(2.0, 3)), ("sum", lambda t: t.sum(axis=1.0)),
    ("sum", lambda t: t.sum(dim=1.0)), ("mean", lambda t: t.mean(axis=1.0)),
    ("amax", lambda t: t.amax(1.0)), ("softmax", lambda t: t.softmax(1.0)),
    ("unsqueeze", lambda t: t.unsqueeze(0.0)), ("permute", lambda t: t.permute(1.0, 0)),
    ("transpose", lambda t: t.transpose(1.0, 0)), ("sum", lambda t: t.sum("1")),
])
def test_float_shapes_and_axes_raise_type_error_naming_the_op(op, call):
    with pytest.raises(TypeError):
        call(torch.zeros(2, 3))
    with pytest.raises(TypeError) as info:
        call(tg.zeros(2, 3))
    assert op in str(info.value), str(info.value)


def test_mean_axis_error_names_mean():
    with pytest.raises(IndexError) as info:
        tg.zeros(2, 3).mean(axis=4)
    assert "mean" in str(info.value) and "sum" not in str(info.value)
    with pytest.raises(TypeError) as info:
        tg.zeros(2, 3).mean(axis=0.5)
    assert "mean" in str(info.value)


@pytest.mark.parametrize("fn", [lambda t: t.softmax(0), lambda t: t.softmax(-1),
                                lambda t: t.log_softmax(0), lambda t: t.softmax(dim=0)])
def test_softmax_of_a_0d_tensor(fn):
    for dtype in FLOATS:
        ours, theirs = fn(tg.tensor(np.array(3.0, dtype))), fn(torch.tensor(np.array(3.0, dtype)))
        assert ours.shape == () and ours.dtype == dtype
        np.testing.assert_allclose(ours.data, to_np(theirs))
    check(lambda m, a: a.softmax(0) * a, [np.array(2.0)], np.float64)
    check(lambda m, a: a.log_softmax(-1) * a, [np.array(2.0)], np.float64)


def test_default_softmax_of_a_0d_tensor():
    assert tg.tensor(3.0).softmax().item() == 1.0
    assert tg.nn.functional.softmax(tg.tensor(3.0), dim=0).item() == 1.0


@pytest.mark.parametrize("lr", [np.float32(0.1), np.float64(0.1), 0.1])
def test_sgd_accepts_numpy_learning_rates(lr):
    model = nn.Linear(2, 1)
    w0 = model.weight.data.copy()
    opt = optim.SGD(model.parameters(), lr=lr)
    (model(tg.ones(3, 2)) ** 2).sum().backward()
    g = model.weight.grad.data.copy()
    opt.step()
    np.testing.assert_allclose(model.weight.data, w0 - 0.1 * g, rtol=1e-6)
    assert model.weight.dtype == np.float32
    optim.Adam(model.parameters(), lr=np.float32(1e-3))
    torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=np.float32(0.1))


@pytest.mark.parametrize("lr", [-0.1, "0.1", None])
def test_sgd_refuses_bad_learning_rates(lr):
    with pytest.raises((ValueError, TypeError)):
        torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=lr)
    with pytest.raises((ValueError, TypeError)):
        optim.SGD(nn.Linear(2, 1).parameters(), lr=lr)


# error messages: shape problems are ValueErrors naming the op and both shapes
@pytest.mark.parametrize("call, words", [
    (lambda m: m.zeros(2, 3) @ m.zeros(4, 5), ["matmul", "(2, 3)", "(4, 5)", "3 != 4"]),
    (lambda m: m.zeros(3) @ m.zeros(4), ["matmul", "(3,)", "(4,)"]),
    (lambda m: m.zeros(2, 3, 4) @ m.zeros(5, 2), ["matmul", "(2, 3, 4)", "(5, 2)"]),
    (lambda m: m.zeros(2, 3) + m.zeros(4), ["(2, 3)", "(4,)"]),
    (lambda m: m.zeros(2, 3) * m.zeros(3, 2), ["(2, 3)", "(3, 2)"]),
    (lambda m: m.zeros(2, 3) - m.zeros(2, 2), ["(2, 3)", "(2, 2)"]),
    (lambda m: m.zeros(2, 3) / m.zeros(3, 3), ["(2, 3)", "(3, 3)"]),
    (lambda m: m.minimum(m.zeros(2, 3), m.zeros(2)), ["minimum", "(2, 3)", "(2,)"]),
    (lambda m: m.zeros(2, 3).reshape(4, 2), ["reshape", "(2, 3)"]),
    (lambda m: m.zeros(2, 3).view(5), ["view", "(2, 3)"]),
    (lambda m: m.cat([m.zeros(2, 3), m.zeros(2, 4)], 0), ["cat", "(2, 3)", "(2, 4)"]),
    (lambda m: m.stack([m.zeros(2, 3), m.zeros(2)]), ["stack", "(2, 3)", "(2,)"]),
    (lambda m: m.zeros(2, 3).expand(4, 3), ["expand", "(2, 3)"]),
])
def test_shape_errors_name_op_and_shapes(call, words):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(ValueError) as info:
        call(tg)
    for w in words:
        assert w in str(info.value), f"{w!r} not in {info.value}"


def test_matmul_message_exact():
    with pytest.raises(ValueError) as info:
        tg.zeros(2, 3) @ tg.zeros(4, 5)
    assert str(info.value) == "matmul: shapes (2, 3) and (4, 5) do not align: 3 != 4"


def test_matmul_of_0d_raises():
    raises_like_torch(lambda m: m.zeros(()) @ m.zeros(3), ValueError, match=["matmul"])


@pytest.mark.parametrize("bad", [lambda m: m.tensor("abc"), lambda m: m.tensor([[1, 2], [3]]),
                                 lambda m: m.tensor(None), lambda m: m.tensor({"a": 1})])
def test_tensor_of_bad_data_raises(bad):
    with pytest.raises((TypeError, ValueError, RuntimeError)):
        bad(torch)
    with pytest.raises((TypeError, ValueError)) as info:
        bad(tg)
    assert "tensor" in str(info.value).lower()


@pytest.mark.parametrize("call", [lambda: tg.zeros(2, 3).sum(axis=(0, 0)),
                                  lambda: tg.zeros(2, 3).amax(dim=(1, -1))])
def test_repeated_axes_raise(call):
    with pytest.raises((ValueError, RuntimeError, IndexError)):
        call()


@pytest.mark.parametrize("fn", [lambda x: x.reshape(6), lambda x: x[0], lambda x: x.T,
                                lambda x: x.view(3, 2), lambda x: x.squeeze()])
def test_gradcheck_of_a_view_of_its_input(fn):
    # the finite differences must copy f(x+eps) before perturbing x again: a view's output
    # shares the input's array (it used to give 0 and fail a right gradient)
    assert tg.gradcheck(fn, [tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)])


@pytest.mark.parametrize("cast, dtype", [
    (lambda t: t.long(), np.int64), (lambda t: t.int(), np.int32), (lambda t: t.bool(), np.bool_),
    (lambda t: t.to(np.int64), np.int64), (lambda t: t.type(np.int32), np.int32)])
def test_casting_a_grad_tensor_to_integer_or_bool_records_nothing(cast, dtype):
    # was: `x.long()` of a float x that requires grad came back requiring grad (grad_fn Cast)
    x = tg.tensor([1.5, -2.5], requires_grad=True)
    out = cast(x)
    assert not out.requires_grad and out.is_leaf and out.dtype == dtype
    assert not torch.tensor([1.5, -2.5], requires_grad=True).long().requires_grad


def test_uint8_sums_and_products_are_int64_as_torch():
    t = tg.tensor(np.array([200, 100], dtype=np.uint8))
    assert t.sum().dtype == np.int64 and t.sum().item() == 300
    assert t.prod().dtype == np.int64 and t.prod().item() == 20000


def test_autograd_grad_wants_one_grad_output_per_output():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2, x * 3
    with pytest.raises(ValueError, match="1 grad_outputs for 2 outputs"):
        tg.autograd.grad([a, b], x, grad_outputs=tg.ones(2))
    (g,) = tg.autograd.grad([a, b], x, grad_outputs=[tg.ones(2), tg.ones(2)])
    assert g.tolist() == [5.0, 5.0]
