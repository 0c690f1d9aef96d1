"""Data: the bundled 8x8 digits, MNIST readers (the text's CSV and IDX), the text's input
scaling and target encoding, and mini-batches.

Imports no other module of the package. Readers raise `DataError` (a ValueError) naming
the file and the 1-based line or record of the first problem.
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Iterator
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["load_digits", "load_mnist", "book_scale", "one_hot", "batches", "split_last",
           "DataError"]

DIGITS_FILE = "digits.csv.gz"


class DataError(ValueError):
    """A data file is malformed; the message names the file and where."""


# ----------------------------------------------------------------------------- files


def _open_bytes(path: str) -> bytes:
    """The file's bytes, gunzipped when it is gzip data (by its magic, not its name)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a folder, not a file") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: corrupt gzip data ({e})") from None
    return raw


# ----------------------------------------------------------------------------- CSV


def _parse_csv(text: str, path: str, label_first: bool, max_pixel: int) -> tuple:
    """Rows of integers -> (pixels uint8 (n, d), labels int64 (n,)). A first line whose
    first field is not a number is taken as a header and skipped."""
    lines = text.splitlines()
    start = 0
    if lines and not lines[0].split(",", 1)[0].strip().lstrip("-").isdigit():
        start = 1  # header row such as "label,1x1,1x2,..."
    while lines and not lines[-1].strip():
        lines.pop()
    rows = lines[start:]
    if not rows:
        raise DataError(f"{path}: no data rows")
    width = rows[0].count(",") + 1
    if width < 2:
        raise DataError(f"{path}: line {start + 1}: expected a label and pixel values "
                        f"separated by commas")
    for i, line in enumerate(rows):
        n = line.count(",") + 1
        if n != width:
            kind = "short" if n < width else "long"
            raise DataError(f"{path}: line {start + i + 1}: {kind} row with {n} values, "
                            f"expected {width} (a label and {width - 1} pixels)")
    try:
        flat = np.array(",".join(rows).split(","), dtype=np.int64)
    except (ValueError, OverflowError):  # find the first bad value, for the message
        _first_bad_value(rows, path, start, label_first, max_pixel)
        raise DataError(f"{path}: values that are not 64-bit integers") from None
    table = flat.reshape(len(rows), width)
    labels = table[:, 0] if label_first else table[:, -1]
    pixels = table[:, 1:] if label_first else table[:, :-1]
    bad = np.flatnonzero((labels < 0) | (labels > 9))
    if bad.size:
        raise DataError(f"{path}: line {start + bad[0] + 1}: label {labels[bad[0]]} is outside "
                        f"0-9")
    bad_rows = np.flatnonzero(((pixels < 0) | (pixels > max_pixel)).any(axis=1))
    if bad_rows.size:
        r = bad_rows[0]
        v = pixels[r][(pixels[r] < 0) | (pixels[r] > max_pixel)][0]
        raise DataError(f"{path}: line {start + r + 1}: pixel value {v} is outside "
                        f"0-{max_pixel}")
    return pixels.astype(np.uint8), labels.astype(np.int64)


def _first_bad_value(rows: list, path: str, start: int, label_first: bool,
                     max_pixel: int) -> None:
    """Raise DataError for the first value that is not an integer or is far out of range."""
    for i, line in enumerate(rows):
        values = line.split(",")
        for j, value in enumerate(values):
            try:
                v = int(value)
            except ValueError:
                raise DataError(f"{path}: line {start + i + 1}: {value.strip()!r} is not "
                                f"an integer") from None
            if not -(2**63) <= v < 2**63:
                is_label = j == (0 if label_first else len(values) - 1)
                what = "label" if is_label else "pixel value"
                limit = "0-9" if is_label else f"0-{max_pixel}"
                raise DataError(f"{path}: line {start + i + 1}: {what} {value.strip()} is "
                                f"outside {limit}")


