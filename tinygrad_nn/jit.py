"""`compile(fn)`: trace one call of a training step, replay it as a plan of array calls.

The first call with inputs of given shapes and dtypes runs `fn` eagerly while the
engine reports everything it does to a `_Tracer` (`autograd.tracer`): each op, each
chain-rule step of `backward`, each gradient stored in a leaf, `zero_grad`, the
optimizer's update, in-place writes. Every array of that trace becomes one buffer of a
plan (allocated once), and every event one call on those buffers: the same NumPy
expressions the ops compute, in the same order, so a replay gives the eager numbers.
Later calls with the same signature copy their inputs into the input buffers and run
the calls; no Tensor or graph is made. What a plan cannot replay (reading a value in
Python, untracked writes, random draws outside Dropout, hooks) raises `CompileError`
while tracing. See docs/architecture.md, "Compiled steps".
"""

from __future__ import annotations

import functools
import sys
import threading
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _tensor, autograd, ops
from ._tensor import Tensor, _wrap
from .nn.module import Module
from .ops import expit as _expit

try:  # BLAS level 2/3 with in-place outputs: the rank-1 update W −= α·δ·xᵀ in one pass
    from scipy.linalg import blas as _blas
except ImportError:  # pragma: no cover - scipy is a core dependency
    _blas = None

__all__ = ["compile", "CompileError", "Compiled"]


class CompileError(RuntimeError):
    """`fn` did something a plan cannot replay; raised while tracing, naming what."""


def compile(fn: Callable | None = None) -> Any:  # noqa: A001  (torch.compile's name)
    """Compile a step function: `step = compile(step)` or `@compile` (`@compile()`).

    The first call per signature (the shapes, dtypes and requires_grad of its tensor and
    array arguments, the values of its other arguments, grad mode) runs `fn` eagerly and
    records a plan; later calls replay it. Returned tensors are copies, detached."""
    if fn is None:
        return compile
    if not callable(fn):
        raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
    return Compiled(fn)


class Compiled:
    """A compiled function: one plan per input signature (see `compile`)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.plans: dict = {}
        self.entry: Any = None  # the latest plan's generated replay (Plan.make_entry)
        self.traces = 0  # how many times `fn` was traced (a test and a curiosity)
        if isinstance(fn, types.FunctionType):
            functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tracer = autograd.tracer
        if tracer is not None and tracer.thread == threading.get_ident():
            # inside another compiled function's trace: plain ops, which that trace records
            # (a replay would be invisible to it), results detached copies as a call gives
            return _detached_copies(self.fn(*args, **kwargs))
        entry = self.entry
        if entry is not None and not kwargs:  # the same kind of call as the last one
            out = entry(args)
            if out is not _MISS:
                return out
        key, flat = self._key(args, kwargs)
        plan = self.plans.get(key)
        if plan is not None:
            out = plan.run(flat)
            if out is not _RETRACE:
                self.entry = plan.entry
                return out
        self.traces += 1
        result, plan = _trace(self.fn, args, kwargs, list(flat))
        self.plans[key] = plan
        if flat is args and key[-1] is None:  # tensors only, no array twice: an entry
            plan.make_entry(key)
        self.entry = plan.entry
        return plan.like_replay(plan.output, result)  # detached copies, as replays give

    def has_plan(self, *args: Any, **kwargs: Any) -> bool:
        """True when a call with these arguments replays a plan; False when it would
        trace (run `fn` eagerly: the same numbers as a replay up to the last bits of a
        fused update). `fit` undoes such a call's step and replays it, so that every
        step it takes is a replay (a resumed run then repeats the uninterrupted one)."""
        plan = self.plans.get(self._key(args, kwargs)[0])
        return plan is not None and not plan.stale()

    def _key(self, args: tuple, kwargs: dict) -> tuple:
        """(the plan's key, the tensor and array inputs in order) of a call."""
        if not kwargs:  # the common case, tensors only: a cheaper key
            parts = []
            for a in args:
                if type(a) is not Tensor:
                    break
                d = a._data
                parts += d.shape, d.dtype, a._requires_grad
            else:
                parts += autograd._grad_mode.enabled, _sharing(args)
                return tuple(parts), args
        flat: list = []
        key = (_signature((args, kwargs), flat), autograd._grad_mode.enabled)
        return (*key, _sharing(flat)), flat

    def __repr__(self) -> str:
        return f"compile({getattr(self.fn, '__qualname__', self.fn)!r}, {len(self.plans)} plan(s))"


# --------------------------------------------------------------------------- signatures


def _signature(obj: Any, flat: list) -> Any:
    """A hashable key for `obj` (arguments); tensors and arrays are appended to `flat`
    in order (the plan's inputs). Tensors key by shape, dtype, requires_grad and which
    earlier input shares their array; numbers and strings by value; others by identity."""
    if isinstance(obj, Tensor):
        flat.append(obj)
        return ("T", obj._data.shape, obj._data.dtype.str, obj._requires_grad)
    if isinstance(obj, np.ndarray):
        flat.append(obj)
        return ("A", obj.shape, obj.dtype.str)
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, *(_signature(o, flat) for o in obj))
    if isinstance(obj, dict):
        return ("D", *((k, _signature(v, flat)) for k, v in obj.items()))
    if obj is None or isinstance(obj, (bool, int, float, str, complex, np.generic)):
        return (type(obj).__name__, obj)
    return ("O", id(obj))


def _sharing(flat: Any) -> tuple | None:
    """Which inputs share an array (a plan made for separate inputs must not see one
    twice): None when none do, else each input's first position."""
    ids = [id(_array_of(x)) for x in flat]
    if len(set(ids)) == len(ids):
        return None
    return tuple(ids.index(i) for i in ids)


_RETRACE = object()  # what Plan.run returns when its assumptions no longer hold
_MISS = object()  # what a plan's entry returns for a call it is not made for


