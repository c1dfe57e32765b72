"""DataLoader: a dataset -> an iterable of batches, optionally shuffled, resumable mid-epoch.

Shuffling follows PyTorch: each epoch (each ``iter(loader)``) draws one 64-bit seed from
``generator`` (or from the default generator, seeded by ``tinygrad_rnn.manual_seed``) and builds
the epoch's permutation from it. A seeded run therefore repeats exactly, and the loader's place in
an epoch is two numbers, the epoch seed and the batches already yielded (``state_dict()``).

Exact resume after a crash: save ``loader.state_dict()`` together with the model, optimizer and
``tinygrad_rnn.get_rng_state()``; in the new process restore all of them and call
``loader.load_state_dict(state)``. The next ``iter(loader)`` then replays the interrupted epoch's
permutation without drawing from the generator and skips the batches already seen (no data is
loaded for them); later epochs draw their seeds from the restored generator as before.
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from .collate import default_collate


class DataLoader:
    """Iterate over ``dataset`` in batches.

    ``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
    generator=None)``. Each batch is ``collate_fn(list_of_samples)`` (``default_collate``: samples
    of shape S -> a tensor of shape ``(batch_size, *S)``). When no ``collate_fn`` is given and the
    dataset offers ``_get_batch`` (``TensorDataset`` and its ``Subset``s), a batch is fetched with one
    indexing call per tensor. ``batch_size=None`` yields single samples, uncollated.
    ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
                 generator=None):
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, bool(shuffle)
        self.drop_last, self.generator = bool(drop_last), generator
        self.collate_fn = collate_fn
        self._fast = collate_fn is None and hasattr(dataset, "_get_batch")
        self._in_epoch, self._epoch_seed, self._batches_done, self._resume = False, None, 0, None

    def __len__(self):
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    # ------------------------------------------------------------------ resumable position
    def state_dict(self) -> dict:
        """Where the current epoch is: ``{"in_epoch", "epoch_seed", "batches_done"}`` (plus the state
        of a ``generator`` passed to the loader). Between epochs ``in_epoch`` is False."""
        state = {"in_epoch": self._in_epoch, "epoch_seed": self._epoch_seed,
                 "batches_done": self._batches_done}
        if self.generator is not None:
            state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Make the next ``iter(self)`` continue the epoch described by ``state``."""
        if "generator" in state and self.generator is not None:
            self.generator.set_state(state["generator"])
        self._resume = (state["epoch_seed"], int(state["batches_done"])) if state["in_epoch"] else None

    # ------------------------------------------------------------------ iteration
    def _order(self, seed):
        n = len(self.dataset)
        if seed is None:
            return np.arange(n, dtype=np.int64)
        return np.random.Generator(np.random.PCG64(seed)).permutation(n)

    def __iter__(self):
        # The seed is drawn here, not lazily at the first next(), so the generator's use is tied to
        # the call that starts the epoch.
        if self._resume is not None:
            seed, skip = self._resume
            self._resume = None
        else:
            rng = (self.generator or _random.default_generator).numpy
            seed = int(rng.integers(0, 2 ** 63)) if self.shuffle else None
            skip = 0
        self._in_epoch, self._epoch_seed, self._batches_done = True, seed, skip
        return self._batches(self._order(seed), skip)

    def _batches(self, order, skip):
        step = self.batch_size or 1
        for b in range(skip, len(self)):
            idx = order[b * step:(b + 1) * step]
            batch = self._fetch(idx)
            self._batches_done = b + 1
            yield batch
        # A finished epoch leaves nothing to resume: the next iter() starts a fresh epoch.
        self._in_epoch, self._epoch_seed, self._batches_done = False, None, 0

    def _fetch(self, idx):
        if self.batch_size is None:
            return self.dataset[int(idx[0])]
        if self._fast:
            batch = self.dataset._get_batch(idx)
            if batch is not NotImplemented:
                return batch
        samples = [self.dataset[int(i)] for i in idx]
        return (self.collate_fn or default_collate)(samples)

    def __repr__(self):
        return (f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})")
