"""One small class per primitive op: `forward` on ndarrays, `backward` on ndarrays.

Before `forward` runs, the recorder sets `self.needs` (which inputs need a gradient), so an
op saves only the arrays its backward will use, as PyTorch does: `x * w` with data `x`
keeps `x` (for w's gradient) but not `w`. The recorder then notes the version of every
tensor whose array was kept, and backward refuses to run if one changed since. `backward`
returns one gradient per input, None where no gradient is needed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from .autograd import AxisError, Function, ShapeError, unbroadcast

# 2-D products go to `numpy.dot`, the text's own call: it hands every 2-D shape to BLAS,
# while `numpy.matmul` takes a slow loop for some (an outer product δ·xᵀ with an inner size
# of 1 costs 75 µs through matmul and 8 µs through dot for 100×784 here). Same numbers.
_dot = np.dot


# A 0-d array operand costs NumPy about half what a Python number does (a * c 0.5 µs,
# a * 0.9 0.9-1.4 µs for 16 floats here), and the same few numbers come back every step;
# so numbers meeting arrays are cached read-only 0-d arrays of the array's dtype.
# (Exponents stay numbers: x ** 2 is NumPy's fast square.)
_CONSTANTS: dict = {}


def constant(value: float, dtype: np.dtype) -> np.ndarray:
    """`value` as a read-only 0-d array of `dtype` (cached)."""
    key = (value, dtype)
    c = _CONSTANTS.get(key)
    if c is None:
        c = np.array(value, dtype=dtype)
        c.flags.writeable = False
        if value == value and value != 0 and len(_CONSTANTS) < 4096:  # not NaN or ±0
            _CONSTANTS[key] = c
    return c


def _shape(x) -> tuple:
    """The shape of an operand: an array, or a Python number (shape ())."""
    return x.shape if isinstance(x, np.ndarray) else ()


def _axes(axis, ndim: int, op: str) -> tuple:
    """An axis argument (None, an int or a sequence of ints) -> a sorted tuple of
    non-negative axes; errors name the op."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for ax in items:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -max(ndim, 1) <= ax < max(ndim, 1):
            raise AxisError(f"{op}: axis {ax} is out of range for a tensor of {ndim} "
                             f"dimension(s)")
        out.append(int(ax) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out)) if ndim else ()


def _restore(g: np.ndarray, shape: tuple, axes: tuple, keepdims: bool) -> np.ndarray:
    """Put the reduced axes of a reduction's output gradient back as size 1, so it
    broadcasts against the input of `shape`."""
    if keepdims or not axes:
        return g
    return g.reshape([1 if i in axes else n for i, n in enumerate(shape)])


# ----------------------------------------------------------------------------- binary ops


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        na, nb = self.needs
        return (self.sum_to_input(g, 0) if na else None,
                self.sum_to_input(g, 1) if nb else None)


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        na, nb = self.needs
        return (self.sum_to_input(g, 0) if na else None,
                self.sum_to_input(-g, 1) if nb else None)


class Mul(Function):
    def forward(self, a, b):
        na, nb = self.needs
        if na:
            self.b = b  # ∂(a·b)/∂a = b
        if nb:
            self.a = a
        return a * b

    def backward(self, g):
        na, nb = self.needs
        ga = self.sum_to_input(g * self.b, 0) if na else None
        if na and nb and self.a is self.b:  # x * x: both gradients are g·x, computed once
            return ga, ga
        return ga, self.sum_to_input(g * self.a, 1) if nb else None


class Div(Function):
    def forward(self, a, b):
        na, nb = self.needs
        if na or nb:
            self.b = b
        if nb:
            self.a = a
        return a / b

    def backward(self, g):
        na, nb = self.needs
        ga = self.sum_to_input(g / self.b, 0) if na else None
        # ∂(a/b)/∂b = −a/b²
        gb = self.sum_to_input(-g * self.a / (self.b * self.b), 1) if nb else None
        return ga, gb


class Reciprocal(Function):
    """1/a; backward −g/a² written with the output, −g·out² (what PyTorch keeps)."""

    def forward(self, a):
        with np.errstate(divide="ignore"):
            self.out = out = np.reciprocal(a)
        return out

    def backward(self, g):
        return (-g * self.out * self.out,)


