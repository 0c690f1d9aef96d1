"""fit/evaluate: loss goes down, divergence keeps the last good weights, Ctrl-C is clean."""

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import Tensor, nn, optim
from tinygrad_nn.book import BookNetwork
from tinygrad_nn.optim import lr_scheduler
from tinygrad_nn.train import evaluate, fit, fit_book, linear_decay


def blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = (rng.normal(size=(n, 4)) * 0.3 + np.eye(3, 4)[y]).astype(np.float32)
    return X, y


def small_model():
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 3), nn.Sigmoid())


@pytest.mark.parametrize("loss, batch", [("squared_error", 1), ("squared_error", 16),
                                         ("mse", 8), ("cross_entropy", 8)])
def test_fit_lowers_the_loss(loss, batch):
    X, y = blobs()
    model = small_model()
    h = fit(model, optim.SGD(model.parameters(), lr=1.0), (X, y), epochs=8, batch_size=batch,
            loss=loss, num_classes=3, progress=False, validation=(X, y))
    assert h.loss[-1] < h.loss[0]
    assert len(h.loss) == len(h.accuracy) == len(h.test_accuracy) == 8
    assert h.test_accuracy[-1] > 0.7 and h.samples == 8 * 200 and h.samples_per_second > 0
    assert evaluate(model, X, y) == pytest.approx(h.test_accuracy[-1])


def test_scheduler_stepped_per_step_sets_the_learning_rate():
    X, y = blobs(50)
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=1.0)
    sched = lr_scheduler.LinearLR(opt, 1.0, 0.1, total_iters=100)
    h = fit(model, opt, (X, y), epochs=2, scheduler=sched, scheduler_interval="step",
            num_classes=3, progress=False)
    # the lr used by each epoch's last step: 1 − 0.9·49/100, then 1 − 0.9·99/100
    np.testing.assert_allclose(h.learning_rate, [1 - 0.9 * 0.49, 1 - 0.9 * 0.99], rtol=1e-12)
    assert sched.last_epoch == 100
    np.testing.assert_allclose(opt.param_groups[0]["lr"], 0.1, rtol=1e-12)


def test_linear_decay_schedule_sets_the_learning_rate():
    X, y = blobs(50)
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=1.0)
    h = fit(model, opt, (X, y), epochs=2, lr_schedule=linear_decay(1.0, 0.1), num_classes=3,
            progress=False)
    assert h.learning_rate[0] > h.learning_rate[1] > 0.1
    assert opt.param_groups[0]["lr"] == h.learning_rate[-1]


def test_linear_lr_per_step_is_the_linear_decay_schedule():
    X, y = blobs(40)
    runs = []
    for use_scheduler in (False, True):
        model = small_model()
        opt = optim.SGD(model.parameters(), lr=1.0)
        if use_scheduler:
            sched = lr_scheduler.LinearLR(opt, 1.0, 0.05, total_iters=3 * 40)
            h = fit(model, opt, (X, y), epochs=3, scheduler=sched, scheduler_interval="step",
                    num_classes=3, progress=False)
        else:
            h = fit(model, opt, (X, y), epochs=3, lr_schedule=linear_decay(1.0, 0.05),
                    num_classes=3, progress=False)
        runs.append((h.learning_rate, [p.data.copy() for p in model.parameters()]))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-13)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    with pytest.raises(ValueError, match="not both"):
        fit(small_model(), opt, (X, y), scheduler=sched, lr_schedule=linear_decay(1, 0))


def test_scheduler_stepped_per_epoch_and_plateau():
    X, y = blobs(40)
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=1.0)
    h = fit(model, opt, (X, y), epochs=3, scheduler=lr_scheduler.StepLR(opt, 1, gamma=0.5),
            num_classes=3, progress=False)
    assert h.learning_rate == [1.0, 0.5, 0.25] and opt.param_groups[0]["lr"] == 0.125
    plateau = lr_scheduler.ReduceLROnPlateau(opt, patience=0, threshold=10.0)
    fit(model, opt, (X, y), epochs=2, scheduler=plateau, num_classes=3, progress=False)
    assert plateau.last_epoch == 2 and opt.param_groups[0]["lr"] < 0.125
    with pytest.raises(ValueError, match="scheduler_interval"):
        fit(model, opt, (X, y), scheduler=plateau, scheduler_interval="batch")


