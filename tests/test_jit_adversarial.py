"""compile(fn) against eager where the plan's shortcuts could go wrong: constants folded
at bind time, results made on first read, zero_grad's clears left out, the negated
square, the lazy and stored gradients reused across calls, reading .grad inside fn.
Each test runs eager and compiled copies from the same weights, with fresh tensors per
call, and compares every returned value, the parameters and their gradients."""

import functools
import warnings
import weakref

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.nn import functional as F

TOL = {np.float32: 1e-6, np.float64: 1e-12}


def close(a, b, dtype=np.float64):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    scale = max(float(np.max(np.abs(a), initial=0.0)), 1e-30)
    assert float(np.max(np.abs(a - b), initial=0.0)) / scale <= TOL[dtype], (a, b)


def values(out):
    """The arrays of a result (tensors in tuples, lists, dicts), in order."""
    if isinstance(out, tg.Tensor):
        return [out.numpy()]
    if isinstance(out, dict):
        return [a for v in out.values() for a in values(v)]
    if isinstance(out, (tuple, list)):
        return [a for v in out for a in values(v)]
    return [np.asarray(out)]


class _Holder:
    """Parameters outside a Module, for check_params."""

    def __init__(self, *ps):
        self.ps = ps

    def parameters(self):
        return list(self.ps)


def twin(make):
    tg.manual_seed(0)
    eager = make()
    tg.manual_seed(0)
    comp = make()
    return eager, comp


def check_params(m1, m2, dtype):
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        close(p1.data, p2.data, dtype)
        assert (p1.grad is None) == (p2.grad is None)
        if p1.grad is not None:
            close(p1.grad.data, p2.grad.data, dtype)


def compare(make, data, steps=6, dtype=np.float64, between=None, keep=False):
    """Eager and compiled steps; results compared after every call (or, keep=True, all
    at the end, read late)."""
    (m1, s1), (m2, s2) = twin(make)
    c = tg.compile(s2)
    kept = []
    for i in range(steps):
        args = data(i)
        e = s1(*[tg.Tensor(a) for a in args])
        r = c(*[tg.Tensor(a) for a in args])
        if keep:
            kept.append((e, r))
        else:
            for a, b in zip(values(e), values(r)):
                close(a, b, dtype)
        check_params(m1, m2, dtype)
        if between:
            between(m1, m2, i)
    for e, r in kept:
        for a, b in zip(values(e), values(r)):
            close(a, b, dtype)
    return c


def linear_data(n_in, n_out, batch, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (20, batch, n_in)).astype(dtype)
    T = rng.uniform(0, 1, (20, batch, n_out)).astype(dtype)
    return lambda i: (X[i], T[i])


def net(dtype, opt="sgd", bias=False):
    model = nn.Sequential(nn.Linear(3, 4, bias=bias, dtype=dtype), nn.Sigmoid(),
                          nn.Linear(4, 2, bias=bias, dtype=dtype), nn.Sigmoid())
    o = {"sgd": lambda p: optim.SGD(p, lr=0.5),
         "momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
         "adam": lambda p: optim.Adam(p, lr=0.01)}[opt](model.parameters())
    return model, o


# ---------------------------------------------------------------- found bugs (fixed)


def test_grad_read_after_backward_without_zero_grad():
    """Gradients added to in place (no zero_grad in fn), then read by an op in fn: the
    plan read a buffer nothing wrote (garbage)."""
    def make():
        w = tg.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)

        def step(x):
            (w * x).sum().backward()
            return (w.grad * 1).sum()
        return _Holder(w), step
    compare(make, lambda i: (np.arange(3.0) * (i + 1),))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_grad_norm_with_zero_grad_after_step(opt):
    """PyTorch's other habit, zero_grad at the end: backward adds to a .grad the plan
    does not own, and the step returns the gradient norm it read."""
    def make():
        model, o = net(np.float64, opt, bias=True)

        def step(x, t):
            loss = F.squared_error(model(x), t)
            loss.backward()
            norm = sum((p.grad ** 2).sum() for p in model.parameters())
            o.step()
            o.zero_grad()
            return loss, norm
        return model, step
    compare(make, linear_data(3, 2, 1, np.float64))