def _read_text(path: str) -> str:
    raw = _open_bytes(path)
    if raw.startswith(b"\xef\xbb\xbf"):  # the byte-order mark some spreadsheets write
        raw = raw[3:]
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not text (a CSV of numbers was expected)") from None


# ----------------------------------------------------------------------------- IDX

_IDX_TYPES = {0x08: np.uint8}


def _read_idx(path: str, want_dims: int, magic: int) -> np.ndarray:
    raw = _open_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        kind = "images" if magic == 2051 else "labels"
        raise DataError(f"{path}: bad IDX magic number {got}, expected {magic} ({kind} file)")
    header = 4 + 4 * want_dims
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(want_dims)]
    per_record = math.prod(dims[1:])  # Python ints: a forged header cannot overflow
    if dims[0] == 0 or per_record == 0:
        raise DataError(f"{path}: the IDX header says {' x '.join(map(str, dims))}: no data")
    body = raw[header:]
    expected = dims[0] * per_record
    if len(body) != expected:
        complete = len(body) // max(per_record, 1)
        if len(body) < expected:
            raise DataError(f"{path}: truncated: header says {dims[0]} records, data ends in "
                            f"record {complete + 1}")
        raise DataError(f"{path}: {len(body) - expected} extra bytes after {dims[0]} records")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _labels_beside(images: str) -> str:
    folder, name = os.path.split(images)
    candidates = []
    for a, b in (("images", "labels"), ("idx3", "idx1")):
        name = name.replace(a, b)
    candidates.append(name)
    if name.endswith(".gz"):
        candidates.append(name[:-3])
    else:
        candidates.append(name + ".gz")
    for c in candidates:
        p = os.path.join(folder, c)
        if os.path.isfile(p):
            return p
    raise FileNotFoundError(f"{images}: no labels file beside it (looked for "
                            f"{', '.join(candidates)})")


def _idx_pair_in(folder: str) -> str:
    found = sorted(f for f in os.listdir(folder) if "idx3" in f or "images" in f)
    found = [f for f in found if os.path.isfile(os.path.join(folder, f))]
    if not found:
        raise FileNotFoundError(f"{folder}: no IDX images file (…images-idx3-ubyte[.gz]) in "
                                f"this folder")
    if len(found) > 1:
        raise DataError(f"{folder}: several IDX images files ({', '.join(found)}); give one "
                        f"of them as the path")
    return os.path.join(folder, found[0])


def _read_mnist_idx(images_path: str) -> tuple:
    labels_path = _labels_beside(images_path)
    images = _read_idx(images_path, 3, 2051)
    labels = _read_idx(labels_path, 1, 2049)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{images_path}: {images.shape[0]} images but {labels_path} has "
                        f"{labels.shape[0]} labels")
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise DataError(f"{labels_path}: record {bad[0] + 1}: label {labels[bad[0]]} is "
                        f"outside 0-9")
    return images.reshape(images.shape[0], -1).copy(), labels.astype(np.int64)


