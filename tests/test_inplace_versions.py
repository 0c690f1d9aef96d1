"""In-place ops, augmented assignment and version counters, against torch 2.13.

Every hazard scenario runs on both libraries: where torch raises "modified by an inplace
operation" ours must raise RuntimeError naming the op and both versions; where torch
does not raise, ours must not either, and the gradients must agree.
"""

import re

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn, optim

from .surface import FLOATS, arrays, check, gradcheck, to_np, torch

INPLACE = {
    "add_": lambda t, o: t.add_(o),
    "add_number": lambda t, o: t.add_(2.5),
    "sub_": lambda t, o: t.sub_(o),
    "mul_": lambda t, o: t.mul_(o),
    "mul_number": lambda t, o: t.mul_(-3),
    "div_": lambda t, o: t.div_(o),
    "div_number": lambda t, o: t.div_(4),
    "zero_": lambda t, o: t.zero_(),
    "fill_": lambda t, o: t.fill_(1.25),
    "clamp_": lambda t, o: t.clamp_(-0.5, 0.5),
    "clamp_min": lambda t, o: t.clamp_(min=0.0),
    "clamp_max": lambda t, o: t.clamp_(max=0.1),
    "copy_": lambda t, o: t.copy_(o),
    "copy_bcast": lambda t, o: t.copy_(o[0]),
}


