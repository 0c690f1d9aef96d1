"""Shape ops of the day-one surface against torch 2.13 (values, dtypes, gradients) and
gradcheck; `transpose` follows NumPy (DESIGN), so it is compared with torch's permute."""

import numpy as np
import pytest

import tinygrad_nn as tg

from .surface import FLOATS, arrays, check, gradcheck, to_np, torch


def perm(m, a, *axes):
    """NumPy-style transpose: ours is `transpose(*axes)`, torch's is `permute`."""
    if m is torch:
        return a.permute(*(axes or reversed(range(a.ndim))))
    return a.transpose(*axes)


CASES = {
    "view": (lambda m, a: a.view(3, 2), [(2, 3)]),
    "view_infer": (lambda m, a: a.view(-1, 4), [(2, 3, 4)]),
    "view_tuple": (lambda m, a: a.view((6,)), [(2, 3)]),
    "view_flat": (lambda m, a: a.view(-1), [(2, 3)]),
    "reshape_args": (lambda m, a: a.reshape(2, 3), [(6,)]),
    "reshape_tuple": (lambda m, a: a.reshape((3, 2)), [(6,)]),
    "reshape_list": (lambda m, a: a.reshape([3, -1]), [(6,)]),
    "reshape_0d": (lambda m, a: a.reshape(()), [(1,)]),
    "flatten": (lambda m, a: a.flatten(), [(2, 3, 4)]),
    "flatten1": (lambda m, a: a.flatten(1), [(2, 3, 4)]),
    "flatten01": (lambda m, a: a.flatten(0, 1), [(2, 3, 4)]),
    "flatten_kw": (lambda m, a: a.flatten(start_dim=1, end_dim=-1), [(2, 3, 4, 1)]),
    "flatten_mid": (lambda m, a: a.flatten(1, 2), [(2, 3, 4, 5)]),
    "flatten_0d": (lambda m, a: a.flatten(), [()]),
    "unsqueeze0": (lambda m, a: a.unsqueeze(0), [(2, 3)]),
    "unsqueeze_last": (lambda m, a: a.unsqueeze(-1), [(2, 3)]),
    "unsqueeze_mid": (lambda m, a: a.unsqueeze(1), [(2, 3)]),
    "unsqueeze_end": (lambda m, a: a.unsqueeze(2), [(2, 3)]),
    "unsqueeze_kw": (lambda m, a: a.unsqueeze(dim=0), [(3,)]),
    "squeeze": (lambda m, a: a.squeeze(), [(1, 3, 1)]),
    "squeeze0": (lambda m, a: a.squeeze(0), [(1, 3, 1)]),
    "squeeze_neg": (lambda m, a: a.squeeze(-1), [(1, 3, 1)]),
    "squeeze_non1_noop": (lambda m, a: a.squeeze(1), [(1, 3, 1)]),
    "squeeze_kw": (lambda m, a: a.squeeze(dim=2), [(1, 3, 1)]),
    "squeeze_0d": (lambda m, a: a.squeeze(), [()]),
    "permute": (lambda m, a: a.permute(2, 0, 1), [(2, 3, 4)]),
    "permute_tuple": (lambda m, a: a.permute((1, 0)), [(2, 3)]),
    "permute_neg": (lambda m, a: a.permute(-1, 0, 1), [(2, 3, 4)]),
    "transpose_np": (lambda m, a: perm(m, a, 2, 0, 1), [(2, 3, 4)]),
    "transpose_reverse": (lambda m, a: perm(m, a), [(2, 3, 4)]),
    "transpose_2d": (lambda m, a: a.transpose(1, 0), [(2, 3)]),
    "T": (lambda m, a: a.T, [(2, 3)]),
    "expand": (lambda m, a: a.expand(2, 3), [(1, 3)]),
    "expand_keep": (lambda m, a: a.expand(-1, 4), [(3, 1)]),
    "expand_new_dims": (lambda m, a: a.expand(2, 3, 4), [(3, 1)]),
    "expand_tuple": (lambda m, a: a.expand((2, 3)), [(3,)]),
    "repeat": (lambda m, a: a.repeat(2, 1), [(2, 3)]),
    "repeat_new_dims": (lambda m, a: a.repeat(2, 2, 1), [(2, 3)]),
    "repeat_tuple": (lambda m, a: a.repeat((1, 3)), [(2, 1)]),
    "chunk": (lambda m, a: a.chunk(2), [(4, 3)]),
    "chunk_uneven": (lambda m, a: a.chunk(3, dim=1), [(2, 5)]),
    "chunk_dim": (lambda m, a: a.chunk(2, 1), [(2, 4)]),
    "split_int": (lambda m, a: a.split(2), [(5, 3)]),
    "split_list": (lambda m, a: a.split([1, 2], dim=1), [(2, 3)]),
    "split_int_dim": (lambda m, a: a.split(1, 1), [(2, 3)]),
    "cat0": (lambda m, a, b: m.cat([a, b]), [(2, 3), (1, 3)]),
    "cat1": (lambda m, a, b: m.cat([a, b], 1), [(2, 3), (2, 1)]),
    "cat_kw_tuple": (lambda m, a, b: m.cat((a, b, a), dim=-1), [(2, 3), (2, 2)]),
    "cat_one": (lambda m, a: m.cat([a]), [(2, 3)]),
    "stack0": (lambda m, a, b: m.stack([a, b]), [(2, 3), (2, 3)]),
    "stack1": (lambda m, a, b: m.stack([a, b], 1), [(2, 3), (2, 3)]),
    "stack_last": (lambda m, a, b: m.stack((a, b, a), dim=-1), [(2, 3), (2, 3)]),
    "stack_0d": (lambda m, a, b: m.stack([a, b]), [(), ()]),
    "where": (lambda m, a, b: m.where(a > 0, a, b), [(2, 3), (2, 3)]),
    "where_bcast": (lambda m, a, b: m.where(b > 0, a, b), [(2, 3), (3,)]),
    "where_number": (lambda m, a: m.where(a > 0, a, 0.0), [(2, 3)]),
    "getitem_int": (lambda m, a: a[1], [(2, 3)]),
    "getitem_slice": (lambda m, a: a[:, 1:], [(2, 3)]),
    "getitem_neg_step": (lambda m, a: a[::2, -1], [(4, 3)]),
    "getitem_none": (lambda m, a: a[None, :, 0], [(2, 3)]),
    "getitem_ellipsis": (lambda m, a: a[..., 1], [(2, 3, 4)]),
    "getitem_list": (lambda m, a: a[[0, 0, 1]], [(2, 3)]),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name, dtype):
    fn, shapes = CASES[name]
    check(fn, arrays(shapes, seed=len(name)), dtype)


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name):
    fn, shapes = CASES[name]
    gradcheck(fn, arrays(shapes, seed=len(name)))