class Pow(Function):
    """`a ** b`. Where the exponent is 0 the base's gradient is 0 (also at a = 0, where
    b·a^(b−1) would be 0·inf); where the base is 0 and b >= 0, the exponent's is 0."""

    def forward(self, a, b):
        na, nb = self.needs
        out = a**b
        if na or nb:
            self.a, self.b = a, b
        if nb:
            self.out = out
        return out

    def backward(self, g):
        na, nb = self.needs
        a, b = self.a, self.b
        ga = gb = None
        if na:  # b·a^(b−1), and 0 where b = 0
            if not isinstance(b, np.ndarray):  # a number exponent
                if b == 2:  # the usual x ** 2: g·2a
                    ga = g * (a + a)
                else:
                    ga = g * constant(b, g.dtype) * a ** (b - 1) if b != 0 else np.zeros_like(g)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ga = np.where(b == 0, 0, g * b * a ** (b - 1)).astype(g.dtype)
            ga = self.sum_to_input(ga, 0)
        if nb:  # a^b·ln a, and 0 where a = 0 and b >= 0
            with np.errstate(divide="ignore", invalid="ignore"):
                d = np.where((a == 0) & (b >= 0), 0, g * self.out * np.log(a))
            gb = self.sum_to_input(d, 1).astype(g.dtype)
        return ga, gb


def _binary_where(pick_a, g, sa, sb, needs):
    """Gradients of maximum/minimum: `pick_a` is 1 where a won, 0 where b won and ½ on a
    tie (shared evenly, as PyTorch)."""
    na, nb = needs
    return (unbroadcast(g * pick_a, sa) if na else None,
            unbroadcast(g * (1 - pick_a), sb) if nb else None)


class Maximum(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        pick_a = np.where(a == b, 0.5, (a > b)).astype(g.dtype)
        return _binary_where(pick_a, g, _shape(a), _shape(b), self.needs)


class Minimum(Maximum):
    def forward(self, a, b):
        self.a, self.b = a, b
        return np.minimum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        pick_a = np.where(a == b, 0.5, (a < b)).astype(g.dtype)
        return _binary_where(pick_a, g, _shape(a), _shape(b), self.needs)


class MatMul(Function):
    """`numpy.matmul`: 1-D operands are promoted (and the added axis removed after),
    batch axes broadcast. `transpose_b=True` computes a·bᵀ for a 2-D b: nn.Linear's x·Wᵀ,
    the text's X = W·I with samples as rows, with no Transpose node and no copy of W."""

    def forward(self, a, b, transpose_b=False):
        na, nb = self.needs
        if a.ndim == 0 or b.ndim == 0 or (transpose_b and b.ndim != 2):
            raise matmul_error(a.shape, b.shape, transpose_b)
        if transpose_b:
            self.info = "x·Wᵀ"
        self.transposed = transpose_b
        self.shapes = _shape(a), _shape(b)
        if na:
            self.b = b
        if nb:
            self.a = a
        bt = b.T if transpose_b else b
        try:
            return _dot(a, bt) if a.ndim == 2 and bt.ndim == 2 else np.matmul(a, bt)
        except ValueError:
            raise matmul_error(a.shape, b.shape, transpose_b) from None

    def backward(self, g):
        if self.transposed:
            return self._linear_backward(g)
        (sa, sb), (na, nb) = self.shapes, self.needs
        if len(sa) == 2 and len(sb) == 2:  # the common case: ∂a = g·bᵀ, ∂b = aᵀ·g
            return (_dot(g, self.b.T) if na else None, _dot(self.a.T, g) if nb else None)
        # promote 1-D operands to matrices (a row, b a column), as matmul did
        a_shape = (1, *sa) if len(sa) == 1 else sa
        b_shape = (*sb, 1) if len(sb) == 1 else sb
        batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
        g = g.reshape(*batch, a_shape[-2], b_shape[-1])
        ga = gb = None
        if na:
            bt = np.swapaxes(self.b.reshape(b_shape), -1, -2)
            ga = unbroadcast(np.matmul(g, bt), a_shape).reshape(sa)
        if nb:
            at = np.swapaxes(self.a.reshape(a_shape), -1, -2)
            gb = unbroadcast(np.matmul(at, g), b_shape).reshape(sb)
        return ga, gb

    def _linear_backward(self, g):
        """out = a·Wᵀ: ∂a = g·W, ∂W = gᵀ·a (summed over the rows of a and g)."""
        (_, sw), (na, nw) = self.shapes, self.needs
        ga = (_dot(g, self.b) if g.ndim <= 2 else np.matmul(g, self.b)) if na else None
        gw = _dot(g.reshape(-1, sw[0]).T, self.a.reshape(-1, sw[1])) if nw else None
        return ga, gw


def matmul_error(sa: tuple, sb: tuple, transpose_b: bool = False) -> ShapeError:
    """The error for operands `@` cannot multiply, naming both shapes."""
    op = "linear" if transpose_b else "matmul"
    if len(sa) == 0 or len(sb) == 0:
        return ShapeError(f"{op}: both operands need at least one dimension, got shapes "
                          f"{sa} and {sb}")
    if transpose_b:
        if len(sb) != 2:
            return ShapeError(f"linear: the weight must be 2-D (out_features, in_features), "
                              f"got shape {sb}")
        return ShapeError(f"linear: input of shape {sa} does not fit a weight of shape {sb} "
                          f"(it needs {sb[1]} features in its last axis)")
    k1, k2 = sa[-1], (sb[0] if len(sb) == 1 else sb[-2])
    if k1 != k2:
        return ShapeError(f"matmul: shapes {sa} and {sb} do not align: {k1} != {k2}")
    return ShapeError(f"matmul: batch shapes of {sa} and {sb} cannot be broadcast together")


# ----------------------------------------------------------------------------- element-wise


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Exp(Function):
    def forward(self, a):
        self.out = out = np.exp(a)
        return out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, g):
        return (g / self.a,)


