"""Gradients changed in place inside a compiled step (clip_grad_norm_, scaling): the
replay must change the array `.grad` holds, also when the plan had to give `.grad` a new
array because something kept the previous call's."""

import math

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.nn.utils import clip_grad_norm_

OPTIMIZERS = {"sgd": (optim.SGD, {"lr": 0.5}),
              "momentum": (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
              "adam": (optim.Adam, {"lr": 0.01})}


def make(opt_name, clip):
    tg.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    cls, kw = OPTIMIZERS[opt_name]
    opt = cls(m.parameters(), **kw)

    def step(x, y):
        opt.zero_grad()
        loss = ((m(x) - y) ** 2).mean()
        loss.backward()
        norm = clip(m)
        opt.step()
        return loss, norm
    return m, step


def batches(n=30):
    rng = np.random.default_rng(0)
    for _ in range(n):
        yield (tg.Tensor(rng.standard_normal((4, 5)).astype(np.float32)),
               tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32)))


def run_both(opt_name, clip, keep=False):
    (me, se), (mc, sc) = make(opt_name, clip), make(opt_name, clip)
    sc = tg.compile(sc)
    kept_e, kept_c = [], []
    for x, y in batches():
        (le, ne), (lc, nc) = se(x, y), sc(x, y)
        np.testing.assert_allclose(lc.numpy(), le.numpy(), rtol=1e-6)
        np.testing.assert_allclose(nc.numpy(), ne.numpy(), rtol=1e-6)
        if keep:  # keep every call's .grad tensors, as a logger might
            kept_e.append([p.grad for p in me.parameters()])
            kept_c.append([p.grad for p in mc.parameters()])
    for a, b in zip(me.parameters(), mc.parameters()):
        np.testing.assert_allclose(b.data, a.data, rtol=1e-5, atol=1e-7)
    for ge, gc in zip(kept_e, kept_c):
        for a, b in zip(ge, gc):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-8)
    assert sc.traces == 1


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_clip_grad_norm_replays(opt_name, norm_type):
    run_both(opt_name, lambda m: clip_grad_norm_(m.parameters(), 0.05, norm_type=norm_type))


def scale_by_abs(m):
    """Reads each gradient through an op that keeps its input (Abs), then scales it."""
    with tg.no_grad():
        total = sum(p.grad.abs().sum() for p in m.parameters())
        for p in m.parameters():
            p.grad.mul_(1 / (1 + total))
    return total


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_a_gradient_scaled_in_place_after_an_op_kept_it(opt_name):
    """Abs kept the gradient's buffer between calls, so the plan gave .grad a new array
    and the scaling went to the old one: from the third call the step used unscaled
    gradients (weights off by up to 1.06, no error)."""
    run_both(opt_name, scale_by_abs)


def test_kept_gradients_keep_their_values_and_scaling_still_applies():
    run_both("sgd", lambda m: clip_grad_norm_(m.parameters(), 0.05), keep=True)


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_clip_grad_value_replays(opt_name):
    from tinygrad_nn.nn.utils import clip_grad_value_

    def clip(m):
        clip_grad_value_(m.parameters(), 0.01)
        return sum(p.grad.abs().sum() for p in m.parameters())
    run_both(opt_name, clip)


def zero_first_row(m):
    with tg.no_grad():
        m[0].weight.grad[0].mul_(0.0)  # through a view of the gradient
    return m[0].weight.grad.abs().sum()


@pytest.mark.parametrize("keep", [False, True])
def test_a_write_through_a_view_of_a_stored_gradient(keep):
    run_both("adam", zero_first_row, keep=keep)


def test_a_write_through_a_view_of_an_accumulated_gradient_is_refused():
    """Two backward calls: the plan reads the second's .grad as a copy, so a write through
    a view of it would be lost (it was: weights off by 0.23); a direct write was already
    refused."""
    tg.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 3))
    opt = optim.SGD(m.parameters(), lr=0.3)

    def step(x):
        opt.zero_grad()
        m(x).sum().backward()
        m(x).abs().sum().backward()
        with tg.no_grad():
            m[0].weight.grad[0].mul_(0.0)
        opt.step()
        return m[0].weight.sum()
    with pytest.raises(tg.CompileError, match="through a view"):
        tg.compile(step)(tg.ones(2, 5))


