"""Tensor: an ndarray plus the graph node that made it, with PyTorch-shaped sugar.

Every operation is a call into an op of `ops.py` through one recorder, `_apply`: it runs
the op's forward on the inputs' arrays and, when grad mode is on and an input requires
grad, links the op into the graph. In-place operations (`add_`, `+=`, `x[i] = v`) run the
same op, write its result into the tensor's own array and bump its version counter.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Sequence
from numbers import Number
from typing import Any
from weakref import ref as _weakref

import numpy as np

from . import autograd, ops
from .autograd import AxisError, ShapeError, _grad_mode, next_seq, run_backward

__all__ = ["Tensor", "tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye",
           "arange", "linspace", "rand", "randn", "randint", "zeros_like", "ones_like",
           "full_like", "rand_like", "randn_like", "cat", "stack", "where", "maximum",
           "minimum", "manual_seed", "generator", "device", "DTypeError"]

_FLOAT32 = np.dtype(np.float32)
_INT64 = np.dtype(np.int64)
_BOOL = np.dtype(np.bool_)

_rng = [np.random.default_rng()]


def manual_seed(seed: int) -> None:
    """Seed the generator every draw uses (randn, rand, init rules, Dropout, shuffling)."""
    _rng[0] = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The global generator `manual_seed` seeds."""
    return _rng[0]


class DTypeError(TypeError, RuntimeError):
    """A dtype an operation cannot take: a TypeError (this project's rule for wrong types)
    that is also the RuntimeError PyTorch raises for the same mistakes."""


class device:  # noqa: N801  (PyTorch's name)
    """The device a tensor lives on: always the CPU here."""

    def __init__(self, type: str = "cpu") -> None:  # noqa: A002
        name = str(type)
        if name.split(":")[0] != "cpu":
            raise RuntimeError(f"device: tinygrad_nn runs on the CPU only (NumPy); "
                               f"{name!r} is not available")
        self.type = "cpu"

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __str__(self) -> str:
        return "cpu"

    def __eq__(self, other: object) -> bool:
        return str(other) == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")


_CPU = device()

# ----------------------------------------------------------------------------- dtypes


def _dtype(dtype: Any, op: str) -> np.dtype:
    """What NumPy takes for a dtype -> np.dtype, numbers only."""
    if isinstance(dtype, str) and dtype in ("float", "double", "long", "int", "bool"):
        dtype = {"float": "float32", "double": "float64", "long": "int64", "int": "int32",
                 "bool": "bool"}[dtype]
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{op}: {dtype!r} is not a dtype") from None
    if dt.kind not in "biuf":
        raise DTypeError(f"{op}: dtype must be a number type (bool, int or float), got {dt}")
    return dt


def _float_dtype(dtype: Any, op: str) -> np.dtype:
    dt = _dtype(dtype, op)
    if dt.kind != "f":
        raise DTypeError(f"{op}: dtype must be a floating type such as float32 or float64, "
                         f"got {dt}")
    return dt


def _category(dt: np.dtype) -> int:
    """PyTorch's promotion categories: bool < integer < floating."""
    return 2 if dt.kind == "f" else 0 if dt.kind == "b" else 1


def _number_dtype(v: Any) -> np.dtype:
    """The dtype `tensor(v)` gives a Python number."""
    return _BOOL if isinstance(v, (bool, np.bool_)) else \
        _INT64 if isinstance(v, (int, np.integer)) else _FLOAT32


