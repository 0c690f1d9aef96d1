import pytest

from tinygrad_nn import GradcheckError, Tensor, gradcheck
from tinygrad_nn._tensor import _apply
from tinygrad_nn.autograd import Function

from .conftest import leaf


class WrongSquare(Function):
    """x**2 with a deliberately wrong backward (3x instead of 2x)."""

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, g):
        return (g * 3 * self.a,)


def test_passes_for_correct_gradients(rng):
    assert gradcheck(lambda x: (x * x).sum(), [leaf(rng.normal(size=3))])
    assert gradcheck(lambda x: x * x, leaf(rng.normal(size=(2, 2))))  # non-scalar output


def test_detects_wrong_gradient_and_names_input_element_and_values():
    x = leaf([1.0, 2.0])
    with pytest.raises(GradcheckError, match=r"input 0 .*element \(1,\).*autograd gives 6.*"
                                             r"finite differences give 4"):
        gradcheck(lambda t: _apply(WrongSquare, (t,)), [x])
    assert gradcheck(lambda t: _apply(WrongSquare, (t,)), [x], raise_exception=False) is False
    assert isinstance(GradcheckError("x"), RuntimeError)


def test_leaves_grad_untouched():
    x = leaf([1.0, 2.0])
    gradcheck(lambda t: (t * t).sum(), [x])
    assert x.grad is None


def test_skips_inputs_without_grad_and_checks_the_others(rng):
    a, b = leaf(rng.normal(size=2)), Tensor(rng.normal(size=2))
    assert gradcheck(lambda p, q: (p * q).sum(), [a, b])
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck(lambda p: p.sum(), [Tensor([1.0])])
