"""The plan's own optimisations: constant folding (backward's seed of ones and what is
computed from constants alone runs once, at bind time) and results made on first read
(the calls only a result needs, such as the loss's sum, run when it is read). Both must
give the eager values whenever a result is read, even calls later."""

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.nn import functional as F


def text_step(n_in=16, n_hid=8, n_out=2, seed=0):
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(n_in, n_hid, bias=False), nn.Sigmoid(),
                          nn.Linear(n_hid, n_out, bias=False), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, t):
        loss = F.squared_error(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return model, step


def data(i, n_in=16, n_out=2):
    rng = np.random.default_rng(i)
    return (tg.Tensor(rng.uniform(0.01, 1, (1, n_in)).astype(np.float32)),
            tg.Tensor(np.full((1, n_out), 0.01, np.float32)))


def the_plan(compiled):
    (plan,) = compiled.plans.values()
    return plan


def test_seed_chain_folded_and_loss_sum_deferred():
    """E = ½·Σ(t − o)²: ∂E/∂(Σ) = ½ and its broadcast are constants (folded); (t − o)²,
    Σ and ½· are needed only for the returned loss (deferred)."""
    _, step = text_step()
    c = tg.compile(step)
    c(*data(0))
    c(*data(1))
    plan = the_plan(c)
    assert len(plan.later) == 3
    assert len(plan.calls) == 12  # as docs/architecture.md lists them
    names = [getattr(fn, "__name__", "") for fn, _ in plan.steps]
    assert len(names) == 17 and names[:5] == ["dot", "expit", "dot", "expit", "subtract"]
    assert names[-3:] == ["store", "store", "step"]  # the rest: NumPy's own functions
    ops_run = [i.op.__name__ for i in plan.program if hasattr(i, "op")]
    assert ops_run[4:8] == ["Sub", "Pow", "Sum", "Mul"]


def test_losses_kept_unread_across_calls_equal_eager():
    m1, s1 = text_step()
    m2, s2 = text_step()
    c = tg.compile(s2)
    eager, kept = [], []
    for i in range(30):
        eager.append(float(s1(*data(i)).data))
        kept.append(c(*data(i)))  # not read until all calls are done
    np.testing.assert_allclose([float(k.data) for k in kept], eager, rtol=1e-6)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p1.data, p2.data, rtol=1e-6)


def test_a_result_read_late_is_the_value_of_its_call():
    """A result the plan makes on first read never reads a parameter (which may change
    before the read): here the result is computed from the weights after the step, and
    the weights change afterwards."""
    w = tg.Tensor(np.linspace(0.1, 0.6, 6), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def f(x):
        loss = ((x * w).sigmoid()).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return (w * 2).sum(), loss

    c = tg.compile(f)
    x = tg.Tensor(np.full(6, 0.5))
    c(x)
    after, loss = c(x)
    expected_after = float((w * 2).sum().data)
    with tg.no_grad():
        w -= 100.0  # changes the parameter before the results are read
    assert float(after.data) == expected_after
    assert np.isfinite(float(loss.data)) and 0 < float(loss.data) < 6


def test_result_held_in_a_tuple_survives_the_next_call():
    _, s1 = text_step()
    _, s2 = text_step()
    c = tg.compile(lambda x, t: (s2(x, t), 1))
    eager = [float(s1(*data(i)).data) for i in range(4)]
    kept = [c(*data(i)) for i in range(4)]
    np.testing.assert_allclose([float(k[0].data) for k in kept], eager, rtol=1e-6)


def test_folding_is_redone_when_a_parameter_array_is_replaced():
    m1, s1 = text_step()
    m2, s2 = text_step()
    c = tg.compile(s2)
    for i in range(3):
        s1(*data(i))
        c(*data(i))
    new = [np.full_like(p.data, 0.05) for p in m1.parameters()]
    for p1, p2, a in zip(m1.parameters(), m2.parameters(), new):
        p1.data = a.copy()
        p2.data = a.copy()
    losses1 = [float(s1(*data(i)).data) for i in range(3, 8)]
    losses2 = [c(*data(i)) for i in range(3, 8)]
    np.testing.assert_allclose([float(v.data) for v in losses2], losses1, rtol=1e-6)


def test_a_result_made_from_an_argument_keeps_its_calls_argument():
    """A deferred result that reads an argument's buffer is made before the next call
    copies its arguments in."""
    w = tg.Tensor(np.linspace(0.1, 0.6, 6), requires_grad=True)

    def f(x):
        loss = (x * w).sum()
        loss.backward()
        return (x * 2).sum()

    c = tg.compile(f)
    firsts = [c(tg.Tensor(np.full(6, float(i)))) for i in range(4)]
    assert [float(r.data) for r in firsts] == [12.0 * i for i in range(4)]
    (plan,) = c.plans.values()
    assert plan.later  # the result is indeed made on first read


def test_negated_square_only_where_its_gradient_is_not_read_elsewhere():
    """E = ½Σ(t − o)² with t requiring grad: ∂t = c·(d + d) is needed as well, so the
    square's backward stays and −∂t is its own call; both gradients equal eager."""
    def make():
        w = tg.Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)

        def f(x, t):
            loss = F.squared_error(x @ w, t)
            loss.backward()
            return loss
        return w, f

    (w1, f1), (w2, f2) = make(), make()
    c = tg.compile(f2)
    for i in range(3):
        x = np.full((4, 2), 0.1 * (i + 1))
        ta, tb = (tg.Tensor(np.ones((4, 3)), requires_grad=True) for _ in range(2))
        f1(tg.Tensor(x), ta)
        c(tg.Tensor(x), tb)
        np.testing.assert_array_equal(ta.grad.data, tb.grad.data)
        np.testing.assert_array_equal(w1.grad.data, w2.grad.data)
    (plan,) = c.plans.values()
    assert not any(getattr(call, "replaces", None) for call in plan.calls)


