"""save/load: .npz, atomic writes, no pickles, errors that name the file."""

import os

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn


def test_round_trip_model(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2, bias=False))
    path = tmp_path / "model.npz"
    tg.save(model.state_dict(), path)
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # no temporary file left behind
    other = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2, bias=False))
    other.load_state_dict(tg.load(path))
    for (name, a), (_, b) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
        assert a.dtype == b.dtype


def test_exact_path_and_strings(tmp_path):
    path = tmp_path / "weights.bin"
    tg.save({"w": np.arange(3.0), "meta": '{"hidden": 5}'}, str(path))
    assert path.exists()
    loaded = tg.load(path)
    assert loaded["meta"] == '{"hidden": 5}'
    np.testing.assert_array_equal(loaded["w"], np.arange(3.0))


def test_save_accepts_tensors(tmp_path):
    tg.save({"t": tg.Tensor([1.0, 2.0])}, tmp_path / "t.npz")
    assert tg.load(tmp_path / "t.npz")["t"].dtype == np.float32


def test_missing_directory_raises_and_creates_nothing(tmp_path):
    target = tmp_path / "nope" / "m.npz"
    with pytest.raises(FileNotFoundError, match="nope"):
        tg.save({"w": np.zeros(2)}, target)
    assert not (tmp_path / "nope").exists()


def test_interrupted_save_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    tg.save({"w": np.zeros(2)}, path)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        tg.save({"w": np.ones(2)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(tg.load(path)["w"], np.zeros(2))
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        tg.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="junk.npz"):
        tg.load(junk)
    good = tmp_path / "good.npz"
    tg.save({"w": np.zeros(1000)}, good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ValueError, match="truncated.npz"):
        tg.load(truncated)


def test_load_never_unpickles(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        tg.load(path)


def test_save_rejects_bad_values(tmp_path):
    with pytest.raises(TypeError, match="obj"):
        tg.save({"obj": np.array([object()])}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys must be strings or ints"):
        tg.save({(1, 2): np.zeros(1)}, tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_saved_files_get_the_usual_permissions(tmp_path):
    path = tmp_path / "m.npz"
    tg.save({"w": np.zeros(2)}, path)
    mask = os.umask(0)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~mask)


def _dead_pid():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_stale_temp_files_of_killed_saves_are_removed(tmp_path):
    dead, old = _dead_pid(), 1_000_000_000  # a finished process; mtime in 2001
    stale = tmp_path / f".tmp-{dead}-abcd1234-m.npz"
    other_target = tmp_path / f".tmp-{dead}-abcd1234-other.npz"
    live = tmp_path / f".tmp-{os.getppid()}-abcd1234-m.npz"  # a running process's
    fresh = tmp_path / f".tmp-{dead}-zzzz1234-m.npz"  # newer than this process
    unrelated = tmp_path / ".tmp-notes.txt"
    for f in (stale, other_target, live, fresh, unrelated):
        f.write_bytes(b"partial")
        if f is not fresh:
            os.utime(f, (old, old))
    tg.save({"w": np.zeros(2)}, tmp_path / "m.npz")
    left = sorted(os.listdir(tmp_path))
    assert stale.name not in left
    assert {other_target.name, live.name, fresh.name, unrelated.name, "m.npz"} == set(left)


def test_failed_writes_name_the_file(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "m.npz"
    tg.save({"w": np.zeros(2)}, path)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="m.npz.*No space left.*old file is unchanged") as e:
        tg.save({"w": np.ones(2)}, path)
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    np.testing.assert_array_equal(tg.load(path)["w"], np.zeros(2))


def _zip(path, members):
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _npy(arr):
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.mark.parametrize("members, needle", [
    ({"notes.txt": b"hello"}, "'notes.txt' is not an array"),
    ({"w.npy": b"x"}, "entry 'w' is not readable"),
    ({"w.npy": _npy(np.zeros(3))[:-8]}, "header says"),  # a truncated member
])
def test_bad_members_are_refused_by_name_before_allocating(tmp_path, members, needle):
    path = tmp_path / "bad.npz"
    _zip(path, members)
    with pytest.raises(ValueError, match="bad.npz") as e:
        tg.load(path)
    assert needle in str(e.value)


def test_a_huge_header_allocates_nothing(tmp_path):
    raw = _npy(np.zeros(3))
    forged = raw.replace(b"'shape': (3,)", b"'shape': (99999999999999,)")
    forged = forged[:10] + forged[10:].replace(b" " * 10, b"", 1)  # keep the header length
    path = tmp_path / "huge.npz"
    _zip(path, {"w.npy": forged})
    with pytest.raises(ValueError, match=r"huge.npz.*\(99999999999999,\)"):
        tg.load(path)


def test_plain_npy_is_named_as_such(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"w.npy is a single .npy array"):
        tg.load(tmp_path / "w.npy")


def test_fortran_order_and_dtypes_round_trip(tmp_path):
    a = np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3))
    np.savez(tmp_path / "f.npz", a=a, b=np.array([True, False]), c=np.float64(2.5))
    out = tg.load(tmp_path / "f.npz")
    np.testing.assert_array_equal(out["a"], a)
    assert out["a"].dtype == np.int16 and out["b"].dtype == bool and out["c"] == 2.5


def test_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="pipe.npz is not a regular file"):
        tg.load(fifo)
