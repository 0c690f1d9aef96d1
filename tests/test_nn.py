"""Module registration, names, state dicts, layers, init, losses."""

import warnings

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import Tensor, nn
from tinygrad_nn.nn import functional as F
from tinygrad_nn.nn import init


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3))
        self.encoder = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 3))
        self.head = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.head(self.encoder(x) * self.scale)


def test_named_parameters_order_and_names():
    names = [n for n, _ in Block().named_parameters()]
    assert names == ["scale", "encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
                     "encoder.2.bias", "head.weight"]
    assert len(list(Block().parameters())) == 6


def test_sequential_names_and_container_protocol():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and isinstance(seq[-1], nn.Linear)
    assert len(seq[:2]) == 2
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and [type(m).__name__ for m in seq][-1] == "Sigmoid"
    with pytest.raises(IndexError):
        seq[10]
    with pytest.raises(TypeError):
        nn.Sequential(nn.Linear(2, 2), "relu")


def test_shared_parameters_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.Tanh(), lin)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]


def test_children_modules_train_eval():
    b = Block()
    assert [type(c).__name__ for c in b.children()] == ["Sequential", "Linear"]
    assert len(list(b.modules())) == 6
    assert b.training is True
    b.eval()
    assert all(m.training is False for m in b.modules())
    assert b.train() is b and b.encoder[0].training is True


def test_call_runs_forward_and_zero_grad():
    b = Block()
    out = b(Tensor(np.ones((5, 4))))
    assert out.shape == (5, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in b.parameters())
    b.zero_grad()
    assert all(p.grad is None for p in b.parameters())


def test_repr_is_nested_like_pytorch():
    text = repr(nn.Sequential(nn.Linear(784, 100, bias=False), nn.Sigmoid()))
    assert text == ("Sequential(\n  (0): Linear(in_features=784, out_features=100, bias=False)\n"
                    "  (1): Sigmoid()\n)")
    assert "Parameter containing" in repr(nn.Parameter([1.0]))


def test_assigning_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Bad()


def test_state_dict_copies_and_round_trip():
    b = Block()
    sd = b.state_dict()
    assert list(sd) == [n for n, _ in b.named_parameters()]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["scale"][0] = 42
    assert b.scale.data[0] == 1  # a copy, not a view
    b2 = Block()
    b2.load_state_dict(b.state_dict())
    for (n1, p1), (_, p2) in zip(b.named_parameters(), b2.named_parameters()):
        np.testing.assert_array_equal(p1.data, p2.data, err_msg=n1)


def test_load_state_dict_copies_in_place_and_casts():
    lin = nn.Linear(2, 2)
    w = lin.weight
    data_before = w.data
    lin.load_state_dict({"weight": np.ones((2, 2), np.float64), "bias": [1, 2]})
    assert lin.weight is w and w.data is data_before and w.dtype == np.float32
    np.testing.assert_array_equal(lin.bias.data, [1, 2])


def test_load_state_dict_lists_every_bad_key():
    lin = nn.Linear(2, 3)
    bad = {"weight": np.zeros((3, 3)), "extra": np.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        lin.load_state_dict(bad)
    msg = str(info.value)
    assert "weight" in msg and "(3, 3)" in msg and "(3, 2)" in msg
    assert "missing keys: bias" in msg and "unexpected keys: extra" in msg
    result = lin.load_state_dict({"weight": np.zeros((3, 2))}, strict=False)
    assert result.missing_keys == ["bias"]
    with pytest.raises(RuntimeError, match="mis-shaped"):
        lin.load_state_dict({"weight": np.zeros((2, 2))}, strict=False)


def test_linear_shapes_dtype_and_init_rule():
    tg.manual_seed(0)
    lin = nn.Linear(400, 300)
    assert lin.weight.shape == (300, 400) and lin.bias.shape == (300,)
    assert lin.weight.dtype == np.float32
    assert abs(lin.weight.data.std() - 400**-0.5) < 0.002
    assert abs(lin.weight.data.mean()) < 0.002
    assert not lin.bias.data.any()
    assert nn.Linear(2, 2, dtype=np.float64).weight.dtype == np.float64
    assert lin(Tensor(np.ones((7, 400)))).shape == (7, 300)
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 3)


def test_linear_is_the_texts_X_equals_W_I():
    lin = nn.Linear(3, 2, bias=False, dtype=np.float64)
    I = np.array([0.9, 0.1, 0.8])
    np.testing.assert_allclose(lin(Tensor(I[None, :])).data[0], lin.weight.data @ I)


def test_seed_makes_init_repeatable():
    tg.manual_seed(3)
    a = nn.Linear(5, 4).weight.data.copy()
    tg.manual_seed(3)
    b = nn.Linear(5, 4).weight.data
    np.testing.assert_array_equal(a, b)


def test_init_functions():
    t = nn.Parameter(np.zeros((200, 300)))
    init.normal_(t, 1.0, 2.0)
    assert abs(t.data.mean() - 1) < 0.05 and abs(t.data.std() - 2) < 0.05
    init.uniform_(t, -1, 3)
    assert t.data.min() >= -1 and t.data.max() < 3 and abs(t.data.mean() - 1) < 0.05
    init.xavier_uniform_(t)
    a = (6 / 500) ** 0.5
    assert t.data.max() <= a and t.data.min() >= -a
    init.book_normal_(t)
    assert abs(t.data.std() - 300**-0.5) < 0.003
    init.zeros_(t)
    assert not t.data.any()
    init.constant_(t, 0.5)
    assert np.all(t.data == 0.5)