# From this many elements on, Sigmoid computes 1 / (1 + e^(−x)) with NumPy's exp rather
# than SciPy's expit (the two differ by an ulp or two in float32; eager and compiled
# steps use the same rule, so their numbers agree).
SIGMOID_BY_EXP = 4096


class Sigmoid(Function):
    """σ(x) = 1 / (1 + e^(−x)); backward is the text's `grad·o·(1−o)`."""

    def forward(self, a):
        if a.size < SIGMOID_BY_EXP:
            out = expit(a)  # 1 / (1 + e^(−a)) as one ufunc (the text's), without overflow
            if out.dtype != a.dtype:  # float16: expit has no loop for it, computes wider
                out = out.astype(a.dtype)
        else:  # NumPy's SIMD exp: ~3x faster than expit's scalar loop on a 64×200 batch
            with np.errstate(over="ignore"):  # e^(−a) = inf for a < −88 (float32): σ = 0
                out = 1 / (1 + np.exp(-a))
        self.out = out
        return out

    def backward(self, g):
        o = self.out
        return (g * o * (constant(1, o.dtype) - o),)


class LogSigmoid(Function):
    """log σ(x) = min(x, 0) − log(1 + e^(−|x|)), finite for any x; backward is
    grad·(1 − σ(x)) = grad·σ(−x)."""

    def forward(self, a):
        self.a = a
        return (np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))).astype(a.dtype, copy=False)

    def backward(self, g):
        with np.errstate(over="ignore"):  # e^x = inf for very large x gives σ(−x) = 0
            s = 1 / (1 + np.exp(self.a))
        return (g * s.astype(self.a.dtype, copy=False),)


class BinaryCrossEntropy(Function):
    """−(t·log x + (1−t)·log(1−x)) per element for probabilities x, each log clamped to
    >= −100, as PyTorch; x's gradient is PyTorch's grad·(x − t) / max(x(1−x), 1e-12),
    the target's grad·(log(1−x) − log x). The range check is part of the op, so a
    compiled step checks every call's input."""

    def forward(self, x, t):
        if x.size and (np.any(x < 0) or np.any(x > 1) or np.any(np.isnan(x))):
            raise RuntimeError("binary_cross_entropy: all elements of input should be "
                               "between 0 and 1")
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        nx, nt = self.needs
        if nx:
            self.x, self.t = x, t
        if nt:
            self.log_x, self.log_1mx = log_x, log_1mx
        return ((t - 1) * log_1mx - t * log_x).astype(x.dtype, copy=False)

    def backward(self, g):
        nx, nt = self.needs
        gx = gt = None
        if nx:
            x, t = self.x, self.t
            denom = np.maximum((1 - x) * x, 1e-12)
            gx = (g * (x - t) / denom).astype(x.dtype, copy=False)
        if nt:
            gt = (g * (self.log_1mx - self.log_x)).astype(g.dtype, copy=False)
        return gx, gt


