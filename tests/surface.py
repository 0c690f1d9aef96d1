"""Helpers for the tests of the PyTorch day-one surface: run one lambda on both libraries.

A case is `fn(m, *tensors)` where `m` is the library module (`tinygrad_nn` or `torch`),
so one lambda serves both sides (`lambda m, a, b: m.where(a > 0, a, b)`). `check` runs
it on torch and on tinygrad_nn with the same arrays and compares the outputs' dtypes,
shapes and values, then the gradients of every floating input (through a fixed,
non-uniform upstream gradient), to 1e-6 (float32) / 1e-12 (float64).
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_nn as tg

torch = pytest.importorskip("torch")

TOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}
FLOATS = [np.float32, np.float64]


def to_np(x):
    """A torch or tinygrad_nn tensor (or anything array-like) -> ndarray."""
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, tg.Tensor):
        return np.asarray(x.data)
    return np.asarray(x)


def upstream(shape, dtype):
    """A fixed, non-uniform upstream gradient (uniform seeds hide transposed gradients)."""
    n = int(np.prod(shape))
    return np.linspace(-1.0, 1.7, n).reshape(shape).astype(dtype)


def make(m, a, requires_grad):
    """`m.tensor(a)` on a private copy; floating arrays require grad when asked."""
    grad = requires_grad and a.dtype.kind == "f"
    return m.tensor(a.copy(), requires_grad=grad)


def outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def run(m, fn, arrays, grad=True):
    """Run `fn` on library `m`: (output arrays, gradient arrays or None per input)."""
    ts = [make(m, a, grad) for a in arrays]
    outs = outputs(fn(m, *ts))
    if grad:
        total = None
        for o in outs:
            if o.requires_grad:
                w = upstream(tuple(o.shape), to_np(o).dtype)
                term = (o * (m.tensor(w) if m is torch else w)).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
    grads = [None if t.grad is None else to_np(t.grad) for t in ts]
    return [to_np(o).copy() for o in outs], grads


def assert_same_array(ours, theirs, tol, what="output"):
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} != torch's {theirs.dtype}"
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch's {theirs.shape}"
    if ours.dtype.kind in "biu":
        np.testing.assert_array_equal(ours, theirs, err_msg=what)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, err_msg=what)


def check(fn, arrays, dtype=np.float64, grad=True, tol=None):
    """Compare `fn` on both libraries: outputs, then gradients of every floating input."""
    arrays = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in arrays]
    tol = TOL[np.dtype(dtype)] if tol is None else tol
    outs_t, grads_t = run(torch, fn, arrays, grad)
    outs_o, grads_o = run(tg, fn, arrays, grad)
    assert len(outs_o) == len(outs_t), f"{len(outs_o)} outputs, torch gives {len(outs_t)}"
    for i, (o, t) in enumerate(zip(outs_o, outs_t)):
        assert_same_array(o, t, tol, f"output {i}")
    for i, (g, gt) in enumerate(zip(grads_o, grads_t)):
        if gt is None:
            assert g is None or not np.any(g), f"input {i}: a gradient where torch has none"
        else:
            assert g is not None, f"input {i}: no gradient, torch has one"
            assert_same_array(g, gt, tol, f"gradient of input {i}")


def gradcheck(fn, arrays):
    """tinygrad_nn.gradcheck of `fn` in float64 (floating inputs require grad)."""
    ts = [make(tg, np.asarray(a).astype(np.float64) if np.asarray(a).dtype.kind == "f"
               else np.asarray(a), True) for a in arrays]
    assert tg.gradcheck(lambda *xs: one_output(fn(tg, *xs)), ts)


def one_output(out):
    """`out`, or for a tuple of tensors the weighted total of the floating ones (gradcheck
    also calls it under no_grad, so requires_grad cannot tell which)."""
    outs = outputs(out)
    if len(outs) == 1:
        return outs[0]
    total = None
    for o in outs:
        if to_np(o).dtype.kind == "f":
            term = (o * upstream(tuple(o.shape), to_np(o).dtype)).sum()
            total = term if total is None else total + term
    return total


def raises_like_torch(fn, *also, match=()):
    """`fn(m)` raises on torch; on tinygrad_nn it must raise the same type (and every type
    in `also`), with each string of `match` in its message."""
    with pytest.raises(Exception) as tinfo:
        fn(torch)
    with pytest.raises(Exception) as info:
        fn(tg)
    for kind in (type(tinfo.value), *also):
        if kind is AssertionError:  # torch's "not compiled with CUDA": any clear error
            continue
        assert isinstance(info.value, kind), (
            f"raised {type(info.value).__name__}({info.value}); torch raises "
            f"{type(tinfo.value).__name__}, expected an instance of {kind.__name__}")
    for s in match:
        assert s in str(info.value), f"{s!r} not in message: {info.value}"
    return info.value


def arrays(shapes, domain="normal", seed=0):
    """Random float64 arrays of `shapes`: "normal", "positive" (in [0.5, 2)) or "distinct"
    (a permutation of well-separated values, so max/min/sort have no near-ties)."""
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        if domain == "positive":
            out.append(rng.uniform(0.5, 2.0, s))
        elif domain == "distinct":
            n = int(np.prod(s))
            out.append((rng.permutation(n) - n / 2).reshape(s) / 4.0)
        else:
            out.append(rng.normal(size=s))
    return out