def test_losses_match_definitions(rng):
    o, t = rng.uniform(size=(4, 3)), rng.uniform(size=(4, 3))
    assert np.isclose(F.squared_error(Tensor(o), t).item(), 0.5 * ((t - o) ** 2).sum())
    assert np.isclose(F.mse_loss(Tensor(o), t).item(), ((t - o) ** 2).mean())
    assert np.isclose(F.mse_loss(Tensor(o), t, reduction="sum").item(), ((t - o) ** 2).sum())
    assert F.mse_loss(Tensor(o), t, reduction="none").shape == (4, 3)
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(Tensor(o), t, reduction="avg")


@pytest.mark.parametrize("shape", [(4, 3), (1, 10), (7,), (), (0, 3)])
def test_losses_record_their_ops_and_gradients(rng, shape):
    # the losses record Sub, Pow, Sum/Mean (and Mul ×0.5) like the written formulas, with
    # the same values and gradients (checked in float64 by finite differences)
    o, t = rng.uniform(size=shape), rng.uniform(size=shape)
    cases = [(F.squared_error, lambda z: ((Tensor(t) - z) ** 2).sum() * 0.5,
              ["Mul", "Sum", "Pow", "Sub"]),
             (F.mse_loss, lambda z: ((z - Tensor(t)) ** 2).mean(), ["Mean", "Pow", "Sub"]),
             (lambda z, y: F.mse_loss(z, y, reduction="sum"),
              lambda z: ((z - Tensor(t)) ** 2).sum(), ["Sum", "Pow", "Sub"])]
    for loss, written, chain in cases:
        x = Tensor(o, requires_grad=True)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the mean of nothing is NaN
            got, ref = loss(x, t), written(Tensor(o, requires_grad=True))
        np.testing.assert_allclose(got.data, ref.data, rtol=1e-12)
        assert got.dtype == np.float64 and got.shape == ()
        names, fn = [], got.grad_fn
        while fn is not None and not fn._leaf:
            names.append(type(fn).__name__)
            fn = fn.parents[0] if type(fn).__name__ != "Sub" else None
        assert names == chain
        if o.size:
            assert tg.gradcheck(lambda z, loss=loss: loss(z, t), [x])


@pytest.mark.parametrize("loss", [F.mse_loss, F.squared_error])
def test_losses_refuse_silent_broadcast(loss):
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        loss(Tensor(np.ones((4, 1))), np.ones(4))


def test_cross_entropy_matches_definition_and_grad(rng):
    logits = rng.normal(size=(5, 4))
    y = np.array([0, 3, 1, 1, 2])
    lp = logits - logits.max(1, keepdims=True)
    lp = lp - np.log(np.exp(lp).sum(1, keepdims=True))
    ref = -lp[np.arange(5), y]
    assert np.isclose(F.cross_entropy(Tensor(logits), y).item(), ref.mean())
    assert np.isclose(F.cross_entropy(Tensor(logits), y, reduction="sum").item(), ref.sum())
    np.testing.assert_allclose(F.cross_entropy(Tensor(logits), y, reduction="none").data, ref)
    assert tg.gradcheck(lambda z: F.cross_entropy(z, y),
                        [Tensor(logits, requires_grad=True)])
    assert np.isclose(F.cross_entropy(Tensor(logits[0]), 0).item(), ref[0])
    with pytest.raises(ValueError, match="out of range"):
        F.cross_entropy(Tensor(logits), np.array([0, 1, 2, 3, 4]))
    with pytest.raises(ValueError, match="5 rows"):
        F.cross_entropy(Tensor(logits), np.array([0, 1]))
    with pytest.raises(TypeError):
        F.cross_entropy(Tensor(logits), np.array([0.5, 1, 2, 3, 1]))


def test_activation_modules():
    x = Tensor([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(nn.ReLU()(x).data, [0, 0, 2])
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)), rtol=1e-6)


def test_modules_pickle_and_deepcopy_after_a_forward():
    import copy
    import pickle

    model = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
    model(Tensor(np.ones((1, 3))))
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert clone[0].weight is not model[0].weight
        np.testing.assert_array_equal(clone[0].weight.data, model[0].weight.data)
        assert clone(Tensor(np.ones((1, 3)))).shape == (1, 2)


def test_frozen_layers_and_used_data_tensors_pickle():
    # a tensor that needs no grad gets a weak stand-in when an op uses it; copies must not
    # try to pickle that weak link (a frozen layer's weight is such a tensor)
    import copy
    import pickle

    model = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid(), nn.Linear(2, 1))
    model[0].weight.requires_grad_(False)
    x = Tensor(np.ones((4, 3)))
    model(x).sum().backward()
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(clone[0].weight.data, model[0].weight.data)
        assert not clone[0].weight.requires_grad and clone[2].weight.requires_grad
        np.testing.assert_array_equal(clone[2].weight.grad.data, model[2].weight.grad.data)
    x2 = pickle.loads(pickle.dumps(x))
    np.testing.assert_array_equal(x2.data, x.data)
    assert x2.is_leaf and not x2.requires_grad
    y = copy.deepcopy(x * Tensor(np.ones(3), requires_grad=True))  # a non-leaf copies as a leaf
    assert y.is_leaf and y.requires_grad and y.grad_fn is None


def test_sequential_subclass_with_its_own_forward_is_called():
    class Twice(nn.Sequential):
        def forward(self, x):
            return super().forward(super().forward(x))

    model = Twice(nn.Linear(2, 2, bias=False))
    model[0].weight.data[...] = np.eye(2) * 3
    np.testing.assert_array_equal(model(Tensor([[1.0, 2.0]])).data, [[9.0, 18.0]])
    with pytest.raises(TypeError):
        nn.Sequential(nn.Sigmoid())(Tensor([1.0]), Tensor([2.0]))