def other(m, like):
    return m.tensor(np.array([[0.5, -2.0, 4.0], [1.5, 3.0, -0.25]]).astype(to_np(like).dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_values_same_object_same_array_version(name, dtype):
    op = INPLACE[name]
    base = np.array([[1.0, -1.0, 0.2], [0.7, -0.3, 2.0]], dtype)
    theirs = torch.tensor(base.copy())
    op(theirs, other(torch, theirs))
    arr = base.copy()
    t = tg.from_numpy(arr)
    v = t._version
    r = op(t, other(tg, t))
    assert r is t, "in-place ops return the tensor itself"
    assert t.data is arr or np.shares_memory(t.data, arr), "the same array is changed"
    assert t._version == v + 1
    assert t.dtype == dtype and t.shape == (2, 3)
    np.testing.assert_allclose(arr, to_np(theirs), rtol=1e-6)


AUGMENTED = {
    "iadd": lambda t, o: t.__iadd__(o),
    "isub": lambda t, o: t.__isub__(o),
    "imul": lambda t, o: t.__imul__(o),
    "itruediv": lambda t, o: t.__itruediv__(o),
    "iadd_number": lambda t, o: t.__iadd__(1),
    "imul_number": lambda t, o: t.__imul__(0.5),
    "isub_array": lambda t, o: t.__isub__(np.ones(3, to_np(t).dtype) if isinstance(t, tg.Tensor)
                                          else torch.ones(3, dtype=t.dtype)),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(AUGMENTED))
def test_augmented_assignment_is_in_place(name, dtype):
    op = AUGMENTED[name]
    base = np.array([[1.0, -1.0, 0.2], [0.7, -0.3, 2.0]], dtype)
    theirs = torch.tensor(base.copy())
    alias_t = theirs
    theirs = op(theirs, other(torch, theirs))
    assert theirs is alias_t
    t = tg.tensor(base.copy())
    alias, arr, v = t, t.data, t._version
    t = op(t, other(tg, t))
    assert t is alias and t.data is arr and t._version == v + 1
    np.testing.assert_allclose(t.data, to_np(theirs), rtol=1e-6)


def test_augmented_assignment_statement_form():
    t = tg.tensor([1.0, 2.0])
    alias = t
    t += 1
    t -= tg.tensor([0.5, 0.5])
    t *= 2
    t /= 4
    assert t is alias and t.tolist() == [0.75, 1.25] and t._version == 4


def test_inplace_keeps_dtype_as_torch():
    i = tg.tensor([1, 2])
    i += 1
    assert i.dtype == np.int64 and i.tolist() == [2, 3]
    f = tg.tensor([1.0, 2.0])
    f += tg.tensor(np.array([0.5, 0.5]))  # float64 into float32: stays float32
    assert f.dtype == np.float32 and f.tolist() == [1.5, 2.5]
    with pytest.raises(RuntimeError):
        t = torch.tensor([1, 2])
        t += 1.5
    with pytest.raises(RuntimeError):
        i += 1.5
    with pytest.raises(RuntimeError):
        i.mul_(0.5)


def test_inplace_shape_errors():
    with pytest.raises(RuntimeError):
        torch.zeros(3).add_(torch.zeros(2, 3))
    with pytest.raises(ValueError) as info:
        tg.zeros(3).add_(tg.zeros(2, 3))
    assert "(3,)" in str(info.value) and "(2, 3)" in str(info.value)
    with pytest.raises(ValueError):
        tg.zeros(2, 3).copy_(tg.zeros(4))


@pytest.mark.parametrize("dtype", FLOATS)
def test_normal_and_uniform_in_place(dtype):
    t = tg.zeros(20000, dtype=dtype)
    arr = t.data
    v = t._version
    assert t.normal_() is t and t.data is arr and t._version == v + 1 and t.dtype == dtype
    assert abs(arr.mean()) < 0.03 and abs(arr.std() - 1) < 0.03
    t.normal_(2.0, 0.5)
    assert abs(arr.mean() - 2) < 0.02 and abs(arr.std() - 0.5) < 0.02
    t.normal_(mean=-1.0, std=0.1)
    assert abs(arr.mean() + 1) < 0.01
    t.uniform_()
    assert arr.min() >= 0 and arr.max() < 1 and abs(arr.mean() - 0.5) < 0.01
    t.uniform_(-3, -2)
    assert arr.min() >= -3 and arr.max() < -2
    t.uniform_(1, 2)
    assert arr.min() >= 1 and t._version == v + 6
    tg.manual_seed(7)
    first = tg.zeros(5, dtype=dtype).normal_().data.copy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(first, tg.zeros(5, dtype=dtype).normal_().data)
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    np.testing.assert_array_equal(tg.zeros(4).uniform_(generator=g1).data,
                                  tg.zeros(4).uniform_(generator=g2).data)


LEAF_OPS = dict(INPLACE, **AUGMENTED, normal_=lambda t, o: t.normal_(),
                uniform_=lambda t, o: t.uniform_(),
                setitem=lambda t, o: (t.__setitem__(0, 1.0), t)[1])


@pytest.mark.parametrize("name", list(LEAF_OPS))
def test_leaf_requiring_grad_refuses_in_place_under_grad_mode(name):
    op = LEAF_OPS[name]
    with pytest.raises(RuntimeError):
        w = torch.ones(2, 3, requires_grad=True)
        op(w, other(torch, w))
    w = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="(?i)leaf"):
        op(w, other(tg, w))
    assert w.tolist() == [[1.0] * 3] * 2 and w._version == 0
    with tg.no_grad():
        r = op(w, other(tg, w))
    assert r is w and w.requires_grad and w.is_leaf and w._version == 1


def test_manual_update_under_no_grad_keeps_a_trainable_leaf_and_learns():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.normal(size=(64, 3)))
    true_w = np.array([[1.5], [-2.0], [0.5]])
    y = tg.tensor(x.data @ true_w)
    w = tg.zeros(3, 1, dtype=np.float64, requires_grad=True)
    b = tg.zeros(1, dtype=np.float64, requires_grad=True)
    ident, arr = w, w.data
    first = None
    for _ in range(200):
        loss = ((x @ w + b - y) ** 2).mean()
        first = loss.item() if first is None else first
        loss.backward()
        with tg.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad.zero_()
        b.grad.zero_()
    assert w is ident and w.data is arr and w.requires_grad and w.is_leaf and w.grad_fn is None
    assert loss.item() < first * 1e-6
    np.testing.assert_allclose(w.data, true_w, atol=1e-3)


def test_grad_zero_and_version_of_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    g = w.grad
    assert g.zero_() is g and w.grad.tolist() == [0.0, 0.0]
    (w * w).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0]


