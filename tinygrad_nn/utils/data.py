"""Datasets and mini-batches, as `torch.utils.data`: Dataset, TensorDataset, Subset,
random_split, the samplers and DataLoader.

Everything random draws from the generator `manual_seed` seeds, unless a `generator=`
(a `numpy.random.Generator`) is given; a shuffling DataLoader draws a fresh order at the
start of every epoch, so each sample comes once per epoch.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor, from_numpy
from .._tensor import generator as _global_generator

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "Sampler",
           "SequentialSampler", "RandomSampler", "BatchSampler", "DataLoader",
           "default_collate"]


def _as_tensor(arr: np.ndarray) -> Tensor:
    """A tensor that keeps the array's dtype (int64 labels stay int64)."""
    a = np.asarray(arr)
    return from_numpy(a if a.flags.c_contiguous else a.copy())


def _generator(gen: Any) -> np.random.Generator:
    if gen is None:
        return _global_generator()
    if not isinstance(gen, np.random.Generator):
        raise TypeError(f"generator must be a numpy.random.Generator, got "
                        f"{type(gen).__name__}")
    return gen


# ----------------------------------------------------------------------------- datasets


class Dataset:
    """A map-style data set: `dataset[i]` gives sample i; `len(dataset)` their number."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows of the given tensors (or arrays), which share their first size:
    `dataset[i] == (tensors[0][i], tensors[1][i], ...)`."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else _as_tensor(np.asarray(t))
                             for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first "
                             f"dimensions {[t.shape[:1] for t in self.tensors]}")

    def __getitem__(self, index: Any) -> tuple:
        return tuple(_as_tensor(t.data[index]) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = list(indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several data sets one after another."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)}")
        i = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[i - 1] if i else 0
        return self.datasets[i][index - start]


def random_split(dataset: Any, lengths: Sequence[int | float],
                 generator: np.random.Generator | None = None) -> list:
    """Split `dataset` into non-overlapping random Subsets of the given lengths (or
    fractions summing to 1, the remainder handed out one by one as PyTorch does)."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 "
                                 f"and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              f"empty dataset.", UserWarning, stacklevel=2)
        lengths = sizes
    if any(int(k) != k or k < 0 for k in lengths):
        raise ValueError(f"random_split: lengths must be whole numbers >= 0 or fractions "
                         f"summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not "
                         f"equal the length of the input dataset ({n})")
    order = _generator(generator).permutation(n).tolist()
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, order[start: start + int(k)]))
        start += int(k)
    return out


# ----------------------------------------------------------------------------- samplers


class Sampler:
    """Yields dataset indices."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError  # pragma: no cover


class SequentialSampler(Sampler):
    """0, 1, ..., len−1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices, fresh at each iteration (or `num_samples`
    draws with replacement)."""

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _order(self) -> np.ndarray:
        """This iteration's indices as an array (one draw from the generator)."""
        gen, n = _generator(self.generator), len(self.data_source)
        if self.replacement:
            return gen.integers(0, n, self.num_samples)
        if self.num_samples == n:
            return gen.permutation(n)
        reps = -(-self.num_samples // n)
        return np.concatenate([gen.permutation(n) for _ in range(reps)])[: self.num_samples]

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size`."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ----------------------------------------------------------------------------- loader


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, as PyTorch's default_collate: tensors and
    arrays are stacked into a Tensor (dtype kept); Python ints → int64, floats →
    float64, bools → bool tensors; tuples and lists are collated field by field into a
    list, dicts key by key; strings stay a list."""
    first = batch[0]
    if isinstance(first, Tensor):
        return _as_tensor(np.stack([t.data for t in batch]))
    if isinstance(first, (np.ndarray, np.generic)):
        return _as_tensor(np.stack([np.asarray(a) for a in batch]))
    if isinstance(first, bool):
        return _as_tensor(np.array(batch, dtype=bool))
    if isinstance(first, int):
        return _as_tensor(np.array(batch, dtype=np.int64))
    if isinstance(first, float):
        return _as_tensor(np.array(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        return {k: default_collate([s[k] for s in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in batch):
            raise RuntimeError("default_collate: each element in the batch should be of "
                               "equal size")
        return [default_collate(list(f)) for f in zip(*batch)]  # a list, as PyTorch
    raise TypeError(f"default_collate: batch must contain tensors, arrays, numbers, dicts "
                    f"or lists; found {type(first).__name__}")


class DataLoader:
    """Iterate over `dataset` in batches: `for x, y in DataLoader(ds, batch_size=64,
    shuffle=True)`. With `shuffle`, the order is drawn afresh each epoch from `generator`
    (default: the generator `manual_seed` seeds). Batches of a TensorDataset are sliced
    out of its tensors in one step. `num_workers` is accepted and ignored (loading runs
    in this process)."""

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Any = None,
                 multiprocessing_context: Any = None, generator: Any = None) -> None:
        if generator is not None:
            _generator(generator)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive "
                                 "with batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and "
                             "is mutually exclusive with drop_last")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self._auto = collate_fn is None

    def __iter__(self) -> Iterator[Any]:
        ds = self.dataset
        if self.batch_sampler is None:  # no auto-batching: samples one by one
            for i in self.sampler:
                yield self.collate_fn(ds[i]) if self.collate_fn else ds[i]
            return
        bs = self.batch_sampler
        if (self._auto and type(ds) is TensorDataset and type(bs) is BatchSampler
                and type(bs.sampler) in (SequentialSampler, RandomSampler)):
            # a TensorDataset's batches are slices of one index array: one indexing copy
            # per tensor and batch, instead of a list of rows stacked (5x less overhead
            # per batch of one sample)
            order = (np.arange(len(ds)) if type(bs.sampler) is SequentialSampler
                     else bs.sampler._order())
            arrays = [t.data for t in ds.tensors]
            size = bs.batch_size
            end = len(order) - len(order) % size if bs.drop_last else len(order)
            for i in range(0, end, size):
                rows = order[i: i + size]
                yield [from_numpy(a[rows]) for a in arrays]
            return
        for idx in bs:
            yield (self.collate_fn or default_collate)([ds[i] for i in idx])

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)
