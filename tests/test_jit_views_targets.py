"""More replays that once differed from eager silently (a second review): a value read
only through a view deferred as if only results needed it, Python reading class
targets or .data after the optimizer's step, a scheduler stepped inside the step; class
and binary targets, which are now checked and used by ops."""

import warnings

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


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_spatial_class_losses_on_permuted_logits_replay(loss):
    """(N, C, d1, d2) logits made by an element-wise op on a permuted view are laid out
    permuted; the loss's transpose+reshape of them is a view in eager but was a copy on
    the plan's C-ordered buffers, made once: later calls read the first call's values
    (or uninitialised memory; losses like 2.4e7). Buffers now keep the trace's layout,
    and a view that would be a copy is refused."""
    def make():
        tg.manual_seed(0)
        m = nn.Linear(5, 4)
        b = tg.tensor(np.zeros((1, 4, 1, 1), np.float32), requires_grad=True)
        opt = optim.SGD([*m.parameters(), b], lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            z = m(x).permute(0, 3, 1, 2) + b
            e = (F.cross_entropy(z, y) if loss == "cross_entropy" else
                 F.nll_loss(F.log_softmax(z, dim=1), y))
            e.backward()
            opt.step()
            return e
        return m, step
    (me, se), (mc, sc) = make(), make()
    sc = tg.compile(sc)
    rng = np.random.default_rng(0)
    for _ in range(8):
        x = tg.tensor(rng.standard_normal((2, 3, 3, 5)).astype(np.float32))
        y = tg.tensor(rng.integers(0, 4, (2, 3, 3)))
        np.testing.assert_allclose(sc(x, y).numpy(), se(x, y).numpy(), rtol=1e-6)
    np.testing.assert_allclose(mc.weight.data, me.weight.data, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_a_class_weight_argument_of_another_dtype_is_cast_each_call(as_tensor):
    """A float64 weight for float32 logits was cast by NumPy, outside the ops, so the
    plan kept the first call's weight."""
    tg.manual_seed(0)
    m = nn.Linear(5, 4)
    f = tg.compile(lambda x, y, w: F.cross_entropy(m(x), y, weight=w, label_smoothing=0.1))
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = tg.tensor(rng.standard_normal((6, 5)).astype(np.float32))
        y = tg.tensor(rng.integers(0, 4, 6))
        w = rng.uniform(0.5, 2.0, 4)
        w = tg.tensor(w) if as_tensor else w
        np.testing.assert_allclose(f(x, y, w).numpy(),
                                   F.cross_entropy(m(x), y, weight=w, label_smoothing=0.1).numpy(),
                                   rtol=1e-6)


def test_every_target_ignored_gives_no_gradient_as_torch():
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(1).standard_normal((3, 4))
    x = tg.tensor(x0, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the NaN loss of nothing counted
        F.cross_entropy(x, np.array([1, 1, 1]), ignore_index=1).backward()
    tx = torch.tensor(x0, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor([1, 1, 1]), ignore_index=1).backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("compiled", [True, False])
def test_fit_refuses_fractional_class_labels(compiled):
    from tinygrad_nn.train import fit
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (16, 8)).astype(np.float32)
    y = rng.integers(0, 3, 16).astype(np.float64)
    y[3] = 1.5
    tg.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 3))
    with pytest.raises(TypeError, match="cross_entropy: target must hold integer"):
        fit(m, optim.SGD(m.parameters(), lr=0.1), (X, y), epochs=1, batch_size=4,
            loss="cross_entropy", num_classes=3, progress=False, compile=compiled)


WEIGHTED = {
    "bce": lambda x, t, w: F.binary_cross_entropy(x.sigmoid(), t, weight=w),
    "bce_logits": lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, weight=w),
    "bce_logits_pos_weight": lambda x, t, w: F.binary_cross_entropy_with_logits(
        x, t, pos_weight=w),
    "mse_mean": lambda x, t, w: F.mse_loss(x, t, weight=w.reshape(1, 3) * np.ones((6, 1),
                                                                       np.float32)),
    "l1_mean": lambda x, t, w: F.l1_loss(x, t, weight=w.reshape(1, 3) * np.ones((6, 1),
                                                                      np.float32)),
}


@pytest.mark.parametrize("kind", ["ndarray32", "ndarray64", "tensor32"])
@pytest.mark.parametrize("loss", sorted(WEIGHTED))
def test_loss_weights_given_as_arguments_are_each_calls(loss, kind):
    """Weights were used through NumPy (broadcast_to, w.sum(), w − 1), outside the ops, so
    a plan kept the first call's (losses off by up to 0.5)."""
    f = WEIGHTED[loss]
    c = tg.compile(f)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = tg.tensor(rng.standard_normal((6, 3)).astype(np.float32))
        t = tg.tensor(rng.uniform(0, 1, (6, 3)).astype(np.float32))
        w = rng.uniform(0.1, 3.0, 3)
        w = tg.tensor(w.astype(np.float32)) if kind == "tensor32" else \
            w.astype(np.float32 if kind == "ndarray32" else np.float64)
        if kind != "tensor32" and loss.startswith(("mse", "l1")):
            w = tg.tensor(w)  # reshape needs a tensor; the values still change per call
        np.testing.assert_allclose(c(x, t, w).numpy(), f(x, t, w).numpy(), rtol=1e-6)