# in-place ops on non-leaves inside a graph: recorded, gradients as torch
RECORDED = {
    "mul_": (lambda m, x: (x * 1).mul_(3) * x, 1),
    "add_tensor": (lambda m, x, b: (x * 2).add_(b * b), 2),
    "sub_tensor": (lambda m, x, b: (x + 0).sub_(b) * b, 2),
    "div_tensor": (lambda m, x, b: (x * x).div_(b.exp()), 2),
    "mul_tensor": (lambda m, x, b: (x + 1).mul_(b), 2),
    "chain": (lambda m, x, b: (x * 1).add_(1).mul_(b).div_(2).sub_(x), 2),
    "clamp_": (lambda m, x: (x * 2).clamp_(-0.5, 0.5) * x, 1),
    "zero_": (lambda m, x: (x * 2).zero_() + x, 1),
    "fill_": (lambda m, x: (x * 2).fill_(0.5) * x, 1),
    "copy_": (lambda m, x, b: (x * 2).copy_(b * 3) * x, 2),
    "copy_bcast": (lambda m, x, b: (x * 2).copy_(b[0]) + x, 2),
    "iadd": (lambda m, x, b: _aug(lambda y: y.__iadd__(b), x * 2), 2),
    "imul": (lambda m, x, b: _aug(lambda y: y.__imul__(b), x - 1), 2),
    "isub_number": (lambda m, x: _aug(lambda y: y.__isub__(2), x.exp()) * 1, 1),
    "itruediv": (lambda m, x, b: _aug(lambda y: y.__itruediv__(b.exp()), x * x), 2),
    "into_leaf_free": (lambda m, x, b: m.zeros(2, 3, dtype=x.dtype).add_(x * b), 2),
    "into_data": (lambda m, x, b: m.ones(2, 3, dtype=x.dtype).mul_(x).add_(b), 2),
    "sigmoid_then_add": (lambda m, x: x.sigmoid().add_(1) * 1, 1),
    "exp_then_mul_number": (lambda m, x: x.exp().mul_(2), 1),
}


def _aug(op, y):
    r = op(y)
    assert r is y
    return r


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(RECORDED))
def test_inplace_on_non_leaf_is_recorded(name, dtype):
    fn, n = RECORDED[name]
    shapes = [(2, 3)] * n
    _mirror_check(fn, arrays(shapes, seed=len(name)), dtype)


@pytest.mark.parametrize("name", list(RECORDED))
def test_inplace_on_non_leaf_gradcheck(name):
    fn, n = RECORDED[name]
    try:
        _run_or_raise(torch, fn, arrays([(2, 3)] * n, seed=len(name)), np.float64)
    except RuntimeError:
        pytest.skip("torch refuses this graph (checked in test_inplace_on_non_leaf_is_recorded)")
    gradcheck(fn, arrays([(2, 3)] * n, seed=len(name)))


def test_inplace_on_non_leaf_bumps_version_and_keeps_object():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    ident, v = y, y._version
    y.add_(1)
    assert y is ident and y._version == v + 1 and y.requires_grad and not y.is_leaf
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


