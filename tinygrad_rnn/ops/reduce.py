"""Reductions and the ops built on them: sum, mean, var, std, max/min, argmax/argmin,
logsumexp, softmax, log_softmax, and sum_to_size (the reverse of broadcasting)."""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from ..autograd import Function, OpError, OpIndexError, no_grad, sum_to_array
from ..dtypes import torch_name
from . import gradmath
from .common import const, normalize_dim, normalize_dims

_INT64 = np.dtype(np.int64)
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _kept_shape(shape, dims):
    """The shape with every reduced dim set to 1 (what keepdim=True gives)."""
    return tuple(1 if dims is None or i in dims else s for i, s in enumerate(shape))


class Sum(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.in_shape, ctx.kept = x.shape, _kept_shape(x.shape, dims)
        return ctx.xp(x).sum(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        # every input element added 1 * itself: each gets g, spread back over the reduced dims
        return gradmath.broadcast_to(g.reshape(ctx.kept), ctx.in_shape), None, None


class SumTo(Function):
    """Sum ``x`` down to ``shape`` (the adjoint of broadcasting ``shape`` up to x's shape)."""
    array_backward = True

    @staticmethod
    def forward(ctx, x, shape):
        lead = x.ndim - len(shape)
        if lead < 0 or any(s not in (1, xs) for s, xs in zip(shape, x.shape[lead:])):
            raise OpError(f"sum_to_size: shape {tuple(x.shape)} cannot be summed to {tuple(shape)} "
                          f"(it is not a broadcast of it)")
        ctx.in_shape = x.shape
        return sum_to_array(x, shape)

    @staticmethod
    def backward(ctx, g):
        return gradmath.broadcast_to(g, ctx.in_shape), None


def sum_to_size(x, *shape):
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return x if tuple(x.shape) == tuple(shape) else SumTo.apply(_signed(x), tuple(shape))


def _signed(x):
    """Sums of unsigned integers are int64 in PyTorch, as all integer sums are (NumPy: uint64)."""
    return x.to(_INT64) if x.dtype.kind == "u" else x


def sum(x, dim=None, keepdim=False, *, dtype=None, **np_style):
    """``dtype``: x is cast to it first (PyTorch's ``sum(dtype=)``)."""
    dims, kd = normalize_dims("sum", dim, x.ndim, np_style)
    if dtype is not None:
        if x.dtype != dtype:
            x = x.to(dtype)
    else:
        x = _signed(x)
    return Sum.apply(x, dims, keepdim if kd is None else kd)


def _count(x, dims):
    n = 1
    for i, s in enumerate(x.shape):
        if dims is None or i in dims:
            n *= s
    return n


def mean(x, dim=None, keepdim=False, *, dtype=None, **np_style):
    """``dtype``: x is cast to it first (PyTorch's ``mean(dtype=)``)."""
    dims, kd = normalize_dims("mean", dim, x.ndim, np_style)
    if dtype is not None:
        if np.dtype(dtype).kind != "f":
            raise OpError(f"mean(): could not infer output dtype. Optional dtype must be either a "
                          f"floating point or complex dtype. Got: {torch_name(dtype)}")
        if x.dtype != dtype:
            x = x.to(dtype)
    if x.dtype.kind != "f":     # PyTorch does not guess a float dtype for integers
        raise OpError(f"mean(): could not infer output dtype. Input dtype must be either a floating "
                      f"point or complex dtype. Got: {torch_name(x.dtype)} (use x.float().mean())")
    return Sum.apply(x, dims, keepdim if kd is None else kd) / _count(x, dims)


def _scaled_sq_mean(name, x, dim, unbiased, keepdim, correction, np_style):
    """(mean of squared deviations / s^2, s, keepdim) with s = max |x - mean| held constant.

    Dividing by s first keeps float32 from overflowing in (x - mean)^2 for |x| > 1e19; since s is a
    constant of the computation, the result times s^2 is exactly the variance and its gradient is
    the variance's gradient."""
    dims, kd = normalize_dims(name, dim, x.ndim, np_style)
    keepdim = keepdim if kd is None else kd
    if correction is None:
        correction = 0 if unbiased is False else 1
    if x.dtype.kind != "f":
        raise OpError(f"{name}: std and var only support floating point and complex dtypes, got "
                      f"{torch_name(x.dtype)} (use x.float())")
    scale0 = _scale(x, dims)
    d = x - mean(x / scale0, dims, keepdim=True) * scale0
    s = _scale(d, dims) if d.array.size else scale0
    ds = d / s
    q = Sum.apply(ds * ds, dims, keepdim) / builtins.max(_count(x, dims) - correction, 0)
    return q, s if keepdim else s.reshape(q.shape)


def _scale(x, dims):
    """max |x| over ``dims`` (kept), where finite and positive, else 1: a constant (no gradient)
    that var/std divide by first. An empty x: ones of the kept shape."""
    from .elementwise import where
    with no_grad():
        if not x.array.size:
            return const(Function.xp(x.array).ones(_kept_shape(x.shape, dims), x.dtype), x)
        m = Amax.apply(x.abs(), dims, True)
        return where(m.isfinite() & (m > 0), m, 1).to(x.dtype)


def var(x, dim=None, unbiased=None, keepdim=False, correction=None, **np_style):
    """Variance; unbiased (divides by n - 1) by default, as in PyTorch; ``correction=0`` divides by n."""
    q, s = _scaled_sq_mean("var", x, dim, unbiased, keepdim, correction, np_style)
    return q * s * s


class _StdRoot(Function):
    """sqrt for std: its gradient is 0 where the result is 0 (a constant slice), as PyTorch's,
    where plain sqrt would give 0/0."""
    name = "std"

    @staticmethod
    def forward(ctx, q):
        out = ctx.xp(q).sqrt(q)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        zero = const(out.array == 0, out)
        from .compare import where
        return where(zero, 0.0, g / (2 * where(zero, 1.0, out)))


def std(x, dim=None, unbiased=None, keepdim=False, correction=None, **np_style):
    q, s = _scaled_sq_mean("std", x, dim, unbiased, keepdim, correction, np_style)
    return _StdRoot.apply(q) * s


class Amax(Function):
    """Largest value over dims. The gradient goes to the maximal elements, split evenly on ties."""
    pick = "max"

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        m = getattr(ctx.xp(x), cls.pick)(x, axis=dims, keepdims=True)
        ctx.dims, ctx.kept = dims, m.shape
        out = m if keepdim else m.reshape(tuple(s for i, s in enumerate(x.shape)
                                                if dims is not None and i not in dims))
        ctx.save_for_backward(x, out)   # the output itself: changing it in place is caught
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        m = out.reshape(ctx.kept)
        hit = x.array == m.array
        share = (hit / hit.sum(axis=ctx.dims, keepdims=True)).astype(g.dtype)
        return g.reshape(m.shape) * const(share, g), None, None


class Amin(Amax):
    pick = "min"


def amax(x, dim=None, keepdim=False, **np_style):
    dims, kd = normalize_dims("amax", dim, x.ndim, np_style)
    _check_nonempty("amax", x, dims)
    return Amax.apply(x, dims, keepdim if kd is None else kd)


def amin(x, dim=None, keepdim=False, **np_style):
    dims, kd = normalize_dims("amin", dim, x.ndim, np_style)
    _check_nonempty("amin", x, dims)
    return Amin.apply(x, dims, keepdim if kd is None else kd)


def _check_nonempty(op, x, dims):
    """A maximum over nothing has no value: PyTorch's errors, with their kinds."""
    if x.array.size:
        return
    if dims is None:
        raise OpError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                      f"Specify the reduction dim with the 'dim' argument.")
    for d in dims:
        if x.shape[d] == 0:
            raise OpIndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


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


def _nonempty(name, x, dims):
    for d in (range(x.ndim) if dims is None else dims):
        if x.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    if dims is None and x.numel() == 0:
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")


def _arg(cls, name, x, dim, keepdim, np_style):
    dims, kd = normalize_dims(name, dim, x.ndim, np_style)
    if x.ndim == 0:
        dims = None                 # the one element is the answer, whichever dim was named
    if dims is not None and len(dims) != 1:
        raise OpError(f"{name}: dim must be a single int, got {dim}")
    _nonempty(name, x, dims)
    return cls.apply(x, None if dims is None else dims[0], keepdim if kd is None else kd)


def _no_bool(name, x):
    if x.dtype.kind == "b":
        raise OpError(f"{name}(): does not support bool input (a tensor of shape {tuple(x.shape)}); "
                      f"convert it with .long() or use .any() / .nonzero()")


def argmax(x, dim=None, keepdim=False, **np_style):
    _no_bool("argmax", x)
    return _arg(ArgMax, "argmax", x, dim, keepdim, np_style)


def argmin(x, dim=None, keepdim=False, **np_style):
    _no_bool("argmin", x)
    return _arg(ArgMin, "argmin", x, dim, keepdim, np_style)


def _pick(result, name, x, dim, keepdim, np_style):
    """(values, indices) along one dim. The values are x at the indices, so the gradient goes to
    that one element per slice (as PyTorch's max(dim)), not shared among ties."""
    if dim is None and "axis" not in np_style:
        normalize_dims(name, None, x.ndim, np_style)      # unknown keywords raise TypeError
        _nonempty(name, x, None)
        return (amax if name == "max" else amin)(x)
    idx = _arg(ArgMax if name == "max" else ArgMin, "arg" + name, x, dim, True, np_style)  # bool too
    if x.ndim == 0:
        return result(x, idx)
    from .indexing import Getitem
    d = normalize_dim(name, np_style.get("axis", dim), x.ndim)
    xp = Function.xp(idx.array)
    picked = idx.clone()                    # a copy: the caller gets idx and may change it
    where = tuple(picked.array if i == d else
                  xp.arange(n).reshape((n,) + (1,) * (x.ndim - 1 - i)) for i, n in enumerate(x.shape))
    values = Getitem.apply(x, where)
    keepdim = np_style.get("keepdims", keepdim)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return result(values, idx)


def max(x, dim=None, keepdim=False, **np_style):
    """``x.max()`` -> the largest value; ``x.max(dim)`` -> ``(values, indices)`` as in PyTorch."""
    return _pick(MaxResult, "max", x, dim, keepdim, np_style)


def min(x, dim=None, keepdim=False, **np_style):
    return _pick(MinResult, "min", x, dim, keepdim, np_style)


def logsumexp(x, dim, keepdim=False, **np_style):
    """log(sum(exp(x))) over dims, stable for any finite x: the max is taken out first."""
    dims, kd = normalize_dims("logsumexp", dim, x.ndim, np_style)
    keepdim = keepdim if kd is None else kd
    if x.numel() == 0:              # an empty sum: log(0) = -inf, as PyTorch
        return Sum.apply(x.exp(), dims, keepdim).log()
    from .elementwise import where
    with no_grad():                 # a constant: the result does not depend on it
        m = Amax.apply(x, dims, True)
        m = where(m.isfinite(), m, 0).to(x.dtype)
    s = Sum.apply((x - m).exp(), dims, keepdim).log()
    return s + (m if keepdim else m.reshape(s.shape))


class Softmax(Function):
    """exp(x) / sum(exp(x)) along ``dim``; the max is subtracted first so +-1e4 logits are fine."""
    array_backward = True

    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp(x)
        ctx.dim = dim
        if x.size == 0:
            ctx.save_for_backward(x)
            return x.copy()
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        out = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        s, = ctx.saved
        # dL/dx = s * (g - sum(g * s))
        return s * (g - (g * s).sum(axis=ctx.dim, keepdims=True)), None


class LogSoftmax(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp(x)
        ctx.dim = dim
        if x.size == 0:
            ctx.save_for_backward(x)
            return x.copy()
        shifted = x - x.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved
        # dL/dx = g - softmax(x) * sum(g)
        return g - gradmath.exp(out) * g.sum(axis=ctx.dim, keepdims=True), None


def _along(cls, name, x, dim):
    d = normalize_dim(name, dim, x.ndim)
    if x.ndim == 0:                 # a 0-d tensor is a single class: work on it as shape (1,)
        return cls.apply(x.reshape(1), 0).reshape(())
    return cls.apply(x, d)


def softmax(x, dim):
    return _along(Softmax, "softmax", x, dim)


def log_softmax(x, dim):
    return _along(LogSoftmax, "log_softmax", x, dim)
