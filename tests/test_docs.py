"""Every ```python block in README.md and docs/*.md runs (blocks of one file share a
namespace, in order), so the docs cannot rot."""

import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(path):
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def test_docs_have_python_blocks():
    assert sum(len(blocks(f)) for f in FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_python_blocks_run(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace = {"__name__": "__docs__"}
    for i, code in enumerate(blocks(path)):
        try:
            exec(compile(code, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message is the point
            raise AssertionError(f"{path.name}, python block {i} failed: {e!r}\n{code}") from e


def test_readme_tour_prints_what_the_readme_shows(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^```python\n(.*?)^```\n\n```text\n(.*?)^```", text, re.S | re.M)
    assert m, "the tour: a python block followed by its output"
    monkeypatch.chdir(tmp_path)
    exec(compile(m.group(1), "README tour", "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out == m.group(2)
    assert (tmp_path / "tour.svg").exists()


def test_examples_readme_lists_every_example():
    listing = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    for script in (ROOT / "examples").glob("*.py"):
        assert f"`{script.name}`" in listing, script.name
