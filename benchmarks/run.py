"""Run every workload side by side (float32, one thread) and print one markdown report:
the machine, then a table per workload (best round, median beside it, ratios), then the
ratios issue 15 asks for. Every row must end where its reference does; a row that does
not is marked WRONG and the exit status is 1.

Run: python benchmarks/run.py [--rounds N] [--quick] [--only A S B C D] [--rows ROW ...] [--wall]
                              [--out FILE]
(--quick: a short run, for the test that the benchmark code works. The MNIST accuracy
run is separate: python benchmarks/mnist.py)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

sys.dont_write_bytecode = True  # the run writes nothing but --out (no __pycache__ here)
# Each of these imports harness before NumPy: it pins the thread pools as BLAS loads.
import chain  # noqa: E402
import harness  # noqa: E402
import train_speed  # noqa: E402

TRAINING = {  # name: (title, layer sizes, batch, samples in a round (full, quick))
    "A": ("one sample per step, 784-100-10 (the text's network)", (784, 100, 10), 1,
          (2000, 200)),
    "S": ("one sample per step, 16-8-2", (16, 8, 2), 1, (2000, 200)),
    "B": ("batches of 64, 784-200-10", (784, 200, 10), 64, (6400, 640)),
}
BASELINE = {"A": "book_numpy", "S": "book_numpy", "B": "true_numpy"}


def stats(seconds: list, amount: float) -> tuple:
    """(best, median) of amount/second (samples/s)."""
    return amount / min(seconds), amount / statistics.median(seconds)


def ratio(figs: dict, a: str, b: str) -> tuple | None:
    """Row a's figure over row b's, (best, median); None when either did not run."""
    if a not in figs or b not in figs:
        return None
    return figs[a][0] / figs[b][0], figs[a][1] / figs[b][1]


def show(r: tuple | None) -> str:
    return "–" if r is None else harness.fmt_ratio(*r)


def check(result: dict, name: str) -> str:
    d = result["diffs"][name]
    verdict = "ok" if d <= harness.TOLERANCE else "**WRONG**"
    return f"{verdict} ({d:.0e} vs {result['reference'][name]})"


def training_table(key: str, result: dict, rounds: int) -> tuple:
    """The markdown for one of A, S, B, and its rows' (best, median) samples/s."""
    title, shape, batch, _ = TRAINING[key]
    figs = {name: stats(t, result["samples"]) for name, t in result["times"].items()}
    base = BASELINE[key]
    lines = []
    for name in harness.ROWS:
        if name in result["skipped"]:
            lines.append([name, "–", "–", "–", "–", result["skipped"][name]])
        elif name in figs:
            lines.append([name, f"{figs[name][0]:,.0f}", f"{figs[name][1]:,.0f}",
                          show(ratio(figs, name, base)), show(ratio(figs, name, "numpy_fused")),
                          check(result, name)])
    head = ["row", "samples/s best", "median", f"x {base}", "x numpy_fused", "same weights"]
    md = (f"### {key}: {title}\n\n{result['samples']:,} samples per round, best of {rounds} "
          f"rounds (median beside it)\n\n" + harness.table(head, lines))
    return md, figs


def chain_table(result: dict, rounds: int) -> tuple:
    """The markdown for C, and its rows' (best, median) µs per op."""
    figs = {name: tuple(1e6 / f for f in stats(t, result["ops"]))
            for name, t in result["times"].items()}
    lines = []
    for name in harness.ROWS:
        if name in result["skipped"]:
            lines.append([name, "–", "–", "–", "–", result["skipped"][name]])
        elif name in figs:
            lines.append([name, f"{figs[name][0]:.2f}", f"{figs[name][1]:.2f}",
                          show(ratio(figs, name, "torch")),
                          show(ratio(figs, name, "numpy_fused")), check(result, name)])
    head = ["row", "µs/op best", "median", "x torch", "x numpy_fused", "same gradient"]
    md = (f"### C: a chain of {chain.N_OPS} element-wise ops on float32[{chain.SIZE}], "
          f"forward + backward\n\n{result['ops']:,} ops per round, best of {rounds} rounds "
          f"(median beside it); lower is better\n\n" + harness.table(head, lines))
    return md, figs


def memory_table(result: dict) -> str:
    lines = [[name, f"{peak / 1024:,.1f}", f"{growth / 1024:+,.1f}"]
             for name, (peak, growth) in result["memory"].items()]
    lines += [[name, "–", reason] for name, reason in result["skipped"].items()]
    return ("### D: memory of A (tracemalloc; NumPy's and Python's allocations, so no "
            "torch or jax rows)\n\n" +
            harness.table(["row", "peak growth in one step, KiB",
                          f"growth over {result['steps']:,} more steps, KiB"], lines))


