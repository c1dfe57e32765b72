"""Ordering along a dim: sort, argsort, topk, kthvalue, median.

Each finds an order (integer positions, no gradient) on the raw arrays with a stable sort, then
reads the values at those positions with the differentiable ``Getitem`` (a gather): the gradient of
a value goes back to the element it came from, and nothing else. So these are compositions with no
backward of their own.

Ties: equal elements keep their index order, ascending and descending alike (PyTorch's
``stable=True`` order, which its CPU ``sort`` also gives by default); NaN counts as larger than
every number (first when descending, last when ascending), as in PyTorch. ``median`` is the lower
of the two middle values, and NaN if the slice holds one.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Function, OpError
from ..tensor import Tensor
from .common import normalize_dim
from .indexing import _grid
from .shape import Getitem

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
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    return (n - 1) - _flip(xp.argsort(_flip(a, axis), axis=axis, kind="stable"), axis)


def _pick(x, order, dim):
    """(values, int64 indices) of x at the integer positions ``order`` along ``dim``."""
    order = order.astype(np.int64, copy=False)
    return Getitem.apply(x, _grid(order, dim)), Tensor._make(order, x.device)


def _zero_dim(x, cls):
    return cls(x.clone(), Tensor._make(x.device.xp.zeros((), np.int64), x.device))


def sort(x, dim=-1, descending=False, stable=False):
    """``(values, indices)`` sorted along ``dim``; ``x.gather(dim, indices) == values``. The order is
    always stable (``stable=`` is accepted for PyTorch's signature)."""
    d = normalize_dim("sort", dim, x.ndim)
    if x.ndim == 0:
        return _zero_dim(x, SortResult)
    return SortResult(*_pick(x, _order(x.data, d, descending), d))


def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending, stable).indices


def _check_k(op, k, n, dim, low):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"{op}(): k must be an int, got {type(k).__name__}")
    if not low <= k <= n:
        raise OpError(f"{op}(): selected number k out of range for dimension {dim}: k = {k}, but "
                      f"the dimension has size {n}" if op == "kthvalue" else
                      f"{op}(): selected index k out of range: k = {k}, but dimension {dim} has "
                      f"size {n}")


def _take(a, dim, start, stop):
    return a[(slice(None),) * dim + (slice(start, stop),)]


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim``, as ``(values,
    indices)``, in sorted order (also with ``sorted=False``, which PyTorch leaves unspecified)."""
    d = normalize_dim("topk", dim, x.ndim)
    _check_k("topk", k, x.shape[d] if x.ndim else 1, d, 0)
    if x.ndim == 0:
        return _zero_dim(x, TopkResult)     # PyTorch gives the element back for k = 0 and 1
    return TopkResult(*_pick(x, _take(_order(x.data, d, largest), d, 0, k), d))


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
    return _select(x, _take(_order(x.data, d, False), d, k - 1, k), d, keepdim, KthvalueResult)


def median(x, dim=None, keepdim=False):
    """``x.median()``: the lower median of all elements (a 0-d tensor); ``x.median(dim)``:
    ``(values, indices)`` along dim. A slice that holds NaN has median NaN (at its first NaN)."""
    if dim is None:
        if x.numel() == 0:
            return Tensor._make(x.device.xp.full((), np.nan, x.dtype), x.device)
        return median(x.reshape(-1), 0).values
    d = normalize_dim("median", dim, x.ndim)
    if x.ndim == 0:
        return _zero_dim(x, MedianResult)
    n = x.shape[d]
    if n == 0:
        raise OpError(f"median(): Expected reduction dim {d} to have non-zero size")
    xp = x.device.xp
    order = _order(x.data, d, False)
    pos = (n - 1) // 2
    if x.dtype.kind == "f":
        # NaNs sort last, in index order: the first of them sits at position n - (number of NaNs)
        n_nan = xp.isnan(x.data).sum(axis=d, keepdims=True)
        pos = xp.where(n_nan > 0, n - n_nan, pos)
    else:
        pos = xp.full(_take(order, d, 0, 1).shape, pos)
    return _select(x, xp.take_along_axis(order, pos, axis=d), d, keepdim, MedianResult)
