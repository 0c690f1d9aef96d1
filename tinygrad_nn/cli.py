"""The `tinygrad-nn` command: train the text's network on digits, evaluate a saved model,
draw its graph, explain the text's rule against autograd, and run it backwards.

Every failure is one line on stderr and exit status 2 (divergence: status 1).
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import signal
import sys
import tempfile
import warnings

import numpy as np

from . import __version__, _cli_start
from . import data as D
from . import images as I
from ._tensor import Tensor, manual_seed
from .autograd import ShapeError
from .book import BookNetwork
from .image_files import image_format, write_gray
from .nn import Linear, Sequential, Sigmoid
from .nn.functional import squared_error
from .optim import SGD
from .optim.lr_scheduler import LinearLR
from .serialize import atomic_write, load, remove_stale_temp_files, save
from .train import History, evaluate, fit, fit_book, predict
from .utils.data import DataLoader, TensorDataset

MODEL_FORMAT = "tinygrad-nn model 1"
DEFAULT_LR = {"autograd": 1.0, "book": 0.1}
LR_END_FRACTION = 0.05  # the autograd rule's learning rate decays linearly to 5% of its start
DEFAULTS = dict(hidden=100, batch_size=1, seed=0)
# epochs: the 1,438 bundled digits need more passes than a file of MNIST images
DEFAULT_EPOCHS = {"digits": 50, "path": 5}


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Show a flag's default unless it is None or the help text already explains it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or "default" in text or action.default is False:
            return text
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _whole(text: str, least: int) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < least:
        bound = "0 or more" if least == 0 else f"at least {least}"
        raise argparse.ArgumentTypeError(f"must be {bound}, got {v}")
    return v


def _positive_int(text: str) -> int:
    return _whole(text, 1)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def _count(text: str) -> int:
    return _whole(text, 0)


_seed = _count  # a seed is a whole number >= 0


def _augment(text: str) -> tuple:
    kind, _, value = text.partition("=")
    if kind != "rotate" or not value:
        raise argparse.ArgumentTypeError(f"expected rotate=DEG, got {text!r}")
    try:
        degrees = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"rotate=DEG: {value!r} is not a number") from None
    if not math.isfinite(degrees) or degrees == 0:
        raise argparse.ArgumentTypeError(f"rotate=DEG: needs a non-zero angle, got {value}")
    return kind, degrees


def _digit(text: str) -> int:
    if text not in list("0123456789"):
        raise argparse.ArgumentTypeError(f"expected a digit 0-9, got {text!r}")
    return int(text)


# ----------------------------------------------------------------------------- data


def load_data(spec: str, test_spec: str | None, dtype: type = np.float32) -> tuple:
    """`digits` or a PATH (+ optional test PATH) -> (X_train, y_train, X_test, y_test), X
    scaled the text's way (x/max·0.99 + 0.01; with float64, the text's own arithmetic)."""
    if spec == "digits":
        if test_spec is not None:
            raise CliError("--test-data goes with --data PATH, not with the bundled digits")
        Xtr, ytr, Xte, yte = D.load_digits()
        return (D.book_scale(Xtr, 1.0, dtype), ytr, D.book_scale(Xte, 1.0, dtype), yte)
    X, y = D.load_mnist(spec)
    if test_spec is None:
        if len(X) < 2:
            raise CliError(f"{spec}: {len(X)} sample: too few to hold out the last 20% for "
                           f"testing; give more rows, or --test-data")
        Xtr, ytr, Xte, yte = D.split_last(X, y, 0.2, source=spec)
    else:
        Xtr, ytr = X, y
        Xte, yte = D.load_mnist(test_spec)
        if Xte.shape[1] != Xtr.shape[1]:
            raise CliError(f"{test_spec}: {Xte.shape[1]} pixels per image, but {spec} has "
                           f"{Xtr.shape[1]}")
    return D.book_scale(Xtr, 255, dtype), ytr, D.book_scale(Xte, 255, dtype), yte


# ----------------------------------------------------------------------------- model files


def text_network(inputs: int, hidden: int, outputs: int = 10, dtype: type = np.float32
                 ) -> Sequential:
    """The text's network: sigmoid layers, no biases, weights by the text's init rule."""
    return Sequential(Linear(inputs, hidden, bias=False, dtype=dtype), Sigmoid(),
                      Linear(hidden, outputs, bias=False, dtype=dtype), Sigmoid())


# what a model file holds beside the weights and "__meta__" when written by `train --save`
RUN_STATE = ("optimizer", "scheduler", "generator", "epoch")


def save_model(model: Sequential, path: str, meta: dict, run: dict | None = None) -> None:
    """The weights under their names, the architecture as JSON in "__meta__", and (from
    `train`) the run's state for `--resume`: optimizer, scheduler, shuffling generator
    and the number of finished epochs."""
    sd = dict(model.state_dict())
    sd["__meta__"] = json.dumps({"format": MODEL_FORMAT, **meta})
    sd.update(run or {})
    save(sd, path)


def load_model(path: str) -> tuple:
    """A model file -> (Sequential with its weights, meta dict)."""
    model, meta, _ = load_run(path)
    return model, meta


def load_run(path: str) -> tuple:
    """A model file -> (Sequential with its weights, meta dict, run state dict; empty for
    files without one)."""
    sd = load(path)
    if not isinstance(sd, dict):
        raise CliError(f"{path}: not a tinygrad-nn model file (no architecture record)")
    run = {k: sd.pop(k) for k in RUN_STATE if k in sd}
    raw = sd.pop("__meta__", None)
    try:
        meta = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise CliError(f"{path}: not a tinygrad-nn model file (no architecture record)")
    _check_weights(sd, meta, path)
    try:
        inputs, hidden, outputs = (int(n) for n in meta["layers"])
        model = text_network(inputs, hidden, outputs, np.dtype(meta.get("dtype", "float32")))
        model.load_state_dict(sd)
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        raise CliError(f"{path}: model file does not match its architecture record: "
                       f"{e}") from None
    return model, meta, run


def _check_weights(sd: dict, meta: dict, path: str) -> None:
    """Before anything is built from a model file: its layer sizes, the weights' shapes
    and dtypes agree, and every weight is finite (a wrong answer must not be silent)."""
    layers = meta.get("layers")
    if (not isinstance(layers, list) or len(layers) != 3
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                       for n in layers)):
        raise CliError(f"{path}: model file has a bad architecture record (layers "
                       f"{layers!r}; expected three positive whole numbers)")
    inputs, hidden, outputs = layers
    want = {"0.weight": (hidden, inputs), "2.weight": (outputs, hidden)}
    for key, shape in want.items():
        arr = sd.get(key)
        if not isinstance(arr, np.ndarray):
            raise CliError(f"{path}: model file has no {key!r} array (keys: "
                           f"{', '.join(map(repr, sd)) or 'none'})")
        if arr.shape != shape:
            raise CliError(f"{path}: {key!r} has shape {arr.shape}, but the architecture "
                           f"record {inputs}-{hidden}-{outputs} needs {shape}")
        if arr.dtype.kind not in "fiu":
            raise CliError(f"{path}: {key!r} holds {arr.dtype} values, not real numbers")
        if not np.isfinite(arr).all():
            raise CliError(f"{path}: {key!r} holds inf or nan weights (from a run that "
                           f"diverged?); it cannot predict anything")


def _check_inputs(model: Sequential, X: np.ndarray, what: str) -> None:
    n = model[0].in_features
    if X.shape[1] != n:
        raise CliError(f"{what}: images have {X.shape[1]} pixels, the model expects {n}")


# ----------------------------------------------------------------------------- train


def _resume(args: argparse.Namespace) -> tuple:
    """`--resume FILE`: the saved model, its run state, and the run's settings copied into
    `args` (hidden size, rule, learning rate, batch size, seed, planned epochs)."""
    model, meta, run = load_run(args.resume)
    if "epoch" not in run:
        raise CliError(f"{args.resume}: holds no run state to resume (written by an older "
                       f"tinygrad-nn, or not by train --save)")
    settings = meta.get("run", {})
    _check_run_record(settings, meta.get("rule", args.rule), run, args.resume)
    args.hidden = int(meta["layers"][1])
    args.rule = meta.get("rule", args.rule)
    for key in ("lr", "batch_size", "seed", "exact", "augment"):
        if key in settings:
            setattr(args, key, settings[key])
    if args.epochs is None:
        args.epochs = settings.get("epochs")
    return model, run


def _check_run_record(settings: object, rule: object, run: dict, path: str) -> None:
    """A resumed run's settings are what `train --save` writes (a forged or damaged
    record is refused by name, not met later as a wrong type)."""
    def whole(v: object, least: int) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= least

    checks = {"lr": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
              and math.isfinite(v) and v > 0,
              "batch_size": lambda v: whole(v, 1), "seed": lambda v: whole(v, 0),
              "epochs": lambda v: whole(v, 1)}
    bad = [] if isinstance(settings, dict) else ["run"]
    if not bad:
        bad = [k for k, ok in checks.items() if k in settings and not ok(settings[k])]
    if rule not in ("autograd", "book"):
        bad.append("rule")
    if not whole(run.get("epoch"), 0):
        bad.append("epoch")
    if bad:
        raise CliError(f"{path}: damaged run record ({', '.join(bad)}); it cannot be resumed")


def cmd_train(args: argparse.Namespace) -> int:
    model = run = None
    if args.resume:
        model, run = _resume(args)
    if args.exact and args.rule != "book":
        raise CliError("--exact runs the text's own training loop: it goes with --rule book")
    manual_seed(args.seed)
    dtype = np.float64 if args.exact else np.float32
    Xtr, ytr, Xte, yte = load_data(args.data, args.test_data, dtype)
    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS["digits" if args.data == "digits" else "path"]
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.rule]
    save_existed = bool(args.save) and os.path.exists(args.save)
    if model is None:
        _check_memory(Xtr.shape[1], args.hidden, min(args.batch_size, len(Xtr)), len(Xte))
        model = text_network(Xtr.shape[1], args.hidden, dtype=dtype)
    _check_inputs(model, Xtr, args.data)
    done = int(run["epoch"]) if run else 0
    if done >= args.epochs:
        raise CliError(f"{args.resume}: the run already has {done} of {args.epochs} epochs; "
                       f"ask for more with --epochs N")
    meta = {"layers": [Xtr.shape[1], args.hidden, 10], "activation": "sigmoid",
            "bias": False, "rule": args.rule, "data": args.data,
            "run": {"lr": lr, "batch_size": args.batch_size, "seed": args.seed,
                    "epochs": args.epochs}}
    if args.exact:
        meta.update(dtype="float64", exact=True)
        meta["run"]["exact"] = True
    rotate = None
    Xfit, yfit = Xtr, ytr
    if args.augment is not None:
        rotate = float(args.augment[1])
        side = I.side_of(Xtr.shape[1], f"--augment rotate: {args.data}")
        meta["augment"] = f"rotate={rotate:g}"
        meta["run"]["augment"] = ["rotate", rotate]
        if args.rule == "autograd":  # the rotated copies right after each image
            Xfit, yfit = _with_rotations(Xtr, ytr, rotate, side)
    # the run's shuffling: one generator for all epochs, saved with each checkpoint
    gen = np.random.default_rng(args.seed)
    if run and "generator" in run:
        gen.bit_generator.state = run["generator"]
    loader = DataLoader(TensorDataset(Xfit, yfit), batch_size=args.batch_size,
                        shuffle=not args.exact, generator=gen)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(f"training the text's network {Xtr.shape[1]}-{args.hidden}-10 (sigmoid, no biases) "
        f"on {len(Xtr)} samples, testing on {len(Xte)}; rule={args.rule}, lr={lr:g}"
        + (f"→{lr * LR_END_FRACTION:g} (linear decay)" if args.rule == "autograd" else "")
        + f", batch size {args.batch_size}, {args.epochs} epoch{'s' if args.epochs > 1 else ''}"
        + (f"; each image also rotated by ±{rotate:g}°" if rotate is not None else "")
        + ("; the text's loop as written: records in file order, float64, fixed learning "
           f"rate, weights as numpy.random.seed({args.seed}) draws them" if args.exact else "")
        + (f"; resuming after epoch {done} from {args.resume}" if done else ""))
    opt = sched = None

    def run_state(epoch: int) -> dict:
        state = {"epoch": epoch, "generator": gen.bit_generator.state}
        if opt is not None:
            state.update(optimizer=opt.state_dict(), scheduler=sched.state_dict())
        return state

    def checkpoint(epoch: int, history: History) -> None:
        last = history
        epoch += done
        say(f"epoch {epoch}/{args.epochs}  loss {last.loss[-1]:.4f}  "
            f"train accuracy {last.accuracy[-1]:.4f}  test accuracy "
            f"{last.test_accuracy[-1]:.4f}")
        if args.save:
            if args.rule == "book":
                model.load_state_dict({"0.weight": book.wih, "2.weight": book.who})
            save_model(model, args.save, meta, run_state(epoch))

    progress = False if args.quiet else None
    book = None
    if args.rule == "book":
        if args.batch_size != 1:  # from a resumed run's settings (the flag is checked first)
            raise CliError("--rule book trains one sample per step, as the text does: "
                           "leave out --batch-size")
        if args.exact:
            book = BookNetwork(Xtr.shape[1], args.hidden, 10, lr, seed=args.seed)
        else:
            book = BookNetwork(Xtr.shape[1], args.hidden, 10, lr, rng=args.seed,
                               dtype=np.float32)
        if run:
            book.wih[...], book.who[...] = model[0].weight.data, model[2].weight.data
    else:
        # the default schedule: lr falls linearly to 5% of its start over the run's steps
        opt = SGD(model.parameters(), lr=lr)
        sched = LinearLR(opt, start_factor=1.0, end_factor=LR_END_FRACTION,
                         total_iters=args.epochs * len(loader))
        if run and "optimizer" in run:
            opt.load_state_dict(run["optimizer"])
            sched.load_state_dict(run["scheduler"])
    # a diverging run, or one that learned nothing, is reported below in one line
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if book is not None:
            augment = None if rotate is None else (
                lambda x: I.rotated_copies(x, rotate, side))
            history = fit_book(book, loader, args.epochs - done, validation=(Xte, yte),
                               progress=progress, checkpoint=checkpoint, augment=augment)
            model.load_state_dict({"0.weight": book.wih, "2.weight": book.who})
        else:
            history = fit(model, opt, loader, args.epochs - done, args.batch_size,
                          scheduler=sched, scheduler_interval="step",
                          validation=(Xte, yte), progress=progress, checkpoint=checkpoint,
                          compile=not args.no_compile)
    if history.diverged:
        print(f"tinygrad-nn: {history.message}"
              f"{_kept(args.save, history, save_existed, done)}", file=sys.stderr)
        return 1
    if history.interrupted:
        if not _finite(model):  # stopped mid-epoch while the weights were blowing up
            print(f"tinygrad-nn: {history.message}; the weights had become inf or nan, so "
                  f"nothing more was saved{_kept(args.save, history, save_existed, done)}",
                  file=sys.stderr)
            return 130
        if args.save:
            save_model(model, args.save, meta, run_state(done + len(history.loss)))
        print(f"tinygrad-nn: {history.message}"
              + (f"; saved what was trained to {args.save}" if args.save else ""),
              file=sys.stderr)
    say(f"{history.samples_per_second:,.0f} samples/s over {history.seconds:.1f} s")
    predicted = predict(model, Xte) if args.graph or args.plot else None
    if args.graph:
        right = np.flatnonzero(predicted == yte)
        i = int(right[0]) if right.size else 0  # a sample the model gets right, if any
        _draw(model, Xte[i: i + 1], yte[i: i + 1], args.graph)
        say(f"wrote {args.graph}: one step on test sample {i} (label {yte[i]}, predicted "
            f"{predicted[i]})")
    if args.plot:
        _plot(history, yte, predicted, args.plot)
        say(f"wrote {args.plot}")
    if history.warning and not history.interrupted:
        print(f"tinygrad-nn: warning: {history.warning}", file=sys.stderr)
    if args.exact:  # the text's test loop: query each record, compare argmax with the label
        accuracy = book_accuracy(book, Xte, yte)
    else:
        accuracy = evaluate(model, Xte, yte)
    print(f"test accuracy: {accuracy:.4f}")
    return 130 if history.interrupted else 0


def _finite(model: Sequential) -> bool:
    return all(np.isfinite(p.data).all() for p in model.parameters())


def _kept(save: str | None, history: History, existed: bool, done: int = 0) -> str:
    """What the --save file holds after a run that stopped early (`done`: epochs of a
    resumed run before this one)."""
    if not save:
        return ""
    if history.good_epochs:
        return f"; {save} holds epoch {done + history.good_epochs}"
    return f"; {save} was not written" + (" (it keeps what it held before)" if existed else "")


def book_accuracy(net: BookNetwork, X: np.ndarray, y: np.ndarray) -> float:
    """The text's scorecard: the fraction of records whose `query` argmax is the label."""
    scorecard = [int(np.argmax(net.query(x))) == int(label) for x, label in zip(X, y)]
    return float(np.sum(scorecard) / len(scorecard))


