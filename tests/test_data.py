"""Loaders on small files written by the tests: CSV, IDX, gzip, every malformed case."""

import gzip
import os

import numpy as np
import pytest

from tinygrad_nn import data as D

MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


def write_csv(path, rows, header=None):
    lines = ([header] if header else []) + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def sample_rows(n=5, width=784, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    pixels = rng.integers(0, 256, (n, width))
    return labels, pixels, [[int(lab), *map(int, px)] for lab, px in zip(labels, pixels)]


def write_idx(folder, images, labels, prefix="t10k", gz=False, magic_images=2051):
    n, r, c = images.shape
    img = (magic_images.to_bytes(4, "big") + n.to_bytes(4, "big") + r.to_bytes(4, "big")
           + c.to_bytes(4, "big") + images.astype(np.uint8).tobytes())
    lab = (2049).to_bytes(4, "big") + len(labels).to_bytes(4, "big") + bytes(labels)
    suffix = ".gz" if gz else ""
    ip = folder / f"{prefix}-images-idx3-ubyte{suffix}"
    lp = folder / f"{prefix}-labels-idx1-ubyte{suffix}"
    ip.write_bytes(gzip.compress(img) if gz else img)
    lp.write_bytes(gzip.compress(lab) if gz else lab)
    return ip, lp


def test_load_digits_split():
    Xtr, ytr, Xte, yte = D.load_digits()
    assert Xtr.shape == (1438, 64) and Xte.shape == (359, 64)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert 0 <= Xtr.min() and Xtr.max() <= 1.0
    counts = np.bincount(np.concatenate([ytr, yte]))
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    np.testing.assert_allclose(np.bincount(yte) / counts, 0.2, atol=0.01)  # stratified
    again = D.load_digits()
    np.testing.assert_array_equal(again[0], Xtr)  # fixed split


@pytest.mark.parametrize("gz", [False, True])
def test_csv_round_trip(tmp_path, gz):
    labels, pixels, rows = sample_rows()
    path = write_csv(tmp_path / "m.csv", rows)
    if gz:
        gz_path = tmp_path / "m.csv.gz"
        gz_path.write_bytes(gzip.compress(path.read_bytes()))
        path = gz_path
    X, y = D.load_mnist(path)
    assert X.dtype == np.uint8 and y.dtype == np.int64 and X.shape == (5, 784)
    np.testing.assert_array_equal(X, pixels)
    np.testing.assert_array_equal(y, labels)


def test_csv_header_is_skipped(tmp_path):
    _, pixels, rows = sample_rows(3)
    X, _ = D.load_mnist(write_csv(tmp_path / "h.csv", rows, header="label,1x1,1x2"))
    np.testing.assert_array_equal(X, pixels)


@pytest.mark.parametrize("mutate, message", [
    (lambda rows: rows[2].pop(), r"line 3: short row with 784 values, expected 785"),
    (lambda rows: rows[1].append(7), r"line 2: long row"),
    (lambda rows: rows[3].__setitem__(5, "x7"), r"line 4: 'x7' is not an integer"),
    (lambda rows: rows[0].__setitem__(0, 12), r"line 1: label 12 is outside 0-9"),
    (lambda rows: rows[4].__setitem__(9, 300), r"line 5: pixel value 300 is outside 0-255"),
])
def test_csv_errors_name_file_and_line(tmp_path, mutate, message):
    _, _, rows = sample_rows()
    mutate(rows)
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(D.DataError, match="bad.csv: " + message):
        D.load_mnist(path)


def test_empty_and_binary_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(D.DataError, match="empty.csv"):
        D.load_mnist(tmp_path / "empty.csv")
    (tmp_path / "bin.csv").write_bytes(b"1,2\n\xff\xfe")
    with pytest.raises(D.DataError, match="bin.csv: line 2"):
        D.load_mnist(tmp_path / "bin.csv")
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        D.load_mnist(tmp_path / "nothere.csv")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_file_and_folder(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28))
    labels = rng.integers(0, 10, 7).astype(np.uint8)
    ip, _ = write_idx(tmp_path, images, labels, gz=gz)
    for path in (ip, tmp_path):
        X, y = D.load_mnist(path)
        assert X.shape == (7, 784) and X.dtype == np.uint8 and y.dtype == np.int64
        np.testing.assert_array_equal(X, images.reshape(7, -1))
        np.testing.assert_array_equal(y, labels)


