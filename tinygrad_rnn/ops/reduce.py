"""Reductions and the ops built on them: sum, mean, var, std, max/min, argmax/argmin,
logsumexp, softmax, log_softmax, and sum_to_size (the reverse of broadcasting)."""
from __future__ import annotations

import builtins
from collections import namedtuple

from ..autograd import Function, OpError
from ..tensor import DEFAULT_FLOAT
from .common import const, normalize_dim, normalize_dims

MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _kept_shape(shape, dims):
    """The shape with every reduced dim set to 1 (what keepdim=True gives)."""
    return tuple(1 if dims is None or i in dims else s for i, s in enumerate(shape))


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.in_shape, ctx.kept = x.shape, _kept_shape(x.shape, dims)
        return ctx.xp(x).sum(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.kept).expand(*ctx.in_shape), None, None   # every input got 1 * g


class SumTo(Function):
    """Sum ``x`` down to ``shape`` (the adjoint of broadcasting ``shape`` up to x's shape)."""

    @staticmethod
    def forward(ctx, x, shape):
        lead = x.ndim - len(shape)
        if lead < 0 or any(s not in (1, xs) for s, xs in zip(shape, x.shape[lead:])):
            raise OpError(f"sum_to_size: shape {tuple(x.shape)} cannot be summed to {tuple(shape)} "
                          f"(it is not a broadcast of it)")
        ctx.in_shape = x.shape
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                          if s == 1 and x.shape[lead + i] != 1)
        return (x.sum(axis=axes, keepdims=True) if axes else x).reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.expand(*ctx.in_shape), None


def sum_to_size(x, *shape):
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return x if tuple(x.shape) == tuple(shape) else SumTo.apply(x, tuple(shape))


def sum(x, dim=None, keepdim=False, **np_style):
    dims, kd = normalize_dims("sum", dim, x.ndim, np_style)
    return Sum.apply(x, dims, keepdim if kd is None else kd)


def _count(x, dims):
    n = 1
    for i, s in enumerate(x.shape):
        if dims is None or i in dims:
            n *= s
    return n


def mean(x, dim=None, keepdim=False, **np_style):
    dims, kd = normalize_dims("mean", dim, x.ndim, np_style)
    if x.dtype.kind != "f":
        x = x.to(DEFAULT_FLOAT)
    return Sum.apply(x, dims, keepdim if kd is None else kd) / _count(x, dims)


def var(x, dim=None, unbiased=None, keepdim=False, correction=None, **np_style):
    """Variance; unbiased (divides by n - 1) by default, as in PyTorch; ``correction=0`` divides by n."""
    dims, kd = normalize_dims("var", dim, x.ndim, np_style)
    keepdim = keepdim if kd is None else kd
    if correction is None:
        correction = 0 if unbiased is False else 1
    d = x - mean(x, dims, keepdim=True)
    return Sum.apply(d * d, dims, keepdim) / builtins.max(_count(x, dims) - correction, 0)


def std(x, dim=None, unbiased=None, keepdim=False, correction=None, **np_style):
    return var(x, dim, unbiased, keepdim, correction, **np_style).sqrt()


class Amax(Function):
    """Largest value over dims. The gradient goes to the maximal elements, split evenly on ties."""
    pick = "max"

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        m = getattr(ctx.xp(x), cls.pick)(x, axis=dims, keepdims=True)
        ctx.save_for_backward(x, m)
        ctx.dims = dims
        return m if keepdim else m.reshape(tuple(s for i, s in enumerate(x.shape)
                                                 if dims is not None and i not in dims))

    @staticmethod
    def backward(ctx, g):
        x, m = ctx.saved_tensors
        hit = x.data == m.data
        share = (hit / hit.sum(axis=ctx.dims, keepdims=True)).astype(g.dtype)
        return g.reshape(m.shape) * const(share, g), None, None


class Amin(Amax):
    pick = "min"


def amax(x, dim=None, keepdim=False, **np_style):
    dims, kd = normalize_dims("amax", dim, x.ndim, np_style)
    return Amax.apply(x, dims, keepdim if kd is None else kd)


def amin(x, dim=None, keepdim=False, **np_style):
    dims, kd = normalize_dims("amin", dim, x.ndim, np_style)
    return Amin.apply(x, dims, keepdim if kd is None else kd)


class ArgMax(Function):
    pick = "argmax"

    @classmethod
    def forward(cls, ctx, x, dim, keepdim):
        xp = ctx.xp(x)
        if dim is None:
            out = getattr(xp, cls.pick)(x.reshape(-1))
            return out.reshape((1,) * x.ndim) if keepdim else xp.asarray(out)
        return getattr(xp, cls.pick)(x, axis=dim, keepdims=keepdim)


class ArgMin(ArgMax):
    pick = "argmin"


def _arg(cls, name, x, dim, keepdim, np_style):
    dims, kd = normalize_dims(name, dim, x.ndim, np_style)
    if x.ndim == 0:
        dims = None                 # the one element is the answer, whichever dim was named
    if dims is not None and len(dims) != 1:
        raise OpError(f"{name}: dim must be a single int, got {dim}")
    return cls.apply(x, None if dims is None else dims[0], keepdim if kd is None else kd)


def argmax(x, dim=None, keepdim=False, **np_style):
    return _arg(ArgMax, "argmax", x, dim, keepdim, np_style)


def argmin(x, dim=None, keepdim=False, **np_style):
    return _arg(ArgMin, "argmin", x, dim, keepdim, np_style)


def max(x, dim=None, keepdim=False, **np_style):
    """``x.max()`` -> the largest value; ``x.max(dim)`` -> ``(values, indices)`` as in PyTorch."""
    if dim is None and "axis" not in np_style:
        return amax(x)
    return MaxResult(amax(x, dim, keepdim, **np_style), argmax(x, dim, keepdim, **np_style))


def min(x, dim=None, keepdim=False, **np_style):
    if dim is None and "axis" not in np_style:
        return amin(x)
    return MinResult(amin(x, dim, keepdim, **np_style), argmin(x, dim, keepdim, **np_style))


def logsumexp(x, dim, keepdim=False, **np_style):
    """log(sum(exp(x))) over dims, stable for any finite x: the max is taken out first."""
    dims, kd = normalize_dims("logsumexp", dim, x.ndim, np_style)
    keepdim = keepdim if kd is None else kd
    m = Amax.apply(x, dims, True).data
    xp = Function.xp(m)
    m = const(xp.where(xp.isfinite(m), m, 0), x)   # constant: the result does not depend on it
    s = Sum.apply((x - m).exp(), dims, keepdim).log()
    return s + (m if keepdim else m.reshape(s.shape))


class Softmax(Function):
    """exp(x) / sum(exp(x)) along ``dim``; the max is subtracted first so +-1e4 logits are fine."""

    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        out = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        s, = ctx.saved_tensors
        # dL/dx = s * (g - sum(g * s))
        return s * (g - (g * s).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        # dL/dx = g - softmax(x) * sum(g)
        return g - out.exp() * g.sum(ctx.dim, keepdim=True), None


def _along(cls, name, x, dim):
    d = normalize_dim(name, dim, x.ndim)
    if x.ndim == 0:                 # a 0-d tensor is a single class: work on it as shape (1,)
        return cls.apply(x.reshape(1), 0).reshape(())
    return cls.apply(x, d)


def softmax(x, dim):
    return _along(Softmax, "softmax", x, dim)


def log_softmax(x, dim):
    return _along(LogSoftmax, "log_softmax", x, dim)