def _with_rotations(X: np.ndarray, y: np.ndarray, degrees: float, side: int) -> tuple:
    """Each image followed by its copies turned by ±degrees (the text's extra examples)."""
    out = np.empty((3 * len(X), X.shape[1]), X.dtype)
    out[0::3] = X
    for i, x in enumerate(X):
        out[3 * i + 1], out[3 * i + 2] = I.rotated_copies(x, degrees, side)
    return out, np.repeat(y, 3)


def cmd_evaluate(args: argparse.Namespace) -> int:
    model, _ = load_model(args.model)
    _, _, Xte, yte = load_data(args.data, args.test_data)
    _check_inputs(model, Xte, args.data)
    print(f"test accuracy: {evaluate(model, Xte, yte):.4f}")
    return 0


# ----------------------------------------------------------------------------- graph


def _draw(model: Sequential, x: np.ndarray, y: np.ndarray, path: str) -> None:
    from .viz import draw_graph  # only when drawing

    image, target = Tensor(x), Tensor(D.one_hot(y))
    loss = squared_error(model(image), target)
    loss.backward()  # so the weights show their gradient's norm
    draw_graph(loss, path, model=model, params={"image": image, "target": target})


def cmd_graph(args: argparse.Namespace) -> int:
    Xtr, ytr, _, _ = load_data(args.data, None)
    if args.model:
        model, _ = load_model(args.model)
        _check_inputs(model, Xtr, args.data)
    else:
        _check_memory(Xtr.shape[1], args.hidden, 1, 0)
        manual_seed(args.seed)
        model = text_network(Xtr.shape[1], args.hidden)
    _draw(model, Xtr[:1], ytr[:1], args.output)
    print(f"wrote {args.output}: one step on training sample 0 (label {ytr[0]})")
    return 0