def test_has_plan_is_false_where_the_call_would_trace_again():
    """`fit` relies on has_plan to undo a traced call's step: it must say False wherever
    a call traces, a stale plan (train()/eval() since, requires_grad changed) included."""
    model, step = text_step()
    c = tg.compile(step)
    x, t = data(0)
    assert not c.has_plan(x, t)
    c(x, t)
    assert c.has_plan(x, t)
    model.eval()
    assert not c.has_plan(x, t)
    c(x, t)
    assert c.has_plan(x, t)
    model[0].weight.requires_grad = False
    assert not c.has_plan(x, t)


def test_one_sample_as_a_vector_runs_kernels_and_equals_eager():
    """A sample given as a 1-D row (shape (16,), not (1, 16)) gets the same plan as a
    batch of one: matrix-vector kernels and the fused update (before: the ops' own code,
    twice as slow), with eager's numbers."""
    for dtype, rtol in ((np.float32, 1e-6), (np.float64, 1e-12)):
        m1, s1 = text_step()
        m2, s2 = text_step()
        for m in (m1, m2):
            m.to(dtype)
        c = tg.compile(s2)
        rng = np.random.default_rng(3)
        for _ in range(200):
            x = rng.uniform(0.01, 1, 16).astype(dtype)
            t = np.where(rng.random(2) < 0.5, 0.01, 0.99).astype(dtype)
            e, r = s1(tg.Tensor(x), tg.Tensor(t)), c(tg.Tensor(x), tg.Tensor(t))
            np.testing.assert_allclose(r.data, e.data, rtol=rtol)
        for p1, p2 in zip(m1.parameters(), m2.parameters()):  # the fused update's last bits
            assert np.max(np.abs(p2.data - p1.data)) <= rtol * np.max(np.abs(p1.data))
        plan = the_plan(c)
        names = [getattr(call, "__qualname__", "") for call in plan.calls]
        assert len(names) == 12 and not any("generic" in n or "recompute" in n
                                            for n in names), names