def _detached_copies(obj: Any) -> Any:
    """Tensors in `obj` (a result) as new detached copies, by recorded ops."""
    if isinstance(obj, Tensor):
        return obj.detach().clone()
    if isinstance(obj, (list, tuple)):
        items = [_detached_copies(o) for o in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if isinstance(obj, dict):
        return type(obj)({k: _detached_copies(v) for k, v in obj.items()})
    return obj


def _array_of(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else x


# --------------------------------------------------------------------------- values


class _Val:
    """One array of the trace, one buffer of the plan.

    kind: "tmp" (made by a call of the plan), "arg" (input `ref`, copied in per call),
    "live" (the array of tensor `ref`, which existed before the call: a parameter, read
    where it is at each call), "const" (a snapshot `ref`), "view" (a view of other
    buffers, made once: `ref` = (maker, base vals)), "dyngrad" (a `.grad` whose state
    the plan does not own: read where it is)."""

    __slots__ = ("kind", "shape", "dtype", "ref", "writes", "readers", "order")

    def __init__(self, kind: str, arr: np.ndarray, ref: Any = None) -> None:
        self.kind, self.ref = kind, ref
        self.shape, self.dtype = arr.shape, arr.dtype
        self.order = _axis_order(arr)  # the buffer is laid out as the trace's array was
        self.writes: list = []   # positions of instructions that change it in place
        self.readers: list = []  # instructions that read it

    def __repr__(self) -> str:
        return f"<{self.kind} {self.shape} {self.dtype}>"


def _axis_order(arr: np.ndarray) -> tuple | None:
    """None for a C-ordered array; else, for a dense array in another axis order (an
    element-wise result of a permuted view), its axes from the largest stride down. A
    buffer in the same order keeps reshapes of it views, as they were in the trace."""
    if arr.flags.c_contiguous or arr.ndim < 2:
        return None
    order = tuple(sorted(range(arr.ndim), key=lambda i: -arr.strides[i]))
    dense = np.transpose(arr, order)
    return order if dense.flags.c_contiguous else None


def _empty(v: _Val) -> np.ndarray:
    """A buffer for `v`, in the axis order of its trace array."""
    if v.order is None:
        return np.empty(v.shape, v.dtype)
    dense = np.empty([v.shape[i] for i in v.order], v.dtype)
    return dense.transpose(np.argsort(v.order))


def _refuse(what: str) -> None:
    raise CompileError(f"compile: {what}")


# --------------------------------------------------------------------------- instructions


class _Instr:
    """One event of the trace; `build(plan)` returns the call it makes per replay (or
    None when it needs no call, e.g. a view made once)."""

    reads: tuple = ()
    writes: tuple = ()
    pos = -1

    def build(self, plan: Plan) -> Callable | None:  # pragma: no cover - abstract
        raise NotImplementedError


def _reads(instr: _Instr) -> tuple:
    """The values an instruction's call reads."""
    if isinstance(instr, _Forward):
        return (*instr.reads, *(v for _, _, v in instr.attr_vals))
    if isinstance(instr, _Backward):
        return instr.used()
    if isinstance(instr, _Accumulate) and instr.fuse is not None:
        return (*instr.reads, instr.fuse[1], instr.fuse[2])  # the factors of ∂W
    return instr.reads


def _arrays(plan: Plan, vals: Any) -> list:
    return [plan.buf[v] if isinstance(v, _Val) else v for v in vals]


class _Forward(_Instr):
    """`out = op.forward(*ins, **attrs)`: a kernel writing into `out`'s buffer for the
    ops the plan knows, else the op's own forward (its result copied into the buffer)."""

    def __init__(self, fn: Any, ins: list, out: _Val, attrs: dict) -> None:
        self.op, self.needs, self.ins, self.out, self.attrs = type(fn), fn.needs, ins, out, attrs
        self.cell: list = [None]  # the op instance of the latest call, for its backward
        self.reads = tuple(v for v in ins if isinstance(v, _Val))
        self.writes = (out,)
        self.fused = False  # set when the plan fuses this op's weight gradient
        self.attr_vals: list = []
        self.shapes = [_Shape(v.shape if isinstance(v, _Val) else np.shape(v)) for v in ins]

    def make_fn(self) -> Any:
        """A fresh instance of the op, set up as the recorder sets one up."""
        fn = self.op()
        fn.needs = self.needs
        fn.parents = self.shapes  # backward reads its inputs' shapes from them
        return fn

    def bound_attrs(self, plan: Plan) -> dict:
        """The attributes, with the plan's buffers for arrays of the trace among them."""
        attrs = dict(self.attrs)
        for name, i, v in self.attr_vals:
            if i is None:
                attrs[name] = plan.buf[v]
            else:
                items = list(attrs[name])
                items[i] = plan.buf[v]
                attrs[name] = tuple(items)
        return attrs

    def build(self, plan: Plan) -> Callable | None:
        ins, out, attrs = _arrays(plan, self.ins), plan.buf[self.out], self.bound_attrs(plan)
        self.generic = False
        if self.out.kind == "view":
            return None  # made once at bind time, with its op instance in `cell`
        kernel = _FORWARD.get(self.op)
        if kernel is not None:
            call = kernel(self, ins, out, attrs)
            if call is not None:
                return call
        self.generic = True
        cell, make, copyto = self.cell, self.make_fn, np.copyto
        if self.op is ops.Dropout and attrs.get("generator") is plan.tracer_rng:
            def generic() -> None:  # draws from the generator manual_seed sets now
                fn = cell[0] = make()
                copyto(out, fn.forward(*ins, **{**attrs, "generator": _tensor._rng[0]}))
            return generic

        def generic() -> None:
            fn = cell[0] = make()
            copyto(out, fn.forward(*ins, **attrs), casting="unsafe")
        return generic


class _Shape:
    """Stands for an input's graph node where an op's backward asks its shape."""

    __slots__ = ("out_shape",)

    def __init__(self, shape: tuple) -> None:
        self.out_shape = shape


class _Backward(_Instr):
    """One chain-rule step: the gradients of `fwd`'s inputs from `g`, into `outs`
    (None where no gradient flows; an alias where the op hands `g` itself on)."""

    def __init__(self, fwd: _Forward, g: _Val, outs: list, alias: list) -> None:
        self.fwd, self.g, self.outs, self.alias = fwd, g, outs, alias
        self.writes = tuple(o for o, a in zip(outs, alias) if o is not None and not a)
        self.reads = (g, *fwd.reads, fwd.out)
        self.kernel = False  # set by build when one of the plan's kernels does the step
        self.fused_reads: tuple | None = None  # see _negation

    def used(self) -> tuple:
        """The values the built call reads (a kernel reads less than the op saved: Sum's
        only g, Sigmoid's g and its output, ...)."""
        op, fwd = self.fwd.op, self.fwd
        if not self.kernel:
            return self.reads
        if self.fused_reads is not None:  # a negation that took a square's place
            return self.fused_reads
        if op in (ops.Add, ops.Sub, ops.Neg, ops.Sum, ops.Mean):
            return (self.g,)
        if op is ops.Mul:
            a, b = fwd.ins
            wanted = [o is not None and not al for o, al in zip(self.outs, self.alias)]
            return (self.g, *(v for v, w in zip((b, a), wanted) if w and isinstance(v, _Val)))
        if op is ops.Pow:  # a² only: g·(a + a)
            return (self.g, fwd.ins[0])
        if op in (ops.Sigmoid, ops.Tanh, ops.Exp, ops.ReLU):
            return (self.g, fwd.out)
        return (self.g, *fwd.reads)

    def build(self, plan: Plan) -> Callable | None:
        fwd = self.fwd
        if fwd.op in _BACKWARD and fwd.out.kind != "view":
            call = _BACKWARD[fwd.op](self, plan)
            if call is not NotImplemented:
                self.kernel = call is not None
                return call
        g = plan.buf[self.g]
        targets = [None if o is None or a else plan.buf[o]
                   for o, a in zip(self.outs, self.alias)]
        if all(t is None or t.base is not None and np.shares_memory(t, g) for t in targets):
            return None  # only views of g (reshape, transpose) or aliases: made at bind
        cell, copyto = fwd.cell, np.copyto
        if fwd.generic or fwd.out.kind == "view":
            def generic() -> None:  # the op's own backward, on the instance forward made
                for t, r in zip(targets, cell[0].backward(g)):
                    if t is not None:
                        copyto(t, r, casting="unsafe")
            return generic
        ins, attrs, make = _arrays(plan, fwd.ins), fwd.bound_attrs(plan), fwd.make_fn

        def recompute() -> None:  # a kernel ran the forward: the op's own code saves anew
            fn = make()
            fn.forward(*ins, **attrs)
            for t, r in zip(targets, fn.backward(g)):
                if t is not None:
                    copyto(t, r, casting="unsafe")
        return recompute


class _Sum(_Instr):
    """`out = a + b`: two parts of one gradient summed (as backward's `pending`)."""

    def __init__(self, a: _Val, b: _Val, out: _Val) -> None:
        self.a, self.b, self.out = a, b, out
        self.reads, self.writes = (a, b), (out,)

    def build(self, plan: Plan) -> Callable:
        a, b, out, add = plan.buf[self.a], plan.buf[self.b], plan.buf[self.out], np.add
        return lambda: add(a, b, out)


class _Copy(_Instr):
    """`dst = src` cast to dst's dtype: `Tensor(x)`, `tensor(x)`, the old values an
    in-place op reads."""

    def __init__(self, src: _Val, dst: _Val) -> None:
        self.src, self.dst = src, dst
        self.reads, self.writes = (src,), (dst,)

    def build(self, plan: Plan) -> Callable:
        src, dst, copyto = plan.buf[self.src], plan.buf[self.dst], np.copyto
        return lambda: copyto(dst, src, casting="unsafe")


class _Write(_Instr):
    """An in-place op's result stored into its target's array, and its version bumped.
    `bases`: the values a target that is a view is a view of (the write changes them)."""

    def __init__(self, target: _Val, src: _Val, bases: tuple = ()) -> None:
        self.target, self.src = target, src
        self.reads, self.writes = (src,), (target, *bases)

    def build(self, plan: Plan) -> Callable:
        dst, src, copyto = plan.buf[self.target], plan.buf[self.src], np.copyto
        # a gradient the plan stored (clip_grad_norm_ scales it): when the store gave .grad
        # a new array (someone kept last call's), the write must reach that array too
        grads = [(plan.stored_grads[v], plan.buf[v]) for v in self.writes
                 if v in plan.stored_grads]
        t = self.target.ref if self.target.kind == "live" else None
        if t is None and not grads:
            return lambda: copyto(dst, src, casting="same_kind")
        vc = t._vc if t is not None else None

        def write() -> None:
            copyto(dst, src, casting="same_kind")
            if vc is not None:
                vc[0] += 1
            for slot, buf in grads:
                held = slot[0]
                if held._data is not buf:
                    copyto(held._data, buf)
                held._vc[0] += 1
        return write


class _Leaf:
    """A leaf tensor that gets gradients: argument `k` (a new tensor each call) or a
    tensor the plan holds (a parameter)."""

    __slots__ = ("k", "tensor")

    def __init__(self, k: int | None, tensor: Tensor | None) -> None:
        self.k, self.tensor = k, tensor

    def get(self, plan: Plan) -> Tensor:
        return self.tensor if self.k is None else plan.args[self.k]


class _SetGradNone(_Instr):
    """`p.grad = None` (`zero_grad()`, or by hand)."""

    def __init__(self, leaf: _Leaf) -> None:
        self.leaf = leaf

    def build(self, plan: Plan) -> Callable:
        leaf = self.leaf
        if leaf.k is None:
            t = leaf.tensor

            def clear() -> None:
                t.grad = None
            return clear
        args, k = plan.args, leaf.k

        def clear_arg() -> None:
            args[k].grad = None
        return clear_arg


class _LoadGrad(_Instr):
    """`dst = t.grad` for a `.grad` the plan does not own (kept from an earlier call, or
    added to in place): read where it is at each call."""

    def __init__(self, leaf: _Leaf, dst: _Val) -> None:
        self.leaf, self.dst = leaf, dst
        self.writes = (dst,)

    def build(self, plan: Plan) -> Callable:
        leaf, dst, copyto = self.leaf, plan.buf[self.dst], np.copyto

        def load() -> None:
            g = leaf.get(plan).grad
            if g is None:
                raise RuntimeError(f"{plan.name} reads a .grad of shape {dst.shape} that is "
                                   f"None at this call (it was a tensor when traced)")
            copyto(dst, g._data)
        return load


class _ZeroGrad(_Instr):
    """`zero_grad(set_to_none=False)`: an existing `.grad` is zeroed in place."""

    def __init__(self, leaf: _Leaf) -> None:
        self.leaf = leaf

    def build(self, plan: Plan) -> Callable:
        leaf = self.leaf

        def zero() -> None:
            g = leaf.get(plan).grad
            if g is not None:
                g._data[...] = 0
        return zero


class _Accumulate(_Instr):
    """A leaf's gradient stored into `.grad` (as `Tensor._accumulate_grad`). `fresh`:
    the plan cleared `.grad` earlier in the call, so it stores its own buffer `grad` (a
    user still holding last call's tensor gets it detached onto a copy first);
    otherwise `.grad` is read where it is and added to in place."""

    def __init__(self, leaf: _Leaf, src: _Val, grad: _Val, fresh: bool, dtype: np.dtype) -> None:
        self.leaf, self.src, self.grad, self.fresh, self.dtype = leaf, src, grad, fresh, dtype
        self.reads, self.writes = (src,), (grad,)
        self.fuse: Any = None  # (forward op, g val, input val) when the update is fused

    def build(self, plan: Plan) -> Callable:
        leaf, dtype = self.leaf, self.dtype
        src = plan.buf[self.src]
        if not self.fresh:
            def add() -> None:
                t = leaf.get(plan)
                g = t.grad
                if g is None:
                    t.grad = _wrap(src.astype(dtype, copy=True))
                else:
                    np.add(g._data, src, out=g._data, casting="unsafe")
                    g._vc[0] += 1
            return add
        if self.fuse is not None:
            return self._build_lazy(plan)
        buf, copyto, empty_like = plan.buf[self.grad], np.copyto, np.empty_like
        read = bool(self.grad.readers)  # the plan's own calls (or the results) read buf
        # .grad's tensor, and its array's references when only we hold it. When the plan
        # reads buf at later calls, .grad gets an array of its own: the plan's rewriting
        # buf must not change a .grad someone kept from an earlier call
        slot = [_wrap(empty_like(buf) if read else buf), 0]
        plan.stored_grads[self.grad] = slot  # a later in-place write reaches .grad's array
        getrefcount = sys.getrefcount

        def store() -> None:
            t = leaf.get(plan)
            held = slot[0]
            arr = held._data
            if not slot[1]:  # the first store: nobody else has seen the array yet
                slot[1] = getrefcount(arr)
            # someone kept last call's .grad (besides the slot, this frame, getrefcount and
            # .grad itself when zero_grad's clear was left out) or its array (.numpy(), a
            # view): they keep it as it is, and .grad gets a new array
            if getrefcount(held) > 3 + (t.grad is held) or getrefcount(arr) > slot[1]:
                arr = empty_like(buf)
                held = slot[0] = _wrap(arr)
                slot[1] = getrefcount(arr)
            copyto(arr, src, casting="unsafe")
            if read and arr is not buf:
                copyto(buf, src, casting="unsafe")
            held._vc[0] += 1
            t.grad = held
        return store

    def _build_lazy(self, plan: Plan) -> Callable:
        """The gradient is never formed: `.grad` gets a `_Lazy` that computes it from
        its two factors when read (the optimizer's update used them directly)."""
        fwd, gval, aval = self.fuse
        width = fwd.out.shape[-1]
        g2 = plan.buf[gval].reshape(-1, width)
        a2 = plan.buf[aval].reshape(-1, plan.buf[aval].shape[-1])
        leaf, dot = self.leaf, np.dot
        slot: list = [None, leaf.tensor]
        plan.lazies.append(slot)

        def make() -> np.ndarray:
            return dot(g2.T, a2)  # ∂W = gᵀ·a, as MatMul's backward computes it

        t, getrefcount = leaf.tensor, sys.getrefcount  # a parameter (fused only for those)

        def store() -> None:
            lazy = slot[0]
            # kept by someone besides the slot, this frame, getrefcount (and .grad, when
            # zero_grad's clear was left out): a new one; else the same object again
            if lazy is None or getrefcount(lazy) > 3 + (t.grad is lazy):
                lazy = slot[0] = _Lazy(make)
            else:
                lazy._cache = None
                lazy._vc[0] += 1
            t.grad = lazy
        store.lazy = (slot, t, make)  # type: ignore[attr-defined]  (make_entry writes it out)
        return store


class _Lazy(Tensor):
    """A tensor whose array is computed on first read from the buffers of the latest
    replay: a `.grad` from its two factors, or a result from the calls only results
    need. The next call first hands one that is still held its values."""

    __slots__ = ("_make", "_cache")

    def __init__(self, make: Callable) -> None:
        self._make, self._cache = make, None
        self.grad = None
        self._requires_grad = False
        self._ctx = None  # _standin, _base, _hooks: Tensor's class defaults (None)
        self._vc = [0]

    @property
    def _data(self) -> np.ndarray:  # type: ignore[override]
        c = self._cache
        if c is None:
            c = self._cache = self._make()
        return c

    @_data.setter
    def _data(self, value: np.ndarray) -> None:
        self._cache = value


class _Step(_Instr):
    """`optimizer.step()`: the optimizer's own per-parameter `_update` on the live arrays
    (the same method, so the same numbers), reading `param_groups` at each call. A plain
    SGD update of a weight whose gradient is a matrix product is fused into that product
    (BLAS ger/gemm into W: one pass, W −= lr·gᵀ·a). Optimizers without `_update` (or
    with their own `step`) run their `step()` as it is."""

    def __init__(self, opt: Any) -> None:
        self.opt = opt
        self.fused: dict = {}  # id(param) -> _Accumulate whose update is fused here

    def build(self, plan: Plan) -> Callable:
        opt = self.opt
        update = getattr(opt, "_update", None)
        if not _standard_step(opt):
            return lambda: opt.step()  # its own step (a subclass's, or set on the object)
        fused = {pid: f for pid, acc in self.fused.items()
                 if (f := _fused_update(acc, plan)) is not None}

        def step() -> None:
            state = opt.state
            for group in opt.param_groups:
                # plain SGD at this call (momentum may be switched on between calls)
                plain = fused and not (group.get("momentum") or group.get("weight_decay")
                                       or group.get("maximize"))
                minus_lr = -group["lr"] if plain else None
                for p in group["params"]:
                    if plain:
                        f = fused.get(id(p))
                        if f is not None and p._data is f[0] and p.grad is not None:
                            f[1](minus_lr, *f[2])  # W −= lr·gᵀ·a by BLAS
                            p._vc[0] += 1
                            continue
                    g = p.grad
                    if g is None:
                        continue
                    update(p._data, g._data, state.setdefault(p, {}), group)
                    p._vc[0] += 1
        return step


def _optimizer_step(opt: Any) -> Any:
    for cls in type(opt).__mro__:
        if cls.__name__ == "Optimizer" and "step" in cls.__dict__:
            return cls.__dict__["step"]
    return None


def _standard_step(opt: Any) -> bool:
    """True when `opt.step()` is Optimizer.step looping over `_update` (so the plan may
    run the loop itself)."""
    return (getattr(opt, "_update", None) is not None and "step" not in vars(opt)
            and type(opt).step is _optimizer_step(opt))


def fuses_updates(opt: Any) -> bool:
    """True when plans may fuse `opt`'s updates into BLAS calls (plain SGD): a replay's
    update then differs from eager's in the last bits."""
    return _blas is not None and _plain_sgd(opt)


def _plain_sgd(opt: Any) -> bool:
    from .optim import SGD  # optim sits beside jit; imported when a plan is built

    return _standard_step(opt) and \
        getattr(type(opt), "_update", None) is getattr(SGD, "_update", 0)


def _fused_update(acc: _Accumulate, plan: Plan) -> tuple | None:
    """(W, blas, rest): W −= lr·gᵀ·a in one BLAS call on W, `blas(−lr, *rest)` (ger for
    one row, gemm for a batch), for a step whose group is plain SGD at this call
    (otherwise the step takes the lazy gradient through `_update`). Arguments are
    positional: f2py's keywords cost ~1 µs a call."""
    fwd, gval, aval = acc.fuse
    w_val = fwd.ins[1]
    W = plan.buf[w_val]
    if not W.flags.c_contiguous:  # BLAS would update a copy of Wᵀ (f2py makes one): the
        return None  # step takes the lazy gradient through `_update` instead
    g = plan.buf[gval].reshape(-1, W.shape[0])
    a = plan.buf[aval].reshape(-1, W.shape[1])
    prefix = "s" if W.dtype == np.float32 else "d"
    Wt = W.T  # C-ordered W is the Fortran-ordered (in, out) matrix BLAS updates in place
    if g.shape[0] == 1:  # ger(alpha, x, y, incx, incy, a, overwrite_x, overwrite_y, overwrite_a)
        return W, getattr(_blas, prefix + "ger"), (a[0], g[0], 1, 1, Wt, 0, 0, 1)
    # gemm(alpha, a, b, beta, c, trans_a, trans_b, overwrite_c)
    return W, getattr(_blas, prefix + "gemm"), (a.T, g.T, 1.0, Wt, 0, 1, 1)


# --------------------------------------------------------------------------- kernels


class _Calls(tuple):
    """A kernel's NumPy/BLAS calls, ((function, positional args), ...), run in order.
    The plan's replay loop calls each function itself (no Python frame per kernel);
    called, the object runs them all (constant folding, the calls only results need)."""

    replaces: Any = None  # the instruction whose call this one takes the place of

    def __call__(self) -> None:
        for fn, args in self:
            fn(*args)


def _calls(*pairs: tuple) -> _Calls:
    return _Calls(pairs)


def _wanted(fn: Callable, *triples: tuple) -> _Calls:
    """fn(x, y, target) for each (x, y, target) whose target is wanted (not None)."""
    return _Calls((fn, (x, y, t)) for x, y, t in triples if t is not None)

# Each forward kernel computes exactly the expression of its op in ops.py (the same
# ufuncs in the same order, so the same bits), writing into the plan's buffers; a
# kernel returns None where its case is not covered and the op's own code runs.


def _ufunc_kernel(ufunc: Any) -> Callable:
    def kernel(instr: _Forward, ins: list, out: np.ndarray, attrs: dict) -> Callable | None:
        if len(ins) == 2:
            a, b = ins
            if np.result_type(a, b) != out.dtype:
                return None
            return _calls((ufunc, (a, b, out)))
        (a,) = ins
        if a.dtype != out.dtype:
            return None
        return _calls((ufunc, (a, out)))
    return kernel


def _sigmoid(instr: _Forward, ins: list, out: np.ndarray, attrs: dict) -> Callable | None:
    (a,) = ins
    if a.dtype != out.dtype:
        return None
    if a.size < ops.SIGMOID_BY_EXP:
        return _calls((_expit, (a, out)))  # the op's own ufunc: σ = 1 / (1 + e^(−a))
    negative, exp, add, divide = np.negative, np.exp, np.add, np.divide
    one, errstate = np.ones((), a.dtype), np.errstate

    def sigmoid() -> None:  # the op's 1 / (1 + e^(−a)) for large arrays, pass by pass
        with errstate(over="ignore"):
            negative(a, out)
            exp(out, out)
            add(one, out, out)
            divide(one, out, out)
    return sigmoid


def _relu(instr: _Forward, ins: list, out: np.ndarray, attrs: dict) -> Callable | None:
    (a,) = ins
    maximum, zero = np.maximum, np.zeros((), a.dtype)
    return lambda: maximum(a, zero, out=out)  # NumPy 2.4 deprecates a third positional


def _matmul(instr: _Forward, ins: list, out: np.ndarray, attrs: dict) -> Callable | None:
    a, b = ins
    if not (0 < a.ndim <= 2 and 0 < b.ndim <= 2) or a.dtype != b.dtype or \
            out.dtype != a.dtype:
        return None
    bt = b.T if attrs.get("transpose_b") else b
    if a.ndim == 1 or b.ndim == 1:  # a vector (one sample as a 1-D row): as eager, matmul
        matmul = np.matmul
        return lambda: matmul(a, bt, out=out)
    # numpy.dot, as eager runs it: SciPy's gemm/gemv would skip dot's checks, but SciPy
    # ships its own OpenBLAS, whose bits need not match NumPy's (and whose sgemm was
    # 10% faster on one machine, 20% slower on another)
    return _calls((np.dot, (a, bt, out)))


def _reduce(mean: bool) -> Callable:
    def kernel(instr: _Forward, ins: list, out: np.ndarray, attrs: dict) -> Callable | None:
        (a,) = ins
        if a.dtype.kind != "f" or out.dtype != a.dtype:
            return None
        axes = ops._axes(attrs.get("dim"), a.ndim, "sum")
        keep = attrs.get("keepdim", False)
        total, divide = np.add.reduce, np.divide  # what np.sum calls, without its wrapper
        if not mean:
            return _calls((total, (a, axes, None, out, keep)))
        count = int(np.prod([a.shape[i] for i in axes])) if a.ndim else 1
        if count == 0:
            return None
        return _calls((total, (a, axes, None, out, keep)), (divide, (out, count, out)))
    return kernel


def _pow(instr: _Forward, ins: list, out: np.ndarray, attrs: dict) -> Callable | None:
    a, b = ins
    if np.ndim(b) == 0 and b == 2 and a.dtype == out.dtype:
        # a**2 is a·a exactly (NumPy squares; checked for both dtypes)
        return _calls((np.multiply, (a, a, out)))
    copyto = np.copyto
    return lambda: copyto(out, a**b)  # NumPy's ** has its own shortcuts (sqrt for ½...)


_FORWARD: dict = {
    ops.Add: _ufunc_kernel(np.add), ops.Sub: _ufunc_kernel(np.subtract),
    ops.Mul: _ufunc_kernel(np.multiply), ops.Div: _ufunc_kernel(np.divide),
    ops.Neg: _ufunc_kernel(np.negative), ops.Exp: _ufunc_kernel(np.exp),
    ops.Log: _ufunc_kernel(np.log), ops.Tanh: _ufunc_kernel(np.tanh),
    ops.Sqrt: _ufunc_kernel(np.sqrt), ops.Sigmoid: _sigmoid, ops.ReLU: _relu,
    ops.MatMul: _matmul, ops.Sum: _reduce(False), ops.Mean: _reduce(True), ops.Pow: _pow,
}


def _bw_setup(instr: _Backward, plan: Plan) -> tuple:
    """(g, input buffers, output buffer, targets) of a backward step; a target is None
    where no gradient is wanted or the op hands on `g` itself."""
    fwd = instr.fwd
    g = plan.buf[instr.g]
    ins = _arrays(plan, fwd.ins)
    out = plan.buf[fwd.out]
    targets = [None if o is None or a else plan.buf[o] for o, a in zip(instr.outs, instr.alias)]
    return g, ins, out, targets


def _same(t: np.ndarray | None, shape: tuple, dtype: np.dtype) -> bool:
    return t is None or (t.shape == shape and t.dtype == dtype)


def _negation(instr: _Backward, plan: Plan, g: np.ndarray, out: np.ndarray) -> Callable:
    """out = −g. When g is only read here and was made by a square's backward from a
    constant gradient c (E = ½Σ(t − o)²: −(c·(d + d))), the two calls become one call
    in the square's place: (−c)·(d + d), the same bits (negation is exact)."""
    square = plan.squares.get(id(g))
    if square is None or instr.g.readers != [instr]:
        return _calls((np.negative, (g, out)))
    sq, c, a, tmp, a_val = square
    minus_c = np.negative(c)  # c is steady: negated once
    negated_square_bw = _calls((np.add, (a, a, tmp)), (np.multiply, (minus_c, tmp, out)))
    negated_square_bw.replaces = sq
    instr.fused_reads = (sq.g, a_val)
    return negated_square_bw


def _bw_elementwise(instr: _Backward, plan: Plan) -> Any:
    """Add, Sub, Mul, Neg, Sigmoid, Tanh, Exp, ReLU, Pow (number exponent) and Sum/Mean
    when no broadcasting is undone: the ops' backward expressions into the buffers (out
    given by position and constants as 0-d arrays: each ~0.3 µs cheaper on small arrays)."""
    g, ins, out, targets = _bw_setup(instr, plan)
    op, attrs = instr.fwd.op, instr.fwd.attrs
    if not all(_same(t, g.shape, g.dtype) for t in targets) and op not in (ops.Sum, ops.Mean):
        return NotImplemented
    mul, sub = np.multiply, np.subtract
    if op in (ops.Add, ops.Sub):
        ta, tb = targets
        if ta is not None:  # never reached: Add/Sub hand g itself on when shapes match
            return NotImplemented
        if tb is None:
            return None
        if op is ops.Add:
            return NotImplemented
        return _negation(instr, plan, g, tb)
    if op is ops.Neg:
        (ta,) = targets
        return _negation(instr, plan, g, ta)
    if op is ops.Mul:
        ta, tb = targets
        a, b = ins
        if (ta is not None and np.result_type(g, b) != ta.dtype) or \
                (tb is not None and np.result_type(g, a) != tb.dtype):
            return NotImplemented
        return _wanted(mul, (g, b, ta), (g, a, tb))
    (ta,) = targets[:1]
    if ta is None:  # the first input wants no gradient: the rest (2 ** x's) by the op's code
        return None if all(t is None for t in targets) else NotImplemented
    one, zero = np.ones((), out.dtype), np.zeros((), out.dtype)  # cheaper operands than 1, 0
    if op is ops.Sigmoid:  # g·o·(1 − o)
        tmp = np.empty_like(ta)
        return _calls((mul, (g, out, ta)), (sub, (one, out, tmp)), (mul, (ta, tmp, ta)))
    if op is ops.Tanh:  # g·(1 − o²)
        tmp = np.empty_like(ta)
        return _calls((mul, (out, out, tmp)), (sub, (one, tmp, tmp)), (mul, (g, tmp, ta)))
    if op is ops.Exp:
        return _calls((mul, (g, out, ta)))
    if op is ops.ReLU:  # where(o ≤ 0, 0, g), as the op
        mask = np.empty(out.shape, dtype=bool)
        return _calls((np.less_equal, (out, zero, mask)), (np.copyto, (ta, g)),
                      (np.copyto, (ta, zero, "unsafe", mask)))
    if op is ops.Pow:
        a, b = ins
        if instr.outs[1] is not None or isinstance(b, np.ndarray) or b != 2:
            return NotImplemented  # the op's own code: its shortcuts, its zeros
        tmp = np.empty_like(ta)
        square_bw = _calls((np.add, (a, a, tmp)), (mul, (g, tmp, ta)))  # the op's g·(a + a)
        if instr.g in plan.steady:  # a negation of ta may take this call's place
            plan.squares[id(ta)] = (instr, g, a, tmp, instr.fwd.ins[0])
        return square_bw
    if op in (ops.Sum, ops.Mean):
        (a,) = ins
        axes = ops._axes(attrs.get("dim"), a.ndim, "sum")
        shape = ops._restore(g, a.shape, axes, attrs.get("keepdim", False)).shape
        if ta.shape != a.shape or ta.dtype != g.dtype:
            return NotImplemented
        gr = g.reshape(shape)
        if op is ops.Sum:  # broadcast g back over the summed axes
            return _calls((np.copyto, (ta, gr)))
        count = max(int(np.prod([a.shape[i] for i in axes])) if a.ndim else 1, 1)
        tmp = np.empty(shape, g.dtype)
        return _calls((np.divide, (gr, count, tmp)), (np.copyto, (ta, tmp)))
    return NotImplemented


def _bw_matmul(instr: _Backward, plan: Plan) -> Any:
    """∂a = g·bᵀ, ∂b = aᵀ·g (x·Wᵀ: ∂x = g·W, ∂W = gᵀ·x); a weight gradient whose update
    is fused into the optimizer's step is not formed here."""
    g, (a, b), out, (ta, tb) = _bw_setup(instr, plan)
    fwd = instr.fwd
    if a.ndim not in (1, 2) or b.ndim != 2 or g.dtype != a.dtype or a.dtype != b.dtype:
        return NotImplemented
    dot = np.dot
    if fwd.attrs.get("transpose_b"):
        # ∂x = g·W, ∂W = gᵀ·x; a 1-D x (one sample) is the row (1, in) there, as eager
        gt, bw, at = g.reshape(-1, b.shape[0]).T, b, a.reshape(-1, b.shape[1])
        if fwd.fused:
            tb = None
        if ta is None and tb is None:
            return None  # only W's gradient, and the optimizer's step forms it
        return _wanted(dot, (g, bw, ta), (gt, at, tb))
    if a.ndim != 2:
        return NotImplemented  # a vector times a matrix: the op's own code
    bt, at = b.T, a.T
    return _wanted(dot, (g, bt, ta), (at, g, tb))


_BACKWARD: dict = {op: _bw_elementwise for op in (
    ops.Add, ops.Sub, ops.Mul, ops.Neg, ops.Sigmoid, ops.Tanh, ops.Exp, ops.ReLU, ops.Pow,
    ops.Sum, ops.Mean)}
_BACKWARD[ops.MatMul] = _bw_matmul



# --------------------------------------------------------------------------- the tracer


class _Tracer:
    """Receives the engine's reports during one eager call of `fn` and turns them into
    instructions on `_Val`s (arrays are told apart by identity; the tracer keeps every
    array it has seen alive, so identities are not reused)."""

    def __init__(self, name: str, flat: list) -> None:
        self.name = name
        self.vals: dict = {}      # id(array) -> _Val
        self.all_vals: list = []  # every _Val, in order of making
        self.restore_consts: list = []  # constants changed in place: restored per call
        self.keep: list = []      # the arrays behind `vals`, kept alive
        self.fresh: dict = {}     # id(array) -> array of constants made inside fn
        self.program: list = []
        self.none_grads: list = []  # zero_grad(set_to_none=False) found their .grad None
        self.grad_loads: set = set()  # values read from a .grad the plan does not store
        self.forward_of: dict = {}  # id(Function) -> _Forward
        self.bases: dict = {}     # view _Val -> the values it is a view of
        self.grad_of: dict = {}   # id(a .grad read while tracing) -> (its tensor, the .grad)
        self.live: dict = {}      # id(tensor) -> live _Val
        self.grad_state: dict = {}  # id(leaf tensor) -> "none" | "fresh" | "live"
        self.leaves: dict = {}    # id(leaf tensor) -> _Leaf
        self.in_backward = False
        self.pending: dict = {}   # id(node) -> (node, [gradient vals]) during backward
        self.allow_set_data: Any = None
        self.in_step = False
        self.args = flat
        self.thread = threading.get_ident()
        self.optimizers: dict = {}  # id(optimizer) -> (it, its group_changes when seen)
        self.mode = Module.mode_changes
        self.rng = _tensor._rng[0]
        self.rng_state = self.rng.bit_generator.state
        for k, x in enumerate(flat):
            arr = _array_of(x)
            if id(arr) not in self.vals:
                self._add(arr, _Val("arg", arr, k))
            if isinstance(x, Tensor):
                self.leaves[id(x)] = _Leaf(k, None)

    # ------------------------------------------------------------ values
    def _add(self, arr: np.ndarray, val: _Val) -> _Val:
        self.vals[id(arr)] = val
        self.keep.append(arr)
        self.all_vals.append(val)
        return val

    def val(self, x: Any, use: str = "an op") -> _Val:
        """The value node of a Tensor or array input."""
        arr = _array_of(x)
        v = self.vals.get(id(arr))
        if v is not None and v.kind != "dyngrad":
            return v
        owner = self._grad_owner(x)
        if owner is not None:  # read at this point of each call, where it is then
            load = _Val("tmp", arr)
            self.all_vals.append(load)
            self.grad_loads.add(load)  # a copy: a write to it would not reach .grad
            self.emit(_LoadGrad(self.leaf(owner), load))
            return load
        if v is not None:
            return v
        if id(arr) in self.fresh:
            return self._add(arr, _Val("const", arr, arr.copy()))
        if isinstance(x, Tensor):
            if x._ctx is not None:
                _refuse(f"{self.name} uses a tensor of shape {arr.shape} that was computed "
                        f"outside it with a graph (grad_fn {type(x._ctx).__name__}); pass it "
                        f"as an argument, or detach() it")
            v = self._add(arr, _Val("live", arr, x))
            self.live[id(x)] = v
            return v
        return self._add(arr, _Val("const", arr, np.array(arr, copy=True)))

    def _grad_owner(self, x: Any) -> Tensor | None:
        """The tensor whose `.grad` `x` is, when the plan does not own x's array (a
        gradient from before the call, or one backward adds to in place); else None."""
        seen = self.grad_of.get(id(x)) if isinstance(x, Tensor) else None
        if seen is None:
            v = self.vals.get(id(_array_of(x)))
            if v is not None and v.kind == "dyngrad":
                _refuse(f"{self.name} uses a gradient of shape {v.shape} that is no longer "
                        f"read as its tensor's .grad; not supported")
            return None
        v = self.vals.get(id(x._data))
        if v is not None and v.kind != "dyngrad":
            return None  # a gradient the plan stores itself: its buffer
        owner = seen[0]
        if _GRAD_SLOT.__get__(owner, Tensor) is not x:
            _refuse(f"{self.name} uses a tensor of shape {x._data.shape} that was a .grad "
                    f"but no longer is; not supported (read .grad where it is used)")
        return owner

    def new_tmp(self, arr: np.ndarray) -> _Val:
        return self._add(arr, _Val("tmp", arr))

    def emit(self, instr: _Instr) -> _Instr:
        instr.pos = len(self.program)
        self.program.append(instr)
        for v in instr.reads:
            v.readers.append(instr)
        for v in instr.writes:
            v.writes.append(instr.pos)
        return instr

    # ------------------------------------------------------------ checks
    def check_rng(self, allowed: bool = False) -> None:
        """Random draws from the global generator are allowed only inside Dropout (which
        the plan replays, drawing anew); any other draw would be baked in."""
        gen = _tensor._rng[0]
        if gen is self.rng and gen.bit_generator.state == self.rng_state:
            return
        if gen is not self.rng:
            _refuse(f"{self.name} called manual_seed; seed outside the compiled function")
        if not allowed:
            _refuse(f"{self.name} drew random numbers (randn, rand, normal_, a random mask) "
                    f"outside nn.Dropout's op; the plan would replay the same numbers at "
                    f"every call. Draw them outside and pass them as arguments")
        self.rng_state = gen.bit_generator.state

    def event(self) -> None:
        """Something other than backward's own work happened: backward is over."""
        self.in_step = False
        if self.in_backward:
            self.finish_backward()
        self.check_rng()

    # ------------------------------------------------------------ engine hooks
    def record(self, fn: Any, inputs: Any, attrs: dict, out: Tensor) -> None:
        self.event_before_op(fn)
        ins = [self.val(x) if isinstance(x, (Tensor, np.ndarray)) else x for x in inputs]
        arr = out._data
        view_of = [v for x, v in zip(inputs, ins) if isinstance(v, _Val) and
                   arr.base is not None and np.shares_memory(arr, _array_of(x))]
        if id(arr) in self.vals:
            _refuse(f"{self.name}: {type(fn).__name__} returned its input array itself "
                    f"(shape {arr.shape}); not supported")
        if view_of:
            out_val = self._add(arr, _Val("view", arr, None))
        else:
            out_val = self.new_tmp(arr)
        fwd = self.emit(_Forward(fn, ins, out_val, dict(attrs)))
        fwd.attr_vals = self._attr_vals(attrs)
        for _, _, v in fwd.attr_vals:
            if v.dtype == np.bool_:  # how many elements it picks depends on its values
                _refuse(f"{self.name}: indexing by a boolean mask of shape {v.shape} that "
                        f"the step computes or takes as an argument; the result's shape "
                        f"depends on the mask's values, which a plan cannot replay (use "
                        f"where(mask, x, 0) instead, or index outside the compiled function)")
        kept = {id(a) for a in fn.__dict__.values() if isinstance(a, np.ndarray)}
        fwd.saved = [v for x, v in zip([*inputs, out], [*ins, out_val])
                     if isinstance(v, _Val) and id(_array_of(x)) in kept]
        if view_of:
            out_val.ref = fwd
            self.bases[out_val] = view_of
        if getattr(fn, "parents", None) is not None:
            self.forward_of[id(fn)] = fwd
            self.keep.append(fn)

    def _attr_vals(self, attrs: dict) -> list:
        """Arrays of the trace among an op's attributes (the labels in `logp[rows,
        labels]`): (name, place in a tuple or None, value), so the plan passes its buffers."""
        found = []
        for name, a in attrs.items():
            items = a if isinstance(a, tuple) else (a,)
            for i, x in enumerate(items):
                v = self.vals.get(id(x)) if isinstance(x, np.ndarray) else None
                if v is not None and v.kind != "const":
                    found.append((name, i if isinstance(a, tuple) else None, v))
        return found

    def event_before_op(self, fn: Any) -> None:
        self.in_step = False
        if self.in_backward:
            self.finish_backward()
        self.check_rng(allowed=isinstance(fn, ops.Dropout))

    def on_read(self, t: Tensor, what: str) -> None:
        if what == "data" and (self.in_step or t is self.allow_set_data):
            return  # the optimizer's own update, zero_grad: replayed as calls
        self.event()
        v = self.val(t)
        if v.kind != "const":
            _refuse(f"{self.name} called .{what} on a traced tensor of shape "
                    f"{t._data.shape}; a plan cannot replay Python reading a value (or "
                    f"branching on it). Return the tensor instead and call .{what} outside "
                    f"the compiled function")

    def on_python_read(self, x: Any, what: str, hint: str) -> None:
        """Python (no op) reads the values of `x`, a tensor or an array: refused when they
        are the step's (an argument, or computed in it), as a plan would keep the values
        of the trace. `hint` says what replays instead."""
        v = self.vals.get(id(_array_of(x))) if isinstance(x, (Tensor, np.ndarray)) else None
        if v is not None and v.kind != "const":
            _refuse(f"{self.name}: {what} reads the values of an array of shape {v.shape} "
                    f"in Python; a plan cannot replay that ({hint})")

    def on_copy(self, source: Any, arr: np.ndarray) -> None:
        self.event()
        if isinstance(source, (Tensor, np.ndarray)):
            src = self.val(source)
            if src.kind != "const":
                self.emit(_Copy(src, self.new_tmp(arr)))
                return
        self.fresh[id(arr)] = arr
        self.keep.append(arr)

    def on_new(self, t: Tensor) -> None:
        self.event()
        self.fresh[id(t._data)] = t._data
        self.keep.append(t._data)

    def on_write(self, target: Tensor, result: np.ndarray) -> None:
        self.event()
        if self._grad_owner(target) is not None:
            _refuse(f"{self.name} changes a .grad of shape {target._data.shape} in place "
                    f"that the plan does not store itself (a gradient from before the call, "
                    f"or added to without zero_grad() first); not supported")
        tv, src = self.val(target), self.val(result)
        changed = self._and_bases(tv)  # a write through a view changes what it views
        for v in changed:
            if v.kind == "dyngrad" or v in self.grad_loads:  # a view of such a .grad
                _refuse(f"{self.name} changes a .grad of shape {v.shape} in place through a "
                        f"view of shape {tv.shape}, and the plan does not store that .grad "
                        f"itself (a gradient from before the call, or added to without "
                        f"zero_grad() first); not supported")
            if v.kind == "arg":
                _refuse(f"{self.name} changes its argument of shape {v.shape} in place; "
                        f"the plan copies arguments in, so the change would be lost. Change "
                        f"a tensor it holds instead, or return the new value")
            if v.kind == "const":
                v.kind = "tmp"  # a constant made inside fn and then changed: restored per call
                self.restore_consts.append(v)
        self.emit(_Write(tv, src, tuple(changed[1:])))

    def _and_bases(self, v: _Val) -> list:
        """`v` and, if it is a view, the values it views (through views of views)."""
        found, todo = [], [v]
        while todo:
            v = todo.pop()
            if not any(v is f for f in found):
                found.append(v)
                todo.extend(self.bases.get(v, ()))
        return found

    def on_set_data(self, t: Tensor) -> None:
        if self.in_step or (self.allow_set_data is not None and t is self.allow_set_data):
            self.allow_set_data = None
            return
        _refuse(f"{self.name} assigned or changed .data of a tensor of shape "
                f"{t._data.shape}; writes through .data are untracked, so a plan cannot "
                f"replay them. Use an in-place op (under no_grad) instead")

    def on_backward(self, root: Tensor, gradient: Any, inputs: Any) -> None:
        self.event()
        if inputs is not None:
            _refuse(f"{self.name} called backward(inputs=...); not supported in a "
                    f"compiled function")
        if gradient is None or not isinstance(gradient, (Tensor, np.ndarray)):
            arr = np.ones(root.shape, root.dtype) if gradient is None else \
                np.array(gradient, dtype=root.dtype).reshape(root.shape)
            seed = self._add(arr, _Val("const", arr, arr))
        else:  # backward copies the seed, cast to the output's dtype
            src = self.val(gradient)
            arr = np.empty(root.shape, root.dtype)
            if src.kind == "const":
                seed = self._add(arr, _Val("const", arr, np.array(
                    _array_of(gradient), dtype=root.dtype).reshape(root.shape)))
            else:
                seed = self.new_tmp(arr)
                self.emit(_Copy(src, seed))
        node = autograd.graph_node(root)
        self.in_backward = True
        self.pending = {}
        self.hand(node, seed)

    def hand(self, node: Any, g: _Val) -> None:
        entry = self.pending.get(id(node))
        if entry is None:
            self.pending[id(node)] = (node, [g])
        else:
            entry[1].append(g)

    def total(self, parts: list) -> _Val:
        """The gradient of a node from its parts, summed in backward's order."""
        acc = parts[0]
        for part in parts[1:]:
            shape = np.broadcast_shapes(acc.shape, part.shape)
            arr = np.empty(shape, np.result_type(acc.dtype, part.dtype))
            out = self.new_tmp(arr)
            self.emit(_Sum(acc, part, out))
            acc = out
        return acc

    def on_vjp(self, fn: Any, g: np.ndarray, grads: tuple) -> None:
        if not self.in_backward:
            _refuse(f"{self.name} called autograd.grad; use backward() in a compiled "
                    f"function")
        fwd = self.forward_of.get(id(fn))
        if fwd is None:
            _refuse(f"{self.name}'s backward reached an op ({type(fn).__name__}) that was "
                    f"not recorded inside it (a graph made outside, or an in-place change "
                    f"of a view); not supported")
        if fn.hooks:
            _refuse(f"{self.name}'s backward runs a hook (register_hook or retain_grad) "
                    f"on a tensor of shape {fn.out_shape}; hooks are not replayed")
        entry = self.pending.pop(id(fn), None)
        gval = self.total(entry[1]) if entry else self.val(g)
        self.vals[id(g)] = gval
        self.keep.append(g)
        outs, alias = [], []
        for parent, r in zip(fn.parents, grads):
            if r is None or parent is None or not parent.requires_grad:
                outs.append(None)
                alias.append(False)
                continue
            known = self.vals.get(id(r))
            if known is not None:
                outs.append(known)
                alias.append(True)
                v = known
            else:
                v = self.new_tmp(r)
                if r.base is not None and np.shares_memory(r, g):
                    v.kind, v.ref = "view", ("grad", fwd)
                    self.bases[v] = [gval]
                outs.append(v)
                alias.append(False)
            self.hand(parent, v)
        bw = _Backward(fwd, gval, outs, alias)
        self._check_unchanged(fwd, bw)
        self.emit(bw)

    def _check_unchanged(self, fwd: _Forward, bw: _Backward) -> None:
        """What a backward step reads must not have been changed in place since its
        forward (eager raises for what ops save; the plan checks what it reads)."""
        for v in fwd.saved:  # the kernels read what the op saves
            if isinstance(v, _Val) and any(fwd.pos < w for w in v.writes):
                _refuse(f"{self.name} changed an array of shape {v.shape} in place between "
                        f"the forward and the backward of {fwd.op.__name__}; not supported")

    def finish_backward(self) -> None:
        """Store the leaves' gradients, in backward's order (after all ops ran)."""
        self.in_backward = False
        for node, parts in self.pending.values():
            if not isinstance(node, Tensor):
                continue  # a stand-in for data: no gradient is kept
            if node._hooks:
                _refuse(f"{self.name}'s backward runs a hook (register_hook) on a leaf of "
                        f"shape {node._data.shape}; hooks are not replayed")
            leaf = self.leaf(node)
            src = self.total(parts)
            state = self.grad_state.get(id(node), "live")
            g = node.grad
            garr = g._data if g is not None else np.empty(node._data.shape, node._data.dtype)
            if state == "none":
                grad_val = self._add(garr, _Val("tmp", garr))
                self.grad_state[id(node)] = "fresh"
            else:
                grad_val = self._add(garr, _Val("dyngrad", garr, leaf))
                self.grad_state[id(node)] = "live"
            self.emit(_Accumulate(leaf, src, grad_val, state == "none", node._data.dtype))
        self.pending = {}

    def leaf(self, t: Tensor) -> _Leaf:
        leaf = self.leaves.get(id(t))
        if leaf is None:
            if id(t._data) in self.fresh:
                _refuse(f"{self.name} made a leaf tensor of shape {t._data.shape} that "
                        f"requires grad inside itself; make it outside and pass it in")
            leaf = self.leaves[id(t)] = _Leaf(None, t)
            self.keep.append(t)
        return leaf

    def on_set_grad(self, t: Tensor, value: Any) -> None:
        if self.in_backward and value is not None:
            return  # backward storing a gradient: the plan has its own _Accumulate
        self.event()
        if value is not None:
            _refuse(f"{self.name} assigned a tensor to .grad of a tensor of shape "
                    f"{t._data.shape}; only `.grad = None` (zero_grad) is replayed")
        self.emit(_SetGradNone(self.leaf(t)))
        self.grad_state[id(t)] = "none"

    def on_zero_grad_of_none(self, p: Tensor) -> None:
        """zero_grad(set_to_none=False) left `p.grad` None (there was none): a call where
        it exists would zero it in place instead, so the plan retraces then."""
        self.none_grads.append(p)

    def on_zero_grad(self, p: Tensor) -> None:
        self.event()
        self.emit(_ZeroGrad(self.leaf(p)))
        self.grad_state[id(p)] = "live"
        self.allow_set_data = p.grad

    def on_optimizer(self, opt: Any) -> None:
        """An optimizer the step uses: its parameter groups as they are are the plan's."""
        self.optimizers.setdefault(id(opt), (opt, opt.group_changes))

    def on_scheduler_step(self, name: str) -> None:
        _refuse(f"{self.name} called {name}.step(); inside a compiled function it would run "
                f"only when the step is traced, and the learning rate would stop changing. "
                f"Call scheduler.step() outside the compiled function (the plan reads the "
                f"learning rate at every call)")

    def on_step_end(self) -> None:
        self.in_step = False  # the update's own reads of .data are over

    def on_step(self, opt: Any) -> None:
        self.on_optimizer(opt)
        self.event()
        step = self.emit(_Step(opt))
        for group in opt.param_groups:
            for p in group["params"]:
                v = self.live.get(id(p))
                if v is not None:
                    v.writes.append(step.pos)
        self.in_step = True


# --------------------------------------------------------------------------- tracing


_GRAD_SLOT = Tensor.__dict__["grad"]  # the slot `grad` of every Tensor


def _grad_property(tracer: _Tracer) -> property:
    """While tracing, `Tensor.grad` is this property: a set (zero_grad, `p.grad = None`)
    is reported to the tracer. A tensor's first set (when it is made) is not."""
    get, put = _GRAD_SLOT.__get__, _GRAD_SLOT.__set__
    thread, ident = tracer.thread, threading.get_ident

    def getter(t: Tensor) -> Any:
        g = get(t, Tensor)
        if g is not None and ident() == thread:  # which tensor it is the .grad of (kept
            tracer.grad_of[id(g)] = (t, g)  # alive: ids stay unique)
        return g

    def setter(t: Tensor, value: Any) -> None:
        try:
            old = get(t, Tensor)
        except AttributeError:  # the tensor is being made
            put(t, value)
            return
        put(t, value)
        # `p.grad = p.grad` changes nothing; another thread's sets are not the step's
        if (value is None or value is not old) and ident() == thread:
            tracer.on_set_grad(t, value)

    return property(getter, setter)


class _ThisThread:
    """`autograd.tracer` while a step is traced: the tracer's hooks for the thread that
    traces, and hooks that do nothing for any other thread (its ops, its replays and its
    `.grad` writes are not the step's)."""

    def __init__(self, tracer: _Tracer) -> None:
        self.tracer, self.thread = tracer, tracer.thread

    def __getattr__(self, name: str) -> Any:
        if threading.get_ident() != self.thread:
            return _ignore
        return getattr(self.tracer, name)


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


# One trace at a time: a thread that would trace while another traces waits for it.
_TRACING = threading.Lock()


def _trace(fn: Callable, args: tuple, kwargs: dict, flat: list) -> tuple:
    name = getattr(fn, "__qualname__", "fn")
    with _TRACING:
        tracer = _Tracer(name, flat)
        tracer.restore_consts = []
        autograd.tracer = _ThisThread(tracer)
        Tensor.grad = _grad_property(tracer)
        try:
            result = fn(*args, **kwargs)
            tracer.event()
        finally:
            Tensor.grad = _GRAD_SLOT
            autograd.tracer = None
    plan = Plan(tracer, result)
    return result, plan


# --------------------------------------------------------------------------- the plan


class Plan:
    """The replay of one trace: buffers for its arrays and one call per event."""

    def __init__(self, tracer: _Tracer, result: Any) -> None:
        self.program = tracer.program
        self.name = tracer.name
        self.tracer_rng = tracer.rng
        self.vals = tracer.all_vals
        self.live = [(v.ref, v) for v in self.vals if v.kind == "live"]
        self.requires = [(t, t._requires_grad) for t, _ in self.live]
        self.restore = list(tracer.restore_consts)
        self.args: list = []
        self.mode = tracer.mode
        self.bases = tracer.bases  # view value -> the values it is a view of
        self.optimizers = list(tracer.optimizers.values())
        self.none_grads = tracer.none_grads
        self.output = self._output_spec(tracer, result)
        self.held: list = []  # the lazy results of the latest call
        self.signature: tuple | None = None  # the key of a call of tensors (make_entry)
        self.entry: Any = None
        self._fuse(tracer)
        self.bind()

    # ------------------------------------------------------------ building
    def _output_spec(self, tracer: _Tracer, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            v = tracer.vals.get(id(obj._data))
            if v is None or (v.kind == "live" and v.ref is obj):
                return ("obj", obj)
            if v.kind == "arg" and tracer.args[v.ref] is obj:
                return ("arg", v.ref)
            if v.kind == "dyngrad":  # read from its tensor's .grad after the call
                leaf = v.ref
                t = leaf.tensor if leaf.k is None else tracer.args[leaf.k]
                if _GRAD_SLOT.__get__(t, Tensor) is not obj:
                    _refuse(f"{self.name} returns a .grad of shape {v.shape} that is no longer "
                            f"its tensor's .grad when the call ends (zero_grad() cleared or "
                            f"replaced it); return a clone() of it instead")
            v.readers.append(None)
            return ("val", v)
        if isinstance(obj, np.ndarray) and id(obj) in tracer.vals:
            v = tracer.vals[id(obj)]
            v.readers.append(None)
            return ("array", v)
        if isinstance(obj, (tuple, list)):
            items = [self._output_spec(tracer, o) for o in obj]
            return ("seq", type(obj), items)
        if isinstance(obj, dict):
            return ("dict", type(obj), [(k, self._output_spec(tracer, v)) for k, v in obj.items()])
        return ("obj", obj)

    def _fuse(self, tracer: _Tracer) -> None:
        """Find weights whose gradient (x·Wᵀ's ∂W, one part) goes only to a plain SGD
        step in the same call, into a `.grad` the call cleared: update W by BLAS from the
        factors, and give `.grad` lazily."""
        if _blas is None:
            return
        steps = [i for i in self.program if isinstance(i, _Step)]
        for acc in self.program:
            if not isinstance(acc, _Accumulate) or not acc.fresh or acc.leaf.k is not None:
                continue
            if acc.grad.readers or acc.src.readers != [acc]:
                continue
            producer = [i for i in self.program if isinstance(i, _Backward)
                        and acc.src in i.outs and not i.alias[i.outs.index(acc.src)]]
            if len(producer) != 1:
                continue
            bw = producer[0]
            fwd = bw.fwd
            if fwd.op is not ops.MatMul or not fwd.attrs.get("transpose_b") or \
                    bw.outs.index(acc.src) != 1:
                continue
            a, w = fwd.ins
            if not isinstance(w, _Val) or w.kind != "live" or w.ref is not acc.leaf.tensor:
                continue
            if w.dtype not in (np.float32, np.float64) or len(a.shape) not in (1, 2) or \
                    not isinstance(a, _Val) or a.dtype != w.dtype or bw.g.dtype != w.dtype:
                continue
            later = [s for s in steps if s.pos > acc.pos]
            if not later or not _plain_sgd(later[0].opt):
                continue
            step = later[0]
            # nothing may change W or the factors between the backward and the step
            if any(acc.pos < p < step.pos for p in w.writes) or \
                    any(bw.pos < p <= step.pos for v in (a, bw.g) for p in v.writes):
                continue
            if any(isinstance(i, (_SetGradNone, _ZeroGrad, _Accumulate)) and i is not acc and
                   i.leaf.tensor is acc.leaf.tensor and acc.pos < i.pos < step.pos
                   for i in self.program):
                continue
            if any(isinstance(i, _Step) and acc.pos < i.pos < step.pos for i in self.program):
                continue
            if any(isinstance(i, _LoadGrad) and i.leaf is acc.leaf for i in self.program):
                continue  # the next call reads this .grad before its arguments are in
            acc.fuse = (fwd, bw.g, a)
            fwd.fused = True
            step.fused[id(w.ref)] = acc

    def bind(self) -> None:
        """Allocate the buffers (views made on them once) and build the calls."""
        buf: dict = {}
        self.buf = buf
        self.lazies: list = []
        self.stored_grads: dict = {}  # a gradient's value -> its store's slot (_Accumulate)
        for v in self.vals:
            if v.kind == "live":
                buf[v] = v.ref._data
            elif v.kind == "const":
                buf[v] = v.ref
            elif v.kind in ("tmp", "arg", "dyngrad"):
                buf[v] = _empty(v)
        self.arg_copies = [(v.ref, buf[v]) for v in self.vals if v.kind == "arg"]
        self.restores = [(buf[v], np.array(v.ref, copy=True) if isinstance(v.ref, np.ndarray)
                          else None) for v in self.restore]
        built = []
        steady = self.steady = {v for v in self.vals if v.kind == "const" and not v.writes}
        self.squares: dict = {}  # id(buffer) -> a square's backward that makes it (_negation)
        dead = self._dead_clears()
        for instr in self.program:
            self._make_views(instr)
            if isinstance(instr, _Backward):
                instr.fused_reads = None
            call = instr.build(self)
            if call is None or instr in dead:
                continue
            replaced = getattr(call, "replaces", None)
            if replaced is not None:
                built = [(i, c) for i, c in built if i is not replaced]
            if self._steady(instr, steady):
                call()  # constant folding: the same value at every call, computed once now
                steady.update(instr.writes)
                continue
            built.append((instr, call))
        later = self._only_for_results(built)
        self.calls = [call for instr, call in built if instr not in later]
        # what run() loops over: each NumPy call of a kernel by itself, other calls as they are
        self.steps = [step for call in self.calls for step in
                      (call if isinstance(call, _Calls) else ((call, ()),))]
        self.later = [call for instr, call in built if instr in later]
        self.later_done = [True]
        self.finish = self._finisher()
        self.makers: dict = {}  # result val -> its maker (_make_result)
        # the usual result, one tensor computed by the plan: the entry makes it directly
        kind, v = self.output[:2]
        self.one_result = v if kind == "val" and v.kind != "dyngrad" else None
        if self.one_result is not None:
            self.makers[v] = self._make_result(v)
        self.reads_args = any(  # an argument's .grad: the entry does not keep `args`
            isinstance(i, (_SetGradNone, _ZeroGrad, _Accumulate, _LoadGrad)) and
            i.leaf.k is not None for i in self.program)
        self.bound = [(t, t._data, rg) for (t, _), (_, rg) in zip(self.live, self.requires)]
        self.make_entry(self.signature)  # anew on the new buffers (none before a key)

    def _dead_clears(self) -> set:
        """The `p.grad = None` of zero_grad() where, before anything could read `.grad`,
        the plan stores p's new gradient anyway: the store alone leaves the same state."""
        dead = set()
        for i, clear in enumerate(self.program):
            if not isinstance(clear, _SetGradNone):
                continue
            for instr in self.program[i + 1:]:
                if isinstance(instr, _Accumulate) and instr.leaf is clear.leaf:
                    if instr.fresh:
                        dead.add(clear)
                    break
                if not isinstance(instr, (_Forward, _Backward, _Sum, _Copy, _SetGradNone,
                                          _Accumulate)):
                    break  # a step, a write, zero_grad(set_to_none=False): may read .grad
        return dead

    def _only_for_results(self, built: list) -> set:
        """The forward calls whose values only the results need (the loss's sum after
        backward has its gradient): a replay runs them when a result is first read,
        not before. Only calls reading buffers that nothing but the plan writes and
        nothing later in the call changes, so the values are those of the call."""
        readers: dict = {}
        for instr, _ in built:
            for v in _reads(instr):
                todo = [v]  # reading a view (a reshape, a flatten) reads what it views
                while todo:
                    u = todo.pop()
                    readers.setdefault(u, []).append(instr)
                    todo.extend(self.bases.get(u, ()))
        later: set = set()
        for instr, _ in reversed(built):
            if not isinstance(instr, _Forward) or instr.op is ops.Dropout:
                continue
            out = instr.out
            if out.kind != "tmp" or out.writes != [instr.pos] or \
                    not all(r in later for r in readers.get(out, ())):
                continue
            if all(v.kind in ("tmp", "arg", "const") and not any(p > instr.pos for p in v.writes)
                   for v in _reads(instr)):
                later.add(instr)
        return later

    @staticmethod
    def _steady(instr: _Instr, steady: set) -> bool:
        """True when `instr` computes from steady values only (constants such as
        backward's seed of ones, and what was computed from them alone) into buffers
        nothing else writes: the result is the same at every call."""
        if not isinstance(instr, (_Forward, _Backward, _Sum, _Copy)) or \
                isinstance(instr, _Forward) and instr.op is ops.Dropout:
            return False
        return all(v in steady for v in _reads(instr)) and all(
            w.kind == "tmp" and w.writes == [instr.pos] for w in instr.writes)

    def _make_views(self, instr: _Instr) -> None:
        """Views an instruction makes (reshape, transpose, ∂ of a reshape) are made once on
        the buffers, before the instruction's call is built."""
        buf = self.buf
        if isinstance(instr, _Forward) and instr.out.kind == "view":
            fn = instr.cell[0] = instr.make_fn()
            ins = _arrays(self, instr.ins)
            view = fn.forward(*ins, **instr.bound_attrs(self))
            self._check_view(view, instr.out, ins)
            buf[instr.out] = view
        if isinstance(instr, _Backward):
            views = [o for o, a in zip(instr.outs, instr.alias)
                     if o is not None and not a and o.kind == "view"]
            if views:
                fn = instr.fwd.cell[0]
                if fn is None:
                    fn = instr.fwd.make_fn()
                    fn.forward(*_arrays(self, instr.fwd.ins), **instr.fwd.bound_attrs(self))
                results = fn.backward(buf[instr.g])
                for o, r in zip(instr.outs, results):
                    if o in views:
                        self._check_view(r, o, [buf[instr.g]])
                        buf[o] = r

    def _check_view(self, view: Any, v: _Val, bases: list) -> None:
        """A view made once on the buffers must share their memory (a reshape that copies
        would freeze the first call's values)."""
        if not isinstance(view, np.ndarray) or view.shape != v.shape or view.dtype != v.dtype \
                or view.base is None or not any(isinstance(b, np.ndarray) and
                                                np.shares_memory(view, b) for b in bases):
            _refuse(f"{self.name}: a view of shape {v.shape} could not be made on the plan's "
                    f"buffers; not supported")

    # ------------------------------------------------------------ running
    def make_entry(self, key: tuple | None) -> None:
        """`self.entry(args)`: `run` written out as one Python function for calls whose
        arguments are tensors like those of `key` (a tensor-only key of `Compiled._key`):
        the checks made inline against the key's constants, each input copied into its
        buffer, each NumPy call of `steps` a line. It gives `_MISS` for any other call
        (other shapes, a parameter's array replaced, train()/eval(), grad mode), which then
        takes the general path; the same work as `run`, in fewer Python steps (on the
        text's 16-8-2 step the replay is ~20% faster). Plans that read their arguments or
        restore constants, and results other than one tensor, keep to `run`."""
        self.signature, self.entry = key, None
        if (key is None or self.reads_args or self.restores or self.one_result is None
                or self.none_grads):
            return
        n = (len(key) - 2) // 3
        ns: dict = {"MISS": _MISS, "Tensor": Tensor, "Module": Module, "grad_mode":
                    autograd._grad_mode, "getrefcount": sys.getrefcount, "wrap": _wrap,
                    "Lazy": _Lazy, "HELD": self.held, "LD":
                    self.later_done, "MAKE": self.makers[self.one_result],
                    "RBUF": self.buf[self.one_result]}
        xs = [f"x{k}" for k in range(n)]
        code = ["def entry(args):", f"    if len(args) != {n}:", "        return MISS"]
        if n:
            code.append(f"    {', '.join(xs)}, = args")
        for k, x in enumerate(xs):
            ns[f"S{k}"], ns[f"D{k}"], ns[f"R{k}"] = key[3 * k:3 * k + 3]
            code += [f"    if type({x}) is not Tensor:", "        return MISS",
                     f"    d{k} = {x}._data",
                     f"    if d{k}.shape != S{k} or d{k}.dtype is not D{k} or "
                     f"{x}._requires_grad is not R{k}:", "        return MISS"]
        if n == 2:  # the plan is for separate arrays
            code += ["    if d0 is d1:", "        return MISS"]
        elif n > 2:
            code += [f"    if len({{{', '.join(f'id(d{k})' for k in range(n))}}}) != {n}:",
                     "        return MISS"]
        ns["G"], ns["M"] = key[-2], self.mode
        code += ["    if grad_mode.enabled != G or Module.mode_changes != M:",
                 "        return MISS"]
        for j, (o, changes) in enumerate(self.optimizers):
            ns[f"O{j}"], ns[f"N{j}"] = o, changes
            code += [f"    if O{j}.group_changes != N{j}:", "        return MISS"]
        for j, (t, arr, rg) in enumerate(self.bound):  # else run() rebinds or retraces
            ns[f"P{j}"], ns[f"A{j}"], ns[f"RG{j}"] = t, arr, rg
            code += [f"    if P{j}._data is not A{j} or P{j}._requires_grad is not RG{j}:",
                     "        return MISS"]
        for j, slot in enumerate(self.lazies):  # from here on as run()
            ns[f"L{j}"], ns[f"LT{j}"] = slot, slot[1]
            code += [f"    lazy = L{j}[0]",
                     f"    if lazy is not None and getrefcount(lazy) > 3 + (LT{j}.grad is lazy):",
                     "        if lazy._cache is None:",
                     "            lazy._cache = lazy._make()",
                     f"        L{j}[0] = None"]
        code += [
            "    for lazy in HELD:",
            "        if getrefcount(lazy) > 3 and lazy._cache is None:",
            "            lazy._cache = lazy._make()",
            "    HELD.clear()",
            f"    LD[0] = {not self.later}"]
        for j, (k, b) in enumerate(self.arg_copies):
            ns[f"B{j}"] = b
            code.append(f"    B{j}[...] = d{k}")
        for i, (fn, args) in enumerate(self.steps):
            lazy = getattr(fn, "lazy", None)
            if lazy is not None:  # a lazy gradient's store, as _build_lazy's store()
                ns[f"GS{i}"], ns[f"GT{i}"], ns[f"GM{i}"] = lazy
                code += [f"    lazy = GS{i}[0]",
                         f"    if lazy is None or getrefcount(lazy) > 3 + (GT{i}.grad is lazy):",
                         f"        lazy = GS{i}[0] = Lazy(GM{i})",
                         "    else:",
                         "        lazy._cache = None",
                         "        lazy._vc[0] += 1",
                         f"    GT{i}.grad = lazy"]
                continue
            ns[f"F{i}"] = fn
            for j, a in enumerate(args):
                ns[f"a{i}_{j}"] = a
            code.append(f"    F{i}({', '.join(f'a{i}_{j}' for j in range(len(args)))})")
        code += ["    if LD[0]:", "        return wrap(RBUF.copy())",
                 "    out = Lazy(MAKE)", "    HELD.append(out)", "    return out"]
        exec("\n".join(code), ns)  # noqa: S102  (our own text, from the plan's values)
        self.entry = ns["entry"]
        self.entry_source = "\n".join(code)

    def stale(self) -> bool:
        """True when the trace no longer holds: train()/eval() since, a tensor's
        requires_grad changed, or its array replaced by one of another shape or dtype."""
        if Module.mode_changes != self.mode:
            return True
        if any(o.group_changes != n for o, n in self.optimizers):  # add_param_group
            return True
        if any(p.grad is not None for p in self.none_grads):  # zero_grad would zero it
            return True
        for t, arr, rg in self.bound:
            if t._requires_grad is not rg:
                return True
            if t._data is not arr and (t._data.shape != arr.shape or
                                       t._data.dtype != arr.dtype):
                return True
        return False

    def run(self, flat: Sequence) -> Any:
        """The general replay (the entry, when there is one, is this written out)."""
        if self.stale():
            return _RETRACE
        if any(t._data is not arr for t, arr, _ in self.bound):
            self.bind()  # `p.data = new array` of the same kind: the plan works on it
        for slot in self.lazies:  # last call's lazy gradients, if someone kept one
            lazy = slot[0]
            if lazy is not None and sys.getrefcount(lazy) > 3 + (slot[1].grad is lazy):
                if lazy._cache is None:
                    lazy._cache = lazy._make()  # its factors are about to be overwritten
                slot[0] = None
        for lazy in self.held:  # last call's lazy results, if someone kept one: made now,
            if sys.getrefcount(lazy) > 3 and lazy._cache is None:  # before its inputs go
                lazy._cache = lazy._make()
        self.held.clear()
        self.later_done[0] = not self.later
        self.args[:] = flat
        for k, b in self.arg_copies:  # same shapes and dtypes (the plan's key)
            x = flat[k]
            b[...] = x._data if type(x) is Tensor else _array_of(x)
        for b, value in self.restores:
            b[...] = value
        for fn, args in self.steps:  # the kernels mirror the ops' errstate: none is needed
            fn(*args)
        out = self._result(self.output)
        self.args[:] = ()  # the arguments are not kept alive by the plan
        return out

    def _finisher(self) -> Callable:
        """The calls only results need, run once per replay when a result is first
        read (on this binding's buffers, so a result kept across a rebind still works)."""
        later, done = self.later, self.later_done

        def finish() -> None:
            if not done[0]:
                for call in later:
                    call()
                done[0] = True
        return finish

    def _make_result(self, v: _Val) -> Callable:
        """A result's array, made when first read: copied out of its buffer after the
        calls only results need."""
        buf, finish = self.buf[v], self.finish

        def make() -> np.ndarray:
            finish()
            return buf.copy()
        return make

    def like_replay(self, spec: Any, obj: Any) -> Any:
        """The traced call's own result as a replay returns it: copies, detached."""
        kind = spec[0]
        if kind == "val" and isinstance(obj, Tensor):
            return _wrap(obj._data.copy())
        if kind == "array":
            return obj.copy()
        if kind == "seq":
            items = [self.like_replay(s, o) for s, o in zip(spec[2], obj)]
            return items if spec[1] is list else spec[1](items) if spec[1] is tuple else \
                spec[1](*items) if hasattr(spec[1], "_fields") else spec[1](items)
        if kind == "dict":
            return spec[1]({k: self.like_replay(s, obj[k]) for k, s in spec[2]})
        return obj

    def _result(self, spec: Any) -> Any:
        kind = spec[0]
        if kind == "val":
            v = spec[1]
            if v.kind == "dyngrad":
                return _wrap(v.ref.get(self).grad._data.copy())
            if self.later_done[0]:
                return _wrap(self.buf[v].copy())
            make = self.makers.get(v)
            if make is None:
                make = self.makers[v] = self._make_result(v)
            lazy = _Lazy(make)
            self.held.append(lazy)
            return lazy
        if kind == "obj":
            return spec[1]
        if kind == "arg":
            return self.args[spec[1]]
        if kind == "array":
            self.finish()
            return self.buf[spec[1]].copy()
        if kind == "seq":
            items = [self._result(s) for s in spec[2]]
            return items if spec[1] is list else spec[1](items) if spec[1] is tuple else \
                spec[1](*items) if hasattr(spec[1], "_fields") else spec[1](items)
        return spec[1]({k: self._result(s) for k, s in spec[2]})