# ----------------------------------------------------------------------------- explain


def cmd_explain(args: argparse.Namespace) -> int:
    if args.during_training:
        return cmd_explain_during_training(args)
    if args.epochs is not None or args.points is not None or args.probe is not None:
        raise CliError("--epochs, --points and --probe go with --during-training")
    Xtr, ytr, _, _ = load_data(args.data, None)
    if not 0 <= args.index < len(Xtr):
        raise CliError(f"--index must be in 0..{len(Xtr) - 1}, got {args.index}")
    if args.model:
        model, _ = load_model(args.model)
        _check_inputs(model, Xtr, args.data)
        hidden = model[0].out_features
    else:
        _check_memory(Xtr.shape[1], args.hidden, 1, 0, copies=12)  # float64 twins
        manual_seed(args.seed)
        hidden = args.hidden
        model = text_network(Xtr.shape[1], hidden)
    w_ih = model[0].weight.data.astype(np.float64)
    w_ho = model[2].weight.data.astype(np.float64)
    x, label = Xtr[args.index].astype(np.float64), int(ytr[args.index])
    t = D.one_hot(np.array([label])).astype(np.float64)[0]
    lr = args.lr

    book = BookNetwork(len(x), hidden, 10, lr)
    book.wih, book.who = w_ih.copy(), w_ho.copy()
    book.train(x, t)
    book_d = {"output": book.who - w_ho, "hidden": book.wih - w_ih}

    twin = Sequential(Linear(len(x), hidden, bias=False, dtype=np.float64), Sigmoid(),
                      Linear(hidden, 10, bias=False, dtype=np.float64), Sigmoid())
    twin.load_state_dict({"0.weight": w_ih, "2.weight": w_ho})
    out = twin(Tensor(x[None, :]))
    err = squared_error(out, t[None, :])
    err.backward()
    SGD(twin.parameters(), lr=lr).step()
    auto_d = {"output": twin[2].weight.data - w_ho, "hidden": twin[0].weight.data - w_ih}
    norms = [np.linalg.norm(d) for d in (*book_d.values(), *auto_d.values())]
    if not np.isfinite(norms).all():
        raise CliError(f"--lr {lr:g}: the step's weight changes overflow (inf or nan); use a "
                       f"smaller learning rate")

    o = out.data[0]
    print(f"one step of the text's network {len(x)}-{hidden}-10 on sample {args.index} "
          f"(label {label}), learning rate {lr:g}, error E = ½Σ(t−o)² = {err.item():.5f}")
    print(f"output slopes o·(1−o): min {np.min(o * (1 - o)):.4f}, max {np.max(o * (1 - o)):.4f}")
    print(f"{'layer':<22}{'text rule ‖ΔW‖':>16}{'autograd ‖ΔW‖':>16}{'max |diff|':>13}"
          f"{'ratio':>9}")
    for name, shape in (("output", w_ho.shape), ("hidden", w_ih.shape)):
        b, a = book_d[name], auto_d[name]
        ratio = np.linalg.norm(b) / max(np.linalg.norm(a), 1e-300)
        print(f"{name + f' {shape[0]}×{shape[1]}':<22}{np.linalg.norm(b):>16.6g}"
              f"{np.linalg.norm(a):>16.6g}{np.max(np.abs(b - a)):>13.3g}{ratio:>9.3f}")
    for name in ("output", "hidden"):
        b, a = book_d[name].reshape(-1)[:3], auto_d[name].reshape(-1)[:3]
        print(f"  first {name} weights: text {np.array2string(b, precision=6)}  "
              f"autograd {np.array2string(a, precision=6)}")
    print("Why: the output layer matches because the text's rule is exactly the gradient "
          "step of E = ½Σ(t−o)²; the hidden layer differs because the text sends back the "
          "raw errors Wᵀ·e, while the true gradient sends back Wᵀ·(e·o·(1−o)), which "
          "includes the output sigmoid's slope.")
    return 0


