"""Random numbers: one seed makes a run repeat exactly.

``manual_seed(s)`` seeds the default generator; ``rand``/``randn``/``randint``/``randperm``, dropout
masks, weight initialisation and DataLoader shuffling all draw from it unless given a
``generator=``. Numbers are drawn on the host and moved to the tensor's device, so a seed gives
the same numbers on every device.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import backend
from .tensor import DEFAULT_FLOAT, Tensor, as_dtype


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Real):
        raise TypeError(f"manual_seed: seed must be an integer, got {type(seed).__name__}")
    if not math.isfinite(seed) or seed != int(seed):
        raise ValueError(f"manual_seed: seed must be a finite integer, got {seed!r}")
    return int(seed) % 2 ** 64


class Generator:
    """A source of random numbers with its own state (PyTorch's ``torch.Generator``)."""

    def __init__(self, seed=None):
        self.manual_seed(np.random.SeedSequence().entropy % 2 ** 64 if seed is None else seed)

    def manual_seed(self, seed):
        self._seed = _check_seed(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self) -> dict:
        """A plain dict (JSON-serialisable) that ``set_state`` restores exactly."""
        return {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}

    def set_state(self, state: dict):
        self._seed = int(state["seed"])
        self._rng = np.random.Generator(np.random.PCG64())
        self._rng.bit_generator.state = state["bit_generator"]
        return self

    @property
    def numpy(self) -> np.random.Generator:
        return self._rng


default_generator = Generator(0)


def manual_seed(seed) -> Generator:
    """Seed the default generator (all of tinygrad_rnn's randomness) and return it."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def _draw(fn, shape, dtype, device, requires_grad, generator):
    rng = (generator or default_generator).numpy
    arr = fn(rng, shape)
    dev = backend.device(device)
    return Tensor(backend.to_device(arr, dev), requires_grad=requires_grad, dtype=dtype, device=dev)


def _size(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform on [0, 1)."""
    dt = as_dtype(dtype or DEFAULT_FLOAT, "rand")
    return _draw(lambda r, s: r.random(s, dtype=np.float64).astype(dt), _size(size), dt, device,
                 requires_grad, generator)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal."""
    dt = as_dtype(dtype or DEFAULT_FLOAT, "randn")
    return _draw(lambda r, s: r.standard_normal(s).astype(dt), _size(size), dt, device,
                 requires_grad, generator)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None):
    """Integers in [low, high) (``randint(high, size)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    return _draw(lambda r, s: r.integers(low, high, s), tuple(size), dtype or np.int64, device,
                 False, generator)


def randperm(n, dtype=None, device=None, generator=None):
    """A random permutation of 0..n-1."""
    return _draw(lambda r, s: r.permutation(n), (n,), dtype or np.int64, device, False, generator)
