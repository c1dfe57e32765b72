"""Ordering along a dim: sort, argsort, topk, kthvalue, median.

Each finds an order (integer positions, no gradient) on the raw arrays with a stable sort, then
reads the values at those positions with the differentiable ``Getitem`` (a gather): the gradient of
a value goes back to the element it came from, and nothing else. So these are compositions with no
backward of their own.

Ties: equal elements keep their index order, ascending and descending alike (PyTorch's
``stable=True`` order, which its CPU ``sort`` also gives by default); NaN counts as larger than
every number (first when descending, last when ascending), as in PyTorch. ``median`` is the lower
of the two middle values, and NaN if the slice holds one.

``topk`` with a small k, ``kthvalue`` and ``median`` need only part of the order: they find the
value at the wanted position by partitioning (O(n) per slice, not O(n log n)), then pick among the
elements equal to it by index order, so the answer is the one the stable sort would give.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Function, OpError, OpNotImplementedError, is_grad_enabled
from ..tensor import Tensor
from .common import normalize_dim
from .indexing import Getitem, _grid

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])


def _flip(a, axis):
    return a[(slice(None),) * axis + (slice(None, None, -1),)]


def _order(a, axis, descending):
    """Stable argsort along ``axis``. Descending: sort the reversed array ascending and read the
    result backwards, which keeps equal elements in index order (negating would not work for
    unsigned or bool data, and would move NaN)."""
    xp = Function.xp(a)
    src = _flip(a, axis) if descending else a
    if xp is np and a.dtype.kind == "f" and a.size:
        order = _quick_then_stable(src, axis)
    else:
        order = xp.argsort(src, axis=axis, kind="stable")
    return (a.shape[axis] - 1) - _flip(order, axis) if descending else order


def _quick_then_stable(a, axis):
    """NumPy's stable sort (timsort) is about 3x slower than its quicksort on floats. A slice whose
    sorted values are all distinct has one order only, so the quick sort's is right; only the
    slices with equal values (or several NaNs) are sorted again, stably."""
    moved = np.moveaxis(a, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    order = np.argsort(rows, axis=-1)
    s = np.take_along_axis(rows, order, axis=-1)
    lo, hi = s[:, :-1], s[:, 1:]
    tied = ((lo == hi) | (np.isnan(lo) & np.isnan(hi))).any(axis=-1)
    if tied.any():
        order[tied] = np.argsort(rows[tied], axis=-1, kind="stable")
    return np.moveaxis(order.reshape(moved.shape), -1, axis)


def _pick(x, order, dim):
    """(values, int64 indices) of x at the integer positions ``order`` along ``dim``."""
    order = order.astype(np.int64, copy=False)
    # the caller gets the indices and may change them in place: the graph keeps a copy of its own
    grid = _grid(order.copy() if x.requires_grad and is_grad_enabled() else order, dim)
    return Getitem.apply(x, grid), Tensor.wrap(order, x.device)


def _before(a, t, largest):
    """The elements that come before value ``t`` in the order (NaN counts as the largest value)."""
    if a.dtype.kind != "f":
        return a > t if largest else a < t
    xp = Function.xp(a)
    a_nan, t_nan = xp.isnan(a), xp.isnan(t)
    return ((a > t) | (a_nan & ~t_nan)) if largest else ((a < t) | (~a_nan & t_nan))


def _same(a, t):
    if a.dtype.kind != "f":
        return a == t
    xp = Function.xp(a)
    return (a == t) | (xp.isnan(a) & xp.isnan(t))


def _value_at(a, axis, r, largest):
    """The value at position ``r`` of the order along ``axis`` (kept as a size-1 dim), by partial
    sorting: NumPy's partition puts NaN last, as the ascending order does."""
    kth = a.shape[axis] - 1 - r if largest else r
    return _take(Function.xp(a).partition(a, kth, axis=axis), axis, kth, kth + 1)


def _first_k(a, axis, k, largest):
    """Indices, in index order, of the first ``k`` elements of the stable order along ``axis``:
    those before the k-th value, then as many of the elements equal to it as fit, first come first."""
    xp = Function.xp(a)
    t = _value_at(a, axis, k - 1, largest)
    before, same = _before(a, t, largest), _same(a, t)
    room = k - before.sum(axis=axis, keepdims=True)
    # (int32 counts: several times faster than the default int64 running sum of a bool array)
    chosen = before | (same & (xp.cumsum(same, axis=axis, dtype=np.int32) <= room))
    # a stable sort of a bool key (a radix sort: linear) lists the chosen positions first, in order
    return _take(xp.argsort(~chosen, axis=axis, kind="stable"), axis, 0, k)


def _position(a, axis, r, largest):
    """Index of the element at position ``r`` of the stable order along ``axis`` (size-1 dim)."""
    xp = Function.xp(a)
    t = _value_at(a, axis, r, largest)
    same = _same(a, t)
    rank = r - _before(a, t, largest).sum(axis=axis, keepdims=True)   # its rank among the equals
    return xp.argmax(same & (xp.cumsum(same, axis=axis, dtype=np.int32) == rank + 1), axis=axis,
                     keepdims=True)


