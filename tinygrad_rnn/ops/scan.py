"""Products and scans: prod, cumsum, cumprod; and the logical/counting reductions all, any,
count_nonzero (no gradient).

Dtypes follow PyTorch: the sum or product of a bool or integer tensor is int64 unless ``dtype=``
says otherwise; ``all``/``any`` give bool (uint8 for a uint8 tensor, PyTorch's legacy rule).

Gradients of products must survive zeros in the input without dividing by them: with no zero in a
slice the gradient is ``g * prod / x``; with exactly one, only the zero gets a gradient (the
product of the others); with two or more, none does. ``cumprod`` does the same per prefix.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import as_dtype
from .common import const, normalize_dim, normalize_dims
from .elementwise import Where, where

_INT64 = as_dtype("int64")


def _accumulate_dtype(x, dtype, op):
    """PyTorch: sums and products of bool/integer tensors are int64; ``dtype=`` casts first."""
    if dtype is not None:
        return x.to(as_dtype(dtype, op))
    return x.to(_INT64) if x.dtype.kind in "biu" else x


def _kept_shape(shape, dims):
    return tuple(1 if dims is None or i in dims else s for i, s in enumerate(shape))


# ----------------------------------------------------------------------------- prod

class Prod(Function):
    """Product over ``dims`` (None: all). Zeros in the input are handled without division."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = ctx.xp(x).prod(x, axis=dims, keepdims=keepdim)
        ctx.dims, ctx.kept = dims, _kept_shape(x.shape, dims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp, dims = ctx.xp(x.data), ctx.dims
        g, out = g.reshape(ctx.kept), out.reshape(ctx.kept)
        zero = x.data == 0
        if not bool(zero.any()):
            return g * out / x, None, None                     # d/dx_i prod = prod / x_i
        n_zeros = zero.sum(axis=dims, keepdims=True)
        x_safe = Where.apply(const(zero, x), 1.0, x)           # the zeros replaced by ones
        # no zero in the slice: prod / x_i; exactly one: the product of the others, at the zero only
        others = Prod.apply(x_safe, dims, True)
        grad = where(const(n_zeros == 0, x), g * out / x_safe, 0.0)
        grad = grad + where(const((n_zeros == 1) & zero, x), g * others, 0.0)
        return grad, None, None


def prod(x, dim=None, keepdim=False, dtype=None):
    x = _accumulate_dtype(x, dtype, "prod")
    dims, _ = normalize_dims("prod", dim, x.ndim)
    return Prod.apply(x, dims, keepdim)


# ----------------------------------------------------------------------------- scans

def _flip(a, dim):
    return a[(slice(None),) * dim + (slice(None, None, -1),)]


class Cumsum(Function):
    """Running sum along ``dim`` (``reverse``: from the end). Its adjoint is the reverse running sum."""

    @staticmethod
    def forward(ctx, x, dim, reverse):
        ctx.dim, ctx.reverse = dim, reverse
        xp = ctx.xp(x)
        if reverse:
            return _flip(xp.cumsum(_flip(x, dim), axis=dim), dim)
        return xp.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        # y_i = sum_{j<=i} x_j  =>  dL/dx_j = sum_{i>=j} g_i
        return Cumsum.apply(g, ctx.dim, not ctx.reverse), None, None


class Cumprod(Function):
    """Running product along ``dim``; zeros in the input are handled without division."""

    @staticmethod
    def forward(ctx, x, dim):
        out = ctx.xp(x).cumprod(x, axis=dim)
        ctx.dim = dim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        d, xp = ctx.dim, ctx.xp(x.data)
        zero = x.data == 0

        def after(t):   # sum_{i >= j} t_i
            return Cumsum.apply(t, d, True)

        # y_i = prod_{k<=i} x_k  =>  dL/dx_j = sum_{i>=j} g_i prod_{k<=i, k!=j} x_k
        if not bool(zero.any()):
            return after(g * out) / x, None
        seen = xp.cumsum(zero, axis=d, dtype=np.int32)   # zeros at or before each position
        before = seen == 0                          # strictly before the first zero: divide safely
        first = zero & (seen == 1)                  # the first zero of its row
        # before the first zero, y_i with i past it are 0, so sum_{i>=j} g_i y_i / x_j is right;
        # at the first zero, prod_{k<=i, k!=j} x_k is the running product with that zero set to 1;
        # after it, every product still holds the first zero: no gradient.
        x_safe = Where.apply(const(before, x), x, 1.0)
        grad = where(const(before, x), after(g * out) / x_safe, 0.0)
        out_skip = Cumprod.apply(Where.apply(const(first, x), 1.0, x), d)
        return grad + where(const(first, x), after(g * out_skip), 0.0), None


def _scan(cls, name, x, dim, dtype, *extra):
    x = _accumulate_dtype(x, dtype, name)
    d = normalize_dim(name, dim, x.ndim)
    if x.ndim == 0:             # a 0-d tensor is its own running sum/product
        return cls.apply(x.reshape(1), 0, *extra).reshape(())
    return cls.apply(x, d, *extra)


def cumsum(x, dim, dtype=None):
    return _scan(Cumsum, "cumsum", x, dim, dtype, False)


def cumprod(x, dim, dtype=None):
    return _scan(Cumprod, "cumprod", x, dim, dtype)


# ----------------------------------------------------------------------------- logical reductions

class _Logical(Function):
    """``all`` / ``any`` over dims: bool results (uint8 for uint8 input, as PyTorch); no gradient."""

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        out = getattr(ctx.xp(x), cls.pick)(x, axis=dims, keepdims=keepdim)
        return out.astype(x.dtype) if x.dtype.kind == "u" and x.dtype.itemsize == 1 else out


All = type("All", (_Logical,), {"pick": "all", "name": "all"})
Any = type("Any", (_Logical,), {"pick": "any", "name": "any"})


def _logical_dims(op, dim, ndim):
    """``dim=()`` reduces nothing here (PyTorch 2.13: ``any(x, dim=())`` is ``x != 0`` elementwise),
    where sum and the other reductions take it as every dim."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        return ()
    return normalize_dims(op, dim, ndim)[0]


def all(x, dim=None, keepdim=False):
    return All.apply(x, _logical_dims("all", dim, x.ndim), keepdim)


def any(x, dim=None, keepdim=False):
    return Any.apply(x, _logical_dims("any", dim, x.ndim), keepdim)


class CountNonzero(Function):
    name = "count_nonzero"

    @staticmethod
    def forward(ctx, x, dims):
        return (x != 0).sum(axis=dims).astype(_INT64)


def count_nonzero(x, dim=None):
    """The number of non-zero elements over ``dim`` (int, tuple or None: all), as int64."""
    dims, _ = normalize_dims("count_nonzero", dim, x.ndim)
    return CountNonzero.apply(x, dims)
