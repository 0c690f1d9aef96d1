"""Workloads A, S, B and D: training the text's kind of network (sigmoid, no biases,
E = ½·Σ(t − o)², SGD), every row from the same initial weights over the same data.

A: 784-100-10, one sample per step (the text's network and setting)
S: 16-8-2, one sample per step (per-step overhead dominates)
B: 784-200-10, batches of 64 (the true gradient of the batch's mean error: SGD on the
   batch's summed E with learning rate LR / 64)
D: memory: tracemalloc's peak growth during one step of A, and the growth over many

Rows with the true gradient must end with true_numpy's weights; book_numpy (the text's
hidden-layer shortcut) must end with tinygrad_nn.book.BookNetwork's.
"""

from __future__ import annotations

import tracemalloc

import harness  # first: pins the thread pools before NumPy loads
import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.book import BookNetwork
from tinygrad_nn.nn.functional import squared_error

try:
    from scipy.linalg import blas
    from scipy.special import expit
except ImportError:
    blas = expit = None

LR = 0.1


def make_data(n: int, n_in: int, n_out: int, seed: int = 0) -> tuple:
    """Inputs in 0.01..1 and one-hot targets 0.01/0.99, as the text scales them."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.01, 1.0, (n, n_in)).astype(np.float32)
    T = np.full((n, n_out), 0.01, np.float32)
    T[np.arange(n), rng.integers(0, n_out, n)] = 0.99
    return X, T


def init_weights(n_in: int, n_hid: int, n_out: int, seed: int = 1) -> list:
    """The text's initial weights: normal with std 1/√(incoming links)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0, n_in**-0.5, (n_hid, n_in)).astype(np.float32),
            rng.normal(0, n_hid**-0.5, (n_out, n_hid)).astype(np.float32)]


class Training(harness.Row):
    """A row that trains on (X, T) in steps of `batch` samples from weights `w0`."""

    def __init__(self, w0: list, X: np.ndarray, T: np.ndarray, batch: int) -> None:
        self.w0, self.X, self.T, self.batch = w0, X, T, batch
        self.size, self.unit = len(X), batch  # run(lo, hi) trains on samples lo..hi
        self.lr = LR / batch

    def reset(self) -> None:
        self.w = [w.copy() for w in self.w0]

    def result(self) -> list:
        return self.w


def _need_scipy() -> None:
    if blas is None:
        raise harness.Skip("scipy is not installed")


# ---------------------------------------------------------------------------- NumPy rows
class BookNumpy(Training):
    """The text's own code: column vectors, `numpy.dot`, its activation
    `scipy.special.expit`, and its update rule (hidden errors Wᵀ·e, the shortcut)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        _need_scipy()
        if self.batch != 1:
            raise harness.Skip("the text trains one sample per step")

    def train(self, inputs_list, targets_list) -> None:
        wih, who = self.w
        inputs = np.array(inputs_list, ndmin=2).T
        targets = np.array(targets_list, ndmin=2).T
        hidden_outputs = expit(np.dot(wih, inputs))
        final_outputs = expit(np.dot(who, hidden_outputs))
        output_errors = targets - final_outputs
        hidden_errors = np.dot(who.T, output_errors)
        who += self.lr * np.dot((output_errors * final_outputs * (1.0 - final_outputs)),
                                np.transpose(hidden_outputs))
        wih += self.lr * np.dot((hidden_errors * hidden_outputs * (1.0 - hidden_outputs)),
                                np.transpose(inputs))

    def run(self, lo: int, hi: int) -> None:
        for x, t in zip(self.X[lo:hi], self.T[lo:hi]):
            self.train(x, t)


def book_network(w0: list, X: np.ndarray, T: np.ndarray) -> list:
    """The reference for book_numpy: the package's BookNetwork, float32, same weights."""
    net = BookNetwork(w0[0].shape[1], w0[0].shape[0], w0[1].shape[0], LR, dtype=np.float32)
    net.wih, net.who = w0[0].copy(), w0[1].copy()
    for x, t in zip(X, T):
        net.train(x, t)
    return [net.wih, net.who]