def load_mnist(path: str | os.PathLike) -> tuple:
    """Read MNIST-style digits -> (X uint8 (n, 784), y int64 (n,)).

    `path` is the text's CSV (`label,p1,...,p784` per line; a header line is skipped),
    an IDX images file (its labels file found beside it), or a folder holding one IDX
    pair; each may be gzip-compressed. Pixels must be integers 0-255, labels 0-9.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return _read_mnist_idx(_idx_pair_in(path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise DataError(f"{path}: not a regular file")
    raw = _open_bytes(path)
    if raw[:4] == (2051).to_bytes(4, "big"):
        return _read_mnist_idx(path)
    if raw[:4] == b"PK\x03\x04":
        raise DataError(f"{path}: is a zip archive (a saved model?), not an MNIST CSV or IDX "
                        f"file")
    if raw[:4] == (2049).to_bytes(4, "big"):
        raise DataError(f"{path}: is an IDX labels file; give the images file (the labels "
                        f"are found beside it)")
    return _parse_csv(_read_text(path), path, label_first=True, max_pixel=255)


# ----------------------------------------------------------------------------- digits


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> tuple:
    """The bundled 8x8 digits -> (X_train, y_train, X_test, y_test).

    X is float32 in [0, 1] (pixel counts 0-16 divided by 16), shape (n, 64); y is int64.
    The split is stratified (each class split 80/20) and fixed by `seed`.
    """
    path = resources.files("tinygrad_nn").joinpath("datasets", DIGITS_FILE)
    with resources.as_file(path) as p:
        pixels, labels = _parse_csv(_read_text(str(p)), str(p), label_first=False,
                                    max_pixel=16)
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in range(10):
        members = np.flatnonzero(labels == c)
        rng.shuffle(members)
        test_idx.append(members[: int(round(len(members) * test_fraction))])
    test_mask = np.zeros(len(labels), bool)
    test_mask[np.concatenate(test_idx)] = True
    X = (pixels.astype(np.float32) / 16.0).astype(np.float32)
    return X[~test_mask], labels[~test_mask], X[test_mask], labels[test_mask]


def split_last(X: np.ndarray, y: np.ndarray, fraction: float = 0.2,
               source: str | None = None) -> tuple:
    """(X_train, y_train, X_test, y_test) with the last `fraction` of rows as the test part;
    `source` (the file) names the data in errors."""
    n_test = int(round(len(X) * fraction))
    if n_test < 1 or n_test >= len(X):
        where = f"{source}: " if source else "split_last: "
        raise DataError(f"{where}{len(X)} sample{'s' if len(X) != 1 else ''} is too few to "
                        f"hold out the last {fraction:.0%} for testing (every part needs at "
                        f"least one)")
    return X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:]


# ----------------------------------------------------------------------------- encoding


def book_scale(X: np.ndarray, max_value: float = 255, dtype: Any = np.float32) -> np.ndarray:
    """The text's input scaling, X/max·0.99 + 0.01 -> in [0.01, 1.0]: no zero inputs, which
    would stop their weights from learning. float32 by default; `dtype=np.float64` computes
    the text's own expression, `X / max * 0.99 + 0.01`, operation for operation."""
    X = np.asarray(X)
    if max_value <= 0:
        raise ValueError(f"book_scale: max_value must be > 0, got {max_value}")
    if np.dtype(dtype) == np.float64:
        return X.astype(np.float64) / max_value * 0.99 + 0.01
    if np.dtype(dtype) != np.float32:
        raise TypeError(f"book_scale: dtype must be float32 or float64, got {np.dtype(dtype)}")
    return (X.astype(np.float32) * np.float32(0.99 / max_value) + np.float32(0.01)).astype(
        np.float32)


def one_hot(y: Any, num_classes: int = 10, off: float = 0.01, on: float = 0.99) -> np.ndarray:
    """Labels -> float32 target rows, `on` at the label and `off` elsewhere (the text uses
    0.01/0.99, because a sigmoid never reaches 0 or 1)."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise ValueError(f"one_hot: labels must be a 1-D array of ints, got dtype {y.dtype} "
                         f"and shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"one_hot: label {int(y.max() if y.max() >= num_classes else y.min())}"
                         f" is outside 0-{num_classes - 1}")
    out = np.full((len(y), num_classes), off, dtype=np.float32)
    out[np.arange(len(y)), y] = on
    return out


def batches(X: np.ndarray, y: np.ndarray, batch_size: int = 1, shuffle: bool = False,
            rng: Any = None) -> Iterator[tuple]:
    """Yield (X_batch, y_batch) slices; with `shuffle`, in an order drawn from `rng` (a seed
    or Generator), so runs are repeatable."""
    if len(X) != len(y):
        raise ValueError(f"batches: {len(X)} inputs but {len(y)} targets")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be >= 1, got {batch_size}")
    n = len(X)
    if shuffle:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        order = gen.permutation(n)
        X, y = X[order], y[order]
    for i in range(0, n, batch_size):
        yield X[i: i + batch_size], y[i: i + batch_size]
