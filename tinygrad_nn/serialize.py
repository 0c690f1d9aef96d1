"""Save and load state dicts as `.npz`: written atomically, read without unpickling.

Imports no other module of the package: values may be ndarrays, anything with a `.data`
ndarray (a Tensor), numbers, or strings (kept as 0-d text arrays, e.g. a model's
architecture as JSON).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["save", "load", "atomic_write"]


def _as_array(key: str, value: Any) -> np.ndarray:
    if isinstance(value, str):
        return np.array(value)
    data = getattr(value, "data", value) if not isinstance(value, np.ndarray) else value
    arr = np.asarray(data)
    if arr.dtype.kind not in "biufU":
        raise TypeError(f"save: value of {key!r} has dtype {arr.dtype}; only numeric arrays "
                        f"and strings can be saved")
    return arr


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write `state_dict` (name -> array) to `path` as `.npz`.

    The file is written to a temporary name in the same folder and renamed into place,
    so an interrupted save never leaves a half-written file where the old one was. The
    folder must exist (nothing is created).
    """
    if not hasattr(state_dict, "items"):
        raise TypeError(f"save: expected a mapping of names to arrays, got "
                        f"{type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save: keys must be strings, got {key!r}")
        arrays[key] = _as_array(key, value)
    atomic_write(path, lambda f: np.savez(f, **arrays), "save")


def _default_mode() -> int:
    """The permissions a plain open() would give a new file (0o666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike, write: Callable[[Any], Any] | bytes,
                 op: str = "write") -> None:
    """Write a file so that readers see the old content or the new, never a half file:
    into a temporary file in the same folder, flushed to disk, then renamed over `path`.
    `write` is the bytes, or a function that writes to the open binary file. The folder
    must exist; `op` names the caller in errors."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{op}: folder {folder} does not exist (writing {path})")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(write, (bytes, bytearray)):
                f.write(write)
            else:
                write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(path: str | os.PathLike) -> OrderedDict:
    """Read a file written by `save` -> OrderedDict name -> ndarray (text entries come
    back as str). Never unpickles; every error names the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path} is a folder, not a .npz file")
    out: OrderedDict = OrderedDict()
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("a single .npy array, not an .npz archive")
            for key in npz.files:
                arr = npz[key]
                out[key] = str(arr) if arr.dtype.kind == "U" and arr.ndim == 0 else arr
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        raise ValueError(f"load: {path} is not a readable .npz state dict "
                         f"(truncated or another format?): {e}") from None
    return out
