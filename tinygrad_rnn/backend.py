"""Devices and their array modules.

A device is a place where arrays live: ``"cpu"`` keeps NumPy arrays, ``"cuda"`` / ``"cuda:N"``
keeps CuPy arrays on GPU N. Each device carries its array module as ``device.xp``, so code that
must create an array writes ``device.xp.zeros(...)`` and code that already holds arrays asks
``get_array_module(a, b)``. Nothing here knows about tensors.

CuPy is imported the first time a CUDA device is asked for, never at ``import tinygrad_rnn``.
Other array libraries with CuPy's interface (the test suite's CuPy stand-in) join through
``register_device_type``.
"""
from __future__ import annotations

import os
import numpy as np

DEFAULT_DEVICE_ENV = "TINYGRAD_RNN_DEVICE"
MALLOC_ENV = "TINYGRAD_RNN_MALLOC"


def keep_freed_memory(enable=True, limit_bytes=256 * 2 ** 20):
    """Ask the C allocator (glibc) to keep freed memory for reuse instead of returning it to the OS.

    Training allocates and frees the same large arrays (activations, gradients) every step. By
    default glibc serves arrays above a few MiB with fresh ``mmap`` pages and gives them back on
    free, so every step pays page faults on every large array. Measured with ``python -m
    benchmarks --only conv,mlp --threads 1 --libs tinygrad_rnn`` (CPU time, 2 runs each): the
    small conv net's step takes 18.4-19.2 ms with freed memory kept and 35.8-38.0 ms without;
    the MLP step (arrays below glibc's threshold) is the same either way, 3.0-3.7 ms. It is what
    caching allocators in other frameworks do, and the same as ``MALLOC_MMAP_THRESHOLD_`` /
    ``MALLOC_TRIM_THRESHOLD_`` in the environment (which this does not touch). The cost: the
    process, not only this library, keeps up to ``limit_bytes`` of freed memory. Called once at
    import (README, "What importing it changes"); set the environment variable
    ``TINYGRAD_RNN_MALLOC=default`` before importing to leave the allocator alone, or call
    ``keep_freed_memory(False)`` to set glibc's initial thresholds back (its dynamic adjustment of
    them stays off once set). Returns True when it took effect (glibc only; elsewhere it does
    nothing).
    """
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    if enable:
        ok = mallopt(M_MMAP_THRESHOLD, 32 * 2 ** 20) and mallopt(M_TRIM_THRESHOLD, int(limit_bytes))
    else:   # glibc's defaults (a dynamic threshold starting at 128 kB)
        ok = mallopt(M_MMAP_THRESHOLD, 128 * 1024) and mallopt(M_TRIM_THRESHOLD, 128 * 1024)
    return bool(ok)


# Importing the package changes the C allocator of the whole process: a conv step's page faults
# halve its time (see keep_freed_memory). Opt out with TINYGRAD_RNN_MALLOC=default.
if os.environ.get(MALLOC_ENV, "keep") != "default":
    keep_freed_memory()


# ----------------------------------------------------------------------------- quiet floating point
# Ops return inf and nan as PyTorch does, without NumPy's RuntimeWarnings. ``np.errstate`` costs
# about 1 us per use, which every op would pay; NumPy keeps that state in a context variable, and
# setting the variable directly costs about 0.1 us. Where NumPy's layout differs, np.seterr works.
try:
    from numpy._core._ufunc_config import _extobj_contextvar as _fp_state
    with np.errstate(all="ignore"):
        _FP_QUIET = _fp_state.get()

    def quiet_fp():
        """Silence floating-point warnings; returns a token for ``restore_fp``."""
        return _fp_state.set(_FP_QUIET)

    restore_fp = _fp_state.reset
except (ImportError, AttributeError):
    def quiet_fp():
        return np.seterr(all="ignore")

    def restore_fp(token):
        np.seterr(**token)


class QuietFP:
    """``with QuietFP():`` silences floating-point warnings inside (see ``quiet_fp``)."""
    __slots__ = ("_token",)

    def __enter__(self):
        self._token = quiet_fp()

    def __exit__(self, *exc):
        restore_fp(self._token)


class DeviceError(RuntimeError):
    """A device that cannot be used here, or tensors on different devices."""


