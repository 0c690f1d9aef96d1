"""Workloads A, B and D: training speed and memory against hand-written NumPy (and PyTorch
when installed), same network, data and initial weights, one run.

A: batch 1, 784-100-10, sigmoid, squared error, SGD (the text's setting)
B: batch 64, 784-200-10, same
D: peak memory and memory growth over 10,000 steps of A

Implementations are interleaved and repeated (best round kept); all must end with the
same weights. Run: python benchmarks/train_speed.py [--threads 1] [--rounds 5]
Thread counts must be fixed before NumPy loads, so each --threads value is a new process.
"""

from __future__ import annotations

import argparse
import os
import sys


def _pin_threads(argv: list) -> None:
    n = "1"
    if "--threads" in argv:
        n = argv[argv.index("--threads") + 1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n


_pin_threads(sys.argv)

import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_nn as tg  # noqa: E402
from tinygrad_nn import nn, optim  # noqa: E402
from tinygrad_nn.nn.functional import squared_error  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

LR = 0.1


def make_data(n: int, n_in: int, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.01, 1.0, (n, n_in)).astype(np.float32)
    T = np.full((n, 10), 0.01, np.float32)
    T[np.arange(n), rng.integers(0, 10, n)] = 0.99
    return X, T


def init_weights(n_in: int, n_hid: int, seed: int = 1) -> tuple:
    rng = np.random.default_rng(seed)
    w_ih = rng.normal(0, n_in**-0.5, (n_hid, n_in)).astype(np.float32)
    w_ho = rng.normal(0, n_hid**-0.5, (10, n_hid)).astype(np.float32)
    return w_ih, w_ho


# Each implementation is a (setup, train) pair: setup builds the network from the shared
# initial weights (not timed); train runs the epoch (timed) and returns the final weights.


# --------------------------------------------------------------------------- (a) hand NumPy
def setup_numpy(w_ih, w_ho):
    return w_ih.copy(), w_ho.copy()


def train_numpy(state, X, T, batch):
    """The text's code (column vectors, `numpy.dot`, the input copied into a column by
    `numpy.array(..., ndmin=2).T`), with the exact gradient of ½Σ(t−o)² averaged over a
    batch instead of the text's hidden-layer shortcut, so that all end with equal weights."""
    wih, who = state
    lr = np.float32(LR / batch)
    dot = np.dot
    for i in range(0, len(X), batch):
        inputs = np.array(X[i:i + batch], ndmin=2).T
        targets = np.array(T[i:i + batch], ndmin=2).T
        hidden_outputs = 1 / (1 + np.exp(-dot(wih, inputs)))
        final_outputs = 1 / (1 + np.exp(-dot(who, hidden_outputs)))
        delta_o = (targets - final_outputs) * final_outputs * (1 - final_outputs)
        delta_h = dot(who.T, delta_o) * hidden_outputs * (1 - hidden_outputs)
        who += lr * dot(delta_o, hidden_outputs.T)
        wih += lr * dot(delta_h, inputs.T)
    return wih, who


# --------------------------------------------------------------------------- (b) tinygrad_nn
def setup_tg(w_ih, w_ho):
    model = nn.Sequential(nn.Linear(w_ih.shape[1], w_ih.shape[0], bias=False), nn.Sigmoid(),
                          nn.Linear(w_ih.shape[0], 10, bias=False), nn.Sigmoid())
    model.load_state_dict({"0.weight": w_ih, "2.weight": w_ho})
    return model, optim.SGD(model.parameters(), lr=LR)


def train_tg(state, X, T, batch):
    model, opt = state
    scale = 1.0 / batch
    for i in range(0, len(X), batch):
        loss = squared_error(model(tg.Tensor(X[i:i + batch])), T[i:i + batch])
        if batch > 1:
            loss = loss * scale
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model[0].weight.data, model[2].weight.data


# --------------------------------------------------------------------------- (c) PyTorch
def setup_torch(w_ih, w_ho):
    l1 = torch.nn.Linear(w_ih.shape[1], w_ih.shape[0], bias=False)
    l2 = torch.nn.Linear(w_ih.shape[0], 10, bias=False)
    with torch.no_grad():
        l1.weight.copy_(torch.from_numpy(w_ih))
        l2.weight.copy_(torch.from_numpy(w_ho))
    model = torch.nn.Sequential(l1, torch.nn.Sigmoid(), l2, torch.nn.Sigmoid())
    return model, torch.optim.SGD(model.parameters(), lr=LR)


def train_torch(state, X, T, batch):
    model, opt = state
    Xt, Tt = torch.from_numpy(X), torch.from_numpy(T)
    for i in range(0, len(X), batch):
        out = model(Xt[i:i + batch])
        loss = 0.5 * ((Tt[i:i + batch] - out) ** 2).sum() / batch
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model[0].weight.detach().numpy(), model[2].weight.detach().numpy()


IMPLS = {"hand NumPy": (setup_numpy, train_numpy), "tinygrad_nn": (setup_tg, train_tg)}
if torch is not None:
    IMPLS["PyTorch"] = (setup_torch, train_torch)


def bench(name: str, n_in: int, n_hid: int, batch: int, n: int, rounds: int) -> None:
    X, T = make_data(n, n_in)
    w_ih, w_ho = init_weights(n_in, n_hid)
    best = {k: float("inf") for k in IMPLS}
    final = {}
    for _ in range(rounds):  # interleaved rounds: noise hits all implementations alike
        for k, (setup, train) in IMPLS.items():
            state = setup(w_ih, w_ho)
            t = time.perf_counter()
            final[k] = train(state, X, T, batch)
            best[k] = min(best[k], time.perf_counter() - t)
    ref = final["hand NumPy"]
    print(f"\n{name}: batch {batch}, {n_in}-{n_hid}-10, {n} samples, best of {rounds}")
    for k in IMPLS:
        same = all(np.allclose(a, b, rtol=1e-3, atol=1e-5) for a, b in zip(final[k], ref))
        rate = n / best[k]
        print(f"  {k:<12} {rate:>10,.0f} samples/s   {best['hand NumPy'] / best[k]:5.2f}x hand "
              f"NumPy   same weights: {'yes' if same else 'NO'}")


def memory(steps: int) -> None:
    X, T = make_data(steps, 784)
    w_ih, w_ho = init_weights(784, 100)
    print(f"\nD: memory over {steps:,} steps of A (tracemalloc from the set-up on: peak of "
          f"weights, gradients, optimizer state and training temporaries)")
    peaks = {}
    for k in ("hand NumPy", "tinygrad_nn"):
        setup, train = IMPLS[k]
        tracemalloc.start()
        state = setup(w_ih, w_ho)
        tracemalloc.reset_peak()  # set-up's own temporaries (weight init) are not training
        train(state, X[:1000], T[:1000], 1)  # warm-up: free lists and caches fill
        train(state, X[:2000], T[:2000], 1)
        after_short, _ = tracemalloc.get_traced_memory()
        train(state, X, T, 1)
        after_long, peaks[k] = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del state
        print(f"  {k:<12} peak {peaks[k] / 1024:8.1f} KiB   growth over {steps:,} more steps: "
              f"{(after_long - after_short) / 1024:+.1f} KiB")
    ratio = peaks["tinygrad_nn"] / peaks["hand NumPy"]
    print(f"  peak ratio tinygrad_nn / hand NumPy: {ratio:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", default="1")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", choices=("A", "B", "D"), nargs="*", default=["A", "B", "D"])
    args = ap.parse_args()
    if torch is not None:
        torch.set_num_threads(int(args.threads))
    print(f"numpy {np.__version__}, tinygrad_nn {tg.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, threads {args.threads}")
    if "A" in args.only:
        bench("A", 784, 100, 1, 3000, args.rounds)
    if "B" in args.only:
        bench("B", 784, 200, 64, 12800, args.rounds)
    if "D" in args.only:
        memory(10000)


if __name__ == "__main__":
    main()
