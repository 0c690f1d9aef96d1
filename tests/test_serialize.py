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
