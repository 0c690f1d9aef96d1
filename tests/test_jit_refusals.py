"""What a plan cannot replay is refused while tracing, with an error naming it; nothing is
baked in silently. And the allocation bound of a replayed step of the text's network."""

import tracemalloc

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.nn import functional as F


def refused(fn, *args, match):
    c = tg.compile(fn)
    with pytest.raises(tg.CompileError, match=match):
        c(*args)
    assert tg.autograd.tracer is None  # tracing state is cleaned up after a refusal
    return c


w = tg.Tensor(np.ones(3), requires_grad=True)


@pytest.mark.parametrize("read", [
    lambda y: y.item(), lambda y: y.numpy(), lambda y: bool(y > 0), lambda y: float(y),
    lambda y: y.tolist(), lambda y: np.asarray(y), lambda y: f"{y:.3f}",
])
def test_reading_a_value_is_refused(read):
    def f(x):
        y = (x * w).sum()
        read(y)
        return y
    refused(f, tg.ones(3), match=r"compile: .*called \.(item|numpy|bool|tolist|numpy\.asarray)")


def test_message_says_what_and_what_to_do():
    def f(x):
        return (x * w).sum().item()
    with pytest.raises(tg.CompileError) as e:
        tg.compile(f)(tg.ones(3))
    msg = str(e.value)
    assert "item()" in msg and "shape ()" in msg and "outside the compiled function" in msg


def test_data_dependent_control_flow_is_refused():
    def f(x):
        y = x * w
        if (y.sum() > 1).any():
            return y * 2
        return y
    refused(f, tg.ones(3), match="bool")


def test_numpy_on_traced_values_is_refused():
    """`.data` hands Python the values; NumPy work on them could not be replayed."""
    refused(lambda x: x * float(x.data.sum()), tg.ones(3), match=r"\.data")
    model = nn.Linear(3, 3)
    refused(lambda x, y: F.mse_loss(model(x), y.data), tg.ones(2, 3), tg.ones(2, 3),
            match=r"\.data")


def test_untracked_writes_are_refused():
    def f(x):
        y = (x * w).sum()
        y.backward()
        w.data -= 0.1 * w.grad.data
        return y
    refused(f, tg.ones(3), match=r"\.data")

    def g(x):
        w.data = x.detach().data
        return x
    refused(g, tg.ones(3), match=r"\.data")


def test_random_draws_outside_dropout_are_refused():
    refused(lambda x: x * tg.randn(3), tg.ones(3), match="random")
    refused(lambda x: x + tg.rand(3), tg.ones(3), match="random")
    refused(lambda x: x * tg.zeros(3).normal_(), tg.ones(3), match="random")


def test_dropout_draws_a_new_mask_at_every_replay_from_the_current_generator():
    model = nn.Dropout(0.5)
    step = tg.compile(lambda x: model(x))
    tg.manual_seed(3)
    compiled = [step(tg.ones(1000)).numpy().copy() for _ in range(3)]
    tg.manual_seed(4)  # a new global generator between calls is used by the plan too
    compiled.append(step(tg.ones(1000)).numpy().copy())
    tg.manual_seed(3)
    eager = [model(tg.ones(1000)).numpy().copy() for _ in range(3)]
    tg.manual_seed(4)
    eager.append(model(tg.ones(1000)).numpy().copy())
    for c, e in zip(compiled, eager):
        np.testing.assert_array_equal(c, e)
    assert not np.array_equal(compiled[0], compiled[1])


def test_hooks_and_autograd_grad_are_refused():
    def hooked(x):
        y = x * w
        y.register_hook(lambda g: g * 2)
        y.sum().backward()
        return w.grad
    refused(hooked, tg.ones(3), match="hook")

    def functional(x):
        y = (x * w).sum()
        return tg.autograd.grad(y, [w])[0]
    refused(functional, tg.ones(3), match="autograd.grad")


def test_graph_from_outside_and_changed_arguments_are_refused():
    outside = w * 2

    def f(x):
        return (outside * x).sum()
    refused(f, tg.ones(3), match="computed outside")

    def g(x):
        with tg.no_grad():
            x += 1
        return x
    refused(g, tg.ones(3), match="argument")


def test_values_that_are_not_data_are_constants():
    """Python numbers, lists and tensors made inside fn from them are part of the code;
    a tensor made inside fn and then changed in place starts fresh at every call."""
    @tg.compile
    def f(x):
        h = tg.zeros(3)
        with tg.no_grad():
            h += x
        return h * tg.tensor([1.0, 2.0, 3.0]) + 0.5

    for i in range(4):
        x = tg.full((3,), float(i))
        np.testing.assert_allclose(f(x).data, (np.full(3, float(i)) * [1, 2, 3]) + 0.5)
    assert f.traces == 1


def test_arrays_passed_as_arguments_are_inputs():
    model = nn.Linear(4, 2)

    @tg.compile
    def f(x, t):
        return F.mse_loss(model(tg.Tensor(x)), t)

    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.normal(size=(5, 4))  # float64 array: copied into a float32 tensor
        t = rng.normal(size=(5, 2)).astype(np.float32)
        expected = F.mse_loss(model(tg.Tensor(x)), t)
        np.testing.assert_allclose(f(x, t).data, expected.data, rtol=1e-6)
    assert f.traces == 1


def test_module_mode_change_retraces():
    """train()/eval() may change what forward does (Dropout): a plan is made per mode."""
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    model.eval()
    c = tg.compile(lambda x: model(x))
    x = tg.ones(2, 4)
    c(x)
    c(x)
    assert c.traces == 1
    model.train()
    out = c(x)  # a new plan, with the Dropout op
    assert c.traces == 2 and (out.numpy() == 0).any()


def test_replayed_step_of_the_text_network_allocates_little():
    """784-100-10, sigmoid, no biases, ½Σ(t − o)², SGD, one sample (1, 784) per step: a
    replay's tracemalloc peak growth is under 64 KiB; an eager step's is over 300 KiB."""
    model = nn.Sequential(nn.Linear(784, 100, bias=False), nn.Sigmoid(),
                          nn.Linear(100, 10, bias=False), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, t):
        loss = F.squared_error(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(0)
    xs = [tg.Tensor(rng.uniform(0.01, 1, (1, 784)).astype(np.float32)) for _ in range(4)]
    t = tg.Tensor(np.full((1, 10), 0.01, np.float32))

    def growth(f):
        f(xs[0], t)
        f(xs[1], t)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            f(xs[2], t)
            f(xs[3], t)
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    assert growth(tg.compile(step)) < 64 * 1024
    assert growth(step) > 300 * 1024
