"""Nested checkpoints: save/load give back exactly what went in; resuming continues the
exact trajectory of an uninterrupted run."""

import os
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import Tensor, nn, optim
from tinygrad_nn.nn.functional import mse_loss
from tinygrad_nn.optim import lr_scheduler


def _same(a, b):
    """Equal values AND equal types, all the way down."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b) and [type(k) for k in a] == [type(k) for k in b]
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and (a == b or (a != a and b != b))
    elif isinstance(a, Tensor):
        assert a.dtype == b.dtype and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.data, b.data)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


def test_nested_round_trip_keeps_everything(tmp_path):
    obj = {
        "model": OrderedDict([("0.weight", np.arange(6, dtype=np.float32).reshape(2, 3)),
                              ("0.bias", np.zeros(2, np.float64))]),
        "optimizer": {"state": {0: {"step": 3, "exp_avg": np.ones(2)}, 2: {}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1, 2],
                                        "nesterov": False, "initial_lr": 0.5}]},
        "epoch": 3, "best": float("inf"), "nan": float("nan"), "name": "run/1 ✓",
        "none": None, "flags": [True, False], "tup": (1, (2.5, "x"), []),
        "np_scalars": [np.float32(1.5), np.int64(7), np.bool_(True), np.float64(2.0)],
        "ints": np.array([1, 2], dtype=np.int16), "big": 2**70, "text": np.array(["a", "bc"]),
        "tensor": Tensor(np.array([1.0, 2.0])),
        "param": nn.Parameter(np.ones((2, 2), np.float32)),
        "frozen": nn.Parameter(np.ones(2), requires_grad=False),
        "empty": {}, 5: "int key", "0": "str key",
    }
    path = tmp_path / "ck.pt"
    tg.save(obj, path)
    back = tg.load(path)
    _same(obj, back)
    assert isinstance(back["param"], nn.Parameter) and back["param"].requires_grad
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"]


def test_plain_state_dict_members_keep_their_names(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
    tg.save(model.state_dict(), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        np.testing.assert_array_equal(f["0.weight"], model[0].weight.data)
    back = tg.load(tmp_path / "m.npz")
    assert isinstance(back, OrderedDict) and list(back) == ["0.weight", "0.bias"]


def test_old_flat_files_still_load(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, **{"0.weight": np.ones((2, 3), np.float32), "__meta__": np.array("{}")})
    back = tg.load(path)
    assert isinstance(back, OrderedDict) and back["__meta__"] == "{}"
    assert back["0.weight"].dtype == np.float32


@pytest.mark.parametrize("obj, place", [
    ({"optimizer": {"state": {0: {"x": {1, 2}}}}}, 'obj["optimizer"]["state"][0]["x"] is a set'),
    ([1, (2, object())], "obj[1][1] is a object"),
    ({"a": np.array([None])}, 'obj["a"] is an array of dtype object'),
    ({"f": lambda: 0}, 'obj["f"] is a function'),
    ({"k": {2.5: 1}}, 'obj["k"] has a key 2.5'),
])
def test_unsupported_values_name_their_place(tmp_path, obj, place):
    with pytest.raises(TypeError) as e:
        tg.save(obj, tmp_path / "x.npz")
    assert place in str(e.value)
    assert not (tmp_path / "x.npz").exists()


def test_a_nest_that_contains_itself_is_refused(tmp_path):
    a = []
    a.append(a)
    with pytest.raises(ValueError, match="contains itself"):
        tg.save({"a": a}, tmp_path / "x.npz")


def test_damaged_index_names_the_file(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, __index__=np.array("{not json"))
    with pytest.raises(ValueError, match="bad.npz"):
        tg.load(path)


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(16, 4))
    Y = rng.normal(size=(16, 2))
    return X, Y


def _make(opt_name):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5, dtype=np.float64), nn.Tanh(),
                          nn.Linear(5, 2, dtype=np.float64))
    if opt_name == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    elif opt_name == "adam":
        opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    else:
        opt = optim.AdamW(model.parameters(), lr=0.02)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=7, eta_min=1e-3)
    return model, opt, sched


def _train(model, opt, sched, steps, X, Y, start=0):
    for i in range(start, start + steps):
        rows = slice((i % 4) * 4, (i % 4) * 4 + 4)
        opt.zero_grad()
        loss = mse_loss(model(Tensor(X[rows])), Y[rows])
        loss.backward()
        opt.step()
        sched.step()


@pytest.mark.parametrize("opt_name", ["sgd", "adam", "adamw"])
def test_resume_continues_the_exact_trajectory(tmp_path, opt_name):
    X, Y = _problem()
    straight = _make(opt_name)
    _train(*straight, 20, X, Y)

    first = _make(opt_name)
    _train(*first, 10, X, Y)
    model, opt, sched = first
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "epoch": 10}, tmp_path / "ck.npz")

    tg.manual_seed(123)  # fresh objects with other weights
    model2 = nn.Sequential(nn.Linear(4, 5, dtype=np.float64), nn.Tanh(),
                           nn.Linear(5, 2, dtype=np.float64))
    fresh = {"sgd": lambda p: optim.SGD(p, lr=0.9, momentum=0.9, nesterov=True),
             "adam": lambda p: optim.Adam(p, lr=0.5, amsgrad=True),
             "adamw": lambda p: optim.AdamW(p, lr=0.5)}[opt_name]
    opt2 = fresh(model2.parameters())
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=7, eta_min=1e-3)
    ck = tg.load(tmp_path / "ck.npz")
    assert ck["epoch"] == 10
    model2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["optimizer"])
    sched2.load_state_dict(ck["scheduler"])
    _train(model2, opt2, sched2, 10, X, Y, start=10)
    for (name, a), (_, b) in zip(straight[0].named_parameters(), model2.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    assert sched2.get_last_lr() == straight[2].get_last_lr()