# ------------------------------------------------------------------- explain, during training


def cmd_explain_during_training(args: argparse.Namespace) -> int:
    """Train with the text's rule (or autograd) and, at points along the way, compare one
    step of the text's rule with one gradient step on the same probe samples."""
    if args.plot:
        _need_matplotlib()
    Xtr, ytr, _, _ = load_data(args.data, None, np.float64)
    probe = min(100 if args.probe is None else args.probe, len(Xtr))
    epochs = 5 if args.epochs is None else args.epochs
    points = 10 if args.points is None else args.points
    n_in = Xtr.shape[1]
    if args.model:  # start from trained weights
        model, _ = load_model(args.model)
        _check_inputs(model, Xtr, args.data)
        hidden = model[0].out_features
        net = BookNetwork(n_in, hidden, 10, args.lr, seed=0)
        net.wih = model[0].weight.data.astype(np.float64)
        net.who = model[2].weight.data.astype(np.float64)
    else:
        hidden = args.hidden
        net = BookNetwork(n_in, hidden, 10, args.lr, seed=args.seed)
    twin = Sequential(Linear(n_in, hidden, bias=False, dtype=np.float64), Sigmoid(),
                      Linear(hidden, 10, bias=False, dtype=np.float64), Sigmoid())
    targets = D.one_hot(ytr).astype(np.float64)
    targets[targets > 0.5], targets[targets < 0.5] = 0.99, 0.01  # exact, as the text's
    total = epochs * len(Xtr)
    marks = sorted({round(total * k / points) for k in range(points + 1)})
    rows = []

    def measure(seen: int) -> None:
        twin.load_state_dict({"0.weight": net.wih, "2.weight": net.who})
        ratio, cosine = {"hidden": [], "output": []}, {"hidden": [], "output": []}
        for x, t in zip(Xtr[:probe], targets[:probe]):
            d_who, d_wih, _, _ = net.updates(x, t)
            twin.zero_grad()
            squared_error(twin(Tensor(x[None, :])), t[None, :]).backward()
            for name, book_step, param in (("hidden", d_wih, twin[0].weight),
                                           ("output", d_who, twin[2].weight)):
                grad_step = -args.lr * param.grad.data
                nb, ng = np.linalg.norm(book_step), np.linalg.norm(grad_step)
                ratio[name].append(nb / max(ng, 1e-300))
                cosine[name].append(float(np.sum(book_step * grad_step)) / max(nb * ng, 1e-300))
        rows.append((seen, {k: np.array(v) for k, v in ratio.items()},
                     {k: np.array(v) for k, v in cosine.items()}))

    opt = SGD(twin.parameters(), lr=args.lr) if args.rule == "autograd" else None
    seen = 0
    with np.errstate(all="ignore"):
        measure(0)
        for _ in range(epochs):
            for x, t in zip(Xtr, targets):
                if opt is None:
                    net.train(x, t)
                else:  # the gradient trains; the text's rule is only measured
                    twin.load_state_dict({"0.weight": net.wih, "2.weight": net.who})
                    opt.zero_grad()
                    squared_error(twin(Tensor(x[None, :])), t[None, :]).backward()
                    opt.step()
                    net.wih, net.who = (twin[0].weight.data.copy(), twin[2].weight.data.copy())
                seen += 1
                if seen in marks[1:]:
                    measure(seen)
    start = f"from {args.model}" if args.model else f"seed {args.seed}"
    if epochs == 0:
        what = f"on the weights of {args.model}" if args.model else f"on fresh weights ({start})"
        what = f"the text's rule against the gradient {what}, {n_in}-{hidden}-10, lr {args.lr:g}"
    else:
        what = (f"the text's rule against the gradient as "
                f"{'the text' if opt is None else 'autograd'}'s rule trains {n_in}-{hidden}-10 "
                f"on {len(Xtr)} samples ({args.data}), lr {args.lr:g}, {epochs} "
                f"epoch{'' if epochs == 1 else 's'}, {start}")
    print(f"{what}; each row: one step from the weights at that point on each of the first "
          f"{probe} training samples, ‖text step‖/‖gradient step‖ and their cosine")
    print(f"{'samples':>9}  {'hidden ratio':>12} {'(min':>7} {'max)':>8}  {'cosine':>7} "
          f"{'(min)':>7}   {'output ratio':>12} {'cosine':>7}")
    for seen, ratio, cosine in rows:
        h, hc = ratio["hidden"], cosine["hidden"]
        print(f"{seen:>9}  {np.median(h):>12.3g} {np.min(h):>7.3g} {np.max(h):>8.3g}  "
              f"{np.median(hc):>7.3f} {np.min(hc):>7.3f}   {np.median(ratio['output']):>12.3f} "
              f"{np.median(cosine['output']):>7.3f}")
    print("Why: the output layer's step is the gradient's (ratio 1, cosine 1); the hidden "
          "layer's lacks the output slopes o·(1−o), which start near 0.25 (so about 4×) and "
          "shrink towards 0 as the outputs approach their targets 0.01/0.99, so the text's "
          "step grows against the gradient's and turns away from it.")
    if args.plot:
        _plot_drift(rows, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _plot_drift(rows: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seen = np.array([r[0] for r in rows])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    h = [r[1]["hidden"] for r in rows]
    a1.fill_between(seen, [np.min(v) for v in h], [np.max(v) for v in h], alpha=0.25,
                    label="min–max over the probe samples")
    a1.plot(seen, [np.median(v) for v in h], marker="o", label="hidden layer, median")
    a1.plot(seen, [np.median(r[1]["output"]) for r in rows], marker=".",
            label="output layer, median")
    a1.set(yscale="log", title="‖text rule's step‖ / ‖gradient step‖",
           xlabel="samples trained")
    a1.legend()
    c = [r[2]["hidden"] for r in rows]
    a2.fill_between(seen, [np.min(v) for v in c], [np.max(v) for v in c], alpha=0.25)
    a2.plot(seen, [np.median(v) for v in c], marker="o", label="hidden layer, median")
    a2.plot(seen, [np.median(r[2]["output"]) for r in rows], marker=".",
            label="output layer, median")
    a2.set(title="cosine between the two steps", xlabel="samples trained", ylim=(-1.05, 1.05))
    a2.legend()
    fig.tight_layout()
    fmt = image_format(path, "--plot")
    try:
        atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=100), "--plot")
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- predict


