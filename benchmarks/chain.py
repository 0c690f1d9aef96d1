"""Workload C: per-op overhead on a chain of 200 small element-wise ops, forward+backward.

Prints µs per op for tinygrad_nn and for the same computation hand-written in NumPy
(forward and the hand-derived backward), and their ratio. Run: python benchmarks/chain.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tinygrad_nn as tg

try:
    import torch
except ImportError:
    torch = None

N_OPS = 200
SIZE = 16


def tg_chain(x0: np.ndarray) -> np.ndarray:
    x = tg.Tensor(x0, requires_grad=True)
    h = x
    for _i in range(N_OPS // 4):  # 4 ops per round: mul, add, tanh, sigmoid-free mix
        h = h * 0.9
        h = h + x
        h = h.tanh()
        h = h * h
    h.backward(np.ones_like(x0))
    return x.grad.data


def torch_chain(x0: np.ndarray) -> np.ndarray:
    x = torch.tensor(x0, requires_grad=True)
    h = x
    for _ in range(N_OPS // 4):
        h = h * 0.9
        h = h + x
        h = h.tanh()
        h = h * h
    h.backward(torch.ones_like(x))
    return x.grad.numpy()


def numpy_chain(x0: np.ndarray) -> np.ndarray:
    # the same computation with a hand-written backward
    h = x0
    tape = []
    for _ in range(N_OPS // 4):
        a = h * 0.9
        b = a + x0
        c = np.tanh(b)
        d = c * c
        tape.append(c)
        h = d
    g = np.ones_like(x0)
    gx = np.zeros_like(x0)
    for c in reversed(tape):
        g = g * (2 * c)          # d(c*c)
        g = g * (1 - c * c)      # tanh
        gx += g                  # add: x branch
        g = g * 0.9              # mul by constant
    gx += g
    return gx


def best_of(fn, x0, rounds: int, reps: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn(x0)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    x0 = np.random.default_rng(0).standard_normal(SIZE).astype(np.float32)
    impls = {"hand NumPy": numpy_chain, "tinygrad_nn": tg_chain}
    if torch is not None:
        torch.set_num_threads(1)
        impls["PyTorch"] = torch_chain
    ref = numpy_chain(x0)
    for name, f in impls.items():  # all compute the same gradient
        assert np.allclose(f(x0), ref, rtol=1e-4, atol=1e-5), name
    best = {name: float("inf") for name in impls}
    for _ in range(args.rounds):  # interleaved, best round kept
        for name, f in impls.items():
            best[name] = min(best[name], best_of(f, x0, 1, args.reps))
    print(f"C: chain of {N_OPS} element-wise ops (mul by number, add, tanh, square) on "
          f"float32[{SIZE}], forward+backward, best of {args.rounds}:")
    for name, t in best.items():
        print(f"  {name:<12} {t / N_OPS * 1e6:6.2f} µs/op   ({t / best['hand NumPy']:.2f}x "
              f"hand NumPy)")


if __name__ == "__main__":
    main()
