"""Activations and losses as functions of tensors (the layers in `layers.py` wrap these)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap, linear, squared_difference
from ..autograd import ShapeError

__all__ = ["linear", "sigmoid", "tanh", "relu", "softmax", "log_softmax", "squared_error",
           "mse_loss", "cross_entropy"]

_REDUCTIONS = ("mean", "sum", "none")


def sigmoid(x: Tensor) -> Tensor:
    """The text's activation, σ(x) = 1/(1+e^(−x)), stable for large |x|."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def relu(x: Tensor) -> Tensor:
    return x.relu()


def softmax(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """exp(x) / Σ exp(x) along `axis` (PyTorch's `dim=` works too)."""
    return x.softmax(dim, axis=axis)


def log_softmax(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """log(softmax(x)) computed as x − max − log Σ exp(x − max), so it never overflows."""
    return x.log_softmax(dim, axis=axis)


def _pair(op: str, output: Any, target: Any) -> tuple:
    """Check a loss's operands: a Tensor output and a target of exactly the same shape
    (a silent broadcast of (4, 1) against (4,) would change the loss's meaning)."""
    if not isinstance(output, Tensor):
        raise TypeError(f"{op}: output must be a Tensor, got {type(output).__name__}")
    if not isinstance(target, Tensor):
        if isinstance(target, np.ndarray) and target.dtype == output.dtype:
            target = _wrap(target)  # a constant of the loss: no copy needed
        else:
            target = Tensor(target, dtype=output.dtype)
    if output.data.shape != target.data.shape:
        raise ShapeError(f"{op}: output shape {output.shape} and target shape "
                         f"{target.shape} differ (losses do not broadcast)")
    return output, target


def _reduce(op: str, loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def squared_error(output: Tensor, target: Any) -> Tensor:
    """E = ½ Σ (target − output)², the text's error with the ½ it drops: then
    ∂E/∂output = −(target − output) = −e, so its gradients are exactly the text's."""
    output, target = _pair("squared_error", output, target)
    return squared_difference(target, output, "sum", 0.5)  # ((target − output)**2).sum()*0.5


def mse_loss(output: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or per-element) of (output − target)², as `torch.nn.functional.mse_loss`."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    output, target = _pair("mse_loss", output, target)
    if reduction != "none":  # ((output − target)**2).mean() or .sum()
        return squared_difference(output, target, reduction)
    return (output - target) ** 2


def cross_entropy(logits: Tensor, target_indices: Any, reduction: str = "mean") -> Tensor:
    """−log softmax(logits)[target] per sample, as `torch.nn.functional.cross_entropy`.

    `logits` has shape (N, C) (or (C,) for one sample); `target_indices` holds N class
    indices in [0, C) as ints (a list, an integer ndarray or a Tensor).
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {_REDUCTIONS}, "
                         f"got {reduction!r}")
    if not isinstance(logits, Tensor):
        raise TypeError(f"cross_entropy: logits must be a Tensor, got {type(logits).__name__}")
    raw = target_indices.data if isinstance(target_indices, Tensor) else target_indices
    target = np.asarray(raw)
    if target.dtype.kind == "f":
        if not np.all(np.isfinite(target)) or np.any(target != np.round(target)):
            raise TypeError("cross_entropy: target_indices must be integer class indices")
        target = target.astype(np.int64)
    elif target.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target_indices must be integer class indices, "
                        f"got dtype {target.dtype}")
    if logits.ndim not in (1, 2) or target.ndim != logits.ndim - 1:
        raise ShapeError(f"cross_entropy: expected logits (N, C) with targets (N,) or logits "
                         f"(C,) with one target, got {logits.shape} and {target.shape}")
    n_classes = logits.shape[-1]
    if target.size and (target.min() < 0 or target.max() >= n_classes):
        bad = target[(target < 0) | (target >= n_classes)].reshape(-1)[0]
        raise ValueError(f"cross_entropy: target index {int(bad)} is out of range for "
                         f"{n_classes} classes")
    logp = logits.log_softmax(axis=-1)
    if logits.ndim == 1:
        return -logp[int(target)]
    if logits.shape[0] != target.shape[0]:
        raise ShapeError(f"cross_entropy: {logits.shape[0]} rows of logits but "
                         f"{target.shape[0]} targets")
    picked = -logp[np.arange(target.shape[0]), target]
    return _reduce("cross_entropy", picked, reduction)
