"""Optimizer trajectories and scheduler learning rates against torch.optim itself."""

import math

import numpy as np
import pytest

from tinygrad_nn import Tensor, nn, optim
from tinygrad_nn.optim import lr_scheduler as L

torch = pytest.importorskip("torch")


def field(w):
    """A non-trivial, deterministic gradient field (NumPy or torch arrays)."""
    lib = np if isinstance(w, np.ndarray) else torch
    c = np.linspace(-1, 1, w.size if lib is np else w.numel()).reshape(tuple(w.shape))
    c = c if lib is np else torch.tensor(c, dtype=w.dtype)
    return (w - c) ** 3 + lib.sin(w) + w * lib.cos(w)


OPT_CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.002, momentum=0.5, dampening=0.3, weight_decay=0.01, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.3, 0.6), amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, betas=(0.85, 0.95), weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.8)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5)),
    ("RMSprop", dict(lr=0.005, alpha=0.6, centered=True)),
]


def _run_ours(name, kw, w0, steps):
    p = nn.Parameter(w0.copy(), dtype=w0.dtype)
    opt = getattr(optim, name)([p], **kw)
    out = []
    for _ in range(steps):
        p.grad = Tensor(field(p.data), dtype=w0.dtype)
        opt.step()
        out.append(p.data.copy())
    return out, opt


def _run_torch(name, kw, w0, steps):
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = getattr(torch.optim, name)([p], **kw)
    out = []
    for _ in range(steps):
        p.grad = field(p.detach()).clone()
        opt.step()
        out.append(p.detach().numpy().copy())
    return out, opt


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("name, kw", OPT_CASES)
def test_trajectory_equals_torch(name, kw, dtype, tol):
    w0 = np.linspace(-1.5, 2.0, 12).reshape(3, 4).astype(dtype)
    ours, opt = _run_ours(name, kw, w0, 40)
    theirs, topt = _run_torch(name, kw, w0, 40)
    for a, b in zip(ours, theirs):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    # the state has torch's names and values
    assert set(opt.state_dict()["state"]) == set(topt.state_dict()["state"])
    if not topt.state_dict()["state"]:
        return
    ts = topt.state_dict()["state"][0]
    os_ = opt.state_dict()["state"][0]
    assert set(os_) == set(ts)
    for k, v in ts.items():
        if k == "step":
            assert os_[k] == v.item()
        else:
            np.testing.assert_allclose(os_[k], v.numpy(), rtol=tol, atol=tol)


def test_defaults_match_torch():
    import inspect

    for name in ("SGD", "Adam", "AdamW", "RMSprop"):
        ours = inspect.signature(getattr(optim, name)).parameters
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        for k, v in ours.items():
            if k != "params":
                assert theirs[k].default == v.default, (name, k)
        positional = [k for k, v in theirs.items() if v.kind == v.POSITIONAL_OR_KEYWORD]
        assert [k for k, v in ours.items() if v.kind == v.POSITIONAL_OR_KEYWORD] == \
            positional[:len([1 for v in ours.values() if v.kind == v.POSITIONAL_OR_KEYWORD])]


def test_step_bumps_version_and_keeps_the_array():
    p = nn.Parameter(np.ones(3))
    arr = p.data
    opt = optim.AdamW([p])
    v = p._version
    p.grad = Tensor(np.ones(3))
    opt.step()
    assert p.data is arr and p._version == v + 1
    buf = opt.state[p]["exp_avg"]
    p.grad = Tensor(np.ones(3))
    opt.step()
    assert opt.state[p]["exp_avg"] is buf  # state buffers are allocated once


def test_update_reads_hyperparameters_from_the_group_each_call():
    p = nn.Parameter(np.zeros(2))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = Tensor(np.ones(2))
    opt.step()
    opt.param_groups[0]["lr"] = 1.0
    opt.param_groups[0]["momentum"] = 0.5
    opt.step()
    # buf = 1 then 0.5·1 + 1 = 1.5; w = −0.1 − 1.5
    np.testing.assert_allclose(p.data, [-1.6, -1.6])


def test_named_parameters_and_state_defaultdict_like_torch():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.named_parameters(), lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state[model.weight] == {}
    topt = torch.optim.SGD(torch.nn.Linear(2, 1).named_parameters(), lr=0.1)
    assert topt.param_groups[0]["param_names"] == ["weight", "bias"]


def test_zero_grad_sets_none_by_default():
    p = nn.Parameter(np.zeros(2))
    opt = optim.RMSprop([p])
    p.grad = Tensor(np.ones(2))
    opt.zero_grad()
    assert p.grad is None
    p.grad = Tensor(np.ones(2))
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.data, [0, 0])


def test_closure_is_called_and_returned():
    p = nn.Parameter(np.array([2.0]))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.data) == 4.0
    np.testing.assert_allclose(p.data, [1.6])


def test_load_state_dict_is_atomic():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.Adam([a, b], lr=0.1)
    for p in (a, b):
        p.grad = Tensor(np.ones(p.shape))
    opt.step()
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.5
    sd["state"][1]["exp_avg"] = np.zeros(7)  # wrong shape on the later parameter
    before = {k: v.copy() for k, v in opt.state[a].items() if isinstance(v, np.ndarray)}
    with pytest.raises(RuntimeError, match=r"state\[1\]\['exp_avg'\].*\(7,\)"):
        opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.1
    for k, v in before.items():
        np.testing.assert_array_equal(opt.state[a][k], v)


def test_state_dict_layout_like_torch():
    a, b, c = (nn.Parameter(np.ones(2)) for _ in range(3))
    opt = optim.SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    for p in (a, c):
        p.grad = Tensor(np.ones(2))
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sorted(sd["state"]) == [0, 2]
    assert sd["param_groups"][1]["lr"] == 0.5


