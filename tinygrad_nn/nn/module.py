"""Module and Parameter: containers that find their trainable tensors by attribute."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import autograd
from .._tensor import Tensor

__all__ = ["Module", "Parameter"]

_DEVICES = ("cpu", "cuda", "mps", "meta", "xpu", "hip")


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (requires grad by default)."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of layers and networks: assign Parameters and Modules as attributes in
    `__init__`, define `forward`, and call the module like a function."""

    training: bool
    mode_changes = 0  # train()/eval() switches so far, in every module (read by compile)

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if params is None:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called: "
                                 f"call super().__init__() first in {type(self).__name__}")
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            self._modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter {name!r} "
                                f"of {type(self).__name__} (expected a Parameter or None)")
            params[name] = None
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to submodule {name!r} "
                                f"of {type(self).__name__} (expected a Module or None)")
            self._modules[name] = None
        elif name == "training" and value != self.__dict__.get("training"):
            Module.mode_changes += 1  # `m.training = False` is a switch too (compile)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # ---------------------------------------------------------------- calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.forward(*args, **kwargs)
        if isinstance(out, Tensor):
            fn = out._ctx
            if fn is not None:
                # the number of the op that made the latest output lets draw_graph group
                # this module's ops in one box (a number: it keeps nothing alive)
                self.__dict__["_trace"] = fn.seq
        return out

    # ---------------------------------------------------------------- traversal
    def named_modules(self, prefix: str = "", memo: set | None = None) -> Iterator[tuple]:
        """This module and every submodule (each once), with dotted names."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple]:
        seen: set = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple]:
        """(dotted name, Parameter): own parameters in registration order, then each
        child's; a parameter shared by several modules is listed once."""
        seen: set = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # ---------------------------------------------------------------- state
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's `.grad` (to None, as PyTorch does by default)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                if autograd.tracer is not None:
                    autograd.tracer.on_zero_grad(p)
                p.grad.data = np.zeros_like(p.grad.data)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every submodule (children first) and then on this module, as
        PyTorch: `model.apply(init_weights)`."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient tracking of every parameter on or off (freeze a model)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """`to(dtype)`, `to("cpu")`, `to("cpu", dtype)` or `to(tensor)`: cast every
        floating parameter (and its gradient) to a floating dtype, in place; "cpu" is
        the only device."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"Module.to: unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) and a.split(":")[0] in _DEVICES or (
                    type(a).__name__ == "device"):
                device = a
            else:
                dtype = a
        if device is not None and str(device) != "cpu":
            raise RuntimeError(f"Module.to: device {str(device)!r} is not available; "
                               f"tinygrad_nn runs on the CPU only (use 'cpu')")
        if dtype is None:
            return self
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Module.to: {dtype!r} is not a dtype or device") from None
        if dt.kind != "f":
            raise TypeError(f"Module.to only accepts floating point dtypes, but got "
                            f"desired dtype={dt}")
        for p in self.parameters():
            if p.data.dtype.kind == "f" and p.data.dtype != dt:
                p.data = p.data.astype(dt)
                if p.grad is not None:
                    p.grad.data = p.grad.data.astype(dt)
                p._bump_version()
        return self

    def float(self) -> Module:
        """Cast floating parameters to float32."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Cast floating parameters to float64."""
        return self.to(np.float64)

    def cpu(self) -> Module:
        return self

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            if m.training != bool(mode):
                Module.mode_changes += 1  # compiled steps re-trace: forward may differ
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def state_dict(self) -> OrderedDict:
        """Dotted name -> NumPy copy of each parameter (never a view of the live data)."""
        sd: OrderedDict = OrderedDict()
        for mod_name, mod in self.named_modules():
            for name, p in mod._parameters.items():
                if p is not None:
                    sd[f"{mod_name}.{name}" if mod_name else name] = p.data.copy()
        return sd

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> IncompatibleKeys:
        """Copy values into the existing parameters (cast to their dtype). Mis-shaped keys
        always raise; missing and unexpected keys raise when `strict`. The RuntimeError
        lists every offending key."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got "
                            f"{type(state_dict).__name__}")
        own: dict = {}
        for mod_name, mod in self.named_modules():
            for name, p in mod._parameters.items():
                if p is not None:
                    own[f"{mod_name}.{name}" if mod_name else name] = p
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        values: dict = {}
        mis_shaped = []
        for k, p in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            arr = np.asarray(v.data if isinstance(v, Tensor) else v)
            if arr.shape != p.data.shape:
                mis_shaped.append(f"{k}: checkpoint {arr.shape} vs model {p.data.shape}")
            values[k] = arr
        problems = []
        if mis_shaped:
            problems.append("mis-shaped keys: " + "; ".join(mis_shaped))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(map(str, unexpected)))
        if problems:
            raise RuntimeError(f"load_state_dict for {type(self).__name__}: "
                               + " | ".join(problems))
        bad = [f"{k} has dtype {arr.dtype}" for k, arr in values.items()
               if arr.dtype.kind not in "biuf"]
        if bad:  # checked before anything is copied, so a bad file changes nothing
            raise TypeError(f"load_state_dict for {type(self).__name__}: non-numeric "
                            f"values: " + "; ".join(bad))
        for k, arr in values.items():
            p = own[k]
            p.data[...] = arr.astype(p.data.dtype, copy=False)
            p._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"
