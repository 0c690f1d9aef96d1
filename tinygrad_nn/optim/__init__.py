"""Optimizers with torch.optim's update rules: SGD, Adam, AdamW, RMSprop; schedulers in
`optim.lr_scheduler`.

The text's rule is plain SGD: w ← w − α·∂E/∂w (α the learning rate).

Each optimizer's per-parameter rule is `_update(p, g, state, group)` on raw ndarrays: it
changes `p` and the state buffers in place (allocated once, on the first call) and reads
the learning rate and every hyperparameter from `group` at each call, so schedulers work
and a compiled step can replay the very same method on the same arrays. The operation
order follows torch.optim's single-tensor code, so float64 trajectories agree with
PyTorch's to 1e-12 (tests/test_optim_torch.py).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from scipy.linalg import blas

from .. import autograd
from .._tensor import Tensor
from ..autograd import enable_grad

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]

_AXPY = {np.dtype(np.float32): blas.saxpy, np.dtype(np.float64): blas.daxpy}


def _subtract_scaled(p: np.ndarray, lr: float, g: np.ndarray) -> None:
    """p −= lr·g in place. For a large C-ordered float array, BLAS axpy: one pass over p
    with no temporary (NumPy's `p -= lr * g` makes two passes and a temporary of p's
    size; 10 µs against 3 µs for the text's 100×784 weights here)."""
    axpy = _AXPY.get(p.dtype)
    if (axpy is not None and p.size >= 4096 and g.dtype == p.dtype and g.shape == p.shape
            and p.flags.c_contiguous and p.flags.writeable and p.flags.aligned
            and g.flags.c_contiguous and g.flags.aligned):
        axpy(g.reshape(-1), p.reshape(-1), p.size, -lr)
    else:
        p -= lr * g


def _lerp_(a: np.ndarray, b: np.ndarray, weight: float) -> None:
    """a ← a + weight·(b − a) in place, as torch's `lerp_` computes it on the CPU (the
    form depends on whether weight < 0.5, which keeps the rounding small at both ends)."""
    diff = b - a
    if weight < 0.5:
        diff *= weight
        a += diff
    else:
        diff *= 1 - weight
        np.subtract(b, diff, out=a)


class Optimizer:
    """Holds `param_groups` (dicts with "params" and hyperparameters) and per-parameter
    `state` (keyed by the parameter, as torch.optim); `step()` updates every parameter
    that has a gradient in place and bumps its version counter."""

    group_changes = 0  # add_param_group calls: a compiled step traced before one retraces

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list = []
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.state = defaultdict(dict)  # as torch.optim: opt.state[p] is {} before a step
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (the rest from defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{type(self).__name__}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        names = None
        if params and all(isinstance(p, tuple) and len(p) == 2 for p in params):
            names = [n for n, _ in params]  # model.named_parameters(), as torch 2.x takes
            params = [p for _, p in params]
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, got "
                                f"{type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: some parameters appear in more "
                                 f"than one parameter group")
            seen.add(id(p))
        full = {**self.defaults, **param_group, "params": params}
        if names is not None:
            full["param_names"] = names
        self._check(full)
        self.param_groups.append(full)
        self.group_changes += 1

    def _check(self, group: dict) -> None:
        name = type(self).__name__
        lr = group.get("lr")
        if (not isinstance(lr, (int, float, np.floating)) or isinstance(lr, bool)
                or math.isnan(lr) or lr < 0):
            raise ValueError(f"{name}: invalid learning rate {lr!r} (must be a number >= 0)")
        if group.get("weight_decay", 0) < 0:
            raise ValueError(f"{name}: invalid weight_decay value {group['weight_decay']!r} "
                             f"(must be >= 0)")
        if group.get("eps", 0) < 0:
            raise ValueError(f"{name}: invalid epsilon value {group['eps']!r} (must be >= 0)")
        if group.get("momentum", 0) < 0:
            raise ValueError(f"{name}: invalid momentum value {group['momentum']!r} "
                             f"(must be >= 0)")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's `.grad`: to None (the default, as torch 2.x) or zeros."""
        if autograd.tracer is not None:
            autograd.tracer.on_optimizer(self)  # compile: its groups are the plan's
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none or p.grad is None:
                    if not set_to_none and autograd.tracer is not None:
                        autograd.tracer.on_zero_grad_of_none(p)  # compile: retrace later
                    p.grad = None
                else:
                    if autograd.tracer is not None:
                        autograd.tracer.on_zero_grad(p)  # compile replays it
                    p.grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter with a gradient; `closure` (re-evaluating the
        loss, run with grad mode on) is called first when given, and its loss returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if autograd.tracer is not None:
            autograd.tracer.on_step(self)  # compile replays this update
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self._update(p.data, p.grad.data, self.state[p], group)
                p._bump_version()
        if autograd.tracer is not None:
            autograd.tracer.on_step_end()  # compile: reading .data is Python's again
        return loss

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError  # pragma: no cover - each optimizer defines its rule

    # ---------------------------------------------------------------- state dicts
    def _indexed_params(self) -> list:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """{"state": {param index: {name: copy}}, "param_groups": [{..., "params":
        [indices]}]}, the layout of torch.optim (indices count through the groups)."""
        params = self._indexed_params()
        state = {}
        for i, p in enumerate(params):
            s = self.state.get(p)
            if s:
                state[i] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                            for k, v in s.items()}
        groups = []
        start = 0
        for g in self.param_groups:
            saved = {k: v for k, v in g.items() if k != "params"}
            saved["params"] = list(range(start, start + len(g["params"])))
            start += len(g["params"])
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the state and hyperparameters of `state_dict` (from `state_dict()`, maybe
        through `save`/`load`). Everything is checked before anything changes: a
        mismatch raises RuntimeError and leaves this optimizer as it was."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict:
            raise RuntimeError(f"{name}: expected a dict with 'state' and 'param_groups'")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise RuntimeError(f"{name}: the state dict has {len(groups)} parameter groups, "
                               f"this optimizer has {len(self.param_groups)}")
        by_index: dict = {}
        for gi, (saved, g) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(g["params"]):
                raise RuntimeError(f"{name}: parameter group {gi} has {len(saved['params'])} "
                                   f"parameters in the state dict and {len(g['params'])} "
                                   f"here")
            for i, p in zip(saved["params"], g["params"]):
                by_index[int(i)] = p
        new_state: dict = {}
        for i, s in state_dict.get("state", {}).items():
            if int(i) not in by_index:
                raise RuntimeError(f"{name}: state for parameter {i}, which no group has")
            p = by_index[int(i)]
            entry = {}
            for k, v in s.items():
                if isinstance(v, Tensor):
                    v = v.data
                if isinstance(v, np.ndarray) and k != "step":
                    if v.shape != p.data.shape:
                        raise RuntimeError(f"{name}: state[{i}][{k!r}] has shape {v.shape}, "
                                           f"its parameter {p.data.shape}")
                    v = np.array(v, dtype=p.data.dtype if v.dtype.kind == "f" else v.dtype)
                entry[k] = v
            new_state[p] = entry
        for saved, g in zip(groups, self.param_groups):
            params = g["params"]
            g.clear()
            g.update({k: v for k, v in saved.items() if k != "params"})
            g["params"] = params
        self.state = defaultdict(dict, new_state)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


