"""DistributedSampler: each rank reads its own share of a dataset, the same number of samples each.

``DistributedSampler(dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
drop_last=False)`` (PyTorch's ``torch.utils.data.distributed.DistributedSampler``). Every epoch
all ranks build the same order of ``0 .. N-1`` (a permutation drawn from a generator seeded with
``seed + epoch``, so call ``set_epoch(epoch)`` at the start of each epoch to reshuffle), make its
length a multiple of the number of ranks R, and rank r takes positions ``r, r + R, r + 2R, ...``.
To reach a multiple of R the order is padded by repeating its first indices (so a few samples are
seen twice per epoch), or with ``drop_last=True`` cut to the largest multiple (a few samples are
not seen that epoch). The shards are disjoint apart from that padding and together cover the
dataset.

    sampler = DistributedSampler(dataset)               # rank and R from the process group
    loader = DataLoader(dataset, batch_size=32, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader: ...
"""
from __future__ import annotations

import math

import numpy as np

from ..random import Generator


class DistributedSampler:
    """This rank's indices of ``dataset``: ``len(sampler)`` = ``ceil(N / R)`` per epoch, or
    ``ceil((N - R) / R)`` with ``drop_last=True`` when R does not divide N (PyTorch's counts).
    ``num_replicas`` and ``rank`` default to the process group's. See the module docstring."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:     # from the process group (an error before init)
            from .. import distributed as dist
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, "
                             f"got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % num_replicas != 0:
            # the largest equal split that drops fewer than R samples
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def _epoch_indices(self) -> np.ndarray:
        """This rank's indices for the current epoch as an int64 array (what ``__iter__`` yields)."""
        n = len(self.dataset)
        if self.shuffle:
            order = Generator(self.seed + self.epoch).numpy.permutation(n).astype(np.int64)
        else:
            order = np.arange(n, dtype=np.int64)
        if self.total_size > n:           # pad by repeating the order from its start
            order = np.resize(order, self.total_size)
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next epoch's order depend on ``epoch`` (the same on every rank)."""
        self.epoch = int(epoch)

    def __repr__(self):
        return (f"DistributedSampler(num_replicas={self.num_replicas}, rank={self.rank}, "
                f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})")
