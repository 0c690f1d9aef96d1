"""Comparisons, all/any, dtype conversions, device, formatting and Python protocols
against torch 2.13."""

import numpy as np
import pytest

import tinygrad_nn as tg

from .surface import FLOATS, check, raises_like_torch, to_np, torch

A = np.array([[1.0, -2.0, 3.0], [0.0, 2.0, -1.0]])
B = np.array([1.0, 2.0, -1.0])

COMPARE = {
    "eq": lambda m, a, b: a == b,
    "ne": lambda m, a, b: a != b,
    "lt": lambda m, a, b: a < b,
    "le": lambda m, a, b: a <= b,
    "gt": lambda m, a, b: a > b,
    "ge": lambda m, a, b: a >= b,
    "eq_number": lambda m, a, b: a == 2.0,
    "gt_number": lambda m, a, b: a > 0,
    "number_lt": lambda m, a, b: 0 < a,
    "number_ge": lambda m, a, b: 1 >= a,
    "ne_number": lambda m, a, b: a != 0,
    "all": lambda m, a, b: (a > -5).all(),
    "any": lambda m, a, b: (a > 2).any(),
    "all_false": lambda m, a, b: (a > 0).all(),
    "any_float": lambda m, a, b: a.any(),
    "all_float": lambda m, a, b: a.all(),
    "all_dim": lambda m, a, b: (a > -1.5).all(1),
    "any_dim": lambda m, a, b: (a > 2).any(dim=0),
    "logical_not": lambda m, a, b: ~(a > 0),
    "and": lambda m, a, b: (a > 0) & (b > 0),
    "or": lambda m, a, b: (a > 0) | (b > 0),
    "accuracy": lambda m, a, b: (a.argmax(1) == m.tensor([2, 1])).float().mean(),
    "mask_sum": lambda m, a, b: (a > 0).sum(),
    "mask_float_mul": lambda m, a, b: (a > 0).float() * a,
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(COMPARE))
def test_comparisons_match_torch(name, dtype):
    check(COMPARE[name], [A, B], dtype)


def test_comparisons_return_bool_tensors_without_grad():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    for r in [a == a, a != 1, a < 2, a <= 2, a > 1, a >= 1, a == tg.tensor([1.0, 0.0])]:
        assert isinstance(r, tg.Tensor) and r.dtype == np.bool_ and not r.requires_grad
    assert (a == tg.tensor([1.0, 0.0])).tolist() == [True, False]


def test_accuracy_idiom():
    pred, y = tg.tensor([0, 1, 2, 2]), tg.tensor([0, 1, 1, 2])
    acc = (pred == y).float().mean()
    assert acc.dtype == np.float32 and acc.item() == pytest.approx(0.75)
    assert (pred == y).sum().item() == 3 and isinstance((pred == y).sum().item(), int)


def test_hash_stays_identity_so_tensors_are_dict_keys():
    a, b = tg.tensor([1.0]), tg.tensor([1.0])
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b" and len({a, b}) == 2
    assert hash(a) == id(a) or hash(a) == hash(a)
    assert a in d and tg.tensor([1.0]) not in d


CONVERT = {
    "float": lambda m, a: a.float(),
    "double": lambda m, a: a.double(),
    "long": lambda m, a: a.long(),
    "int": lambda m, a: a.int(),
    "bool": lambda m, a: a.bool(),
    "to_float64": lambda m, a: a.to(np.float64 if m is tg else torch.float64),
    "to_float32": lambda m, a: a.to(np.float32 if m is tg else torch.float32),
    "to_int64": lambda m, a: a.to(np.int64 if m is tg else torch.int64),
    "to_cpu": lambda m, a: a.to("cpu"),
    "to_dtype_kw": lambda m, a: a.to(dtype=np.float64 if m is tg else torch.float64),
    "type_float64": lambda m, a: a.type(np.float64 if m is tg else torch.float64),
    "cpu": lambda m, a: a.cpu(),
    "double_then_mul": lambda m, a: a.double() * 2 + a.double().exp(),
    "float_of_long": lambda m, a: a.long().float(),
    "detach": lambda m, a: a.detach(),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(CONVERT))
def test_conversions_match_torch_and_carry_gradients(name, dtype):
    check(CONVERT[name], [np.array([[1.5, -2.7], [0.0, 3.2]])], dtype)


