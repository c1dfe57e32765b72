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

from . import autograd, backend, dtypes
from .autograd import replayed
from .tensor import Tensor, as_dtype


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Real):
        raise TypeError(f"manual_seed: seed must be an integer, got {type(seed).__name__}")
    if not math.isfinite(seed) or seed != int(seed):
        raise ValueError(f"manual_seed: seed must be a finite integer, got {seed!r}")
    return int(seed) % 2 ** 64


DEFAULT_SEED = 67280421310721       # what a fresh torch.Generator() starts from


class Generator:
    """A source of random numbers with its own state (PyTorch's ``torch.Generator(device="cpu")``).

    ``Generator()`` starts from PyTorch's fixed default seed, so an unseeded generator repeats run
    to run as in PyTorch (the numbers themselves differ: PyTorch uses another algorithm). ``device``
    is recorded as ``.device``: numbers are drawn on the host for every device, so a CUDA generator
    gives the same numbers as a CPU one. Beyond PyTorch, ``Generator(seed)`` with an int seeds it.
    """

    def __init__(self, device="cpu", *, seed=None):
        if isinstance(device, numbers.Integral) and not isinstance(device, bool):
            device, seed = "cpu", device         # Generator(5): this library's seeded spelling
        self.device = backend.Device(*_device_parts(device))
        self.manual_seed(DEFAULT_SEED if seed is None else seed)

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
        if autograd.recorder is not None:       # tg.jit: draws must be made again at each replay
            autograd.recorder.random_draw()
        return self._rng


def _device_parts(spec):
    """("cuda", 1) from "cuda:1" or a Device, without loading the device's array module."""
    if isinstance(spec, backend.Device):
        return spec.type, spec.index
    name, _, idx = str(spec).partition(":")
    if not backend.is_device_type(name) or (idx and not idx.isdigit()):
        raise RuntimeError(f"Generator: expected a device like 'cpu' or 'cuda:0', got {spec!r}")
    return name, int(idx) if idx else 0


default_generator = Generator(seed=0)


def manual_seed(seed) -> Generator:
    """Seed the default generator (all of tinygrad_rnn's randomness) and return it."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


@replayed
def _draw(fn, shape, dtype, device, requires_grad, generator):
    rng = (generator or default_generator).numpy
    arr = fn(rng, shape)
    dev = backend.device(device)
    return Tensor._from_data(backend.to_device(arr, dev), requires_grad=requires_grad, dtype=dtype, device=dev)


def _size(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform on [0, 1)."""
    dt = as_dtype(dtype or dtypes.DEFAULT_FLOAT, "rand")
    return _draw(lambda r, s: r.random(s, dtype=np.float64).astype(dt), _size(size), dt, device,
                 requires_grad, generator)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal."""
    dt = as_dtype(dtype or dtypes.DEFAULT_FLOAT, "randn")
    return _draw(lambda r, s: r.standard_normal(s).astype(dt), _size(size), dt, device,
                 requires_grad, generator)


@replayed
def randint(low, high=None, size=(), dtype=None, device=None, generator=None):
    """Integers in [low, high): ``randint(low, high, size)``, or ``randint(high, size)`` from 0, as in
    PyTorch (positionally or by keyword)."""
    if isinstance(high, (tuple, list)):     # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    return _draw(lambda r, s: r.integers(low, high, s), tuple(size), dtype or np.int64, device,
                 False, generator)


@replayed
def randperm(n, dtype=None, device=None, generator=None):
    """A random permutation of 0..n-1."""
    return _draw(lambda r, s: r.permutation(n), (n,), dtype or np.int64, device, False, generator)


# ----------------------------------------------------------------------------- like another tensor

def rand_like(t, dtype=None, device=None, requires_grad=False, generator=None):
    return rand(*t.shape, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad, generator=generator)


def randn_like(t, dtype=None, device=None, requires_grad=False, generator=None):
    return randn(*t.shape, dtype=dtype or t.dtype, device=device or t.device,
                 requires_grad=requires_grad, generator=generator)


def randint_like(t, low, high=None, dtype=None, device=None, generator=None):
    """Integers in [low, high) (``randint_like(t, high)`` from 0) in t's shape and, unless ``dtype``
    says otherwise, t's dtype (a float tensor gets whole-number floats, as in PyTorch)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(t.shape), dtype=dtype or t.dtype, device=device or t.device,
                   generator=generator)


# ----------------------------------------------------------------------------- distributions
# Drawn on the host from the generator (so a seed repeats on every device), then moved.

def _host(t):
    return backend.to_numpy(t.array) if isinstance(t, Tensor) else np.asarray(t)