def test_grad_of_the_previous_call_read_before_zero_grad():
    """A step reading last call's .grad (kept from a call before the trace): the plan
    baked in that tensor and replayed its stale values."""
    def make():
        model, o = net(np.float64, "sgd", bias=True)
        for p in model.parameters():
            p.grad = tg.Tensor(np.full(p.shape, 0.25))

        def step(x, t):
            previous = sum((p.grad * p.grad).sum() for p in model.parameters())
            loss = F.squared_error(model(x), t)
            o.zero_grad()
            loss.backward()
            o.step()
            return loss, previous
        return model, step
    compare(make, linear_data(3, 2, 1, np.float64))
    compare(make, linear_data(3, 2, 4, np.float64))


def test_changing_a_grad_the_plan_does_not_own_is_refused():
    w = tg.Tensor(np.ones(3), requires_grad=True)

    @tg.compile
    def step(x):
        (w * x).sum().backward()
        with tg.no_grad():
            w.grad.mul_(0.5)
        return w.grad

    with pytest.raises(tg.CompileError, match="grad"):
        step(tg.ones(3))


def test_kept_grad_arrays_keep_their_values():
    """`p.grad.numpy()` shares the array: the next call stored into that same array, so
    a gradient kept from an earlier step changed (eager makes a new one each step)."""
    for opt in ("sgd", "adam"):
        (m1, s1), (m2, s2) = twin(functools.partial(_grad_keeper, opt))
        c = tg.compile(s2)
        data = linear_data(3, 2, 1, np.float64)
        k1, k2, t1, t2 = [], [], [], []
        for i in range(5):
            x, t = data(i)
            s1(tg.Tensor(x), tg.Tensor(t))
            c(tg.Tensor(x), tg.Tensor(t))
            k1.append([p.grad.numpy() for p in m1.parameters()])
            k2.append([p.grad.numpy() for p in m2.parameters()])
            t1.append([p.grad for p in m1.parameters()][i % 2:])
            t2.append([p.grad for p in m2.parameters()][i % 2:])
        for a, b in zip(k1 + t1, k2 + t2):
            for x, y in zip(a, b):
                close(x.numpy() if isinstance(x, tg.Tensor) else x,
                      y.numpy() if isinstance(y, tg.Tensor) else y)


def _grad_keeper(opt):
    model, o = net(np.float64, opt, bias=True)

    def step(x, t):
        loss = F.squared_error(model(x), t)
        o.zero_grad()
        loss.backward()
        o.step()
        return loss
    return model, step


def test_write_through_a_view_of_a_folded_value():
    """`c = ones·2` is folded at bind time; a write through a view of c changed it at
    every call (the write was not seen as a write of c)."""
    def make():
        w = tg.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)

        def step(x):
            c = tg.ones(3, dtype=tg.float64) * 2
            with tg.no_grad():
                c.reshape(3, 1).add_(1)
            return (w * c * x).sum()
        return _Holder(w), step
    compare(make, lambda i: (np.full(3, i + 1.0),))


def test_write_through_a_view_of_a_constant():
    """A constant made in fn and changed through a view is restored at every call."""
    def make():
        w = tg.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)

        def step(x):
            c = tg.zeros(3, dtype=tg.float64)
            with tg.no_grad():
                c.reshape(3, 1)[1:] += x.reshape(3, 1)[1:]
            return (w * c).sum()
        return _Holder(w), step
    compare(make, lambda i: (np.full(3, i + 1.0),))


def test_write_through_a_view_after_a_result_that_is_made_on_first_read():
    """The loss's sum is made when read; a later write through a view of what it sums
    (in the same call) made the read see the changed values."""
    def make():
        w = tg.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        o = optim.SGD([w], lr=0.01)

        def step(x):
            y = w * x
            loss = (y * y).sum()
            o.zero_grad()
            loss.backward()
            o.step()
            with tg.no_grad():
                y.reshape(3, 1).mul_(0)
            return loss
        return _Holder(w), step
    compare(make, lambda i: (np.full(3, i + 1.0),))
    compare(make, lambda i: (np.full(3, i + 1.0),), keep=True)


def test_write_through_a_view_of_an_argument_is_refused():
    @tg.compile
    def f(x):
        with tg.no_grad():
            x.reshape(3, 1).add_(1)
        return x * 2

    with pytest.raises(tg.CompileError, match="argument"):
        f(tg.ones(3))


