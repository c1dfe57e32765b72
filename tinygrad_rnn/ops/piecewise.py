"""Elementwise functions with kinks and jumps: abs, sign, relu and its relatives, clamp,
maximum/minimum, rounding, division with remainder, nan_to_num.

Their derivatives are masks that do not depend smoothly on x (0 wherever a function is constant,
and PyTorch's choice at the kinks and jumps), built as constants from raw arrays; each backward
multiplies the incoming gradient by its mask. Rounding an integer tensor returns it unchanged.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd import Function, OpError, OpNotImplementedError
from ..tensor import Tensor
from .common import const
from .compare import where


def _is_tensor(x):
    return isinstance(x, Tensor)


def _kind(a):
    """dtype kind of a raw array or a Python number."""
    return a.dtype.kind if hasattr(a, "dtype") else "f" if isinstance(a, float) else "i"


# ----------------------------------------------------------------------------- kinks

class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).abs(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * const(ctx.xp(x.array).sign(x.array), x)


class Sign(Function):
    """sign(x); its gradient is zero everywhere it exists."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            return x.copy()                 # sign(True) is True
        xp = ctx.xp(x)
        if x.dtype.kind == "f":             # PyTorch: sign(NaN) is 0 ((x > 0) - (x < 0))
            return xp.where(xp.isnan(x), 0, xp.sign(x)).astype(x.dtype, copy=False)
        return xp.sign(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0


class Relu(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp(x).maximum(x, 0).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved
        return g * (out > 0)                # the mask is constant: out gets no gradient from it


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx, x, slope):
        xp = ctx.xp(x)
        ctx.save_for_backward(x)
        ctx.slope = slope
        return xp.where(x > 0, x, x * slope).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        xp = ctx.xp(x.array)
        return g * const(xp.where(x.array > 0, 1, ctx.slope).astype(x.dtype), x), None


class Elu(Function):
    @staticmethod
    def forward(ctx, x, alpha):
        xp = ctx.xp(x)
        out = xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0))).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, out)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        # d/dx = 1 for x > 0, alpha e^x = out + alpha otherwise (differentiable again through out)
        return g * where(const(x.array > 0, x), 1.0, out + ctx.alpha), None


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        if lo is None and hi is None:
            raise ValueError("clamp: at least one of min and max must be given")
        ctx.save_for_backward(x, lo, hi)          # the bounds may be arrays: freed with x
        return ctx.xp(x).clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_arrays
        keep = True
        if lo is not None:
            keep = keep & (x >= lo)
        if hi is not None:
            keep = keep & (x <= hi)
        return g * const(keep, g), None, None


class ClampTensor(Function):
    """``clamp`` with a tensor bound: min(max(x, lo), hi), NaN wherever x or a bound is NaN.

    Gradients as PyTorch's: x gets g where lo <= x <= hi; lo where x < lo < hi; hi where x > hi
    or hi < lo (with one bound: x where it is kept, the bound where x is beyond it). So where
    x < lo = hi nothing gets a gradient, and where a NaN is involved none does."""
    name = "clamp"

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = ctx.xp(x, lo, hi)
        ctx.save_for_backward(x, lo, hi)
        out = x if lo is None else xp.maximum(x, lo)        # maximum/minimum spread NaN
        return out if hi is None else xp.minimum(out, hi)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        x, lo, hi = (v.array if _is_tensor(v) else v for v in (x, lo, hi))
        if hi is None:
            keep, to_lo, to_hi = x >= lo, x < lo, None
        elif lo is None:
            keep, to_lo, to_hi = x <= hi, None, x > hi
        else:
            keep, to_lo, to_hi = (x >= lo) & (x <= hi), (x < lo) & (lo < hi), (x > hi) | (hi < lo)
        need = ctx.needs_input_grad
        return tuple(g * const(m, g) if n and m is not None else None
                     for n, m in zip(need, (keep, to_lo, to_hi)))