class Tanh(Function):
    def forward(self, a):
        self.out = out = np.tanh(a)
        return out

    def backward(self, g):
        o = self.out  # 1 − tanh²
        return (g * (constant(1, o.dtype) - o * o),)


class ReLU(Function):
    def forward(self, a):
        self.out = out = np.maximum(a, 0, dtype=a.dtype)
        return out

    def backward(self, g):  # where the output is ≤ 0 the gradient is 0, even for an
        return (np.where(self.out <= 0, 0, g),)  # infinite g (g·0 would be NaN), as torch


class LeakyReLU(Function):
    def forward(self, a, negative_slope=0.01):
        self.a, self.slope = a, negative_slope
        return np.where(a > 0, a, a * negative_slope).astype(a.dtype, copy=False)

    def backward(self, g):
        return (np.where(self.a > 0, g, g * self.slope).astype(g.dtype, copy=False),)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, g):
        return (g * np.sign(self.a),)


class Sqrt(Function):
    def forward(self, a):
        self.out = out = np.sqrt(a)
        return out

    def backward(self, g):
        with np.errstate(divide="ignore"):
            return (g / (2 * self.out),)


class Sin(Function):
    def forward(self, a):
        self.a = a
        return np.sin(a)

    def backward(self, g):
        return (g * np.cos(self.a),)


class Cos(Function):
    def forward(self, a):
        self.a = a
        return np.cos(a)

    def backward(self, g):
        return (-g * np.sin(self.a),)


class Clamp(Function):
    """Clip to [min, max] (either may be None); the gradient passes where min <= x <= max,
    as PyTorch."""

    def forward(self, a, min=None, max=None):  # noqa: A002  (PyTorch's names)
        self.a, self.lo, self.hi = a, min, max
        self.info = f"[{min}, {max}]"
        return np.clip(a, min, max).astype(a.dtype, copy=False)

    def backward(self, g):
        a, keep = self.a, np.ones(self.a.shape, dtype=bool)
        if self.lo is not None:
            keep &= a >= self.lo
        if self.hi is not None:
            keep &= a <= self.hi
        return (g * keep,)


class Cast(Function):
    """A copy in another dtype (`x.double()`); the gradient is cast back."""

    def forward(self, a, dtype=None):
        self.dtype = a.dtype
        self.info = str(dtype)
        return a.astype(dtype)

    def backward(self, g):
        return (g.astype(self.dtype),)


class Clone(Function):
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


class Copy(Function):
    """`a.copy_(src)`: the result is `src` broadcast to a's shape in a's dtype; the old
    values of `a` are gone, so `a`'s gradient is zero (a zero array, as PyTorch: the graph
    before the copy is still walked, and `.grad` of its leaves becomes zeros, not None)."""

    def forward(self, a, src):
        self.dtype, self.src_shape = src.dtype, src.shape
        try:
            return np.broadcast_to(src, a.shape).astype(a.dtype)
        except ValueError:
            raise ShapeError(f"copy_: a source of shape {src.shape} cannot be broadcast to "
                             f"shape {a.shape}") from None

    def backward(self, g):
        na, ns = self.needs
        return (np.zeros_like(g) if na else None,
                unbroadcast(g, self.src_shape).astype(self.dtype) if ns else None)


class Dropout(Function):
    """Zero each element with probability p and scale the rest by 1/(1−p); the mask is
    drawn from `generator` at every call (a function giving the generator is called then,
    so the global one that `manual_seed` replaces is always the current one)."""

    def forward(self, a, p=0.5, generator=None):
        gen = generator() if callable(generator) else generator
        keep = gen.random(a.shape) >= p
        self.mask = keep.astype(a.dtype) * a.dtype.type(1.0 / (1.0 - p))
        self.info = f"p={p}"
        return a * self.mask

    def backward(self, g):
        return (g * self.mask,)


