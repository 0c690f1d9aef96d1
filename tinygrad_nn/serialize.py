"""Save and load checkpoints as `.npz` plus a JSON index: written atomically, read
without unpickling.

A checkpoint is a nest of dicts, lists and tuples holding Tensors, ndarrays, NumPy
scalars, Python numbers, strings, bools and None, e.g. `{"model": m.state_dict(),
"optimizer": opt.state_dict(), "epoch": 3}`. Every array is an `.npy` member of the zip
(named by its place, so `np.load(path)["0.weight"]` works for a plain state dict); the
member `__index__` holds the structure as JSON, so `load` gives back exactly what went in:
int keys stay ints, tuples stay tuples, Tensors come back as Tensors (requires_grad kept),
arrays as arrays, NumPy scalars as NumPy scalars, dtypes kept. Files written before the
index existed (a flat state dict) still load, as an OrderedDict of arrays and strings.

Imports no other module of the package: tensors are recognised by duck typing (a `.data`
ndarray and `.requires_grad`), and the package registers the classes `load` rebuilds
(`register_tensor_type`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import tempfile
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["save", "load", "atomic_write", "register_tensor_type",
           "remove_stale_temp_files"]

FORMAT = "tinygrad-nn checkpoint"
VERSION = 1
INDEX = "__index__"
_ARRAY_KINDS = "biufcU"  # what np.load reads back without unpickling

# name -> (class, make(array, requires_grad)); the package registers Tensor and Parameter
_TENSOR_TYPES: dict = {}


def register_tensor_type(name: str, cls: type, make: Callable[[np.ndarray, bool], Any]) -> None:
    """Let `save` record values of `cls` as `name` and `load` rebuild them with `make`."""
    _TENSOR_TYPES[name] = (cls, make)


def _place(path: tuple) -> str:
    """("optimizer", "state", 0) -> obj["optimizer"]["state"][0]"""
    return "obj" + "".join(f"[{json.dumps(k) if isinstance(k, str) else k}]" for k in path)


def _tensor_kind(value: Any) -> str | None:
    for name, (cls, _) in _TENSOR_TYPES.items():
        if type(value) is cls:
            return name
    for name, (cls, _) in _TENSOR_TYPES.items():
        if isinstance(value, cls):
            return name
    if isinstance(getattr(value, "data", None), np.ndarray) and hasattr(value, "requires_grad"):
        return "Tensor"
    return None


class _Encoder:
    """Walks a nest, collecting its arrays under unique member names and building the
    JSON description of the structure."""

    def __init__(self) -> None:
        self.arrays: dict = {}
        self._active: set = set()

    def _member(self, path: tuple, arr: np.ndarray) -> str:
        if arr.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"save: {_place(path)} is an array of dtype {arr.dtype}; only "
                            f"numeric, bool and text arrays can be saved")
        base = "/".join(str(k) for k in path) or "root"
        name, i = base, 1
        while name in self.arrays or name == INDEX:
            name, i = f"{base}~{i}", i + 1
        self.arrays[name] = arr
        return name

    def encode(self, value: Any, path: tuple) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):  # before float: np.float64 is a float
            return {"t": "scalar", "m": self._member(path, np.asarray(value))}
        if isinstance(value, (int, float)):
            return value if type(value) in (int, float) else (
                int(value) if isinstance(value, int) else float(value))
        if isinstance(value, np.ndarray):
            return {"t": "array", "m": self._member(path, value)}
        kind = _tensor_kind(value)
        if kind is not None:
            return {"t": "tensor", "kind": kind, "m": self._member(path, np.asarray(value.data)),
                    "requires_grad": bool(value.requires_grad)}
        if isinstance(value, (Mapping, list, tuple)):
            if id(value) in self._active:
                raise ValueError(f"save: {_place(path)} contains itself")
            self._active.add(id(value))
            try:
                return self._container(value, path)
            finally:
                self._active.discard(id(value))
        raise TypeError(f"save: {_place(path)} is a {type(value).__name__}; a checkpoint "
                        f"holds dicts, lists, tuples, tensors, arrays, numbers, strings, "
                        f"bools and None")

    def _container(self, value: Any, path: tuple) -> dict:
        if isinstance(value, Mapping):
            items = []
            for k, v in value.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise TypeError(f"save: {_place(path)} has a key {k!r} of type "
                                    f"{type(k).__name__}; keys must be strings or ints")
                items.append([k, self.encode(v, (*path, k))])
            return {"t": "odict" if isinstance(value, OrderedDict) else "dict", "items": items}
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"t": kind, "items": [self.encode(v, (*path, i)) for i, v in enumerate(value)]}


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write a checkpoint (a state dict, or any nest of dicts, lists and tuples of tensors,
    arrays, numbers, strings, bools and None) to `path` as `.npz`.

    The whole nest is checked first: an unsupported value raises TypeError naming its
    place (`obj["optimizer"]["state"][0]["x"] is a set`) and writes nothing. The file is
    written to a temporary name in the same folder and renamed into place, so an
    interrupted save never leaves a half-written file where the old one was. The folder
    must exist (nothing is created).
    """
    enc = _Encoder()
    root = enc.encode(obj, ())
    index = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    arrays = {**enc.arrays, INDEX: np.array(index)}
    atomic_write(path, lambda f: np.savez(f, **arrays), "save")


