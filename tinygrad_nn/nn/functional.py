"""Activations and losses as functions of tensors (the layers in `layers.py` wrap these)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _tensor, autograd, ops
from .._tensor import Tensor, _apply, _wrap, linear, where
from .._tensor import generator as _global_generator
from ..autograd import ShapeError

__all__ = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "log_softmax",
           "logsigmoid", "dropout", "squared_error", "mse_loss", "l1_loss", "cross_entropy",
           "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "one_hot"]

_REDUCTIONS = ("mean", "sum", "none")


TargetOutOfRange = ops.TargetOutOfRange


def _legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's deprecated `size_average`/`reduce` flags -> a reduction name."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='...' instead.", UserWarning, stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def sigmoid(x: Tensor) -> Tensor:
    """The text's activation, σ(x) = 1/(1+e^(−x)), stable for large |x|."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    return x.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope·x otherwise (the slope is also the gradient at 0, as
    PyTorch)."""
    return where(input > 0, input, input * negative_slope)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Class indices of shape (...) -> int64 rows of shape (..., num_classes) with a 1 at
    each index (as PyTorch; num_classes=-1 takes the largest index + 1). No gradient."""
    if num_classes == -1 and autograd.tracer is not None:  # the shape depends on values
        autograd.tracer.on_python_read(tensor, "one_hot without num_classes",
                                       "pass num_classes")
    t = tensor if isinstance(tensor, Tensor) else np.asarray(tensor)
    return _apply(ops.OneHot, (t,), num_classes=num_classes)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = −log(1 + e^(−x)), stable for large |x|."""
    return _tensor.logsigmoid(input)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: np.random.Generator | None = None) -> Tensor:
    """In training, zero each element with probability p and scale the rest by 1/(1−p)
    (so the expected value is unchanged); otherwise return the input itself."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * np.zeros(input.shape, dtype=input.dtype)
    # one op that draws its mask at every call, so a compiled step draws anew too
    return _apply(ops.Dropout, (input,), p=p,
                  generator=_global_generator if generator is None else generator)


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
    if output.shape != target.shape:
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
    return ((target - output) ** 2).sum() * 0.5


def mse_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean", weight: Any = None) -> Tensor:
    """Mean (or sum, or per-element) of (input − target)², as `torch.nn.functional.mse_loss`
    (a `weight` multiplies each squared difference)."""
    if isinstance(size_average, str):  # mse_loss(x, y, "sum"): the reduction, positionally
        size_average, reduction = None, size_average
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("mse_loss", reduction)
    output, target = _pair("mse_loss", input, target)
    if weight is not None:
        return _weighted("mse_loss", (output - target) ** 2, weight, reduction)
    return _reduce("mse_loss", (output - target) ** 2, reduction)


def _constant_like(value: Any, like: Tensor) -> Tensor:
    """A weight given as a Tensor, array or number -> a tensor of `like`'s dtype that no
    gradient flows into. The cast and every use are ops, so that a compiled step given the
    weight as an argument uses each call's."""
    t = value.detach() if isinstance(value, Tensor) else _wrap(np.asarray(value))
    if t.dtype == like.dtype:
        return t
    with autograd.no_grad():
        return t.to(like.dtype)


def _in_dtype_of(target: Tensor, output: Tensor) -> Tensor:
    """A target tensor in the output's dtype, cast by an op (its gradient flows back)."""
    return target if target.dtype == output.dtype else target.to(output.dtype)


def _times_weight(op: str, loss: Tensor, weight: Any) -> Tensor:
    """Element-wise losses times a weight that broadcasts to their shape."""
    w = _constant_like(weight, loss)
    if np.broadcast_shapes(w.shape, loss.shape) != loss.shape:
        raise ShapeError(f"{op}: a weight of shape {w.shape} does not broadcast to the "
                         f"loss's shape {loss.shape}")
    return loss * w


def _weighted(op: str, errors: Tensor, weight: Any, reduction: str) -> Tensor:
    """Element-wise errors times `weight` (of the input's shape); "mean" divides by Σ w."""
    w = _constant_like(weight, errors)
    if w.shape != errors.shape:
        raise ShapeError(f"{op}: weights and input must have the same size, got {w.shape} "
                         f"and {errors.shape}")
    weighted = errors * w
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / w.sum()


