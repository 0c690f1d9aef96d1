"""The `tinygrad-nn` command end to end on the bundled digits, and its clean failures."""

import gzip
import re
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_nn.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def accuracy(out):
    m = re.search(r"^test accuracy: (\d\.\d{4})$", out, re.M)
    assert m, out
    return float(m.group(1))


def test_train_save_evaluate_same_accuracy(capsys, tmp_path):
    model = tmp_path / "m.npz"
    code, out, _ = run(capsys, "train", "--epochs", "2", "--hidden", "30", "--save", str(model))
    assert code == 0
    acc = accuracy(out)
    assert acc > 0.85 and out.strip().splitlines()[-1].startswith("test accuracy: ")
    assert "epoch 2/2" in out
    code, out, _ = run(capsys, "evaluate", "--model", str(model))
    assert code == 0 and accuracy(out) == acc


def test_book_rule_trains_and_saves(capsys, tmp_path):
    model = tmp_path / "book.npz"
    code, out, _ = run(capsys, "train", "--rule", "book", "--epochs", "2", "--hidden", "30",
                       "--save", str(model), "--quiet")
    assert code == 0 and accuracy(out) > 0.8
    code, out2, _ = run(capsys, "evaluate", "--model", str(model))
    assert accuracy(out2) == accuracy(out)


def test_train_on_a_csv_path_uses_last_20_percent(capsys, tmp_path):
    rng = np.random.default_rng(0)
    y = np.tile(np.arange(10), 10)
    X = (rng.integers(0, 40, (100, 16)) + (y[:, None] == np.arange(16)) * 200).clip(0, 255)
    path = tmp_path / "tiny.csv.gz"
    path.write_bytes(gzip.compress("\n".join(
        ",".join(map(str, [lab, *row])) for lab, row in zip(y, X)).encode()))
    code, out, _ = run(capsys, "train", "--data", str(path), "--epochs", "30", "--hidden", "20")
    assert code == 0 and "on 80 samples, testing on 20" in out and accuracy(out) >= 0.8


def test_graph_plot_and_backquery(capsys, tmp_path):
    model = tmp_path / "m.npz"
    code, out, _ = run(capsys, "train", "--epochs", "1", "--hidden", "20", "--save",
                       str(model), "--graph", str(tmp_path / "g.dot"),
                       "--plot", str(tmp_path / "p.png"), "--quiet")
    assert code == 0
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    code, out, _ = run(capsys, "backquery", "--model", str(model), "--label", "3", "-o",
                       str(tmp_path / "three.png"))
    assert code == 0 and (tmp_path / "three.png").read_bytes()[:4] == b"\x89PNG"
    code, out, _ = run(capsys, "graph", "--model", str(model), "-o", str(tmp_path / "n.dot"))
    assert code == 0 and "0.weight" in (tmp_path / "n.dot").read_text()


def test_explain_prints_both_rules(capsys):
    code, out, _ = run(capsys, "explain")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.startswith(("output ", "hidden "))}
    out_row, hid_row = rows["output"], rows["hidden"]
    assert float(out_row[-2]) < 1e-12 and float(out_row[-1]) == pytest.approx(1.0)
    assert float(hid_row[-1]) > 1.5  # the text's hidden update is larger than the gradient's
    assert "text" in out and "autograd" in out and "o·(1−o)" in out


def test_divergence_keeps_the_old_checkpoint(capsys, tmp_path):
    model = tmp_path / "m.npz"
    assert run(capsys, "train", "--epochs", "1", "--hidden", "10", "--save", str(model),
               "--quiet")[0] == 0
    before = model.read_bytes()
    code, out, err = run(capsys, "train", "--epochs", "2", "--hidden", "10", "--lr", "1e300",
                         "--save", str(model), "--quiet")
    assert code == 1 and "diverged" in err and "test accuracy" not in out
    assert model.read_bytes() == before


@pytest.mark.parametrize("argv, needle", [
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--hidden", "many"], "--hidden"),
    (["train", "--data", "/nonexistent/file.csv"], "/nonexistent/file.csv"),
    (["evaluate", "--model", "/nonexistent/m.npz"], "/nonexistent/m.npz"),
    (["backquery", "--model", "x.npz", "--label", "12"], "--label"),
    (["train", "--rule", "magic"], "--rule"),
])
def test_clean_failures(argv, needle, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    _, err = capsys.readouterr()
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, needle", [
    (b"not a model", "bad.npz"),
    (None, "not a tinygrad-nn model"),
])
def test_bad_model_files(tmp_path, content, needle):
    path = tmp_path / "bad.npz"
    if content is None:
        np.savez(path, w=np.zeros(2))
    else:
        path.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "tinygrad_nn", "evaluate", "--model",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv, needle", [
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--data", "/nonexistent/file.csv"], "/nonexistent/file.csv"),
    (["evaluate", "--model", "/nonexistent/m.npz", "--data", "digits"], "/nonexistent/m.npz"),
    (["train", "--batch-size", "x"], "--batch-size"),
])
def test_failures_are_one_line_exit_2_no_traceback(argv, needle):
    proc = subprocess.run([sys.executable, "-m", "tinygrad_nn", *argv], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_malformed_data_file_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5\n")
    code, _, err = run(capsys, "train", "--data", str(bad))
    assert code == 2 and "bad.csv: line 2" in err and len(err.strip().splitlines()) == 1


def test_wrong_input_size_for_model(tmp_path, capsys):
    model = tmp_path / "m.npz"
    run(capsys, "train", "--epochs", "1", "--hidden", "5", "--save", str(model), "--quiet")
    data = tmp_path / "wide.csv"
    data.write_text("\n".join("1," + ",".join(["0"] * 100) for _ in range(10)))
    code, _, err = run(capsys, "evaluate", "--model", str(model), "--data", str(data))
    assert code == 2 and "100 pixels" in err and "expects 64" in err


def test_ctrl_c_saves_what_was_trained(capsys, tmp_path, monkeypatch):
    from tinygrad_nn import optim

    calls = {"n": 0}
    real_step = optim.SGD.step

    def step_then_interrupt(self):
        calls["n"] += 1
        if calls["n"] == 500:
            raise KeyboardInterrupt
        real_step(self)

    monkeypatch.setattr(optim.SGD, "step", step_then_interrupt)
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "train", "--hidden", "20", "--save", str(model), "--quiet")
    assert code == 130 and "interrupted" in err and model.exists()
    monkeypatch.undo()
    code, out2, _ = run(capsys, "evaluate", "--model", str(model))
    assert code == 0 and accuracy(out2) == accuracy(out)


