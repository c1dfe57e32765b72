"""Tensor factories: tensor, zeros, ones, full, *_like, arange, linspace, eye."""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import backend, dtypes
from .autograd import OpError, replayed
from .tensor import Tensor, as_dtype


def _size(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


@replayed           # tg.jit makes a new array at each replay (a step may change it in place)
def _make(fn, dtype, device, requires_grad):
    dev = backend.device(device)
    return Tensor._from_data(fn(dev.xp, as_dtype(dtype)), requires_grad=requires_grad, device=dev)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (a number, nested list, array or Tensor)."""
    if isinstance(data, Tensor):
        data = data.array
    t = Tensor._from_data(data, dtype=dtype, device=device, requires_grad=False)
    if backend.is_array(data) and t.array is data:
        t.array = t.array.copy()
    return t.requires_grad_(requires_grad) if requires_grad else t


def zeros(*size, dtype=None, device=None, requires_grad=False):
    s = _size(size)
    return _make(lambda xp, dt: xp.zeros(s, dt), dtype or dtypes.DEFAULT_FLOAT, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    s = _size(size)
    return _make(lambda xp, dt: xp.ones(s, dt), dtype or dtypes.DEFAULT_FLOAT, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, bool) else
                 np.int64 if isinstance(fill_value, numbers.Integral) else dtypes.DEFAULT_FLOAT)
    s = _size((size,)) if not isinstance(size, int) else (size,)
    return _make(lambda xp, dt: xp.full(s, fill_value, dt), dtype, device, requires_grad)


def _like(fn, t, dtype, device, requires_grad):
    return fn(*t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return _like(ones, t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """``arange(5)`` -> 0..4; integer arguments give int64, any float gives float32."""
    if end is None:
        start, end = 0, start
    # 0-d tensors are numbers of their own kind, as in PyTorch (arange(tensor(3)) is int64)
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    _check_range(start, end, step)
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = np.int64 if ints else dtypes.DEFAULT_FLOAT
    return _make(lambda xp, dt: xp.arange(start, end, step).astype(dt), dtype, device, requires_grad)


def _check_range(start, end, step):
    """PyTorch refuses a range that can hold no element by the sign of its step (NumPy returns an
    empty array): ``arange(0, 5, -1)`` is more likely a bug than a request for nothing."""
    where = f"(start={start}, end={end}, step={step})"
    if step == 0:
        raise OpError(f"arange: step must be nonzero {where}")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise OpError(f"arange: unsupported range: {start} -> {end} {where}")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise OpError(f"arange: upper bound and lower bound inconsistent with step sign {where}")


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, dt: xp.linspace(start, end, steps).astype(dt), dtype or dtypes.DEFAULT_FLOAT,
                 device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, dt: xp.eye(n, m, dtype=dt), dtype or dtypes.DEFAULT_FLOAT, device, requires_grad)


# ----------------------------------------------------------------------------- sharing and uninitialised

def from_numpy(ndarray):
    """A CPU tensor that shares memory with ``ndarray``: changes to one show in the other."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: can't convert np.ndarray of type {ndarray.dtype}. The only "
                        f"supported types are: float64, float32, float16, int64, int32, int16, int8, "
                        f"uint8, and bool.")
    return Tensor._from_data(ndarray, device="cpu")


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it can (a Tensor or an array already of that dtype
    and device comes back without a copy); otherwise a copy, as ``tensor``."""
    if isinstance(data, Tensor):
        t = data
        if device is not None and backend.device(device) != t.device:
            t = t.to(device)
        return t if dtype is None or as_dtype(dtype) == t.dtype else t.to(dtype)
    return Tensor._from_data(data, dtype=dtype, device=device)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` whose values are whatever was in memory: write before you read."""
    s = _size(size)
    return _make(lambda xp, dt: xp.empty(s, dt), dtype or dtypes.DEFAULT_FLOAT, device, requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False):
    return _like(empty, t, dtype, device, requires_grad)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t) -> bool:
    return t.dtype.kind == "f"
