"""Training loops: `fit` (autograd, any model, optimizer and scheduler), `fit_book` (the
text's hand rule), `evaluate`, with progress bars, divergence guard and Ctrl-C handling.
Both batch through `utils.data.DataLoader`."""

from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _tensor
from . import jit as _jit
from ._tensor import Tensor
from .autograd import no_grad
from .book import BookNetwork
from .data import one_hot
from .nn.functional import cross_entropy, mse_loss, squared_error
from .nn.module import Module
from .optim import Optimizer
from .optim.lr_scheduler import ReduceLROnPlateau
from .utils.data import DataLoader, TensorDataset

__all__ = ["History", "fit", "fit_book", "evaluate", "predict", "make_loader",
           "learned_nothing", "linear_decay"]

_INTERVALS = ("epoch", "step")


@dataclass
class History:
    """Per-epoch records of a run, and how it ended."""

    loss: list = field(default_factory=list)            # mean loss per sample
    accuracy: list = field(default_factory=list)        # training accuracy (running)
    test_accuracy: list = field(default_factory=list)   # when validation data is given
    learning_rate: list = field(default_factory=list)   # at the end of each epoch
    seconds: float = 0.0
    samples: int = 0
    diverged: bool = False
    interrupted: bool = False
    message: str = ""
    good_epochs: int = 0      # epochs that ended with all weights finite (kept on divergence)
    warning: str = ""         # set when the run learned nothing (see `learned_nothing`)

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0


def linear_decay(start: float, end: float) -> Callable[[float], float]:
    """Learning rate falling linearly from `start` to `end` over the run (progress 0..1),
    for `fit(lr_schedule=...)`; `optim.lr_scheduler.LinearLR` stepped per step is the same
    schedule as a scheduler."""
    return lambda progress: start + (end - start) * progress


def make_loader(data: Any, batch_size: int = 1, shuffle: bool = True,
                seed: Any = 0) -> DataLoader:
    """(X, y) arrays -> a DataLoader over them (shuffled each epoch by a generator seeded
    with `seed`); a DataLoader is returned as it is."""
    if isinstance(data, DataLoader):
        return data
    try:
        X, y = data
    except (TypeError, ValueError):
        raise TypeError(f"fit: data must be a DataLoader or an (inputs, labels) pair, got "
                        f"{type(data).__name__}") from None
    if len(X) != len(y):
        raise ValueError(f"fit: {len(X)} inputs but {len(y)} labels")
    if len(X) == 0:
        raise ValueError("fit: no training samples")
    gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return DataLoader(TensorDataset(np.asarray(X), np.asarray(y)), batch_size=batch_size,
                      shuffle=shuffle, generator=gen)


