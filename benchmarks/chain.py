"""Workload C: the cost of one small op. A chain of 200 element-wise ops on float32[16]
(50 times: ×0.9, +x, tanh, square), forward and backward to ∂(Σ h)/∂x, in µs per op.
Every row must give true_numpy's gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import harness  # first: pins the thread pools before NumPy loads
import numpy as np

import tinygrad_nn as tg

N_OPS = 200
SIZE = 16


def chain(x, tanh=lambda h: h.tanh()):
    """The forward chain, written once for every Tensor-like type."""
    h = x
    for _ in range(N_OPS // 4):
        h = h * 0.9
        h = h + x
        h = tanh(h)
        h = h * h
    return h


class Chain(harness.Row):
    """A row that runs `grad(x0)` (forward and backward) `reps` times per round."""

    grad: Callable

    def __init__(self, x0: np.ndarray, reps: int) -> None:
        self.x0, self.size, self.unit = x0, reps, 1  # run(lo, hi): hi − lo chains

    def run(self, lo: int, hi: int) -> None:
        for _ in range(lo, hi):
            self.g = self.grad(self.x0)

    def result(self) -> list:
        return [np.asarray(self.g)]


class TrueNumpy(Chain):
    """Forward keeping tanh's outputs, then the hand-derived backward."""

    @staticmethod
    def grad(x0):
        h, tape = x0, []
        for _ in range(N_OPS // 4):
            c = np.tanh(h * 0.9 + x0)
            tape.append(c)
            h = c * c
        g, gx = np.ones_like(x0), np.zeros_like(x0)
        for c in reversed(tape):
            g = g * (2 * c)          # d(c·c)/dc
            g = g * (1 - c * c)      # d tanh(b)/db = 1 − tanh²
            gx += g                  # b = a + x: the x branch
            g = g * 0.9              # a = 0.9·h
        return gx + g


class NumpyFused(Chain):
    """The same math on preallocated buffers with in-place ufuncs (out=) and 0-d
    float32 constants (cheaper operands than Python numbers)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.tape = np.empty((N_OPS // 4, SIZE), np.float32)
        self.h, self.g, self.gx, self.t = (np.empty(SIZE, np.float32) for _ in range(4))
        self.k = {v: np.array(v, np.float32) for v in (0.9, 1.0, 2.0)}

    def grad(self, x0):
        h, g, gx, t, k = self.h, self.g, self.gx, self.t, self.k
        h[...] = x0
        for c in self.tape:
            np.multiply(h, k[0.9], out=h)
            np.add(h, x0, out=h)
            np.tanh(h, out=c)
            np.multiply(c, c, out=h)
        g.fill(1.0)
        gx.fill(0.0)
        for c in self.tape[::-1]:
            np.multiply(c, c, out=t)
            np.subtract(k[1.0], t, out=t)    # 1 − c²
            np.multiply(t, c, out=t)
            np.multiply(t, k[2.0], out=t)    # 2c·(1 − c²)
            np.multiply(g, t, out=g)
            np.add(gx, g, out=gx)
            np.multiply(g, k[0.9], out=g)
        return gx + g


class TinygradNN(Chain):
    """tinygrad_nn's natural forward and backward; with `compiled`, wrapped by
    `tg.compile`."""

    def __init__(self, *args, compiled: bool = False) -> None:
        super().__init__(*args)
        if compiled and not hasattr(tg, "compile"):
            raise harness.Skip("pending: tinygrad_nn has no compile yet")
        ones = tg.Tensor(np.ones(SIZE, np.float32))

        def step(x):
            chain(x).backward(ones)
            return x.grad

        self.step = tg.compile(step) if compiled else step

    def grad(self, x0):
        return self.step(tg.Tensor(x0, requires_grad=True)).data


class PlainEngine(Chain):
    """`plain_engine.py`: the same forward and backward through a featureless
    micrograd-style engine (the floor of per-op Python for an eager engine)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        import plain_engine
        self.engine = plain_engine
        self.ones = np.ones(SIZE, np.float32)

    def grad(self, x0):
        x = self.engine.Tensor(x0, requires_grad=True)
        chain(x).backward(self.ones)
        return x.grad


class Torch(Chain):
    """PyTorch eager."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.torch = harness.import_torch()
        self.ones = self.torch.ones(SIZE)

    def grad(self, x0):
        x = self.torch.tensor(x0, requires_grad=True)
        chain(x).backward(self.ones)
        return x.grad.numpy()


class Jax(Chain):
    """`jax.jit(jax.grad(...))` of the chain's sum."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        jax = self.jax = harness.import_jax()
        jnp = jax.numpy
        self.grad = jax.jit(jax.grad(lambda x: jnp.sum(chain(x, jnp.tanh))))

    def run(self, lo: int, hi: int) -> None:
        super().run(lo, hi)
        self.jax.block_until_ready(self.g)


def speed(reps: int, rounds: int) -> dict:
    """Time every row; check every row's gradient against true_numpy's."""
    x0 = np.random.default_rng(0).standard_normal(SIZE).astype(np.float32)

    def torch_compiled():
        # Measured: inductor took 34 s to compile a 40-op chain's forward and backward on
        # this machine, so minutes for 200 ops; A, S and B have torch.compile rows.
        raise harness.Skip("not run: inductor needs minutes to compile this chain")

    factories = {"true_numpy": lambda: TrueNumpy(x0, reps),
                 "numpy_fused": lambda: NumpyFused(x0, reps),
                 "torch": lambda: Torch(x0, reps), "torch.compile": torch_compiled,
                 "jax.jit": lambda: Jax(x0, reps), "plain_engine": lambda: PlainEngine(x0, reps),
                 "tinygrad_nn": lambda: TinygradNN(x0, reps),
                 "tinygrad_nn compiled": lambda: TinygradNN(x0, reps, compiled=True)}
    built, skipped = harness.build(factories)
    times = harness.time_rounds(built, rounds, skipped)
    ref = built["true_numpy"].result()
    zero = [np.zeros_like(x0)]
    diffs = {name: harness.difference(row.result(), ref, zero) for name, row in built.items()}
    return {"times": times, "diffs": diffs, "skipped": skipped, "ops": N_OPS * reps,
            "reference": dict.fromkeys(built, "true_numpy")}
