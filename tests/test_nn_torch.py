"""Losses, layers, init rules, clipping and Module helpers against torch itself."""

import math
import warnings

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import Tensor, nn
from tinygrad_nn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [(np.float32, 2e-6), (np.float64, 1e-12)]
REDUCTIONS = ["mean", "sum", "none"]


def _both(x, dtype):
    """(our leaf, torch leaf) holding the same values."""
    x = np.asarray(x, dtype=dtype)
    return Tensor(x, requires_grad=True, dtype=dtype), torch.tensor(x, requires_grad=True)


def _check(ours, theirs, leaves, tol):
    """Same value; then the same gradient of Σ loss·r for a fixed random r."""
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=tol, atol=tol)
    assert ours.dtype == theirs.detach().numpy().dtype
    r = np.random.default_rng(5).normal(size=ours.shape).astype(ours.dtype)
    (ours * r).sum().backward()
    (theirs * torch.tensor(r)).sum().backward()
    for a, b in leaves:
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=tol, atol=tol)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ------------------------------------------------------------------------- losses


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses(rng, name, reduction, dtype, tol):
    x = rng.normal(size=(5, 3))
    x[0, 0] = 0.25  # an exact tie for l1's |0| gradient
    y = rng.normal(size=(5, 3))
    y[0, 0] = 0.25
    a, ta = _both(x, dtype)
    ours = getattr(F, name)(a, y.astype(dtype), reduction=reduction)
    theirs = getattr(TF, name)(ta, torch.tensor(y.astype(dtype)), reduction=reduction)
    _check(ours, theirs, [(a, ta)], tol)
    module = {"mse_loss": nn.MSELoss, "l1_loss": nn.L1Loss}[name](reduction=reduction)
    np.testing.assert_allclose(module(a, y.astype(dtype)).data, ours.data, rtol=tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_losses(rng, reduction, dtype, tol):
    x, y, w = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.uniform(size=(4, 3))
    for name in ("mse_loss", "l1_loss"):
        a, ta = _both(x, dtype)
        ours = getattr(F, name)(a, y.astype(dtype), reduction=reduction, weight=w.astype(dtype))
        theirs = getattr(TF, name)(ta, torch.tensor(y.astype(dtype)), reduction=reduction,
                                   weight=torch.tensor(w.astype(dtype)))
        _check(ours, theirs, [(a, ta)], tol)


@pytest.mark.parametrize("loss", [F.l1_loss, F.binary_cross_entropy,
                                  F.binary_cross_entropy_with_logits])
def test_losses_refuse_silent_broadcast(loss):
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        loss(Tensor(np.full((4, 1), 0.5)), np.full(4, 0.5))


CE_CASES = [
    dict(),
    dict(label_smoothing=0.2),
    dict(ignore_index=2),
    dict(ignore_index=2, label_smoothing=0.1),
    dict(weight=True),
    dict(weight=True, label_smoothing=0.3),
    dict(weight=True, ignore_index=1, label_smoothing=0.15),
]


def _ce_args(kw, dtype, n_classes):
    kw = dict(kw)
    if kw.pop("weight", False):
        w = np.linspace(0.5, 2.0, n_classes).astype(dtype)
        return {**kw, "weight": w}, {**kw, "weight": torch.tensor(w)}
    return kw, kw


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", CE_CASES)
def test_cross_entropy_class_indices(rng, kw, reduction, dtype, tol):
    logits = rng.normal(size=(7, 4)) * 2
    target = np.array([0, 2, 1, 3, 2, 1, 0])
    ours_kw, torch_kw = _ce_args(kw, dtype, 4)
    a, ta = _both(logits, dtype)
    ours = F.cross_entropy(a, target, reduction=reduction, **ours_kw)
    theirs = TF.cross_entropy(ta, torch.tensor(target), reduction=reduction, **torch_kw)
    _check(ours, theirs, [(a, ta)], tol)
    b, tb = _both(logits, dtype)
    mod = nn.CrossEntropyLoss(reduction=reduction, **ours_kw)(b, target)
    np.testing.assert_allclose(mod.data, ours.data, rtol=tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [dict(), dict(label_smoothing=0.25), dict(weight=True),
                                dict(weight=True, label_smoothing=0.1)])
def test_cross_entropy_class_probabilities(rng, kw, reduction, dtype, tol):
    logits = rng.normal(size=(6, 5))
    probs = rng.dirichlet(np.ones(5), size=6)
    ours_kw, torch_kw = _ce_args(kw, dtype, 5)
    a, ta = _both(logits, dtype)
    ours = F.cross_entropy(a, probs.astype(dtype), reduction=reduction, **ours_kw)
    theirs = TF.cross_entropy(ta, torch.tensor(probs.astype(dtype)), reduction=reduction,
                              **torch_kw)
    _check(ours, theirs, [(a, ta)], tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_higher_dims_and_one_sample(rng, reduction, dtype, tol):
    logits = rng.normal(size=(3, 4, 2, 5))
    target = rng.integers(0, 4, size=(3, 2, 5))
    target[0, 0, 0] = -100
    a, ta = _both(logits, dtype)
    ours = F.cross_entropy(a, target, reduction=reduction, label_smoothing=0.1)
    theirs = TF.cross_entropy(ta, torch.tensor(target), reduction=reduction,
                              label_smoothing=0.1)
    _check(ours, theirs, [(a, ta)], tol)
    a, ta = _both(logits[0, :, 0, 0], dtype)
    ours = F.cross_entropy(a, 2, reduction=reduction)
    theirs = TF.cross_entropy(ta, torch.tensor(2), reduction=reduction)
    _check(ours, theirs, [(a, ta)], tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [dict(), dict(ignore_index=0), dict(weight=True),
                                dict(weight=True, ignore_index=3)])
def test_nll_loss(rng, kw, reduction, dtype, tol):
    logp = np.log(rng.dirichlet(np.ones(4), size=6))
    target = np.array([0, 3, 3, 1, 2, 0])
    ours_kw, torch_kw = _ce_args(kw, dtype, 4)
    a, ta = _both(logp, dtype)
    ours = F.nll_loss(a, target, reduction=reduction, **ours_kw)
    theirs = TF.nll_loss(ta, torch.tensor(target), reduction=reduction, **torch_kw)
    _check(ours, theirs, [(a, ta)], tol)
    mod = nn.NLLLoss(reduction=reduction, **ours_kw)(Tensor(logp, dtype=dtype), target)
    np.testing.assert_allclose(mod.data, ours.data, rtol=tol)


def test_cross_entropy_errors_and_integer_tensor_targets(rng):
    logits = Tensor(rng.normal(size=(3, 4)))
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="out of range"):
        F.cross_entropy(logits, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match="3 rows"):
        F.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(logits, np.array([0, 1, 1]), label_smoothing=1.5)
    t = tg.tensor([0, 1, 3])
    assert t.dtype == np.int64
    np.testing.assert_allclose(F.cross_entropy(logits, t).data,
                               F.cross_entropy(logits, [0, 1, 3]).data)
    assert np.isnan(F.cross_entropy(logits, np.full(3, -100)).item())  # as torch: 0/0


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(rng, reduction, weighted, dtype, tol):
    p = rng.uniform(0.02, 0.98, size=(5, 3))
    p[0, :] = [0.0, 1.0, 1e-50]  # clamped logs (−100), as torch
    t = rng.uniform(size=(5, 3))
    t[0, :] = [0.0, 1.0, 0.0]
    w = rng.uniform(size=(3,)).astype(dtype)
    a, ta = _both(p, dtype)
    ours = F.binary_cross_entropy(a, t.astype(dtype), weight=w if weighted else None,
                                  reduction=reduction)
    theirs = TF.binary_cross_entropy(ta, torch.tensor(t.astype(dtype)),
                                     weight=torch.tensor(w) if weighted else None,
                                     reduction=reduction)
    _check(ours, theirs, [(a, ta)], tol * 10)
    mod = nn.BCELoss(weight=w if weighted else None, reduction=reduction)
    np.testing.assert_allclose(mod(Tensor(p, dtype=dtype), t.astype(dtype)).data, ours.data,
                               rtol=tol)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(Tensor([1.5]), np.array([1.0]))


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [dict(), dict(pos_weight=True), dict(weight=True),
                                dict(weight=True, pos_weight=True)])
