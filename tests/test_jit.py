"""compile(fn): replays equal eager calls (same losses, weights and gradients after many
steps, from the same initial weights), for every op the plan has a kernel for and for
ops it runs through their own code, with SGD variants, Adam, AdamW, RMSprop, schedulers,
both float dtypes and batch sizes 1 and many."""

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.nn import functional as F

STEPS = 200
TOL = {np.float32: 1e-6, np.float64: 1e-12}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-30))


def twin(make):
    """Two copies of a (model, optimizer, step) from the same seed: eager and compiled."""
    tg.manual_seed(0)
    eager = make()
    tg.manual_seed(0)
    comp = make()
    return eager, comp


def run_pair(make, data, dtype, steps=STEPS, after_step=None):
    (m1, o1, s1), (m2, o2, s2) = twin(make)
    c = tg.compile(s2)
    l1, l2 = [], []
    for i in range(steps):
        args = data(i)
        l1.append(np.asarray(s1(*[tg.Tensor(a) for a in args]).data, np.float64))
        l2.append(np.asarray(c(*[tg.Tensor(a) for a in args]).data, np.float64))
        if after_step:
            after_step(o1, o2, i)
    tol = TOL[dtype]
    assert rel(np.array(l1), np.array(l2)) < tol
    for (n, p1), p2 in zip(m1.named_parameters(), m2.parameters()):
        assert p1.data.dtype == p2.data.dtype == dtype
        assert rel(p1.data, p2.data) < tol, n
        if p1.grad is None:
            assert p2.grad is None
        else:
            assert rel(p1.grad.data, p2.grad.data) < max(tol, 1e-5 if dtype == np.float32 else 0), n
    return c


def mlp_data(n_in, n_out, batch, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.01, 1, (STEPS, batch, n_in)).astype(dtype)
    T = np.full((STEPS, batch, n_out), 0.01, dtype)
    for i in range(STEPS):
        T[i, np.arange(batch), rng.integers(0, n_out, batch)] = 0.99
    return lambda i: (X[i], T[i])


def book_net(n_in, n_hid, n_out, dtype, opt_factory, loss=F.squared_error, bias=False):
    def make():
        model = nn.Sequential(nn.Linear(n_in, n_hid, bias=bias, dtype=dtype), nn.Sigmoid(),
                              nn.Linear(n_hid, n_out, bias=bias, dtype=dtype), nn.Sigmoid())
        opt = opt_factory(model.parameters())

        def step(x, t):
            value = loss(model(x), t)
            opt.zero_grad()
            value.backward()
            opt.step()
            return value
        return model, opt, step
    return make


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.5),
    "momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "weight_decay": lambda p: optim.SGD(p, lr=0.1, weight_decay=0.01),
    "dampening": lambda p: optim.SGD(p, lr=0.1, momentum=0.5, dampening=0.3),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adam_wd_amsgrad": lambda p: optim.Adam(p, lr=1e-2, weight_decay=0.01, amsgrad=True),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "rmsprop": lambda p: optim.RMSprop(p, lr=1e-3, momentum=0.5, centered=True),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_book_network_every_optimizer(name, dtype):
    run_pair(book_net(16, 8, 4, dtype, OPTIMIZERS[name]), mlp_data(16, 4, 1, dtype), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 7])