def clamp(x, min=None, max=None):
    """``clamp`` with PyTorch's dtype rule: float bounds on an integer tensor give a float result."""
    if min is None and max is None:
        raise OpError("clamp: at least one of 'min' or 'max' must not be None")
    if x.dtype.kind != "f" or _is_tensor(min) or _is_tensor(max):
        dt = dtypes.result_type(x.array, *(b.array if _is_tensor(b) else b for b in (min, max)))
        x, min, max = (v.to(dt) if _is_tensor(v) and v.dtype != dt else v for v in (x, min, max))
        if dt.kind in "iu":
            min, max = (_int_bound(b, dt) for b in (min, max))
    if _is_tensor(min) or _is_tensor(max):
        return ClampTensor.apply(x, min, max)
    return Clamp.apply(x, min, max)


def _int_bound(b, dt):
    """A Python int bound in an integer dtype, as PyTorch converts it: negatives wrap in an unsigned
    dtype (-5 is 251 in uint8); what does not fit at all raises."""
    if _is_tensor(b) or b is None:
        return b
    if dtypes.overflows(b, dt):
        raise OpError(f"clamp: value cannot be converted to type {dtypes.c_name(dt)} without overflow "
                      f"(bound {b!r} for a tensor of dtype {dt})")
    return dtypes.fit_scalar(b, dt)


def _tie_weights(xp, x, y, first_wins):
    """The shares of the gradient for x and y: 1 for the chosen one, 0 for the other, 1/2 each on
    ties, and 1 for both where a NaN makes every comparison false (PyTorch's masks)."""
    x_loses, y_loses = (x < y, x > y) if first_wins else (x > y, x < y)
    tie = x == y
    return xp.where(tie, 0.5, ~x_loses), xp.where(tie, 0.5, ~y_loses)


class Maximum(Function):
    _first_wins = True

    @classmethod
    def forward(cls, ctx, x, y):
        xp = ctx.xp(x, y)
        ctx.save_for_backward(x, y)
        return xp.maximum(x, y) if cls._first_wins else xp.minimum(x, y)

    @classmethod
    def backward(cls, ctx, g):
        x, y = ctx.saved_tensors
        xd = x.array if _is_tensor(x) else x
        yd = y.array if _is_tensor(y) else y
        xp = ctx.xp(xd, yd)
        wx, wy = _tie_weights(xp, xd, yd, cls._first_wins)
        return g * const(wx.astype(g.dtype), g), g * const(wy.astype(g.dtype), g)


class Minimum(Maximum):
    _first_wins = False


# ----------------------------------------------------------------------------- rounding
# Piecewise constant: the derivative is 0 wherever it exists, and PyTorch reports 0 at the jumps too.