def test_fit_takes_a_data_loader_and_keeps_the_old_shuffling():
    from tinygrad_nn.utils.data import DataLoader, TensorDataset

    X, y = blobs(30)
    runs = []
    for data in [(X, y), DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True,
                                    generator=np.random.default_rng(7))]:
        model = small_model()
        fit(model, optim.SGD(model.parameters(), lr=0.5), data, epochs=2, batch_size=4,
            seed=7, num_classes=3, progress=False)
        runs.append([p.data.copy() for p in model.parameters()])
    # by hand: the order of each epoch is default_rng(seed).permutation(n), as before
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=0.5)
    rng = np.random.default_rng(7)
    for _ in range(2):
        order = rng.permutation(30)
        for i in range(0, 30, 4):
            rows = order[i:i + 4]
            opt.zero_grad()
            tg.nn.functional.squared_error(model(Tensor(X[rows])),
                                           tg.data.one_hot(y[rows], 3)).__mul__(
                1.0 / len(rows)).backward()
            opt.step()
    for a, b, c in zip(runs[0], runs[1], model.parameters()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c.data)


def test_divergence_stops_and_restores_last_good_epoch():
    X, y = blobs(60)
    model = small_model()
    saved = []

    def checkpoint(epoch, history):
        saved.append([p.data.copy() for p in model.parameters()])

    calls = {"n": 0}

    def poisoned(out, labels):  # finite for 2 epochs of 60 steps, then NaN
        calls["n"] += 1
        loss = ((out - 0.5) ** 2).mean()
        return loss * float("nan") if calls["n"] > 130 else loss

    with pytest.warns(RuntimeWarning, match="diverged"):
        h = fit(model, optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=5,
                loss=poisoned, progress=False, checkpoint=checkpoint)
    assert h.diverged and "diverged in epoch 3" in h.message and len(saved) == 2
    for p, good in zip(model.parameters(), saved[-1]):
        np.testing.assert_array_equal(p.data, good)
        assert np.all(np.isfinite(p.data))


def test_keyboard_interrupt_stops_cleanly():
    X, y = blobs(40)
    model = small_model()
    calls = {"n": 0}

    def interrupting(out, labels):
        calls["n"] += 1
        if calls["n"] == 50:
            raise KeyboardInterrupt
        return ((out - 0.5) ** 2).mean()

    h = fit(model, optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=3,
            loss=interrupting, progress=False)
    assert h.interrupted and h.samples == 49 and len(h.loss) == 1


def test_fit_book_learns():
    X, y = blobs(300)
    net = BookNetwork(4, 8, 3, 0.3, rng=0)
    h = fit_book(net, (X, y), epochs=5, progress=False, validation=(X, y))
    assert h.test_accuracy[-1] > 0.8 and h.accuracy[-1] > h.accuracy[0] - 0.05


def test_bad_arguments():
    X, y = blobs(10)
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, opt, (X, y), epochs=0)
    with pytest.raises(ValueError, match="10 inputs but 9 labels"):
        fit(model, opt, (X, y[:9]))
    with pytest.raises(ValueError, match="unknown loss"):
        fit(model, opt, (X, y), loss="hinge")


def test_evaluate_counts_correct_rows():
    model = nn.Sequential(nn.Linear(2, 2, bias=False))
    model[0].weight.data[...] = np.eye(2)
    assert evaluate(model, np.array([[1, 0], [0, 1], [1, 0]], np.float32),
                    np.array([0, 1, 1])) == pytest.approx(2 / 3)
    assert isinstance(model(Tensor([[1.0, 0.0]])), Tensor)


def test_divergence_is_checked_on_the_weights_not_only_the_loss():
    """The last step of an epoch can make the weights inf while every loss was finite:
    that epoch is not good, and the run keeps the weights from before it."""
    X, y = blobs(60)
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    real_step = opt.step
    calls = {"n": 0}

    def poisoning_step():  # epoch 2's last step (one batch per epoch) blows a weight up
        calls["n"] += 1
        real_step()
        if calls["n"] == 2:
            model[0].weight.data[0, 0] = np.inf

    opt.step = poisoning_step
    saved = []
    with pytest.warns(RuntimeWarning, match="diverged in epoch 2"):
        h = fit(model, opt, (X, y), epochs=4, batch_size=60, num_classes=3, progress=False,
                checkpoint=lambda e, hist: saved.append([p.data.copy()
                                                         for p in model.parameters()]))
    assert h.diverged and h.good_epochs == 1 and len(saved) == 1 and len(h.loss) == 1
    assert "inf or nan" in h.message and "epoch 1" in h.message
    for p, good in zip(model.parameters(), saved[0]):
        np.testing.assert_array_equal(p.data, good)


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_divergence_in_the_first_epoch_keeps_the_initial_weights():
    X, y = blobs(50)
    model = small_model()
    start = [p.data.copy() for p in model.parameters()]
    with pytest.warns(RuntimeWarning, match="initial weights"):
        h = fit(model, optim.SGD(model.parameters(), lr=1e300), (X, y), epochs=2,
                batch_size=50, num_classes=3, progress=False)
    assert h.diverged and h.good_epochs == 0
    for p, s in zip(model.parameters(), start):
        np.testing.assert_array_equal(p.data, s)


