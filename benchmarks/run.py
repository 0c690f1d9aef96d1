"""Run the whole speed suite (workloads A-D) at 1 and 2 threads, each in a fresh process
so thread counts are pinned before NumPy loads. Prints versions and BLAS first.

Run: python benchmarks/run.py [--rounds 5]
(The MNIST accuracy run is separate: python benchmarks/mnist.py)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def header() -> None:
    import numpy as np

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    try:
        import torch

        tv = torch.__version__
    except ImportError:
        tv = "not installed"
    print(f"date {datetime.date.today()}, Python {platform.python_version()}, NumPy "
          f"{np.__version__} ({blas.get('name')} {blas.get('version')}), PyTorch {tv}, "
          f"{os.cpu_count()} cores, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", default="5")
    args = ap.parse_args()
    header()
    for threads in ("1", "2"):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads,
                   MKL_NUM_THREADS=threads)
        print(f"\n===== {threads} thread(s) =====", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "chain.py"), "--rounds",
                        args.rounds], env=env, check=True)
        subprocess.run([sys.executable, os.path.join(HERE, "train_speed.py"), "--threads",
                        threads, "--rounds", args.rounds], env=env, check=True)


if __name__ == "__main__":
    main()
