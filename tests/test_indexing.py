"""Indexing by bool masks and integer index tensors with torch's meaning (values and
gradients against torch 2.13); a float index tensor raises IndexError."""

import numpy as np
import pytest

import tinygrad_nn as tg

from .surface import FLOATS, arrays, check, gradcheck, torch

MASK = [False, True, True]

CASES = {
    "bool_tensor_rows": lambda m, a: a[m.tensor(MASK)],
    "bool_list_rows": lambda m, a: a[MASK],
    "bool_array_rows": lambda m, a: a[np.array(MASK) if m is tg else torch.tensor(MASK)],
    "mask_2d": lambda m, a: a[a > 0],
    "mask_columns": lambda m, a: a[:, m.tensor([True, False, True, False])],
    "mask_from_comparison": lambda m, a: a[a.sum(1) > -10],
    "all_false_mask": lambda m, a: a[m.tensor([False, False, False])],
    "int_tensor_rows": lambda m, a: a[m.tensor([2, 0])],
    "int_tensor_repeated": lambda m, a: a[m.tensor([0, 2, 0, 0])],
    "int_tensor_negative": lambda m, a: a[m.tensor([-1, 0])],
    "int_tensor_2d": lambda m, a: a[m.tensor([[0, 1], [1, 1]])],
    "int_tensor_pair": lambda m, a: a[m.tensor([0, 2, 2]), m.tensor([1, 3, 3])],
    "int_tensor_and_slice": lambda m, a: a[m.tensor([1, 1]), 1:],
    "slice_and_int_tensor": lambda m, a: a[:, m.tensor([3, 0, 3])],
    "int_0d_tensor": lambda m, a: a[m.tensor(1)],
    "int32_tensor": lambda m, a: a[m.tensor(np.array([2, 1], np.int32))],
    "argmax_gather": lambda m, a: a[m.arange(3), a.argmax(1)],
    "labels_gather": lambda m, a: a.log_softmax(1)[m.arange(3), m.tensor([3, 0, 1])],
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name, dtype):
    check(CASES[name], arrays([(3, 4)], seed=len(name)), dtype)


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name):
    gradcheck(CASES[name], arrays([(3, 4)], seed=len(name)))


def test_mask_picks_rows_not_indices():
    x = tg.tensor([[0.0], [1.0], [2.0]])
    assert x[tg.tensor([False, True, True])].tolist() == [[1.0], [2.0]]
    assert x[tg.Tensor([0, 1, 1]).long()].tolist() == [[0.0], [1.0], [1.0]]


def test_repeated_indices_accumulate_gradient():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[tg.tensor([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


@pytest.mark.parametrize("index", [lambda m: m.tensor([0.0, 1.0]), lambda m: m.tensor(1.0),
                                   lambda m: m.tensor([[0.5]]), lambda m: m.zeros(2)])
def test_float_index_tensor_raises_index_error(index):
    with pytest.raises(IndexError):
        torch.zeros(3, 2)[index(torch)]
    with pytest.raises(IndexError):
        tg.zeros(3, 2)[index(tg)]
    with pytest.raises(IndexError):
        tg.zeros(3, 2)[index(tg), 0]


@pytest.mark.parametrize("index", [lambda m: m.tensor([True, False]),
                                   lambda m: m.tensor([3]), lambda m: m.tensor([-4])])
def test_bad_mask_or_index_raises_index_error(index):
    with pytest.raises(IndexError):
        torch.zeros(3, 2)[index(torch)]
    with pytest.raises(IndexError):
        tg.zeros(3, 2)[index(tg)]


def test_indexing_keeps_integer_and_bool_dtypes():
    y = tg.tensor([3, 1, 2])
    assert y[tg.tensor([True, False, True])].tolist() == [3, 2]
    assert y[tg.tensor([True, False, True])].dtype == np.int64
    b = tg.tensor([True, False])
    assert b[1].dtype == np.bool_ and not b[0].requires_grad