def _default_mode() -> int:
    """The permissions a plain open() would give a new file (0o666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


# Temporary files are named `.tmp-PID-RANDOM-NAME` (NAME: the target's file name, or a hash
# of it when long), so a save killed before its rename leaves a file that the next save to
# the same path can recognise as its own and remove.
_TEMP = re.compile(r"^\.tmp-(\d+)-([a-z0-9_]+)-(.+)$")
_STARTED = time.time()  # temp files older than this process and of a dead one are stale


def _temp_tag(path: str) -> str:
    name = os.path.basename(path)
    return name if len(name) <= 200 else hashlib.sha256(os.fsencode(name)).hexdigest()[:16]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return pid > 0  # exists but is not ours, or cannot tell: leave its file alone
    return True


def remove_stale_temp_files(path: str | os.PathLike) -> list:
    """Remove temporary files that earlier, killed writes to `path` left beside it: only
    names of this module's pattern for the same target, older than this process, made by
    a process that is gone. Returns the names removed."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tag = _temp_tag(path)
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _TEMP.match(name)
        if m is None or m.group(3) != tag:
            continue
        full = os.path.join(folder, name)
        try:
            st = os.lstat(full)
            pid = int(m.group(1))
            if (not stat.S_ISREG(st.st_mode) or st.st_mtime >= _STARTED
                    or (pid != os.getpid() and _alive(pid))):
                continue
            os.unlink(full)
            removed.append(name)
        except (OSError, ValueError):
            continue
    return removed


def _write_error(e: OSError, op: str, path: str, existed: bool) -> OSError:
    """The OSError of a failed write, retold with the file and what became of it."""
    kept = "the old file is unchanged" if existed else "nothing was written"
    reason = e.strerror or str(e)
    err = type(e)(e.errno, f"{op}: cannot write {path}: {reason}; {kept}")
    err.filename = path
    return err