def _zero_dim(x, cls):
    return cls(x.clone(), Tensor.wrap(x.device.xp.zeros((), np.int64), x.device))


def sort(x, dim=-1, descending=False, stable=False):
    """``(values, indices)`` sorted along ``dim``; ``x.gather(dim, indices) == values``. The order is
    always stable (``stable=`` is accepted for PyTorch's signature)."""
    d = normalize_dim("sort", dim, x.ndim)
    if x.ndim == 0:
        return _zero_dim(x, SortResult)
    return SortResult(*_pick(x, _order(x.array, d, descending), d))


def argsort(x, dim=-1, descending=False, stable=False):
    """The indices of ``sort`` alone (int64, no gradient)."""
    d = normalize_dim("argsort", dim, x.ndim)
    if x.ndim == 0:
        return _zero_dim(x, SortResult).indices
    return Tensor.wrap(_order(x.array, d, descending).astype(np.int64, copy=False), x.device)


def _check_k(op, k, n, dim, low):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"{op}(): k must be an int, got {type(k).__name__}")
    if not low <= k <= n:
        raise OpError(f"{op}(): selected number k out of range for dimension {dim}: k = {k}, but "
                      f"the dimension has size {n}" if op == "kthvalue" else
                      f"{op}(): selected index k out of range: k = {k}, but dimension {dim} has "
                      f"size {n}")


def _no_bool(op, kernel, x):
    if x.dtype.kind == "b":
        raise OpNotImplementedError(f"{op}(): \"{kernel}\" not implemented for 'Bool' (a tensor of "
                                    f"shape {tuple(x.shape)}); convert it with .long() first")


def _take(a, dim, start, stop):
    return a[(slice(None),) * dim + (slice(start, stop),)]


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim``, as ``(values,
    indices)``, in sorted order (also with ``sorted=False``, which PyTorch leaves unspecified)."""
    if x.dtype.kind == "b":
        raise OpError(f"topk does not support bool dtypes (a tensor of shape {tuple(x.shape)}); "
                      f"convert it with .long() first")
    d = normalize_dim("topk", dim, x.ndim)
    _check_k("topk", k, x.shape[d] if x.ndim else 1, d, 0)
    if x.ndim == 0:
        return _zero_dim(x, TopkResult)     # PyTorch gives the element back for k = 0 and 1
    a = x.array
    if k == 0 or 4 * k > a.shape[d]:        # most of the slice: sorting it all is as cheap
        return TopkResult(*_pick(x, _take(_order(a, d, largest), d, 0, k), d))
    first = _first_k(a, d, k, largest)       # then only those k are sorted (stably)
    xp = Function.xp(a)
    return TopkResult(*_pick(x, xp.take_along_axis(first, _order(xp.take_along_axis(a, first, axis=d),
                                                                 d, largest), axis=d), d))


def _select(x, positions, d, keepdim, cls):
    """Values at one sorted position per slice: ``positions`` has x's shape with 1 along d."""
    values, indices = _pick(x, positions, d)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return cls(values, indices)


def kthvalue(x, k, dim=-1, keepdim=False):
    """The ``k``-th smallest element (k from 1) along ``dim``, as ``(values, indices)``."""
    d = normalize_dim("kthvalue", dim, x.ndim)
    _check_k("kthvalue", k, x.shape[d] if x.ndim else 1, d, 1)
    if x.ndim == 0:
        return _zero_dim(x, KthvalueResult)
    _no_bool("kthvalue", "kthvalue_cpu", x)
    return _select(x, _position(x.array, d, k - 1, False), d, keepdim, KthvalueResult)


def median(x, dim=None, keepdim=False):
    """``x.median()``: the lower median of all elements (a 0-d tensor); ``x.median(dim)``:
    ``(values, indices)`` along dim. A slice that holds NaN has median NaN (at its first NaN)."""
    if dim is None:
        if x.numel() == 0:
            return Tensor.wrap(x.device.xp.full((), np.nan, x.dtype), x.device)
        _no_bool("median", "median_cpu", x)
        return median(x.reshape(-1), 0).values
    _no_bool("median", "median_out", x)
    d = normalize_dim("median", dim, x.ndim)
    if x.ndim == 0:
        return _zero_dim(x, MedianResult)
    n = x.shape[d]
    if n == 0:
        raise OpError(f"median(): Expected reduction dim {d} to have non-zero size")
    xp = x.device.xp
    idx = _position(x.array, d, (n - 1) // 2, False)
    if x.dtype.kind == "f":     # a slice holding NaN has median NaN: its first NaN
        nan = xp.isnan(x.array)
        idx = xp.where(nan.any(axis=d, keepdims=True), xp.argmax(nan, axis=d, keepdims=True), idx)
    return _select(x, idx, d, keepdim, MedianResult)
