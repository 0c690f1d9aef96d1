"""Autograd surface against torch 2.13: accumulation, backward's gradient= rules, freed
graphs, retain_grad, register_hook, autograd.grad, create_graph, grad-mode switches."""

import numpy as np
import pytest

import tinygrad_nn as tg

from .surface import raises_like_torch, to_np, torch

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def leaf(m, a=X):
    return m.tensor(a.copy(), requires_grad=True)


def both(fn):
    """fn(m) -> list of arrays (or None), for both libraries; compare them."""
    theirs = fn(torch)
    ours = fn(tg)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        if t is None:
            assert o is None
            continue
        o, t = to_np(o), to_np(t)
        assert o.dtype == t.dtype and o.shape == t.shape
        np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12)


def test_gradients_accumulate_across_calls():
    def fn(m):
        x = leaf(m)
        (x * x).sum().backward()
        first = to_np(x.grad).copy()
        (x.sigmoid() * 3).sum().backward()
        return [first, x.grad]
    both(fn)


def test_backward_of_non_scalar_needs_gradient():
    raises_like_torch(lambda m: (leaf(m) * 2).backward())
    both(lambda m: [_grad_of(m, lambda x: x * x, gradient=np.ones((2, 3)))])
    both(lambda m: [_grad_of(m, lambda x: x.exp(), gradient=X * 2)])


def _grad_of(m, f, gradient=None, **kw):
    x = leaf(m)
    out = f(x)
    if gradient is not None:
        gradient = torch.tensor(gradient) if m is torch else gradient
    out.backward(gradient, **kw)
    return x.grad


@pytest.mark.parametrize("shape", [(3,), (1, 3), (2, 1, 3), (6,), ()])
def test_gradient_of_another_shape_is_an_error_even_if_broadcastable(shape):
    g = np.ones(shape)
    raises_like_torch(lambda m: (leaf(m) * 2).backward(
        torch.tensor(g) if m is torch else g))


@pytest.mark.parametrize("kind", ["tensor", "array", "number"])
def test_gradient_may_be_tensor_array_or_number(kind):
    x = tg.tensor([2.0, 1.0], requires_grad=True)
    g = {"tensor": tg.tensor([3.0, 1.0]), "array": np.array([3.0, 1.0]), "number": 3.0}[kind]
    out = (x * x) if kind != "number" else (x * x).sum()
    out.backward(g)
    assert x.grad.tolist() == ([12.0, 2.0] if kind != "number" else [12.0, 6.0])


@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 1, 1)])
def test_one_element_tensor_of_any_shape_needs_no_gradient(shape):
    both(lambda m: [_grad_of(m, lambda x: (x * x).sum().reshape(shape))])


def test_second_backward_through_freed_graph_raises_mentioning_retain_graph():
    def fn(m):
        y = (leaf(m).sigmoid() * 2).sum()
        y.backward()
        y.backward()
    raises_like_torch(fn, match=["retain_graph"])

    def through_shared(m):
        x = leaf(m)
        h = x.exp()
        h.sum().backward()
        (h * 2).sum().backward()
    raises_like_torch(through_shared, match=["retain_graph"])


