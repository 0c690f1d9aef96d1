"""Workload C: per-op overhead on a chain of 200 small element-wise ops, forward+backward.

Prints µs per op for tinygrad_nn and for the same computation hand-written in NumPy
(forward and the hand-derived backward), and their ratio. Run: python benchmarks/chain.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tinygrad_nn as tg

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
    assert np.allclose(tg_chain(x0), numpy_chain(x0), rtol=1e-4, atol=1e-5)
    t_np = best_of(numpy_chain, x0, args.rounds, args.reps)
    t_tg = best_of(tg_chain, x0, args.rounds, args.reps)
    print(f"chain of {N_OPS} ops on float32[{SIZE}], forward+backward, best of {args.rounds}:")
    print(f"  hand NumPy   {t_np / N_OPS * 1e6:6.2f} µs/op")
    print(f"  tinygrad_nn  {t_tg / N_OPS * 1e6:6.2f} µs/op   ({t_tg / t_np:.2f}x NumPy)")


if __name__ == "__main__":
    main()
