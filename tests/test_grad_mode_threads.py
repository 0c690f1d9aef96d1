"""Grad mode is per thread, as in PyTorch: one thread's no_grad (an evaluation loop) must
not switch recording off in another thread that trains."""

import threading

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import nn, optim


def _train(steps, flags, errors):
    try:
        rng = np.random.default_rng(1)
        x = tg.tensor(rng.normal(size=(16, 4)).astype(np.float32))
        y = tg.tensor(rng.normal(size=(16, 1)).astype(np.float32))
        model = nn.Linear(4, 1)
        opt = optim.SGD(model.parameters(), lr=0.05)
        for _ in range(steps):
            loss = ((model(x) - y) ** 2).mean()
            flags.append(loss.requires_grad and tg.is_grad_enabled())
            opt.zero_grad()
            loss.backward()
            opt.step()
    except Exception as e:  # reported by the main thread
        errors.append(e)


def _evaluate(stop, errors, seen):
    try:
        model = nn.Linear(4, 1)
        x = tg.randn(8, 4)
        while not stop.is_set():
            with tg.no_grad():
                out = model(x).sigmoid().sum()
                seen.append(out.requires_grad or tg.is_grad_enabled())
    except Exception as e:
        errors.append(e)


def test_no_grad_in_one_thread_does_not_stop_training_in_another():
    stop, errors, flags, seen = threading.Event(), [], [], []
    trainers = [threading.Thread(target=_train, args=(500, flags, errors)) for _ in range(2)]
    evaluator = threading.Thread(target=_evaluate, args=(stop, errors, seen))
    evaluator.start()
    for t in trainers:
        t.start()
    for t in trainers:
        t.join()
    stop.set()
    evaluator.join()
    assert not errors, errors
    assert len(flags) == 1000 and all(flags), f"{flags.count(False)} of 1000 steps not recorded"
    assert seen and not any(seen), "no_grad stopped being in force in the evaluating thread"


def test_a_thread_held_inside_no_grad_for_the_whole_run():
    inside, done, errors, flags = threading.Event(), threading.Event(), [], []

    def hold():
        with tg.no_grad():
            inside.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(30)
    _train(50, flags, errors)
    done.set()
    holder.join()
    assert not errors and len(flags) == 50 and all(flags)
    assert tg.is_grad_enabled()


def test_new_threads_start_with_grad_enabled_even_if_the_parent_is_in_no_grad():
    seen = []
    with tg.no_grad():
        th = threading.Thread(target=lambda: seen.append(tg.is_grad_enabled()))
        th.start()
        th.join()
        assert not tg.is_grad_enabled()
    assert seen == [True]


def test_enable_grad_in_a_thread_does_not_leak_into_the_main_no_grad():
    with tg.no_grad():
        th = threading.Thread(target=lambda: tg.enable_grad().__enter__())
        th.start()
        th.join()
        assert not tg.is_grad_enabled()
        assert not (tg.tensor([1.0], requires_grad=True) * 2).requires_grad
    assert tg.is_grad_enabled()
