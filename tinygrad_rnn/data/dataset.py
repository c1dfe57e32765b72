"""Datasets: objects that return sample ``i`` and know how many samples they hold.

A dataset may also offer ``_get_batch(indices)``, returning a whole collated batch at once from an
integer NumPy array of indices. ``DataLoader`` uses it (when no ``collate_fn`` is given) instead of
fetching samples one by one: ``TensorDataset`` answers with one fancy-indexing call per tensor.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import random as _random
from ..tensor import Tensor


class Dataset:
    """Base class: subclasses define ``__getitem__(i)`` (sample ``i``) and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__()")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _as_index_array(indices, n, who):
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{who}: index out of range for a dataset of {n} samples "
                         f"(got indices from {idx.min()} to {idx.max()})")
    return idx


class TensorDataset(Dataset):
    """Sample ``i`` is ``tuple(t[i] for t in tensors)``.

    ``TensorDataset(X, y)`` with ``X: (N, ...)`` and ``y: (N, ...)``; every tensor must have the
    same first dimension N.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {i} is a {type(t).__name__}, expected a Tensor "
                                "(wrap arrays with tinygrad_rnn.tensor(...))")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a 0-d tensor; samples are taken "
                                 "along the first dimension, so every tensor needs at least one")
        sizes = [t.shape[0] for t in tensors]
        if any(s != sizes[0] for s in sizes):
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(f"TensorDataset: all tensors must have the same size in the first "
                             f"dimension (the number of samples), got shapes {shapes}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def _get_batch(self, indices):
        # One gather per tensor for the whole batch: no Python loop over samples.
        idx = _as_index_array(indices, len(self), "TensorDataset")
        return tuple(t[idx] for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = _as_index_array(indices, len(dataset), "Subset")

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)

    def _get_batch(self, indices):
        get = getattr(self.dataset, "_get_batch", None)
        if get is None:
            return NotImplemented
        return get(self.indices[_as_index_array(indices, len(self), "Subset")])


class ConcatDataset(Dataset):
    """Several datasets one after the other (``a + b`` for datasets)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"ConcatDataset: index {index} out of range for {n} samples")
        k = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


def _split_lengths(lengths, n):
    lengths = list(lengths)
    if all(isinstance(x, numbers.Integral) for x in lengths):
        if any(x < 0 for x in lengths) or sum(lengths) != n:
            raise ValueError(f"random_split: lengths {lengths} must be non-negative and sum to the "
                             f"dataset size {n}")
        return [int(x) for x in lengths]
    if any(not 0 <= x <= 1 for x in lengths) or not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        raise ValueError(f"random_split: fractions {lengths} must lie in [0, 1] and sum to 1")
    # Floor each share, then hand the leftover samples out one each, first split first (as PyTorch).
    out = [int(math.floor(n * f)) for f in lengths]
    for i in range(n - sum(out)):
        out[i % len(out)] += 1
    return out


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s.

    ``lengths`` are sample counts summing to ``len(dataset)`` or fractions summing to 1
    (``[0.8, 0.2]``). The permutation comes from ``generator`` or the seeded default generator.
    """
    n = len(dataset)
    sizes = _split_lengths(lengths, n)
    perm = (generator or _random.default_generator).numpy.permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