def test_bce_with_logits(rng, kw, reduction, dtype, tol):
    x = rng.normal(size=(6, 3)) * 4
    x[0, :] = [0.0, 120.0, -120.0]  # the zero logit and the stable extremes
    t = rng.uniform(size=(6, 3))
    t[0, :] = [1.0, 0.0, 1.0]
    ours_kw, torch_kw = {}, {}
    if kw.get("weight"):
        w = rng.uniform(size=(6, 1)).astype(dtype)
        ours_kw["weight"], torch_kw["weight"] = w, torch.tensor(w)
    if kw.get("pos_weight"):
        pw = np.array([0.5, 2.0, 3.0], dtype=dtype)
        ours_kw["pos_weight"], torch_kw["pos_weight"] = pw, torch.tensor(pw)
    a, ta = _both(x, dtype)
    ours = F.binary_cross_entropy_with_logits(a, t.astype(dtype), reduction=reduction,
                                              **ours_kw)
    theirs = TF.binary_cross_entropy_with_logits(ta, torch.tensor(t.astype(dtype)),
                                                 reduction=reduction, **torch_kw)
    _check(ours, theirs, [(a, ta)], tol)
    mod = nn.BCEWithLogitsLoss(reduction=reduction, **ours_kw)
    np.testing.assert_allclose(mod(Tensor(x, dtype=dtype), t.astype(dtype)).data, ours.data,
                               rtol=tol)


