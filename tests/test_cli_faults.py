"""The `tinygrad-nn` command under bad input and faults: for every case one line on stderr,
no traceback, the documented status (2 bad input or file, 1 divergence, 130 Ctrl-C,
143 SIGTERM), and no file that existed before is changed (nor a stray file left)."""

import gzip
import hashlib
import io
import json
import os
import resource
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from tinygrad_nn.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}


def csv_rows(n=20, width=16, seed=0):
    rng = np.random.default_rng(seed)
    return "\n".join(",".join(map(str, [i % 10, *rng.integers(0, 256, width)]))
                     for i in range(n)) + "\n"


def npy_bytes(arr, shape_text=None):
    buf = io.BytesIO()
    np.save(buf, arr)
    raw = buf.getvalue()
    if shape_text is not None:  # forge the header's shape, same header length
        old = repr(arr.shape).encode()
        new = shape_text.encode().ljust(len(old))
        raw = raw.replace(old, new[: len(old)] if len(new) > len(old) else new, 1)
    return raw


def model_npz(path, layers=(64, 4, 10), w0=None, w2=None, meta=None):
    """A model file as `train --save` writes it, with parts replaced."""
    rng = np.random.default_rng(0)
    i, h, o = layers
    w0 = rng.normal(size=(h, i)).astype(np.float32) if w0 is None else w0
    w2 = rng.normal(size=(o, h)).astype(np.float32) if w2 is None else w2
    meta = {"format": "tinygrad-nn model 1", "layers": list(layers)} if meta is None else meta
    np.savez(path, **{"0.weight": w0, "2.weight": w2, "__meta__": np.array(json.dumps(meta))})


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """A folder of good and bad input files; the cases read them and must not change them."""
    d = tmp_path_factory.mktemp("faults")
    assert main(["train", "--epochs", "1", "--hidden", "4", "--save", str(d / "good.npz"),
                 "--quiet"]) == 0
    (d / "tiny.csv").write_text(csv_rows())
    (d / "wide.csv").write_text(csv_rows(10, 100))
    (d / "one.csv").write_text(csv_rows(1))
    (d / "short.csv").write_text("1,2,3\n4,5\n")
    (d / "word.csv").write_text("1,2,x\n")
    (d / "float.csv").write_text("1,0.5,3\n2,1,1\n")
    (d / "label10.csv").write_text("10,1,2\n1,1,2\n")
    (d / "pixel300.csv").write_text("1,300,2\n1,1,2\n")
    (d / "negative.csv").write_text("1,-1,2\n1,1,2\n")
    (d / "overflow.csv").write_text("1,99999999999999999999999,2\n1,1,2\n")
    (d / "huge_label.csv").write_text("99999999999999999999999,1,2\n1,1,2\n")
    (d / "empty.csv").write_text("")
    (d / "header.csv").write_text("label,p1,p2\n")
    (d / "labels_only.csv").write_text("1\n2\n")
    (d / "binary.csv").write_bytes(bytes(range(256)))
    (d / "broken.csv.gz").write_bytes(gzip.compress(b"1,2,3\n" * 50)[:20])
    (d / "bad-magic-idx3-ubyte").write_bytes((1234).to_bytes(4, "big") + bytes(20))
    (d / "trunc-images-idx3-ubyte").write_bytes(
        (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (5, 28, 28))
        + bytes(100))
    (d / "trunc-labels-idx1-ubyte").write_bytes(
        (2049).to_bytes(4, "big") + (5).to_bytes(4, "big") + bytes(5))
    (d / "forged-images-idx3-ubyte").write_bytes(  # dims whose product overflows int64
        (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big")
                                             for n in (0, 2**32 - 1, 2**32 - 1)))
    (d / "forged-labels-idx1-ubyte").write_bytes((2049).to_bytes(4, "big") + bytes(4))
    (d / "only-labels-idx1-ubyte").write_bytes(
        (2049).to_bytes(4, "big") + (2).to_bytes(4, "big") + bytes(2))
    (d / "nothing_here").mkdir()
    (d / "junk.npz").write_bytes(b"this is not a zip file")
    (d / "empty.npz").write_bytes(b"")
    (d / "truncated.npz").write_bytes((d / "good.npz").read_bytes()[:300])
    np.save(d / "plain.npy", np.zeros(3))
    with zipfile.ZipFile(d / "text_member.npz", "w") as z:
        z.writestr("notes.txt", b"hello")
    with zipfile.ZipFile(d / "bad_member.npz", "w") as z:
        z.writestr("0.weight.npy", b"x")
    with zipfile.ZipFile(d / "huge_header.npz", "w") as z:
        z.writestr("0.weight.npy", npy_bytes(np.zeros(3), "(9999999999,)"))
    np.savez(d / "pickled.npz", obj=np.array([{"a": 1}], dtype=object))
    np.savez(d / "no_meta.npz", w=np.zeros(2))
    np.savez(d / "bad_json.npz", **{"__meta__": np.array("{not json")})
    model_npz(d / "nan.npz", w0=np.full((4, 64), np.nan, np.float32))
    model_npz(d / "inf.npz", w2=np.full((10, 4), np.inf, np.float32))
    model_npz(d / "complex.npz", w0=np.ones((4, 64), np.complex64))
    model_npz(d / "mis_shaped.npz", w0=np.ones((5, 64), np.float32))
    model_npz(d / "huge_layers.npz", meta={"format": "tinygrad-nn model 1",
                                           "layers": [64, 10**12, 10]})
    model_npz(d / "bad_layers.npz", meta={"format": "tinygrad-nn model 1", "layers": "64"})
    model_npz(d / "odd_inputs.npz", layers=(20, 4, 10))
    import tinygrad_nn as tg

    forged = tg.load(d / "good.npz")
    meta = json.loads(forged["__meta__"])
    meta["run"]["lr"] = "fast"
    forged["__meta__"] = json.dumps(meta)
    tg.save(forged, d / "forged_run.npz")
    return d