def predict(model: Any, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class predictions (argmax of the outputs) for the rows of X."""
    if isinstance(model, BookNetwork):
        from .book import sigmoid  # the text's query, on all rows at once

        return np.argmax(sigmoid(sigmoid(X @ model.wih.T) @ model.who.T), axis=1)
    out = []
    with no_grad():
        for i in range(0, len(X), batch_size):
            out.append(np.argmax(model(Tensor(X[i: i + batch_size])).data, axis=1))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def evaluate(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose predicted class equals the label."""
    if len(X) != len(y):
        raise ValueError(f"evaluate: {len(X)} inputs but {len(y)} labels")
    if len(y) == 0:
        raise ValueError("evaluate: no samples")
    return float(np.mean(predict(model, X) == np.asarray(y)))


def _loss_fn(loss: Any, num_classes: int) -> Callable:
    """Name or callable -> f(output Tensor, labels ndarray) -> mean loss per sample."""
    if callable(loss):
        return loss
    # each takes the labels (an ndarray) or the target `_loss_target` made from them
    if loss == "squared_error":  # the text's E = ½Σ(t − o)², averaged over the batch
        def f(out: Tensor, y: Any) -> Tensor:
            t = y if isinstance(y, Tensor) else one_hot(y, num_classes)
            e = squared_error(out, t)
            return e if len(y) == 1 else e * (1.0 / len(y))
        return f
    if loss == "mse":
        return lambda out, y: mse_loss(out, y if isinstance(y, Tensor) else
                                       one_hot(y, num_classes, 0.0, 1.0))
    if loss == "cross_entropy":
        return lambda out, y: cross_entropy(out, y)
    raise ValueError(f"fit: unknown loss {loss!r} (use squared_error, mse, cross_entropy "
                     f"or a function)")


def _loss_target(loss: Any, num_classes: int) -> Callable | None:
    """For a named loss: labels -> the tensor its loss compares with (a one-hot target,
    or the labels), made outside a compiled step so that it is the step's input. None for
    a loss function (which may do anything with the labels): that step runs eagerly."""
    if loss in ("squared_error", "mse"):
        off, on = (0.01, 0.99) if loss == "squared_error" else (0.0, 1.0)
        return lambda y, dtype: Tensor(one_hot(y, num_classes, off, on), dtype=dtype)
    if loss == "cross_entropy":  # the labels themselves, as an int64 tensor
        return lambda y, dtype: _tensor.tensor(np.asarray(y))  # cross_entropy checks them
    return None


def _in_notebook() -> bool:
    """True inside a Jupyter kernel, where stderr is no terminal but bars still show."""
    return "ipykernel" in sys.modules


class _Progress:
    """A tqdm bar per epoch (`tqdm.auto`: a widget in notebooks) when tqdm is installed and
    wanted, showing the epoch's mean loss so far. `enabled=None` means: when stderr is a
    terminal or in a notebook. Without tqdm, `enabled=True` prints one line per epoch at
    its end, and `None` prints nothing (the caller, like the CLI, prints its own line)."""

    def __init__(self, enabled: bool | None, total: int, desc: str) -> None:
        self.asked = enabled is True
        if enabled is None:
            enabled = sys.stderr.isatty() or _in_notebook()
        self.bar = None
        self.desc = desc
        self.enabled = enabled
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=total, desc=desc, unit="samples", unit_scale=True,
                                leave=False, file=sys.stderr, mininterval=0.2)

    def update(self, n: int, mean_loss: float) -> None:
        """`n` more samples done; `mean_loss` is the epoch's mean loss per sample so far."""
        if self.bar is not None:
            self.bar.update(n)
            if self.bar.n == n or self.bar.n % 512 < n:
                self.bar.set_postfix(loss=f"{mean_loss:.4f}", refresh=False)

    def close(self, mean_loss: float | None = None) -> None:
        if self.bar is not None:
            if mean_loss is not None:
                self.bar.set_postfix(loss=f"{mean_loss:.4f}", refresh=False)
            self.bar.close()
        elif self.asked and mean_loss is not None:  # no tqdm, but progress was asked for
            print(f"{self.desc}  loss {mean_loss:.4f}", file=sys.stderr, flush=True)


def _diverged(history: History, epoch: int, why: str) -> None:
    """Mark the run diverged in (0-based) `epoch`; the weights were restored already."""
    kept = (f"the weights of epoch {history.good_epochs}, the last that ended with all "
            f"weights finite" if history.good_epochs else "the initial weights (no epoch "
            "ended with all weights finite)")
    history.diverged = True
    history.message = (f"training diverged in epoch {epoch + 1} ({why}); stopped and kept "
                       f"{kept}; try a smaller learning rate")