def test_size():
    t, tt = tg.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert t.size() == tt.size() == (2, 3, 4) and isinstance(t.size(), tuple)
    assert t.size(1) == tt.size(1) == 3 and t.size(-1) == 4 and t.size(dim=0) == 2
    assert isinstance(t.size(1), int)
    assert tg.zeros(()).size() == ()
    with pytest.raises(IndexError):
        torch.zeros(2, 3).size(2)
    with pytest.raises(IndexError):
        t.size(3)


def test_numel_and_dim():
    t = tg.zeros(2, 3)
    assert t.numel() == 6 and t.dim() == 2 == torch.zeros(2, 3).dim()


def test_view_and_reshape_keep_dtype_of_integer_tensors():
    t = tg.arange(6).view(2, 3)
    assert t.dtype == np.int64 and t.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert tg.tensor([True, False]).reshape(2, 1).dtype == np.bool_


def test_chunk_and_split_return_tuples_of_views_as_torch():
    a = tg.arange(10)
    pieces, theirs = a.chunk(3), torch.arange(10).chunk(3)
    assert [p.tolist() for p in pieces] == [p.tolist() for p in theirs]
    assert [p.tolist() for p in a.split(4)] == [p.tolist() for p in torch.arange(10).split(4)]
    assert [p.tolist() for p in a.split([2, 8])] == [[0, 1], list(range(2, 10))]


