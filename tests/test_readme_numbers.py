"""The numbers README.md and docs/ print come from the commands they name: the cheap ones
are rerun here (digits accuracy, both rules; the explain table), the measured ones must
agree with the benchmark results they quote and carry a date."""

import pathlib
import re

import pytest

from tinygrad_nn.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FROM_THE_TEXT = (ROOT / "docs" / "from-the-text.md").read_text(encoding="utf-8")
BENCHMARKS = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")


def accuracy(capsys, *argv):
    assert main(list(argv)) == 0
    m = re.search(r"^test accuracy: (\d\.\d{4})$", capsys.readouterr().out, re.M)
    assert m
    return m.group(1)


def test_digits_accuracy_as_the_docs_say(capsys):
    acc = accuracy(capsys, "train", "--quiet")
    assert f"prints `test accuracy: {acc}`" in README
    assert re.search(rf"^\| bundled 8x8 digits .*\| `tinygrad-nn train` \| \*\*{acc}\*\* \|$",
                     README, re.M)
    assert f"`test accuracy: {acc}`" in FROM_THE_TEXT
    assert f"$ tinygrad-nn train --save model.npz --quiet\ntest accuracy: {acc}\n" in \
        FROM_THE_TEXT


def test_digits_accuracy_of_the_text_rule_as_the_readme_says(capsys):
    acc = accuracy(capsys, "train", "--rule", "book", "--quiet")
    assert re.search(rf"^\| same, the text's hand rule \| `tinygrad-nn train --rule book` \| "
                     rf"{acc} \|$", README, re.M)


def explain_blocks(text):
    """The lines shown under `$ tinygrad-nn explain`, `...` dropped and the wrapped "Why:"
    sentence joined into one line, as the command prints it."""
    blocks = re.findall(r"^\$ tinygrad-nn explain\n(.*?)^```", text, re.S | re.M)
    assert blocks
    out = []
    for b in blocks:
        lines = [line for line in b.splitlines() if line != "..."]
        why = next((i for i, line in enumerate(lines) if line.startswith("Why:")), len(lines))
        out.append(lines[:why] + ([" ".join(lines[why:])] if lines[why:] else []))
    return out


@pytest.mark.parametrize("name, text", [("README.md", README),
                                        ("from-the-text.md", FROM_THE_TEXT)])
def test_explain_output_as_the_docs_show_it(capsys, name, text):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out.splitlines()
    for block in explain_blocks(text):
        for line in block:
            assert line in out, (name, line)


def test_speed_claims_quote_the_benchmark_results_with_a_date():
    first = README.split("\n\n")[1]
    ratios = re.findall(r"(\d\.\d\d)×", first)
    assert ratios and "2026-" in first and "benchmarks/run.py" in first
    for r in ratios:  # each figure stands in the benchmark report (its tables write 0.31x)
        assert f"{r}x" in BENCHMARKS or f"{r}×" in BENCHMARKS, r
    assert "faster than the text's own" not in README
