"""One small class per primitive op: `forward` on ndarrays, `backward` on ndarrays.

Inputs that were Python numbers (constants) have `None` in `parents`; their gradient
is never computed. Each backward checks `parents[i].requires_grad` first so that
no work is done for inputs that need no gradient (e.g. the data in `x @ W`). Ops save
the arrays their backward needs (Mul its inputs, Sigmoid its output) and drop them when
backward frees the graph.
"""

from __future__ import annotations

import math

import numpy as np

from .autograd import Function, ShapeError, unbroadcast

__all__ = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow", "MatMul", "Sum", "Mean", "Max", "Reshape",
    "Transpose", "Index", "Exp", "Log", "Sigmoid", "Tanh", "ReLU", "Softmax", "LogSoftmax",
]


def _shape(x) -> tuple:
    return x.shape if isinstance(x, np.ndarray) else np.shape(x)


# ----------------------------------------------------------------------------- binary ops


class BinaryOp(Function):
    """Element-wise op with NumPy broadcasting; `name` appears in error messages."""

    name = "binary"

    def broadcast_error(self, a, b) -> ShapeError:
        return ShapeError(
            f"{self.name}: shapes {_shape(a)} and {_shape(b)} cannot be broadcast together"
        )


class Add(BinaryOp):
    name = "add"

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        pa, pb = self.parents
        ga = gb = None
        if pa is not None and pa.requires_grad:
            s = pa.out_shape
            ga = g if g.shape == s else unbroadcast(g, s)
        if pb is not None and pb.requires_grad:
            s = pb.out_shape
            gb = g if g.shape == s else unbroadcast(g, s)
        return ga, gb


class Sub(BinaryOp):
    name = "sub"

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        pa, pb = self.parents
        ga = gb = None
        if pa is not None and pa.requires_grad:
            s = pa.out_shape
            ga = g if g.shape == s else unbroadcast(g, s)
        if pb is not None and pb.requires_grad:
            s = pb.out_shape
            gb = -g if g.shape == s else unbroadcast(-g, s)
        return ga, gb


class Mul(BinaryOp):
    name = "mul"

    def forward(self, a, b):
        self.a = a
        self.b = b
        return a * b

    def backward(self, g):
        pa, pb = self.parents
        if pa is pb and pa is not None:  # x * x: d(x²)/dx = 2x, one product and a doubling
            ga = g * self.a
            ga += ga  # exactly g·x + g·x, the sum the two branches would give
            return ga, None
        ga = gb = None
        if pa is not None and pa.requires_grad:
            ga = g * self.b
            s = self.a.shape
            if ga.shape != s:
                ga = unbroadcast(ga, s)
        if pb is not None and pb.requires_grad:
            gb = g * self.a
            s = self.b.shape
            if gb.shape != s:
                gb = unbroadcast(gb, s)
        return ga, gb


class Div(BinaryOp):
    name = "div"

    def forward(self, a, b):
        self.b = b
        self.out = out = a / b
        return out

    def backward(self, g):
        pa, pb = self.parents
        g_over_b = g / self.b
        ga = gb = None
        if pa is not None and pa.requires_grad:
            ga = unbroadcast(g_over_b, pa.out_shape)
        if pb is not None and pb.requires_grad:
            # d(a/b)/db = -a/b**2 = -(a/b)/b
            gb = unbroadcast(-g_over_b * self.out, self.b.shape)
        return ga, gb


class Pow(BinaryOp):
    """`a ** b`; usually b is a Python number, but a tensor exponent works too."""

    name = "pow"

    def forward(self, a, b):
        self.a = a
        self.b = b
        self.out = out = a**b
        return out

    def forward_square_total(self, a, total: Sum):
        """Record `a ** 2` followed by the full reduction `total` (Sum or Mean) and return
        that reduction, computed as one dot product a·a: Σa² without the array of squares
        (the backward of x**2 needs only x)."""
        self.a = a
        self.b = 2
        self.out = None  # not computed (only an exponent's gradient would need it)
        return total.forward_total(a.shape, np.vdot(a, a))

    def backward(self, g):
        pa, pb = self.parents
        a, b = self.a, self.b
        ga = gb = None
        if pa is not None and pa.requires_grad:
            # d(a**b)/da = b * a**(b-1)
            if isinstance(b, (int, float)):  # a number exponent: no broadcasting
                if b == 2:  # g·2a, with 2a written a + a (exact; no Python-number operand)
                    ga = a + a
                    ga *= g
                else:
                    ga = g * (b * a ** (b - 1))
            else:
                ga = unbroadcast(g * (b * a ** (b - 1)), a.shape)
        if pb is not None and pb.requires_grad:
            # d(a**b)/db = a**b * ln(a)
            gb = unbroadcast(g * self.out * np.log(a), b.shape)
        return ga, gb


