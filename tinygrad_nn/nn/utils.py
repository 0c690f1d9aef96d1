"""Gradient clipping, as torch.nn.utils: `clip_grad_norm_` and `clip_grad_value_`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._tensor import Tensor, stack, zeros
from ..autograd import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Any) -> list:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _norm(g: Tensor, norm_type: float) -> Tensor:
    """The vector norm of all entries of g (a 0-d tensor of g's dtype), by tensor ops, so
    that a compiled step replays it."""
    a = g.abs().reshape(-1)
    if not a.shape[0]:
        return zeros((), dtype=g.dtype)
    if norm_type == math.inf:
        return a.max()
    if norm_type == -math.inf:
        return a.min()
    if norm_type == 0:
        return (a != 0).sum().to(g.dtype)
    if norm_type == 2:
        return (a @ a).sqrt()
    if norm_type == 1:
        return a.sum()
    return (a**norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most `max_norm`;
    returns the norm before clipping (a 0-d Tensor). As PyTorch, the gradients are
    multiplied by min(1, max_norm/(norm + 1e-6)), computed by tensor ops (no graph), so
    a compiled step replays the clipping."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return zeros((), dtype="float32")
    with no_grad():
        wide = np.result_type(*[g.dtype for g in grads])  # as torch.stack promotes
        norms = stack([_norm(g, norm_type).to(wide) for g in grads])
        total = _norm(norms, norm_type)
        if error_if_nonfinite and not np.isfinite(total.numpy()):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                               f"`parameters` is non-finite, so it cannot be clipped. To disable "
                               f"this error and scale the gradients by the non-finite norm "
                               f"anyway, set `error_if_nonfinite=False`")
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient entry into [−clip_value, clip_value], in place (a tensor op,
    so a compiled step replays it)."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
