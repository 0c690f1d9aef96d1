"""Tensor: an ndarray plus the graph node that made it, with PyTorch-shaped sugar.

Every operator is a one-line call into an op of `ops.py`. Graph recording is done here
(`_binary`, `_unary`) so that `autograd.py` never needs to know this class.
"""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Number
from typing import Any
from weakref import ref as _weakref

import numpy as np

from . import ops
from .autograd import ShapeError, _grad_enabled, next_seq, run_backward

__all__ = ["Tensor", "zeros", "ones", "randn", "manual_seed", "generator"]

_ndarray = np.ndarray
_asarray = np.asarray
_FLOAT32 = np.dtype(np.float32)

_rng = [np.random.default_rng()]

_Add, _Sub, _Mul, _Div, _Pow, _MatMul = ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Pow, ops.MatMul
_Neg, _Exp, _Log = ops.Neg, ops.Exp, ops.Log
_Sigmoid, _Tanh, _ReLU = ops.Sigmoid, ops.Tanh, ops.ReLU


def manual_seed(seed: int) -> None:
    """Seed the generator used by `randn` and the weight-init rules."""
    _rng[0] = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The generator `manual_seed` seeds (used by `randn` and `nn.init`)."""
    return _rng[0]


def _check_dtype(dtype: Any, op: str = "Tensor") -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {dtype!r} is not a dtype") from None
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating type such as float32 or float64, "
                        f"got {dt}")
    return dt


def _to_array(data: Any, dtype: Any = None, op: str = "Tensor") -> np.ndarray:
    """Anything array-like -> a fresh floating ndarray (ints, bools and lists -> float32,
    floating arrays keep their dtype), with clear errors for what cannot be a tensor."""
    if isinstance(data, Tensor):
        data = data.data
    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(f"{op}: cannot make a tensor from {type(data).__name__}")
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = data
    elif isinstance(data, (bool, int, float)):
        arr = np.array(data, dtype=_FLOAT32 if dtype is None else dtype)
    else:
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(f"{op}: cannot make a tensor from a ragged or malformed "
                             f"nested sequence ({e})") from None
        if arr.dtype.kind == "f" and dtype is None:
            arr = arr.astype(_FLOAT32)  # lists of Python floats become float32
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise TypeError(f"{op}: cannot make a tensor from data of dtype {arr.dtype} "
                        f"(only numbers: bool, int or float)")
    if dtype is not None:
        target = _check_dtype(dtype, op)
    elif kind == "f":
        target = arr.dtype
    else:
        target = _FLOAT32
    return np.array(arr, dtype=target, copy=True)


def _wrap(data: np.ndarray, requires_grad: bool = False) -> Tensor:
    """Make a leaf Tensor around an array we own, skipping the checks of `__init__`."""
    t = _new(Tensor)
    t.data = data if type(data) is _ndarray else _asarray(data)
    t.grad = None
    t.requires_grad = requires_grad
    t._ctx = None
    t._standin = None
    return t


def _operand(v: Any, op: str) -> tuple:
    """A non-Tensor operand -> (parent, value): numbers stay Python numbers (so they keep
    the tensor's dtype) with no parent; arrays become constant leaf tensors."""
    tv = type(v)
    if tv is float or tv is int:
        return None, v
    if isinstance(v, (bool, int, np.integer)):
        return None, int(v)
    if isinstance(v, (float, np.floating)):
        return None, float(v)
    if isinstance(v, (np.ndarray, list, tuple)):
        t = _wrap(_to_array(v, op=op))
        return t, t.data
    if isinstance(v, Number):
        raise TypeError(f"{op}: unsupported number type {type(v).__name__}")
    raise TypeError(f"{op}: unsupported operand of type {type(v).__name__} "
                    f"(expected a Tensor, an ndarray or a number)")


class _Constants(dict):
    """dtype -> {Python number -> read-only 0-d array of that dtype}. An array operand
    gives the same result as the bare number (NumPy keeps the array's dtype either way)
    at half the cost per use, and training loops reuse the same few numbers."""

    def __missing__(self, dtype: np.dtype) -> dict:
        table = self[dtype] = {}
        return table


_constants = _Constants()


def _constant(value: int | float, dtype: np.dtype) -> np.ndarray:
    """The 0-d array for `value` (cached, except ±0 and NaN, whose keys would collide)."""
    arr = np.array(value, dtype=dtype)
    arr.flags.writeable = False
    if value == value and value != 0:
        table = _constants[dtype]
        if len(table) > 1024:
            table.clear()
        table[value] = arr
    return arr


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x·Wᵀ + b (`torch.nn.functional.linear`): weight (out, in), x (..., in). x·Wᵀ
    is the text's X = W·I with samples as rows, one MatMul node (no Transpose node, no
    copy of the weight); the bias adds an Add node."""
    if type(x) is not Tensor and not isinstance(x, Tensor):
        x = _wrap(_to_array(x, op="linear"))
    if not isinstance(weight, Tensor):
        raise TypeError(f"linear: weight must be a Tensor, got {type(weight).__name__}")
    xd, wd = x.data, weight.data
    fn = _MatMul()
    try:
        if wd.ndim != 2:
            raise ValueError
        d = fn.forward_t(xd, wd)
    except ValueError:
        raise ShapeError(f"linear: input of shape {xd.shape} does not fit a weight of shape "
                         f"{wd.shape} (it needs {wd.shape[1] if wd.ndim == 2 else '?'} "
                         f"features in its last axis)") from None
    t = _new(Tensor)
    t.data = d
    t.grad = None
    if _grad_enabled[0] and (x.requires_grad or weight.requires_grad):  # _output, inlined
        fn.parents = (x._ctx or (x if x.requires_grad else _stand_in(x)),
                      weight._ctx or (weight if weight.requires_grad else _stand_in(weight)))
        fn.out_shape = d.shape
        fn.seq = next_seq()
        t.requires_grad = True
        t._ctx = fn
    else:
        t.requires_grad = False
        t._ctx = None
    return t if bias is None else t + bias


def _axis_args(axis: Any, keepdims: bool, dim: Any, keepdim: Any) -> tuple:
    """Accept NumPy's `axis/keepdims` and PyTorch's `dim/keepdim` spellings."""
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, bool(keepdims)


def _index_value(idx: Any) -> Any:
    """Index pieces -> what NumPy indexes with (Tensors and lists become arrays)."""
    if isinstance(idx, tuple):
        return tuple(_index_value(i) for i in idx)
    if isinstance(idx, Tensor):
        return idx.data.astype(np.int64)
    if isinstance(idx, list):
        return np.asarray(idx)
    return idx


class Tensor:
    """An n-dimensional array of floats that records the ops applied to it, so that
    `.backward()` can fill `.grad` of every leaf that `requires_grad`."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_standin", "_vc", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to our reflected operators (ndarray @ Tensor)
    _leaf = True  # as a graph node, a tensor is always a leaf (ops link to Functions)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if type(data) is _ndarray and dtype is None and data.dtype.kind == "f":
            self.data: np.ndarray = data.copy()  # the common case of _to_array: a batch
        else:
            self.data = _to_array(data, dtype)
        self.grad: Tensor | None = None
        self.requires_grad: bool = bool(requires_grad)
        self._ctx = None
        self._standin = None

    def __getstate__(self) -> dict:
        """Pickle and copy the values only: data, grad, requires_grad (the graph and the
        weak stand-in are not part of a tensor's value; the copy is a leaf)."""
        return {"data": self.data, "grad": self.grad, "requires_grad": self.requires_grad}

    def __setstate__(self, state: dict) -> None:
        self.data = state["data"]
        self.grad = state["grad"]
        self.requires_grad = state["requires_grad"]
        self._ctx = None
        self._standin = None

    # ---------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    out_shape = shape  # the name graph nodes (Functions) use for their output's shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded op (parameters, inputs, constants)."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Any:
        """The op that made this tensor (None for leaves)."""
        return self._ctx

    @property
    def T(self) -> Tensor:  # noqa: N802  (NumPy/PyTorch name)
        return _unary_with(ops.Transpose, self, None)

    @property
    def _version(self) -> int:
        """How many times this tensor's data was changed in place (PyTorch's `_version`)."""
        try:
            return self._vc[0]
        except AttributeError:
            return 0

    def _bump_version(self) -> None:
        """Count one in-place change (optimizer steps, load_state_dict, in-place ops)."""
        try:
            self._vc[0] += 1
        except AttributeError:
            self._vc = [1]

    def numel(self) -> int:
        return int(self.data.size)

    # ---------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        if self.data.size != 1:
            raise ShapeError(f"item: only a one-element tensor converts to a Python number, "
                             f"this one has shape {self.data.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing the data, cut from the graph."""
        return _wrap(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self._ctx is not None and not requires_grad:
            raise RuntimeError("requires_grad_: only leaf tensors can stop requiring grad; "
                               "use .detach() for a non-leaf")
        self.requires_grad = bool(requires_grad)
        return self

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __bool__(self) -> bool:
        return bool(self.data)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ""
        if self.data.dtype != _FLOAT32:
            extra += f", dtype={self.data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ---------------------------------------------------------------- autograd
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad.

        `gradient` (the upstream gradient, of this tensor's shape) is needed unless the
        tensor has one element. The graph is freed afterwards unless `retain_graph`.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad, so there is no graph to "
                "differentiate (create the leaves with requires_grad=True, and do not "
                "compute the output under no_grad())")
        data = self.data
        if gradient is None:
            if data.size != 1:
                raise RuntimeError(
                    f"backward: a gradient can be created implicitly only for a one-element "
                    f"output; this output has shape {data.shape}, so pass gradient= of "
                    f"that shape")
            g = np.ones(data.shape, dtype=data.dtype) if data.ndim else ops._ONES[data.dtype]
        else:
            raw = gradient.data if isinstance(gradient, Tensor) else gradient
            try:
                g = np.array(raw, dtype=data.dtype, copy=True)
            except (TypeError, ValueError):
                raise TypeError(f"backward: gradient must be a Tensor, ndarray or number, "
                                f"got {type(gradient).__name__}") from None
            if g.shape != data.shape:
                if g.ndim == 0 and data.size == 1:
                    g = g.reshape(data.shape)
                else:
                    raise ShapeError(f"backward: gradient has shape {g.shape} but the "
                                     f"output has shape {data.shape}; they must be equal")
        run_backward(self, g, retain_graph)

    def _accumulate_grad(self, g: np.ndarray, handed: set) -> None:
        """Add `g` into `.grad`; the first time, own a private copy unless `g` is a fresh
        array no other leaf holds (views and shared arrays are copied). A gradient of
        another dtype (mixed-precision graphs) is cast to this tensor's dtype."""
        dt = self.data.dtype
        if g.dtype is not dt and g.dtype != dt:
            g = g.astype(dt)
        if self.grad is None:
            if (type(g) is not _ndarray or g.base is not None or id(g) in handed
                    or not g.flags.writeable):
                g = np.array(g, dtype=self.data.dtype, copy=True)
            handed.add(id(g))
            t = _new(Tensor)  # _wrap(g), inlined
            t.data = g
            t.grad = None
            t.requires_grad = False
            t._ctx = t._standin = None
            self.grad = t
        else:
            self.grad.data = self.grad.data + g

    # ---------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return _binary(_Add, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _binary(_Add, other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _binary(_Sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _binary(_Sub, other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _binary(_Mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _binary(_Mul, other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _binary(_Div, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _binary(_Div, other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _binary(_Pow, self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _binary(_Pow, other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _binary(_MatMul, self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _binary(_MatMul, other, self)

    def __neg__(self) -> Tensor:
        return _unary(_Neg, self)

    def __getitem__(self, idx: Any) -> Tensor:
        return _unary_with(ops.Index, self, _index_value(idx))

    # ---------------------------------------------------------------- reductions
    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        return _unary_with(ops.Sum, self, *_axis_args(axis, keepdims, dim, keepdim))

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: bool | None = None) -> Tensor:
        return _unary_with(ops.Mean, self, *_axis_args(axis, keepdims, dim, keepdim))

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        """Maximum (like `torch.amax`): ties share the gradient evenly."""
        return _unary_with(ops.Max, self, *_axis_args(axis, keepdims, dim, keepdim))

    # ---------------------------------------------------------------- element-wise
    def exp(self) -> Tensor:
        return _unary(_Exp, self)

    def log(self) -> Tensor:
        return _unary(_Log, self)

    def sigmoid(self) -> Tensor:
        return _unary(_Sigmoid, self)

    def tanh(self) -> Tensor:
        return _unary(_Tanh, self)

    def relu(self) -> Tensor:
        return _unary(_ReLU, self)

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        return _unary_with(ops.Softmax, self, _check_axis(self, axis if dim is None else dim,
                                                     "softmax"))

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        return _unary_with(ops.LogSoftmax, self, _check_axis(self, axis if dim is None else dim,
                                                        "log_softmax"))

    # ---------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        return _unary_with(ops.Reshape, self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        return _unary_with(ops.Transpose, self, tuple(axes) if axes else None)

    # ---------------------------------------------------------------- drawing
    def draw(self, path: Any = None, **kwargs: Any) -> Any:
        """Draw the graph that made this tensor (see `tinygrad_nn.draw_graph`)."""
        from .viz import draw_graph  # viz sits above tensor; imported only when drawing

        return draw_graph(self, path, **kwargs)


def _check_axis(t: Tensor, axis: Any, op: str) -> int:
    nd = t.data.ndim
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if nd and not -nd <= axis < nd:
        raise ShapeError(f"{op}: axis {axis} is out of range for shape {t.data.shape}")
    return int(axis)


_new = object.__new__


class _Data:
    """Stands in the graph for an input that needs no gradient (a data batch, a target):
    its shape and dtype and a weak link to it, so a kept graph (a loss stored in a list)
    does not keep input batches alive."""

    __slots__ = ("ref", "out_shape", "dtype")
    _leaf = True
    requires_grad = False

    def __init__(self, t: Tensor) -> None:
        self.ref = _weakref(t)
        self.out_shape = t.data.shape
        self.dtype = t.data.dtype


def _stand_in(t: Tensor) -> _Data:
    """The one stand-in of data tensor `t` (made on its first use in a recorded op)."""
    try:
        s = t._standin
    except AttributeError:  # made by an op under no_grad (leaves start with None)
        s = None
    if s is None:  # _Data(t), without the __init__ call
        s = t._standin = _new(_Data)
        s.ref = _weakref(t)
        s.out_shape = t.data.shape
        s.dtype = t.data.dtype
    return s


# The three functions below run once per op: NumPy and module names are bound as
# default arguments (local lookups), and nothing is done that the common case skips.


def _binary(cls: type, x: Any, y: Any, _T: type = Tensor, _nd: type = _ndarray,
            _asarray: Any = _asarray, _ge: list = _grad_enabled, _new: Any = _new,
            _consts: dict = _constants, _Pow: type = _Pow, _seq: Any = next_seq) -> Tensor:
    """Run a two-input op and record it in the graph when a parent needs a gradient."""
    fn = cls()
    if type(x) is _T or isinstance(x, _T):
        xd = x.data
        if type(y) is _T or isinstance(y, _T):
            yd = y.data
        else:
            ty = type(y)
            if ty is not float and ty is not int:
                y, yd = _operand(y, cls.name)  # ndarray, list, NumPy number or an error
            else:
                yd = y
                y = None
            if y is None:  # a number: folded into the op, kept in the tensor's dtype
                fn.const = (1, yd)
                if cls is not _Pow:  # exponents stay numbers: x ** 2 is NumPy's square
                    c = _consts[xd.dtype].get(yd)
                    yd = c if c is not None else _constant(yd, xd.dtype)
    else:
        yd = y.data
        x, xd = _operand(x, cls.name)
        if x is None:
            fn.const = (0, xd)
            if cls is not _Pow:
                c = _consts[yd.dtype].get(xd)
                xd = c if c is not None else _constant(xd, yd.dtype)
    try:
        d = fn.forward(xd, yd)
    except ValueError:
        if cls is ops.MatMul:
            raise ops.MatMul.error(xd, yd) from None
        raise fn.broadcast_error(xd, yd) from None
    t = _new(_T)
    t.data = d if type(d) is _nd else _asarray(d)
    t.grad = None
    if _ge[0] and ((x is not None and x.requires_grad) or (y is not None and y.requires_grad)):
        # graph links go to the op that made an input, or to the input if a leaf (_node,
        # inlined)
        fn.parents = (None if x is None else x._ctx or (x if x.requires_grad else _stand_in(x)),
                      None if y is None else y._ctx or (y if y.requires_grad else _stand_in(y)))
        fn.out_shape = d.shape
        fn.seq = _seq()
        t.requires_grad = True
        t._ctx = fn
    else:
        t.requires_grad = False
        t._ctx = None
    return t


def _unary(cls: type, x: Tensor, _T: type = Tensor, _nd: type = _ndarray,
           _asarray: Any = _asarray, _ge: list = _grad_enabled, _new: Any = _new,
           _seq: Any = next_seq) -> Tensor:
    """Run a one-input element-wise op: `_unary_with` without the attributes, kept apart
    because every activation of every step runs through it."""
    fn = cls()
    d = fn.forward(x.data)
    t = _new(_T)
    t.data = d if type(d) is _nd else _asarray(d)
    t.grad = None
    if x.requires_grad and _ge[0]:
        fn.parents = (x._ctx or x,)  # element-wise: out_shape is derived (ops.ElementWise)
        fn.seq = _seq()
        t.requires_grad = True
        t._ctx = fn
    else:
        t.requires_grad = False
        t._ctx = None
    return t


def _unary_with(cls: type, x: Tensor, *args: Any) -> Tensor:
    """Run a one-input op that takes attributes (axis, shape, index)."""
    fn = cls()
    d = fn.forward(x.data, *args)
    return _output(fn, d, (x._ctx or x,) if x.requires_grad and _grad_enabled[0] else None)


def _node(t: Tensor) -> Any:
    """What an op links to for input `t`: the op that made it, `t` itself if it is a leaf
    that requires grad, or the stand-in of a data tensor."""
    return t._ctx or (t if t.requires_grad else _stand_in(t))


def _output(fn: Any, d: Any, parents: tuple | None) -> Tensor:
    """The Tensor holding op `fn`'s result `d`, recording `parents` unless None (the
    general form of the recording that `_binary` and `_unary` inline for speed)."""
    t = _new(Tensor)
    t.data = d if type(d) is _ndarray else _asarray(d)
    t.grad = None
    if parents is None:
        t.requires_grad = False
        t._ctx = None
    else:
        fn.parents = parents
        fn.out_shape = t.data.shape
        fn.seq = next_seq()
        t.requires_grad = True
        t._ctx = fn
    return t


def squared_difference(first: Tensor, second: Tensor, reduce: str = "sum",
                       scale: float | None = None) -> Tensor:
    """`((first − second) ** 2).sum()` (or `.mean()`), times `scale` unless None, for two
    tensors of the same shape: the same ops (Sub, Pow, Sum or Mean, Mul), recorded without
    making the intermediate tensors. A loss is small, so its cost is per-op overhead."""
    sub, square = ops.Sub(), ops.Pow()
    total = ops.Mean() if reduce == "mean" else ops.Sum()
    d = sub.forward(first.data, second.data)
    square.const = (1, 2)
    if d.size:  # Σd² as one dot product
        out = square.forward_square_total(d, total)
    else:  # empty: NumPy's own sum (0) or mean (NaN, with its warning)
        out = total.forward(square.forward(d, 2))
    tail = None
    if scale is not None:
        tail = ops.Mul()
        tail.const = (1, scale)
        dt = d.dtype
        c = _constants[dt].get(scale)
        out = tail.forward(out, c if c is not None else _constant(scale, dt))
    if not (_grad_enabled[0] and (first.requires_grad or second.requires_grad)):
        return _output(tail or total, out, None)
    sub.parents = (_node(first), _node(second))
    sub.out_shape = square.out_shape = d.shape
    sub.seq = next_seq()
    square.parents = (sub, None)
    square.seq = next_seq()
    if tail is None:
        return _output(total, out, (square,))
    total.parents = (square,)
    total.out_shape = ()
    total.seq = next_seq()
    return _output(tail, out, (total, None))


def _shape_args(shape: tuple, op: str) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{op}: shape must be non-negative ints, got {shape}")
    return tuple(int(n) for n in shape)


def zeros(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))`."""
    return _wrap(np.zeros(_shape_args(shape, "zeros"), _check_dtype(dtype, "zeros")),
                 requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: `ones(2, 3)` or `ones((2, 3))`."""
    return _wrap(np.ones(_shape_args(shape, "ones"), _check_dtype(dtype, "ones")),
                 requires_grad)


def randn(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard-normal samples from the generator `manual_seed` seeds."""
    dt = _check_dtype(dtype, "randn")
    return _wrap(_rng[0].standard_normal(_shape_args(shape, "randn")).astype(dt),
                 requires_grad)
