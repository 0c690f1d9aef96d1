"""What every workload shares: one thread, the machine header, interleaved timing, the
correctness check and the markdown table.

Import this module before NumPy: it pins every thread pool to one thread through the
environment, which BLAS reads when it loads (imported later, as by a test, it leaves the
environment alone). `pin_threads` then pins them again through threadpoolctl.
"""

from __future__ import annotations

import os
import sys

if "numpy" not in sys.modules:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"
    # jax's CPU backend runs its own thread pool; one thread, like every other row.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false"
                               " intra_op_parallelism_threads=1").strip()

import datetime  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

try:
    import threadpoolctl
except ImportError:
    threadpoolctl = None


def pin_threads() -> None:
    """One thread for every BLAS and OpenMP pool loaded so far (and torch's)."""
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(1)


ROWS = ("book_numpy", "true_numpy", "numpy_fused", "torch", "torch.compile", "jax.jit",
        "plain_engine", "tinygrad_nn", "tinygrad_nn compiled")  # every table's order


class Skip(Exception):
    """A row that cannot run here (a library missing, no `compile` yet): its reason is
    printed in the table instead of a figure."""


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return "not installed"


def machine() -> str:
    """lscpu's model name and the number of cores."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines()
                     if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores"


def blas_lines() -> list[str]:
    """Which BLAS each library loaded, which kernel it runs and on how many threads."""
    env = ", ".join(f"{v}={os.environ.get(v, '(unset)')}"
                    for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    if threadpoolctl is None:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return [f"- BLAS: numpy uses {blas.get('name')} {blas.get('version')} (threadpoolctl "
                f"not installed: kernel and threads unknown); {env}"]
    lines = []
    for lib in threadpoolctl.threadpool_info():
        # .../site-packages/numpy.libs/libscipy_openblas64_.so belongs to numpy
        owner = lib["filepath"].split("site-packages/")[-1].split("/")[0].removesuffix(".libs")
        name = " ".join(filter(None, (lib["prefix"], lib["version"], lib.get("architecture")
                                      and f"kernel {lib['architecture']}")))
        lines.append(f"- {lib['user_api']} of {owner}: {name}, {lib['num_threads']} thread(s)")
    return lines + [f"- {env}"]


def header() -> str:
    """Date, machine, versions, threads and BLAS: what a figure below depends on."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = ", ".join(f"{m} {_version(m)}" for m in
                         ("numpy", "scipy", "torch", "jax", "tinygrad_nn"))
    threads = ", ".join(f"{v}={os.environ.get(v)}" for v in
                        ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    return "\n".join([f"- date: {now}", f"- machine: {machine()}",
                      f"- Python {platform.python_version()}, {versions}",
                      f"- threads: 1 ({threads}; torch.set_num_threads(1); jax: one "
                      f"Eigen thread)", *blas_lines()])


def import_torch():
    """torch on one thread, or Skip."""
    try:
        import torch
    except ImportError:
        raise Skip("torch is not installed") from None
    torch.set_num_threads(1)
    pin_threads()  # torch brings its own OpenMP
    return torch


def import_jax():
    """jax, or Skip: it is not installed by the project (see benchmarks/README.md)."""
    try:
        import jax
        import jax.numpy  # noqa: F401 - jax.numpy is used as an attribute
    except ImportError:
        raise Skip("jax is not installed (see benchmarks/README.md)") from None
    return jax


class Row:
    """One implementation of a workload. It is built once (compiling, if it compiles,
    happens there or in the untimed warm-up), `reset` before every round, then
    `run(lo, hi)` does units lo..hi of the round's `size` units (samples, or chains),
    timed, in steps of `unit`; its `result` (final weights, or a gradient) is checked
    against a reference."""

    size: int
    unit: int

    def reset(self) -> None:
        pass

    def run(self, lo: int, hi: int) -> None:
        raise NotImplementedError

    def result(self) -> list[np.ndarray]:
        raise NotImplementedError


# The process's CPU time: with six people's work on two cores, the time other processes
# hold a core is not this row's (run.py --wall times by the clock instead).
TIMER = time.process_time
SELECTED: set | None = None  # run.py --rows: build only these (and the reference)


def build(factories: dict[str, Callable[[], Row]]) -> tuple[dict[str, Row], dict[str, str]]:
    """Build every row (or the SELECTED ones); a row that raises Skip is left out with its
    reason."""
    rows, skipped = {}, {}
    for name, make in factories.items():
        if SELECTED is not None and name not in SELECTED | {"true_numpy"}:
            continue
        try:
            rows[name] = make()
        except Skip as reason:
            skipped[name] = str(reason)
    return rows, skipped


def time_rounds(rows: dict[str, Row], rounds: int, skipped: dict[str, str],
                parts: int = 8) -> dict:
    """Seconds of each row's round, one list entry per round. An untimed warm-up first (a
    compiled row compiles there). Each round is cut into `parts` pieces and the rows take
    turns piece by piece, in alternating order, so the machine's speed swings (within
    seconds here) hit them all alike. A row whose warm-up fails with a library's error
    (torch.compile without a compiler, say) is moved to `skipped` with the error."""
    for name, row in list(rows.items()):
        try:
            row.reset()
            row.run(0, row.unit)
        except Exception as e:  # noqa: BLE001 - reported in the table, never hidden
            if name.startswith("tinygrad_nn"):
                raise  # the project's own rows must run
            skipped[name] = f"failed here: {type(e).__name__}: {str(e).splitlines()[0][:80]}"
            del rows[name]
    times: dict[str, list[float]] = {name: [] for name in rows}
    for r in range(rounds):
        order = list(rows) if r % 2 == 0 else list(reversed(rows))
        spent = dict.fromkeys(order, 0.0)
        for name in order:
            rows[name].reset()
        for k in range(parts):
            for name in order:
                row = rows[name]
                steps = row.size // row.unit
                lo, hi = (steps * k // parts * row.unit, steps * (k + 1) // parts * row.unit)
                t = TIMER()
                row.run(lo, hi)
                spent[name] += TIMER() - t
        for name in order:
            times[name].append(spent[name])
    return times


def difference(got: list[np.ndarray], ref: list[np.ndarray], start: list[np.ndarray]) -> float:
    """Largest difference from the reference, as a fraction of how far the reference moved
    from `start`: 0 for identical results, ~1e-6 for float32 rounding, ~1 for a wrong
    gradient or a step left out."""
    return max(float(np.max(np.abs(g - r)) / max(np.max(np.abs(r - s)), 1e-30))
               for g, r, s in zip(got, ref, start))


TOLERANCE = 1e-3  # float32 rounding over thousands of steps stays far below this


def fmt_ratio(best: float, median: float) -> str:
    return f"{best:.2f}x ({median:.2f}x)"


def table(head: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    return "\n".join(out + ["| " + " | ".join(cells) + " |" for cells in lines])
