"""`train --save` writes the run's state; `train --resume FILE` continues it exactly."""

import re
import shutil

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import cli


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def accuracy(out):
    return float(re.search(r"^test accuracy: (\d\.\d{4})$", out, re.M).group(1))


@pytest.mark.parametrize("extra", [[], ["--batch-size", "8"], ["--rule", "book"]])
def test_resume_continues_the_exact_run(capsys, tmp_path, monkeypatch, extra):
    full, mid, resumed = (str(tmp_path / n) for n in ("full.npz", "mid.npz", "resumed.npz"))
    common = ["--epochs", "4", "--hidden", "12", "--quiet", *extra]
    code, out_full, _ = run(capsys, "train", "--save", full, *common)
    assert code == 0

    original = cli.save_model

    def save_and_keep_epoch_2(model, path, meta, state=None):
        original(model, path, meta, state)
        if state and state["epoch"] == 2:
            shutil.copy(path, mid)

    monkeypatch.setattr(cli, "save_model", save_and_keep_epoch_2)
    run(capsys, "train", "--save", str(tmp_path / "again.npz"), *common)
    monkeypatch.undo()
    ck = tg.load(mid)
    assert ck["epoch"] == 2 and "generator" in ck
    if "book" not in extra:
        assert ck["optimizer"]["state"] == {} and ck["scheduler"]["last_epoch"] > 0

    code, out, _ = run(capsys, "train", "--resume", mid, "--save", resumed, "--quiet")
    assert code == 0 and accuracy(out) == accuracy(out_full)
    a, b = tg.load(full), tg.load(resumed)
    for k in ("0.weight", "2.weight"):
        np.testing.assert_array_equal(a[k], b[k])
    assert b["epoch"] == 4


def test_resume_message_and_refusals(capsys, tmp_path):
    model = str(tmp_path / "m.npz")
    run(capsys, "train", "--epochs", "1", "--hidden", "5", "--save", model, "--quiet")
    code, _, err = run(capsys, "train", "--resume", model, "--quiet")
    assert code == 2 and "already has 1 of 1 epochs" in err
    code, out, _ = run(capsys, "train", "--resume", model, "--epochs", "2")
    assert code == 0 and "resuming after epoch 1" in out and "epoch 2/2" in out
    old = tmp_path / "old.npz"
    sd = tg.load(model)
    tg.save({k: sd[k] for k in ("0.weight", "2.weight", "__meta__")}, old)
    code, _, err = run(capsys, "train", "--resume", str(old))
    assert code == 2 and "no run state" in err
    code, out, _ = run(capsys, "evaluate", "--model", str(old))  # old files still evaluate
    assert code == 0 and "test accuracy" in out