# 2-D products go to `numpy.dot`, the text's own call: it hands every 2-D shape to BLAS,
# while `numpy.matmul` takes a slow loop for some (an outer product δ·xᵀ with an inner size
# of 1 costs 75 µs through matmul and 8 µs through dot for 100×784 here). Same numbers.
_dot = np.dot


class ElementWise(Function):
    """A one-input op whose output has its input's shape. The recorder stores no
    `out_shape` for these (it is the first shape found up the chain of inputs), which
    saves a store on every activation of every step."""

    @property
    def out_shape(self) -> tuple:
        node = self
        while isinstance(node, ElementWise):
            parents = node.parents
            node = (parents if parents is not None else node.kept)[0]
        return node.out_shape


class MatMul(Function):
    """`numpy.matmul`: 1-D operands are promoted (and the added axis removed after),
    batch axes broadcast. `forward_t` computes `a @ b.T` for a 2-D `b` (the text's
    X = W·I with samples as rows, as nn.Linear uses it) without a Transpose node."""

    name = "matmul"
    transposed = False

    def forward(self, a, b):
        self.a = a
        self.b = b
        if a.ndim == 2 and b.ndim == 2:
            return _dot(a, b)
        return np.matmul(a, b)

    def forward_t(self, a, b):
        self.transposed = True
        self.info = "x·Wᵀ"
        self.a = a
        self.b = b
        return _dot(a, b.T) if 0 < a.ndim <= 2 else a @ b.T  # dot takes 0-d without error

    @staticmethod
    def error(a, b) -> ShapeError:
        sa, sb = _shape(a), _shape(b)
        if len(sa) == 0 or len(sb) == 0:
            return ShapeError(
                f"matmul: both operands need at least one dimension, got shapes {sa} and {sb}"
            )
        k1 = sa[-1]
        k2 = sb[0] if len(sb) == 1 else sb[-2]
        if k1 != k2:
            return ShapeError(f"matmul: shapes {sa} and {sb} do not align: {k1} != {k2}")
        return ShapeError(
            f"matmul: batch shapes of {sa} and {sb} cannot be broadcast together"
        )

    def backward(self, g):
        pa, pb = self.parents
        a, b = self.a, self.b
        need_a = pa is not None and pa.requires_grad
        need_b = pb is not None and pb.requires_grad
        if self.transposed:  # out = a @ bᵀ: ∂a = g @ b, ∂b = gᵀ @ a (batch axes summed)
            gb = None
            if need_b:
                if a.ndim == 2:
                    gb = _dot(g.T, a)
                else:  # a 1-D input or batch axes: rows of a and g, summed over by dot
                    gb = _dot(g.reshape(-1, b.shape[0]).T, a.reshape(-1, b.shape[1]))
            ga = None
            if need_a:
                ga = _dot(g, b) if g.ndim <= 2 else g @ b
            return ga, gb
        if a.ndim == 2 and b.ndim == 2:  # the common case, no promotion or reduction
            return (_dot(g, b.T) if need_a else None, _dot(a.T, g) if need_b else None)
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if need_a else None, g * a if need_b else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        ga = gb = None
        if need_a:
            ga = unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape)
            ga = ga.reshape(a.shape)
        if need_b:
            gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb


class Neg(ElementWise):
    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


# ----------------------------------------------------------------------------- reductions