# hazards: change a saved tensor between forward and backward
HAZARDS = {
    # saved outputs changed by a recorded in-place op
    "sigmoid_out": lambda m, x, w: x.sigmoid().mul_(2),
    "exp_out": lambda m, x, w: x.exp().add_(1),
    "tanh_out": lambda m, x, w: x.tanh().sub_(1),
    "relu_out": lambda m, x, w: x.relu().mul_(2),
    "sqrt_out": lambda m, x, w: (x * x + 1).sqrt().div_(2),
    "softmax_out": lambda m, x, w: x.softmax(1).mul_(3),
    "log_softmax_out": lambda m, x, w: x.log_softmax(1).add_(1),
    "pow_tensor_out": lambda m, x, w: (x.exp() ** w).mul_(2),
    # saved inputs changed (leaves under no_grad, or non-leaves in place)
    "mul_input": lambda m, x, w: _changed(x * w, w, "add_", 1),
    "mul_nonleaf_input": lambda m, x, w: _then_val(x * 2, lambda y: (y * w, y.add_(1))[0]),
    "matmul_weight": lambda m, x, w: _changed(x @ w.T, w, "mul_", 2),
    "div_input": lambda m, x, w: _changed(x / (w * w + 1), x, "add_", 1),
    "div_denominator": lambda m, x, w: _then_val(w * w + 1, lambda d: (x / d, d.mul_(2))[0]),
    "pow_number_input": lambda m, x, w: _changed(x ** 2, x, "add_", 1),
    "log_input": lambda m, x, w: _changed((x * x + 1).log(), x, "mul_", 0),
    "log_nonleaf_input": lambda m, x, w: _then_val(x * x + 1, lambda y: (y.log(), y.mul_(2))[0]),
    "sigmoid_input": lambda m, x, w: _changed(x.sigmoid(), x, "add_", 1),
    "abs_input": lambda m, x, w: _changed(x.abs(), x, "mul_", -1),
    "max_input": lambda m, x, w: _changed(x.amax(1), x, "mul_", 2),
    "square_input": lambda m, x, w: _changed(x.square(), x, "add_", 1),
    "zero_after_mul": lambda m, x, w: _then_val(x + 0, lambda y: (y * y, y.zero_())[0]),
    "setitem_saved": lambda m, x, w: _then_val(x * 1, lambda y: (y.sigmoid() * 1,
                                                                 y.__setitem__(0, 0.0))[0]),
    "twice_mul_": lambda m, x, w: _then_val(x * 1, lambda y: y.mul_(y.detach())),
    "copy_into_saved": lambda m, x, w: _then_val(x * 1, lambda y: (y * y, y.copy_(w))[0]),
    # changes that torch allows: nothing saved needs the changed tensor
    "add_input": lambda m, x, w: _changed(x + w, w, "mul_", 2),
    "sub_input": lambda m, x, w: _changed(x - w, x, "mul_", 2),
    "mul_number_input": lambda m, x, w: _changed(x * 2, x, "add_", 1),
    "div_number_input": lambda m, x, w: _changed(x / 2, x, "add_", 1),
    "neg_input": lambda m, x, w: _changed(-x, x, "add_", 1),
    "sum_input": lambda m, x, w: _changed(x.sum(1), x, "add_", 1),
    "mean_input": lambda m, x, w: _changed(x.mean(), x, "add_", 1),
    "reshape_input": lambda m, x, w: _changed(x.reshape(3, 2), x, "add_", 1),
    "index_input": lambda m, x, w: _changed(x[0], x, "add_", 1),
    "exp_input": lambda m, x, w: _changed(x.exp(), x, "add_", 1),
    "rdiv_nonleaf": lambda m, x, w: _then_val(x * 2 + 5, lambda d: (2 / d, d.add_(1))[0]),
    "rdiv_out": lambda m, x, w: (2 / (x * x + 1)).mul_(3),
    "div_out": lambda m, x, w: (x / (w * w + 1)).mul_(3),
    "add_nonleaf": lambda m, x, w: _then_val(x * 2, lambda y: (y + w, y.add_(1))[0]),
    "sigmoid_then_unsaved": lambda m, x, w: _then_val(x.sigmoid(), lambda s: (s * 2).add_(1)),
    "unrelated_tensor": lambda m, x, w: _then(x * w, lambda: m.zeros(3).add_(1)),
}


def _changed(out, t, method, *args):
    """Return `out` after changing `t` in place untracked (under no_grad), as a user would."""
    with (torch.no_grad() if isinstance(t, torch.Tensor) else tg.no_grad()):
        getattr(t, method)(*args)
    return out


def _then(out, change):
    change()
    return out


def _then_val(val, fn):
    return fn(val)


def _run_or_raise(m, fn, arrs, dtype, extra=0):
    ts = [m.tensor(a.astype(dtype), requires_grad=True) for a in arrs]
    out = fn(m, *ts)
    w = upstream_like(out)
    out.backward(m.tensor(w) if m is torch else w)
    return [to_np(out)], [None if t.grad is None else to_np(t.grad) for t in ts]