def test_book_rule_divergence_is_checked_on_the_weights():
    X, y = blobs(40)
    net = BookNetwork(4, 8, 3, 0.1, rng=0)
    real_train, calls = net._train, {"n": 0}

    def poisoning_train(x, t):  # the last step of epoch 2 makes a weight inf
        calls["n"] += 1
        out = real_train(x, t)
        if calls["n"] == 80:
            net.who[0, 0] = np.inf
        return out

    net._train = poisoning_train
    saved = []
    with pytest.warns(RuntimeWarning, match="diverged in epoch 2"):
        h = fit_book(net, (X, y), epochs=3, progress=False,
                     checkpoint=lambda e, hist: saved.append(net.who.copy()))
    assert h.diverged and h.good_epochs == 1 and np.array_equal(net.who, saved[0])


def test_a_run_that_learns_nothing_warns():
    X, y = blobs(200)
    model = small_model()
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="learned nothing"):
        h = fit(model, optim.SGD(model.parameters(), lr=1e6), (X, y), epochs=3,
                num_classes=3, progress=False, validation=(X, y))
    assert not h.diverged and "learned nothing" in h.warning


def test_learned_nothing_rules():
    from tinygrad_nn.train import History, learned_nothing

    labels = np.repeat(np.arange(10), 40)
    assert "no better than" in learned_nothing(History(loss=[1.0, 0.5], accuracy=[0.1, 0.11],
                                                       test_accuracy=[0.1, 0.12]), labels)
    assert "never fell" in learned_nothing(History(loss=[1.0, 1.0, 1.2], accuracy=[.5] * 3),
                                           labels)
    assert learned_nothing(History(loss=[1.0, 0.5], accuracy=[0.5, 0.9]), labels) == ""
    # one class only: chance is 1.0, nothing can be told from the accuracy
    assert learned_nothing(History(loss=[1.0], accuracy=[1.0]), np.zeros(20, np.int64)) == ""


def test_a_good_run_does_not_warn(recwarn):
    X, y = blobs()
    model = small_model()
    h = fit(model, optim.SGD(model.parameters(), lr=1.0), (X, y), epochs=3, num_classes=3,
            progress=False, validation=(X, y))
    assert h.warning == "" and not [w for w in recwarn if issubclass(w.category,
                                                                     RuntimeWarning)]


class FakeBar:
    instances = []

    def __init__(self, **kw):
        self.kw, self.n, self.postfix, self.closed = kw, 0, [], False
        FakeBar.instances.append(self)

    def update(self, n):
        self.n += n

    def set_postfix(self, **kw):
        self.postfix.append(kw)

    def close(self):
        self.closed = True


@pytest.mark.filterwarnings("ignore:the run learned nothing")
def test_progress_bar_uses_tqdm_auto_and_shows_the_mean_loss(monkeypatch):
    tqdm_auto = pytest.importorskip("tqdm.auto")
    monkeypatch.setattr(tqdm_auto, "tqdm", lambda **kw: FakeBar(**kw))
    FakeBar.instances.clear()
    X, y = blobs(8)
    model = small_model()
    losses = []

    def recorded(out, labels):
        loss = ((out - 0.5) ** 2).mean()
        losses.append(loss.item())
        return loss

    h = fit(model, optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=1, loss=recorded,
            progress=True)
    bar = FakeBar.instances[0]
    assert bar.closed and bar.n == 8 and bar.kw["desc"] == "epoch 1/1"
    assert float(bar.postfix[0]["loss"]) == pytest.approx(losses[0], abs=1e-4)
    assert float(bar.postfix[-1]["loss"]) == pytest.approx(np.mean(losses), abs=1e-4)
    assert float(bar.postfix[-1]["loss"]) == pytest.approx(h.loss[0], abs=1e-4)


def test_progress_shows_in_a_notebook(monkeypatch):
    import sys

    from tinygrad_nn.train import _Progress

    tqdm_auto = pytest.importorskip("tqdm.auto")
    monkeypatch.setattr(tqdm_auto, "tqdm", lambda **kw: FakeBar(**kw))
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    assert _Progress(None, 10, "epoch 1/1").bar is not None


@pytest.mark.filterwarnings("ignore:the run learned nothing")
def test_without_tqdm_one_line_per_epoch_only_when_asked(monkeypatch, capsys):
    import builtins

    from tinygrad_nn.train import _Progress

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    X, y = blobs(20)
    model = small_model()
    fit(model, optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=2, num_classes=3)
    assert capsys.readouterr().err == ""  # auto: the caller prints its own epoch lines
    bar = _Progress(True, 10, "epoch 1/2")
    bar.close(0.25)
    assert capsys.readouterr().err == "epoch 1/2  loss 0.2500\n"