# (id, argv, status, a word the one line must contain). {d} is the folder above.
CASES = [
    # flags: numbers
    ("epochs-0", ["train", "--epochs", "0"], 2, "--epochs"),
    ("epochs-negative", ["train", "--epochs", "-3"], 2, "--epochs"),
    ("epochs-word", ["train", "--epochs", "many"], 2, "--epochs"),
    ("lr-0", ["train", "--lr", "0"], 2, "--lr"),
    ("lr-negative", ["train", "--lr", "-1"], 2, "--lr"),
    ("lr-nan", ["train", "--lr", "nan"], 2, "--lr"),
    ("lr-inf", ["train", "--lr", "inf"], 2, "--lr"),
    ("lr-overflow", ["train", "--lr", "1e400"], 2, "--lr"),
    ("hidden-0", ["train", "--hidden", "0"], 2, "--hidden"),
    ("hidden-word", ["train", "--hidden", "many"], 2, "--hidden"),
    ("hidden-huge", ["train", "--hidden", "100000000"], 2, "--hidden"),
    ("graph-hidden-huge", ["graph", "--hidden", "100000000", "-o", "{d}/g.dot"], 2,
     "--hidden"),
    ("explain-hidden-huge", ["explain", "--hidden", "100000000"], 2, "--hidden"),
    ("batch-0", ["train", "--batch-size", "0"], 2, "--batch-size"),
    ("batch-word", ["train", "--batch-size", "x"], 2, "--batch-size"),
    ("seed-negative", ["train", "--seed", "-1"], 2, "--seed"),
    ("seed-word", ["train", "--seed", "abc"], 2, "--seed"),
    ("graph-seed-negative", ["graph", "--seed", "-1"], 2, "--seed"),
    ("label-10", ["backquery", "--model", "{d}/good.npz", "--label", "10"], 2, "--label"),
    ("label-word", ["backquery", "--model", "{d}/good.npz", "--label", "x"], 2, "--label"),
    ("index-negative", ["explain", "--index", "-1"], 2, "--index"),
    ("index-too-big", ["explain", "--index", "99999"], 2, "--index"),
    ("explain-lr-overflow", ["explain", "--lr", "1e308"], 2, "--lr"),
    # flags: names and combinations
    ("no-command", [], 2, "command"),
    ("unknown-command", ["fly"], 2, "fly"),
    ("unknown-flag", ["train", "--bogus"], 2, "--bogus"),
    ("rule-unknown", ["train", "--rule", "magic"], 2, "--rule"),
    ("model-missing-flag", ["evaluate"], 2, "--model"),
    ("test-data-with-digits", ["train", "--test-data", "{d}/tiny.csv"], 2, "--test-data"),
    ("book-with-batch", ["train", "--rule", "book", "--batch-size", "5"], 2, "--batch-size"),
    # outputs, checked before any training
    ("save-missing-folder", ["train", "--save", "{d}/no/such/m.npz"], 2, "--save"),
    ("save-is-folder", ["train", "--save", "{d}/nothing_here"], 2, "--save"),
    ("save-wrong-suffix", ["train", "--save", "{d}/m.png"], 2, "--save"),
    ("save-over-data", ["train", "--data", "{d}/tiny.csv", "--save", "{d}/tiny.csv"], 2,
     "--save"),
    ("save-empty-name", ["train", "--save", ""], 2, "--save"),
    ("save-name-too-long", ["train", "--save", "{d}/" + "a" * 300 + ".npz"], 2, "--save"),
    ("graph-bad-suffix", ["train", "--graph", "{d}/g.jpg"], 2, "--graph"),
    ("graph-no-suffix", ["train", "--graph", "{d}/graph"], 2, "--graph"),
    ("graph-missing-folder", ["train", "--graph", "{d}/no/g.dot"], 2, "--graph"),
    ("graph-same-as-save", ["train", "--save", "{d}/x.npz", "--graph", "{d}/x.npz"], 2,
     "--graph"),
    ("plot-bad-suffix", ["train", "--plot", "{d}/p.gif"], 2, "--plot"),
    ("plot-missing-folder", ["train", "--plot", "{d}/no/p.png"], 2, "--plot"),
    ("graph-cmd-bad-suffix", ["graph", "-o", "{d}/g.bmp"], 2, "--output"),
    ("backquery-bad-suffix", ["backquery", "--model", "{d}/good.npz", "--label", "3", "-o",
                              "{d}/b.gif"], 2, "--output"),
    ("backquery-missing-folder", ["backquery", "--model", "{d}/good.npz", "--label", "3",
                                  "-o", "{d}/no/b.png"], 2, "--output"),
    # data files
    ("data-missing", ["train", "--data", "{d}/missing.csv"], 2, "missing.csv"),
    ("data-not-a-file", ["train", "--data", os.devnull], 2, os.devnull),
    ("data-short-row", ["train", "--data", "{d}/short.csv"], 2, "short.csv: line 2"),
    ("data-word", ["train", "--data", "{d}/word.csv"], 2, "word.csv: line 1"),
    ("data-float", ["train", "--data", "{d}/float.csv"], 2, "float.csv: line 1"),
    ("data-label-10", ["train", "--data", "{d}/label10.csv"], 2, "label10.csv: line 1"),
    ("data-pixel-300", ["train", "--data", "{d}/pixel300.csv"], 2, "pixel300.csv: line 1"),
    ("data-negative", ["train", "--data", "{d}/negative.csv"], 2, "negative.csv: line 1"),
    ("data-pixel-beyond-int64", ["train", "--data", "{d}/overflow.csv"], 2,
     "overflow.csv: line 1"),
    ("data-label-beyond-int64", ["train", "--data", "{d}/huge_label.csv"], 2,
     "huge_label.csv: line 1"),
    ("data-empty", ["train", "--data", "{d}/empty.csv"], 2, "empty.csv"),
    ("data-header-only", ["train", "--data", "{d}/header.csv"], 2, "header.csv"),
    ("data-labels-only", ["train", "--data", "{d}/labels_only.csv"], 2, "labels_only.csv"),
    ("data-one-row", ["train", "--data", "{d}/one.csv"], 2, "one.csv"),
    ("data-binary", ["train", "--data", "{d}/binary.csv"], 2, "binary.csv"),
    ("data-broken-gzip", ["train", "--data", "{d}/broken.csv.gz"], 2, "broken.csv.gz"),
    ("data-a-model-file", ["train", "--data", "{d}/good.npz"], 2, "good.npz"),
    ("data-empty-folder", ["train", "--data", "{d}/nothing_here"], 2, "nothing_here"),
    ("data-idx-bad-magic", ["train", "--data", "{d}/bad-magic-idx3-ubyte"], 2, "bad-magic"),
    ("data-idx-truncated", ["train", "--data", "{d}/trunc-images-idx3-ubyte"], 2,
     "trunc-images"),
    ("data-idx-forged-dims", ["train", "--data", "{d}/forged-images-idx3-ubyte"], 2,
     "forged-images"),
    ("data-idx-labels-file", ["train", "--data", "{d}/only-labels-idx1-ubyte"], 2,
     "only-labels"),
    ("test-data-wrong-width", ["train", "--data", "{d}/tiny.csv", "--test-data",
                               "{d}/wide.csv"], 2, "wide.csv"),
    ("test-data-missing", ["train", "--data", "{d}/tiny.csv", "--test-data",
                           "{d}/missing.csv"], 2, "missing.csv"),
    ("evaluate-wrong-width", ["evaluate", "--model", "{d}/good.npz", "--data",
                              "{d}/wide.csv"], 2, "wide.csv"),
    # model files
    ("model-missing", ["evaluate", "--model", "{d}/missing.npz"], 2, "missing.npz"),
    ("model-folder", ["evaluate", "--model", "{d}/nothing_here"], 2, "nothing_here"),
    ("model-junk", ["evaluate", "--model", "{d}/junk.npz"], 2, "junk.npz"),
    ("model-empty", ["evaluate", "--model", "{d}/empty.npz"], 2, "empty.npz"),
    ("model-truncated", ["evaluate", "--model", "{d}/truncated.npz"], 2, "truncated.npz"),
    ("model-plain-npy", ["evaluate", "--model", "{d}/plain.npy"], 2, "plain.npy"),
    ("model-text-member", ["evaluate", "--model", "{d}/text_member.npz"], 2,
     "text_member.npz"),
    ("model-bad-member", ["evaluate", "--model", "{d}/bad_member.npz"], 2, "bad_member.npz"),
    ("model-huge-header", ["evaluate", "--model", "{d}/huge_header.npz"], 2,
     "huge_header.npz"),
    ("model-pickled", ["evaluate", "--model", "{d}/pickled.npz"], 2, "pickled.npz"),
    ("model-no-meta", ["evaluate", "--model", "{d}/no_meta.npz"], 2, "no_meta.npz"),
    ("model-bad-json", ["evaluate", "--model", "{d}/bad_json.npz"], 2, "bad_json.npz"),
    ("model-nan-weights", ["evaluate", "--model", "{d}/nan.npz"], 2, "nan.npz"),
    ("model-inf-weights", ["backquery", "--model", "{d}/inf.npz", "--label", "1", "-o",
                           "{d}/b.png"], 2, "inf.npz"),
    ("model-complex", ["evaluate", "--model", "{d}/complex.npz"], 2, "complex.npz"),
    ("model-mis-shaped", ["evaluate", "--model", "{d}/mis_shaped.npz"], 2, "mis_shaped.npz"),
    ("model-huge-layers", ["evaluate", "--model", "{d}/huge_layers.npz"], 2,
     "huge_layers.npz"),
    ("model-bad-layers", ["graph", "--model", "{d}/bad_layers.npz", "-o", "{d}/g.dot"], 2,
     "bad_layers.npz"),
    ("model-not-square", ["backquery", "--model", "{d}/odd_inputs.npz", "--label", "1", "-o",
                          "{d}/b.png"], 2, "odd_inputs.npz"),
    ("explain-model-wrong-width", ["explain", "--model", "{d}/odd_inputs.npz"], 2, "20"),
    # resuming
    ("resume-missing", ["train", "--resume", "{d}/missing.npz"], 2, "missing.npz"),
    ("resume-junk", ["train", "--resume", "{d}/junk.npz"], 2, "junk.npz"),
    ("resume-no-run-state", ["train", "--resume", "{d}/mis_shaped.npz"], 2, "mis_shaped.npz"),
    ("resume-finished", ["train", "--resume", "{d}/good.npz"], 2, "good.npz"),
    ("resume-forged-record", ["train", "--resume", "{d}/forged_run.npz"], 2, "forged_run.npz"),
    ("resume-graph-over-it", ["train", "--resume", "{d}/good.npz", "--graph",
                              "{d}/good.dot", "--plot", "{d}/good.dot"], 2, "--plot"),
    # divergence: the weights blow up in the only step of epoch 1 while its loss is finite
    ("diverge-first-epoch", ["train", "--lr", "1e300", "--batch-size", "5000", "--epochs",
                             "3", "--hidden", "20", "--save", "{d}/good.npz", "--quiet"], 1,
     "good.npz was not written"),
    ("diverge-later", ["train", "--lr", "1e300", "--epochs", "2", "--hidden", "4", "--quiet"],
     1, "diverged"),
]