def _promote(dtypes: Sequence[np.dtype]) -> np.dtype:
    """The highest category wins (bool < int < float); within it NumPy's promotion."""
    if len(set(dtypes)) == 1:
        return dtypes[0]
    top = max(_category(d) for d in dtypes)
    return np.result_type(*(d for d in dtypes if _category(d) == top))


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """PyTorch's rule between two tiers of operands: the lower tier changes the result
    only by raising its category (bool → int, or anything → float)."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return _promote([higher, lower])
    return higher


def _result_dtype(dtypes: Sequence[np.dtype], numbers: Sequence[Any] = (),
                  zero_dim: Sequence[np.dtype] = ()) -> np.dtype:
    """The dtype of an op on tensors of `dtypes`, 0-d tensors of `zero_dim` and Python
    `numbers`, as PyTorch: three tiers, each promoted within itself (`_promote`), and a
    lower tier only raising the category of a higher one (`_combine`): float32 [n] times
    a 0-d float64 is float32, int32 [n] plus 2.5 is float32, int32 [n] plus a 0-d float64
    is float64; a number is float32, int64 or bool."""
    dims = _promote(dtypes) if dtypes else None
    zero = _promote(zero_dim) if zero_dim else None
    wrapped = max((_number_dtype(v) for v in numbers), key=_category) if numbers else None
    return _combine(dims, _combine(zero, wrapped))


def _to_array(data: Any, dtype: Any, op: str, floating: bool) -> np.ndarray:
    """Array-like -> a fresh ndarray. `floating` (the Tensor class): ints, bools and
    lists become float32, floating arrays keep their dtype. Otherwise (`tensor()`): the
    dtype is inferred as PyTorch does (ints → int64, bools → bool, floats → float32)."""
    if type(data) is np.ndarray and dtype is None and data.dtype.kind == "f":
        out = data.copy()  # the common case, a batch of floats: ~1 µs instead of ~6
    else:
        out = _convert(data, dtype, op, floating)
    if autograd.tracer is not None:
        autograd.tracer.on_copy(data, out)  # compile: a new array holding data's values
    return out


def _convert(data: Any, dtype: Any, op: str, floating: bool) -> np.ndarray:
    """The general case of `_to_array`."""
    if isinstance(data, Tensor):
        data = data._data
    if data is None or isinstance(data, (str, bytes, dict, set)):
        raise TypeError(f"{op}: cannot make a tensor from {type(data).__name__}")
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
    else:
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(f"{op}: cannot make a tensor from a ragged or malformed nested "
                             f"sequence ({e})") from None
        if arr.dtype.kind == "f":
            arr = arr.astype(_FLOAT32)  # Python floats become float32
        elif arr.dtype.kind in "iu" and arr.dtype != _INT64:
            arr = arr.astype(_INT64)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{op}: cannot make a tensor from data of dtype {arr.dtype} "
                        f"(only numbers: bool, int or float)")
    if dtype is not None:
        target = _float_dtype(dtype, op) if floating else _dtype(dtype, op)
    elif floating and arr.dtype.kind != "f":
        target = _FLOAT32
    else:
        target = arr.dtype
    return np.array(arr, dtype=target, copy=True)


# ----------------------------------------------------------------------------- recording


class _Data:
    """Stands in the graph for an input that needs no gradient (a data batch, a target):
    its shape and dtype and a weak link to it, so a kept graph (a loss stored in a list)
    does not keep input batches alive."""

    __slots__ = ("ref", "out_shape", "dtype")
    _leaf = True
    requires_grad = False

    def __init__(self, t: Tensor) -> None:
        self.ref = _weakref(t)
        self.out_shape = t._data.shape
        self.dtype = t._data.dtype


def _node(t: Tensor) -> Any:
    """What an op links to for input `t`: the op that made it, `t` itself if it is a leaf
    that requires grad, or the stand-in of a data tensor."""
    if t._base is not None:
        _check_view(t)
    if t._ctx is not None:
        return t._ctx
    if t._requires_grad:
        return t
    if t._standin is None:
        t._standin = _Data(t)
    return t._standin


def _apply(op: type, inputs: Sequence[Any], const: tuple | None = None, **attrs: Any) -> Tensor:
    """Run `op` on `inputs` (Tensors, or constant arrays) and return the result as a
    Tensor, linking the op into the graph when grad mode is on and an input requires
    grad. The one recording path of the engine."""
    fn = op()
    # plain loops: in Python 3.11 they cost ~25% less than comprehensions here
    arrays, needs = [], []
    for x in inputs:
        if isinstance(x, Tensor):
            arrays.append(x._data)
            needs.append(x._requires_grad)
        else:
            arrays.append(x)
            needs.append(False)
    record = True in needs and op.differentiable and _grad_mode.enabled
    needs = tuple(needs) if record else (False,) * len(needs)
    fn.needs = _NEEDS.setdefault(needs, needs)  # forward saves only what's needed
    y = fn.forward(*arrays, **attrs)
    if type(y) is not np.ndarray:  # a NumPy scalar (np.exp of a 0-d array), a subclass
        y = _as_output_array(fn, y)
    out = _wrap(y)
    if y.base is not None:
        _share_version_if_view(out, inputs, op, attrs)
    if record and y.dtype.kind == "f":  # int/bool results never require grad
        parents = []  # each input's graph node
        for x in inputs:
            parents.append(_node(x) if isinstance(x, Tensor) else None)
        fn.parents = parents
        fn.saved = _kept_versions(fn, inputs, out) if fn.__dict__ else ()
        fn.seq = next_seq()
        fn.out_shape = y.shape
        fn.const, fn.hooks = const, None
        out._ctx = fn
        out._requires_grad = True
    if autograd.tracer is not None:
        autograd.tracer.record(fn, inputs, attrs, out)
    return out


def _as_output_array(fn: autograd.Function, y: Any) -> np.ndarray:
    """A forward's non-ndarray result as an ndarray; where the op kept that very result
    for its backward (exp of a 0-d array: a NumPy scalar), it keeps the array instead, so
    an in-place change of the output is caught as for any other shape."""
    arr = np.asarray(y)
    for key, value in fn.__dict__.items():
        if value is y:
            fn.__dict__[key] = arr
    return arr


# One shared copy of each `needs` tuple (a few distinct ones: which inputs need a
# gradient), instead of new ones per op: fewer objects for the cyclic garbage collector
# to count (each op of a chain of small ops left 7 new container objects, now 2-4).
_NEEDS: dict = {}


def _kept_versions(fn: autograd.Function, inputs: Sequence[Any], out: Tensor) -> tuple:
    """Each tensor (input or output) whose array `fn` kept for its backward (found among
    the values in `fn.__dict__`), as (its version counter, its version now, its position;
    -1 for the output): backward checks them (`Function.check_saved`). Only kept arrays
    count, so backward raises where PyTorch does."""
    saved = ()
    for v in fn.__dict__.values():
        if v is out._data:
            saved += ((out._vc, out._vc[0], -1),)
            continue
        i = 0  # (a counter: cheaper than enumerate for one or two inputs)
        for x in inputs:
            if isinstance(x, Tensor) and v is x._data:
                saved += ((x._vc, x._vc[0], i),)
                break
            i += 1
    return saved


def _share_version_if_view(out: Tensor, inputs: Sequence[Any], op: type, attrs: dict) -> None:
    """An output that is a view of an input's array shares that input's version counter
    (as PyTorch's views do), so an in-place change through either one is seen."""
    arr = out._data
    for x in inputs:
        if isinstance(x, Tensor) and np.may_share_memory(arr, x._data):
            out._vc = x._vc
            # a view made by indexing can write back into its base's graph (see _inplace)
            index = attrs.get("idx") if op is ops.Index and x._base is None else None
            out._base = (x, index, x._vc[0])
            return


def _check_view(t: Tensor) -> None:
    """A view whose base was changed in place after the view was taken holds new values
    but an old graph; refuse it rather than give a wrong gradient."""
    base, _, version = t._base
    if t._vc[0] != version and (t._requires_grad or base._requires_grad):
        raise RuntimeError(
            f"a view of shape {t._data.shape} was used after its base (shape "
            f"{base._data.shape}) was changed in place (version {version} -> {t._vc[0]}); "
            f"its gradient would be wrong. Take the view again after the in-place op.")


_make = object.__new__  # bound once: the attribute lookup costs as much as the call


def _wrap(data: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A leaf Tensor around an array we own (no copy, no checks)."""
    t = _make(Tensor)
    t._data = data
    t.grad = None
    t._requires_grad = requires_grad
    t._ctx = None
    t._vc = [0]
    return t


_NUMBERS = (bool, int, float, np.bool_, np.integer, np.floating)



def _number(v: Any) -> bool:
    return isinstance(v, _NUMBERS)


def _operands(name: str, values: Sequence[Any], floating: bool = False) -> tuple:
    """The inputs of an element-wise op -> (inputs, const): Tensors stay, arrays and lists
    become constant tensors, Python numbers 0-d arrays; all cast to the result dtype
    (PyTorch's promotion, see `_result_dtype`) where that casts no tensor that requires
    grad. `floating` ops (division, exp) turn integer results into float32. `const` is a
    Python-number operand as (position, value), which drawings fold into the op's label."""
    if len(values) == 2 and isinstance(values[0], Tensor):
        # the common cases need no promotion: two float tensors of one dtype, or a float
        # tensor and a Python number (a cached 0-d array of its dtype; exponents stay numbers)
        a, b = values
        dt = a._data.dtype
        if dt.kind == "f" and isinstance(b, Tensor) and b._data.dtype == dt:
            return values, None
        if dt.kind == "f" and type(b) in (float, int):
            return (a, b if name == "pow" else ops.constant(b, dt)), (1, b)
    out = list(values)
    dtypes, zero_dim, numbers, const = [], [], [], None
    for i, v in enumerate(values):
        if isinstance(v, Tensor):
            (zero_dim if v._data.ndim == 0 else dtypes).append(v._data.dtype)
        elif isinstance(v, _NUMBERS):
            numbers.append(v)
            const = (i, v)
        elif isinstance(v, (np.ndarray, list, tuple)):
            out[i] = _wrap(_to_array(v, None, name, floating=False))
            (zero_dim if out[i]._data.ndim == 0 else dtypes).append(out[i]._data.dtype)
        elif isinstance(v, Number):
            raise TypeError(f"{name}: unsupported number type {type(v).__name__}")
        else:
            raise TypeError(f"{name}: unsupported operand of type {type(v).__name__} "
                            f"(expected a Tensor, an ndarray or a number)")
    dt = _result_dtype(dtypes, numbers, zero_dim)
    if floating and dt.kind != "f":
        dt = _FLOAT32
    for i, v in enumerate(out):
        if not isinstance(v, Tensor):
            out[i] = np.asarray(v, dtype=dt)
        elif v._data.dtype != dt and (v._data.dtype.kind != "f" or v._data.ndim == 0):
            # integer tensors, and a 0-d tensor wider than the result (NumPy would widen
            # the result to it); the Cast op casts the gradient back. The cast copy counts
            # v's versions, so an op that keeps it sees an in-place change of v (as torch,
            # whose kernels promote inside and keep v itself)
            out[i] = _apply(ops.Cast, (v,), dtype=dt)
            out[i]._vc = v._vc
    return out, const


def _elementwise(op: type, name: str, a: Any, b: Any, floating: bool = False) -> Tensor:
    """Apply a binary element-wise op after promoting its operands (see `_operands`)."""
    inputs, const = _operands(name, (a, b), floating)
    try:
        return _apply(op, inputs, const)
    except ValueError as e:
        if isinstance(e, ShapeError) or "broadcast" not in str(e):
            raise
        shapes = " and ".join(str(np.shape(x._data if isinstance(x, Tensor) else x))
                              for x in inputs)
        raise ShapeError(f"{name}: shapes {shapes} cannot be broadcast together") from None


def _float_input(t: Tensor) -> Tensor:
    """Integer and bool tensors become float32 for ops that need floats (exp, sqrt)."""
    return t if t._data.dtype.kind == "f" else _apply(ops.Cast, (t,), dtype=_FLOAT32)


def _dims(args: tuple, op: str) -> tuple:
    """`f(2, 3)` or `f((2, 3))` -> (2, 3), checking each is an int."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for n in args:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{op}: sizes must be ints, got {args!r}")
    return tuple(int(n) for n in args)


def _dim_arg(axis: Any, dim: Any, op: str) -> Any:
    """NumPy's `axis=` and PyTorch's `dim=` are the same argument."""
    if dim is not None and axis is not None and dim != axis:
        raise TypeError(f"{op}: got both axis={axis!r} and dim={dim!r}")
    return axis if dim is None else dim


def _index(idx: Any) -> Any:
    """Index pieces -> what NumPy indexes with: bool tensors and arrays are masks,
    integer tensors indices; float index tensors are refused (as PyTorch)."""
    if isinstance(idx, tuple):
        return tuple(_index(i) for i in idx)
    if isinstance(idx, Tensor):
        idx = idx._data
    elif isinstance(idx, list):
        idx = np.asarray(idx)
    if isinstance(idx, np.ndarray) and idx.dtype.kind not in "biu":
        raise IndexError(f"index: tensors used as indices must be integer or bool, got "
                         f"dtype {idx.dtype}")
    if isinstance(idx, (float, np.floating)):
        raise IndexError(f"index: {idx!r} is a float; indices must be integers")
    return idx


def _call_hook(hook: Any, g: np.ndarray) -> np.ndarray:
    """Run a user hook with the gradient as a Tensor; a returned Tensor or array replaces
    it."""
    result = hook(_wrap(g))
    if result is None:
        return g
    arr = result._data if isinstance(result, Tensor) else np.asarray(result)
    if arr.shape != g.shape:
        raise ShapeError(f"register_hook: the hook returned a gradient of shape {arr.shape} "
                         f"for a tensor of shape {g.shape}")
    return arr


MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])

# ----------------------------------------------------------------------------- Tensor


class Tensor:
    """An n-dimensional array that records the ops applied to it, so that `.backward()`
    can fill `.grad` of every leaf that requires grad. `Tensor(data)` makes a floating
    tensor (ints, bools and lists become float32); `tensor(data)` infers the dtype."""

    __slots__ = ("_data", "grad", "_requires_grad", "_ctx", "_vc", "__dict__", "__weakref__")
    # rarely set (a data tensor's stand-in, a view's base, leaf hooks): class defaults, so
    # making a tensor sets only the five slots above
    _standin = _base = _hooks = None
    __array_ufunc__ = None  # make NumPy defer to our reflected operators (ndarray @ Tensor)
    __hash__ = object.__hash__  # == is element-wise; hashing stays identity (as PyTorch)
    _leaf = True  # as a graph node, a tensor is always a leaf (ops link to Functions)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self._data = _to_array(data, dtype, "Tensor", floating=True)
        self.grad: Tensor | None = None
        self._ctx = None
        self._vc = [0]
        self._requires_grad = False
        if requires_grad:  # the setter checks the dtype
            self.requires_grad = requires_grad

    def __getstate__(self) -> dict:
        """Pickle and copy the values only (the copy is a leaf)."""
        return {"data": self._data, "grad": self.grad, "requires_grad": self._requires_grad}

    def __setstate__(self, state: dict) -> None:
        self._data = state["data"]
        self.grad = state["grad"]
        self._requires_grad = state["requires_grad"]
        self._ctx = None
        self._vc = [0]

    # ---------------------------------------------------------------- properties
    @property
    def data(self) -> np.ndarray:
        """The underlying ndarray. Assigning replaces it (dtype included); `t.data -= x`
        changes it in place and counts as an in-place change (a new version)."""
        if autograd.tracer is not None:
            autograd.tracer.on_read(self, "data")  # compile: Python would see the values
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if autograd.tracer is not None:
            autograd.tracer.on_set_data(self)  # compile refuses untracked writes
        if value is self._data:  # `t.data -= x`: NumPy changed the array in place
            self._vc[0] += 1
            return
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"data: cannot hold an array of dtype {arr.dtype}")
        self._data = arr

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if value and self._data.dtype.kind != "f":
            raise DTypeError(f"requires_grad: only floating tensors can require gradients, "
                             f"this one has dtype {self._data.dtype}")
        if not value and self._ctx is not None:
            raise RuntimeError("requires_grad: only leaf tensors can stop requiring grad; "
                               "use .detach() for a non-leaf")
        self._requires_grad = value

    @property
    def _version(self) -> int:
        """How many times this tensor's array was changed in place (views share it)."""
        return self._vc[0]

    def _bump_version(self) -> None:
        """Count one in-place change made outside the ops (optimizer steps, load_state_dict)."""
        self._vc[0] += 1

    @property
    def shape(self) -> tuple:
        return self._data.shape

    out_shape = shape  # the name graph nodes use for their output's shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> device:
        return _CPU

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
        return _apply(ops.Transpose, (self,), axes=None)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self._data.shape
        (axis,) = ops._axes(dim, self.ndim, "size")
        return self._data.shape[axis] if self.ndim else 1

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    # ---------------------------------------------------------------- conversion
    def _read(self, what: str) -> None:
        """Tell a tracing `compile` that Python reads this tensor's value (it refuses)."""
        if autograd.tracer is not None:
            autograd.tracer.on_read(self, what)

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied; writes through it are untracked)."""
        self._read("numpy()")
        return self._data

    def item(self) -> Any:
        self._read("item()")
        if self._data.size != 1:
            raise ShapeError(f"item: only a one-element tensor converts to a Python number, "
                             f"this one has shape {self._data.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        self._read("tolist()")
        return self._data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        self._read("numpy.asarray()")
        return self._data if dtype is None else self._data.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "biu":
            raise TypeError("only integer tensors of a single element can be converted to "
                            "an index")
        return int(self.item())

    def __bool__(self) -> bool:
        self._read("bool()")
        if self._data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor of shape "
                               f"{self._data.shape} is ambiguous; use .any() or .all()")
        return bool(self._data.item())

    def __format__(self, spec: str) -> str:
        if self._data.size == 1:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"format: only a one-element tensor takes a format spec "
                            f"({spec!r}); this one has shape {self._data.shape}")
        return repr(self)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="Tensor(")
        extra = ""
        if self._data.dtype not in (_FLOAT32, _INT64, _BOOL):
            extra += f", dtype={self._data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def detach(self) -> Tensor:
        """A new leaf sharing the data (and the version counter), cut from the graph."""
        t = _wrap(self._data)
        t._vc = self._vc
        return t

    def clone(self) -> Tensor:
        """A copy that stays in the graph (its gradient flows back to this tensor)."""
        return _apply(ops.Clone, (self,))

    def contiguous(self) -> Tensor:
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    def to(self, *args: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
        """`to(dtype)`, `to("cpu")`, `to(other_tensor)`; the same tensor if nothing changes
        (as PyTorch), else a copy in the graph."""
        for a in (*args, kwargs.pop("device", None)):
            if a is None:
                continue
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, device)) and str(a).split(":")[0] in (
                    "cpu", "cuda", "mps", "meta", "xpu"):
                device(str(a))  # raises for anything but the CPU
            else:
                dtype = a
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        if dtype is None:
            return self
        dt = _dtype(dtype, "to")
        if dt == self._data.dtype:
            return self
        return _apply(ops.Cast, (self,), dtype=dt)

    def type(self, dtype: Any = None) -> Any:
        """Without an argument the type's name (`tinygrad_nn.FloatTensor`), else `to(dtype)`."""
        if dtype is None:
            names = {"float32": "Float", "float64": "Double", "float16": "Half",
                     "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                     "uint8": "Byte", "bool": "Bool"}
            return f"tinygrad_nn.{names.get(self._data.dtype.name, self._data.dtype.name)}Tensor"
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def cpu(self) -> Tensor:
        return self

    # ---------------------------------------------------------------- autograd
    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad (or of
        `inputs` only). `gradient` (of this tensor's shape) is needed unless the tensor has
        one element. The graph is freed afterwards unless `retain_graph`."""
        if create_graph:
            raise NotImplementedError("backward: create_graph=True (higher-order gradients) "
                                      "is not supported by tinygrad_nn")
        if autograd.tracer is not None:
            autograd.tracer.on_backward(self, gradient, inputs)
        g = _seed_gradient(self, gradient, "backward")
        if inputs is None:
            run_backward([(self, g)], bool(retain_graph))
            return
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = run_backward([(self, g)], bool(retain_graph), inputs)
        handed: set = set()
        for t, tg in zip(inputs, grads):
            if tg is not None:
                t._accumulate_grad(tg, handed, run_hooks=False)

    def _seed_gradient(self, gradient: Any) -> np.ndarray:
        return _seed_gradient(self, gradient, "grad")

    def _wrap_like(self, g: np.ndarray) -> Tensor:
        """A gradient array as a new leaf tensor of this tensor's dtype."""
        g = np.asarray(g)  # (a NumPy scalar from a 0-d op becomes a 0-d array)
        return _wrap(g if g.dtype == self._data.dtype else g.astype(self._data.dtype))

    def _accumulate_grad(self, g: np.ndarray, handed: set, run_hooks: bool = True) -> None:
        """Add a leaf's gradient `g` into `.grad` (in place once it exists, as PyTorch).
        The first time, own a private copy unless `g` is a fresh array no other leaf holds."""
        if type(g) is not np.ndarray:  # a NumPy scalar: 0-d ops' gradients can be one
            g = np.asarray(g)  # (hooks convert too: `_run_hooks`)
        if run_hooks and self._hooks:
            g = autograd._run_hooks(self._hooks, g)
        if g.dtype != self._data.dtype:
            g = g.astype(self._data.dtype)  # mixed-precision graphs
        if self.grad is None:
            if g.base is not None or id(g) in handed or not g.flags.writeable:
                g = g.copy()
            handed.add(id(g))
            self.grad = _wrap(g)
        else:
            grad = self.grad
            np.add(grad._data, g, out=grad._data, casting="unsafe")
            grad._vc[0] += 1

    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in `.grad` after backward (leaves always do)."""
        if self._ctx is None or any(getattr(h, "retains_grad", False)
                                    for h in self._ctx.hooks or ()):
            return  # a leaf, or retained already: a second call changes nothing (as torch)
        me = _weakref(self)

        def keep(g: np.ndarray) -> np.ndarray:
            t = me()
            if t is not None:
                t.grad = _wrap(g.copy()) if t.grad is None else _wrap(t.grad._data + g)
            return g

        keep.retains_grad = True  # runs after every other hook, as PyTorch
        self._ctx.hooks = [*(self._ctx.hooks or ()), keep]

    def register_hook(self, hook: Any) -> Any:
        """Call `hook(grad)` when this tensor's gradient is computed; a returned Tensor or
        array replaces the gradient. Returns a handle whose `remove()` takes it away."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does "
                               "not require grad")
        holder = self._ctx if self._ctx is not None else self

        def run(g: np.ndarray) -> np.ndarray:
            return _call_hook(hook, g)

        if holder is self:
            self._hooks = [*(self._hooks or ()), run]
        else:  # before retain_grad's, which sees the gradient after all hooks
            hooks = holder.hooks or []
            last = [h for h in hooks if getattr(h, "retains_grad", False)]
            holder.hooks = [h for h in hooks if h not in last] + [run] + last
        return _HookHandle(holder, run)

    # ---------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return _elementwise(ops.Add, "add", self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _elementwise(ops.Add, "add", other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _elementwise(ops.Sub, "sub", self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _elementwise(ops.Sub, "sub", other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _elementwise(ops.Mul, "mul", self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _elementwise(ops.Mul, "mul", other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _elementwise(ops.Div, "div", self, other, floating=True)

    def __rtruediv__(self, other: Any) -> Tensor:
        if isinstance(other, _NUMBERS):  # c / x is c · (1/x), as PyTorch computes it
            return self.reciprocal() * other
        return _elementwise(ops.Div, "div", other, self, floating=True)

    def reciprocal(self) -> Tensor:
        return self._unary(ops.Reciprocal, floating=True)

    def __floordiv__(self, other: Any) -> Tensor:
        return _elementwise(ops.FloorDiv, "floor_divide", self, other)

    def __mod__(self, other: Any) -> Tensor:
        return _elementwise(ops.Remainder, "remainder", self, other)

    def __pow__(self, other: Any) -> Tensor:
        return _elementwise(ops.Pow, "pow", self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _elementwise(ops.Pow, "pow", other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(other, self)

    def __neg__(self) -> Tensor:
        if self._data.dtype == _BOOL:
            raise DTypeError("neg: negation of a bool tensor is not supported; use ~ or "
                             "logical_not()")
        return _apply(ops.Neg, (self,))

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def matmul(self, other: Any) -> Tensor:
        return matmul(self, other)

    def neg(self) -> Tensor:
        return -self

    # ---------------------------------------------------------------- comparisons
    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        if other is None:  # `t == None` is False, as PyTorch
            return False
        return _elementwise(ops.Eq, "eq", self, other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        if other is None:
            return True
        return _elementwise(ops.Ne, "ne", self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _elementwise(ops.Lt, "lt", self, other)

    def __le__(self, other: Any) -> Tensor:
        return _elementwise(ops.Le, "le", self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _elementwise(ops.Gt, "gt", self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _elementwise(ops.Ge, "ge", self, other)

    def __and__(self, other: Any) -> Tensor:
        return _elementwise(ops.BitwiseAnd, "bitwise_and", self, other)

    __rand__ = __and__

    def __or__(self, other: Any) -> Tensor:
        return _elementwise(ops.BitwiseOr, "bitwise_or", self, other)

    __ror__ = __or__

    def __xor__(self, other: Any) -> Tensor:
        return _elementwise(ops.BitwiseXor, "bitwise_xor", self, other)

    __rxor__ = __xor__

    def __invert__(self) -> Tensor:
        if self._data.dtype.kind == "f":
            raise DTypeError("invert: ~ takes a bool or integer tensor, got float")
        return _apply(ops.Invert, (self,))

    def eq(self, other: Any) -> Tensor:
        return self == other

    def ne(self, other: Any) -> Tensor:
        return self != other

    def lt(self, other: Any) -> Tensor:
        return self < other

    def le(self, other: Any) -> Tensor:
        return self <= other

    def gt(self, other: Any) -> Tensor:
        return self > other

    def ge(self, other: Any) -> Tensor:
        return self >= other

    def logical_not(self) -> Tensor:
        return _apply(ops.LogicalNot, (self,))

    def all(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        return _apply(ops.All, (self,), dim=self._reduce_dims(_dim_arg(dim, axis, "all"),
                      "all"), keepdim=bool(keepdim or keepdims))

    def any(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        return _apply(ops.Any, (self,), dim=self._reduce_dims(_dim_arg(dim, axis, "any"),
                      "any"), keepdim=bool(keepdim or keepdims))

    def _reduce_dims(self, dim: Any, op: str) -> Any:
        """Check a reduction's dim argument now, so the error names the op."""
        return None if dim is None else ops._axes(dim, self.ndim, op)

    # ---------------------------------------------------------------- reductions
    def _reduction(self, op: type, name: str, dim: Any, keepdim: Any, axis: Any,
                   keepdims: Any, floating: bool = False) -> Tensor:
        dim = _dim_arg(dim, axis, name)
        keep = bool(keepdim) or bool(keepdims)
        x = self
        if floating and x._data.dtype.kind != "f":
            raise DTypeError(f"{name}: needs a floating tensor, got dtype {x._data.dtype} "
                             f"(convert with .float())")
        return _apply(op, (x,), dim=self._reduce_dims(dim, name), keepdim=keep)

    def sum(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind in "biu" and dtype is None:
            x = x.to(np.int64)  # PyTorch sums bools and ints as int64
        return x._reduction(ops.Sum, "sum", dim, keepdim, axis, keepdims)

    def mean(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        return x._reduction(ops.Mean, "mean", dim, keepdim, axis, keepdims, floating=True)

    def prod(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None) -> Tensor:
        x = self.to(np.int64) if self._data.dtype.kind in "biu" else self
        return x._reduction(ops.Prod, "prod", dim, keepdim, axis, keepdims)

    def amax(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None) -> Tensor:
        """Largest value over dims; tied maxima share the gradient evenly (torch.amax)."""
        return self._reduction(ops.Max, "amax", dim, keepdim, axis, keepdims)

    def amin(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None) -> Tensor:
        return self._reduction(ops.Min, "amin", dim, keepdim, axis, keepdims)

    def _max_or_min(self, name: str, dim: Any, keepdim: Any, axis: Any, keepdims: Any) -> Any:
        if isinstance(dim, Tensor):  # x.max(other) is maximum(x, other), as PyTorch
            return maximum(self, dim) if name == "max" else minimum(self, dim)
        dim = _dim_arg(dim, axis, name)
        if dim is None:  # a Tensor; ties share the gradient evenly
            if self._data.size == 0:
                raise ShapeError(f"{name}: cannot reduce an empty tensor of shape "
                                 f"{self._data.shape} without a dim")
            return self._reduction(ops.Max if name == "max" else ops.Min, name, None,
                                   False, None, None)
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{name}: dim must be one int (use amax/amin for several dims)")
        keep = bool(keepdim) or bool(keepdims)
        self._reduce_dims(dim, name)
        op, pick, result = (ops.MaxDim, ops.Argmax, MaxResult) if name == "max" else \
            (ops.MinDim, ops.Argmin, MinResult)
        values = _apply(op, (self,), dim=dim, keepdim=keep)
        indices = _apply(pick, (self,), dim=dim, keepdim=keep) if self.ndim else \
            _wrap(np.zeros((), dtype=_INT64))
        return result(values, indices)

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """No dim: the largest value (a Tensor; ties share the gradient evenly). With a dim:
        the named tuple (values, indices), the gradient going to the index picked."""
        return self._max_or_min("max", dim, keepdim, axis, keepdims)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        return self._max_or_min("min", dim, keepdim, axis, keepdims)

    def argmax(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
               keepdims: bool | None = None) -> Tensor:
        dim = _dim_arg(dim, axis, "argmax")
        self._reduce_dims(dim, "argmax")
        return _apply(ops.Argmax, (self,), dim=dim, keepdim=bool(keepdim) or bool(keepdims))

    def argmin(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
               keepdims: bool | None = None) -> Tensor:
        dim = _dim_arg(dim, axis, "argmin")
        self._reduce_dims(dim, "argmin")
        return _apply(ops.Argmin, (self,), dim=dim, keepdim=bool(keepdim) or bool(keepdims))

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: Any = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
        """Variance with `correction` (default 1, the unbiased estimate, as PyTorch)."""
        dim = _dim_arg(dim, axis, "var")
        if correction is None:
            correction = 0 if unbiased is False else 1
        if self._data.dtype.kind != "f":
            raise DTypeError(f"var: needs a floating tensor, got dtype {self._data.dtype}")
        return _apply(ops.Var, (self,), dim=self._reduce_dims(dim, "var"),
                      correction=correction, keepdim=bool(keepdim) or bool(keepdims))

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: Any = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction, axis=axis,
                        keepdims=keepdims).sqrt()

    # ---------------------------------------------------------------- element-wise
    def _unary(self, op: type, floating: bool = False, **attrs: Any) -> Tensor:
        return _apply(op, (_float_input(self) if floating else self,), **attrs)

    def exp(self) -> Tensor:
        return self._unary(ops.Exp, floating=True)

    def log(self) -> Tensor:
        return self._unary(ops.Log, floating=True)

    def sigmoid(self) -> Tensor:
        return self._unary(ops.Sigmoid, floating=True)

    def tanh(self) -> Tensor:
        return self._unary(ops.Tanh, floating=True)

    def relu(self) -> Tensor:
        return self._unary(ops.ReLU)

    def abs(self) -> Tensor:
        return self._unary(ops.Abs)

    def sqrt(self) -> Tensor:
        return self._unary(ops.Sqrt, floating=True)

    def sin(self) -> Tensor:
        return self._unary(ops.Sin, floating=True)

    def cos(self) -> Tensor:
        return self._unary(ops.Cos, floating=True)

    def square(self) -> Tensor:
        return self * self

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Clip to [min, max]; the gradient passes where min <= x <= max."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            out = self if min is None else maximum(self, min)
            return out if max is None else minimum(out, max)
        for v in (min, max):
            if v is not None and not _number(v):
                raise TypeError(f"clamp: min and max must be numbers or Tensors, got "
                                f"{type(v).__name__}")
        return _apply(ops.Clamp, (self,), min=min, max=max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return minimum(self, other)

    def softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """exp(x) / Σ exp(x) along `dim` (the last by default)."""
        dim = _dim_arg(dim, axis, "softmax")
        return self._unary(ops.Softmax, floating=True, dim=-1 if dim is None else dim)

    def log_softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """log(softmax(x)) computed as x − max − log Σ exp(x − max), so it never overflows."""
        dim = _dim_arg(dim, axis, "log_softmax")
        return self._unary(ops.LogSoftmax, floating=True, dim=-1 if dim is None else dim)

    # ---------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        return _apply(ops.Reshape, (self,), shape=_dims(shape, "reshape"))

    def view(self, *shape: Any) -> Tensor:
        return _apply(ops.Reshape, (self,), shape=_dims(shape, "view"), name="view")

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        (start,) = ops._axes(start_dim, self.ndim, "flatten")
        (end,) = ops._axes(end_dim, self.ndim, "flatten")
        if start > end:
            raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        s = self.shape
        return self.reshape(*s[:start], -1 if 0 not in s else int(np.prod(s[start:end + 1])),
                            *s[end + 1:])

    def unsqueeze(self, dim: int) -> Tensor:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"unsqueeze: dim must be an int, got {dim!r}")
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise AxisError(f"unsqueeze: dim {dim} is out of range for a tensor of "
                             f"{self.ndim} dimension(s)")
        dim = dim % (self.ndim + 1)
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> Tensor:
        """Drop axes of size 1 (only `dim`, when given; one of another size stays)."""
        axes = ops._axes(_dim_arg(dim, axis, "squeeze"), self.ndim, "squeeze")
        return self.reshape(*(n for i, n in enumerate(self.shape) if not (i in axes and n == 1)))

    def permute(self, *dims: Any) -> Tensor:
        return _apply(ops.Transpose, (self,), axes=_dims(dims, "permute"))

    def transpose(self, *axes: Any) -> Tensor:
        """NumPy's transpose: no axes reverses them, a full permutation reorders them. Two
        axes of a tensor that is not 2-D swap those two (PyTorch's transpose(dim0, dim1),
        which NumPy would refuse)."""
        axes = _dims(axes, "transpose")
        if not axes:
            return _apply(ops.Transpose, (self,), axes=None)
        if len(axes) == 2 and self.ndim != 2:
            return self.swapaxes(*axes)
        return _apply(ops.Transpose, (self,), axes=axes)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        a, b = (ops._axes(d, self.ndim, "swapaxes")[0] for d in (axis0, axis1))
        order = list(range(self.ndim))
        order[a], order[b] = order[b], order[a]
        return _apply(ops.Transpose, (self,), axes=tuple(order))

    swapdims = swapaxes

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ShapeError(f"t: expects a tensor of at most 2 dimensions, got shape "
                             f"{self.shape}")
        return _apply(ops.Transpose, (self,), axes=None)

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _dims(sizes, "expand")
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: {len(sizes)} sizes for a tensor of shape {self.shape} "
                             f"(need at least {self.ndim})")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                      for i, n in enumerate(sizes))
        return _apply(ops.Expand, (self,), shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        return _apply(ops.Repeat, (self,), repeats=_dims(sizes, "repeat"))

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple:
        """Pieces of `split_size` along `dim` (the last may be smaller), or of the sizes
        in a list."""
        (axis,) = ops._axes(dim, self.ndim, "split")
        n = self.shape[axis]
        if isinstance(split_size_or_sections, (list, tuple)):
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n:
                raise ShapeError(f"split: sizes {sizes} do not add up to {n}, the size of "
                                 f"dim {dim} of shape {self.shape}")
        else:
            step = int(split_size_or_sections)
            if step <= 0:
                raise ValueError(f"split: split_size must be positive, got {step}")
            sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
        starts = np.cumsum([0, *sizes[:-1]])
        lead = (slice(None),) * axis
        return tuple(self[(*lead, slice(int(s), int(s) + k))] for s, k in zip(starts, sizes))

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        (axis,) = ops._axes(dim, self.ndim, "chunk")
        n = self.shape[axis]
        return self.split(max(-(-n // chunks), 1), dim)

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, idx: Any) -> Tensor:
        return _apply(ops.Index, (self,), idx=_index(idx))

    def __setitem__(self, idx: Any, value: Any) -> None:
        """`x[idx] = value`: in place; recorded when x or value is in a graph."""
        inputs, _ = _operands("setitem", (self, value))
        v = inputs[1]
        if isinstance(v, Tensor):
            v = v.to(self._data.dtype)  # the same tensor when the dtypes agree
        else:
            v = np.asarray(v, dtype=self._data.dtype)
        _inplace(self, ops.SetItem, (v,), "setitem", idx=_index(idx))

    # ---------------------------------------------------------------- in place
    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        return _inplace(self, ops.Add, (other if alpha == 1 else other * alpha,), "add_")

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        return _inplace(self, ops.Sub, (other if alpha == 1 else other * alpha,), "sub_")

    def mul_(self, other: Any) -> Tensor:
        return _inplace(self, ops.Mul, (other,), "mul_")

    def div_(self, other: Any) -> Tensor:
        return _inplace(self, ops.Div, (other,), "div_")

    def pow_(self, exponent: Any) -> Tensor:
        return _inplace(self, ops.Pow, (exponent,), "pow_")

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must not be None")
        return _inplace(self, ops.Clamp, (), "clamp_", min=min, max=max)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        return self.copy_(_wrap(np.full(self.shape, value, dtype=self._data.dtype))
                          if not isinstance(value, Tensor) else value.expand(self.shape))

    def copy_(self, src: Any) -> Tensor:
        """Copy `src` (broadcast to this shape, cast to this dtype) into this tensor."""
        if not isinstance(src, Tensor):
            src = _wrap(np.asarray(src, dtype=self._data.dtype))
        return _inplace(self, ops.Copy, (src,), "copy_")

    def normal_(self, mean: float = 0.0, std: float = 1.0,
                generator: np.random.Generator | None = None) -> Tensor:
        gen = _rng[0] if generator is None else generator
        return self.copy_(gen.normal(mean, std, self.shape).astype(self._data.dtype))

    def uniform_(self, a: float = 0.0, b: float = 1.0,
                 generator: np.random.Generator | None = None) -> Tensor:
        gen = _rng[0] if generator is None else generator
        return self.copy_(gen.uniform(a, b, self.shape).astype(self._data.dtype))

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    # ---------------------------------------------------------------- drawing
    def draw(self, path: Any = None, **kwargs: Any) -> Any:
        """Draw the graph that made this tensor (see `tinygrad_nn.draw_graph`)."""
        from .viz import draw_graph  # viz sits above the Tensor; imported only when drawing

        return draw_graph(self, path, **kwargs)


class _HookHandle:
    """What `register_hook` returns: `remove()` takes the hook away."""

    def __init__(self, holder: Any, hook: Any) -> None:
        self.holder, self.hook = holder, hook

    def remove(self) -> None:
        name = "_hooks" if isinstance(self.holder, Tensor) else "hooks"
        hooks = getattr(self.holder, name) or []
        setattr(self.holder, name, [h for h in hooks if h is not self.hook])


def _seed_gradient(t: Tensor, gradient: Any, op: str) -> np.ndarray:
    """The gradient backward starts from: ones for a one-element output, else `gradient`,
    which must have the output's shape."""
    if not t._requires_grad:
        raise RuntimeError(
            f"{op}: this tensor does not require grad, so there is no graph to "
            f"differentiate (create the leaves with requires_grad=True, and do not compute "
            f"the output under no_grad())")
    data = t._data
    if gradient is None:
        if data.size != 1:
            raise RuntimeError(
                f"{op}: a gradient can be created implicitly only for a one-element output; "
                f"this output has shape {data.shape}, so pass gradient= of that shape")
        return np.ones(data.shape, dtype=data.dtype)
    raw = gradient._data if isinstance(gradient, Tensor) else gradient
    try:
        g = np.array(raw, dtype=data.dtype, copy=True)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: gradient must be a Tensor, ndarray or number, got "
                        f"{type(gradient).__name__}") from None
    if g.shape != data.shape:
        if g.ndim == 0 and data.size == 1:
            return g.reshape(data.shape)
        raise ShapeError(f"{op}: gradient has shape {g.shape} but the output has shape "
                         f"{data.shape}; they must be equal")
    return g


def _inplace(self: Tensor, op: type, others: tuple, name: str, **attrs: Any) -> Tensor:
    """Run `op` on (self, *others) and write the result into self's own array, with
    PyTorch's rules: a leaf that requires grad refuses while grad mode is on; the result
    must keep self's shape and dtype kind; the version counter goes up; when a graph is
    being recorded, self now stands for the op's output (the op reads a copy of the old
    values, so what it saved stays right)."""
    if _grad_mode.enabled and self._requires_grad and self._ctx is None:
        raise RuntimeError(f"{name}: a leaf tensor that requires grad cannot be changed in "
                           f"place while grad mode is on; do it under `with no_grad():`")
    inputs, const = _operands(name, (self, *others))
    record = _grad_mode.enabled and any(isinstance(x, Tensor) and x._requires_grad
                                        for x in inputs)
    view = self._base
    if record and view is not None:
        base, index, _ = view
        if base._requires_grad and base._ctx is None:
            raise RuntimeError(f"{name}: a view of a leaf tensor that requires grad cannot "
                               f"be changed in place while grad mode is on")
        if index is None:
            raise RuntimeError(f"{name}: in-place changes to a reshaped or transposed view "
                               f"of a tensor in a graph are not supported; change the base "
                               f"tensor, or clone() the view first")
    if record:  # the op works on a copy of the old values, which it may save
        old = _wrap(self._data.copy(), self._requires_grad)
        old._ctx, old._standin = self._ctx, self._standin
        inputs = [old, *inputs[1:]]
        if autograd.tracer is not None:
            autograd.tracer.on_copy(self, old._data)
    try:
        out = _apply(op, inputs, const, **attrs)
    except ValueError as e:
        if isinstance(e, ShapeError) or "broadcast" not in str(e):
            raise
        raise ShapeError(f"{name}: shapes {self.shape} and "
                         f"{' and '.join(str(np.shape(x)) for x in others)} cannot be "
                         f"broadcast together") from None
    _write(self, out._data, name)
    if view is not None:  # a change through this view itself leaves its graph right
        base, index, _ = view
        self._base = (base, index, self._vc[0])
    if record and out._ctx is not None:  # (an integer result has no graph: int.copy_(f))
        self._ctx, self._requires_grad = out._ctx, True
        _keep_saved_output(out, self)
        if view is not None:
            _write_back_to_base(self, view)
    return self


def _write(self: Tensor, result: np.ndarray, name: str) -> None:
    """Copy an in-place op's result into self's array and count a new version."""
    dst = self._data
    if result.shape != dst.shape:
        raise ShapeError(f"{name}: the result has shape {result.shape}, which does not "
                         f"match the tensor's shape {dst.shape} (in-place ops keep the shape)")
    if not np.can_cast(result.dtype, dst.dtype, "same_kind"):
        raise DTypeError(f"{name}: the result has dtype {result.dtype}, which cannot be "
                         f"stored in place in a tensor of dtype {dst.dtype}")
    if not dst.flags.writeable:
        raise RuntimeError(f"{name}: this tensor is a read-only view (made by expand); "
                           f"clone() it before changing it in place")
    np.copyto(dst, result, casting="same_kind")
    self._vc[0] += 1
    if autograd.tracer is not None:
        autograd.tracer.on_write(self, result)


def _keep_saved_output(out: Tensor, self: Tensor) -> None:
    """An op that saved its own output (sigmoid_, exp_) now saves self's array, at self's
    new version, so a later in-place change to self is caught as PyTorch catches it."""
    fn = out._ctx
    arr = out._data
    for key, value in list(fn.__dict__.items()):
        if value is arr:
            fn.__dict__[key] = self._data
    fn.saved = tuple((self._vc, self._vc[0], i) if counter is out._vc else (counter, v, i)
                     for counter, v, i in fn.saved)


def _write_back_to_base(view: Tensor, info: tuple) -> None:
    """An in-place op on `base[index]` changed base's values (they share memory): record
    it on base too, as `base[index] = view` (PyTorch's CopySlices), so that base's graph
    gives the gradient of what it now holds."""
    base, index, _ = info
    fn = ops.SetItem()
    fn.needs = (base._requires_grad, True)
    fn.const = fn.hooks = None
    fn.saved = ()
    fn.idx, fn.v_shape = index, view._data.shape
    fn.parents = (_node(base), view._ctx)
    fn.seq = next_seq()
    fn.out_shape = base._data.shape
    base._ctx, base._requires_grad = fn, True


def matmul(a: Any, b: Any) -> Tensor:
    """`a @ b` with `numpy.matmul`'s rules (1-D and batched operands included)."""
    for v in (a, b):
        if isinstance(v, _NUMBERS):
            raise TypeError(f"matmul: operands must be tensors or arrays, got the number {v!r} "
                            f"(use * to scale)")
    (a, b), _ = _operands("matmul", (a, b))
    return _apply(ops.MatMul, (a, b))


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x·Wᵀ + b (`torch.nn.functional.linear`): weight (out, in), x (..., in). x·Wᵀ
    is the text's X = W·I with samples as rows: one MatMul node, no Transpose node."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"linear: weight must be a Tensor, got {type(weight).__name__}")
    (x, weight), _ = _operands("linear", (x, weight))
    out = _apply(ops.MatMul, (x, weight), transpose_b=True)
    return out if bias is None else out + bias


def logsigmoid(x: Tensor) -> Tensor:
    """log σ(x), stable for any x (`nn.functional.logsigmoid`)."""
    return _apply(ops.LogSigmoid, (_float_input(x),))


def binary_cross_entropy(x: Tensor, target: Tensor) -> Tensor:
    """Per-element binary cross entropy of probabilities `x` against `target`, a tensor
    of x's shape and dtype (`nn.functional.binary_cross_entropy` checks and reduces)."""
    return _apply(ops.BinaryCrossEntropy, (x, target))


def maximum(a: Any, b: Any) -> Tensor:
    """Element-wise maximum; where they tie, each side gets half the gradient."""
    return _elementwise(ops.Maximum, "maximum", a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return _elementwise(ops.Minimum, "minimum", a, b)


def where(condition: Any, input: Any, other: Any) -> Tensor:  # noqa: A002
    """`input` where `condition` holds, else `other` (broadcast together)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != _BOOL:
        raise DTypeError(f"where: the condition must be a bool tensor, got dtype {cond.dtype}")
    (x, y), const = _operands("where", (input, other))
    try:
        return _apply(ops.Where, (cond, x, y), None if const is None else
                      (const[0] + 1, const[1]))
    except ValueError as e:
        if "broadcast" not in str(e):
            raise
        raise ShapeError(f"where: shapes {cond.shape}, {np.shape(x)} and {np.shape(y)} "
                         f"cannot be broadcast together") from None


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (dtypes promote as in an op)."""
    dim = dim if axis is None else axis  # NumPy's axis= is PyTorch's dim=
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cat: element {i} is a {type(t).__name__}, not a Tensor")
    inputs, _ = _operands("cat", tensors)
    ndim = inputs[0].ndim
    if ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated")
    (axis,) = ops._axes(dim, ndim, "cat")
    for i, t in enumerate(inputs):
        if t.ndim != ndim or any(n != m for k, (n, m) in enumerate(zip(t.shape, inputs[0].shape))
                                 if k != axis):
            raise ShapeError(f"cat: tensor {i} has shape {t.shape}, which does not match "
                             f"shape {inputs[0].shape} of tensor 0 outside dim {dim}")
    if any(t.dtype != inputs[0].dtype for t in inputs):  # float32 with float64
        dt = np.result_type(*(t.dtype for t in inputs))
        inputs = [t.to(dt) for t in inputs]
    return _apply(ops.Cat, inputs, dim=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors of one shape along a new dim."""
    dim = dim if axis is None else axis  # NumPy's axis= is PyTorch's dim=
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"stack: element {i} is a {type(t).__name__}, not a Tensor")
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: every tensor must have the same shape, but tensor 0 "
                             f"has {tensors[0].shape} and tensor {i} has {t.shape}")
    ndim = tensors[0].ndim
    if not -ndim - 1 <= dim <= ndim:
        raise AxisError(f"stack: dim {dim} is out of range for tensors of {ndim} dims")
    return cat([t.unsqueeze(dim) for t in tensors], dim % (ndim + 1))


# ----------------------------------------------------------------------------- creation


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data`, its dtype inferred as `torch.tensor` does
    (Python ints → int64, bools → bool, floats → float32; arrays keep theirs)."""
    t = _wrap(_to_array(data, dtype, "tensor", floating=False))
    t.requires_grad = requires_grad
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array` (writes to either show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: cannot make a tensor from dtype {array.dtype}")
    return _wrap(array)


def _new(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(array)
    t.requires_grad = requires_grad
    if autograd.tracer is not None:
        autograd.tracer.on_new(t)  # compile: a constant made inside the traced function
    return t


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))` (float32 unless `dtype`)."""
    return _new(np.zeros(_dims(size, "zeros"), _dtype(dtype or _FLOAT32, "zeros")),
                requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.ones(_dims(size, "ones"), _dtype(dtype or _FLOAT32, "ones")), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with `fill_value`; the dtype follows the value as `torch.full`."""
    dt = _number_dtype(fill_value) if dtype is None else _dtype(dtype, "full")
    return _new(np.full(_dims((size,), "full"), fill_value, dt), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.eye(n, m, dtype=_dtype(dtype or _FLOAT32, "eye")), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values from `start` up to `end` (excluded): int64 for int arguments, else float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dt = _dtype(dtype, "arange") if dtype is not None else _INT64 if ints else _FLOAT32
    n = max(int(np.ceil((end - start) / step)), 0)
    values = start + step * np.arange(n, dtype=np.float64 if not ints else np.int64)
    return _new(values.astype(dt), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    return _new(np.linspace(start, end, steps, dtype=np.float64).astype(
        _dtype(dtype or _FLOAT32, "linspace")), requires_grad)


def _draw(kind: str, size: tuple, dtype: Any, generator: Any, requires_grad: bool) -> Tensor:
    gen = _rng[0] if generator is None else generator
    if not isinstance(gen, np.random.Generator):
        raise TypeError(f"{kind}: generator must be a numpy.random.Generator, got "
                        f"{type(gen).__name__}")
    dt = _float_dtype(dtype or _FLOAT32, kind)
    shape = _dims(size, kind)
    values = gen.standard_normal(shape) if kind == "randn" else gen.random(shape)
    return _new(values.astype(dt), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard-normal samples from the generator `manual_seed` seeds."""
    return _draw("randn", size, dtype, generator, requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1)."""
    return _draw("rand", size, dtype, generator, requires_grad)


def randint(low: int, high: int | None = None, size: Any = None, *, dtype: Any = None,
            generator: np.random.Generator | None = None) -> Tensor:
    """Integers in [low, high): `randint(high, size)` or `randint(low, high, size)`."""
    if size is None:
        if high is None:
            raise TypeError("randint: missing the size argument")
        low, high, size = 0, low, high
    gen = _rng[0] if generator is None else generator
    dt = _dtype(dtype or _INT64, "randint")
    return _wrap(gen.integers(low, high, _dims((size,), "randint")).astype(dt))


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


# Function forms of Tensor methods (`tg.max(out, 1)`, `tg.exp(x)`), as PyTorch's.
FUNCTION_FORMS = ("abs", "sqrt", "square", "exp", "log", "sin", "cos", "sigmoid", "tanh",
                  "relu", "clamp", "sum", "mean", "prod", "max", "min", "amax", "amin",
                  "argmax", "argmin", "var", "std", "all", "any", "reshape", "flatten",
                  "squeeze", "unsqueeze", "permute", "softmax", "log_softmax", "clone",
                  "reciprocal")


def function_form(name: str) -> Any:
    """`name(input, ...)` calling `input.name(...)` (the package face exports these)."""
    def form(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"`{name}(input, ...)` is `input.{name}(...)`."
    return form