class TrueNumpy(Training):
    """The true gradient written by hand in plain NumPy, the natural way: a batch of rows,
    `1/(1+exp(−z))`, `numpy.dot` for the products."""

    def run(self, lo: int, hi: int) -> None:
        w1, w2 = self.w
        lr, b = np.float32(self.lr), self.batch
        for i in range(lo, hi, b):
            x, t = self.X[i:i + b], self.T[i:i + b]
            h = 1 / (1 + np.exp(-np.dot(x, w1.T)))
            o = 1 / (1 + np.exp(-np.dot(h, w2.T)))
            delta_o = (o - t) * o * (1 - o)                  # ∂E/∂(h·W2ᵀ)
            delta_h = np.dot(delta_o, w2) * h * (1 - h)      # ∂E/∂(x·W1ᵀ)
            w2 -= lr * np.dot(delta_o.T, h)
            w1 -= lr * np.dot(delta_h.T, x)


class NumpyFused(Training):
    """The limit of the same math in NumPy: preallocated buffers, in-place ufuncs, and
    BLAS called directly: sgemv, and one sger per layer for a single sample (the rank-1
    update in one pass over W); sgemm into preallocated outputs for a batch (the update
    accumulated into W by sgemm's beta=1, again one pass). Arguments are positional
    (measured: keywords cost f2py ~1.3 µs more per call) and constants are 0-d float32."""

    ONE = np.float32(1.0)

    def __init__(self, *args) -> None:
        super().__init__(*args)
        _need_scipy()
        b, (n_hid, _), n_out = self.batch, self.w0[0].shape, self.w0[1].shape[0]
        shape = (lambda n: (n,)) if b == 1 else (lambda n: (b, n))
        self.h, self.dh, self.th = (np.empty(shape(n_hid), np.float32) for _ in range(3))
        self.o, self.do, self.to = (np.empty(shape(n_out), np.float32) for _ in range(3))

    def run(self, lo: int, hi: int) -> None:
        (self._run_one if self.batch == 1 else self._run_batch)(lo, hi)

    def _deltas(self, t: np.ndarray) -> None:
        """do = (o − t)·o·(1 − o), the output layer's ∂E/∂z, in place."""
        o, do, to = self.o, self.do, self.to
        np.subtract(self.ONE, o, do)
        np.multiply(do, o, do)
        np.subtract(o, t, to)
        np.multiply(do, to, do)

    def _hidden_slope(self) -> None:
        """dh ·= h·(1 − h): from ∂E/∂h to the hidden layer's ∂E/∂z."""
        h, dh, th = self.h, self.dh, self.th
        np.subtract(self.ONE, h, th)
        np.multiply(th, h, th)
        np.multiply(dh, th, dh)

    def _run_one(self, lo: int, hi: int) -> None:
        # W is C-ordered, so W.T is the Fortran-ordered matrix BLAS expects.
        # sgemv(alpha, a, x, beta, y, offx, incx, offy, incy, trans, overwrite_y)
        # sger(alpha, x, y, incx, incy, a, overwrite_x, overwrite_y, overwrite_a)
        w1t, w2t = self.w[0].T, self.w[1].T
        h, o, do, dh, lr = self.h, self.o, self.do, self.dh, -self.lr
        gemv, ger = blas.sgemv, blas.sger
        for x, t in zip(self.X[lo:hi], self.T[lo:hi]):
            gemv(1.0, w1t, x, 0.0, h, 0, 1, 0, 1, 1, 1)     # h = W1·x
            expit(h, h)
            gemv(1.0, w2t, h, 0.0, o, 0, 1, 0, 1, 1, 1)     # o = W2·h
            expit(o, o)
            self._deltas(t)
            gemv(1.0, w2t, do, 0.0, dh, 0, 1, 0, 1, 0, 1)   # dh = W2ᵀ·do
            self._hidden_slope()
            ger(lr, h, do, 1, 1, w2t, 0, 0, 1)              # W2 −= lr·do·hᵀ
            ger(lr, x, dh, 1, 1, w1t, 0, 0, 1)              # W1 −= lr·dh·xᵀ

    def _run_batch(self, lo: int, hi: int) -> None:
        # Row-major (b, n) arrays are Fortran (n, b) arrays: H.T is Hᵀ for BLAS.
        # sgemm(alpha, a, b, beta, c, trans_a, trans_b, overwrite_c)
        w1t, w2t = self.w[0].T, self.w[1].T
        h, o, do, dh, lr, b = self.h, self.o, self.do, self.dh, -self.lr, self.batch
        gemm = blas.sgemm
        for i in range(lo, hi, b):
            x, t = self.X[i:i + b], self.T[i:i + b]
            gemm(1.0, w1t, x.T, 0.0, h.T, 1, 0, 1)      # Hᵀ = W1·Xᵀ
            expit(h, h)
            gemm(1.0, w2t, h.T, 0.0, o.T, 1, 0, 1)      # Oᵀ = W2·Hᵀ
            expit(o, o)
            self._deltas(t)
            gemm(1.0, w2t, do.T, 0.0, dh.T, 0, 0, 1)    # dHᵀ = W2ᵀ·dOᵀ
            self._hidden_slope()
            gemm(lr, h.T, do.T, 1.0, w2t, 0, 1, 1)      # W2ᵀ −= lr·Hᵀ·dO
            gemm(lr, x.T, dh.T, 1.0, w1t, 0, 1, 1)      # W1ᵀ −= lr·Xᵀ·dH