def cmd_predict(args: argparse.Namespace) -> int:
    model, _ = load_model(args.model)
    w_ih, w_ho = model[0].weight.data, model[2].weight.data
    net = BookNetwork(w_ih.shape[1], w_ih.shape[0], w_ho.shape[0], 0.1, seed=0)
    net.wih, net.who = w_ih.astype(np.float64), w_ho.astype(np.float64)
    side = I.side_of(net.inodes, args.model)
    seen = []
    for path in args.images:
        try:
            grey = I.read_grey(path, None if args.fit else side)
            if args.fit:
                grey = I.fit_digit(grey, side, invert=not args.no_invert)
        except ImportError as e:
            raise CliError(str(e)) from None
        except I.ImageError as e:
            raise CliError(f"{path}: {e}") from None
        inputs = I.book_inputs(grey, invert=not args.no_invert)
        outputs = net.query(inputs)[:, 0]  # the text's query, one column
        print(f"{path}: {int(np.argmax(outputs))}   outputs "
              + " ".join(f"{v:.4f}" for v in outputs))
        seen.append(I.to_picture(inputs, side))
    if args.show:
        gap = np.full((side, 1), 128, np.uint8)
        strip = np.concatenate([p for img in seen for p in (img, gap)][:-1], axis=1)
        write_gray(args.show, I.upscale(strip, 8 * side if side >= 28 else 28 * side,
                                        smooth=False), op="predict --show")
        print(f"wrote {args.show}: what the network saw ({side}x{side} inputs each, dark = ink)")
    return 0


# ----------------------------------------------------------------------------- backquery