def snapshot(folder):
    """Every file under `folder` -> its hash (stray temp files show up as new names)."""
    out = {}
    for base, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, folder)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Warning" not in err, err
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_one_line_right_status_nothing_damaged(case, d, capsys):
    name, argv, status, needle = case
    argv = [a.replace("{d}", str(d)) for a in argv]
    before = snapshot(d)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    line = one_line(err)
    assert code == status, (code, line)
    assert needle.replace("{d}", str(d)) in line, line
    assert "test accuracy" not in out
    assert snapshot(d) == before


def test_the_table_is_large():
    assert len(CASES) >= 40


# ----------------------------------------------------------------------------- faults


def run_cli(*argv, preexec_fn=None, stdout=subprocess.PIPE, timeout=60):
    return subprocess.run([sys.executable, "-m", "tinygrad_nn", *argv], env=ENV, text=True,
                          stdout=stdout, stderr=subprocess.PIPE, preexec_fn=preexec_fn,
                          timeout=timeout)


def test_disk_full_names_the_file_and_keeps_the_old_one(d, capsys, monkeypatch, tmp_path):
    import errno

    target = tmp_path / "m.npz"
    target.write_bytes((d / "good.npz").read_bytes())
    before = snapshot(tmp_path)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    code = main(["train", "--epochs", "1", "--hidden", "4", "--save", str(target), "--quiet"])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and str(target) in line and "No space left" in line
    assert snapshot(tmp_path) == before  # the old model, and no temp file


