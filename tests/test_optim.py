"""Optimizers against reference implementations of torch.optim's documented rules (and
against torch itself when it is installed)."""

import importlib.util
import math

import numpy as np
import pytest

from tinygrad_nn import Tensor, nn, optim
from tinygrad_nn.nn.functional import mse_loss

HAS_TORCH = importlib.util.find_spec("torch") is not None


def reference_sgd(w, grad_fn, lr, momentum=0.0, weight_decay=0.0, nesterov=False,
                  dampening=0.0):
    """torch.optim.SGD's documented rule, written out plainly."""
    w = w.copy()
    buf = None
    while True:
        g = grad_fn(w) + weight_decay * w
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        w = w - lr * g
        yield w


def reference_adam(w, grad_fn, lr, betas, eps, weight_decay):
    """torch.optim.Adam's documented rule, written out plainly."""
    w = w.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    t = 0
    while True:
        t += 1
        g = grad_fn(w) + weight_decay * w
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        denom = np.sqrt(v) / math.sqrt(1 - betas[1] ** t) + eps
        w = w - lr / (1 - betas[0] ** t) * m / denom
        yield w


def field(w):
    """A non-trivial, deterministic gradient field."""
    c = np.linspace(-1, 1, w.size).reshape(w.shape)
    return (w - c) ** 3 + np.sin(w) + w * np.cos(w)


SGD_CASES = [dict(lr=0.1), dict(lr=0.05, momentum=0.9),
             dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.1, weight_decay=0.01),
             dict(lr=0.05, momentum=0.5, dampening=0.1, weight_decay=0.1)]
ADAM_CASES = [dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0),
              dict(lr=0.1, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.05)]


@pytest.mark.parametrize("opt_cls, reference, kw",
                         [(optim.SGD, reference_sgd, kw) for kw in SGD_CASES]
                         + [(optim.Adam, reference_adam, kw) for kw in ADAM_CASES])
def test_matches_reference_over_20_steps(opt_cls, reference, kw):
    w0 = np.random.default_rng(0).normal(size=(3, 2))
    p = nn.Parameter(w0.copy())
    opt = opt_cls([p], **kw)
    ref = reference(w0, field, **kw)
    for _ in range(20):
        p.grad = Tensor(field(p.data))
        opt.step()
        np.testing.assert_allclose(p.data, next(ref), rtol=0, atol=1e-10)


def test_sgd_trains_a_linear_layer_end_to_end():
    lin = nn.Linear(3, 1, dtype=np.float64)
    x = np.random.default_rng(0).normal(size=(32, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    opt = optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    for _ in range(200):
        loss = mse_loss(lin(Tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-6


def test_parameters_without_grad_are_skipped():
    a, b = nn.Parameter([1.0]), nn.Parameter([2.0])
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = Tensor([1.0])
    opt.step()
    assert b.data[0] == 2.0 and a.data[0] != 1.0


def test_bad_hyperparameters_raise():
    p = nn.Parameter([1.0])
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)


def test_param_groups_and_zero_grad():
    a, b = nn.Parameter([1.0]), nn.Parameter([1.0])
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad, b.grad = Tensor([1.0]), Tensor([1.0])
    opt.step()
    assert np.isclose(a.data[0], 0.9) and np.isclose(b.data[0], 0.0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_optimizer_state_dict_round_trip():
    w0 = np.array([1.0, -2.0])
    p1 = nn.Parameter(w0.copy())
    o1 = optim.Adam([p1], lr=0.1)
    for _ in range(3):
        p1.grad = Tensor(field(p1.data))
        o1.step()
    p2 = nn.Parameter(p1.data.copy())
    o2 = optim.Adam([p2], lr=0.5)
    o2.load_state_dict(o1.state_dict())
    assert o2.param_groups[0]["lr"] == 0.1
    for p, o in ((p1, o1), (p2, o2)):
        p.grad = Tensor(field(p.data))
        o.step()
    np.testing.assert_array_equal(p1.data, p2.data)


def test_float32_parameters_stay_float32():
    lin = nn.Linear(3, 2)
    for opt in (optim.SGD(lin.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1),
                optim.Adam(lin.parameters())):
        loss = mse_loss(lin(Tensor(np.ones((4, 3)))), np.zeros((4, 2)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert lin.weight.dtype == np.float32 and lin.bias.dtype == np.float32


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize("name, kw", [("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
                                      ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                      ("Adam", dict(lr=0.05, weight_decay=0.01))])
def test_against_torch_optim(name, kw):
    import torch

    w0 = np.random.default_rng(2).normal(size=(3, 4))
    tp = torch.tensor(w0.copy(), requires_grad=True)
    topt = getattr(torch.optim, name)([tp], **kw)
    p = nn.Parameter(w0.copy())
    opt = getattr(optim, name)([p], **kw)
    for _ in range(20):
        g = field(p.data)
        tp.grad = torch.tensor(field(tp.detach().numpy()))
        p.grad = Tensor(g)
        topt.step()
        opt.step()
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=0, atol=1e-10)


def test_frozen_parameters_are_accepted_and_skipped():
    a, frozen = nn.Parameter([1.0]), nn.Parameter([2.0], requires_grad=False)
    opt = optim.SGD([a, frozen], lr=0.5)
    (a * 3).sum().backward()
    opt.step()
    assert a.data[0] == -0.5 and frozen.data[0] == 2.0


def test_sgd_updates_an_unaligned_weight():
    """BLAS's axpy works on a copy of an unaligned array; such weights keep NumPy's update
    (the weight did not move, silently)."""
    arr = np.frombuffer(bytearray(4 * 5000 + 1), np.float32, offset=1, count=5000)
    assert not arr.flags.aligned
    p = Tensor(np.zeros(5000, np.float32), requires_grad=True)
    p.data = arr
    opt = optim.SGD([p], lr=0.5)
    p.grad = Tensor(np.ones(5000, np.float32))
    opt.step()
    np.testing.assert_array_equal(p.data, np.full(5000, -0.5, np.float32))