def test_idx_errors(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 28, 28))
    ip, lp = write_idx(tmp_path, images, np.array([1, 2, 3, 4], np.uint8))
    # counts that differ
    lp.write_bytes((2049).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([1, 2, 3]))
    with pytest.raises(D.DataError, match="4 images but .*labels.* has 3 labels"):
        D.load_mnist(ip)
    # label out of range, named by record
    lp.write_bytes((2049).to_bytes(4, "big") + (4).to_bytes(4, "big") + bytes([1, 2, 11, 4]))
    with pytest.raises(D.DataError, match="record 3: label 11"):
        D.load_mnist(ip)
    # truncated images
    ip.write_bytes(ip.read_bytes()[:-100])
    with pytest.raises(D.DataError, match="truncated.*record 4"):
        D.load_mnist(ip)
    # a labels file given as images
    with pytest.raises(D.DataError, match="labels file"):
        D.load_mnist(lp)


def test_idx_bad_magic_and_missing_labels(tmp_path):
    images = np.zeros((2, 28, 28), np.uint8)
    sub = tmp_path / "a"
    sub.mkdir()
    ip, lp = write_idx(sub, images, np.array([1, 2], np.uint8))
    lp.unlink()
    with pytest.raises(FileNotFoundError, match="no labels file"):
        D.load_mnist(ip)
    sub2 = tmp_path / "b"
    sub2.mkdir()
    ip2, lp2 = write_idx(sub2, images, np.array([1, 2], np.uint8))
    lp2.write_bytes((1234).to_bytes(4, "big") + lp2.read_bytes()[4:])
    with pytest.raises(D.DataError, match="bad IDX magic number 1234, expected 2049"):
        D.load_mnist(ip2)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no IDX images file"):
        D.load_mnist(empty)


def test_book_scale_and_one_hot():
    X = np.array([[0, 255]], np.uint8)
    s = D.book_scale(X)
    assert s.dtype == np.float32
    np.testing.assert_allclose(s, [[0.01, 1.0]], rtol=1e-6)
    t = D.one_hot(np.array([2, 0]), 3)
    np.testing.assert_allclose(t, [[0.01, 0.01, 0.99], [0.99, 0.01, 0.01]])
    assert t.dtype == np.float32
    with pytest.raises(ValueError, match="outside"):
        D.one_hot(np.array([10]))


def test_batches_cover_everything_and_shuffle_repeatably():
    X, y = np.arange(10)[:, None], np.arange(10)
    got = list(D.batches(X, y, 3))
    assert [len(b[1]) for b in got] == [3, 3, 3, 1]
    a = np.concatenate([b[1] for b in D.batches(X, y, 4, shuffle=True, rng=1)])
    b = np.concatenate([b[1] for b in D.batches(X, y, 4, shuffle=True, rng=1)])
    assert sorted(a) == list(range(10)) and (a == b).all() and (a != np.arange(10)).any()


@pytest.mark.skipif(not os.path.isdir(MNIST), reason="the MNIST test set is not here")
def test_real_mnist_idx():
    X, y = D.load_mnist(MNIST)
    assert X.shape == (10000, 784) and np.bincount(y).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("row, message", [
    ("1,99999999999999999999999,2", "line 2: pixel value 99999999999999999999999 is outside"),
    ("99999999999999999999999,1,2", "line 2: label 99999999999999999999999 is outside 0-9"),
])
def test_csv_values_beyond_int64_name_file_and_line(tmp_path, row, message):
    path = tmp_path / "big.csv"
    path.write_text("1,2,3\n" + row + "\n")
    with pytest.raises(D.DataError, match="big.csv: " + message):
        D.load_mnist(path)


def test_csv_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + b"label,a,b\n3,1,2\n4,5,6\n")
    X, y = D.load_mnist(path)
    assert y.tolist() == [3, 4] and X.tolist() == [[1, 2], [5, 6]]


def test_idx_header_with_an_overflowing_size(tmp_path):
    images = tmp_path / "forged-images-idx3-ubyte"
    images.write_bytes((2051).to_bytes(4, "big") + b"".join(
        n.to_bytes(4, "big") for n in (0, 2**32 - 1, 2**32 - 1)))
    (tmp_path / "forged-labels-idx1-ubyte").write_bytes((2049).to_bytes(4, "big") + bytes(4))
    with pytest.raises(D.DataError, match="forged-images-idx3-ubyte: the IDX header says"):
        D.load_mnist(images)


def test_split_last_names_the_source():
    X, y = np.zeros((1, 4)), np.zeros(1, np.int64)
    with pytest.raises(D.DataError, match="one.csv: 1 sample is too few"):
        D.split_last(X, y, 0.2, source="one.csv")