def upstream_like(out):
    shape, dt = tuple(out.shape), to_np(out).dtype
    return np.linspace(-1, 1.7, int(np.prod(shape))).reshape(shape).astype(dt)


def _mirror_check(fn, arrs, dtype):
    """torch raises RuntimeError -> ours must (naming versions); else same numbers."""
    try:
        outs_t, grads_t = _run_or_raise(torch, fn, arrs, dtype)
    except RuntimeError as e:
        assert "inplace" in str(e) or "leaf" in str(e), e
        with pytest.raises(RuntimeError) as info:
            _run_or_raise(tg, fn, arrs, dtype)
        return info.value
    outs, grads = _run_or_raise(tg, fn, arrs, dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for a, b in zip(outs + grads, outs_t + grads_t):
        if b is None:
            assert a is None or not np.any(a)
            continue
        assert a is not None and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    return None


def assert_version_message(err, op_hint=None):
    msg = str(err)
    assert "version" in msg.lower(), msg
    nums = re.findall(r"\d+", msg)
    assert len(nums) >= 2, msg
    if op_hint:
        assert op_hint.lower() in msg.lower(), f"{op_hint!r} not named in: {msg}"


HAZARD_OPS = {"sigmoid_out": "Sigmoid", "exp_out": "Exp", "tanh_out": "Tanh",
              "relu_out": "ReLU", "softmax_out": "Softmax", "log_softmax_out": "LogSoftmax",
              "mul_input": "Mul", "matmul_weight": "MatMul", "log_nonleaf_input": "Log",
              "pow_number_input": "Pow"}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(HAZARDS))
def test_saved_tensor_changed_raises_where_torch_raises(name, dtype):
    err = _mirror_check(HAZARDS[name], arrays([(2, 3), (2, 3)], seed=len(name)), dtype)
    if err is not None:
        assert_version_message(err, HAZARD_OPS.get(name))


def test_version_error_names_op_and_both_versions():
    x = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x.sigmoid()
    y.mul_(2)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    msg = str(info.value)
    assert "Sigmoid" in msg and "version" in msg
    assert "1" in msg and "0" in msg and "inplace" in msg.replace("in-place", "inplace")


def test_version_error_counts_several_changes():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with tg.no_grad():
        w.add_(1)
        w.mul_(2)
        w.sub_(1)
    assert w._version == 3
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert "3" in str(info.value) and "0" in str(info.value)


def _mlp(lib, seed=0):
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(size=(4, 3)), rng.normal(size=4)
    w2, b2 = rng.normal(size=(2, 4)), rng.normal(size=2)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Sigmoid(), lib.nn.Linear(4, 2))
    sd = {"0.weight": w1, "0.bias": b1, "2.weight": w2, "2.bias": b2}
    model.load_state_dict({k: (lib.tensor(v.astype(np.float32)) if lib is torch else
                               v.astype(np.float32)) for k, v in sd.items()})
    x = rng.normal(size=(5, 3)).astype(np.float32)
    return model, (torch.tensor(x) if lib is torch else tg.tensor(x))


def _step_between_backwards(lib, layers):
    model, x = _mlp(lib)
    if layers == 1:
        model = model[0]
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    loss = (model(x) ** 2).sum()
    loss.backward(retain_graph=True)
    opt.step()
    loss.backward()
    return [to_np(p.grad) for p in model.parameters()]