def test_text_network_plain_sgd_fused(batch, dtype):
    """The text's 784-100-10 network: one sample per step (ger) and a batch (gemm)."""
    c = run_pair(book_net(784, 100, 10, dtype, lambda p: optim.SGD(p, lr=0.1)),
                 mlp_data(784, 10, batch, dtype), dtype, steps=60)
    assert c.traces == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_biases_mse_and_relu_tanh(dtype):
    def make():
        model = nn.Sequential(nn.Linear(6, 5, dtype=dtype), nn.ReLU(),
                              nn.Linear(5, 4, dtype=dtype), nn.Tanh(),
                              nn.Linear(4, 3, dtype=dtype))
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.5)

        def step(x, t):
            loss = F.mse_loss(model(x), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    run_pair(make, mlp_data(6, 3, 5, dtype), dtype)


# every op: a small function of the op, a weight w trained by SGD on it
OPS = {
    "add": lambda x, w: ((x + w) * (x + w)).sum(),
    "sub": lambda x, w: ((x - w) ** 2).sum() + (1 - w).sum(),
    "mul": lambda x, w: (x * w * 0.5).sum(),
    "div": lambda x, w: (x / (w * w + 1)).sum() + (w / 3).sum(),
    "neg": lambda x, w: (-(w * x)).exp().sum(),
    "pow": lambda x, w: ((w * x) ** 3).sum() + (w ** 2).mean(),
    "exp_log": lambda x, w: ((w * x).exp() + 1).log().sum(),
    "sqrt": lambda x, w: (w * w + x).sqrt().sum(),
    "sigmoid": lambda x, w: (w * x).sigmoid().sum(),
    "tanh": lambda x, w: (w * x).tanh().sum(),
    "relu": lambda x, w: ((w * x).relu() * x).sum(),
    "matmul": lambda x, w: (x.reshape(2, 3) @ w.reshape(3, 2)).sigmoid().sum(),
    "linear": lambda x, w: F.linear(x.reshape(2, 3), w.reshape(2, 3)).sum(),
    "sum_dim": lambda x, w: ((w * x).reshape(2, 3).sum(dim=1) ** 2).sum(),
    "mean_keepdim": lambda x, w: ((w * x).reshape(2, 3).mean(1, keepdim=True)
                                  * x.reshape(2, 3)).sum(),
    "broadcast": lambda x, w: (x.reshape(2, 3) * w[:3] + w[3:].reshape(3)).sum(),
    "softmax": lambda x, w: ((w * x).reshape(2, 3).softmax(-1) * x.reshape(2, 3)).sum(),
    "log_softmax": lambda x, w: -((w * x).reshape(2, 3).log_softmax(dim=1)[:, 0]).sum(),
    "cross_entropy": lambda x, w: F.cross_entropy((w * x).reshape(2, 3), np.array([0, 2])),
    "max": lambda x, w: (w * x).max() + (w * x).reshape(2, 3).max(dim=1).values.sum(),
    "amax_amin": lambda x, w: (w * x).reshape(2, 3).amax(0).sum() - (w * x).amin(),
    "transpose": lambda x, w: ((w.reshape(2, 3).T * x.reshape(3, 2)) ** 2).sum(),
    "index": lambda x, w: ((w * x)[1:4] ** 2).sum() + w[np.array([0, 0, 5])].sum(),
    "cat_stack": lambda x, w: (tg.cat([w, x * w]) ** 2).sum() + tg.stack([w, x]).sum(),
    "where": lambda x, w: tg.where(x > 0.5, w, w * w).sum(),
    "clamp_abs": lambda x, w: (w * x - 0.3).clamp(-0.5, 0.2).sum() + (w - 0.5).abs().sum(),
    "minimum_maximum": lambda x, w: tg.maximum(w, x).sum() + tg.minimum(w, x * 0.5).sum(),
    "var_std": lambda x, w: (w * x).var() + (w * x).std(),
    "prod": lambda x, w: (w * 0.5 + 1).prod(),
    "sin_cos": lambda x, w: ((w * x).sin() * (w).cos()).sum(),
    "leaky_relu": lambda x, w: F.leaky_relu(w * x - 0.5, 0.1).sum(),
    "expand_repeat": lambda x, w: (w.reshape(1, 6).expand(2, 6) * x).sum() + w.repeat(2).sum(),
    "cast": lambda x, w: (w.double() * x.double()).sum().float(),
    "clone_inplace": lambda x, w: (lambda h: (h.mul_(x), h.add_(1), (h * h).sum())[-1])(w.clone()),
    "int_ops": lambda x, w: (w * (x > 0.5)).sum() + (w * tg.tensor([1, 2, 3, 4, 5, 6])).sum(),
    "squared_error": lambda x, w: F.squared_error((w * x).sigmoid(), x),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_replays_as_eager(name, dtype):
    f = OPS[name]

    def make():
        model = nn.Module()
        model.w = nn.Parameter(tg.rand(6, dtype=dtype) * 0.5 + 0.25)
        opt = optim.SGD(model.parameters(), lr=0.01)

        def step(x):
            loss = f(x, model.w)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (STEPS, 6)).astype(dtype)
    c = run_pair(make, lambda i: (X[i],), dtype)
    assert c.traces == 1


def test_scheduler_learning_rate_read_each_call():
    def make():
        model = nn.Sequential(nn.Linear(8, 4, bias=False), nn.Sigmoid())
        opt = optim.SGD(model.parameters(), lr=1.0)

        def step(x, t):
            loss = F.squared_error(model(x), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    (m1, o1, s1), (m2, o2, s2) = twin(make)
    sch1 = optim.lr_scheduler.StepLR(o1, 10, gamma=0.5)
    sch2 = optim.lr_scheduler.StepLR(o2, 10, gamma=0.5)
    c = tg.compile(s2)
    data = mlp_data(8, 4, 1, np.float32)
    for i in range(100):
        x, t = data(i)
        s1(tg.Tensor(x), tg.Tensor(t))
        c(tg.Tensor(x), tg.Tensor(t))
        sch1.step()
        sch2.step()
    assert c.traces == 1
    assert rel(m1[0].weight.data, m2[0].weight.data) < 1e-6


def test_momentum_switched_on_between_calls():
    """A hyperparameter changed in param_groups is read at the next call, even one the
    plan had fused away (plain SGD becoming momentum SGD)."""
    make = book_net(784, 20, 10, np.float32, lambda p: optim.SGD(p, lr=0.1))
    (m1, o1, s1), (m2, o2, s2) = twin(make)
    c = tg.compile(s2)
    data = mlp_data(784, 10, 1, np.float32)
    for i in range(40):
        if i == 20:
            for o in (o1, o2):
                o.param_groups[0]["momentum"] = 0.9
                o.param_groups[0]["weight_decay"] = 1e-3
        x, t = data(i)
        s1(tg.Tensor(x), tg.Tensor(t))
        c(tg.Tensor(x), tg.Tensor(t))
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert rel(p1.data, p2.data) < 1e-6


def test_replaced_data_and_load_state_dict_are_picked_up():
    make = book_net(784, 20, 10, np.float32, lambda p: optim.SGD(p, lr=0.1))
    (m1, o1, s1), (m2, o2, s2) = twin(make)
    c = tg.compile(s2)
    data = mlp_data(784, 10, 1, np.float32)
    rng = np.random.default_rng(5)
    for i in range(30):
        if i == 10:  # a new array object for a weight
            w = rng.normal(0, 0.1, m1[0].weight.shape).astype(np.float32)
            m1[0].weight.data = w.copy()
            m2[0].weight.data = w.copy()
        if i == 20:  # values copied into the existing arrays
            sd = {k: v * 0.5 for k, v in m1.state_dict().items()}
            m1.load_state_dict(sd)
            m2.load_state_dict(sd)
        x, t = data(i)
        s1(tg.Tensor(x), tg.Tensor(t))
        c(tg.Tensor(x), tg.Tensor(t))
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert rel(p1.data, p2.data) < 1e-6
    assert c.traces == 1


def test_one_plan_per_signature_and_outputs_are_copies():
    model = nn.Linear(3, 2)
    calls = []

    @tg.compile
    def forward(x):
        calls.append(1)
        return model(x), (model(x) * 2).sum()

    x = tg.randn(4, 3)
    out1, s1 = forward(x)
    out2, s2 = forward(x)
    assert len(calls) == 1
    assert out1 is not out2 and out2.data is not out1.data
    np.testing.assert_allclose(out2.data, model(x).data, rtol=1e-6)
    forward(tg.randn(5, 3))  # another shape: traced anew
    forward(tg.randn(4, 3, dtype=np.float64))  # another dtype
    assert len(calls) == 3 and forward.traces == 3
    kept = out2.data.copy()
    forward(tg.randn(4, 3))
    np.testing.assert_array_equal(out2.data, kept)  # a returned tensor is a copy


def test_gradient_of_an_argument_and_accumulation_across_calls():
    """`x.grad` of an argument is set on the call's own tensor; without zero_grad the
    parameters' gradients accumulate across calls, as eagerly."""
    w1 = tg.Tensor(np.linspace(0.1, 0.6, 6), requires_grad=True)
    w2 = tg.Tensor(np.linspace(0.1, 0.6, 6), requires_grad=True)

    def make(w):
        def f(x):
            y = ((x * w).sigmoid() * x).sum()
            y.backward()
            return x.grad
        return f

    eager, comp = make(w1), tg.compile(make(w2))
    for i in range(5):
        xs = [tg.Tensor(np.full(6, 0.1 * i), requires_grad=True) for _ in range(2)]
        g1, g2 = eager(xs[0]), comp(xs[1])
        np.testing.assert_allclose(g1.data, g2.data, rtol=1e-12)
        np.testing.assert_allclose(xs[0].grad.data, xs[1].grad.data, rtol=1e-12)
        np.testing.assert_allclose(w1.grad.data, w2.grad.data, rtol=1e-12)


def test_kept_gradient_does_not_change_under_the_user():
    """A `.grad` tensor kept across calls keeps its values (eager makes a new one each
    step after zero_grad), for fused and stored gradients alike."""
    for factory in (lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p, lr=0.01)):
        model, opt, step = book_net(784, 20, 10, np.float32, factory)()
        c = tg.compile(step)
        data = mlp_data(784, 10, 1, np.float32)
        c(*map(tg.Tensor, data(0)))
        c(*map(tg.Tensor, data(1)))
        kept = [p.grad for p in model.parameters()]
        values = [g.data.copy() for g in kept]
        c(*map(tg.Tensor, data(2)))
        for g, v in zip(kept, values):
            np.testing.assert_array_equal(g.data, v)
        assert all(p.grad is not g for p, g in zip(model.parameters(), kept))


def test_zero_grad_set_to_none_false_and_manual_none():
    def make():
        model = nn.Linear(4, 2, bias=False, dtype=np.float64)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            loss = (model(x) ** 2).sum()
            opt.zero_grad(set_to_none=False)
            loss.backward()
            opt.step()
            model.weight.grad = None if x.shape[0] == 3 else model.weight.grad
            return loss
        return model, opt, step
    (m1, _, s1), (m2, _, s2) = twin(make)
    c = tg.compile(s2)
    for i in range(10):
        x = np.full((2 + i % 2, 4), 0.1 * i)
        s1(tg.Tensor(x))
        c(tg.Tensor(x))
        assert (m1.weight.grad is None) == (m2.weight.grad is None)
        np.testing.assert_allclose(m1.weight.data, m2.weight.data, rtol=1e-12)


def test_decorator_forms_and_repr():
    @tg.compile
    def f(x):
        return x * 2

    @tg.compile()
    def g(x):
        return x + 1

    x = tg.tensor([1.0, 2.0])
    assert f(x).tolist() == [2.0, 4.0] and f(x).tolist() == [2.0, 4.0]
    assert g(x).tolist() == [2.0, 3.0] and g(x).tolist() == [2.0, 3.0]
    assert "f" in repr(f)
    with pytest.raises(TypeError, match="compile"):
        tg.compile(3)


def test_labels_as_index_arrays_are_inputs():
    """logp[rows, labels]: the labels, an argument, flow into the plan's index at every
    call (not the first call's labels). (cross_entropy checks its labels with NumPy, so
    with traced labels it is refused: see test_jit_refusals.)"""
    def make():
        model = nn.Linear(5, 3)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            loss = -model(x).log_softmax(-1)[tg.arange(4), y].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    (m1, _, s1), (m2, _, s2) = twin(make)
    c = tg.compile(s2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.normal(size=(4, 5)).astype(np.float32), rng.integers(0, 3, 4)
        l1 = s1(tg.Tensor(x), tg.tensor(y))
        l2 = c(tg.Tensor(x), tg.tensor(y))
        np.testing.assert_allclose(l1.data, l2.data, rtol=1e-6)
    np.testing.assert_allclose(m1.weight.data, m2.weight.data, rtol=1e-6)
    assert c.traces == 1


@pytest.mark.parametrize("loss,batch", [("squared_error", 1), ("mse", 8), ("cross_entropy", 4)])
def test_fit_compiled_by_default_equals_eager(loss, batch):
    from tinygrad_nn.train import fit

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (64, 8)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    weights = []
    for compiled in (True, False):
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 6, bias=False), nn.Sigmoid(),
                              nn.Linear(6, 3, bias=False), nn.Sigmoid())
        opt = optim.SGD(model.parameters(), lr=0.3)
        h = fit(model, opt, (X, y), epochs=3, batch_size=batch, loss=loss, num_classes=3,
                progress=False, compile=compiled)
        weights.append(([p.data.copy() for p in model.parameters()], h.loss))
    for a, b in zip(weights[0][0], weights[1][0]):
        assert rel(a, b) < 1e-6
    assert rel(weights[0][1], weights[1][1]) < 1e-6


def test_a_module_compiles_for_inference():
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    fast = tg.compile(model)
    x = tg.randn(3, 5)
    with tg.no_grad():
        expected = model(x).data
    for _ in range(3):
        out = fast(x)
        np.testing.assert_allclose(out.data, expected, rtol=1e-6)
        assert not out.requires_grad
    model[0].weight.data = model[0].weight.data * 2  # a new array: picked up
    with tg.no_grad():
        np.testing.assert_allclose(fast(x).data, model(x).data, rtol=1e-6)