# ------------------------------------------------------------------------- schedulers

SCHED_CASES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 25], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95**e + 0.01 * e)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.05, total_iters=17)),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=40)),
]


def _pair(name, kw, lrs=(0.1, 0.03)):
    a, b = nn.Parameter(np.zeros(1)), nn.Parameter(np.zeros(1))
    ta, tb = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = optim.SGD([{"params": [a], "lr": lrs[0]}, {"params": [b], "lr": lrs[1]}],
                    lr=lrs[0], momentum=0.9)
    topt = torch.optim.SGD([{"params": [ta], "lr": lrs[0]}, {"params": [tb], "lr": lrs[1]}],
                           lr=lrs[0], momentum=0.9)
    return (opt, getattr(L, name)(opt, **kw)), (topt, getattr(torch.optim.lr_scheduler,
                                                                 name)(topt, **kw))


@pytest.mark.parametrize("name, kw", SCHED_CASES)
def test_scheduler_rates_equal_torch_epoch_by_epoch(name, kw):
    (opt, s), (topt, ts) = _pair(name, kw)
    assert s.get_last_lr() == ts.get_last_lr()
    for _ in range(45):
        opt.step()
        topt.step()
        s.step()
        ts.step()
        assert s.last_epoch == ts.last_epoch
        np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=1e-15, atol=0)
        assert [g["lr"] for g in opt.param_groups] == s.get_last_lr()


def test_two_schedulers_on_one_optimizer_chain_like_torch():
    (opt, a), (topt, ta) = _pair("StepLR", dict(step_size=3, gamma=0.5))
    b = L.ExponentialLR(opt, 0.9)
    tb = torch.optim.lr_scheduler.ExponentialLR(topt, 0.9)
    c = L.CosineAnnealingLR(opt, T_max=5)
    tc = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=5)
    for _ in range(30):
        opt.step()
        topt.step()
        for s, ts in ((a, ta), (b, tb), (c, tc)):
            s.step()
            ts.step()
        np.testing.assert_allclose([g["lr"] for g in opt.param_groups],
                                   [g["lr"] for g in topt.param_groups], rtol=1e-13)


@pytest.mark.parametrize("name, kw", [c for c in SCHED_CASES if c[0] != "LambdaLR"])
def test_scheduler_state_dict_round_trip_continues(name, kw):
    (opt, s), _ = _pair(name, kw)
    for _ in range(12):
        s.step()
    (opt2, s2), _ = _pair(name, kw, lrs=(0.7, 0.7))
    opt2.load_state_dict(opt.state_dict())
    s2.load_state_dict(s.state_dict())
    for _ in range(20):
        s.step()
        s2.step()
        assert s2.get_last_lr() == s.get_last_lr()
        assert s2.last_epoch == s.last_epoch


def test_scheduler_state_dict_keys_like_torch():
    for name, kw in SCHED_CASES:
        (_, s), (_, ts) = _pair(name, kw)
        ours, theirs = set(s.state_dict()), set(ts.state_dict())
        assert {"base_lrs", "last_epoch", "_step_count", "_last_lr"} <= ours & theirs
        assert ours - {"_is_initial"} <= theirs, name


def test_closed_form_epoch_argument_warns_like_torch():
    (opt, s), (topt, ts) = _pair("StepLR", dict(step_size=3, gamma=0.5))
    with pytest.warns(UserWarning):
        s.step(7)
    with pytest.warns(UserWarning):
        ts.step(7)
    np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=1e-15)


def test_resuming_with_last_epoch_needs_initial_lr():
    p = nn.Parameter(np.zeros(1))
    with pytest.raises(KeyError, match="initial_lr"):
        L.StepLR(optim.SGD([p], lr=0.1), 3, last_epoch=4)


@pytest.mark.parametrize("kw", [
    dict(), dict(mode="max", factor=0.5, patience=2), dict(threshold=0.1, cooldown=2, patience=1),
    dict(threshold_mode="abs", threshold=0.05, patience=0, min_lr=0.004),
    dict(mode="max", threshold_mode="abs", threshold=0.01, patience=1, cooldown=1,
         min_lr=[0.01, 0.0], eps=1e-3),
])
def test_reduce_lr_on_plateau_equals_torch(kw):
    (opt, _), (topt, _) = _pair("StepLR", dict(step_size=1000))
    s = L.ReduceLROnPlateau(opt, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    metrics = [1.0, 0.9, 0.95, 0.9, 0.899, 0.91, 0.92, 0.5, 0.5, 0.6, 0.7, 0.49, 0.4] * 4
    for i, m in enumerate(metrics):
        m = m + 0.001 * math.sin(i)
        s.step(m)
        ts.step(m)
        np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=1e-15)
        assert (s.num_bad_epochs, s.cooldown_counter, s.best) == (
            ts.num_bad_epochs, ts.cooldown_counter, ts.best)
    sd = s.state_dict()
    s2 = L.ReduceLROnPlateau(optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0))
    s2.load_state_dict(sd)
    assert s2.best == s.best and s2.mode == s.mode


def test_bad_scheduler_arguments():
    p = nn.Parameter(np.zeros(1))
    with pytest.raises(TypeError, match="not an Optimizer"):
        L.StepLR(object(), 3)
    with pytest.raises(ValueError, match="Factor"):
        L.ReduceLROnPlateau(optim.SGD([p], lr=0.1), factor=1.0)
    with pytest.raises(ValueError, match="Starting"):
        L.LinearLR(optim.SGD([p], lr=0.1), start_factor=0)
    with pytest.raises(ValueError, match="unknown"):
        L.ReduceLROnPlateau(optim.SGD([p], lr=0.1), mode="up")
