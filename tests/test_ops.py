"""Every op: forward against NumPy, backward against finite differences (float64)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_nn as tg
from tinygrad_nn import Tensor, gradcheck

from .conftest import leaf

FAST = settings(max_examples=25, deadline=None)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


# ------------------------------------------------------------------ binary ops, broadcasting
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a ** b, np.power),
}


@pytest.mark.parametrize("name", list(BINARY))
@FAST
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                  max_side=3))
def test_binary_broadcast_forward_and_grad(name, shapes):
    rng = np.random.default_rng(0)
    sa, sb = shapes.input_shapes
    a, b = positive(rng, sa), positive(rng, sb)
    op, ref = BINARY[name]
    out = op(leaf(a), leaf(b))
    np.testing.assert_allclose(out.data, ref(a, b), rtol=1e-12)
    assert out.shape == shapes.result_shape
    assert gradcheck(op, [leaf(a), leaf(b)])
    # gradients come back in each input's shape
    ta, tb = leaf(a), leaf(b)
    op(ta, tb).sum().backward()
    assert ta.grad.shape == sa and tb.grad.shape == sb


@pytest.mark.parametrize("name", list(BINARY))
def test_numbers_on_either_side(name, rng):
    op, ref = BINARY[name]
    a = positive(rng, (2, 3))
    for left, right in [(leaf(a), 1.5), (1.5, leaf(a))]:
        out = op(left, right)
        la = left.data if isinstance(left, Tensor) else left
        ra = right.data if isinstance(right, Tensor) else right
        np.testing.assert_allclose(out.data, ref(la, ra), rtol=1e-12)
    assert gradcheck(lambda t: op(t, 1.5), [leaf(a)])
    assert gradcheck(lambda t: op(1.5, t), [leaf(a)])


@pytest.mark.parametrize("name", list(BINARY))
def test_ndarrays_on_either_side(name, rng):
    op, ref = BINARY[name]
    a, c = positive(rng, (2, 3)), positive(rng, (3,))
    np.testing.assert_allclose(op(leaf(a), c).data, ref(a, c), rtol=1e-12)
    np.testing.assert_allclose(op(c, leaf(a)).data, ref(c, a), rtol=1e-12)
    assert gradcheck(lambda t: op(c, t), [leaf(a)])


def test_reflected_sub_and_div_values():
    t = Tensor([1.0, 4.0], requires_grad=True)
    y = 1 - t
    assert y.tolist() == [0.0, -3.0]
    (2 / t).sum().backward()
    np.testing.assert_allclose(t.grad.data, [-2.0, -2.0 / 16])


def test_numbers_keep_tensor_dtype():
    t32 = Tensor([1.0, 2.0])
    for out in [t32 + 1.5, 1.5 * t32, t32 / 3, 2 - t32, t32 ** 2, 2.0 ** t32, -t32]:
        assert out.dtype == np.float32
    t64 = Tensor(np.array([1.0, 2.0]))
    assert (t64 * 0.5).dtype == np.float64
    assert (t32 * np.float64(0.5)).dtype == np.float32


def test_mixed_dtypes_promote_and_grads_keep_leaf_dtype():
    a = Tensor(np.ones(3, np.float32), requires_grad=True)
    b = Tensor(np.ones(3, np.float64), requires_grad=True)
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert (a + np.ones(3, np.float64)).dtype == np.float64
    assert (a + np.ones(3, np.int64)).dtype == np.float32


def test_pow_with_tensor_exponent(rng):
    a, b = positive(rng, (2, 2)), rng.normal(size=(2, 2))
    assert gradcheck(lambda x, y: x ** y, [leaf(a), leaf(b)])


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, 1])
def test_pow_number_exponents(exponent, rng):
    a = positive(rng, (3,))
    np.testing.assert_allclose((leaf(a) ** exponent).data, a ** exponent)
    assert gradcheck(lambda x: x ** exponent, [leaf(a)])


def test_neg(rng):
    a = rng.normal(size=(2, 3))
    np.testing.assert_array_equal((-leaf(a)).data, -a)
    assert gradcheck(lambda x: -x, [leaf(a)])


# ------------------------------------------------------------------ matmul
MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
    ((1, 2, 3), (4, 3, 2)), ((6, 1, 2, 3), (5, 3, 4)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,)),
]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul_all_numpy_cases(sa, sb, rng):
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    out = leaf(a) @ leaf(b)
    np.testing.assert_allclose(out.data, np.matmul(a, b), rtol=1e-12)
    assert gradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])


def test_matmul_with_ndarray_either_side(rng):
    a, w = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    np.testing.assert_allclose((a @ leaf(w)).data, a @ w)
    np.testing.assert_allclose((leaf(a) @ w).data, a @ w)
    assert gradcheck(lambda t: a @ t, [leaf(w)])


@pytest.mark.parametrize("sa, sb, text", [
    ((2, 3), (4, 5), "matmul: shapes (2, 3) and (4, 5) do not align: 3 != 4"),
    ((3,), (4,), "do not align: 3 != 4"),
    ((), (3,), "at least one dimension"),
    ((2, 2, 3), (3, 3, 4), "batch"),
])
def test_matmul_errors(sa, sb, text):
    with pytest.raises(ValueError, match=text.replace("(", r"\(").replace(")", r"\)")):
        Tensor(np.ones(sa)) @ Tensor(np.ones(sb))


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"mul: shapes \(2,\) and \(3,\)"):
        Tensor(np.ones(2)) * np.ones(3)


def test_unsupported_operand_type():
    with pytest.raises(TypeError, match="add"):
        Tensor([1.0]) + "x"
    with pytest.raises(TypeError, match="mul"):
        Tensor([1.0]) * None


# ------------------------------------------------------------------ reductions
AXES = [None, 0, 1, -1, (0, 2), (0, 1, 2)]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "prod"])
def test_reductions(name, axis, keepdims, rng):
    a = rng.normal(size=(2, 3, 4))
    out = getattr(leaf(a), name)(axis=axis, keepdims=keepdims)
    ref = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min,
           "prod": np.prod}[name](a, axis=axis, keepdims=keepdims)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    assert out.shape == np.shape(ref)
    assert gradcheck(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), [leaf(a)])


def test_reductions_accept_torch_spelling(rng):
    a = rng.normal(size=(2, 3))
    np.testing.assert_allclose(leaf(a).sum(dim=1, keepdim=True).data, a.sum(1, keepdims=True))


def test_max_ties_share_gradient():
    t = Tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    t.max().backward()
    np.testing.assert_allclose(t.grad.data, [0, 0.5, 0.5, 0])
    m = Tensor([[2.0, 2.0], [1.0, 5.0]], requires_grad=True)
    m.amax(axis=1).sum().backward()
    np.testing.assert_allclose(m.grad.data, [[0.5, 0.5], [0, 1]])


def test_reduction_axis_errors():
    with pytest.raises(ValueError, match="sum: axis 3"):
        Tensor(np.ones((2, 2))).sum(axis=3)
    with pytest.raises(ValueError, match="max"):
        Tensor(np.ones((0,))).max()


def test_reduction_of_0d():
    t = Tensor(np.array(2.0), requires_grad=True)
    t.sum().backward()
    assert t.grad.shape == () and t.grad.item() == 1.0


# ------------------------------------------------------------------ shape ops
def test_reshape_forms_and_grad(rng):
    a = rng.normal(size=(2, 3))
    assert leaf(a).reshape(3, 2).shape == (3, 2)
    assert leaf(a).reshape((3, 2)).shape == (3, 2)
    assert leaf(a).reshape(-1).shape == (6,)
    assert gradcheck(lambda x: x.reshape(3, 2) * np.arange(6.0).reshape(3, 2), [leaf(a)])
    with pytest.raises(ValueError, match=r"reshape: cannot reshape .*\(2, 3\).*\(4,\)"):
        leaf(a).reshape(4)


@pytest.mark.parametrize("axes", [(), (1, 0, 2), (2, 0, 1), (-1, 0, 1)])
def test_transpose(axes, rng):
    a = rng.normal(size=(2, 3, 4))
    out = leaf(a).transpose(*axes)
    np.testing.assert_array_equal(out.data, a.transpose(*axes) if axes else a.transpose())
    w = rng.normal(size=out.shape)
    assert gradcheck(lambda x: x.transpose(*axes) * w, [leaf(a)])
    if axes:  # the axes as one sequence, as NumPy also accepts
        assert leaf(a).transpose(list(axes)).shape == out.shape


def test_transpose_errors():
    with pytest.raises(ValueError, match="transpose"):
        Tensor(np.ones((2, 3))).transpose(0, 0)


def test_T_of_matrix(rng):
    a = rng.normal(size=(2, 3))
    assert gradcheck(lambda x: x.T @ np.ones((2, 1)), [leaf(a)])


INDICES = [
    1, -1, slice(0, 2), (slice(None), 1), (0, slice(1, 3)), (Ellipsis, 0),
    (None, slice(None)), np.array([0, 2, 0]), [1, 1, 1], (np.array([0, 1]), np.array([2, 2])),
    np.array([[0, 1], [1, 0]]), (slice(None), [0, 0, 2]),
]


@pytest.mark.parametrize("idx", INDICES, ids=repr)
def test_index(idx, rng):
    a = rng.normal(size=(3, 4))
    out = leaf(a)[idx]
    np.testing.assert_array_equal(out.data, a[idx])
    w = rng.normal(size=out.shape)
    assert gradcheck(lambda x: x[idx] * w, [leaf(a)])


def test_index_repeated_indices_accumulate():
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    t[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(t.grad.data, [3, 0, 1])


def test_index_boolean_mask(rng):
    a = rng.normal(size=(3, 4))
    mask = a > 0
    t = leaf(a)
    t[mask].sum().backward()
    np.testing.assert_array_equal(t.grad.data, mask.astype(float))


def test_index_error_names_shape():
    with pytest.raises(IndexError, match=r"\(3,\)"):
        Tensor([1.0, 2.0, 3.0])[5]


# ------------------------------------------------------------------ element-wise
UNARY = {
    "exp": (lambda x: x.exp(), np.exp, "any"),
    "log": (lambda x: x.log(), np.log, "positive"),
    "sigmoid": (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), "any"),
    "tanh": (lambda x: x.tanh(), np.tanh, "any"),
    "relu": (lambda x: x.relu(), lambda a: np.maximum(a, 0), "away0"),
}


@pytest.mark.parametrize("name", list(UNARY))
@FAST
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_unary(name, shape):
    rng = np.random.default_rng(1)
    fn, ref, domain = UNARY[name]
    if domain == "positive":
        a = positive(rng, shape)
    else:
        a = rng.normal(size=shape)
        if domain == "away0":
            a = np.where(np.abs(a) < 0.1, 0.5, a)
    out = fn(leaf(a))
    np.testing.assert_allclose(out.data, ref(a), rtol=1e-12)
    assert out.shape == np.shape(a)
    assert gradcheck(fn, [leaf(a)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_stable_for_large_inputs(dtype):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = Tensor(np.array([-1000.0, 0.0, 1000.0], dtype=dtype)).sigmoid()
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, [0.0, 0.5, 1.0], atol=1e-30)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_family(name, axis, rng):
    a = rng.normal(size=(3, 4)) * 3
    out = getattr(leaf(a), name)(axis)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    sm = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(out.data, sm if name == "softmax" else np.log(sm), rtol=1e-10)
    w = rng.normal(size=a.shape)
    assert gradcheck(lambda x: getattr(x, name)(axis) * w, [leaf(a)])


def test_log_softmax_no_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = Tensor(np.array([[1000.0, 0.0, -1000.0]])).log_softmax()
    np.testing.assert_allclose(out.data, [[0.0, -1000.0, -2000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = Tensor(np.array([1000.0, 1000.0], np.float32)).softmax()
    np.testing.assert_allclose(s.data, [0.5, 0.5])


@given(st.integers(min_value=1, max_value=4), st.integers(min_value=1, max_value=4))
@FAST
def test_composite_network_gradient(n, m):
    rng = np.random.default_rng(n * 10 + m)
    x, w1, w2 = rng.normal(size=(n, 3)), rng.normal(size=(4, 3)), rng.normal(size=(m, 4))

    def net(x, w1, w2):
        return ((x @ w1.T).sigmoid() @ w2.T).tanh().mean() * 2 - 1

    assert gradcheck(net, [leaf(x), leaf(w1), leaf(w2)])


def test_functional_activations_match_methods(rng):
    F = tg.nn.functional
    a = rng.normal(size=(2, 3))
    for f, m in [(F.sigmoid, "sigmoid"), (F.tanh, "tanh"), (F.relu, "relu"),
                 (F.softmax, "softmax"), (F.log_softmax, "log_softmax")]:
        np.testing.assert_array_equal(f(leaf(a)).data, getattr(leaf(a), m)().data)


@pytest.mark.parametrize("xshape", [(4,), (1, 4), (5, 4), (2, 3, 4)])
def test_linear_is_x_times_weight_transposed(xshape, rng):
    x, w, b = rng.normal(size=xshape), rng.normal(size=(3, 4)), rng.normal(size=3)
    F = tg.nn.functional
    np.testing.assert_allclose(F.linear(leaf(x), leaf(w), leaf(b)).data, x @ w.T + b,
                               rtol=1e-12)
    assert gradcheck(lambda a, m, c: F.linear(a, m, c), [leaf(x), leaf(w), leaf(b)])
    assert gradcheck(lambda m: F.linear(x, m), [leaf(w)])


def test_linear_shape_error():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 5\).*\(3, 4\)"):
        tg.nn.functional.linear(Tensor(np.ones((2, 5))), Tensor(np.ones((3, 4))))


def test_outer_product_path_matches_matmul(rng):
    a, b = rng.normal(size=(1, 5)), rng.normal(size=(5, 3))
    ta, tb = leaf(a), leaf(b)
    (ta @ tb).sum().backward()
    np.testing.assert_allclose(tb.grad.data, a.T @ np.ones((1, 3)), rtol=1e-15)