class _Rounding(Function):
    @classmethod
    def forward(cls, ctx, x):
        return getattr(ctx.xp(x), cls.numpy_name)(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0


Floor = type("Floor", (_Rounding,), {"numpy_name": "floor"})
Ceil = type("Ceil", (_Rounding,), {"numpy_name": "ceil"})
Trunc = type("Trunc", (_Rounding,), {"numpy_name": "trunc"})


class Round(Function):
    """Round half to even, to ``decimals`` places (negative: to tens, hundreds, ...)."""

    @staticmethod
    def forward(ctx, x, decimals):
        xp = ctx.xp(x)
        if decimals == 0:
            return xp.rint(x)
        # as PyTorch: scale by a power of ten in the tensor's own precision, round, scale back
        p = float(10 ** abs(decimals))
        return (xp.rint(x * p) / p if decimals > 0 else xp.rint(x / p) * p).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0, None


def _rounding(cls, name, x):
    if x.dtype.kind == "b":
        raise OpError(f"{name}: not implemented for dtype bool")
    return x.clone() if x.dtype.kind in "iu" else cls.apply(x)     # integers are already whole


def floor(x): return _rounding(Floor, "floor", x)
def ceil(x): return _rounding(Ceil, "ceil", x)
def trunc(x): return _rounding(Trunc, "trunc", x)


def round(x, decimals=0):
    if x.dtype.kind != "f":
        if decimals == 0 and x.dtype.kind in "iu":
            return x.clone()
        raise OpError(f"round: not implemented for dtype {x.dtype}"
                      + (" with decimals" if x.dtype.kind in "iu" else ""))
    return Round.apply(x, int(decimals))


def frac(x):
    """x - trunc(x): keeps the sign of x (frac(-1.5) = -0.5); its gradient is 1."""
    if x.dtype.kind != "f":
        raise OpError(f"frac: expected a floating point tensor, got dtype {x.dtype}")
    return x - trunc(x)


# ----------------------------------------------------------------------------- division with remainder

_KERNEL = {"floor_divide": "div_floor_cpu", "remainder": "remainder_cpu", "fmod": "fmod_cpu"}


def _check_integer_divisor(name, x, y):
    """Integer division by zero has no answer: PyTorch raises, NumPy would quietly give 0. With no
    elements there is nothing to divide, so nothing raises. Two bools do not divide (PyTorch)."""
    if _kind(x) in "biu" and _kind(y) in "biu":
        if _is_bool(x) and _is_bool(y):
            raise OpNotImplementedError(f"{name}: \"{_KERNEL[name]}\" not implemented for 'Bool' "
                                        f"(both operands are bool; convert one with .long())")
        zero = bool((y == 0).any()) if hasattr(y, "shape") else y == 0 and getattr(x, "size", 1) > 0
        if zero:
            raise ZeroDivisionError(f"{name}: integer division by zero")


def _is_bool(a):
    return a.dtype.kind == "b" if hasattr(a, "dtype") else isinstance(a, bool)


class _Remainder(Function):
    """``x - q(x / y) y`` for the rounding ``q`` of a subclass (``quotient``), computed by the NumPy
    function of the subclass's ``name``."""

    @classmethod
    def forward(cls, ctx, x, y):
        _check_integer_divisor(cls.name, x, y)
        ctx.save_for_backward(x, y)
        return getattr(ctx.xp(x, y), cls.name)(x, y)

    @classmethod
    def backward(cls, ctx, g):
        x, y = ctx.saved_tensors
        gx, gy = ctx.needs_input_grad
        # q(x / y) is locally constant: d/dx = 1, d/dy = -q(x / y)
        return (g if gx else None), (-g * cls.quotient(x, y) if gy else None)


class Fmod(_Remainder):
    """C's fmod: the remainder of x / y truncated toward zero; takes the sign of x.
    fmod(x, y) = x - trunc(x / y) y."""
    name, quotient = "fmod", staticmethod(lambda x, y: trunc(x / y))


class Remainder(_Remainder):
    """Python's %: the remainder of x / y rounded toward -inf; takes the sign of y.
    remainder(x, y) = x - floor(x / y) y. The quotient in the gradient is ``x // y`` (PyTorch's
    floor division), which differs from floor(x / y) where x / y rounds or is infinite:
    1 // -inf is -1, inf // 1 is NaN."""
    name, quotient = "remainder", staticmethod(lambda x, y: x // y)


class FloorDivide(Function):
    """``x // y``: floor(x / y) (PyTorch 2.x rounds toward -inf, as Python does). Piecewise constant:
    gradient 0, as PyTorch's ``div(rounding_mode="floor")`` (its ``floor_divide`` has none at all)."""
    name = "floor_divide"

    @staticmethod
    def forward(ctx, x, y):
        _check_integer_divisor("floor_divide", x, y)
        return ctx.xp(x, y).floor_divide(x, y)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0, g * 0.0


class TruncDivide(Function):
    """x / y rounded toward zero; its gradient is zero almost everywhere (as PyTorch)."""

    @staticmethod
    def forward(ctx, x, y):
        xp = ctx.xp(x, y)
        if x.dtype.kind in "iu" and (not hasattr(y, "dtype") or y.dtype.kind in "iu"):
            q = xp.abs(x) // xp.abs(y)
            return (q * xp.sign(x) * xp.sign(y)).astype(x.dtype, copy=False)
        return xp.trunc(x / y)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0, g * 0.0



# ----------------------------------------------------------------------------- non-finite values

class NanToNum(Function):
    """NaN -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf`` (default: the dtype's extremes).
    The gradient passes where x was finite and is 0 where it was replaced (PyTorch's rule)."""
    name = "nan_to_num"

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        xp = ctx.xp(x)
        ctx.save_for_backward(x)
        info = np.finfo(x.dtype)
        return xp.nan_to_num(x, copy=True, nan=nan, posinf=info.max if posinf is None else posinf,
                             neginf=info.min if neginf is None else neginf)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * const(ctx.xp(x.array).isfinite(x.array), x), None, None, None


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    if x.dtype.kind != "f":
        return x.clone()            # integers hold no NaN or infinity
    return NanToNum.apply(x, nan, posinf, neginf)
