"""Products and scans: prod, cumsum, cumprod; and the logical/counting reductions all, any,
count_nonzero (no gradient).

Dtypes follow PyTorch: the sum or product of a bool or integer tensor is int64 unless ``dtype=``
says otherwise; ``all``/``any`` give bool (uint8 for a uint8 tensor, PyTorch's legacy rule).

Gradients of products must survive zeros in the input without dividing by them: with no zero the
gradient is ``g * prod / x``; otherwise it is the product of the others, from running products
taken from both ends (PyTorch's formula), so with one zero in a slice only the zero gets a
gradient and with two or more none does (and an inf next to a zero gives NaN, as in PyTorch).
``cumprod`` does the same per prefix.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..tensor import as_dtype
from .common import const, normalize_dim, normalize_dims
from .compare import Where, where
from .shape import cat

_INT64 = as_dtype("int64")
_FLOAT64 = as_dtype("float64")


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
        if x.ndim == 0:
            return g, None, None                                # PyTorch: passed on unchanged
        xp, dims = ctx.xp(x.array), ctx.dims
        g, out = g.reshape(ctx.kept), out.reshape(ctx.kept)
        zero = x.array == 0
        if not bool(zero.any()):
            return g * out / x, None, None                     # d/dx_i prod = prod / x_i
        if dims is None and int(zero.sum()) > 1 and not is_grad_enabled():
            # PyTorch's shortcut for a whole-tensor product with two zeros: all 0, also where an
            # inf would have made a product of the others NaN
            return const(xp.zeros(x.shape, x.dtype), x), None, None
        return g * _products_of_the_others(x, dims), None, None


def _products_of_the_others(x, dims):
    """prod_{j != i} x_j over ``dims`` for every i, from running products from both ends (no
    division, so exact with zeros; PyTorch's formula): for [a, b, c], [1, a, ab] * [cb, c, 1]."""
    dims = tuple(range(x.ndim)) if dims is None else dims
    rest = [d for d in range(x.ndim) if d not in dims]
    order = rest + list(dims)
    flat = x.permute(*order).reshape(*(x.shape[d] for d in rest), -1)
    last, n = flat.ndim - 1, flat.shape[-1]
    ones = const(x.device.xp.ones(flat.shape[:-1] + (1,), x.dtype), x)
    before = Cumprod.apply(cat([ones, flat[..., :n - 1]], last), last)
    after = Cumprod.apply(cat([ones, flat[..., 1:].flip(last)], last), last).flip(last)
    others = (before * after).reshape(*(x.shape[d] for d in order))
    return others.permute(*np.argsort(order).tolist())


def prod(x, dim=None, keepdim=False, dtype=None):
    x = _accumulate_dtype(x, dtype, "prod")
    dims, _ = normalize_dims("prod", dim, x.ndim)
    return Prod.apply(x, dims, keepdim)


# ----------------------------------------------------------------------------- scans

def _flip(a, dim):
    return a[(slice(None),) * dim + (slice(None, None, -1),)]


def _running(xp, x):
    """The dtype a running sum or product is kept in: PyTorch's CPU kernels keep float32 and
    float16 ones in float64, so 1e30 * 1e30 * 0 is 0 there, not inf * 0 = NaN (its GPU kernels
    do not; nor, on a GPU, does this)."""
    return _FLOAT64 if xp is np and x.dtype.kind == "f" and x.dtype.itemsize < 8 else None


class Cumsum(Function):
    """Running sum along ``dim`` (``reverse``: from the end). Its adjoint is the reverse running sum."""

    @staticmethod
    def forward(ctx, x, dim, reverse):
        ctx.dim, ctx.reverse = dim, reverse
        xp = ctx.xp(x)
        if reverse:
            out = xp.cumsum(_flip(x, dim), axis=dim, dtype=_running(xp, x)).astype(x.dtype, copy=False)
            return _flip(out, dim)
        return xp.cumsum(x, axis=dim, dtype=_running(xp, x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        # y_i = sum_{j<=i} x_j  =>  dL/dx_j = sum_{i>=j} g_i
        return Cumsum.apply(g, ctx.dim, not ctx.reverse), None, None


class Cumprod(Function):
    """Running product along ``dim``; zeros in the input are handled without division."""

    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp(x)
        out = xp.cumprod(x, axis=dim, dtype=_running(xp, x)).astype(x.dtype, copy=False)
        ctx.dim = dim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        d, xp = ctx.dim, ctx.xp(x.array)
        n = x.shape[d]
        if n == 1:
            return g, None                          # PyTorch: passed on unchanged
        zero = x.array == 0

        def after(t):   # sum_{i >= j} t_i
            return Cumsum.apply(t, d, True)

        # y_i = prod_{k<=i} x_k  =>  dL/dx_j = sum_{i>=j} g_i prod_{k<=i, k!=j} x_k
        if not bool(zero.any()):
            return after(g * out) / x, None
        seen = xp.cumsum(zero, axis=d, dtype=np.int32)   # zeros at or before each position
        before = const(seen == 0, x)                # strictly before the first zero: divide safely
        first = zero & (seen == 1)                  # the first zero of its row
        # before the first zero, only the y_i before it count (the later ones hold the zero: 0,
        # or NaN next to an inf), so sum_{j<=i<z1} g_i y_i / x_j.
        x_safe = Where.apply(before, x, 1.0)
        grad = where(before, after(where(before, g * out, 0.0)) / x_safe, 0.0)
        # at the first zero z1: y_{z1-1} sum_{z1<=i<z2} g_i prod_{z1<k<=i} x_k (z2: the second
        # zero); after it, every product holds the first zero: no gradient (PyTorch's formula)
        between = const((seen == 1) & ~zero, x)
        inner = Cumprod.apply(Where.apply(between, x, 1.0), d)
        summed = (inner * where(const(seen == 1, x), g, 0.0)).sum(d, keepdim=True)
        ones = const(xp.ones(x.shape[:d] + (1,) + x.shape[d + 1:], x.dtype), x)
        prev = cat([ones, out.narrow(d, 0, n - 1)], d)     # y_{i-1}, with y_{-1} = 1
        return grad + where(const(first, x), summed * prev, 0.0), None


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
