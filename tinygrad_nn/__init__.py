"""tinygrad_nn: a small, readable reverse-mode autograd on NumPy with a PyTorch-shaped API,
grown from the text on how neural networks work."""

from . import _cli_start  # noqa: F401, I001  (first, before NumPy: Ctrl-C at start-up)
import numpy as _np

from . import autograd, nn, optim, utils
from . import serialize as _serialize
from ._tensor import (
    DTypeError,
    Tensor,
    arange,
    cat,
    device,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    matmul,
    maximum,
    minimum,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)
from ._tensor import FUNCTION_FORMS as _FUNCTION_FORMS
from .autograd import ShapeError, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .jit import CompileError, compile  # torch.compile's name, at the package face
from .serialize import load, save
from .viz import draw_graph

from ._tensor import function_form as _function_form  # noqa: E402

for _name in _FUNCTION_FORMS:  # tg.exp(x), tg.max(out, 1), ... as torch.exp, torch.max
    globals()[_name] = _function_form(_name)
del _name

# dtypes under PyTorch's names (they are NumPy's: `.dtype` is a NumPy dtype)
float32 = float = _np.dtype(_np.float32)  # noqa: A001
float64 = double = _np.dtype(_np.float64)
float16 = half = _np.dtype(_np.float16)
int64 = long = _np.dtype(_np.int64)
int32 = _np.dtype(_np.int32)
int16 = _np.dtype(_np.int16)
int8 = _np.dtype(_np.int8)
uint8 = _np.dtype(_np.uint8)
bool = _np.dtype(_np.bool_)  # noqa: A001  (as torch.bool; torch.float likewise)

__version__ = "0.1.0"


def _rebuild_tensor(arr: _np.ndarray, requires_grad: bool) -> Tensor:
    """How `load` rebuilds a saved Tensor: its array (dtype kept) and requires_grad."""
    return from_numpy(arr).requires_grad_(requires_grad)


def _rebuild_parameter(arr: _np.ndarray, requires_grad: bool) -> nn.Parameter:
    return nn.Parameter(from_numpy(arr), requires_grad=requires_grad)


_serialize.register_tensor_type("Parameter", nn.Parameter, _rebuild_parameter)
_serialize.register_tensor_type("Tensor", Tensor, _rebuild_tensor)

__all__ = ["Tensor", "tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye",
           "arange", "linspace", "rand", "randn", "randint", "zeros_like", "ones_like",
           "full_like", "rand_like", "randn_like", "cat", "stack", "where", "maximum",
           "minimum", "matmul", "device", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "manual_seed", "gradcheck", "GradcheckError", "ShapeError",
           "DTypeError", "save", "load", "draw_graph", "compile", "CompileError", "autograd",
           "nn", "optim", "utils",
           "float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
           "bool", "__version__"]  # the function forms (tg.sum, tg.max...) stay out of
# `import *`, which would hide Python's own sum, max, all, any and abs
