"""Optimizers with torch.optim's update rules: SGD (momentum, Nesterov, weight decay), Adam.

The text's rule is plain SGD: w ← w − α·∂E/∂w (α the learning rate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ._tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """Holds `param_groups` (dicts with "params" and hyperparameters) and per-parameter
    `state`; `step()` updates parameters in place, skipping those with no grad."""

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list = []
        params = list(params) if not isinstance(params, Tensor) else [params]
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, got "
                                f"{type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter appears in more than "
                                 f"one group")
            seen.add(id(p))
        full = {**self.defaults, **group, "params": params}
        self._check(full)
        self.param_groups.append(full)

    def _check(self, group: dict) -> None:
        lr = group.get("lr")
        if lr is None or not isinstance(lr, (int, float)) or lr < 0 or math.isnan(lr):
            raise ValueError(f"{type(self).__name__}: invalid learning rate {lr!r} "
                             f"(must be a number >= 0)")
        wd = group.get("weight_decay", 0)
        if wd < 0:
            raise ValueError(f"{type(self).__name__}: invalid weight_decay {wd!r} (>= 0)")

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data = np.zeros_like(p.grad.data)

    def step(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _gradients(group: dict) -> Iterator[tuple]:
        """(parameter, gradient) for each parameter of `group` that has a gradient, with
        L2 weight decay added as torch.optim does: g + λ·w."""
        wd = group["weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad.data
            yield p, (g + wd * p.data if wd else g)

    def _param_index(self) -> dict:
        ids: dict = {}
        for g in self.param_groups:
            for p in g["params"]:
                ids.setdefault(id(p), len(ids))
        return ids

    def state_dict(self) -> dict:
        """{"state": {param index: {name: array copy}}, "param_groups": [...]} (as PyTorch)."""
        index = self._param_index()
        state = {index[id(p)]: {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                for k, v in s.items()}
                 for p, s in ((p, self.state.get(id(p))) for g in self.param_groups
                              for p in g["params"]) if s is not None}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict.get("param_groups")
        if groups is None or len(groups) != len(self.param_groups):
            raise RuntimeError(f"{type(self).__name__}.load_state_dict: the state dict has "
                               f"{0 if groups is None else len(groups)} parameter groups, "
                               f"this optimizer has {len(self.param_groups)}")
        by_index = {}
        for saved, g in zip(groups, self.param_groups, strict=False):
            if len(saved["params"]) != len(g["params"]):
                raise RuntimeError(f"{type(self).__name__}.load_state_dict: a group has "
                                   f"{len(saved['params'])} parameters in the state dict and "
                                   f"{len(g['params'])} here")
            for i, p in zip(saved["params"], g["params"], strict=False):
                by_index[i] = p
            g.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, s in state_dict.get("state", {}).items():
            p = by_index[int(i)]
            self.state[id(p)] = {k: (np.array(v, dtype=p.data.dtype) if isinstance(v, np.ndarray)
                                     else v) for k, v in s.items()}


class SGD(Optimizer):
    """Stochastic gradient descent, torch.optim.SGD's rule:
    g ← ∂E/∂w + λ·w;  b ← μ·b + (1−τ)·g (b = g on the first step);
    g ← g + μ·b (Nesterov) or g ← b;  w ← w − α·g."""

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False,
                 dampening: float = 0.0) -> None:
        if momentum < 0:
            raise ValueError(f"SGD: invalid momentum {momentum!r} (must be >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      nesterov=nesterov, dampening=dampening))

    def step(self) -> None:
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            if not momentum and not group["weight_decay"]:  # the text's rule, nothing else
                for p in group["params"]:
                    grad = p.grad
                    if grad is not None:
                        p.data -= lr * grad.data  # w ← w − α·∂E/∂w, in place
                continue
            for p, g in self._gradients(group):
                if momentum:
                    state = self.state.setdefault(id(p), {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(g, dtype=p.data.dtype)
                    else:
                        buf *= momentum
                        buf += (1 - group["dampening"]) * g
                    g = g + momentum * buf if group["nesterov"] else buf
                # w ← w − α·∂E/∂w, in place (the parameter keeps its array and dtype)
                p.data -= lr * g


class Adam(Optimizer):
    """Adam, torch.optim.Adam's rule: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
    w ← w − (α/(1−β1ᵗ))·m / (√v/√(1−β2ᵗ) + ε). Weight decay adds λ·w to g (L2)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        b1, b2 = betas
        if not 0.0 <= b1 < 1.0 or not 0.0 <= b2 < 1.0:
            raise ValueError(f"Adam: invalid betas {betas!r} (each in [0, 1))")
        if eps < 0:
            raise ValueError(f"Adam: invalid eps {eps!r} (must be >= 0)")
        super().__init__(params, dict(lr=lr, betas=(b1, b2), eps=eps,
                                      weight_decay=weight_decay))

    def step(self) -> None:
        for group in self.param_groups:
            lr = group["lr"]
            b1, b2 = group["betas"]
            eps = group["eps"]
            for p, g in self._gradients(group):
                state = self.state.get(id(p))
                if state is None:
                    state = self.state[id(p)] = {
                        "step": 0, "exp_avg": np.zeros_like(p.data),
                        "exp_avg_sq": np.zeros_like(p.data)}
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * (g * g)
                step_size = lr / (1 - b1**t)
                denom = np.sqrt(v) / math.sqrt(1 - b2**t)
                denom += eps
                p.data -= step_size * (m / denom)

