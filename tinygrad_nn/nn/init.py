"""Weight-init rules. All draw from the generator `tinygrad_nn.manual_seed` seeds.

The text's rule: normal, mean 0, std = 1/√(incoming links), so a node's summed input
stays of order one and the sigmoid is not saturated from the start. Never start with
all-equal (or all-zero) weights: every node of a layer would then compute the same
output and receive the same error, so they would stay equal forever, and all-zero
weights also send back zero hidden errors (Wᵀ·e = 0), so nothing before them learns.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor
from .._tensor import generator as _global_generator
from ..autograd import ShapeError

__all__ = ["book_normal_", "normal_", "uniform_", "zeros_", "ones_", "constant_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "calculate_gain", "fan_in_and_fan_out"]


def fan_in_and_fan_out(tensor: Tensor) -> tuple:
    """(incoming, outgoing) links per node for a weight of shape (out, in, ...)."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ShapeError(f"init: fan in and fan out can not be computed for a tensor with "
                         f"fewer than 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode {mode!r} not supported, please use one of fan_in, "
                         f"fan_out")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _gen(generator: np.random.Generator | None) -> np.random.Generator:
    return _global_generator() if generator is None else generator


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write into the tensor's array in place (untracked, as PyTorch's init runs under
    no_grad, so it works on a leaf that requires grad) and bump its version."""
    tensor.data[...] = values
    tensor._bump_version()
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation, as torch.nn.init.calculate_gain."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> Tensor:
    """Fill in place with samples of normal(mean, std)."""
    return _fill(tensor, _gen(generator).normal(mean, std, tensor.shape))


def book_normal_(tensor: Tensor) -> Tensor:
    """The text's rule: normal(0, fan_in**-0.5), fan_in = incoming links of a node."""
    fan_in, _ = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, fan_in**-0.5)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: np.random.Generator | None = None) -> Tensor:
    """Fill in place with samples of uniform[a, b)."""
    return _fill(tensor, _gen(generator).uniform(a, b, tensor.shape))


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, val)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: np.random.Generator | None = None) -> Tensor:
    """Glorot: uniform(−a, a) with a = gain·√(6/(fan_in+fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: np.random.Generator | None = None) -> Tensor:
    """Glorot: normal(0, gain·√(2/(fan_in+fan_out)))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> Tensor:
    """He: uniform(−b, b) with b = √3·gain/√fan (fan_in by default)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> Tensor:
    """He: normal(0, gain/√fan)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)