def test_file_size_limit_names_the_file(d, tmp_path):
    target = tmp_path / "m.npz"
    target.write_bytes((d / "good.npz").read_bytes())
    before = snapshot(tmp_path)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    proc = run_cli("train", "--epochs", "1", "--hidden", "200", "--save", str(target),
                   "--quiet", preexec_fn=limit)
    line = one_line(proc.stderr)
    assert proc.returncode == 2 and str(target) in line and "too large" in line
    assert snapshot(tmp_path) == before


def test_stdout_on_a_full_disk():
    with open("/dev/full", "w") as full:
        proc = run_cli("train", "--epochs", "1", "--hidden", "4", stdout=full)
    line = one_line(proc.stderr)
    assert proc.returncode == 2 and "standard output" in line


def test_ctrl_c_at_start_up_is_one_line():
    # the handler is in place as soon as the package is imported by the command
    code = ("import os, signal, sys, time\n"
            "sys.argv[0] = 'tinygrad-nn'\n"
            "import tinygrad_nn.cli\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "time.sleep(5)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 130 and one_line(proc.stderr) == "tinygrad-nn: interrupted"


def test_a_library_import_keeps_ctrl_c_as_keyboard_interrupt():
    code = ("import signal, tinygrad_nn\n"
            "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n")
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True, timeout=60)