def test_plot_without_matplotlib_is_a_clear_error(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_mpl(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    code, _, err = run(capsys, "train", "--plot", "p.png")
    assert code == 2 and "tinygrad-nn[plot]" in err and len(err.strip().splitlines()) == 1


def test_version(capsys):
    import tinygrad_nn

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out == f"tinygrad-nn {tinygrad_nn.__version__}\n"


def test_every_option_has_help_and_shows_its_default(capsys):
    import argparse

    from tinygrad_nn.cli import build_parser

    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subs.choices.items():
        sub.format_help()  # every help string formats
        formatter = sub.formatter_class(prog=name)
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.dest)
            if action.default not in (None, False) and not action.required:
                assert "default" in formatter._get_help_string(action), (name, action.dest)


def test_graph_says_which_sample_it_draws(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "--epochs", "1", "--hidden", "20", "--graph",
                       str(tmp_path / "g.dot"))
    m = re.search(r"wrote .*g.dot: one step on test sample (\d+) \(label (\d), predicted "
                  r"(\d)\)", out)
    assert code == 0 and m and m.group(2) == m.group(3)  # one the model gets right
    code, out, _ = run(capsys, "graph", "-o", str(tmp_path / "n.dot"))
    assert "training sample 0 (label 0)" in out


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_plot_and_backquery_honour_the_suffix(capsys, tmp_path, suffix, magic):
    model = tmp_path / "m.npz"
    code, _, _ = run(capsys, "train", "--epochs", "1", "--hidden", "10", "--save", str(model),
                     "--plot", str(tmp_path / f"p{suffix}"), "--quiet")
    assert code == 0 and (tmp_path / f"p{suffix}").read_bytes().startswith(magic)
    code, _, _ = run(capsys, "backquery", "--model", str(model), "--label", "3", "-o",
                     str(tmp_path / f"b{suffix}"))
    assert code == 0 and (tmp_path / f"b{suffix}").read_bytes().startswith(magic)


def test_a_run_that_learns_nothing_warns_in_one_line(capsys):
    code, out, err = run(capsys, "train", "--lr", "1e6", "--epochs", "2", "--hidden", "10",
                         "--quiet")
    assert code == 0 and "test accuracy" in out
    assert len(err.strip().splitlines()) == 1 and "learned nothing" in err


def test_one_epoch_line_without_tqdm(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    code, out, err = run(capsys, "train", "--epochs", "2", "--hidden", "10")
    assert code == 0 and err == ""
    assert [line.split()[1] for line in out.splitlines() if "epoch" in line
            and line.startswith("epoch")] == ["1/2", "2/2"]


def test_overflow_in_a_command_is_one_warning_line(capsys, tmp_path):
    import json

    path = tmp_path / "big.npz"
    meta = {"format": "tinygrad-nn model 1", "layers": [64, 4, 10]}
    np.savez(path, **{"0.weight": np.full((4, 64), 3e38, np.float32),
                      "2.weight": np.full((10, 4), 3e38, np.float32),
                      "__meta__": np.array(json.dumps(meta))})
    code, out, err = run(capsys, "evaluate", "--model", str(path))
    assert code == 0 and "test accuracy" in out
    assert len(err.strip().splitlines()) == 1 and "overflowed" in err


def test_the_command_removes_temp_files_of_killed_saves_up_front(capsys, tmp_path):
    import os

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f".tmp-{int(proc.stdout)}-abcd1234-m.npz"
    stale.write_bytes(b"partial")
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    with pytest.raises(SystemExit):  # argparse refuses first: nothing is touched
        main(["train", "--hidden", "0", "--save", str(tmp_path / "m.npz")])
    assert stale.exists()
    code, _, err = run(capsys, "train", "--rule", "book", "--batch-size", "3", "--save",
                       str(tmp_path / "m.npz"))
    assert code == 2 and not stale.exists() and os.listdir(tmp_path) == []


def test_train_no_compile_gives_the_same_accuracy(capsys):
    """The compiled step (the default) and --no-compile train to the same weights."""
    lines = []
    for extra in ((), ("--no-compile",)):
        code, out, _ = run(capsys, "train", "--epochs", "1", "--hidden", "12", *extra)
        assert code == 0
        lines.append([ln for ln in out.splitlines() if ln.startswith("test accuracy")])
    assert lines[0] == lines[1] and lines[0]
