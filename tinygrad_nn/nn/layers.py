"""Layers: Linear (the text's `X = W·I`), the activations, and Sequential."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .._tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "Sigmoid", "Tanh", "ReLU", "Sequential"]


class Linear(Module):
    """y = x·Wᵀ + b. The weight has shape (out_features, in_features): the text's
    `W_hidden_input`, so for a column input `I` it computes the text's `X = W·I`.
    Weights start from the text's rule, normal(0, in_features**-0.5); bias from zeros."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive int, got {n!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dt = np.float32 if dtype is None else dtype
        self.weight = Parameter(np.zeros((out_features, in_features)), dtype=dt)
        init.book_normal_(self.weight)
        self.bias = Parameter(np.zeros(out_features), dtype=dt) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Module.__call__ with forward inlined: the text's network calls this once per
        # layer per sample (a subclass with its own forward takes the generic path)
        if len(args) != 1 or kwargs or type(self).forward is not Linear.forward:
            return Module.__call__(self, *args, **kwargs)
        out = F.linear(args[0], self.weight, self.bias)
        if out._ctx is not None:
            self.__dict__["_trace"] = out._ctx.seq  # for draw_graph's layer boxes
        return out

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sigmoid(Module):
    """The text's activation, 1/(1+e^(−x))."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # as Linear.__call__: Module.__call__ with forward inlined
        if len(args) != 1 or kwargs or type(self).forward is not Sigmoid.forward:
            return Module.__call__(self, *args, **kwargs)
        out = args[0].sigmoid()
        if out._ctx is not None:
            self.__dict__["_trace"] = out._ctx.seq
        return out


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", ..."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, "
                                f"not a Module")
            self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the modules in order. Only leaf modules record their output's op (for
        draw_graph's layer boxes), so a plain Sequential runs its loop directly."""
        if len(args) != 1 or kwargs or type(self).forward is not Sequential.forward:
            return Module.__call__(self, *args, **kwargs)
        x = args[0]
        for m in self._modules.values():
            x = m(x)
        return x

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a Module, got "
                            f"{type(module).__name__}")
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return Sequential(*mods[idx])
        try:
            return mods[idx]
        except (IndexError, TypeError):
            raise IndexError(f"Sequential: index {idx!r} out of range for "
                             f"{len(mods)} modules") from None
