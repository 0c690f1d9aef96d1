"""tinygrad_nn: a small, readable reverse-mode autograd on NumPy with a PyTorch-shaped API,
grown from the text on how neural networks work."""

from . import nn, optim
from .autograd import ShapeError, enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .serialize import load, save
from ._tensor import Tensor, manual_seed, ones, randn, zeros
from .viz import draw_graph

__version__ = "0.1.0"

__all__ = ["Tensor", "no_grad", "enable_grad", "is_grad_enabled", "manual_seed", "zeros",
           "ones", "randn", "gradcheck", "GradcheckError", "ShapeError", "save", "load",
           "draw_graph", "nn", "optim", "__version__"]
