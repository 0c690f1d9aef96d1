"""Replays that once differed from eager without an error (found by a review of the
generated entry): a parameter's array swapped away and back, a weight BLAS cannot
update in place, another thread's compiled step during a trace, add_param_group."""

import threading
import time

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.nn import functional as F


def test_a_parameter_array_swapped_away_and_back_is_the_one_trained():
    def run(compiled):
        tg.manual_seed(0)
        lin = nn.Linear(4, 2, bias=False)
        opt = optim.SGD(lin.parameters(), lr=0.5, momentum=0.9)

        def step(x):
            loss = F.mse_loss(lin(x), tg.zeros(1, 2))
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        f = tg.compile(step) if compiled else step
        a = lin.weight.data
        b = a.copy()
        x = tg.Tensor(np.ones((1, 4), np.float32))
        losses = []
        for i in range(5):
            if i == 1:
                lin.weight.data = b
            if i == 2:
                lin.weight.data = a  # the first array again: the plan must follow
            losses.append(float(f(x).data))
        return losses, a.copy(), b.copy()

    (le, ae, be), (lc, ac, bc) = run(False), run(True)
    np.testing.assert_allclose(lc, le, rtol=1e-6)
    np.testing.assert_allclose(ac, ae, rtol=1e-6)
    np.testing.assert_allclose(bc, be, rtol=1e-6)


@pytest.mark.parametrize("batch", [1, 5])
def test_a_weight_blas_cannot_update_in_place_still_trains(batch):
    """A Fortran-ordered (or strided) weight: the fused BLAS update would write into a
    copy, so the plan takes the optimizer's own update instead."""
    def run(compiled):
        tg.manual_seed(0)
        lin = nn.Linear(4, 3, bias=False)
        lin.weight.data = np.asfortranarray(lin.weight.data)
        opt = optim.SGD(lin.parameters(), lr=0.01)

        def step(x):
            loss = F.mse_loss(lin(x), tg.zeros(batch, 3))
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        f = tg.compile(step) if compiled else step
        x = tg.Tensor(np.arange(1, 4 * batch + 1, dtype=np.float32).reshape(batch, 4))
        losses = [float(f(x).data) for _ in range(5)]
        lin.weight.data = lin.weight.data[:, ::-1]  # a strided view: the plan rebinds
        losses += [float(f(x).data) for _ in range(3)]
        return losses, lin.weight.data

    (le, we), (lc, wc) = run(False), run(True)
    np.testing.assert_allclose(lc, le, rtol=1e-5)
    np.testing.assert_allclose(wc, we, rtol=1e-5)


def test_another_threads_compiled_step_is_not_part_of_a_trace():
    tg.manual_seed(0)
    m_a, m_b = nn.Linear(2, 1), nn.Linear(2, 1)
    o_b = optim.SGD(m_b.parameters(), lr=0.1)
    x = tg.Tensor(np.ones((1, 2), np.float32))

    @tg.compile
    def step_b(x):
        loss = (m_b(x) ** 2).sum()
        o_b.zero_grad()
        loss.backward()
        o_b.step()
        return loss

    step_b(x)
    step_b(x)
    started = threading.Event()

    @tg.compile
    def predict_a(x):
        y = m_a(x)
        started.set()
        time.sleep(0.3)  # B steps meanwhile, in the main thread
        return y * 2

    errors = []

    def trace_a():
        try:
            predict_a(x)
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    t = threading.Thread(target=trace_a)
    t.start()
    started.wait()
    step_b(x)
    t.join()
    assert not errors, errors
    w = m_b.weight.data.copy()
    for _ in range(5):  # inference only: must not train m_b
        out = predict_a(x)
    np.testing.assert_array_equal(m_b.weight.data, w)
    np.testing.assert_allclose(out.data, (m_a(x) * 2).data, rtol=1e-6)


def test_add_param_group_makes_the_step_retrace():
    def run(compiled, momentum):
        tg.manual_seed(0)
        l1, l2 = nn.Linear(3, 3), nn.Linear(3, 2)
        model = nn.Sequential(l1, nn.Tanh(), l2)
        opt = optim.SGD(l1.parameters(), lr=0.1, momentum=momentum)

        def step(x, t):
            loss = F.mse_loss(model(x), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        f = tg.compile(step) if compiled else step
        x, t = tg.Tensor(np.ones((2, 3), np.float32)), tg.Tensor(np.zeros((2, 2), np.float32))
        out = []
        for i in range(6):
            if i == 3:
                opt.add_param_group({"params": list(l2.parameters())})
            out.append(float(f(x, t).data))
        return out, l2.weight.grad.data, l2.weight.data

    for momentum in (0.0, 0.9):
        (le, ge, we), (lc, gc, wc) = run(False, momentum), run(True, momentum)
        np.testing.assert_allclose(lc, le, rtol=1e-6)
        np.testing.assert_allclose(gc, ge, rtol=1e-6)
        np.testing.assert_allclose(wc, we, rtol=1e-6)