def cmd_backquery(args: argparse.Namespace) -> int:
    model, _ = load_model(args.model)
    w_ih, w_ho = model[0].weight.data, model[2].weight.data
    net = BookNetwork(w_ih.shape[1], w_ih.shape[0], w_ho.shape[0], 0.1, seed=0)
    net.wih, net.who = w_ih.astype(np.float64), w_ho.astype(np.float64)
    target = np.full(w_ho.shape[0], 0.01)
    target[args.label] = 0.99
    pixels = net.backquery(target)[:, 0]
    if not np.isfinite(pixels).all():
        raise CliError(f"{args.model}: running this network backwards gives inf or nan "
                       f"(its weights are too large)")
    side = I.side_of(len(pixels), args.model)
    coarse = side < 28  # fewer pixels than MNIST's: the bundled 8x8 digits
    size = args.size if args.size is not None else (224 if coarse else side)
    smooth = coarse if args.smooth is None else args.smooth
    if smooth:  # the few extreme inputs would turn everything else mid-grey
        lo, hi = np.percentile(pixels, [5, 95])
        pixels = np.clip((pixels - lo) / max(hi - lo, 1e-12), 0, 1) * 0.98 + 0.01
    img = I.to_picture(pixels, side)
    if size != side:
        img = I.upscale(img, size, smooth)
    write_gray(args.output, img, op="backquery")  # in the format of its suffix
    print(f"wrote {args.output}: what the network imagines a {args.label} looks like "
          f"({side}x{side} inputs" + (f", drawn {img.shape[0]}x{img.shape[1]}" if size != side
                                      else "") + ", dark = ink)")
    if coarse:
        drawn = ("smoothed, with its middle 90% of values stretched to full contrast"
                 if smooth else "in blocks")
        print(f"note: the network sees {side}x{side} pixels, so this is all it can imagine; "
              f"it is drawn {drawn}. Inputs that are blank in every training image (the "
              f"border of the 8x8 digits) keep their random initial weights and show as "
              f"noise; a model trained on MNIST gives clearer digits.")
    return 0


# ----------------------------------------------------------------------------- plots


def _need_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CliError("--plot needs matplotlib: pip install 'tinygrad-nn[plot]'") from None


# ----------------------------------------------------------------------------- checks first


