"""The engine: the Function base, grad mode (per thread), and the backward pass.

The graph is made of Functions (one per recorded op) linked to their inputs' nodes: the
Function that made an input, the input tensor itself when it is a leaf that requires grad
(a parameter), a small stand-in for a leaf that does not (a data batch), or None for a
Python number. Intermediate tensors are not part of the graph, so they live only as long
as the user holds them. This module never imports `_tensor.py`: it walks nodes by duck
typing (`_leaf`, `requires_grad`, and for leaves `_accumulate_grad`).
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

FREED_MESSAGE = (
    "backward: trying to backward through the graph a second time (or to reach tensors of "
    "it after they have been freed). The saved arrays are dropped after .backward() to keep "
    "memory flat; pass retain_graph=True to the first .backward() call if you need to "
    "backward through the same graph again."
)


class ShapeError(ValueError, RuntimeError):
    """Operands whose shapes do not fit: a ValueError (this project's rule for shape
    problems) that is also a RuntimeError (what PyTorch raises for the same mistakes)."""


class AxisError(ShapeError, IndexError):
    """An axis (dim) out of range: a ShapeError that is also the IndexError PyTorch raises
    ("Dimension out of range"), as NumPy's AxisError is both a ValueError and an IndexError."""


# --------------------------------------------------------------------------- grad mode


class _GradMode(threading.local):
    """Grad mode, one flag per thread (as PyTorch): `no_grad` in one thread never stops
    recording in another."""

    enabled = True


_grad_mode = _GradMode()