class _DeviceType:
    """How one kind of device stores arrays: its module, its array type, and the copies to/from host."""

    def __init__(self, name, load, array_type, index_of, to_host, from_host):
        self.name = name
        self._load = load              # () -> the array module; raises DeviceError with advice
        self._module = None
        self.array_type = array_type   # () -> the array class (after load)
        self.index_of = index_of       # array -> device index
        self.to_host = to_host         # array -> numpy.ndarray (a copy)
        self.from_host = from_host     # (numpy.ndarray, index) -> device array

    @property
    def module(self):
        if self._module is None:
            self._module = self._load()
        return self._module


def _load_cupy():
    try:
        import cupy
    except ImportError as e:
        raise DeviceError(
            "device 'cuda' needs CuPy, which is not installed. Install the extra that matches your "
            "CUDA toolkit: pip install 'tinygrad-rnn[cuda12]' or pip install 'tinygrad-rnn[cuda13]'"
        ) from e
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CuPy installed but no driver / no GPU
        raise DeviceError(f"device 'cuda': CuPy is installed but no usable GPU was found ({e})") from e
    if n == 0:
        raise DeviceError("device 'cuda': CuPy is installed but no GPU is visible")
    return cupy


def _cupy_from_host(a, index):
    import cupy
    with cupy.cuda.Device(index):
        return cupy.asarray(a)


_TYPES: dict[str, _DeviceType] = {
    "cpu": _DeviceType("cpu", lambda: np, lambda: np.ndarray, lambda a: 0,
                       lambda a: np.array(a, copy=True), lambda a, i: a),
    "cuda": _DeviceType("cuda", _load_cupy, lambda: __import__("cupy").ndarray,
                        lambda a: a.device.id, lambda a: a.get(), _cupy_from_host),
}
_TYPES["cpu"]._module = np   # always loaded: device_of must know host arrays before "cpu" is named


def register_device_type(name, load, array_type, to_host, from_host, index_of=lambda a: 0):
    """Add a kind of device whose arrays follow CuPy's interface (used by the test suite's stand-in).

    ``load()`` returns the array module, ``array_type()`` its array class, ``to_host(a)`` a NumPy
    copy, ``from_host(ndarray, index)`` a device array.
    """
    _TYPES[name] = _DeviceType(name, load, array_type, index_of, to_host, from_host)
    _CACHE.clear()
    _ARRAY_TYPES.clear()


def is_device_type(name) -> bool:
    """True when ``name`` ("cpu", "cuda", or one added by ``register_device_type``) is known."""
    return name in _TYPES


class Device:
    """One device, e.g. ``Device("cuda", 1)``. Compare with ``==``; ``str(d)`` gives ``"cuda:1"``."""

    __slots__ = ("type", "index", "_kind")

    def __init__(self, type: str, index: int = 0):
        if type not in _TYPES:
            raise DeviceError(f"unknown device type {type!r}; expected one of {sorted(_TYPES)}")
        self.type, self.index, self._kind = type, index, _TYPES[type]

    @property
    def xp(self):
        """The array module of this device (numpy, cupy, ...)."""
        return self._kind.module

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):   # copy/pickle by name: the array module itself cannot be pickled
        return (device, (str(self),))

    def __str__(self):
        return "cpu" if self.type == "cpu" else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device('{self}')"


_CACHE: dict = {}
_default = None


def device(spec=None) -> Device:
    """Parse ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a Device or None (the default device).

    Devices are interned, so two tensors on one device share the same Device object.
    """
    if spec is None:
        return get_default_device()
    if isinstance(spec, Device):
        return spec
    d = _CACHE.get(spec)
    if d is not None:
        return d
    if not isinstance(spec, str):
        raise DeviceError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
    name, _, idx = spec.partition(":")
    if idx and not idx.isdigit():
        raise DeviceError(f"bad device string {spec!r}: the index after ':' must be a number")
    d = Device(name, int(idx) if idx else 0)
    d.xp  # fail now, with advice, if the module is missing
    _CACHE[spec] = d
    return d


def set_default_device(spec) -> None:
    """Set the device new tensors are created on (also settable by $TINYGRAD_RNN_DEVICE)."""
    global _default
    _default = device(spec) if spec is not None else None


def get_default_device() -> Device:
    if _default is None:
        return device(os.environ.get(DEFAULT_DEVICE_ENV, "cpu") or "cpu")
    return _default


