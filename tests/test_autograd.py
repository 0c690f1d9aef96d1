"""Backward semantics as in PyTorch: accumulation, gradient=, retain_graph, freeing,
grad mode, deep graphs."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import Tensor


def test_gradients_accumulate_across_calls():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0])
    assert isinstance(x.grad, Tensor) and not x.grad.requires_grad


def test_shared_gradient_arrays_are_not_aliased():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad.data is not b.grad.data
    a.grad.data[0] = 100
    assert b.grad.data[0] == 1
    s = Tensor(np.ones((2, 2)), requires_grad=True)
    s.sum().backward()
    assert s.grad.data.flags.writeable and s.grad.data.flags.owndata


def test_only_leaves_get_grad():
    x = Tensor([1.0], requires_grad=True)
    h = x * 2
    (h * 3).sum().backward()
    assert h.grad is None and x.grad.item() == 6.0


def test_same_tensor_used_twice():
    x = Tensor([3.0], requires_grad=True)
    (x * x + x).sum().backward()
    assert x.grad.item() == 7.0


def test_square_of_an_intermediate_and_of_a_leaf():
    # x * x with one node on both sides: d(x²)/dx = 2x, whether x is a leaf or made by an op
    x = Tensor(np.array([1.5, -2.0, 0.25]), requires_grad=True)
    h = x * 3
    (h * h).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2 * 3 * (3 * x.data))
    x.grad = None
    (x * x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2, rtol=1e-15)


def test_a_node_waits_for_every_consumer():
    # `a` feeds a consumer made right away and one made 30 ops later; its backward must run
    # once, after both have handed it a gradient (the order follows creation, newest first)
    x = Tensor(np.array([0.3, -0.7]), requires_grad=True)
    a = x.tanh()
    b = a * 2.0
    c = a.exp()
    for _ in range(30):
        c = c * 0.9
    loss = (b + c + a).sum()
    loss.backward()
    t = np.tanh(x.data)
    expected = (2.0 + np.exp(t) * 0.9**30 + 1.0) * (1 - t * t)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-13)


def test_ops_that_do_not_lead_to_the_loss_are_left_alone():
    # a branch computed from the graph but not used by the loss neither blocks backward nor
    # gets freed by it
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    unused = (h * 5).sigmoid()
    (h * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0])
    assert unused._ctx.parents is not None and unused._ctx.out is not None  # not freed
    with pytest.raises(RuntimeError, match="retain_graph"):  # it leads into the freed part
        unused.sum().backward()


def test_non_scalar_needs_gradient():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="shape"):
        y.backward()
    y.backward(gradient=np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


@pytest.mark.parametrize("grad", [Tensor(np.ones((2, 3))), np.ones((2, 3))])
def test_gradient_forms(grad):
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    (x * 2).backward(gradient=grad)
    np.testing.assert_array_equal(x.grad.data, 2 * np.ones((2, 3)))


def test_gradient_of_wrong_shape_names_both():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        (x * 2).backward(gradient=np.ones(3))
    with pytest.raises(ValueError):
        (x * 2).backward(gradient=2.0)


def test_one_element_tensor_of_any_shape():
    x = Tensor([[2.0]], requires_grad=True)
    (x * 3).backward()
    assert x.grad.item() == 3.0
    (x * 3).backward(gradient=2.0)
    assert x.grad.item() == 9.0


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()


def test_second_backward_raises_and_mentions_retain_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x.sigmoid() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])


def test_graph_is_freed_after_backward():
    x = Tensor(np.ones(4), requires_grad=True)
    h = x.sigmoid()
    ref_h = weakref.ref(h)
    ref_saved = weakref.ref(h.data)  # sigmoid saves its output for the backward o·(1−o)
    y = (h * 2).sum()
    del h
    gc.collect()
    assert ref_h() is None  # the graph links ops, not intermediate tensors
    assert ref_saved() is not None  # the saved array lives until backward
    y.backward()
    gc.collect()
    assert ref_saved() is None  # freed by backward
    assert y._ctx.parents is None and not y._ctx.__dict__
    s = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(x.grad.data, 2 * s * (1 - s), rtol=1e-6)


def test_drawing_after_backward_keeps_only_a_skeleton():
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    data = np.ones((5, 3))
    loss = (Tensor(data) @ w).sigmoid().sum()
    loss.backward()
    src = tg.draw_graph(loss).source
    assert "MatMul" in src and "Sigmoid" in src and "‖grad‖" in src


def test_memory_stays_flat_over_training_steps():
    w = Tensor(np.random.default_rng(0).normal(size=(20, 10)), requires_grad=True)
    x = np.ones((5, 10))

    def step():
        loss = ((x @ w.T).sigmoid() ** 2).mean()
        loss.backward()
        w.grad = None

    tracemalloc.start()
    for _ in range(2500):  # warm-up: lets CPython's free lists fill (bounded)
        step()
    first, _ = tracemalloc.get_traced_memory()
    for _ in range(2000):
        step()
    second, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert second - first < 20_000


def test_no_grad_context_and_decorator():
    x = Tensor([1.0], requires_grad=True)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            z = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad

    @tg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and tg.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            raise ZeroDivisionError
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def boom():
        raise KeyError

    with pytest.raises(KeyError):
        boom()
    assert tg.is_grad_enabled()


def test_detach_stops_gradient():
    x = Tensor([2.0], requires_grad=True)
    (x * x.detach()).sum().backward()
    assert x.grad.item() == 2.0


def test_deep_chain_of_a_million_ops():
    x = Tensor(np.array([0.5]), requires_grad=True)
    h = x
    for _ in range(1_000_000):
        h = h * 1.0
    h.sum().backward()
    assert x.grad.item() == 1.0


def test_ops_on_leaves_without_grad_record_nothing():
    a = Tensor([1.0])
    b = a * 2 + 1
    assert b.is_leaf and not b.requires_grad and b._ctx is None


def test_data_assignment_replaces_array():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.data = np.array([1.0, 2.0, 3.0])
    assert x.shape == (3,) and x.dtype == np.float64


def test_a_kept_loss_does_not_keep_its_input_batch_alive():
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    batch = Tensor(np.ones((100, 3)))
    ref = weakref.ref(batch)
    loss = (batch @ w).sum()
    loss.backward()
    del batch
    gc.collect()
    assert ref() is None  # the graph holds a stand-in (shape, dtype), not the data
    assert "data\n(100, 3) float64" in tg.draw_graph(loss).source


def test_no_grad_as_bare_decorator():
    @tg.no_grad
    def f(t):
        return t * 2

    x = Tensor([1.0], requires_grad=True)
    assert not f(x).requires_grad and f.__name__ == "f" and tg.is_grad_enabled()