def test_cat_and_stack_of_integer_tensors_and_mixed_floats():
    assert tg.cat([tg.tensor([1, 2]), tg.tensor([3])]).tolist() == [1, 2, 3]
    assert tg.cat([tg.tensor([1, 2]), tg.tensor([3])]).dtype == np.int64
    mixed = [tg.tensor(np.ones(2, np.float32)), tg.tensor(np.ones(2))]
    tmixed = [torch.tensor(np.ones(2, np.float32)), torch.tensor(np.ones(2))]
    assert tg.cat(mixed).dtype == to_np(torch.cat(tmixed)).dtype == np.float64
    assert tg.stack(mixed).dtype == to_np(torch.stack(tmixed)).dtype


def test_where_condition_may_be_an_array_and_keeps_dtypes():
    cond = np.array([True, False, True])
    out = tg.where(cond, tg.tensor([1.0, 2.0, 3.0]), tg.tensor([0.0, 0.0, 0.0]))
    assert out.tolist() == [1.0, 0.0, 3.0] and out.dtype == np.float32
    r = tg.where(tg.tensor([1, 0, 2]) > 0, tg.tensor([1, 2, 3]), 0)
    assert r.tolist() == [1, 0, 3] and r.dtype == np.int64


# __setitem__ on a non-leaf in a graph: recorded, gradients to both tensors
SETITEM = {
    "int": (lambda y, b: y.__setitem__(0, b[0]), [(3, 4), (2, 4)]),
    "slice": (lambda y, b: y.__setitem__(slice(1, None), b), [(3, 4), (2, 4)]),
    "slice_bcast": (lambda y, b: y.__setitem__((slice(None), 1), b[0, :3]), [(3, 4), (2, 4)]),
    "number": (lambda y, b: y.__setitem__((0, slice(1, 3)), 0.5), [(3, 4), (2, 4)]),
    "column": (lambda y, b: y.__setitem__((slice(None), -1), b[1, 1]), [(3, 4), (2, 4)]),
    "ellipsis": (lambda y, b: y.__setitem__(..., b[0]), [(3, 4), (2, 4)]),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_records_and_gradients_flow_to_both(name, dtype):
    put, shapes = SETITEM[name]

    def fn(m, a, b):
        y = a * 1.5
        put(y, b * 2)
        return y * a

    check(fn, arrays(shapes, seed=len(name)), dtype)
    gradcheck(fn, arrays(shapes, seed=len(name)))


@pytest.mark.parametrize("dtype", FLOATS)
def test_setitem_with_mask_and_index_tensors(dtype):
    def masked(m, a, b):
        y = a * 1
        y[a > 0] = b[a > 0] * 3
        return y.sigmoid()

    def indexed(m, a, b):
        y = a * 1
        y[m.tensor([2, 0])] = b[:2]
        return y

    def number_mask(m, a):
        y = a * 2
        y[y > 1] = 0.0
        return y.exp()

    for fn, shapes in [(masked, [(3, 4), (3, 4)]), (indexed, [(3, 4), (3, 4)]),
                       (number_mask, [(3, 4)])]:
        check(fn, arrays(shapes, seed=4), dtype)
        gradcheck(fn, arrays(shapes, seed=4))


def test_setitem_on_plain_and_integer_tensors():
    t = tg.zeros(2, 3)
    t[0] = 1.0
    t[1, 1:] = tg.tensor([2.0, 3.0])
    t[t > 2.5] = -1.0
    assert t.tolist() == [[1.0, 1.0, 1.0], [0.0, 2.0, -1.0]] and t.dtype == np.float32
    i = tg.tensor([1, 2, 3])
    i[tg.tensor([0, 2])] = 9
    assert i.tolist() == [9, 2, 9] and i.dtype == np.int64
    v = t._version
    t[0, 0] = 5.0
    assert t._version > v


def test_setitem_on_a_leaf_that_requires_grad():
    with pytest.raises(RuntimeError):
        w = torch.zeros(3, requires_grad=True)
        w[0] = 1.0
    w = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="(?i)leaf"):
        w[0] = 1.0
    with tg.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0, 0.0] and w.requires_grad and w.is_leaf


