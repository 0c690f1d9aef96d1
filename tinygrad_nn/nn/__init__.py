"""Neural-network building blocks: modules, layers, activations, losses, init rules."""

from . import functional, init
from .layers import Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "Sigmoid", "Tanh", "ReLU", "Sequential",
           "functional", "init"]