_ARRAY_TYPES: dict = {}   # array class -> device type name, filled lazily


def device_of(a) -> Device:
    """The device an array lives on."""
    kind = _ARRAY_TYPES.get(type(a))
    if kind is None:
        for t in _TYPES.values():
            if t._module is not None and isinstance(a, t.array_type()):
                kind = _ARRAY_TYPES[type(a)] = t.name
                break
        else:
            raise DeviceError(f"not an array of any loaded device: {type(a).__name__}")
    t = _TYPES[kind]
    i = t.index_of(a)
    return device(t.name if i == 0 and t.name == "cpu" else f"{t.name}:{i}")


def get_array_module(*arrays):
    """The module (numpy, cupy, ...) that owns the given arrays; numpy for plain Python values."""
    if len(arrays) == 1 and type(arrays[0]) is np.ndarray:     # the common case, first
        return np
    for a in arrays:
        if not isinstance(a, (np.ndarray, np.generic, int, float, bool)) and hasattr(a, "__array_function__"):
            module = getattr(a, "array_module", None)     # tg.jit's stand-ins name their array's
            return module if module is not None else device_of(a).xp
    return np


def is_array(a) -> bool:
    """True for an array of any loaded device (numpy.ndarray, cupy.ndarray, ...)."""
    if isinstance(a, np.ndarray):
        return True
    try:
        device_of(a)
        return True
    except DeviceError:
        return False


def to_numpy(a) -> np.ndarray:
    """Copy an array of any device to a NumPy array (a no-op view for NumPy arrays)."""
    if isinstance(a, np.ndarray):
        return a
    return _TYPES[device_of(a).type].to_host(a)


def to_device(a, dev: Device):
    """Move an array to ``dev`` (through host memory when the device type changes)."""
    src = device_of(a)
    if src == dev:
        return a
    host = a if isinstance(a, np.ndarray) else _TYPES[src.type].to_host(a)
    return dev._kind.from_host(host, dev.index)


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def is_view_of(a, b) -> bool:
    """True when array ``a`` shares memory with ``b`` (a view of it, or ``b`` itself)."""
    if a is b:
        return True
    if type(a) is np.ndarray:
        return type(b) is np.ndarray and _root(a) is _root(b)
    return bool(get_array_module(a).may_share_memory(a, b))


def may_be_true(flags) -> bool:
    """``bool(flags.any())`` for host arrays; True for device arrays, without reading them back.

    For optional work (fixing up rare cases): on a GPU, asking whether it is needed would cost a
    device-to-host round trip, so the work is simply done."""
    if isinstance(flags, np.ndarray):
        return bool(flags.any())
    return True


def rounded(arr, digits=4):
    """Values for display: float32 noise such as 0.10000000149 shows as 0.1 (nested lists)."""
    a = np.asarray(arr)
    if a.dtype.kind == "f":
        a = np.round(a.astype(np.float64), digits)
    return a.tolist()


def _sorted_scatter_add(target, index, values) -> bool:
    """``target[index] += values`` for an index of integer arrays on the leading dims, by sorting
    the rows once and summing runs of equal rows with ``add.reduceat``: 2-5x faster than
    ``np.add.at`` (embedding and gather gradients). Returns False for other index forms."""
    if not index or not all(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in index) \
            or len(index) > target.ndim or not target.flags.c_contiguous:
        return False
    lead, rest = target.shape[:len(index)], target.shape[len(index):]
    index = np.broadcast_arrays(*index)
    rows = np.ravel_multi_index(index, lead, mode="wrap").reshape(-1)
    if rows.size == 0:
        return True
    vals = np.broadcast_to(values, index[0].shape + rest).reshape(rows.size, -1)
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    flat = target.reshape(int(np.prod(lead)), -1)
    flat[ordered[starts]] += np.add.reduceat(vals[order], starts, axis=0)
    return True


def scatter_add(xp, target, index, values):
    """``target[index] += values`` where repeated indices add up (not the last write winning)."""
    if xp is np:
        if not _sorted_scatter_add(target, index, values):
            np.add.at(target, index, values)
    elif hasattr(xp, "_scatter_add"):          # stand-ins provide their own
        xp._scatter_add(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)