@pytest.mark.parametrize("name", ["long", "int", "bool", "float", "double"])
def test_conversions_of_integer_tensors(name):
    ours = getattr(tg.tensor([0, 3, -2]), name)()
    theirs = getattr(torch.tensor([0, 3, -2]), name)()
    assert ours.dtype == to_np(theirs).dtype and ours.tolist() == theirs.tolist()


def test_conversion_to_same_dtype_returns_self_as_torch():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    assert a.float() is a and a.to("cpu") is a and a.cpu() is a
    b = a.double()
    assert b.dtype == np.float64 and b.requires_grad and not b.is_leaf


def test_device():
    t = tg.zeros(2)
    assert str(t.device) == "cpu" == str(torch.zeros(2).device)
    assert t.to("cpu").device == t.device
    for dev in ["cuda", "cuda:0", "mps"]:
        with pytest.raises((RuntimeError, ValueError)) as info:
            t.to(dev)
        assert dev.split(":")[0] in str(info.value)


def test_format_one_element_tensor():
    loss = tg.tensor(0.123456)
    assert f"{loss:.4f}" == f"{torch.tensor(0.123456):.4f}" == "0.1235"
    assert f"{tg.tensor([0.5]):.2f}" == "0.50"  # one element of any shape (PyTorch: 0-d)
    assert f"{tg.tensor([[2.0]]):.1e}" == "2.0e+00"
    assert f"{tg.tensor(3):d}" == "3"
    assert "tensor" in f"{tg.tensor([1.0, 2.0])}".lower()  # no spec: the str
    with pytest.raises((TypeError, ValueError)):
        f"{tg.tensor([1.0, 2.0]):.4f}"


def test_len_iteration_item_tolist():
    a = np.arange(6.0).reshape(3, 2)
    t, tt = tg.tensor(a), torch.tensor(a)
    assert len(t) == len(tt) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, tg.Tensor) for r in rows)
    assert [r.tolist() for r in rows] == [r.tolist() for r in tt]
    assert t.tolist() == tt.tolist() and t[1, 1].item() == tt[1, 1].item() == 3.0
    assert isinstance(tg.tensor(2).item(), int) and isinstance(tg.tensor(True).item(), bool)
    assert isinstance(tg.tensor([[2.5]]).item(), float)
    for bad in [lambda m: len(m.tensor(1.0)), lambda m: list(m.tensor(1.0))]:
        raises_like_torch(bad)
    raises_like_torch(lambda m: m.zeros(2).item(), ValueError)


def test_iteration_rows_carry_gradient():
    a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    total = sum(row.sum() * (i + 1) for i, row in enumerate(a))
    total.backward()
    assert a.grad.tolist() == [[1.0, 1.0], [2.0, 2.0]]


@pytest.mark.parametrize("value", [[0.0], [2.0], [[1]], 0, 3, True, False, [[False]]])
def test_bool_of_one_element(value):
    assert bool(tg.tensor(value)) == bool(torch.tensor(value))


def test_bool_of_many_elements_raises_as_torch():
    raises_like_torch(lambda m: bool(m.tensor([1.0, 2.0])), match=["ambiguous"])
    raises_like_torch(lambda m: bool(m.zeros(0)))
    with pytest.raises(RuntimeError):
        if tg.tensor([1.0, 2.0]) > 0:
            pass


def test_python_number_protocols():
    assert float(tg.tensor([2.5])) == 2.5 and int(tg.tensor(3.7)) == int(torch.tensor(3.7))
    assert [1, 2, 3][tg.tensor(1)] == 2  # __index__ of an integer 0-d tensor
    with pytest.raises(TypeError):
        [1, 2, 3][tg.tensor(1.0)]
    assert round(tg.tensor(2.6).item()) == 3


def test_integer_tensors_never_require_grad():
    for t in [tg.arange(3), tg.tensor([True]), tg.zeros(2).long(), tg.randint(0, 3, (2,)),
              tg.tensor([1.0], requires_grad=True).argmax(), tg.tensor([1.0]) > 0]:
        assert not t.requires_grad
        with pytest.raises(RuntimeError):
            t.requires_grad = True
    a = tg.tensor([1.5, 2.5], requires_grad=True)
    assert not a.long().requires_grad and not (a > 2).requires_grad
