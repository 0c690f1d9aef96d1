"""A plain autograd engine in the micrograd style, only what workload C's chain uses
(×, +, tanh): one Function class per op with a forward and a backward, one `apply` that
records, a backward pass over a heap, NumPy constants cached. No version counters,
views, hooks, dtype promotion, grad mode or tracing.

It is workload C's "plain_engine" row: what per-op Python costs here with no features
at all, the floor for tinygrad_nn's eager engine (which has all of them).
"""

from __future__ import annotations

import itertools
from heapq import heappop, heappush

import numpy as np

_next_seq = itertools.count(-1, -1).__next__  # newest op first in backward
_ONE = np.array(1, np.float32)
_CONSTANTS: dict = {}


class Function:
    __slots__ = ("parents", "seq", "__dict__")
    leaf = False


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return g * self.b, g * self.a


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Tanh(Function):
    def forward(self, a):
        self.out = np.tanh(a)
        return self.out

    def backward(self, g):
        return (g * (_ONE - self.out * self.out),)


class Tensor:
    __slots__ = ("data", "grad", "requires_grad", "ctx")
    leaf = True

    def __init__(self, data, requires_grad=False):
        self.data, self.grad, self.requires_grad, self.ctx = data, None, requires_grad, None

    def __mul__(self, other):
        return apply(Mul, self, other)

    def __add__(self, other):
        return apply(Add, self, other)

    def tanh(self):
        return apply(Tanh, self)

    def backward(self, grad):
        backward(self, grad)


def _constant(x: float) -> Tensor:
    c = _CONSTANTS.get(x)
    if c is None:
        c = _CONSTANTS[x] = Tensor(np.array(x, np.float32))
    return c


def apply(op: type, *inputs) -> Tensor:
    inputs = [x if isinstance(x, Tensor) else _constant(x) for x in inputs]
    fn = op()
    out = Tensor(fn.forward(*[x.data for x in inputs]))
    if any(x.requires_grad for x in inputs):
        fn.parents = [x.ctx or x for x in inputs]
        fn.seq = _next_seq()
        out.ctx, out.requires_grad = fn, True
    return out


def backward(root: Tensor, grad: np.ndarray) -> None:
    pending = {root.ctx: grad}
    heap = [(root.ctx.seq, root.ctx)]
    while heap:
        fn = heappop(heap)[1]
        for parent, g in zip(fn.parents, fn.backward(pending.pop(fn))):
            if parent in pending:
                pending[parent] = pending[parent] + g
            else:
                pending[parent] = g
                if not parent.leaf:
                    heappush(heap, (parent.seq, parent))
        fn.parents = None
        fn.__dict__.clear()
    for leaf, g in pending.items():
        if leaf.requires_grad:
            leaf.grad = g if leaf.grad is None else leaf.grad + g