def _load_between_forward_and_backward(lib, layers):
    model, x = _mlp(lib)
    if layers == 1:
        model = model[0]
    sd = {k: (v.clone() if lib is torch else v) for k, v in model.state_dict().items()}
    loss = (model(x) ** 2).sum()
    model.load_state_dict(sd)
    loss.backward()
    return [to_np(p.grad) for p in model.parameters()]


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("scenario", [_step_between_backwards, _load_between_forward_and_backward])
def test_optimizer_step_and_load_state_dict_hazards_as_torch(scenario, layers):
    try:
        expected = scenario(torch, layers)
    except RuntimeError as e:
        assert "inplace" in str(e)
        with pytest.raises(RuntimeError) as info:
            scenario(tg, layers)
        assert_version_message(info.value)
        return
    got = scenario(tg, layers)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_two_layer_step_between_backwards_raises():
    # pins the torch outcome the test above mirrors: a saved weight changed by step()
    with pytest.raises(RuntimeError):
        _step_between_backwards(torch, 2)
    with pytest.raises(RuntimeError):
        _step_between_backwards(tg, 2)


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.01)])
def test_optimizer_step_and_load_state_dict_bump_versions(make_opt):
    model = nn.Linear(3, 2)
    opt = make_opt(list(model.parameters()))
    (model(tg.randn(4, 3)) ** 2).sum().backward()
    before = [p._version for p in model.parameters()]
    arrs = [p.data for p in model.parameters()]
    opt.step()
    after = [p._version for p in model.parameters()]
    assert all(a > b for a, b in zip(after, before))
    assert all(p.data is a for p, a in zip(model.parameters(), arrs)), "step updates in place"
    model.load_state_dict(model.state_dict())
    assert all(p._version > a for p, a in zip(model.parameters(), after))
    tp = torch.nn.Linear(3, 2)
    v = tp.weight._version
    tp.load_state_dict(tp.state_dict())
    assert tp.weight._version > v


def test_step_skips_params_without_grad_and_leaves_their_version():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(2, requires_grad=True)
    (a * 2).sum().backward()
    optim.SGD([a, b], lr=0.1).step()
    assert a._version == 1 and b._version == 0