def atomic_write(path: str | os.PathLike, write: Callable[[Any], Any] | bytes,
                 op: str = "write") -> None:
    """Write a file so that readers see the old content or the new, never a half file:
    into a temporary file in the same folder, flushed to disk, then renamed over `path`.
    `write` is the bytes, or a function that writes to the open binary file. The folder
    must exist; `op` names the caller in errors, which also name the file (disk full,
    file-size limit, no permission). Temp files of earlier killed writes are removed."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{op}: folder {folder} does not exist (writing {path})")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{op}: {path} is a folder; give a file name")
    existed = os.path.exists(path)
    remove_stale_temp_files(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", suffix=f"-{_temp_tag(path)}",
                                   dir=folder)
    except OSError as e:
        raise _write_error(e, op, path, existed) from None
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
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _write_error(e, op, path, existed) from None
        raise
    _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    """Flush the rename to disk too (POSIX; elsewhere a no-op)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One `.npy` member -> array, its header checked against its size before anything is
    allocated (a header may claim a huge array), never unpickling."""
    with zf.open(info) as m:
        version = np.lib.format.read_magic(m)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(m)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(m)
        else:
            raise ValueError(f"npy format version {version} is not supported")
        if dtype.hasobject:
            raise ValueError("it holds Python objects, which would need unpickling")
        count = math.prod(shape)
        need = count * dtype.itemsize
        have = info.file_size - m.tell()
        if need != have:
            raise ValueError(f"its header says {shape} {dtype} ({need:,} bytes) but it holds "
                             f"{have:,} bytes")
        body = m.read(need)
    if len(body) != need:
        raise ValueError(f"it ends after {len(body):,} of {need:,} bytes")
    arr = np.frombuffer(body, dtype=dtype, count=count).copy()
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def _read_npz(path: str) -> OrderedDict:
    """The arrays of an .npz archive by name, every member checked; errors name the file."""
    with open(path, "rb") as f:
        head = f.read(6)
    if head == b"\x93NUMPY":
        raise ValueError(f"load: {path} is a single .npy array, not an .npz archive (as "
                         f"save writes)")
    out: OrderedDict = OrderedDict()
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                if not info.filename.endswith(".npy"):
                    raise ValueError(f"load: {path}: member {info.filename!r} is not an "
                                     f"array (.npy)")
                key = info.filename[:-4]
                try:
                    out[key] = _read_member(zf, info)
                except Exception as e:
                    raise ValueError(f"load: {path}: entry {key!r} is not readable: "
                                     f"{' '.join(str(e).split())}") from None
    except zipfile.BadZipFile as e:
        raise ValueError(f"load: {path} is not a readable .npz state dict (truncated or "
                         f"another format?): {e}") from None
    except ValueError:
        raise
    except Exception as e:  # zlib.error, EOFError, encrypted or odd zips, ...
        raise ValueError(f"load: {path} is not a readable .npz state dict (truncated or "
                         f"another format?): {type(e).__name__}: {e}") from None
    return out


def load(path: str | os.PathLike) -> Any:
    """Read a file written by `save` and return what was saved, exactly (a file from
    before checkpoints had an index gives an OrderedDict name -> ndarray, text entries
    as str). Never unpickles; every member is checked against its size before it is
    read; every error names the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path} is a folder, not a .npz file")
    if not os.path.isfile(path):
        raise ValueError(f"load: {path} is not a regular file")
    arrays = _read_npz(path)
    if INDEX in arrays:
        try:
            return _decode_file(arrays, path)
        except (ValueError, KeyError, RecursionError) as e:
            raise ValueError(f"load: {path} is not a readable .npz state dict "
                             f"(truncated or another format?): {e}") from None
    for key, arr in arrays.items():
        if arr.dtype.kind == "U" and arr.ndim == 0:
            arrays[key] = str(arr)
    return arrays


def _decode_file(npz: Any, path: str) -> Any:
    try:
        index = json.loads(str(npz[INDEX]))
        if not isinstance(index, dict) or index.get("format") != FORMAT:
            raise ValueError("its index is not a tinygrad-nn checkpoint index")
        if index.get("version") != VERSION:
            raise ValueError(f"checkpoint version {index.get('version')!r} is not "
                             f"{VERSION} (written by a newer tinygrad-nn?)")
        return _decode(index["root"], npz)
    except (json.JSONDecodeError, KeyError, TypeError, IndexError) as e:
        raise ValueError(f"damaged index ({type(e).__name__}: {e})") from None


def _decode(node: Any, npz: Any) -> Any:
    if not isinstance(node, dict):
        return node  # None, bool, int, float, str
    t = node["t"]
    if t in ("dict", "odict"):
        items = ((k, _decode(v, npz)) for k, v in node["items"])
        return OrderedDict(items) if t == "odict" else dict(items)
    if t == "list":
        return [_decode(v, npz) for v in node["items"]]
    if t == "tuple":
        return tuple(_decode(v, npz) for v in node["items"])
    arr = npz[node["m"]]
    if t == "array":
        return arr
    if t == "scalar":
        return arr[()]
    if t == "tensor":
        kind = node["kind"] if node["kind"] in _TENSOR_TYPES else "Tensor"
        if kind not in _TENSOR_TYPES:
            return arr
        return _TENSOR_TYPES[kind][1](arr, bool(node["requires_grad"]))
    raise ValueError(f"unknown entry type {t!r} in the index")