class SGD(Optimizer):
    """Stochastic gradient descent, torch.optim.SGD's rule:
    g ← ∂E/∂w + λ·w;  b ← μ·b + (1−τ)·g (b = g on the first step);
    g ← g + μ·b (Nesterov) or g ← b;  w ← w − α·g."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        if momentum < 0:
            raise ValueError(f"SGD: invalid momentum value {momentum!r} (must be >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd:
            g = g + wd * p
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        _subtract_scaled(p, lr, g)  # w ← w − α·g, in place: p keeps its array and dtype


class Adam(Optimizer):
    """Adam, torch.optim.Adam's rule: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
    w ← w − (α/(1−β1ᵗ))·m / (√v/√(1−β2ᵗ) + ε). `weight_decay` adds λ·w to g (L2), or
    with `decoupled_weight_decay` shrinks w by (1 − αλ) first (AdamW)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        b1, b2 = betas
        name = type(self).__name__
        if not 0.0 <= b1 < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index 0: {b1!r} (betas "
                             f"must be in [0, 1))")
        if not 0.0 <= b2 < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index 1: {b2!r} (betas "
                             f"must be in [0, 1))")
        super().__init__(params, dict(lr=lr, betas=(b1, b2), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        if group["maximize"]:
            g = -g
        state["step"] += 1
        t = state["step"]
        if wd:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd  # AdamW: w ← w·(1 − αλ), before the moment update
            else:
                g = g + wd * p
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(m, g, 1 - b1)  # m ← m + (1−β1)(g − m) = β1·m + (1−β1)·g
        v *= b2
        v += (1 - b2) * g * g
        bias_correction1 = 1 - b1**t
        bias_correction2 = 1 - b2**t
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = np.sqrt(v)
        denom /= math.sqrt(bias_correction2)
        denom += eps
        p -= step_size * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (torch.optim.AdamW): w ← w·(1 − αλ), then Adam's
    step; the default λ is 1e-2."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """RMSprop, torch.optim.RMSprop's rule: v ← α·v + (1−α)·g²; with `centered`,
    ḡ ← α·ḡ + (1−α)·g and v − ḡ² in place of v; d = √v + ε; with momentum μ,
    b ← μ·b + g/d and w ← w − lr·b, otherwise w ← w − lr·g/d."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        if alpha < 0:
            raise ValueError(f"RMSprop: invalid alpha value {alpha!r} (must be >= 0)")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered,
                                      maximize=maximize))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum = group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        if group["maximize"]:
            g = -g
        state["step"] += 1
        if wd:
            g = g + wd * p
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            gbar = state["grad_avg"]
            _lerp_(gbar, g, 1 - alpha)
            avg = v - gbar * gbar
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(v)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            p -= lr * buf
        else:
            p -= lr * g / avg


from . import lr_scheduler  # noqa: E402  (the schedulers need Optimizer defined first)