# ---------------------------------------------------------------- results made on first read


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 5])
def test_results_in_containers_read_late(dtype, batch):
    def make():
        model, o = net(dtype)

        def step(x, t):
            out = model(x)
            loss = F.squared_error(out, t)
            o.zero_grad()
            loss.backward()
            o.step()
            return {"loss": loss, "pair": (loss, out.reshape(-1)), "list": [loss * 2, -loss]}
        return model, step
    compare(make, linear_data(3, 2, batch, dtype), steps=8, dtype=dtype, keep=True)


def test_results_read_after_weights_change_outside():
    """Results kept across `p.data = new array` (a rebind), load_state_dict, an outside
    opt.step(), another compiled function's call and a retrace by train()/eval()."""
    holders: list = []

    def make():
        model, o = net(np.float64)
        holders.append((model, o))

        def step(x, t):
            loss = F.squared_error(model(x), t)
            o.zero_grad()
            loss.backward()
            o.step()
            return loss
        return model, step

    def between(m1, m2, i):
        for m, o in holders:
            if i == 1:
                m[0].weight.data = m[0].weight.data * 0.5
            if i == 2:
                m.load_state_dict({k: v * 1.1 for k, v in m.state_dict().items()})
            if i == 3:
                o.step()
            if i == 4:
                m.eval()
            if i == 5:
                m.train()
        if i == 3:
            other = tg.compile(lambda x: (x * x).sum())
            for _ in range(3):
                other(tg.ones(4))
    compare(make, linear_data(3, 2, 1, np.float64), steps=8, keep=True, between=between)


def test_result_passed_back_as_the_next_argument():
    """A recurrence h = step(h): the result is read by the next call's key."""
    def make():
        w = tg.Tensor(np.array([0.5, -0.25, 0.75]), requires_grad=True)
        o = optim.SGD([w], lr=0.01)

        def step(h):
            y = (w * h).tanh()
            loss = (y * y).sum()
            o.zero_grad()
            loss.backward()
            o.step()
            return y * 1 + 0.1, loss
        return _Holder(w), step
    (m1, s1), (m2, s2) = twin(make)
    c = tg.compile(s2)
    h1, h2 = tg.ones(3, dtype=tg.float64), tg.ones(3, dtype=tg.float64)
    losses = []
    for _ in range(6):
        (h1, l1), (h2, l2) = s1(h1.detach()), c(h2)
        losses.append((l1, l2))
    for l1, l2 in losses:
        close(l1.numpy(), l2.numpy())
    close(h1.numpy(), h2.numpy())


def test_weakly_held_and_deleted_results():
    def make():
        model, o = net(np.float64)

        def step(x, t):
            loss = F.squared_error(model(x), t)
            o.zero_grad()
            loss.backward()
            o.step()
            return loss, loss * 3
        return model, step
    (m1, s1), (m2, s2) = twin(make)
    c = tg.compile(s2)
    data = linear_data(3, 2, 1, np.float64)
    refs, kept = [], []
    for i in range(6):
        x, t = data(i)
        e = s1(tg.Tensor(x), tg.Tensor(t))
        r = c(tg.Tensor(x), tg.Tensor(t))
        refs.append(weakref.ref(r[0]))
        kept.append((e[1], r[1]))
        del r
    for e, r in kept:
        close(e.numpy(), r.numpy())
    check_params(m1, m2, np.float64)


def test_returned_intermediate_that_backward_uses():
    def make():
        model, o = net(np.float64)

        def step(x, t):
            d = t - model(x)
            loss = 0.5 * (d ** 2).sum()
            o.zero_grad()
            loss.backward()
            o.step()
            return d, loss
        return model, step
    compare(make, linear_data(3, 2, 3, np.float64), keep=True)


def test_returned_grads_of_params_and_inputs():
    def make():
        model, o = net(np.float64, "momentum")

        def step(x, t):
            x.requires_grad_()
            loss = F.mse_loss(model(x), t)
            o.zero_grad()
            loss.backward()
            o.step()
            return loss, x.grad, model[0].weight.grad
        return model, step
    compare(make, linear_data(3, 2, 2, np.float64), keep=True)


# ---------------------------------------------------------------- clears, constants, squares