def _check_folder(path: str, flag: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CliError(f"{flag} {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise CliError(f"{flag} {path}: is a folder; give a file name")
    try:
        max_name = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        max_name = 255
    if len(os.fsencode(os.path.basename(path))) > max_name:
        raise CliError(f"{flag} {path}: the file name is longer than {max_name} bytes")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise CliError(f"{flag} {path}: the file is read-only")
    try:  # a read-only file system, no permission, no free inode: found now, not at the end
        fd, probe = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", suffix="-probe",
                                     dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise CliError(f"{flag} {path}: cannot write in folder {folder}: "
                       f"{e.strerror or e}") from None


def _check_model_out(path: str, flag: str) -> None:
    if os.path.splitext(path)[1].lower() != ".npz":
        raise CliError(f"{flag} {path}: model files are .npz archives; give a name ending "
                       f"in .npz")
    _check_folder(path, flag)


def _check_graph_out(path: str, flag: str) -> None:
    from .viz import DotNotFoundError, check_output

    _check_folder(path, flag)
    try:
        check_output(path)
    except (ValueError, DotNotFoundError) as e:
        raise CliError(f"{flag}: {str(e).removeprefix('draw_graph: ')}") from None


def _check_plot_out(path: str, flag: str) -> None:
    _need_matplotlib()
    try:
        image_format(path, flag)
    except ValueError as e:
        raise CliError(str(e)) from None
    _check_folder(path, flag)


def _check_image_out(path: str, flag: str) -> None:
    try:
        image_format(path, flag)
    except ValueError as e:
        raise CliError(str(e)) from None
    _check_folder(path, flag)


# Files a command writes: (argument, flag, check). All are checked before any work, so a
# run is never lost to a bad output name at its end.
OUTPUTS = {
    "train": (("save", "--save", _check_model_out), ("graph", "--graph", _check_graph_out),
              ("plot", "--plot", _check_plot_out)),
    "graph": (("output", "-o/--output", _check_graph_out),),
    "backquery": (("output", "-o/--output", _check_image_out),),
    "explain": (("plot", "--plot", _check_plot_out),),
    "predict": (("show", "--show", _check_image_out),),
}
# Files a command reads (an output may not overwrite one of them).
INPUTS = (("data", "--data"), ("test_data", "--test-data"), ("resume", "--resume"))


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def preflight(args: argparse.Namespace) -> None:
    """The checks that need no data and no training, made before either."""
    written = []
    for dest, flag, check in OUTPUTS.get(args.command, ()):
        path = getattr(args, dest, None)
        if path is None:
            continue
        if not path:
            raise CliError(f"{flag}: empty file name")
        check(path, flag)
        remove_stale_temp_files(path)  # left by an earlier run that was killed mid-save
        for other_flag, other in written:
            if _same_file(path, other):
                raise CliError(f"{flag} {path}: the same file as {other_flag}")
        written.append((flag, path))
    for dest, flag in INPUTS:
        path = getattr(args, dest, None)
        if path in (None, "digits"):
            continue
        for out_flag, out in written:
            if dest == "resume" and out_flag == "--save":
                continue  # saving over the file a run resumes from is how one continues it
            if _same_file(path, out):
                raise CliError(f"{out_flag} {out}: would overwrite the {flag} file")
    if getattr(args, "test_data", None) is not None and getattr(args, "data", None) == "digits":
        raise CliError("--test-data goes with --data PATH, not with the bundled digits")
    if (args.command == "train" and args.rule == "book"
            and args.batch_size != DEFAULTS["batch_size"]):
        raise CliError("--rule book trains one sample per step, as the text does: "
                       "leave out --batch-size")


def _available_memory() -> int | None:
    """Bytes this process may still allocate: MemAvailable, capped by a cgroup limit."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
        if limit != "max":
            avail = min(avail, int(limit) - used) if avail is not None else int(limit) - used
    except (OSError, ValueError):
        pass
    return avail


def _check_memory(inputs: int, hidden: int, batch: int, n_test: int,
                  copies: int = 6) -> None:
    """Refuse, naming --hidden, a network too big for this machine's free memory, before
    allocating it (float32: weights, gradients, kept copies; activations of a batch)."""
    weights = inputs * hidden + hidden * 10
    need = 4 * (copies * weights + 6 * batch * (hidden + 10) + 2 * min(n_test, 1024) *
                (hidden + 10))
    avail = _available_memory()
    if avail is not None and need > avail:
        raise CliError(f"--hidden {hidden}: the network {inputs}-{hidden}-10 needs about "
                       f"{need / 1e9:.1f} GB, more than the {max(avail, 0) / 1e9:.1f} GB "
                       f"free here")


def _plot(history: History, y_true: np.ndarray, y_pred: np.ndarray, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 4))
    epochs = np.arange(1, len(history.loss) + 1)
    a1.plot(epochs, history.loss, marker="o")
    a1.set(title="loss per sample", xlabel="epoch")
    a2.plot(epochs, history.accuracy, marker="o", label="train (running)")
    a2.plot(epochs, history.test_accuracy, marker="o", label="test")
    a2.set(title="accuracy", xlabel="epoch")
    a2.legend()
    cm = np.zeros((10, 10), int)
    np.add.at(cm, (y_true, y_pred), 1)
    a3.imshow(cm, cmap="Blues")
    for i in range(10):
        for j in range(10):
            if cm[i, j]:
                a3.text(j, i, cm[i, j], ha="center", va="center", fontsize=7,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    a3.set(title="confusion matrix (test)", xlabel="predicted", ylabel="true",
           xticks=range(10), yticks=range(10))
    fig.tight_layout()
    fmt = image_format(path, "--plot")
    try:
        atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=100), "--plot")
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tinygrad-nn", description="Train and inspect the text's neural network.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def data_args(sp: argparse.ArgumentParser, test: bool = True) -> None:
        sp.add_argument("--data", default="digits", metavar="digits|PATH",
                        help="the bundled 8x8 digits (default), or an MNIST CSV/IDX file or "
                             "folder (without --test-data, its last 20%% is the test part)")
        if test:
            sp.add_argument("--test-data", metavar="PATH", help="a separate test file")

    t = sub.add_parser("train", help="train the text's network and print its test accuracy",
                       formatter_class=_Help)
    data_args(t)
    t.add_argument("--hidden", type=_positive_int, default=DEFAULTS["hidden"],
                   help="hidden nodes")
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: 1.0 decaying linearly to 0.05 for "
                        "--rule autograd, the best measured; 0.1 for --rule book, the text's)")
    t.add_argument("--epochs", type=_positive_int, default=None,
                   help="passes over the training data (default: 50 for the bundled digits, "
                        "5 for a PATH, as the text does for MNIST)")
    t.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"],
                   help="samples per step (the text uses 1)")
    t.add_argument("--rule", choices=("autograd", "book"), default="autograd",
                   help="exact gradients, or the text's hand rule (BookNetwork)")
    t.add_argument("--no-compile", action="store_true",
                   help="run each autograd step eagerly instead of as a compiled plan "
                        "(tinygrad_nn.compile: the same numbers, faster)")
    t.add_argument("--seed", type=_seed, default=DEFAULTS["seed"],
                   help="seeds the weights and the shuffling (0 or more)")
    t.add_argument("--save", metavar="FILE", help="save the model (architecture + weights) "
                   "and the run's state (optimizer, schedule, shuffling) to a .npz file; "
                   "written after every epoch whose weights are all finite, so a diverged "
                   "run keeps the last good one")
    t.add_argument("--resume", metavar="FILE", help="continue the run saved in FILE (by "
                   "--save) where it stopped, with its settings; --epochs N sets the total")
    t.add_argument("--graph", metavar="FILE", help="draw the computation graph of one step on "
                   "a test sample the model gets right (.png/.svg/.pdf need Graphviz's dot; "
                   ".svg also the [svg] extra; .dot needs nothing)")
    t.add_argument("--plot", metavar="FILE", help="loss/accuracy curves and confusion matrix "
                   "(.png/.svg/.pdf, needs matplotlib)")
    t.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")
    t.add_argument("--exact", action="store_true",
                   help="with --rule book: the text's training loop as written (records in "
                        "file order, float64, fixed learning rate, initial weights as "
                        "numpy.random.seed(SEED) draws them), so the accuracy equals the "
                        "text's code's to the last digit")
    t.add_argument("--augment", type=_augment, metavar="rotate=DEG",
                   help="also train on each image turned by +DEG and -DEG degrees, right "
                        "after it (the text uses rotate=10)")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="print the test accuracy of a saved model",
                       formatter_class=_Help)
    e.add_argument("--model", required=True, metavar="FILE",
                   help="a model file written by train --save")
    data_args(e)
    e.set_defaults(func=cmd_evaluate)

    g = sub.add_parser("graph", help="draw the network's computation graph for one sample",
                       formatter_class=_Help,
                       description="Draw the computation graph of one training step of the "
                                   "text's network on training sample 0, after backward() "
                                   "(weights show their gradient's norm).")
    g.add_argument("--model", metavar="FILE", help="a saved model (default: a fresh one)")
    g.add_argument("--hidden", type=_positive_int, default=DEFAULTS["hidden"],
                   help="hidden nodes of the fresh network")
    g.add_argument("--seed", type=_seed, default=0, help="seeds the fresh network's weights")
    g.add_argument("-o", "--output", default="graph.png", metavar="FILE",
                   help="image file (.png/.svg/.pdf need Graphviz's dot; .svg also the [svg] "
                        "extra; .dot needs nothing)")
    data_args(g, test=False)
    g.set_defaults(func=cmd_graph)

    x = sub.add_parser("explain", help="one step of the text's hand rule next to autograd's",
                       formatter_class=_Help,
                       description="Take one training step with the text's hand rule and "
                                   "one with the exact gradient, from the same weights, and "
                                   "compare the updates layer by layer.")
    x.add_argument("--model", metavar="FILE", help="a saved model (default: a fresh one)")
    x.add_argument("--hidden", type=_positive_int, default=10,
                   help="hidden nodes of the fresh network")
    x.add_argument("--lr", type=_positive_float, default=0.1, help="learning rate of the step")
    x.add_argument("--seed", type=_seed, default=0, help="seeds the fresh network's weights")
    x.add_argument("--index", type=int, default=0, help="which training sample (0-based)")
    x.add_argument("--during-training", action="store_true",
                   help="train (a fresh network, or --model's) and compare the two rules' "
                        "steps (ratio of norms, cosine) per layer at points along the way")
    x.add_argument("--rule", choices=("book", "autograd"), default="book",
                   help="with --during-training: which rule trains (default: book, the "
                        "text's)")
    x.add_argument("--epochs", type=_count, default=None,
                   help="with --during-training: passes over the training data (default: 5; "
                        "0 with --model measures the saved weights only)")
    x.add_argument("--points", type=_positive_int, default=None,
                   help="with --during-training: measurements after the start (default: 10)")
    x.add_argument("--probe", type=_positive_int, default=None,
                   help="with --during-training: training samples each measurement steps "
                        "from (default: 100)")
    x.add_argument("--plot", metavar="FILE", help="with --during-training: the ratio and "
                   "cosine over training as a chart (.png/.svg/.pdf, needs matplotlib)")
    data_args(x, test=False)
    x.set_defaults(func=cmd_explain)

    b = sub.add_parser("backquery", help="run a saved network backwards for one label",
                       formatter_class=_Help,
                       description="Run a saved network backwards (the text's backquery): "
                                   "from the target outputs of one label to the image it "
                                   "imagines for it.")
    b.add_argument("--model", required=True, metavar="FILE",
                   help="a model file written by train --save")
    b.add_argument("--label", type=_digit, required=True, help="the digit to imagine, 0-9")
    b.add_argument("-o", "--output", default="backquery.png", metavar="FILE",
                   help="image file (.png/.svg/.pdf)")
    b.add_argument("--size", type=_positive_int, default=None, metavar="PX",
                   help="side of the image in pixels (default: the network's own, 28 for "
                        "MNIST, one pixel per input as the text shows it; 224 for the 8x8 "
                        "digits)")
    b.add_argument("--smooth", action=argparse.BooleanOptionalAction, default=None,
                   help="draw smoothed with the middle 90%% of values stretched to full "
                        "contrast (default: on for inputs smaller than 28x28)")
    b.set_defaults(func=cmd_backquery)

    r = sub.add_parser("predict", help="the digit a saved network reads in image files "
                       "(PNG/JPEG, needs Pillow), converted the text's way",
                       formatter_class=_Help,
                       description="Read each image as the text reads your own handwriting "
                                   "(grey, the model's input size, inverted so ink is high, "
                                   "scaled to 0.01..0.99) and print the digit and the ten "
                                   "outputs.")
    r.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    r.add_argument("--model", required=True, metavar="FILE",
                   help="a model file written by train --save")
    r.add_argument("--show", metavar="FILE",
                   help="write what the network saw (.png/.svg/.pdf)")
    r.add_argument("--no-invert", action="store_true",
                   help="the image already has light ink on a dark ground, as MNIST's")
    r.add_argument("--fit", action="store_true",
                   help="frame the digit as MNIST does (its ink scaled into the middle "
                        "20x20 of 28x28, centred by mass) before reading it; not the text's "
                        "step, but it helps with photos and drawings that fill the frame")
    r.set_defaults(func=cmd_predict)
    return p


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: stop now (files being written are left as they were)."""


def _err(text: str) -> None:
    """One line on stderr (if stderr itself is gone, there is no one to tell)."""
    try:
        print(f"tinygrad-nn: {' '.join(text.split())}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _describe(e: BaseException) -> str:
    """An exception as one line that names the file when the OS error has one."""
    if isinstance(e, OSError) and e.strerror:
        text = e.strerror
        if e.filename is not None and os.fspath(e.filename) not in text:
            text = f"{e.filename}: {text}"
        return text
    return str(e) or type(e).__name__


def _drop_stdout() -> None:
    """Standard output is gone (closed pipe, full disk): send what is left to /dev/null, so
    Python's final flush does not print a second error."""
    try:
        if sys.stdout is sys.__stdout__:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, sys.stdout.fileno())
            os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command; every failure is one line on stderr and a status: 2 bad input or
    a file that cannot be read or written, 1 divergence, 130 Ctrl-C, 128+N signal N."""
    try:
        _cli_start.restore_sigint()
        args = build_parser().parse_args(argv)
        preflight(args)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            code = args.func(args)
        if any(issubclass(w.category, RuntimeWarning) for w in caught):
            _err("warning: the computation overflowed or met invalid values (inf or nan); "
                 "the weights or the learning rate are too large, and the numbers above "
                 "may mean nothing")
        sys.stdout.flush()
        return code
    except (CliError, D.DataError, ShapeError, ValueError, TypeError, RuntimeError,
            OverflowError, ArithmeticError) as e:
        _err(f"error: {_describe(e)}")
        return 2
    except OSError as e:
        if e.filename is None and e.errno in (errno.EPIPE, errno.ENOSPC, errno.EFBIG,
                                              errno.EIO, errno.EBADF):
            _drop_stdout()  # writing the results failed, not a file the command named
            if e.errno == errno.EPIPE:
                return 141  # as a shell reports a reader that went away (128 + SIGPIPE)
            _err(f"error: cannot write to standard output: {e.strerror}")
            return 2
        _err(f"error: {_describe(e)}")
        return 2
    except MemoryError:
        _err("error: out of memory; try a smaller --hidden or --batch-size, or a smaller "
             "data file")
        return 2
    except RecursionError:
        _err("error: input nested too deeply")
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Terminated as e:
        _err(f"terminated by {e.args[0]}")
        return 128 + int(getattr(signal, e.args[0], 15))
    except Exception as e:  # a bug: still one line, the traceback on request
        if os.environ.get("TINYGRAD_NN_DEBUG"):
            raise
        _err(f"internal error: {type(e).__name__}: {e} (please report it; set "
             f"TINYGRAD_NN_DEBUG=1 for the traceback)")
        return 2


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signal.Signals(signum).name)


def run() -> None:
    """Console-script entry point: SIGTERM/SIGHUP stop the command cleanly too."""
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) in (signal.SIG_DFL,
                                                         _cli_start.at_start):
            signal.signal(sig, _terminate)  # not when ignored (nohup)
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