@replayed
def multinomial(input, num_samples, replacement=False, generator=None):
    """Indices drawn with probabilities proportional to the rows of ``input`` (1-D (n,) -> (k,),
    2-D (m, n) -> (m, k)); int64. Without replacement each row's k indices are distinct.

    With replacement: inverse CDF (a uniform number looked up in the running sum of the weights).
    Without: the k smallest of E_i / w_i with E_i ~ Exp(1) (an exponential race), which draws
    k categories one after another, each in proportion to the weights of those not drawn yet.
    """
    if input.ndim not in (1, 2):
        raise ValueError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(input.shape)}")
    if input.dtype.kind != "f":
        raise ValueError(f"multinomial only supports floating-point dtypes for input, got: {input.dtype}")
    n = input.shape[-1]
    if n == 0:
        raise ValueError("multinomial: number of categories cannot be zero")
    if num_samples <= 0:
        raise ValueError(f"multinomial: cannot sample n_sample <= 0 samples (got {num_samples})")
    if not replacement and num_samples > n:
        raise ValueError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                         f"replacement ({num_samples} > {n})")
    w = _host(input).astype(np.float64).reshape(-1, n)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    total = w.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    rng = (generator or default_generator).numpy
    rows = w.shape[0]
    if replacement:
        run = np.cumsum(w, axis=1)
        # categories after the last non-zero weight keep run == total exactly: make them 1, so that
        # rounding in run / total can never hand a draw to a zero-weight category
        cdf = np.where(run == total, 1.0, run / total)
        u = rng.random((rows, num_samples))
        # one searchsorted for all rows: row r's CDF lives in [2r, 2r + 1], so rows never mix
        offset = 2.0 * np.arange(rows)[:, None]
        idx = np.searchsorted((cdf + offset).ravel(), (u + offset).ravel(), side="right")
        idx = idx.reshape(rows, num_samples) - np.arange(rows)[:, None] * n
    else:
        if ((w > 0).sum(axis=1) < num_samples).any():
            raise ValueError("multinomial: invalid multinomial distribution (with replacement=False, "
                             "not enough non-negative category to sample)")
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=(rows, n)) / w       # zero weight -> inf: never in the k first
        idx = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.astype(np.int64).reshape(input.shape[:-1] + (num_samples,))
    return Tensor._from_data(backend.to_device(idx, input.device), device=input.device)


@replayed
def bernoulli(input, p=None, generator=None):
    """0/1 draws, 1 with probability ``input`` (elementwise), or ``p`` for every element of
    ``input``'s shape when given; in ``input``'s dtype."""
    probs = _host(input).astype(np.float64) if p is None else np.full(input.shape, float(p))
    if probs.size and not ((probs >= 0) & (probs <= 1)).all():
        raise ValueError(f"bernoulli: Expected p_in >= 0 && p_in <= 1 to be true, got "
                         f"probabilities in [{probs.min()}, {probs.max()}]")
    u = (generator or default_generator).numpy.random(probs.shape)
    out = (u < probs).astype(input.dtype)
    return Tensor._from_data(backend.to_device(out, input.device), device=input.device)


@replayed
def normal(mean=0.0, std=1.0, size=None, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Normal draws: ``normal(mean, std)`` with tensors (broadcast together) or numbers and a
    ``size``. The result does not carry gradient to ``mean``/``std`` (see docs/api.md)."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    ref = tensors[0] if tensors else None
    m, s = _host(mean).astype(np.float64), _host(std).astype(np.float64)
    if (s < 0).any():
        raise ValueError(f"normal expects std >= 0.0, but found std {s.min()}")
    if ref is None:
        if size is None:
            raise TypeError("normal: with a number for both mean and std, give size=")
        shape = _size((size,)) if not isinstance(size, int) else (size,)
        dt = dtype or dtypes.DEFAULT_FLOAT
        dev = device
    else:
        shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
        if size is not None and tuple(_size((size,))) != tuple(shape):
            raise ValueError(f"normal: size {size} does not match the shape {shape} of mean/std")
        floats = [t.dtype for t in tensors if t.dtype.kind == "f"]
        dt = dtype or (floats[0] if floats else dtypes.DEFAULT_FLOAT)
        dev = device or ref.device
    z = (generator or default_generator).numpy.standard_normal(shape)
    out = (m + s * z).astype(as_dtype(dt, "normal"))
    dev = backend.device(dev)
    return Tensor._from_data(backend.to_device(out, dev), device=dev, requires_grad=requires_grad)


@replayed
def dropout_mask(shape, p, dtype, device, generator=None):
    """A Tensor that is 0 with probability ``p`` and 1 / (1 - p) elsewhere (one draw from
    ``generator``, default: the default generator), the factor inverted dropout multiplies by."""
    u = (generator or default_generator).numpy.random(shape, dtype=np.float32)
    # asarray: for a 0-d shape NumPy hands back scalars, which have no device to move to
    mask = np.asarray(((u >= p) * (1.0 / (1.0 - p))).astype(dtype))
    return Tensor._make(backend.to_device(mask, device), device)