def test_clip_grad_norm_of_mixed_dtypes_is_torchs():
    """The norms were cast to the first gradient's dtype: a float64 norm of 1e20 beside
    float32 gradients overflowed and every gradient became 0."""
    torch = pytest.importorskip("torch")
    a = tg.tensor(np.ones(3, np.float32), requires_grad=True)
    b = tg.tensor(np.full(2, 1e20), requires_grad=True)
    a.grad, b.grad = tg.tensor(np.ones(3, np.float32)), tg.tensor(np.full(2, 1e20))
    n = clip_grad_norm_([a, b], 1.0)
    ta = torch.ones(3, requires_grad=True)
    tb = torch.full((2,), 1e20, dtype=torch.float64, requires_grad=True)
    ta.grad, tb.grad = torch.ones(3), torch.full((2,), 1e20, dtype=torch.float64)
    tn = torch.nn.utils.clip_grad_norm_([ta, tb], 1.0)
    assert n.dtype == np.float64
    np.testing.assert_allclose(n.numpy(), tn.numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12)


def test_zero_grad_without_set_to_none_keeps_one_grad_tensor_as_eager():
    """With zero_grad(set_to_none=False) eager zeroes the same .grad in place from the
    second call; the plan, traced when .grad was None, gave a new tensor at every call,
    so a .grad kept from an earlier call held old values. It now retraces once."""
    def make():
        tg.manual_seed(0)
        m = nn.Linear(3, 2)
        opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad(set_to_none=False)
            loss = ((m(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return m, step
    (me, se), (mc, sc) = make(), make()
    sc = tg.compile(sc)
    rng = np.random.default_rng(0)
    kept_e, kept_c = [], []
    for _ in range(6):
        x = tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32))
        y = tg.Tensor(rng.standard_normal((4, 2)).astype(np.float32))
        np.testing.assert_allclose(sc(x, y).numpy(), se(x, y).numpy(), rtol=1e-6)
        kept_e.append(me.weight.grad)
        kept_c.append(mc.weight.grad)
    assert all(g is kept_c[-1] for g in kept_c[1:]) and all(g is kept_e[-1] for g in kept_e)
    for a, b in zip(kept_e, kept_c):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6)
    assert sc.traces == 2


@pytest.mark.parametrize("base", ["number", "tensor"])
def test_the_exponents_gradient_replays_when_the_base_needs_none(base):
    """2 ** x: the kernel saw no gradient wanted for the base and made no call, so every
    replay returned the exponent's gradient buffer uninitialised."""
    def f(x):
        b = 2.0 if base == "number" else tg.tensor(np.array(2.0))
        (b ** x).sum().backward()
        return x.grad
    cf = tg.compile(f)
    rng = np.random.default_rng(0)
    for _ in range(4):
        a = rng.standard_normal(3)
        np.testing.assert_allclose(cf(tg.tensor(a, requires_grad=True)).numpy(),
                                   f(tg.tensor(a, requires_grad=True)).numpy(), rtol=1e-12)


def test_returning_a_grad_that_zero_grad_cleared_is_refused():
    """The replay read it from .grad after the call, where it was None (AttributeError)."""
    w = tg.tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def step(x):
        (w * x).sum().backward()
        g = w.grad
        opt.step()
        opt.zero_grad()
        return g
    with pytest.raises(tg.CompileError, match="clone"):
        tg.compile(step)(tg.tensor(np.ones(3)))


def test_setting_training_directly_retraces():
    """`d.training = False` (not eval()) left the plan's train-mode Dropout in place."""
    tg.manual_seed(0)
    d = nn.Dropout(0.5)
    f = tg.compile(lambda x: d(x) * 1)
    x = tg.ones(8)
    f(x)
    f(x)
    d.training = False
    np.testing.assert_array_equal(f(x).numpy(), np.ones(8, np.float32))
    assert f.traces == 2
