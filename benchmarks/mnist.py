"""Real-data check: the text's network on MNIST (first 8,000 of the 10,000 test images to
train, last 2,000 to test), 784-200-10, 5 epochs, one sample per step, both rules.

Needs ../shared/data/mnist (or --mnist PATH); exits quietly when it is absent.
Run: python benchmarks/mnist.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from tinygrad_nn.cli import main as cli_main

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "shared", "data", "mnist")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mnist", default=DEFAULT)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    if not os.path.isdir(args.mnist):
        print(f"skipped: no MNIST folder at {args.mnist}")
        return
    for rule in ("autograd", "book"):
        for seed in args.seeds:
            argv = ["train", "--data", args.mnist, "--hidden", str(args.hidden), "--epochs",
                    str(args.epochs), "--rule", rule, "--seed", str(seed), "--quiet"]
            print(f"tinygrad-nn {' '.join(argv)}")
            t = time.perf_counter()
            code = cli_main(argv)
            print(f"  ({time.perf_counter() - t:.1f} s)")
            if code:
                sys.exit(code)


if __name__ == "__main__":
    main()