def test_new_ops_pass_gradcheck(rng):
    x = Tensor(rng.normal(size=(3, 4)) * 5, requires_grad=True, dtype=np.float64)
    assert tg.gradcheck(F.logsigmoid, [x])
    p = Tensor(rng.uniform(0.05, 0.95, size=(3, 4)), requires_grad=True, dtype=np.float64)
    t = rng.uniform(size=(3, 4))
    assert tg.gradcheck(lambda z: F.binary_cross_entropy(z, t, reduction="none"), [p])
    assert F.logsigmoid(Tensor([-1000.0, 1000.0])).tolist() == [-1000.0, 0.0]


def test_loss_modules_defaults_and_legacy_flags():
    import inspect

    for name in ("MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
                 "BCEWithLogitsLoss"):
        ours = list(inspect.signature(getattr(nn, name)).parameters.items())
        theirs = list(inspect.signature(getattr(torch.nn, name)).parameters.items())
        assert [(k, v.default) for k, v in ours] == [(k, v.default) for k, v in theirs], name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nn.MSELoss(size_average=False).reduction == "sum"
        assert nn.MSELoss(reduce=False).reduction == "none"
    with pytest.raises(ValueError, match="reduction"):
        nn.L1Loss(reduction="avg")


# ------------------------------------------------------------------------- layers