def test_transpose_follows_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = tg.tensor(a)
    np.testing.assert_array_equal(t.transpose().data, a.transpose())
    np.testing.assert_array_equal(t.transpose(1, 0, 2).data, a.transpose(1, 0, 2))
    np.testing.assert_array_equal(t.transpose((2, 1, 0)).data, a.transpose((2, 1, 0)))
    np.testing.assert_array_equal(t.transpose(-1, 0, 1).data, a.transpose(-1, 0, 1))
    np.testing.assert_array_equal(tg.tensor(a[0]).transpose(1, 0).data, a[0].T)


@pytest.mark.parametrize("shape, axes", [((2, 3), (0, 3)), ((2, 3), (2, 0)),
                                         ((2, 3), (0, -3)), ((2, 3, 4), (0, 1, 3))])
def test_transpose_out_of_range_axis_raises(shape, axes):
    with pytest.raises((ValueError, IndexError)) as info:
        tg.zeros(*shape).transpose(*axes)
    assert "transpose" in str(info.value)
    with pytest.raises((ValueError, IndexError)):
        tg.zeros(2, 3).transpose(0, 0)  # a repeated axis


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(2, 3).view(4, 2), lambda m: m.zeros(2, 3).view(-1, 4),
    lambda m: m.zeros(2, 3).reshape(5), lambda m: m.zeros(2, 3).expand(3, 3),
    lambda m: m.zeros(2, 3).expand(2), lambda m: m.cat([m.zeros(2, 3), m.zeros(2, 4)]),
    lambda m: m.stack([m.zeros(2, 3), m.zeros(3, 2)]),
    lambda m: m.where(m.zeros(2, 3) > 0, m.zeros(4), m.zeros(2, 3)),
    lambda m: m.zeros(2, 3).split([1, 2]), lambda m: m.zeros(2, 3).repeat(2),
])
def test_shape_errors_are_value_errors_naming_the_shapes(call):
    with pytest.raises((RuntimeError, ValueError)):
        call(torch)
    with pytest.raises(ValueError) as info:
        call(tg)
    msg = str(info.value)
    assert "(2, 3)" in msg or "2, 3" in msg, msg


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(2, 3).unsqueeze(3), lambda m: m.zeros(2, 3).squeeze(2),
    lambda m: m.zeros(2, 3).flatten(0, 2), lambda m: m.zeros(2, 3).permute(0, 2),
    lambda m: m.cat([m.zeros(2, 3), m.zeros(2, 3)], 2),
    lambda m: m.stack([m.zeros(2, 3), m.zeros(2, 3)], 3),
    lambda m: m.zeros(2, 3).chunk(2, 2), lambda m: m.zeros(2, 3).size(-3),
])
def test_dim_out_of_range_raises_index_error_as_torch(call):
    with pytest.raises(IndexError):
        call(torch)
    with pytest.raises(IndexError):
        call(tg)


def test_permute_needs_every_axis_once():
    with pytest.raises(RuntimeError):
        torch.zeros(2, 3).permute(0, 0)
    with pytest.raises((ValueError, RuntimeError)):
        tg.zeros(2, 3).permute(0, 0)
    with pytest.raises((ValueError, RuntimeError)):
        tg.zeros(2, 3).permute(0)


@pytest.mark.parametrize("a, b", [(1.0, 0.0), (1, 0), (True, False), (1, 0.5), (2, True)])
def test_where_of_two_numbers(a, b):
    # was: a bare "max() arg is an empty sequence" from the dtype promotion
    cond = np.array([True, False, True])
    ours = tg.where(tg.tensor(cond), a, b)
    theirs = torch.where(torch.tensor(cond), a, b)
    assert ours.dtype == to_np(theirs).dtype and ours.tolist() == theirs.tolist()