def l1_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean", weight: Any = None) -> Tensor:
    """Mean (or sum, or per-element) of |input − target|, as `torch.nn.functional.l1_loss`
    (a `weight` multiplies each error; "mean" then divides by Σ w)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("l1_loss", reduction)
    output, target = _pair("l1_loss", input, target)
    if weight is not None:
        return _weighted("l1_loss", (output - target).abs(), weight, reduction)
    return _reduce("l1_loss", (output - target).abs(), reduction)


def _class_indices(op: str, target: Any, n_classes: int, ignore_index: int) -> Tensor:
    """Class-index targets (a Tensor, an array or a list) -> an int64 tensor of indices in
    [0, C) (ignore_index aside), checked by an op: a compiled step checks and uses each
    call's targets."""
    t = target if isinstance(target, (Tensor, np.ndarray)) else np.asarray(target)
    return _apply(ops.ClassIndices, (t,), n_classes=n_classes, ignore_index=ignore_index,
                  loss=op)


def _target_array(target: Any) -> np.ndarray:
    """A loss's target as an array, to look at its shape and dtype (not its values)."""
    return target._data if isinstance(target, Tensor) else np.asarray(target)


def _classes_last(op: str, x: Tensor, target_shape: tuple | None) -> tuple:
    """(N, C) or (C,) or (N, C, d1, ...) input -> (rows (M, C), the shape of the
    per-sample loss); checks the index target's shape when given."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise ShapeError(f"{op}: input must have a class dimension, got a 0-d tensor")
    if target_shape is not None:
        expect = () if x.ndim == 1 else (x.shape[0], *x.shape[2:])
        if tuple(target_shape) != expect:
            if x.ndim >= 2 and (len(target_shape) == 0 or target_shape[0] != x.shape[0]):
                n_t = target_shape[0] if len(target_shape) else 1
                raise ShapeError(f"{op}: {x.shape[0]} rows of input but {n_t} targets "
                                 f"(input {x.shape}, target {tuple(target_shape)})")
            raise ShapeError(f"{op}: expected input (N, C) with target (N,), input (C,) "
                             f"with one target, or (N, C, d1, ...) with (N, d1, ...); got "
                             f"{x.shape} and {tuple(target_shape)}")
    if x.ndim == 1:
        return x.reshape(1, x.shape[0]), ()
    if x.ndim == 2:
        return x, (x.shape[0],)
    axes = (0, *range(2, x.ndim), 1)
    return x.transpose(*axes).reshape(-1, x.shape[1]), (x.shape[0], *x.shape[2:])


def _nll_rows(op: str, logp: Tensor, t: Tensor, weight: Any, ignore_index: int,
              reduction: str, out_shape: tuple) -> Tensor:
    """−w[t]·logp[i, t] per row (0 where t == ignore_index); "mean" divides by Σ w[t]."""
    w = None if weight is None else _constant_like(weight, logp)
    if w is not None and w.shape != (logp.shape[1],):
        raise ShapeError(f"{op}: weight must have one entry per class ({logp.shape[1]}), "
                         f"got shape {w.shape}")
    losses = _apply(ops.NLLLoss, (logp, t.reshape(-1)), weight=None if w is None else w._data,
                    ignore_index=ignore_index, reduction=reduction)
    if reduction == "none" and out_shape != losses.shape:
        return losses.reshape(*out_shape)
    return losses


def nll_loss(input: Tensor, target: Any, weight: Any = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of log-probabilities `input` (N, C) at the class indices
    `target` (N,), as `torch.nn.functional.nll_loss` (with `weight` per class and
    `ignore_index`; "mean" divides by the summed weights of the targets)."""
    if isinstance(weight, str):  # nll_loss(x, t, "sum"): the reduction, positionally
        weight, reduction = None, weight
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("nll_loss", reduction)
    rows, out_shape = _classes_last("nll_loss", input, np.shape(_target_array(target)))
    t = _class_indices("nll_loss", target, rows.shape[1], ignore_index)
    return _nll_rows("nll_loss", rows, t, weight, ignore_index, reduction, out_shape)


def cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average: Any = None,
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """−log softmax(input)[target] per sample, as `torch.nn.functional.cross_entropy`.

    `input` holds logits of shape (N, C) (or (C,) for one sample, or (N, C, d1, ...));
    `target` holds class indices (ints: a list, an integer ndarray or Tensor) or class
    probabilities (floats of the input's shape). `weight` weighs each class,
    `ignore_index` marks targets to skip, and `label_smoothing` ε mixes the target with
    the uniform distribution: (1−ε)·nll + ε·mean over classes of −log p.
    """
    if isinstance(weight, str):  # cross_entropy(x, t, "sum"): the reduction, positionally
        weight, reduction = None, weight
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, "
                         f"got {label_smoothing}")
    if not isinstance(input, Tensor):
        raise TypeError(f"cross_entropy: input must be a Tensor, got {type(input).__name__}")
    raw = _target_array(target)  # its shape and dtype only: the values stay with the ops
    if raw.dtype.kind == "f" and raw.shape == input.shape and input.ndim >= 1:
        # these probabilities are used in NumPy: .data, so that compile refuses it
        probs = target.data if isinstance(target, Tensor) else raw
        return _cross_entropy_probs(input, probs, weight, reduction, label_smoothing)
    rows, out_shape = _classes_last("cross_entropy", input, raw.shape)
    n_classes = rows.shape[1]
    t = _class_indices("cross_entropy", target, n_classes, ignore_index)
    logp = rows.log_softmax(axis=-1)
    nll = _nll_rows("cross_entropy", logp, t, weight, ignore_index, reduction, out_shape)
    if not label_smoothing:
        return nll
    t = t.reshape(-1)
    kept = t != ignore_index  # ops on the index tensor, so a compiled step replays them
    keep = kept.to(logp.dtype)
    w = None if weight is None else _constant_like(weight, logp)
    smooth = -logp.sum(axis=1) if w is None else -(logp * w).sum(axis=1)
    smooth = smooth * keep
    if reduction == "none":
        smooth = smooth.reshape(*out_shape) if out_shape != smooth.shape else smooth
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        denom = keep.sum() if w is None else (w[where(kept, t, 0)] * keep).sum()
        smooth = smooth.sum() / denom
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _cross_entropy_probs(input: Tensor, target: np.ndarray, weight: Any, reduction: str,
                         label_smoothing: float) -> Tensor:
    """Cross entropy against class probabilities: −Σ_c w_c·p_c·log softmax(x)_c."""
    axis = 0 if input.ndim == 1 else 1
    n_classes = input.shape[axis]
    logp = input.log_softmax(axis=axis)
    p = target.astype(input.dtype, copy=False)
    if label_smoothing:
        p = p * (1 - label_smoothing) + label_smoothing / n_classes
    if weight is not None:
        w = _constant_like(weight, input)
        if w.shape != (n_classes,):
            raise ShapeError(f"cross_entropy: weight must have one entry per class "
                             f"({n_classes}), got shape {w.shape}")
        p = w.reshape((n_classes,) + (1,) * (input.ndim - axis - 1)) * p  # a tensor now
    terms = logp * (p if isinstance(p, Tensor) else p.astype(input.dtype, copy=False))
    if reduction == "none":
        return -terms.sum(axis=axis)
    if reduction == "sum":
        return -terms.sum()
    return -terms.sum() / (input.numel() // n_classes)


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """−w·(t·log x + (1−t)·log(1−x)) for probabilities x, as
    `torch.nn.functional.binary_cross_entropy` (each log clamped to >= −100)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("binary_cross_entropy", reduction)
    output, target = _pair("binary_cross_entropy", input, target)
    loss = _tensor.binary_cross_entropy(output, _in_dtype_of(target, output))  # checks 0..1
    if weight is not None:
        loss = _times_weight("binary_cross_entropy", loss, weight)
    return _reduce("binary_cross_entropy", loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None,
                                     size_average: Any = None, reduce: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """BCE on logits, stable for any |x|: (1−t)·x − (1 + (pos_weight−1)·t)·log σ(x),
    as `torch.nn.functional.binary_cross_entropy_with_logits`."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    output, target = _pair("binary_cross_entropy_with_logits", input, target)
    t = _in_dtype_of(target, output)
    log_sig = _tensor.logsigmoid(output)
    if pos_weight is not None:
        log_sig = log_sig * ((_constant_like(pos_weight, output) - 1) * t + 1)
    loss = output * (1 - t) - log_sig
    if weight is not None:
        loss = _times_weight("binary_cross_entropy_with_logits", loss, weight)
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)
