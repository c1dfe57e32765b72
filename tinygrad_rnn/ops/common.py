"""Helpers every op shares: dim normalisation and constants. One place each, called everywhere."""
from __future__ import annotations

import math
import numbers
import operator

from .. import dtypes
from ..autograd import OpError, OpIndexError, OpTypeError
from ..tensor import Tensor


def normalize_dim(op, dim, ndim):
    """A possibly negative dim -> 0..ndim-1, with an error naming the op. A 0-d tensor takes
    dims -1 and 0 (PyTorch); a float is a TypeError and a dim out of range an IndexError, as there."""
    try:
        d = operator.index(dim)
    except TypeError:
        raise OpTypeError(f"{op}: dim must be an int, got {dim!r}") from None
    n = max(ndim, 1)
    if not -n <= d < n:
        raise OpIndexError(f"{op}: dim {d} is out of range (expected to be in range of [{-n}, {n - 1}], "
                           f"but got {d}) for a tensor with {ndim} dimension(s)")
    return d % ndim if ndim else 0


def normalize_dims(op, dim, ndim, np_style=None):
    """``dim`` (int, tuple or None) -> sorted tuple of dims, or None for all dims.

    NumPy's ``axis=`` and ``keepdims=`` are accepted in ``np_style`` and returned as keepdim.
    """
    keepdim = None
    if np_style:
        unknown = set(np_style) - {"axis", "keepdims"}
        if unknown:
            raise TypeError(f"{op}: unexpected keyword argument(s) {sorted(unknown)}")
        if "axis" in np_style:
            if dim is not None:
                raise TypeError(f"{op}: give dim or axis, not both")
            dim = np_style["axis"]
        keepdim = np_style.get("keepdims")
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return None, keepdim           # dim=() reduces over every dim, as in PyTorch
    dims = (dim,) if not isinstance(dim, (tuple, list)) else tuple(dim)
    out = tuple(sorted(normalize_dim(op, d, ndim) for d in dims))
    if ndim == 0:   # dim 0 / -1 of a 0-d tensor: its one element, so nothing to reduce (PyTorch)
        return (), keepdim
    if len(set(out)) != len(out):
        raise OpError(f"{op}: dim {dim} repeats a dimension")
    return out, keepdim


def const(array, like: Tensor) -> Tensor:
    """A constant (no history) Tensor on ``like``'s device: masks and other values backward needs."""
    return Tensor.wrap(array, like.device)


def shape_arg(shape):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def scale_factor(op, value, dtype):
    """``alpha``/``beta`` as PyTorch converts them to the type of an integer or bool result:
    truncated toward zero (``alpha=1.5`` on int64 is 1), nonzero for bool; a value the type cannot
    hold raises. Floating results take the number as it is."""
    if dtype.kind == "f":
        return value
    if dtype.kind == "b":
        return bool(value)
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        if not math.isfinite(value):
            raise OpError(f"{op}: value cannot be converted to type {dtypes.c_name(dtype)} without "
                          f"overflow")
        value = int(value)
    if not dtypes.fits(int(value), dtype):
        raise OpError(f"{op}: value cannot be converted to type {dtypes.c_name(dtype)} without overflow")
    return int(value)