@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_activation_layers(rng, dtype, tol):
    x = rng.normal(size=(4, 5))
    x[0, 0] = 0.0
    cases = [(nn.LeakyReLU(), torch.nn.LeakyReLU()),
             (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
             (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
             (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
             (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1)),
             (nn.Flatten(0), torch.nn.Flatten(0)), (nn.Identity(3, k=1), torch.nn.Identity())]
    for ours_m, torch_m in cases:
        a, ta = _both(x, dtype)
        _check(ours_m(a), torch_m(ta), [(a, ta)], tol)
    a, ta = _both(x, dtype)
    _check(F.leaky_relu(a, 0.3), TF.leaky_relu(ta, 0.3), [(a, ta)], tol)
    a, ta = _both(x, dtype)
    _check(F.logsigmoid(a * 30), TF.logsigmoid(ta * 30), [(a, ta)], tol)


def test_softmax_without_dim_warns_and_picks_like_torch(rng):
    x = rng.normal(size=(2, 3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = nn.Softmax()(Tensor(x, dtype=np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.Softmax()(torch.tensor(x))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)


def test_flatten_like_torch(rng):
    x = rng.normal(size=(2, 3, 4, 5))
    for args in [(), (0,), (1, 2), (2, -1), (0, -2), (3, 3)]:
        ours = nn.Flatten(*args)(Tensor(x))
        assert ours.shape == tuple(torch.nn.Flatten(*args)(torch.tensor(x)).shape), args
    with pytest.raises(IndexError):
        nn.Flatten(5)(Tensor(x))


def test_dropout_train_eval_and_seed():
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    drop = nn.Dropout(0.3)
    tg.manual_seed(4)
    y = drop(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.7)
    tg.manual_seed(4)
    np.testing.assert_array_equal(drop(x).data, y.data)  # manual_seed repeats the mask
    drop.eval()
    assert drop(x) is x
    assert repr(drop) == repr(torch.nn.Dropout(0.3))
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, 0)
    assert nn.Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    gen = np.random.default_rng(1)
    a = F.dropout(x, 0.5, generator=gen).data
    b = F.dropout(x, 0.5, generator=np.random.default_rng(1)).data
    np.testing.assert_array_equal(a, b)


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 3), nn.ReLU()])
    layers.append(nn.Linear(3, 1))
    layers += [nn.Sigmoid()]
    assert len(layers) == 4 and isinstance(layers[-1], nn.Sigmoid)
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                         "2.bias"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    layers.insert(0, nn.Identity())
    assert [n for n, _ in layers.named_parameters()][0] == "1.weight"
    del layers[0]
    assert [n for n, _ in layers.named_parameters()][0] == "0.weight"
    layers[1] = nn.Tanh()
    assert isinstance(layers[1], nn.Tanh)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))

        def forward(self, x):
            for b in self.blocks:
                x = b(x).relu()
            return x

    net = Net()
    assert len(list(net.parameters())) == 6 and "blocks.2.bias" in net.state_dict()
    assert net(Tensor(np.ones((2, 4)))).shape == (2, 4)
    with pytest.raises(TypeError):
        layers.append("relu")
    ours = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)] + [nn.ReLU(), nn.ReLU(),
                                                                  nn.Linear(1, 1)])
    theirs = torch.nn.ModuleList([torch.nn.Linear(4, 4) for _ in range(3)]
                                 + [torch.nn.ReLU(), torch.nn.ReLU(), torch.nn.Linear(1, 1)])
    assert repr(ours) == repr(theirs) and repr(nn.ModuleList()) == "ModuleList()"
    for name in ("MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss"):
        assert repr(getattr(nn, name)(reduction="sum")) == repr(
            getattr(torch.nn, name)(reduction="sum"))
    for name, args in [("Softmax", (1,)), ("LeakyReLU", (0.2,)), ("Flatten", ()),
                       ("Identity", ()), ("LogSoftmax", (0,)), ("ReLU", ())]:
        assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    with pytest.raises(IndexError):
        layers[10]
    with pytest.raises(NotImplementedError):
        layers(Tensor([1.0]))


# ------------------------------------------------------------------------- Module helpers