def _norm_axes(axis, ndim: int, op: str) -> tuple:
    """Axis argument -> sorted tuple of non-negative axes; errors name the op."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not isinstance(ax, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= ax < max(ndim, 1):
            raise ShapeError(
                f"{op}: axis {ax} is out of range for a tensor of {ndim} dimension(s)"
            )
        out.append(int(ax) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


class Sum(Function):
    def forward(self, a, axis=None, keepdims=False):
        self.shape = a.shape
        self.keepdims = keepdims
        if axis is None:  # everything: NumPy's fastest path, no axis tuple
            self.axes = None
            return a.sum(keepdims=keepdims)
        self.axes = self.info = axes = _norm_axes(axis, a.ndim, "sum") if a.ndim else ()
        return a.sum(axis=axes, keepdims=keepdims)

    def forward_total(self, shape, value):
        """A full reduction (axis=None) of an array of `shape` whose total `value` was
        computed by the caller."""
        self.shape = shape
        self.keepdims = False
        self.axes = None
        return value

    def keep_axes(self, g):
        """The output gradient with the reduced axes put back as size 1 (a no-op for
        keepdims or a full reduction, where broadcasting needs no help)."""
        axes = self.axes
        if axes and not self.keepdims:
            g = g.reshape([1 if i in axes else n for i, n in enumerate(self.shape)])
        return g

    def expand(self, g):
        """Gradient of a reduction's output -> an array of the input's shape (each input
        element gets the gradient of the output element it was reduced into)."""
        g = self.keep_axes(g)
        out = np.empty(self.shape, dtype=g.dtype)
        out[...] = g  # one C-level broadcast; cheaper than np.broadcast_to for small graphs
        return out

    def backward(self, g):
        return (self.expand(g),)


class Mean(Sum):
    def forward(self, a, axis=None, keepdims=False):
        out = Sum.forward(self, a, axis, keepdims)
        self.count = a.size // max(out.size, 1) if a.size else 1
        return out / self.count if a.size else a.mean(axis=self.axes, keepdims=keepdims)

    def forward_total(self, shape, value):
        Sum.forward_total(self, shape, value)
        self.count = math.prod(shape)
        return value / self.count

    def backward(self, g):
        return (self.expand(g / self.count),)


class Max(Sum):
    """Maximum over axes; the gradient is shared evenly among tied maxima."""

    def forward(self, a, axis=None, keepdims=False):
        if a.size == 0:
            raise ShapeError(f"max: cannot reduce an empty tensor of shape {a.shape}")
        self.shape = a.shape
        self.axes = _norm_axes(axis, a.ndim, "max") if a.ndim else ()
        if axis is not None:
            self.info = self.axes
        self.keepdims = keepdims
        m = a.max(axis=self.axes, keepdims=True)
        self.mask = mask = a == m
        self.count = mask.sum(axis=self.axes, keepdims=True)
        return m if keepdims else m.reshape([n for i, n in enumerate(a.shape)
                                             if i not in self.axes])

    def backward(self, g):
        return (self.mask * (self.keep_axes(g) / self.count),)


# ----------------------------------------------------------------------------- shape ops


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                f"into shape {tuple(shape)}"
            ) from None

    def backward(self, g):
        return (g.reshape(self.shape),)


class Transpose(Function):
    def forward(self, a, axes=None):
        if axes is not None:
            if len(axes) != a.ndim or sorted(int(x) % max(a.ndim, 1) for x in axes) != list(
                range(a.ndim)
            ):
                raise ShapeError(
                    f"transpose: axes {tuple(axes)} are not a permutation of the "
                    f"{a.ndim} axes of shape {a.shape}"
                )
            axes = tuple(int(x) % a.ndim for x in axes)
        self.axes = self.info = axes
        return a.transpose(axes)

    def backward(self, g):
        if self.axes is None:
            return (g.transpose(),)
        return (g.transpose(np.argsort(self.axes)),)


def _is_basic_index(idx) -> bool:
    """True when `a[idx]` can repeat no element (slices, ints, None, Ellipsis, masks)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    for it in items:
        if isinstance(it, np.ndarray):
            if it.dtype != np.bool_:
                return False
        elif isinstance(it, (list, tuple)):
            return False
    return True


