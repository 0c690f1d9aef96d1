"""Finite-difference gradient checker: autograd's Jacobian against central differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._tensor import Tensor
from .autograd import no_grad, run_backward

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Autograd's gradient and the finite-difference estimate disagree."""


def _as_output(value: Any) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(value).__name__}")
    return value


def gradcheck(fn: Callable[..., Tensor], inputs: Tensor | Sequence[Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check d fn(*inputs) / d input for every input that requires grad.

    Compares autograd's full Jacobian (one backward per output element) with central
    differences `(f(x+eps) - f(x-eps)) / 2eps`, element by element, as
    `|analytic - numeric| <= atol + rtol * |numeric|`. Use float64 inputs: float32
    cannot resolve eps=1e-6. Works for scalar and non-scalar outputs. The inputs'
    `.grad` is left untouched. Returns True, or raises `GradcheckError` naming the
    input, the worst element and both values (returns False if `raise_exception=False`).
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(t).__name__}, not a Tensor")
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")

    with no_grad():
        out0 = _as_output(fn(*inputs)).data.copy()
    n_out = out0.size

    # analytic Jacobian: row j = gradient of output element j
    analytic = [np.zeros((n_out, inputs[i].data.size)) for i in checked]
    for j in range(n_out):
        out = _as_output(fn(*inputs))
        if not out.requires_grad:
            for a in analytic:
                a[j] = 0.0
            continue
        seed = np.zeros(out.data.shape, dtype=out.data.dtype)
        seed.reshape(-1)[j] = 1
        grads = run_backward([(out, seed)], inputs=[inputs[i] for i in checked])
        for a, g in zip(analytic, grads, strict=False):
            if g is not None:
                a[j] = np.asarray(g, dtype=np.float64).reshape(-1)

    # numeric Jacobian by central differences, one input element at a time
    for a, i in zip(analytic, checked, strict=False):
        if not inputs[i].data.flags.c_contiguous:
            inputs[i].data = np.ascontiguousarray(inputs[i].data)
        x = inputs[i].data
        flat = x.reshape(-1)  # a view: perturbing it perturbs the input
        numeric = np.zeros_like(a)
        with no_grad():
            for k in range(flat.size):
                orig = flat[k]
                flat[k] = orig + eps
                # copies: a view's output (reshape, x[0]) shares the perturbed array
                plus = np.array(fn(*inputs).data, dtype=np.float64).reshape(-1)
                flat[k] = orig - eps
                minus = np.array(fn(*inputs).data, dtype=np.float64).reshape(-1)
                flat[k] = orig
                numeric[:, k] = (plus - minus) / (2 * eps)
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and (np.max(err) > 0 or not np.all(np.isfinite(a))):
            worst = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(err), err, np.inf))),
                                     err.shape)
            out_idx = np.unravel_index(worst[0], out0.shape) if out0.ndim else ()
            in_idx = np.unravel_index(worst[1], x.shape) if x.ndim else ()
            msg = (f"gradcheck: gradient of input {i} (shape {x.shape}) is wrong at "
                   f"element {tuple(int(v) for v in in_idx)} for output element "
                   f"{tuple(int(v) for v in out_idx)}: autograd gives {a[worst]:.10g}, "
                   f"finite differences give {numeric[worst]:.10g} "
                   f"(atol={atol}, rtol={rtol}, eps={eps})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True