def test_apply_to_double_float_requires_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Linear", "Sequential"]  # children first, as torch
    w = model[0].weight
    v = w._version
    assert model.to(np.float64) is model
    assert all(p.dtype == np.float64 for p in model.parameters()) and w._version > v
    assert model(Tensor(np.ones((1, 3)), dtype=np.float64)).dtype == np.float64
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    model.to("cpu")
    model.to("cpu", np.float32)
    assert model[0].weight.dtype == np.float32
    model.to(dtype="float64")
    assert model[0].weight.dtype == np.float64
    with pytest.raises(RuntimeError, match="cuda"):
        model.to("cuda")
    with pytest.raises(TypeError, match="floating"):
        model.to(np.int64)
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def test_load_state_dict_checks_everything_before_changing_anything():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    bad = {k: np.full_like(v, 7.0) for k, v in before.items()}
    bad["1.bias"] = np.array(["a", "b"])  # a bad dtype on a later key
    with pytest.raises(TypeError, match="1.bias"):
        model.load_state_dict(bad)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    good = {k: np.full_like(v, 7.0) for k, v in before.items()}
    v = model[0].weight._version
    model.load_state_dict(good)
    assert model[0].weight._version == v + 1 and np.all(model[0].weight.data == 7)


# ------------------------------------------------------------------------- init and clipping


def test_init_rules_statistics_and_gain():
    tg.manual_seed(0)
    w = nn.Parameter(np.zeros((400, 300)))
    fan_in, fan_out = 300, 400
    cases = [
        (nn.init.xavier_uniform_, {}, math.sqrt(6 / (fan_in + fan_out)) / math.sqrt(3)),
        (nn.init.xavier_normal_, {"gain": 2.0}, 2 * math.sqrt(2 / (fan_in + fan_out))),
        (nn.init.kaiming_uniform_, {}, math.sqrt(2 / fan_in)),
        (nn.init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"},
         math.sqrt(2 / fan_out)),
        (nn.init.kaiming_uniform_, {"a": math.sqrt(5)}, math.sqrt(2 / 6) / math.sqrt(fan_in)),
        (nn.init.normal_, {"std": 0.3}, 0.3),
    ]
    for fn, kw, std in cases:
        assert fn(w, **kw) is w
        assert abs(w.data.std() - std) / std < 0.02, fn.__name__
    nn.init.uniform_(w, -2, 1)
    assert w.data.min() >= -2 and w.data.max() < 1
    nn.init.ones_(w)
    assert np.all(w.data == 1)
    nn.init.constant_(w, 0.5)
    assert np.all(w.data == 0.5) and w.requires_grad and w.is_leaf
    for name in ("linear", "sigmoid", "tanh", "relu", "selu", "conv2d"):
        assert nn.init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", 0.2))
    with pytest.raises(ValueError, match="fewer than 2"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3)))
    a = nn.init.normal_(nn.Parameter(np.zeros(5)), generator=np.random.default_rng(3)).data
    b = nn.init.normal_(nn.Parameter(np.zeros(5)), generator=np.random.default_rng(3)).data
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_clip_grad_norm_like_torch(rng, norm_type, max_norm, dtype, tol):
    grads = [rng.normal(size=(3, 4)), rng.normal(size=(5,)), rng.normal(size=(2, 2))]
    ours = [nn.Parameter(np.zeros(g.shape), dtype=dtype) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64 if dtype == np.float64
                                             else torch.float32)) for g in grads]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad = Tensor(g, dtype=dtype)
        tp.grad = torch.tensor(g.astype(dtype))
    total = nn.utils.clip_grad_norm_(ours + [nn.Parameter(np.zeros(2))], max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    np.testing.assert_allclose(total.data, ttotal.numpy(), rtol=tol * 5)
    assert isinstance(total, Tensor) and total.shape == ()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=tol * 5, atol=tol)


def test_clip_grad_value_and_nonfinite():
    p = nn.Parameter(np.zeros(4))
    p.grad = Tensor(np.array([-3.0, -0.5, 0.2, 9.0]))
    assert nn.utils.clip_grad_value_([p], 1.0) is None
    np.testing.assert_array_equal(p.grad.data, [-1, -0.5, 0.2, 1])
    p.grad = Tensor(np.array([np.inf, 1.0, 0.0, 0.0]))
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