def test_retain_graph_allows_a_second_backward():
    def fn(m):
        x = leaf(m)
        y = (x.sigmoid() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return [x.grad]
    both(fn)


def test_backward_on_tensor_without_grad_raises():
    raises_like_torch(lambda m: m.tensor([1.0]).sum().backward())
    raises_like_torch(lambda m: leaf(m).detach().sum().backward())


def test_create_graph_raises_not_implemented_saying_so():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(NotImplementedError, match="(?i)higher.order"):
        y.backward(create_graph=True)
    with pytest.raises(NotImplementedError, match="(?i)higher.order"):
        tg.autograd.grad(y, [x], create_graph=True)
    y.backward()  # the graph is still there: the refusal came before any work
    assert x.grad.tolist() == [2.0, 4.0]


def test_retain_grad_on_non_leaves():
    def fn(m):
        x = leaf(m)
        h = x * 2
        h.retain_grad()
        s = h.sigmoid()
        s.retain_grad()
        (s * s).sum().backward()
        return [h.grad, s.grad, x.grad]
    both(fn)


def test_non_leaf_grad_is_none_without_retain_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.sum().backward()
    assert h.grad is None and x.grad is not None
    assert x.retain_grad() is None and x.grad is not None  # no-op on a leaf


def test_retain_grad_accumulates_across_backwards():
    def fn(m):
        x = leaf(m)
        h = x * 3
        h.retain_grad()
        (h * h).sum().backward(retain_graph=True)
        (h * h).sum().backward()
        return [h.grad, x.grad]
    both(fn)


def test_hook_is_called_with_the_gradient():
    for is_leaf in [True, False]:
        seen = {}

        def fn(m, is_leaf=is_leaf, seen=seen):
            x = leaf(m)
            t = x if is_leaf else x * 2
            def hook(g):
                seen[m.__name__] = to_np(g).copy()

            t.register_hook(hook)
            (t.exp() * t).sum().backward()
            return [x.grad]

        both(fn)
        np.testing.assert_allclose(seen["tinygrad_nn"], seen["torch"], rtol=1e-12)


def test_hook_receives_a_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    got = []
    x.register_hook(got.append)
    (x * x).sum().backward()
    assert isinstance(got[0], tg.Tensor) and got[0].tolist() == [2.0, 4.0]


@pytest.mark.parametrize("is_leaf", [True, False])
def test_hook_return_value_replaces_the_gradient(is_leaf):
    def fn(m):
        x = leaf(m)
        t = x if is_leaf else x.sigmoid()
        t.register_hook(lambda g: g * 10)
        t.register_hook(lambda g: g + 1)  # hooks run in registration order
        (t * t).sum().backward()
        return [x.grad]
    both(fn)


def test_hook_may_return_an_ndarray():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.register_hook(lambda g: np.zeros_like(g.data))
    (h * h + x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_hook_on_non_leaf_fires_once_with_the_total_gradient():
    calls = {"torch": 0, "tinygrad_nn": 0}

    def fn(m):
        x = leaf(m)
        h = x * 2

        def hook(g):
            calls[m.__name__] += 1

        h.register_hook(hook)
        (h * h + h.exp() + h).sum().backward()
        return [x.grad]
    both(fn)
    assert calls == {"torch": 1, "tinygrad_nn": 1}


def test_hook_on_tensor_without_grad_raises():
    raises_like_torch(lambda m: m.tensor([1.0]).register_hook(lambda g: g))


# autograd.grad
def test_autograd_grad_returns_tuple_and_leaves_grad_alone():
    def fn(m):
        x, w = leaf(m), leaf(m, X.T.copy())
        loss = (x @ w).sigmoid().sum()
        gx, gw = m.autograd.grad(loss, [x, w])
        return [gx, gw, x.grad, w.grad]
    both(fn)


def test_autograd_grad_with_grad_outputs_and_tuple_outputs():
    def fn(m):
        x = leaf(m)
        y, z = x * x, x.exp()
        go = [m.tensor(np.ones((2, 3))), m.tensor(X)]
        return list(m.autograd.grad([y, z], x, grad_outputs=go))
    both(fn)


def test_autograd_grad_of_intermediate():
    def fn(m):
        x = leaf(m)
        h = x * 2
        out = (h.tanh() * 3).sum()
        return list(m.autograd.grad(out, [h]))
    both(fn)


def test_autograd_grad_grad_outputs_array():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tg.autograd.grad(x * x, [x], grad_outputs=np.array([1.0, 0.5]))
    assert isinstance(g, tg.Tensor) and g.tolist() == [2.0, 2.0]


def test_autograd_grad_unused_input():
    def unused(m):
        x, u = leaf(m), leaf(m)
        return m.autograd.grad((x * 2).sum(), [x, u])
    raises_like_torch(unused)

    def allowed(m):
        x, u = leaf(m), leaf(m)
        gx, gu = m.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
        return [gx, gu]
    both(allowed)


def test_autograd_grad_frees_graph_unless_retained():
    def twice(m, retain):
        x = leaf(m)
        y = (x.sigmoid() * x).sum()
        a = m.autograd.grad(y, [x], retain_graph=retain)[0]
        b = m.autograd.grad(y, [x])[0]
        return [a, b]
    raises_like_torch(lambda m: twice(m, None), match=["retain_graph"])
    both(lambda m: twice(m, True))


def test_autograd_grad_needs_scalar_or_grad_outputs():
    raises_like_torch(lambda m: m.autograd.grad(leaf(m) * 2, [leaf(m)]))
    raises_like_torch(lambda m: m.autograd.grad((leaf(m) * 2).sum(), [m.tensor([1.0])]))


# grad mode switches
def test_no_grad_context_manager():
    x = tg.tensor([1.0], requires_grad=True)
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            z = x * 2
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and z.requires_grad


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError), tg.no_grad():
        raise ZeroDivisionError
    assert tg.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    x = tg.tensor([1.0], requires_grad=True)

    @tg.no_grad
    def bare(t):
        return t * 2

    @tg.no_grad()
    def called(t):
        return t * 2

    @tg.enable_grad()
    def inside(t):
        return t * 2

    assert not bare(x).requires_grad and not called(x).requires_grad
    assert bare.__name__ == "bare" and called.__name__ == "called"
    with tg.no_grad():
        assert inside(x).requires_grad
    assert tg.is_grad_enabled()


def test_ops_under_no_grad_record_nothing_for_any_op():
    x = tg.tensor(X, requires_grad=True)
    with tg.no_grad():
        outs = [x.abs(), x.sqrt(), x.square(), x.clamp(0, 1), x.view(-1), x.unsqueeze(0),
                tg.cat([x, x]), tg.stack([x, x]), tg.where(x > 0, x, 0.0), x.amax(1),
                x.max(1)[0], x.var(), x.std(1), x.prod(), x.permute(1, 0), x.flatten(),
                x.expand(2, 2, 3), x.repeat(2, 1), x.chunk(2)[0], x.split(1)[0], x[x > 0],
                tg.minimum(x, 0.5 * x), tg.nn.functional.leaky_relu(x)]
    assert not any(o.requires_grad for o in outs)
    assert all(o.is_leaf for o in outs)
