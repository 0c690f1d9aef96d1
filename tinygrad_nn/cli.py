"""The `tinygrad-nn` command: train the text's network on digits, evaluate a saved model,
draw its graph, explain the text's rule against autograd, and run it backwards.

Every failure is one line on stderr and exit status 2 (divergence: status 1).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys
import zlib

import numpy as np

from . import data as D
from ._tensor import Tensor, manual_seed
from .autograd import ShapeError
from .book import BookNetwork
from .nn import Linear, Sequential, Sigmoid
from .nn.functional import squared_error
from .optim import SGD
from .optim.lr_scheduler import LinearLR
from .serialize import atomic_write, load, save
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


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def _digit(text: str) -> int:
    if text not in list("0123456789"):
        raise argparse.ArgumentTypeError(f"expected a digit 0-9, got {text!r}")
    return int(text)


# ----------------------------------------------------------------------------- data


def load_data(spec: str, test_spec: str | None) -> tuple:
    """`digits` or a PATH (+ optional test PATH) -> (X_train, y_train, X_test, y_test), X
    scaled the text's way (x/max·0.99 + 0.01)."""
    if spec == "digits":
        if test_spec is not None:
            raise CliError("--test-data goes with --data PATH, not with the bundled digits")
        Xtr, ytr, Xte, yte = D.load_digits()
        return D.book_scale(Xtr, 1.0), ytr, D.book_scale(Xte, 1.0), yte
    X, y = D.load_mnist(spec)
    if test_spec is None:
        Xtr, ytr, Xte, yte = D.split_last(X, y, 0.2)
    else:
        Xtr, ytr = X, y
        Xte, yte = D.load_mnist(test_spec)
        if Xte.shape[1] != Xtr.shape[1]:
            raise CliError(f"{test_spec}: {Xte.shape[1]} pixels per image, but {spec} has "
                           f"{Xtr.shape[1]}")
    return D.book_scale(Xtr), ytr, D.book_scale(Xte), yte


# ----------------------------------------------------------------------------- model files


def text_network(inputs: int, hidden: int, outputs: int = 10) -> Sequential:
    """The text's network: sigmoid layers, no biases, weights by the text's init rule."""
    return Sequential(Linear(inputs, hidden, bias=False), Sigmoid(),
                      Linear(hidden, outputs, bias=False), Sigmoid())


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
    try:
        inputs, hidden, outputs = (int(n) for n in meta["layers"])
        model = text_network(inputs, hidden, outputs)
        model.load_state_dict(sd)
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        raise CliError(f"{path}: model file does not match its architecture record: "
                       f"{e}") from None
    return model, meta, run


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
    args.hidden = int(meta["layers"][1])
    args.rule = meta.get("rule", args.rule)
    for key in ("lr", "batch_size", "seed"):
        if key in settings:
            setattr(args, key, settings[key])
    if args.epochs is None:
        args.epochs = settings.get("epochs")
    return model, run