def targets(figs: dict, skips: dict, memory: dict | None) -> str:
    """The ratios issue 15 names, each beside its goal (printed, never asserted)."""
    ours, eager = "tinygrad_nn compiled", "tinygrad_nn"
    lines = []

    def add(what: str, key: str, a: str, b: str, goal: str) -> None:
        if key not in figs:
            return
        r = ratio(figs[key], a, b)
        missing = a if a not in figs[key] else b
        lines.append([what, show(r) if r else f"– ({skips[key].get(missing, 'not run')})",
                      goal])

    add("A: compiled ÷ book_numpy (samples/s)", "A", ours, "book_numpy", ">= 1.5x")
    add("A: compiled ÷ jax.jit", "A", ours, "jax.jit", "> 1x")
    add("S: compiled ÷ book_numpy", "S", ours, "book_numpy", ">= 1.0x")
    add("B: compiled ÷ true_numpy", "B", ours, "true_numpy", ">= 1.05x")
    add("B: compiled ÷ jax.jit", "B", ours, "jax.jit", "reported")
    for key in ("A", "S", "B"):
        add(f"{key}: compiled ÷ numpy_fused", key, ours, "numpy_fused", "reported")
    add("A: eager ÷ torch eager (samples/s)", "A", eager, "torch", ">= 1.5x")
    add("C: eager ÷ torch eager (µs/op)", "C", eager, "torch", "<= 0.6x")
    add("C: plain_engine ÷ torch eager (a featureless engine)", "C", "plain_engine", "torch",
        "reported")
    if memory is not None:
        eager_goal = ("reported (the issue saw > 300 KiB: SGD's temporary lr·g, gone since "
                      "its update is one axpy)")
        for name, goal in ((ours, "< 64 KiB"), (eager, eager_goal)):
            if name in memory["memory"]:
                peak, growth = memory["memory"][name]
                figure = f"{peak / 1024:,.1f} KiB (then {growth / 1024:+,.1f} KiB)"
            else:
                figure = f"– ({memory['skipped'].get(name, 'not run')})"
            lines.append([f"D: {name}, one step's peak growth", figure, goal])
    return "### Issue 15's ratios: best round (median)\n\n" + harness.table(
        ["ratio", "measured", "goal"], lines)


def main(argv: list | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 7; 2 quick)")
    ap.add_argument("--quick", action="store_true", help="a short run (< 20 s)")
    ap.add_argument("--only", nargs="+", choices=("A", "S", "B", "C", "D"),
                    default=["A", "S", "B", "C", "D"])
    ap.add_argument("--rows", nargs="+", choices=harness.ROWS, metavar="ROW",
                    help="only these rows (true_numpy, the reference, always runs)")
    ap.add_argument("--wall", action="store_true",
                    help="time by the clock, not by the process's CPU time")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args(argv)
    if args.wall:
        harness.TIMER = time.perf_counter
    harness.SELECTED = set(args.rows) if args.rows else None
    rounds = args.rounds or (2 if args.quick else 7)
    q = int(args.quick)
    harness.pin_threads()
    timer = "wall clock" if args.wall else "the process's CPU time"
    parts = ["## Benchmarks (float32, 1 thread" + (", --quick" if args.quick else "") + ")",
             harness.header() + f"\n- timed by {timer}"]
    print(*parts, sep="\n\n", flush=True)
    figs, skips, wrong, memory = {}, {}, [], None
    for key in args.only:
        if key in TRAINING:
            _, shape, batch, n = TRAINING[key]
            result = train_speed.speed(shape, batch, n[q], rounds, args.quick)
            md, figs[key] = training_table(key, result, rounds)
        elif key == "C":
            result = chain.speed((100, 5)[q], rounds)
            md, figs[key] = chain_table(result, rounds)
        else:
            memory = train_speed.memory((2000, 100)[q])
            md = memory_table(memory)
            result = {"diffs": {}, "skipped": memory["skipped"]}
        skips[key] = result["skipped"]
        wrong += [f"{key} {name}" for name, d in result["diffs"].items()
                  if d > harness.TOLERANCE]
        parts.append(md)
        print("\n" + md, flush=True)
    parts.append(targets(figs, skips, memory))
    print("\n" + parts[-1])
    if wrong:
        parts.append(f"WRONG results: {', '.join(wrong)}")
        print("\n" + parts[-1])
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n\n".join(parts) + "\n")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
