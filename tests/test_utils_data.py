"""utils.data: datasets, random_split, samplers and DataLoader (coverage, seeding, dtypes)."""

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import Tensor
from tinygrad_nn.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def _ds(n=10):
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(Tensor(X), y)


def test_tensor_dataset_rows_and_dtypes():
    ds = _ds()
    assert len(ds) == 10
    x, y = ds[3]
    np.testing.assert_array_equal(x.data, [9, 10, 11])
    assert y.data.dtype == np.int64 and int(y.data) == 3
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))


@pytest.mark.parametrize("n, bs, drop_last", [(10, 3, False), (10, 3, True), (10, 5, False),
                                              (7, 10, False), (7, 10, True), (1, 1, False)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_sample_once_per_epoch(n, bs, drop_last, shuffle):
    loader = DataLoader(_ds(n), batch_size=bs, shuffle=shuffle, drop_last=drop_last,
                        generator=np.random.default_rng(0))
    expect_batches = n // bs if drop_last else -(-n // bs)
    assert len(loader) == expect_batches
    epochs = []
    for _ in range(3):
        ys = []
        batches = list(loader)
        assert len(batches) == expect_batches
        for x, y in batches:
            assert isinstance(x, Tensor) and isinstance(y, Tensor)
            assert x.data.dtype == np.float32 and y.data.dtype == np.int64
            assert x.shape == (len(y), 3) and len(y) == bs or (not drop_last and len(y) < bs)
            np.testing.assert_array_equal(x.data[:, 0], y.data * 3)  # rows stay paired
            ys.extend(y.data.tolist())
        if drop_last:
            assert len(ys) == (n // bs) * bs and len(set(ys)) == len(ys)
        else:
            assert sorted(ys) == list(range(n))
        epochs.append(ys)
    if shuffle and len(epochs[0]) > 3:
        assert epochs[0] != epochs[1]  # a fresh order each epoch
    if not shuffle:
        assert epochs[0] == list(range(len(epochs[0])))


def test_shuffle_is_seeded_by_generator_and_by_manual_seed():
    def orders(**kw):
        loader = DataLoader(_ds(20), batch_size=4, shuffle=True, **kw)
        return [np.concatenate([y.data for _, y in loader]).tolist() for _ in range(2)]

    a = orders(generator=np.random.default_rng(5))
    b = orders(generator=np.random.default_rng(5))
    assert a == b
    tg.manual_seed(3)
    c = orders()
    tg.manual_seed(3)
    d = orders()
    assert c == d and c != a
    # the order is the generator's permutation, epoch after epoch
    rng = np.random.default_rng(5)
    assert a == [rng.permutation(20).tolist(), rng.permutation(20).tolist()]
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(_ds(), shuffle=True, generator=7)


class Squares(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float64), "label": i, "w": 0.5 * i,
                "odd": bool(i % 2), "name": f"s{i}"}


def test_default_collate_like_torch():
    batch = next(iter(DataLoader(Squares(), batch_size=4)))
    assert batch["x"].shape == (4, 2) and batch["x"].data.dtype == np.float64
    assert batch["label"].data.dtype == np.int64
    assert batch["w"].data.dtype == np.float64
    assert batch["odd"].data.dtype == np.bool_
    assert batch["name"] == ["s0", "s1", "s2", "s3"]
    out = default_collate([(1, 2.0), (3, 4.0)])
    assert isinstance(out, list) and out[0].data.tolist() == [1, 3]


def test_batch_size_none_and_custom_collate_and_samplers():
    ds = _ds(4)
    items = list(DataLoader(ds, batch_size=None))
    assert len(items) == 4 and items[2][1].data.tolist() == 2
    got = list(DataLoader(ds, batch_size=2, collate_fn=lambda b: len(b)))
    assert got == [2, 2]
    bs = BatchSampler(range(5), 2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    loader = DataLoader(ds, batch_sampler=[[3, 0], [1]])
    assert [y.data.tolist() for _, y in loader] == [[3, 0], [1]]
    rs = RandomSampler(range(5), replacement=True, num_samples=12,
                       generator=np.random.default_rng(0))
    assert len(list(rs)) == 12
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, shuffle=True, sampler=[0, 1])


def test_random_split_lengths_fractions_and_seed():
    ds = _ds(10)
    a, b = random_split(ds, [7, 3], generator=np.random.default_rng(0))
    assert isinstance(a, Subset) and (len(a), len(b)) == (7, 3)
    assert sorted(a.indices + b.indices) == list(range(10))
    assert a.indices == np.random.default_rng(0).permutation(10)[:7].tolist()
    parts = random_split(range(11), [0.5, 0.3, 0.2], generator=np.random.default_rng(1))
    assert [len(p) for p in parts] == [6, 3, 2]  # floors 5, 3, 2 → remainder 1 to the first
    tg.manual_seed(2)
    c = random_split(ds, [5, 5])[0].indices
    tg.manual_seed(2)
    assert random_split(ds, [5, 5])[0].indices == c
    with pytest.raises(ValueError, match="sum of input lengths"):
        random_split(ds, [5, 4])
    x, y = a[0]
    assert int(y.data) == a.indices[0]
    loader = DataLoader(a, batch_size=3)
    assert sorted(np.concatenate([y.data for _, y in loader]).tolist()) == sorted(a.indices)


def test_random_split_fraction_sizes_match_torch():
    torch = pytest.importorskip("torch")
    for n, fr in [(11, [0.5, 0.3, 0.2]), (7, [0.1, 0.9]), (100, [0.33, 0.33, 0.34]),
                  (5, [0.25, 0.25, 0.25, 0.25])]:
        ours = [len(p) for p in random_split(range(n), fr, np.random.default_rng(0))]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fr)]
        assert ours == theirs


def test_concat_dataset():
    cat = _ds(3) + _ds(2)
    assert isinstance(cat, ConcatDataset) and len(cat) == 5
    assert int(cat[3][1].data) == 0 and int(cat[-1][1].data) == 1
    with pytest.raises(IndexError):
        cat[5]


@pytest.mark.parametrize("kw", [dict(), dict(shuffle=True), dict(shuffle=True, drop_last=True)])
def test_tensor_dataset_fast_path_equals_the_general_path(kw):
    ds = _ds(11)
    fast = DataLoader(ds, batch_size=3, generator=np.random.default_rng(4), **kw)
    slow = DataLoader(ds, batch_size=3, generator=np.random.default_rng(4),
                      collate_fn=default_collate, **kw)
    for _ in range(2):
        for (xa, ya), (xb, yb) in zip(fast, slow, strict=True):
            np.testing.assert_array_equal(xa.data, xb.data)
            assert ya.data.dtype == yb.data.dtype and ya.data.tolist() == yb.data.tolist()
