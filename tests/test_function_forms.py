"""tg.exp(x), tg.max(out, 1), ...: the function forms of Tensor methods, as torch's."""

import numpy as np
import pytest

import tinygrad_nn as tg

torch = pytest.importorskip("torch")

CASES = [("exp", ()), ("log", ()), ("sqrt", ()), ("abs", ()), ("sigmoid", ()), ("tanh", ()),
         ("relu", ()), ("sum", (1,)), ("mean", (0,)), ("prod", (1,)), ("amax", (1,)),
         ("softmax", (1,)), ("log_softmax", (0,)), ("flatten", ()), ("unsqueeze", (0,)),
         ("clamp", (0.5, 1.5)), ("reciprocal", ()), ("var", (1,))]


@pytest.mark.parametrize("name,args", CASES)
def test_function_form_matches_torch(name, args):
    a = np.random.default_rng(0).uniform(0.2, 2.0, size=(3, 4))
    ours = tg.tensor(a, requires_grad=True)
    theirs = torch.tensor(a, requires_grad=True)
    out, ref = getattr(tg, name)(ours, *args), getattr(torch, name)(theirs, *args)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_max_with_a_dim_unpacks_like_torch():
    out = tg.tensor([[0.1, 2.0, -1.0], [3.0, 0.5, 0.2]])
    values, pred = tg.max(out, 1)
    assert pred.tolist() == [1, 0] and values.tolist() == [2.0, 3.0]
    assert tg.argmax(out, dim=1).tolist() == [1, 0]


def test_function_forms_name_what_they_need():
    with pytest.raises(TypeError, match="exp: expected a Tensor"):
        tg.exp(np.ones(2))


def test_comparison_with_none_is_false_as_torch():
    t = tg.ones(2)
    assert (t == None) is False and (t != None) is True  # noqa: E711