def learned_nothing(history: History, labels: np.ndarray | None = None) -> str:
    """Why a finished run learned nothing, or "": its last accuracy (test accuracy when
    there is one) is no better than always answering the most common class of `labels`
    (within two standard errors), or its loss never fell below the first epoch's."""
    if history.diverged or not history.loss:
        return ""
    scores = history.test_accuracy or history.accuracy
    labels = None if labels is None else np.asarray(labels)
    if (labels is not None and labels.ndim == 1 and labels.dtype.kind in "iu"
            and len(labels) and labels.min() >= 0 and scores):
        counts = np.bincount(labels.astype(np.int64))
        chance = counts.max() / len(labels)
        margin = 2 * math.sqrt(chance * (1 - chance) / len(labels))
        if chance + margin < 1 and scores[-1] <= chance + margin:
            return (f"the run learned nothing: accuracy {scores[-1]:.4f} is no better than "
                    f"always answering the most common class ({chance:.4f}); try a smaller "
                    f"learning rate or more epochs")
    if len(history.loss) > 1 and min(history.loss[1:]) >= history.loss[0]:
        return (f"the run learned nothing: the loss never fell below its first epoch's "
                f"({history.loss[0]:.4g}); try a smaller learning rate")
    return ""


def _run(epochs: int, n: int, step: Callable, state: Callable, restore: Callable,
         progress: bool | None, checkpoint: Callable | None,
         validate: Callable | None, lr_now: Callable, loader: Any,
         after_step: Callable = lambda: None,
         after_epoch: Callable = lambda loss: None,
         labels: np.ndarray | None = None) -> History:
    """The epoch loop shared by `fit` and `fit_book`. An epoch counts as good (kept on
    divergence, passed to `checkpoint`) only when it ends with every weight finite;
    `labels` (of the validation or training data) tell what accuracy chance gives."""
    history = History()
    last_good = state()
    t0 = time.perf_counter()
    try:
        for epoch in range(epochs):
            bar = _Progress(progress, n, f"epoch {epoch + 1}/{epochs}")
            loss_sum = correct = seen = 0
            try:
                for xb, yb in loader:
                    yb = yb.data if isinstance(yb, Tensor) else np.asarray(yb)
                    lr = lr_now()
                    loss, pred = step(xb, yb)
                    if not math.isfinite(loss):
                        restore(last_good)
                        _diverged(history, epoch, f"its loss became {loss}")
                        return history
                    loss_sum += loss * len(yb)
                    correct += int(np.sum(pred == yb))
                    seen += len(yb)
                    history.samples += len(yb)
                    bar.update(len(yb), loss_sum / seen)
                    after_step()
            finally:
                bar.close(loss_sum / seen if seen else None)
            if not seen:
                raise ValueError("fit: the data loader gave no batches (drop_last with "
                                 "fewer samples than batch_size?)")
            snapshot = state()
            if not all(np.isfinite(a).all() for a in snapshot):  # a finite loss is not enough
                restore(last_good)
                _diverged(history, epoch, "its last steps made weights inf or nan, although "
                          "its losses were finite")
                return history
            last_good = snapshot
            history.good_epochs = epoch + 1
            history.loss.append(loss_sum / seen)
            after_epoch(history.loss[-1])
            history.accuracy.append(correct / seen)
            history.learning_rate.append(lr)
            if validate is not None:
                history.test_accuracy.append(validate())
            if checkpoint is not None:
                checkpoint(epoch + 1, history)
        history.warning = learned_nothing(history, labels)
    except KeyboardInterrupt:
        history.interrupted = True
        history.message = f"interrupted after {history.samples} samples"
    finally:
        history.seconds = time.perf_counter() - t0
    return history


def _trace_without_stepping(compiled_step: Any, args: tuple, model: Module,
                            optimizer: Any) -> None:
    """Trace a compiled step on `args` and undo what that eager call changed (weights,
    optimizer state, random draws), so the step is then taken by the plan: every step
    of a run is a replay, and a run resumed from a checkpoint repeats the uninterrupted
    run bit for bit (a traced call's SGD update rounds unlike the plan's fused one)."""
    weights = {k: v.copy() for k, v in model.state_dict().items()}
    opt_state = copy.deepcopy(optimizer.state_dict())
    generator = _tensor.generator()
    rng_state = copy.deepcopy(generator.bit_generator.state)
    compiled_step(*args)
    model.load_state_dict(weights)
    optimizer.load_state_dict(opt_state)
    generator.bit_generator.state = rng_state


