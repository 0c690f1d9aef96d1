"""More replays that once differed from eager silently (a second review): a value read
only through a view deferred as if only results needed it, Python reading class
targets or .data after the optimizer's step, a scheduler stepped inside the step; class
and binary targets, which are now checked and used by ops."""

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import CompileError, nn, optim
from tinygrad_nn.nn import functional as F
from tinygrad_nn.optim import lr_scheduler


def make():
    tg.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    return m, optim.SGD(m.parameters(), lr=0.1)


def test_a_value_read_through_a_flatten_is_computed_in_its_call():
    def step_for(m, opt):
        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(m(x / 255.0), y)  # x/255 is read only by Flatten's view
            loss.backward()
            opt.step()
            return loss
        return step

    (me, oe), (mc, oc) = make(), make()
    eager, comp = step_for(me, oe), tg.compile(step_for(mc, oc))
    rng = np.random.default_rng(0)
    for _ in range(6):
        x = rng.integers(0, 256, (8, 2, 2)).astype(np.float32)
        y = rng.standard_normal((8, 3)).astype(np.float32)
        le, lc = eager(tg.tensor(x), tg.tensor(y)), comp(tg.tensor(x), tg.tensor(y))
        np.testing.assert_allclose(lc.data, le.data, rtol=1e-6)
    np.testing.assert_allclose(mc[1].weight.data, me[1].weight.data, rtol=1e-6)


def test_a_stack_of_a_computed_value_is_the_calls_own():
    f = tg.compile(lambda x: tg.stack([x, x * 2]))
    for k in range(4):
        x = tg.Tensor(np.arange(4, dtype=np.float32) + 10 * k)
        np.testing.assert_array_equal(f(x).data, tg.stack([x, x * 2]).data)


def classifier_step(loss):
    """A 5-to-4 linear classifier's SGD step on `loss(logits, y)`."""
    tg.manual_seed(0)
    m = nn.Linear(5, 4)
    opt = optim.SGD(m.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        e = loss(m(x), y)
        e.backward()
        opt.step()
        return e
    return step


LOSSES = {
    "cross_entropy": F.cross_entropy,
    "cross_entropy_sum": lambda z, y: F.cross_entropy(z, y, reduction="sum"),
    "cross_entropy_weighted_ignore": lambda z, y: F.cross_entropy(
        z, y, weight=np.array([1.0, 2.0, 0.5, 3.0], np.float32), ignore_index=1),
    "cross_entropy_smoothed": lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1),
    "cross_entropy_smoothed_weighted_ignore": lambda z, y: F.cross_entropy(
        z, y, weight=np.array([1.0, 2.0, 0.5, 3.0], np.float32), ignore_index=0,
        label_smoothing=0.2),
    "cross_entropy_none": lambda z, y: F.cross_entropy(z, y, reduction="none").sum(),
    "nll_loss": lambda z, y: F.nll_loss(F.log_softmax(z, dim=1), y),
    "nll_loss_ignore": lambda z, y: F.nll_loss(F.log_softmax(z, dim=1), y, ignore_index=2),
    "one_hot": lambda z, y: -(F.log_softmax(z, dim=1) * F.one_hot(y, 4)).sum(axis=1).mean(),
}


@pytest.mark.parametrize("as_tensor", [True, False], ids=["tensor", "ndarray"])
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_class_target_losses_replay_each_calls_targets(loss, as_tensor):
    """The targets are checked and used by ops (ClassIndices, NLLLoss, OneHot), so a plan
    replays every call's labels; these once baked in the trace's labels, then were refused."""
    eager, comp = classifier_step(LOSSES[loss]), tg.compile(classifier_step(LOSSES[loss]))
    rng = np.random.default_rng(1)
    for _ in range(12):
        x = rng.standard_normal((6, 5)).astype(np.float32)
        y = rng.integers(0, 4, 6)
        wrap = tg.tensor if as_tensor else (lambda a: a)
        le, lc = eager(tg.tensor(x), wrap(y)), comp(tg.tensor(x), wrap(y))
        np.testing.assert_allclose(lc.data, le.data, rtol=1e-6)
    assert comp.traces == 1


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "one_hot"])
def test_a_replay_checks_its_targets(loss):
    comp = tg.compile(classifier_step(LOSSES[loss]))
    x = tg.tensor(np.ones((6, 5), np.float32))
    comp(x, tg.tensor(np.zeros(6, np.int64)))
    for bad in (4, -1):
        with pytest.raises(F.TargetOutOfRange, match="out of|must be in"):
            comp(x, tg.tensor(np.full(6, bad, np.int64)))


def test_one_hot_without_num_classes_is_refused():
    """Its shape would depend on the values of the targets."""
    c = tg.compile(classifier_step(lambda z, y: (z * F.one_hot(y)).sum()))
    with pytest.raises(CompileError, match="one_hot without num_classes"):
        c(tg.tensor(np.ones((6, 5), np.float32)), tg.tensor(np.full(6, 3, np.int64)))


def test_indexing_log_probabilities_by_targets_replays():
    def run(compiled):
        step = classifier_step(lambda z, y: -F.log_softmax(z, dim=1)[np.arange(6), y].mean())
        f = tg.compile(step) if compiled else step
        x = tg.Tensor(np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32))
        return [float(f(x, tg.tensor(np.full(6, i % 4, dtype=np.int64))).data)
                for i in range(5)]
    np.testing.assert_allclose(run(True), run(False), rtol=1e-6)


