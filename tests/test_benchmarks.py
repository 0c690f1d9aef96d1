"""The benchmark code works and its correctness check catches a wrong row.

These assert correctness only (every row ends where its reference does), never timing:
the machine is shared and its speed swings.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")

pytest.importorskip("scipy")  # book_numpy (the text's expit) and numpy_fused need it


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp("bench") / "report.md"
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, os.path.join(BENCH, "run.py"), "--quick", "--out",
                           str(out)], capture_output=True, text=True, env=env, timeout=300)
    return proc, out


def _row(text: str, name: str) -> list:
    """The cells of every table line for `name`."""
    return [line.split(" | ") for line in text.splitlines() if line.startswith(f"| {name} |")]


def test_quick_run_is_correct(report):
    proc, out = report
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "WRONG" not in proc.stdout
    assert out.read_text().strip() in proc.stdout  # --out writes the printed report
    names = ["book_numpy", "true_numpy", "numpy_fused", "tinygrad_nn"]
    try:
        import torch  # noqa: F401

        names.append("torch")
    except ImportError:
        pass
    for name in names:
        cells = _row(proc.stdout, name)
        checked = [c for c in cells if c[-1].startswith("ok (")]
        # every row runs in A, S, B and C, but the text's code only in A and S
        assert len(checked) == (2 if name == "book_numpy" else 4), (name, cells)


def test_quick_run_reports_machine_and_pending_rows(report):
    proc, _ = report
    assert "- machine: " in proc.stdout and "- date: " in proc.stdout
    assert "threads: 1" in proc.stdout
    import tinygrad_nn

    if not hasattr(tinygrad_nn, "compile"):
        assert "pending: tinygrad_nn has no compile yet" in proc.stdout


@pytest.fixture(scope="module")
def bench_modules():
    sys.path.insert(0, BENCH)
    try:
        import chain
        import harness
        import train_speed

        yield harness, train_speed, chain
    finally:
        sys.path.remove(BENCH)


def _trained(row_class, w0, X, T, batch):
    row = row_class(w0, X, T, batch)
    row.reset()
    row.run(0, row.size)
    return row.result()


@pytest.mark.parametrize("batch", [1, 8])
def test_fused_and_eager_rows_match_true_gradient(bench_modules, batch):
    harness, ts, _ = bench_modules
    X, T = ts.make_data(64, 20, 3)
    w0 = ts.init_weights(20, 6, 3)
    ref = _trained(ts.TrueNumpy, w0, X, T, batch)
    for cls in (ts.NumpyFused, ts.TinygradNN):
        assert harness.difference(_trained(cls, w0, X, T, batch), ref, w0) < 1e-4, cls


def test_check_catches_a_wrong_gradient_and_a_missing_step(bench_modules):
    harness, ts, _ = bench_modules
    X, T = ts.make_data(200, 20, 3)
    w0 = ts.init_weights(20, 6, 3)
    ref = _trained(ts.TrueNumpy, w0, X, T, 1)
    book = _trained(ts.BookNumpy, w0, X, T, 1)  # the text's hidden-layer shortcut
    assert harness.difference(book, ref, w0) > harness.TOLERANCE
    assert harness.difference(book, ts.book_network(w0, X, T), w0) < 1e-4
    one_short = _trained(ts.TrueNumpy, w0, X[:-1], T[:-1], 1)
    assert harness.difference(one_short, ref, w0) > harness.TOLERANCE
    assert harness.difference(ref, ref, w0) == 0.0


def test_memory_of_fused_step_is_small(bench_modules):
    _, ts, _ = bench_modules
    mem = ts.memory(20)["memory"]
    assert mem["numpy_fused"][0] < 8 * 1024  # preallocated: a step allocates ~nothing
    assert mem["book_numpy"][0] > 2 * 784 * 100 * 4  # two W-sized temporaries at once


def test_compiled_rows_match_eager(bench_modules, monkeypatch):
    """The compiled rows run the eager step through `tg.compile` (an identity stand-in
    until it exists) and must end where eager does."""
    harness, ts, chain = bench_modules
    import tinygrad_nn

    if not hasattr(tinygrad_nn, "compile"):
        monkeypatch.setattr(tinygrad_nn, "compile", lambda fn: fn, raising=False)
    X, T = ts.make_data(64, 20, 3)
    w0 = ts.init_weights(20, 6, 3)
    for batch in (1, 8):
        eager = _trained(ts.TinygradNN, w0, X, T, batch)
        row = ts.TinygradNN(w0, X, T, batch, compiled=True)
        row.reset()
        row.run(0, row.size)
        assert harness.difference(row.result(), eager, w0) < 1e-5
    x0 = np.random.default_rng(0).standard_normal(chain.SIZE).astype(np.float32)
    row = chain.TinygradNN(x0, 3, compiled=True)
    row.run(0, 3)
    np.testing.assert_allclose(row.result()[0], chain.TrueNumpy.grad(x0), rtol=1e-5)