def _wait_for(proc, text, timeout=30):
    """Read proc's stdout lines until one contains `text`."""
    deadline = time.time() + timeout
    for line in proc.stdout:
        if text in line:
            return
        assert time.time() < deadline, "timed out"
    raise AssertionError(f"never printed {text!r}")


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_training(sig, status, tmp_path):
    target = tmp_path / "m.npz"
    proc = subprocess.Popen([sys.executable, "-m", "tinygrad_nn", "train", "--epochs", "50",
                             "--hidden", "30", "--save", str(target)], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(proc, "epoch 2/50")  # so epoch 1 is saved
    proc.send_signal(sig)
    proc.stdout.read()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    line = one_line(err)
    assert proc.returncode == status, line
    assert os.listdir(tmp_path) == ["m.npz"]  # a complete model, no temp file
    assert run_cli("evaluate", "--model", str(target)).returncode == 0


def test_killed_save_keeps_the_old_file_and_the_next_save_cleans_up(tmp_path):
    target = tmp_path / "m.npz"
    code = ("import sys, time, numpy as np, tinygrad_nn as tg\n"
            "def slow(f, **arrays):\n"
            "    f.write(b'PK partial')\n"
            "    f.flush()\n"
            "    print('writing', flush=True)\n"
            "    time.sleep(30)\n"
            "np.savez = slow\n"
            "tg.save({'w': np.ones(3)}, sys.argv[1])\n")
    import tinygrad_nn as tg

    tg.save({"w": np.zeros(3)}, target)
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], env=ENV, text=True,
                            stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait(timeout=30)
    leftovers = [f for f in os.listdir(tmp_path) if f != "m.npz"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".tmp-")
    np.testing.assert_array_equal(tg.load(target)["w"], np.zeros(3))  # the old file, whole
    # the next save to the path (in a later process) removes the dead process's temp file
    proc = subprocess.run([sys.executable, "-c", "import sys, numpy as np, tinygrad_nn as tg;"
                           "tg.save({'w': np.full(3, 2.0)}, sys.argv[1])", str(target)],
                          env=ENV, timeout=60)
    assert proc.returncode == 0 and os.listdir(tmp_path) == ["m.npz"]
    np.testing.assert_array_equal(tg.load(target)["w"], np.full(3, 2.0))


def test_divergence_through_the_command_keeps_the_good_file(d, tmp_path):
    target = tmp_path / "good.npz"
    target.write_bytes((d / "good.npz").read_bytes())
    proc = run_cli("train", "--lr", "1e300", "--batch-size", "5000", "--epochs", "3",
                   "--hidden", "20", "--save", str(target))
    line = one_line(proc.stderr)
    assert proc.returncode == 1 and "diverged in epoch 1" in line and "not written" in line
    assert target.read_bytes() == (d / "good.npz").read_bytes()
    proc = run_cli("evaluate", "--model", str(target))
    assert proc.returncode == 0 and "test accuracy" in proc.stdout
