"""Every example runs (quickly) and prints what it claims."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
EXPECT = {
    "tour.py": "max difference",
    "predictor.py": "forgotten",
    "classifier.py": "accuracy 1.00",
    "xor.py": "two layers right on 4/4",
    "backprop_errors.py": "= Wᵀ·(e·o·(1−o))",
    "init_rule.py": "first-layer weights moved: False",
    "draw_network.py": "0.weight (100, 784)",
    "pytorch_style.py": "weights identical to the uninterrupted run: True",
    "own_handwriting.py": "seven.png: 7",
    "rotations.py": "without the rotated copies",
}


def test_every_example_is_listed():
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == set(EXPECT), "add new examples to EXPECT (and examples/README.md)"


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_runs(name, tmp_path):
    if name == "own_handwriting.py":
        pytest.importorskip("PIL")
    out = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert EXPECT[name] in out.stdout