def test_write_through_data_is_never_a_silent_third_answer():
    # torch does not track w.data (its gradient then uses the changed values); here a
    # change through .data either raises the version error or gives torch's numbers
    def scenario(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        w = m.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = (x * w).sum()
        w.data -= 1
        y.backward()
        return to_np(x.grad)

    expected = scenario(torch)
    try:
        got = scenario(tg)
    except RuntimeError as e:
        assert_version_message(e)
        return
    np.testing.assert_allclose(got, expected)


def test_inplace_through_a_view_changes_the_base_gradient_as_torch():
    # torch records an in-place change through a view on its base; a wrong gradient
    # here would be silent, so ours must give torch's numbers or raise
    def scenario(m):
        x = m.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        z = x * 2
        v = z[0]
        v.mul_(3)
        (z * z).sum().backward()
        return to_np(z), to_np(x.grad)

    z_t, g_t = scenario(torch)
    try:
        z, g = scenario(tg)
    except RuntimeError:
        return
    np.testing.assert_allclose(z, z_t)
    np.testing.assert_allclose(g, g_t)


def test_check_helper_still_compares_recorded_inplace():
    # a plain comparison through the shared helper (catches a helper regression)
    check(lambda m, a: (a * 1).add_(1) * a, [np.array([1.0, 2.0])], np.float64)


def test_manual_sgd_over_parameters_matches_torch():
    # the classic loop: for p in model.parameters(): p -= lr * p.grad (under no_grad)
    def train(lib):
        rng = np.random.default_rng(3)
        x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
        model = lib.nn.Linear(3, 2, dtype=np.float64 if lib is tg else torch.float64)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(rng.normal(size=(2, 3))))
            model.bias.copy_(lib.tensor(rng.normal(size=2)))
        params = list(model.parameters())
        x, y = lib.tensor(x), lib.tensor(y)
        for _ in range(5):
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            with lib.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
                    p.grad.zero_()
        assert all(a is b for a, b in zip(params, model.parameters()))
        assert all(p.requires_grad and p.is_leaf for p in params)
        return [to_np(p).copy() for p in params] + [to_np(loss)]

    for ours, theirs in zip(train(tg), train(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_nn_init_works_under_grad_mode_in_place():
    w = nn.Linear(4, 3).weight
    arr, v = w.data, w._version
    for init in [lambda t: nn.init.normal_(t), lambda t: nn.init.uniform_(t, -1, 1),
                 lambda t: nn.init.zeros_(t), lambda t: nn.init.constant_(t, 0.5)]:
        assert tg.is_grad_enabled()
        assert init(w) is w
    assert w.data is arr and w.requires_grad and w.is_leaf and w._version > v
    assert np.all(w.data == 0.5)


# in-place changes through views: torch's numbers, or a clear RuntimeError, never silence
VIEWS = {
    "slice_setitem": lambda m, x: _then_val(x * 1, lambda y: (y[:, 1:].__setitem__(0, 5.0), y)[1]),
    "row_copy_": lambda m, x: _then_val(x * 1, lambda y: (y[1].copy_(x[0] * 2), y)[1]),
    "column_mul_": lambda m, x: _then_val(x * 1, lambda y: _then_val(
        y[:, 0], lambda v: (v.mul_(2), v * y.sum())[1])),
    "row_iadd": lambda m, x: _then_val(x * 1, lambda y: (y[0].__iadd__(x[1]), y)[1]),
    "inplace_then_rows": lambda m, x: _then_val(x * 2, lambda y: (y.add_(1), y[0] * y[1])[1]),
    "view_mul_": lambda m, x: _then_val(x * 1, lambda y: (y.view(6).mul_(2), y)[1]),
    "T_mul_": lambda m, x: _then_val(x * 1, lambda y: (y.T.mul_(3), y)[1]),
    "base_changed_after_view": lambda m, x: _then_val(x * 1, lambda y: _then_val(
        y[0], lambda v: (y.mul_(2), v * 1)[1])),
    "view_of_view": lambda m, x: _then_val(x * 1, lambda y: (y.view(6)[2:4].mul_(10), y)[1]),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_inplace_through_views_is_right_or_refused(name):
    arrs = [np.arange(1.0, 7.0).reshape(2, 3)]
    expected = _run_or_raise(torch, VIEWS[name], arrs, np.float64)
    try:
        got = _run_or_raise(tg, VIEWS[name], arrs, np.float64)
    except RuntimeError as e:
        assert "in-place" in str(e) or "inplace" in str(e), e
        return
    for a, b in zip(got[0] + got[1], expected[0] + expected[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_inplace_on_chunk_and_split_pieces_is_recorded_right():
    # torch refuses these (views of a multi-output op); here they are recorded, and right
    w = np.linspace(-1, 1, 12).reshape(2, 6)
    x = tg.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    y = x.repeat(1, 2) * 1
    y.chunk(2, 1)[0].mul_(4)
    y.backward(w)
    xt = torch.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    yt = xt.repeat(1, 2)
    yt = torch.cat([yt[:, :3] * 4, yt[:, 3:]], 1)
    yt.backward(torch.tensor(w))
    np.testing.assert_allclose(y.data, to_np(yt))
    np.testing.assert_allclose(x.grad.data, to_np(xt.grad))


def test_ops_record_versions_only_of_the_arrays_they_kept():
    """An op notes the version of a tensor only when it kept that tensor's array (so most
    small ops note nothing, and the check raises where PyTorch's does)."""
    x = tg.tensor([0.5, -1.0], requires_grad=True)
    h = x * 2.0  # keeps the constant 2, no tensor's array
    s = h + x  # keeps nothing
    t = s.tanh()  # keeps its output
    q = t * t  # keeps its input (twice: for both gradients)
    assert h._ctx.saved == () and s._ctx.saved == ()
    assert t._ctx.saved == ((t._vc, 0, -1),)
    assert q._ctx.saved[0] == (t._vc, 0, 0) and all(c is t._vc for c, _, _ in q._ctx.saved)
    s.add_(1)  # nothing kept s's array: backward still runs, as in PyTorch
    q.sum().backward()
    t2 = (x * 1.0).tanh()
    t2.mul_(3)  # tanh kept its output: refused
    with pytest.raises(RuntimeError, match="Tanh.*its output"):
        t2.sum().backward()