# The tracer of `compile` while it records a step, else None. `jit.py` sets it; the
# recorder in `_tensor.py` reports each op to it. Nothing here imports `jit`.
tracer: Any = None


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward (in this thread)."""
    return _grad_mode.enabled


class _GradModeContext:
    """Sets grad mode to `mode` inside a `with` block or a decorated function and restores
    it afterwards (also after an exception)."""

    mode = True

    def __new__(cls, func: Any = None) -> Any:
        self = super().__new__(cls)
        self.prev = []
        return self(func) if callable(func) else self  # bare `@no_grad` decorates at once

    def __init__(self, func: Any = None) -> None:
        pass

    def __enter__(self) -> None:
        self.prev.append(_grad_mode.enabled)
        _grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self.prev.pop()

    def __call__(self, func: F) -> F:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _grad_mode.enabled
            _grad_mode.enabled = mode
            try:
                return func(*args, **kwargs)
            finally:
                _grad_mode.enabled = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):  # noqa: N801  (PyTorch's name)
    """Operations inside do not build a graph: `with no_grad(): ...`, `@no_grad()` or
    `@no_grad`."""

    mode = False


class enable_grad(_GradModeContext):  # noqa: N801
    """Turns graph building back on inside a `no_grad` region."""

    mode = True


class set_grad_enabled(_GradModeContext):  # noqa: N801
    """`set_grad_enabled(False)` switches grad mode at once (as PyTorch); used with `with`,
    the previous mode comes back at the end of the block."""

    def __new__(cls, mode: bool) -> set_grad_enabled:
        self = object.__new__(cls)
        self.mode = bool(mode)
        self.prev = [_grad_mode.enabled]
        _grad_mode.enabled = self.mode
        return self

    def __init__(self, mode: bool) -> None:
        pass

    def __enter__(self) -> None:
        pass


# --------------------------------------------------------------------------- Function


# Recorded ops are numbered as they are made, counting down: an op's inputs were made
# before it, so ascending `seq` (newest first) is a topological order for backward.
next_seq = itertools.count(-1, -1).__next__


class Function:
    """One primitive op. Subclasses define `forward(*arrays, **attrs) -> ndarray` and
    `backward(grad) -> tuple` (one gradient array, or None, per input, of that input's
    shape).

    The recorder sets, before `forward`, `needs` (which inputs need a gradient, so that
    forward saves only what backward will use, as PyTorch does) and, after it, `parents`
    (the inputs' graph nodes), `seq`, `out_shape` and `saved` (the version of each tensor
    whose array the op kept, checked before backward: see `check_saved`). A Python-number
    operand is kept in `const` as (position, value) for drawings. Saved arrays live in the
    instance `__dict__`; backward frees them and moves the links to `kept`, a skeleton
    `draw_graph` can still draw.
    """

    # the graph's structure lives in slots; saved arrays in `__dict__`, freed at once
    __slots__ = ("parents", "kept", "seq", "out_shape", "const", "info", "needs",
                 "saved", "hooks", "__dict__", "__weakref__")
    _leaf = False
    requires_grad = True  # a recorded op always leads back to something that needs grad
    differentiable = True  # False: the output never requires grad (comparisons, argmax)

    def forward(self, *arrays: Any, **attrs: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no gradient")

    def sum_to_input(self, grad: np.ndarray, i: int) -> np.ndarray:
        """`grad` summed back to the shape of input `i` (its graph node's output shape)
        after broadcasting; the same array when nothing was broadcast (the usual case,
        checked here to spare a call)."""
        shape = self.parents[i].out_shape
        return grad if grad.shape == shape else unbroadcast(grad, shape)

    @property
    def name(self) -> str:
        return type(self).__name__

    def check_saved(self) -> None:
        """Raise if an array this op kept for its gradient was changed in place after the
        op ran (its tensor's version counter moved on). `saved` lists only the arrays the
        op really kept, so the check raises where PyTorch's does and not elsewhere."""
        for counter, version, position in self.saved:
            if counter[0] != version:
                what = "its output" if position < 0 else f"its input {position}"
                raise RuntimeError(
                    f"backward: one of the arrays {self.name} saved for its gradient ({what}) "
                    f"was modified by an in-place operation: it is at version {counter[0]}, "
                    f"but {self.name} saved it at version {version}. Something (an in-place "
                    f"op such as add_ or +=, optimizer.step(), load_state_dict, "
                    f"`t.data -= ...`) changed it between forward and backward; run backward "
                    f"first, or clone() the tensor before changing it.")


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` back to `shape`: over leading axes broadcasting added and over axes
    that were stretched from size 1 (the adjoint of NumPy broadcasting)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    elif extra < 0:  # `a[i] = v` with v of shape (1, n) into n places: NumPy drops the 1s
        grad = grad.reshape((1,) * -extra + grad.shape)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


# --------------------------------------------------------------------------- backward


def graph_node(t: Any) -> Any:
    """The graph node standing for tensor `t`: the Function that made it, or `t` itself."""
    return t if t._ctx is None else t._ctx


def _run_hooks(hooks: list | None, grad: np.ndarray) -> np.ndarray:
    """Apply tensor hooks (register_hook, retain_grad) in order; a hook's non-None result
    replaces the gradient. Hooks see an array: a 0-d op's gradient can be a NumPy scalar."""
    if hooks:
        grad = np.asarray(grad)
    for hook in hooks or ():
        grad = hook(grad)
    return grad


def run_backward(roots: Sequence[tuple], retain_graph: bool = False,
                 inputs: Sequence[Any] | None = None) -> list | None:
    """Propagate gradients from `roots`, pairs (tensor, d out / d tensor as an ndarray),
    back through the graph: the chain rule, one op at a time.

    Without `inputs`, accumulate into `.grad` of every leaf that requires grad (what
    `Tensor.backward` does). With `inputs`, touch no `.grad` and return the gradient
    arrays reaching those tensors (None where unreached), as `torch.autograd.grad`. The
    graph is freed unless `retain_graph`.

    Ops run newest first (lowest `seq`): an op runs only after every op that used its
    output (all newer) has handed it its part of the gradient, which `pending` sums.
    """
    wanted = None if inputs is None else {id(graph_node(t)): None for t in inputs}
    pending: dict = {}  # node -> gradient summed so far
    heap: list = []  # (seq, node) of ops waiting for their turn
    for root, g in roots:
        node = graph_node(root)
        if node in pending:
            pending[node] = pending[node] + g
        else:
            pending[node] = g
            if not node._leaf:
                heappush(heap, (node.seq, node))
    while heap:
        fn = heappop(heap)[1]
        g = pending.pop(fn)
        if fn.hooks:
            g = _run_hooks(fn.hooks, g)
        if fn.parents is None:
            raise RuntimeError(FREED_MESSAGE)
        if wanted is not None and id(fn) in wanted:
            wanted[id(fn)] = g
        for counter, version, _ in fn.saved:  # the tensors whose arrays it kept
            if counter[0] != version:  # one was changed in place since: refuse
                fn.check_saved()
        grads = fn.backward(g)
        if tracer is not None:
            tracer.on_vjp(fn, g, grads)  # compile records the chain rule step by step
        for parent, parent_grad in zip(fn.parents, grads):
            if parent_grad is None:  # an input that needs no gradient
                continue
            if parent in pending:  # another use of this input handed it a gradient already
                pending[parent] = pending[parent] + parent_grad
            else:
                pending[parent] = parent_grad
                if not parent._leaf:
                    heappush(heap, (parent.seq, parent))
        if not retain_graph:  # free the saved arrays; keep a skeleton for drawings
            fn.kept, fn.parents = fn.parents, None
            fn.__dict__.clear()
    # what is left in `pending` are leaves, each with its gradient complete
    if wanted is None:
        handed: set = set()  # ids of arrays already stored in some leaf's .grad
        for leaf, g in pending.items():
            leaf._accumulate_grad(g, handed)
        return None
    for leaf, g in pending.items():
        if id(leaf) in wanted:
            wanted[id(leaf)] = _run_hooks(getattr(leaf, "_hooks", None), g)
    return [wanted[id(graph_node(t))] for t in inputs]


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, as a tuple of tensors, without
    touching any `.grad` (`torch.autograd.grad`). `grad_outputs` seeds each output (needed
    unless it has one element); an input the outputs do not depend on raises unless
    `allow_unused`, which gives None for it."""
    if create_graph:
        raise NotImplementedError("grad: create_graph=True (higher-order gradients) is not "
                                  "supported by tinygrad_nn")
    single = not isinstance(outputs, (list, tuple))
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if not isinstance(inputs, (list, tuple)) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not getattr(t, "requires_grad", False):
            raise RuntimeError(f"grad: input {i} does not require grad")
    roots = [(out, out._seed_gradient(g)) for out, g in zip(outputs, grad_outputs)]
    grads = run_backward(roots, bool(retain_graph), inputs)
    result = []
    for i, (t, g) in enumerate(zip(inputs, grads)):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} was not used to compute the outputs (pass "
                               f"allow_unused=True to get None for it)")
        result.append(None if g is None else t._wrap_like(g))
    return tuple(result)
