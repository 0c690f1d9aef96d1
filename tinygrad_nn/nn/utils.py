"""Gradient clipping, as torch.nn.utils: `clip_grad_norm_` and `clip_grad_value_`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._tensor import Tensor, from_numpy

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Any) -> list:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _norm(g: np.ndarray, norm_type: float) -> np.ndarray:
    """The vector norm of all entries of g, in g's dtype."""
    a = np.abs(g.ravel())
    if norm_type == math.inf:
        return a.max(initial=0).astype(g.dtype)
    if norm_type == -math.inf:
        return a.min(initial=np.inf).astype(g.dtype)
    if norm_type == 0:
        return np.asarray(np.count_nonzero(a), dtype=g.dtype)
    if norm_type == 2:
        return np.sqrt(np.dot(a, a))
    if norm_type == 1:
        return a.sum()
    return (a**norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most `max_norm`;
    returns the norm before clipping (a 0-d Tensor). As PyTorch, the gradients are
    multiplied by min(1, max_norm/(norm + 1e-6))."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return from_numpy(np.array(0.0, dtype=np.float32))
    dtype = grads[0].data.dtype
    norms = np.array([_norm(g.data, norm_type) for g in grads], dtype=dtype)
    total = _norm(norms, norm_type).astype(dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           f"`parameters` is non-finite, so it cannot be clipped. To disable "
                           f"this error and scale the gradients by the non-finite norm "
                           f"anyway, set `error_if_nonfinite=False`")
    coef = np.minimum(dtype.type(max_norm) / (total + dtype.type(1e-6)), dtype.type(1.0))
    for g in grads:
        g.data *= coef.astype(g.data.dtype)
        g._bump_version()
    return from_numpy(np.asarray(total))


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient entry into [−clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g.data, -clip_value, clip_value, out=g.data)
        g._bump_version()