def test_reading_data_after_the_step_is_refused():
    tg.manual_seed(0)
    m = nn.Linear(5, 3)
    opt = optim.SGD(m.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        out = m(x)
        loss = F.mse_loss(out, y)
        loss.backward()
        opt.step()
        return loss, float((out.data.argmax(1) == y.data.argmax(1)).mean())

    with pytest.raises(CompileError, match=r"\.data"):
        tg.compile(step)(tg.Tensor(np.ones((8, 5), np.float32)),
                         tg.Tensor(np.eye(8, 3, dtype=np.float32)))


def test_a_scheduler_stepped_inside_the_step_is_refused():
    tg.manual_seed(0)
    m = nn.Linear(2, 1)
    opt = optim.SGD(m.parameters(), lr=0.1)
    sched = lr_scheduler.StepLR(opt, 1, 0.5)

    def step(x):
        opt.zero_grad()
        loss = (m(x) ** 2).sum()
        loss.backward()
        opt.step()
        sched.step()
        return loss

    with pytest.raises(CompileError, match="StepLR.step"):
        tg.compile(step)(tg.Tensor(np.ones((1, 2), np.float32)))
    assert opt.param_groups[0]["lr"] == 0.1  # refused before it changed anything


def test_indexing_by_a_mask_of_the_steps_values_is_refused():
    f = tg.compile(lambda x: x[x > 0].sum())
    with pytest.raises(CompileError, match="boolean mask"):
        f(tg.Tensor([1.0, -2.0, 3.0]))
    g = tg.compile(lambda x, m: x[m] * 2)
    with pytest.raises(CompileError, match="boolean mask"):
        g(tg.Tensor([1.0, -2.0, 3.0]), tg.tensor([True, False, True]))
    h = tg.compile(lambda x: tg.where(x > 0, x, 0).sum())  # the replayable form
    for v in ([1.0, -2.0, 3.0], [-1.0, 2.0, 5.0]):
        assert float(h(tg.Tensor(v)).data) == sum(a for a in v if a > 0)


BINARY = {
    "bce": lambda z, y: F.binary_cross_entropy(z.sigmoid(), y),
    "bce_weighted_sum": lambda z, y: F.binary_cross_entropy(
        z.sigmoid(), y, weight=np.array([1.0, 2.0, 0.5, 3.0], np.float32), reduction="sum"),
    "bce_with_logits": F.binary_cross_entropy_with_logits,
    "bce_with_logits_pos_weight": lambda z, y: F.binary_cross_entropy_with_logits(
        z, y, pos_weight=np.array([2.0, 1.0, 0.5, 3.0], np.float32)),
}


@pytest.mark.parametrize("loss", sorted(BINARY))
def test_binary_targets_replay_each_calls_targets(loss):
    """Tensor targets of the BCE losses enter their ops (they were read as .data and
    refused)."""
    eager, comp = classifier_step(BINARY[loss]), tg.compile(classifier_step(BINARY[loss]))
    rng = np.random.default_rng(2)
    for _ in range(12):
        x = rng.standard_normal((6, 5)).astype(np.float32)
        y = rng.uniform(0, 1, (6, 4)).astype(np.float32)
        le, lc = eager(tg.tensor(x), tg.tensor(y)), comp(tg.tensor(x), tg.tensor(y))
        np.testing.assert_allclose(lc.data, le.data, rtol=1e-6)
    assert comp.traces == 1


def test_a_replay_checks_binary_cross_entropys_input_range():
    step = classifier_step(lambda z, y: F.binary_cross_entropy(z.sigmoid() * y, y))
    comp_step = tg.compile(step)
    x = tg.tensor(np.ones((6, 5), np.float32))
    comp_step(x, tg.tensor(np.ones((6, 4), np.float32)))
    with pytest.raises(RuntimeError, match="between 0 and 1"):  # a step: at the call
        comp_step(x, tg.tensor(np.full((6, 4), 3.0, np.float32)))
    comp = tg.compile(lambda p, y: F.binary_cross_entropy(p, y))
    y = tg.tensor(np.ones(3, np.float32))
    comp(tg.tensor(np.full(3, 0.5, np.float32)), y)
    with pytest.raises(RuntimeError, match="between 0 and 1"):  # when the value is made
        comp(tg.tensor(np.array([0.5, 1.5, 0.2], np.float32)), y).numpy()


@pytest.mark.parametrize("logits", [False, True])
def test_binary_cross_entropys_target_gradient_is_torchs(logits):
    torch = pytest.importorskip("torch")
    x0 = np.array([0.3, 0.6, 0.9, 0.05])
    t0 = np.array([0.0, 1.0, 0.25, 0.7])
    f = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
    tf = (torch.nn.functional.binary_cross_entropy_with_logits if logits else
          torch.nn.functional.binary_cross_entropy)
    x, t = tg.tensor(x0, requires_grad=True), tg.tensor(t0, requires_grad=True)
    f(x, t).backward()
    tx, tt = torch.tensor(x0, requires_grad=True), torch.tensor(t0, requires_grad=True)
    tf(tx, tt).backward()
    np.testing.assert_allclose(t.grad.data, tt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)