def fit(model: Module, optimizer: Optimizer, data: Any, epochs: int = 1,
        batch_size: int = 1, loss: Any = "squared_error", lr_schedule: Callable | None = None,
        shuffle: bool = True, seed: Any = 0, validation: tuple | None = None,
        progress: bool | None = None, checkpoint: Callable | None = None,
        num_classes: int = 10, *, scheduler: Any = None,
        scheduler_interval: str = "epoch", compile: bool = True) -> History:  # noqa: A002
    """Train `model` on `data` with `optimizer`; returns a History.

    `data` is a DataLoader yielding (inputs, labels) batches, or an (X, y) pair, batched
    by a DataLoader of `batch_size` that shuffles each epoch (`shuffle`) with a
    generator seeded by `seed`. Each step: forward a batch, `loss` (the text's squared
    error on 0.01/0.99 targets by default), `zero_grad`, `backward`, `step`. A
    `scheduler` (from `optim.lr_scheduler`) is stepped after every epoch, or after every
    optimizer step with `scheduler_interval="step"`; ReduceLROnPlateau is stepped each
    epoch with the epoch's mean training loss. (The older `lr_schedule(progress)`, a
    function of the run's progress 0..1 such as `linear_decay`, still works: it sets every
    group's rate before each step.) A non-finite loss, or an epoch that ends
    with a weight inf or nan, stops the run and restores the weights of the last epoch
    that ended with all weights finite (`history.diverged`, and a RuntimeWarning); a run
    that learned nothing warns too (`history.warning`, see `learned_nothing`). Ctrl-C
    stops it cleanly (`history.interrupted`). `checkpoint(epoch, history)` runs after each
    good epoch. With `compile` (the default) each step of a named loss runs as a compiled
    plan (`tinygrad_nn.compile`: the same numbers, faster); a loss given as a function,
    or `compile=False`, runs eagerly.
    """
    if scheduler_interval not in _INTERVALS:
        raise ValueError(f"fit: scheduler_interval must be one of {_INTERVALS}, got "
                         f"{scheduler_interval!r}")
    _check_run(epochs, batch_size)
    if scheduler is not None and lr_schedule is not None:
        raise ValueError("fit: give a scheduler or an lr_schedule, not both")
    loader = make_loader(data, batch_size, shuffle, seed)
    loss_fn = _loss_fn(loss, num_classes)
    total_steps = epochs * len(loader)
    done = [0]
    params = [p for g in optimizer.param_groups for p in g["params"]]
    plateau = isinstance(scheduler, ReduceLROnPlateau)
    per_step = scheduler is not None and not plateau and scheduler_interval == "step"
    per_epoch = scheduler is not None and not per_step

    def lr_now() -> float:
        """The first group's rate for this step (set first by an `lr_schedule`)."""
        if lr_schedule is not None:
            lr = lr_schedule(done[0] / total_steps)
            for g in optimizer.param_groups:
                g["lr"] = lr
        return optimizer.param_groups[0]["lr"]

    def after_step() -> None:
        done[0] += 1
        if per_step:
            scheduler.step()

    def after_epoch(mean_loss: float) -> None:
        if per_epoch:
            scheduler.step(mean_loss) if plateau else scheduler.step()

    target_fn = _loss_target(loss, num_classes) if compile else None

    def train_step(x: Tensor, target: Any) -> tuple:
        """forward, loss, zero_grad, backward, step: what `compile` traces and replays."""
        out = model(x)
        value = loss_fn(out, target)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        return value, out

    compiled_step = _jit.compile(train_step)
    fused = _jit.fuses_updates(optimizer)  # a replay's SGD update rounds unlike eager's

    def step(xb: Any, yb: np.ndarray) -> tuple:
        x = xb if isinstance(xb, Tensor) else Tensor(np.asarray(xb))
        if x.data.dtype.kind != "f":
            x = Tensor(x.data)  # pixels stored as integers train as float32, as before
        if target_fn is not None:  # the targets are made outside, so they are inputs
            dtype = params[0].data.dtype if params else x.data.dtype
            target = target_fn(np.asarray(yb), dtype)
            if fused and not compiled_step.has_plan(x, target):
                _trace_without_stepping(compiled_step, (x, target), model, optimizer)
            value, out = compiled_step(x, target)
            return float(value.data), np.argmax(out.data, axis=1)
        out = model(x)
        value = loss_fn(out, yb)
        optimizer.zero_grad()
        value.backward()
        loss_value = float(value.data)
        if math.isfinite(loss_value):
            optimizer.step()
        return loss_value, np.argmax(out.data, axis=1)

    def state() -> list:
        return [p.data.copy() for p in params]

    def restore(saved: list) -> None:
        for p, arr in zip(params, saved):
            p.data[...] = arr

    validate = None
    if validation is not None:
        def validate() -> float:
            return evaluate(model, *validation)

    history = _run(epochs, len(loader.dataset), step, state, restore, progress, checkpoint,
                   validate, lr_now, loader, after_step, after_epoch,
                   _labels(validation, loader))
    _warn(history)
    return history