class Index(Function):
    """`a[idx]`; gradients of repeated integer indices accumulate (`np.add.at`)."""

    def forward(self, a, idx):
        self.shape = a.shape
        self.dtype = a.dtype
        self.idx = idx
        try:
            return a[idx]
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor of shape {a.shape})") from None

    def backward(self, g):
        out = np.zeros(self.shape, dtype=self.dtype)
        if _is_basic_index(self.idx):
            out[self.idx] = g
        else:
            np.add.at(out, self.idx, g)
        return (out,)


# ----------------------------------------------------------------------------- element-wise


class Exp(ElementWise):
    def forward(self, a):
        self.out = out = np.exp(a)
        return out

    def backward(self, g):
        return (g * self.out,)


class Log(ElementWise):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, g):
        return (g / self.a,)


class _Scalar(dict):
    """dtype -> `value` as a read-only 0-d array of that dtype. An array operand costs
    NumPy about half of what a Python number does. `_ONES` is also the implicit gradient
    of a scalar loss, read-only so that a leaf receiving it gets its own copy."""

    def __init__(self, value: int) -> None:
        super().__init__()
        self.value = value

    def __missing__(self, dtype: np.dtype) -> np.ndarray:
        arr = self[dtype] = np.full((), self.value, dtype)
        arr.flags.writeable = False
        return arr


_ONES = _Scalar(1)
_ZEROS = _Scalar(0)


class _Clip(dict):
    """dtype -> the largest x for which exp(x) is finite (88 for float32, 709 for
    float64), as a 0-d array; clipping −x there changes σ(x) by less than 1e-38."""

    def __missing__(self, dtype: np.dtype) -> np.ndarray:
        clip = self[dtype] = np.array(np.floor(np.log(np.finfo(dtype).max)), dtype)
        clip.flags.writeable = False
        return clip


_SIGMOID_CLIP = _Clip()


class Sigmoid(ElementWise):
    """σ(x) = 1 / (1 + e^(−x)); backward is the text's `grad·o·(1−o)`."""

    def forward(self, a):
        if a.ndim:
            if a.size < 2048:
                # small arrays: clip −x where e^(−x) would overflow, so there is no warning
                # (cheaper than entering np.errstate)
                e = np.minimum(-a, _SIGMOID_CLIP[a.dtype])
                np.exp(e, e)
            else:
                # large arrays: one pass less; an overflow gives e^(−x) = inf and σ = 0
                with np.errstate(over="ignore"):
                    e = np.exp(-a)
            e += _ONES[e.dtype]
            np.reciprocal(e, e)
            out = e
        else:  # 0-d: NumPy scalars take no out= argument
            out = np.asarray(1 / (1 + np.exp(min(-a, _SIGMOID_CLIP[a.dtype]))), dtype=a.dtype)
        self.out = out
        return out

    def backward(self, g):
        o = self.out
        t = _ONES[o.dtype] - o  # g·o·(1−o), with one temporary
        t *= o
        t *= g
        return (t,)


class Tanh(ElementWise):
    def forward(self, a):
        self.out = out = np.tanh(a)
        return out

    def backward(self, g):
        o = self.out
        t = _ONES[o.dtype] - o * o  # g·(1−o²)
        t *= g
        return (t,)


class ReLU(ElementWise):
    def forward(self, a):
        zero = _ZEROS[a.dtype]
        self.mask = a > zero
        return np.maximum(a, zero)

    def backward(self, g):
        return (g * self.mask,)


class Softmax(Function):
    def forward(self, a, axis=-1):
        if a.ndim == 0:
            raise ShapeError("softmax: needs a tensor with at least one dimension, got shape ()")
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        self.out = e
        self.axis = self.info = axis
        return e

    def backward(self, g):
        o = self.out
        # dL/dx = o * (g - Σ g·o)
        return (o * (g - (g * o).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    def forward(self, a, axis=-1):
        if a.ndim == 0:
            raise ShapeError(
                "log_softmax: needs a tensor with at least one dimension, got shape ()"
            )
        shifted = a - a.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.out = out
        self.axis = self.info = axis
        return out

    def backward(self, g):
        # dL/dx = g - softmax(x) * Σ g
        return (g - np.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)