# ----------------------------------------------------------------- framework rows
class TinygradNN(Training):
    """tinygrad_nn's natural training step; with `compiled`, the same step function
    wrapped by `tg.compile`."""

    def __init__(self, *args, compiled: bool = False) -> None:
        super().__init__(*args)
        if compiled and not hasattr(tg, "compile"):
            raise harness.Skip("pending: tinygrad_nn has no compile yet")
        (n_hid, n_in), n_out = self.w0[0].shape, self.w0[1].shape[0]
        model = nn.Sequential(nn.Linear(n_in, n_hid, bias=False), nn.Sigmoid(),
                              nn.Linear(n_hid, n_out, bias=False), nn.Sigmoid())
        opt = optim.SGD(model.parameters(), lr=self.lr)

        def step(x, t):
            loss = squared_error(model(x), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        self.model, self.step = model, tg.compile(step) if compiled else step

    def reset(self) -> None:
        self.model.load_state_dict({"0.weight": self.w0[0], "2.weight": self.w0[1]})

    def run(self, lo: int, hi: int) -> None:
        b, step, Tensor = self.batch, self.step, tg.Tensor
        for i in range(lo, hi, b):
            step(Tensor(self.X[i:i + b]), Tensor(self.T[i:i + b]))

    def result(self) -> list:
        return [self.model[0].weight.data, self.model[2].weight.data]


class Torch(Training):
    """PyTorch's natural training step, eager or wrapped whole by `torch.compile`."""

    def __init__(self, *args, compiled: bool = False) -> None:
        super().__init__(*args)
        torch = harness.import_torch()
        (n_hid, n_in), n_out = self.w0[0].shape, self.w0[1].shape[0]
        model = torch.nn.Sequential(torch.nn.Linear(n_in, n_hid, bias=False),
                                    torch.nn.Sigmoid(),
                                    torch.nn.Linear(n_hid, n_out, bias=False),
                                    torch.nn.Sigmoid())
        opt = torch.optim.SGD(model.parameters(), lr=self.lr)

        def step(x, t):
            loss = 0.5 * ((t - model(x)) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        self.torch, self.model = torch, model
        self.step = torch.compile(step) if compiled else step

    def reset(self) -> None:
        with self.torch.no_grad():
            for p, w in zip(self.model.parameters(), self.w0):
                p.copy_(self.torch.from_numpy(w))

    def run(self, lo: int, hi: int) -> None:
        b, step = self.batch, self.step
        X, T = self.torch.from_numpy(self.X), self.torch.from_numpy(self.T)
        for i in range(lo, hi, b):
            step(X[i:i + b], T[i:i + b])

    def result(self) -> list:
        return [p.detach().numpy() for p in self.model.parameters()]


class Jax(Training):
    """`jax.jit` of the whole training step (slicing the batch, forward, gradient, update)
    as a pure function of the weights, the data put on jax's device once beforehand (what
    a jax user does; passing NumPy slices each step is ~10% slower here)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        jax = harness.import_jax()
        jnp, b = jax.numpy, self.batch

        def loss(w, x, t):
            h = jax.nn.sigmoid(x @ w[0].T)
            return 0.5 * jnp.sum((t - jax.nn.sigmoid(h @ w[1].T)) ** 2)

        def step(w, X, T, i):
            x, t = (jax.lax.dynamic_slice_in_dim(a, i, b) for a in (X, T))
            return [wi - self.lr * gi for wi, gi in zip(w, jax.grad(loss)(w, x, t))]

        self.jax, self.step = jax, jax.jit(step, donate_argnums=0)

    def reset(self) -> None:
        self.w = [self.jax.numpy.array(w) for w in self.w0]
        self.data = self.jax.numpy.asarray(self.X), self.jax.numpy.asarray(self.T)

    def run(self, lo: int, hi: int) -> None:
        step, w, (X, T) = self.step, self.w, self.data
        for i in range(lo, hi, self.batch):
            w = step(w, X, T, i)
        self.w = self.jax.block_until_ready(w)  # jax dispatches asynchronously

    def result(self) -> list:
        return [np.asarray(w) for w in self.w]


def rows(w0: list, X: np.ndarray, T: np.ndarray, batch: int, quick: bool) -> dict:
    """name -> factory of each row, in the table's order."""
    args = (w0, X, T, batch)

    def torch_compiled():
        if quick:
            raise harness.Skip("skipped in --quick (torch.compile takes seconds to compile)")
        return Torch(*args, compiled=True)

    return {"book_numpy": lambda: BookNumpy(*args), "true_numpy": lambda: TrueNumpy(*args),
            "numpy_fused": lambda: NumpyFused(*args), "torch": lambda: Torch(*args),
            "torch.compile": torch_compiled, "jax.jit": lambda: Jax(*args),
            "tinygrad_nn": lambda: TinygradNN(*args),
            "tinygrad_nn compiled": lambda: TinygradNN(*args, compiled=True)}


def speed(shape: tuple, batch: int, n: int, rounds: int, quick: bool) -> dict:
    """Time every row of one training workload; check every row's final weights."""
    n_in, n_hid, n_out = shape
    X, T = make_data(n, n_in, n_out)
    w0 = init_weights(n_in, n_hid, n_out)
    built, skipped = harness.build(rows(w0, X, T, batch, quick))
    times = harness.time_rounds(built, rounds, skipped)
    refs = {"true_numpy": built["true_numpy"].result()}
    if "book_numpy" in built:
        refs["book_numpy"] = book_network(w0, X, T)
    diffs = {name: harness.difference(row.result(), refs.get(name, refs["true_numpy"]), w0)
             for name, row in built.items()}
    return {"times": times, "diffs": diffs, "skipped": skipped, "samples": n,
            "reference": {name: "BookNetwork" if name == "book_numpy" else "true_numpy"
                          for name in built}}


def memory(steps: int) -> dict:
    """D: tracemalloc's peak growth during one step of A (what the step allocates at
    once) and the growth of traced memory over `steps` more steps (flat: ~0). Only
    allocations NumPy and Python make are traced, so torch and jax have no row."""
    X, T = make_data(steps + 202, 784, 10)
    w0 = init_weights(784, 100, 10)
    names = ("book_numpy", "true_numpy", "numpy_fused", "tinygrad_nn", "tinygrad_nn compiled")
    factories = rows(w0, X, T, 1, quick=True)
    built, skipped = harness.build({k: factories[k] for k in names})
    out = {}
    for name, row in built.items():
        row.reset()
        row.run(0, 200)  # warm-up (a compiled row compiles)
        tracemalloc.start()
        row.run(200, 201)  # caches and free lists settle under tracing
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        row.run(201, 202)
        peak = tracemalloc.get_traced_memory()[1] - base
        row.run(202, len(X))
        growth = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        out[name] = (peak, growth)
    return {"memory": out, "skipped": skipped, "steps": steps}