def test_zero_grad_on_some_params_and_two_optimizers():
    def make():
        model, _ = net(np.float64, bias=True)
        first = optim.SGD(list(model[0].parameters()), lr=0.5)
        second = optim.Adam(list(model[2].parameters()), lr=0.01)

        def step(x, t):
            loss = F.squared_error(model(x), t)
            first.zero_grad()  # the second layer's gradients add up over calls
            loss.backward()
            first.step()
            second.step()
            return loss
        return model, step
    compare(make, linear_data(3, 2, 1, np.float64), steps=8)


def test_unused_params_and_grad_cleared_by_hand():
    def make():
        model, o = net(np.float64, bias=True)
        spare = nn.Linear(2, 2, dtype=np.float64)
        both = _Holder(*model.parameters(), *spare.parameters())
        o2 = optim.SGD(spare.parameters(), lr=0.1)

        def step(x, t):
            loss = F.squared_error(model(x), t)
            o.zero_grad()
            o2.zero_grad()
            model[0].weight.grad = None
            loss.backward()
            o.step()
            o2.step()
            return loss
        return both, step
    compare(make, linear_data(3, 2, 1, np.float64))


def test_constant_changed_in_place_and_used_by_backward():
    def make():
        w = tg.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
        o = optim.SGD([w], lr=0.01)

        def step(x):
            c = tg.zeros(3, dtype=tg.float64)
            with tg.no_grad():
                c += x.sum()
            k = tg.full((3,), 0.5, dtype=tg.float64)
            loss = (k * (w * c) ** 2).sum() + (k * w).sum()
            o.zero_grad()
            loss.backward()
            o.step()
            return loss, c
        return _Holder(w), step
    compare(make, lambda i: (np.array([0.1, 0.2, 0.3]) * (i + 1),))


@pytest.mark.parametrize("form", ["t-o", "o-t", "neg", "negmethod", "mse", "sq_err_t_grad"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_squares_and_negations(form, dtype):
    """The negated square ((−c)·(d + d)) must give eager's bits, and never apply where
    the negation is not of a square with a constant gradient."""
    def make():
        model, o = net(dtype)

        def step(x, t):
            out = model(x)
            if form == "t-o":
                loss = 0.5 * ((t - out) ** 2).sum()
            elif form == "o-t":
                loss = 0.5 * ((out - t) ** 2).sum()
            elif form == "neg":
                loss = (-(out ** 2)).sum() * 0.25
            elif form == "negmethod":
                loss = (out ** 2).neg().mean()
            elif form == "mse":
                loss = F.mse_loss(out, t)
            else:
                t.requires_grad_()
                loss = F.squared_error(out, t)
            o.zero_grad()
            loss.backward()
            o.step()
            return (loss, t.grad) if form == "sq_err_t_grad" else loss
        return model, step
    compare(make, linear_data(3, 2, 3, dtype), dtype=dtype)


def test_dropout_inside_the_step():
    def make():
        model = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Dropout(0.5),
                              nn.Linear(8, 2, dtype=np.float64))
        o = optim.SGD(model.parameters(), lr=0.1)

        def step(x, t):
            loss = F.mse_loss(model(x), t)
            o.zero_grad()
            loss.backward()
            o.step()
            return loss
        return model, step
    (m1, s1), (m2, s2) = twin(make)
    c = tg.compile(s2)
    data = linear_data(3, 2, 4, np.float64)
    for i in range(6):
        x, t = data(i)
        tg.manual_seed(i)
        e = s1(tg.Tensor(x), tg.Tensor(t))
        tg.manual_seed(i)
        r = c(tg.Tensor(x), tg.Tensor(t))
        close(e.numpy(), r.numpy())
    check_params(m1, m2, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_sigmoid_is_bit_equal_without_warnings(dtype):
    def make():
        w = tg.Tensor(np.linspace(-3, 3, 4100).astype(dtype), requires_grad=True)
        o = optim.SGD([w], lr=0.1)

        def step(x):
            y = (w * x).sigmoid()
            loss = (y * y).sum()
            o.zero_grad()
            loss.backward()
            o.step()
            return y, loss
        return _Holder(w), step
    (m1, s1), (m2, s2) = twin(make)
    c = tg.compile(s2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(4):
            x = np.full(4100, 1.0 + i, dtype)
            x[:5] = [-1000, 1000, -1e30, 0, 88.8]
            e, r = s1(tg.Tensor(x)), c(tg.Tensor(x))
            for a, b in zip(values(e), values(r)):
                np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(m1.ps[0].data, m2.ps[0].data)
