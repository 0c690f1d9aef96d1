"""Neural-network building blocks: modules, layers, activations, losses, init rules,
gradient clipping (`nn.utils`)."""

from . import functional, init, utils
from .layers import (
                     Dropout,
                     Flatten,
                     Identity,
                     LeakyReLU,
                     Linear,
                     LogSoftmax,
                     ModuleList,
                     ReLU,
                     Sequential,
                     Sigmoid,
                     Softmax,
                     Tanh,
)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax",
           "LogSoftmax", "Dropout", "Flatten", "Identity", "Sequential", "ModuleList",
           "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
           "functional", "init", "utils"]
