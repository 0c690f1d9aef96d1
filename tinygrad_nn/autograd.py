"""The engine: the Function base, grad mode, and the backward pass.

The graph is made of Functions (one per recorded op) linked to their inputs: the
Function that made an input, or the input tensor itself when it is a leaf (made by no
recorded op: parameters, data, constants), or None where the input was a Python number.
Intermediate tensors are not part of the graph, so they live only as long as the user
holds them. This module never imports `_tensor.py`: it walks nodes by duck typing
(`_leaf`, `requires_grad`, and for leaves `data` and `_accumulate_grad`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

# Grad mode lives in a one-element list so the hot path reads it with one index.
_grad_enabled = [True]

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to reach tensors of it after "
    "they have been freed). The saved arrays are dropped after .backward() to keep memory "
    "flat; pass retain_graph=True to the first .backward() call if you need to backward "
    "through the same graph again."
)


class ShapeError(ValueError, RuntimeError):
    """Operands whose shapes do not fit: a ValueError (this project's rule for shape
    problems) that is also a RuntimeError (what PyTorch raises for the same mistakes)."""


# Recorded ops are numbered as they are made, counting down: an op's inputs were made
# before it, so ascending `seq` (newest first) is a topological order for backward.
next_seq = itertools.count(-1, -1).__next__


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward."""
    return _grad_enabled[0]


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it afterwards.
    Works as `with no_grad():`, `@no_grad()` and `@no_grad`."""

    _mode = True

    def __new__(cls, func: Any = None) -> Any:
        self = super().__new__(cls)
        return self(func) if callable(func) else self

    def __init__(self, func: Any = None) -> None:
        pass

    def __enter__(self) -> None:
        self._prev = _grad_enabled[0]
        _grad_enabled[0] = self._mode

    def __exit__(self, *exc: object) -> None:
        _grad_enabled[0] = self._prev

    def __call__(self, func: F) -> F:
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _grad_enabled[0]
            _grad_enabled[0] = mode
            try:
                return func(*args, **kwargs)
            finally:
                _grad_enabled[0] = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):  # noqa: N801  (PyTorch's name)
    """Operations inside do not build a graph: `with no_grad(): ...`, `@no_grad()` or
    `@no_grad`."""

    _mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Turns graph building back on inside a `no_grad` region."""

    _mode = True


class Function:
    """One primitive op. Subclasses define `forward(*arrays)` and `backward(grad)`.

    `backward` returns one gradient (ndarray) or None per input, each already of that
    input's shape. The recorder sets `parents` (input nodes), `seq` (see `next_seq`) and
    `out_shape`; a folded Python number is kept in `const` as (position, value), and an
    op's attributes that a drawing shows (an axis, a transpose) in `info`. Saved arrays
    live in the instance `__dict__`, so backward frees them with one `clear()`; the links
    then move to `kept`, a skeleton `draw_graph` can still draw.
    """

    __slots__ = ("parents", "kept", "seq", "out_shape", "const", "info", "__dict__",
                 "__weakref__")
    _leaf = False
    requires_grad = True  # a recorded op always leads back to something that needs grad

    def forward(self, *arrays: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` back to `shape`: over leading axes broadcasting added and over axes
    that were stretched from size 1 (the adjoint of NumPy broadcasting)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def graph_node(t: Any) -> Any:
    """The graph node standing for tensor `t`: the Function that made it, or `t` itself."""
    ctx = t._ctx
    return t if ctx is None else ctx


def run_backward(root: Any, grad: np.ndarray, retain_graph: bool = False,
                 inputs: Any = None) -> list | None:
    """Propagate `grad` (d root / d root) from tensor `root` back through the graph.

    Without `inputs`, accumulate into `.grad` of every leaf that requires grad (what
    `Tensor.backward` does). With `inputs` (a sequence of tensors), touch no `.grad` and
    return the gradient arrays for those tensors instead (None where unreached), as
    `torch.autograd.grad` does. The graph is freed unless `retain_graph`.

    One pass, newest op first (lowest `seq`): an op runs only after every op that used
    its output (all newer) has handed it a gradient. Waiting ops sit in a heap. Ops return None for
    inputs that need no gradient, so every array they return is accumulated. A leaf's
    contributions are summed first and added to its `.grad` once, at the end.
    """
    start = root._ctx
    # the inputs= form: gradients reaching these nodes are captured instead of stored
    capture = None if inputs is None else {id(graph_node(t)): None for t in inputs}
    leaf_grads: dict = {}
    if start is None:  # a leaf: d root / d root
        leaf_grads[root] = grad
    else:
        grads: dict = {}
        pop = grads.pop
        get = grads.get
        leaf_get = leaf_grads.get
        heap: list = []  # (seq, op) of ops waiting for their turn
        node, g = start, grad
        while True:
            parents = node.parents
            if parents is None:
                raise RuntimeError(FREED_MESSAGE)
            if capture is not None and id(node) in capture:
                capture[id(node)] = g
            in_grads = node.backward(g)
            # ops have one or two inputs; unrolled, this costs half of a zip() loop.
            # `new` is an op reached here for the first time: in a chain it is the next
            # op to run, which then skips the heap.
            new = None
            pg = in_grads[0]
            if pg is not None:
                p = parents[0]
                if p._leaf:
                    prev = leaf_get(p)
                    leaf_grads[p] = pg if prev is None else prev + pg
                else:
                    prev = get(p)
                    if prev is None:
                        grads[p] = pg
                        new = p
                    else:
                        grads[p] = prev + pg
            if len(in_grads) == 2:
                pg = in_grads[1]
                if pg is not None:
                    p = parents[1]
                    if p._leaf:
                        prev = leaf_get(p)
                        leaf_grads[p] = pg if prev is None else prev + pg
                    else:
                        prev = get(p)
                        if prev is None:
                            grads[p] = pg
                            if new is None:
                                new = p
                            else:
                                heappush(heap, (p.seq, p))
                        else:
                            grads[p] = prev + pg
            if not retain_graph:  # free: keep the skeleton, drop the saved arrays
                node.kept = parents
                node.parents = None
                node.__dict__.clear()
            # next: the newest waiting op (lowest seq)
            if new is not None and (not heap or new.seq < heap[0][0]):
                node = new
            else:
                if new is not None:
                    heappush(heap, (new.seq, new))
                if not heap:
                    break
                node = heappop(heap)[1]
            g = pop(node)
    if capture is None:
        handed: set = set()  # ids of arrays already stored in some leaf's .grad
        for leaf, g in leaf_grads.items():
            leaf._accumulate_grad(g, handed)
        return None
    for leaf, g in leaf_grads.items():
        if id(leaf) in capture:
            capture[id(leaf)] = g
    out = []
    for t in inputs:
        g = capture[id(graph_node(t))]
        dt = t.data.dtype
        out.append(g if g is None or g.dtype == dt else g.astype(dt))
    return out