# ----------------------------------------------------------------------------- reductions


class Sum(Function):
    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.keepdim = a.shape, keepdim
        self.axes = _axes(dim, a.ndim, "sum")
        if dim is not None:
            self.info = self.axes
        return a.sum(self.axes, keepdims=keepdim)  # the method: np.sum adds ~1 µs of dispatch

    def backward(self, g):
        out = np.empty(self.shape, dtype=g.dtype)
        out[...] = _restore(g, self.shape, self.axes, self.keepdim)  # each input gets its sum's
        return (out,)


class Mean(Function):
    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.keepdim = a.shape, keepdim
        self.axes = _axes(dim, a.ndim, "mean")
        if dim is not None:
            self.info = self.axes
        self.count = math.prod(a.shape[i] for i in self.axes)
        total = a.sum(self.axes, keepdims=keepdim)
        if self.count == 0:  # the mean of nothing is NaN (as PyTorch), without a warning
            return np.full_like(total, np.nan)
        return np.asarray(total / constant(self.count, total.dtype))

    def backward(self, g):
        out = np.empty(self.shape, dtype=g.dtype)
        out[...] = _restore(g, self.shape, self.axes, self.keepdim) / max(self.count, 1)
        return (out,)


class Max(Function):
    """Largest value over dims (`amax`); tied maxima share the gradient evenly."""

    reduce = staticmethod(np.max)
    label = "amax"

    def forward(self, a, dim=None, keepdim=False):
        self.axes = _axes(dim, a.ndim, self.label)
        if dim is None and a.size == 0:
            raise ShapeError(f"{self.label}: cannot reduce an empty tensor of shape {a.shape} "
                             f"without a dim")
        if any(a.shape[i] == 0 for i in self.axes):
            raise ShapeError(f"{self.label}: cannot reduce over an empty dim of shape "
                             f"{a.shape}")
        if dim is not None:
            self.info = self.axes
        self.keepdim = keepdim
        self.a = a
        self.out = out = self.reduce(a, axis=self.axes, keepdims=keepdim)
        return out

    def backward(self, g):
        a, axes, k = self.a, self.axes, self.keepdim
        mask = a == _restore(self.out, a.shape, axes, k)
        share = _restore(g, a.shape, axes, k) / mask.sum(axis=axes, keepdims=True)
        return ((mask * share).astype(g.dtype, copy=False),)


class Min(Max):
    reduce = staticmethod(np.min)
    label = "amin"


class MaxDim(Function):
    """Values of `max(dim)`; the gradient goes to the index that was picked (the first
    maximum, as the indices that `argmax` returns)."""

    pick = staticmethod(np.argmax)
    label = "max"

    def forward(self, a, dim=0, keepdim=False):
        (axis,) = _axes(dim, a.ndim, self.label) or (0,)
        if a.ndim and a.shape[axis] == 0:
            raise ShapeError(f"{self.label}: cannot reduce over an empty dim of shape {a.shape}")
        self.shape, self.axis, self.keepdim, self.info = a.shape, axis, keepdim, axis
        if a.ndim == 0:
            self.index = None
            return a.copy()
        self.index = index = np.expand_dims(self.pick(a, axis=axis), axis)
        out = np.take_along_axis(a, index, axis)
        return out if keepdim else out.squeeze(axis)

    def backward(self, g):
        if self.index is None:
            return (g,)
        out = np.zeros(self.shape, dtype=g.dtype)
        g = g if self.keepdim else np.expand_dims(g, self.axis)
        np.put_along_axis(out, self.index, g, self.axis)
        return (out,)


class MinDim(MaxDim):
    pick = staticmethod(np.argmin)
    label = "min"