def fit_book(network: BookNetwork, data: Any, epochs: int = 1, shuffle: bool = True,
             seed: Any = 0, validation: tuple | None = None, progress: bool | None = None,
             checkpoint: Callable | None = None,
             augment: Callable[[np.ndarray], list] | None = None) -> History:
    """Train the text's `BookNetwork` with its own hand rule, one sample per step (`data`:
    an (X, y) pair or a DataLoader with batch_size 1).

    `augment(x)` returns extra inputs (the text's rotated copies) trained right after each
    sample with its target; the loss and accuracy count the original sample only."""
    _check_run(epochs, 1)
    loader = make_loader(data, 1, shuffle, seed)
    if loader.batch_size != 1:
        raise ValueError(f"fit_book: the text's rule trains one sample per step; the data "
                         f"loader has batch_size {loader.batch_size}")
    on, off = 0.99, 0.01

    def step(xb: Any, yb: np.ndarray) -> tuple:
        t = np.full(network.onodes, off)
        t[yb[0]] = on
        x = xb.data if isinstance(xb, Tensor) else np.asarray(xb)
        error, outputs = network._train(x[0], t)  # outputs from before the update
        if augment is not None:
            for extra in augment(x[0]):
                network._train(extra, t)
        return error, int(np.argmax(outputs))

    def state() -> list:
        return [network.wih.copy(), network.who.copy()]

    def restore(saved: list) -> None:
        network.wih[...], network.who[...] = saved

    validate = None
    if validation is not None:
        def validate() -> float:
            return evaluate(network, *validation)

    history = _run(epochs, len(loader.dataset), step, state, restore, progress, checkpoint,
                   validate, lambda: network.lr, loader, labels=_labels(validation, loader))
    _warn(history)
    return history


def _labels(validation: tuple | None, loader: Any) -> np.ndarray | None:
    """The labels the last accuracy is measured on: the validation data's, else the
    training data's (when the loader holds a TensorDataset of (X, y))."""
    if validation is not None:
        return np.asarray(validation[1])
    tensors = getattr(loader.dataset, "tensors", None)
    if tensors is not None and len(tensors) == 2:
        y = tensors[1]
        return np.asarray(y.data if isinstance(y, Tensor) else y)
    return None


def _warn(history: History) -> None:
    """Say it when a run diverged or learned nothing: a wrong result must not be silent."""
    text = history.message if history.diverged else history.warning
    if text:
        warnings.warn(text, RuntimeWarning, stacklevel=3)


def _check_run(epochs: int, batch_size: int) -> None:
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"fit: batch_size must be >= 1, got {batch_size}")