def cmd_train(args: argparse.Namespace) -> int:
    if args.plot:
        _need_matplotlib()
    model = run = None
    if args.resume:
        model, run = _resume(args)
    manual_seed(args.seed)
    Xtr, ytr, Xte, yte = load_data(args.data, args.test_data)
    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS["digits" if args.data == "digits" else "path"]
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.rule]
    if model is None:
        model = text_network(Xtr.shape[1], args.hidden)
    _check_inputs(model, Xtr, args.data)
    done = int(run["epoch"]) if run else 0
    if done >= args.epochs:
        raise CliError(f"{args.resume}: the run already has {done} of {args.epochs} epochs; "
                       f"ask for more with --epochs N")
    meta = {"layers": [Xtr.shape[1], args.hidden, 10], "activation": "sigmoid",
            "bias": False, "rule": args.rule, "data": args.data,
            "run": {"lr": lr, "batch_size": args.batch_size, "seed": args.seed,
                    "epochs": args.epochs}}
    # the run's shuffling: one generator for all epochs, saved with each checkpoint
    gen = np.random.default_rng(args.seed)
    if run and "generator" in run:
        gen.bit_generator.state = run["generator"]
    loader = DataLoader(TensorDataset(Xtr, ytr), batch_size=args.batch_size, shuffle=True,
                        generator=gen)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(f"training the text's network {Xtr.shape[1]}-{args.hidden}-10 (sigmoid, no biases) "
        f"on {len(Xtr)} samples, testing on {len(Xte)}; rule={args.rule}, lr={lr:g}"
        + (f"→{lr * LR_END_FRACTION:g} (linear decay)" if args.rule == "autograd" else "")
        + f", batch size {args.batch_size}, {args.epochs} epoch{'s' if args.epochs > 1 else ''}"
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
        if args.batch_size != 1:
            raise CliError("--rule book trains one sample per step, as the text does: "
                           "leave out --batch-size")
        book = BookNetwork(Xtr.shape[1], args.hidden, 10, lr, rng=args.seed, dtype=np.float32)
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
    with np.errstate(all="ignore"):  # a diverging run is reported below, in one line
        if book is not None:
            history = fit_book(book, loader, args.epochs - done, validation=(Xte, yte),
                               progress=progress, checkpoint=checkpoint)
            model.load_state_dict({"0.weight": book.wih, "2.weight": book.who})
        else:
            history = fit(model, opt, loader, args.epochs - done, args.batch_size,
                          scheduler=sched, scheduler_interval="step",
                          validation=(Xte, yte), progress=progress, checkpoint=checkpoint)
    if history.diverged:
        kept = f"; {args.save} holds the last good epoch" if args.save and os.path.exists(
            args.save) else ""
        print(f"tinygrad-nn: {history.message}{kept}", file=sys.stderr)
        return 1
    if history.interrupted:
        print(f"tinygrad-nn: {history.message}", file=sys.stderr)
        if args.save:
            save_model(model, args.save, meta, run_state(done + len(history.loss)))
            print(f"tinygrad-nn: saved what was trained to {args.save}", file=sys.stderr)
    say(f"{history.samples_per_second:,.0f} samples/s over {history.seconds:.1f} s")
    if args.graph:
        _draw(model, Xte[:1], yte[:1], args.graph)
        say(f"wrote {args.graph}")
    if args.plot:
        _plot(history, yte, predict(model, Xte), args.plot)
        say(f"wrote {args.plot}")
    print(f"test accuracy: {evaluate(model, Xte, yte):.4f}")
    return 130 if history.interrupted else 0


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
        manual_seed(args.seed)
        model = text_network(Xtr.shape[1], args.hidden)
    _draw(model, Xtr[:1], ytr[:1], args.output)
    print(f"wrote {args.output}")
    return 0


# ----------------------------------------------------------------------------- explain


def cmd_explain(args: argparse.Namespace) -> int:
    Xtr, ytr, _, _ = load_data(args.data, None)
    if not 0 <= args.index < len(Xtr):
        raise CliError(f"--index must be in 0..{len(Xtr) - 1}, got {args.index}")
    if args.model:
        model, _ = load_model(args.model)
        _check_inputs(model, Xtr, args.data)
        hidden = model[0].out_features
    else:
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


# ----------------------------------------------------------------------------- backquery


def write_png_gray(path: str, image: np.ndarray) -> None:
    """Write a 2-D uint8 array as a grayscale PNG (zlib only), atomically."""
    h, w = image.shape
    rows = b"".join(b"\x00" + image[r].tobytes() for r in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    atomic_write(path, png, "backquery")


def cmd_backquery(args: argparse.Namespace) -> int:
    model, _ = load_model(args.model)
    w_ih, w_ho = model[0].weight.data, model[2].weight.data
    net = BookNetwork(w_ih.shape[1], w_ih.shape[0], w_ho.shape[0], 0.1)
    net.wih, net.who = w_ih.astype(np.float64), w_ho.astype(np.float64)
    target = np.full(w_ho.shape[0], 0.01)
    target[args.label] = 0.99
    pixels = net.backquery(target)[:, 0]
    side = int(round(math.sqrt(len(pixels))))
    if side * side != len(pixels):
        raise CliError(f"{args.model}: {len(pixels)} inputs do not form a square image")
    ink = (pixels - 0.01) / 0.98                     # 0..1, high = ink, as in the data
    img = (255 * (1 - ink)).clip(0, 255).astype(np.uint8).reshape(side, side)
    scale = max(1, 224 // side)
    write_png_gray(args.output, np.kron(img, np.ones((scale, scale), np.uint8)))
    print(f"wrote {args.output}: what the network imagines a {args.label} looks like "
          f"({side}x{side}, dark = ink)")
    return 0


# ----------------------------------------------------------------------------- plots


def _need_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CliError("--plot needs matplotlib: pip install 'tinygrad-nn[plot]'") from None


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
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100), "--plot")
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tinygrad-nn", description="Train and inspect the text's neural network.")
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
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                   help="seeds the weights and the shuffling")
    t.add_argument("--save", metavar="FILE", help="save the model (architecture + weights) "
                   "and the run's state (optimizer, schedule, shuffling); written after "
                   "every epoch, so a diverged run keeps the last good one")
    t.add_argument("--resume", metavar="FILE", help="continue the run saved in FILE (by "
                   "--save) where it stopped, with its settings; --epochs N sets the total")
    t.add_argument("--graph", metavar="FILE", help="draw the computation graph (.png/.svg/"
                   ".pdf/.dot)")
    t.add_argument("--plot", metavar="FILE", help="loss/accuracy curves and confusion matrix "
                   "(.png, needs matplotlib)")
    t.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="print the test accuracy of a saved model")
    e.add_argument("--model", required=True, metavar="FILE")
    data_args(e)
    e.set_defaults(func=cmd_evaluate)

    g = sub.add_parser("graph", help="draw the network's computation graph for one sample")
    g.add_argument("--model", metavar="FILE", help="a saved model (default: a fresh one)")
    g.add_argument("--hidden", type=_positive_int, default=DEFAULTS["hidden"])
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("-o", "--output", default="graph.png", help="image file (.png/.svg/.pdf/"
                   ".dot)")
    data_args(g, test=False)
    g.set_defaults(func=cmd_graph)

    x = sub.add_parser("explain", help="one step of the text's hand rule next to autograd's")
    x.add_argument("--model", metavar="FILE", help="a saved model (default: a fresh one)")
    x.add_argument("--hidden", type=_positive_int, default=10)
    x.add_argument("--lr", type=_positive_float, default=0.1)
    x.add_argument("--seed", type=int, default=0)
    x.add_argument("--index", type=int, default=0, help="which training sample")
    data_args(x, test=False)
    x.set_defaults(func=cmd_explain)

    b = sub.add_parser("backquery", help="run a saved network backwards for one label")
    b.add_argument("--model", required=True, metavar="FILE")
    b.add_argument("--label", type=_digit, required=True)
    b.add_argument("-o", "--output", default="backquery.png")
    b.set_defaults(func=cmd_backquery)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CliError, D.DataError, ShapeError, ValueError, TypeError, OSError,
            RuntimeError) as e:
        message = " ".join(str(e).split())
        print(f"tinygrad-nn: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinygrad-nn: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