class Prod(Function):
    """Product over dims; each element's gradient is the product of the others (computed
    with exclusive running products, so zeros are handled exactly)."""

    def forward(self, a, dim=None, keepdim=False):
        self.axes = _axes(dim, a.ndim, "prod")
        self.keepdim, self.a = keepdim, a
        if dim is not None:
            self.info = self.axes
        return np.prod(a, axis=self.axes, keepdims=keepdim)

    def backward(self, g):
        a, axes = self.a, self.axes
        n = len(axes)
        moved = np.moveaxis(a, axes, range(a.ndim - n, a.ndim))  # reduced axes last
        flat = moved.reshape(*moved.shape[: a.ndim - n], -1)
        ones = np.ones_like(flat[..., :1])
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
        right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], -1), -1)[..., ::-1]
        others = np.moveaxis((left * right).reshape(moved.shape),
                             range(a.ndim - n, a.ndim), axes)
        return (_restore(g, a.shape, axes, self.keepdim) * others,)


class Var(Function):
    """Variance over dims with `correction` (1: the unbiased estimate, PyTorch's default)."""

    def forward(self, a, dim=None, correction=1, keepdim=False):
        self.axes = _axes(dim, a.ndim, "var")
        self.a, self.keepdim = a, keepdim
        self.dof = int(np.prod([a.shape[i] for i in self.axes])) - correction
        if dim is not None:
            self.info = self.axes
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.var(a, axis=self.axes, ddof=correction, keepdims=keepdim),
                              dtype=a.dtype)

    def backward(self, g):
        a = self.a
        centred = a - a.mean(axis=self.axes, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = 2 / np.asarray(self.dof, dtype=g.dtype) if self.dof > 0 else np.nan
        g = _restore(g, a.shape, self.axes, self.keepdim)
        return ((g * scale * centred).astype(g.dtype, copy=False),)


class Softmax(Function):
    def forward(self, a, dim=-1):
        axes = _axes(dim, a.ndim, "softmax")  # a 0-d tensor takes dim 0 or -1, as PyTorch
        if a.ndim == 0:  # the softmax of one number is 1 (as PyTorch)
            self.out = out = np.ones_like(a)
            self.axis = None
            return out
        (self.axis,) = axes
        e = np.exp(a - a.max(axis=self.axis, keepdims=True))
        self.out = out = e / e.sum(axis=self.axis, keepdims=True)
        self.info = self.axis
        return out

    def backward(self, g):
        o = self.out  # ∂L/∂x = o·(g − Σ g·o)
        return (o * (g - (g * o).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    def forward(self, a, dim=-1):
        axes = _axes(dim, a.ndim, "log_softmax")  # a 0-d tensor takes dim 0 or -1, as PyTorch
        if a.ndim == 0:
            self.out = out = np.zeros_like(a)
            self.axis = None
            return out
        (self.axis,) = axes
        shifted = a - a.max(axis=self.axis, keepdims=True)
        self.out = out = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.info = self.axis
        return out

    def backward(self, g):
        # ∂L/∂x = g − softmax(x)·Σ g
        return (g - np.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)


# ----------------------------------------------------------------------------- shape ops


class Reshape(Function):
    def forward(self, a, shape=(), name="reshape"):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:  # `name`: the method the user called (reshape or view)
            raise ShapeError(f"{name}: cannot reshape a tensor of shape {a.shape} "
                             f"({a.size} elements) into shape {tuple(shape)}") from None

    def backward(self, g):
        return (g.reshape(self.shape),)


class Transpose(Function):
    """Permute the axes (`axes=None` reverses them, as NumPy)."""

    def forward(self, a, axes=None):
        if axes is not None:
            axes = tuple(axes)
            norm = [int(x) % a.ndim if -a.ndim <= x < a.ndim else None for x in axes] \
                if a.ndim else [None] * len(axes)
            if len(axes) != a.ndim or sorted(map(str, norm)) != sorted(map(str, range(a.ndim))):
                error = AxisError if None in norm else ShapeError  # out of range: IndexError
                raise error(f"transpose: axes {axes} are not a permutation of the {a.ndim} "
                            f"axes of shape {a.shape}")
            axes = tuple(norm)
        self.axes = self.info = axes
        return a.transpose(axes)

    def backward(self, g):
        return (g.transpose(None if self.axes is None else np.argsort(self.axes)),)


class Expand(Function):
    """Broadcast to a larger shape (a read-only view, as PyTorch's expand)."""

    def forward(self, a, shape=()):
        self.shape = a.shape
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ShapeError(f"expand: cannot expand shape {a.shape} to {tuple(shape)}") \
                from None

    def backward(self, g):
        return (unbroadcast(g, self.shape),)


class Repeat(Function):
    """Tile the tensor `repeats` times along each axis (`torch.Tensor.repeat`)."""

    def forward(self, a, repeats=()):
        if len(repeats) < a.ndim:
            raise ShapeError(f"repeat: {len(repeats)} repeat counts for a tensor of shape "
                             f"{a.shape} (need at least {a.ndim})")
        self.shape, self.repeats = a.shape, tuple(repeats)
        return np.tile(a, self.repeats)

    def backward(self, g):
        shape = (1,) * (len(self.repeats) - len(self.shape)) + self.shape
        split = [n for r, s in zip(self.repeats, shape) for n in (r, s)]
        return (g.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(self.shape),)


class Index(Function):
    """`a[idx]`; gradients of repeated integer indices accumulate (`np.add.at`)."""

    def forward(self, a, idx=()):
        self.shape, self.idx = a.shape, idx
        try:
            out = a[idx]
            if not isinstance(out, np.ndarray):  # integers for every axis: NumPy gives a
                out = a[(*idx, ...) if isinstance(idx, tuple) else (idx, ...)]  # scalar copy
            return out  # ... where the same index with `...` is the 0-d view (as torch)
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor of shape {a.shape})") from None

    def backward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        np.add.at(out, self.idx, g)
        return (out,)


class SetItem(Function):
    """`a[idx] = v` as a new array; the overwritten places send no gradient to `a`."""

    def forward(self, a, v, idx=()):
        self.idx, self.v_shape = idx, np.shape(v)
        out = a.copy()
        try:
            out[idx] = v
        except IndexError as e:
            raise IndexError(f"setitem: {e} (tensor of shape {a.shape})") from None
        except ValueError:
            raise ShapeError(f"setitem: a value of shape {np.shape(v)} does not fit the "
                             f"selected shape {out[idx].shape}") from None
        return out

    def backward(self, g):
        na, nv = self.needs
        ga = gv = None
        if na:
            ga = g.copy()
            ga[self.idx] = 0
        if nv:
            gv = unbroadcast(np.asarray(g[self.idx]), self.v_shape)
        return ga, gv


class Cat(Function):
    """Join tensors along an existing dim."""

    def forward(self, *arrays, dim=0):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        self.info = dim
        return np.concatenate(arrays, axis=dim)

    def backward(self, g):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(part if need else None
                     for part, need in zip(np.split(g, cuts, axis=self.dim), self.needs))


class Where(Function):
    """`cond ? a : b` element-wise (the condition gets no gradient)."""

    def forward(self, cond, a, b):
        self.cond, self.shapes = cond, (_shape(a), _shape(b))
        return np.where(cond, a, b)

    def backward(self, g):
        (sa, sb), (_, na, nb) = self.shapes, self.needs
        zero = np.zeros((), dtype=g.dtype)
        return (None, unbroadcast(np.where(self.cond, g, zero), sa) if na else None,
                unbroadcast(np.where(self.cond, zero, g), sb) if nb else None)


# ----------------------------------------------------------------------------- no gradient


class NoGrad(Function):
    """An op whose output never requires grad (comparisons, argmax, one_hot): it still
    runs through the recorder so that `compile` sees it."""

    differentiable = False
    func = None

    def forward(self, *arrays, **attrs):
        return np.asarray(type(self).func(*arrays, **attrs))


def _no_grad_op(name: str, func) -> type:
    return type(name, (NoGrad,), {"func": staticmethod(func)})


Eq = _no_grad_op("Eq", np.equal)
Ne = _no_grad_op("Ne", np.not_equal)
Lt = _no_grad_op("Lt", np.less)
Le = _no_grad_op("Le", np.less_equal)
Gt = _no_grad_op("Gt", np.greater)
Ge = _no_grad_op("Ge", np.greater_equal)
LogicalNot = _no_grad_op("LogicalNot", np.logical_not)
All = _no_grad_op("All", lambda a, dim=None, keepdim=False: np.all(a, axis=dim, keepdims=keepdim))
Any = _no_grad_op("Any", lambda a, dim=None, keepdim=False: np.any(a, axis=dim, keepdims=keepdim))


def _arg(pick):
    def run(a, dim=None, keepdim=False):
        if dim is None:
            return np.asarray(pick(a), dtype=np.int64).reshape((1,) * a.ndim if keepdim else ())
        return pick(a, axis=dim, keepdims=keepdim).astype(np.int64)
    return run


FloorDiv = _no_grad_op("FloorDiv", np.floor_divide)
Remainder = _no_grad_op("Remainder", np.remainder)
BitwiseAnd = _no_grad_op("BitwiseAnd", np.bitwise_and)
BitwiseOr = _no_grad_op("BitwiseOr", np.bitwise_or)
BitwiseXor = _no_grad_op("BitwiseXor", np.bitwise_xor)
Invert = _no_grad_op("Invert", np.invert)
Argmax = _no_grad_op("Argmax", _arg(np.argmax))
Argmin = _no_grad_op("Argmin", _arg(np.argmin))


# ------------------------------------------------------------------ class targets
# Losses on class indices check and use the targets inside ops, not in Python, so that a
# compiled step (which replays ops) checks and uses every call's targets.


class TargetOutOfRange(IndexError, ValueError):
    """A class index outside [0, C): an IndexError as in PyTorch, and a ValueError (bad
    input) as this project's errors are."""


class ClassIndices(NoGrad):
    """Class-index targets -> int64, checked against [0, n_classes) (`ignore_index`
    aside). Integral floats are accepted (as the loss functions always have)."""

    @staticmethod
    def func(t, n_classes=0, ignore_index=-100, loss="loss"):
        if t.dtype.kind == "f":
            if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
                raise TypeError(f"{loss}: target must hold integer class indices (or class "
                                f"probabilities of the input's shape), got floats")
        elif t.dtype.kind not in "iu":
            raise TypeError(f"{loss}: target must hold integer class indices, got dtype {t.dtype}")
        t = t.astype(np.int64)
        bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
        if bad.any():
            raise TargetOutOfRange(f"{loss}: target index {int(t[bad].reshape(-1)[0])} is out "
                                   f"of range for {n_classes} classes (Target is out of bounds)")
        return t


class OneHot(NoGrad):
    """Class indices (...) -> int64 rows (..., num_classes) with a 1 at each index."""

    @staticmethod
    def func(t, num_classes=-1):
        if t.dtype.kind not in "iu":
            raise TypeError(f"one_hot: class indices must be an integer tensor, got dtype "
                            f"{t.dtype}")
        if num_classes == -1:
            if not t.size:
                raise ValueError("one_hot: cannot infer num_classes from an empty tensor")
            num_classes = int(t.max()) + 1
        if t.size and (t.min() < 0 or t.max() >= num_classes):
            raise TargetOutOfRange(f"one_hot: class values must be in [0, {num_classes}), got "
                                   f"values from {t.min()} to {t.max()}")
        return (t[..., None] == np.arange(num_classes)).astype(np.int64)


class NLLLoss(Function):
    """PyTorch's nll_loss as one op: −w[t]·logp[i, t] for each row i of the (N, C)
    log-probabilities and int64 class indices t (0 where t is `ignore_index`), then
    summed, divided by Σ w[t] ("mean") or kept per row ("none")."""

    def forward(self, logp, t, weight=None, ignore_index=-100, reduction="mean"):
        keep = t != ignore_index
        safe = np.where(keep, t, 0)
        w = np.ones(logp.shape[1], logp.dtype) if weight is None else weight
        wt = np.where(keep, w[safe], 0).astype(logp.dtype)
        picked = logp[np.arange(len(t)), safe]
        losses = -(picked * wt) if weight is not None or not keep.all() else -picked
        self.shape, self.safe, self.wt, self.reduction = logp.shape, safe, wt, reduction
        if reduction == "none":
            return losses
        if reduction == "sum":
            return losses.sum()
        self.total_weight = wt.sum(dtype=logp.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: NaN
            return np.asarray(losses.sum()) / self.total_weight

    def backward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        if self.reduction == "mean":
            if self.total_weight == 0:  # every target ignored: no gradient (as PyTorch)
                return out, None
            g = g / self.total_weight
        out[np.arange(len(self.safe)), self.safe] = -g * self.wt  # each row's one place
        return out, None