def test_generated_entry_hands_every_other_call_to_the_general_path():
    """The entry (run written out for calls like the last one) replays only calls with
    the traced kind of arguments; anything else — another shape, the same array twice,
    no_grad, eval(), a parameter's array replaced, an argument that requires grad — goes
    the general way and still equals eager."""
    m1, s1 = text_step()
    m2, s2 = text_step()
    c = tg.compile(s2)
    x, t = data(0)
    rng = np.random.default_rng(5)

    def both(*args):
        e, r = s1(*args), c(*args)
        np.testing.assert_allclose(r.data, e.data, rtol=1e-6)

    both(x, t)
    both(x, t)
    assert the_plan(c).entry is not None and c.entry is the_plan(c).entry
    x3 = tg.Tensor(rng.uniform(0.01, 1, (3, 16)).astype(np.float32))
    t3 = tg.Tensor(np.full((3, 2), 0.5, np.float32))
    both(x3, t3)  # another shape: a second plan, its own entry
    assert c.traces == 2 and c.entry is c.plans[c._key((x3, t3), {})[0]].entry
    both(x, t)  # back to the first: its plan replays, its entry is the latest
    assert c.traces == 2
    both(tg.Tensor(x.data), tg.Tensor(t.data))
    assert c.traces == 2
    for m in (m1, m2):  # same shape and dtype, new arrays: the plan rebinds
        m[0].weight.data = m[0].weight.data.copy()
    both(x, t)
    both(x, t)
    assert c.traces == 2
    xg = tg.Tensor(x.data, requires_grad=True)
    both(xg, t)
    assert c.traces == 3
    for m in (m1, m2):
        m.eval()
    both(x, t)
    assert c.traces == 4
    with tg.no_grad():  # eager's backward raises here; so must a compiled call (it traces)
        with pytest.raises(RuntimeError, match="does not require grad"):
            c(x, t)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert np.max(np.abs(p2.data - p1.data)) <= 1e-6 * np.max(np.abs(p1.data))


def test_generated_entry_refuses_one_array_passed_twice():
    f = tg.compile(lambda a, b: a * 2 + b)
    u, v = tg.Tensor([1.0, 2.0]), tg.Tensor([10.0, 20.0])
    f(u, v)
    np.testing.assert_array_equal(f(u, v).data, [12.0, 24.0])
    np.testing.assert_array_equal(f(u, u).data, [3.0, 6.0])  # its own plan
    np.testing.assert_array_equal(f(v, u).data, [21.0, 42.0])
    assert f.traces == 2


def test_a_compiled_function_called_inside_another_is_part_of_its_plan():
    """A replay inside another compiled function's trace would be invisible to it (its
    result baked in as a constant); the inner function runs as plain ops there instead."""
    inner = tg.compile(lambda x: x * 3)
    x = tg.Tensor([1.0, 2.0])
    inner(x)
    inner(x)  # inner has a plan (and an entry)
    outer = tg.compile(lambda x: inner(x) + 1)
    np.testing.assert_array_equal(outer(x).data, [4.0, 7.0])
    np.testing.assert_array_equal(outer(tg.Tensor([5.0, 6.0])).data, [16.0, 19.0])
    np.testing.assert_array_equal(outer(tg.Tensor([0.0, 1.0])).data, [1.0, 4.0])
    assert inner.traces == 1 and outer.traces == 1


def test_a_compiled_function_inside_a_compiled_step_gives_what_it_gives_outside():
    """Called inside another compiled step, a compiled function still returns detached
    copies (as any call of it does), so compiling the outer step changes nothing: the
    same losses and weights as the outer step run eagerly with the same inner function."""
    def run(compile_outer):
        tg.manual_seed(0)
        lin = nn.Linear(3, 2)
        opt = optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
        forward = tg.compile(lambda x: lin(x))

        def step(x, t):  # only the penalty trains: forward's result is detached
            loss = F.mse_loss(forward(x), t) + 0.01 * (lin.weight ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        f = tg.compile(step) if compile_outer else step
        rng = np.random.default_rng(0)
        losses = [float(f(tg.Tensor(rng.random((2, 3)).astype(np.float32)),
                          tg.zeros(2, 2)).data) for _ in range(6)]
        return losses, lin.weight.data.copy(), lin.bias.data.copy()

    (l1, w1, b1), (l2, w2, b2) = run(False), run(True)
    np.testing.assert_allclose(l2, l1, rtol=1e-6)
    np.testing.assert_allclose(w2, w1, rtol=1e-6)
    np.testing.assert_array_equal(b2, b1)  # no gradient reaches the bias
