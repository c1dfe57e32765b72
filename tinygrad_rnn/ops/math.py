"""More elementwise functions: logs and exponentials near 0, trigonometry, rounding, division with
remainder, and the floating point tests (isnan, isclose, ...).

As in ``elementwise.py`` each forward works on raw arrays and each backward is written with Tensor
ops (so ``create_graph=True`` differentiates it again). Functions that are exact compositions of
other ops (``square``, ``rsqrt``, ``frac``, ``lerp``, ...) are written as compositions and have no
backward of their own.

Dtypes follow PyTorch: the smooth functions of an integer or bool tensor return float32; rounding
an integer tensor returns it unchanged; the binary ops here get PyTorch's type promotion from
``Tensor._bin``, which the Tensor methods go through.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..autograd import Function, OpError, OpNotImplementedError
from ..dtypes import c_name
from ..tensor import Tensor
from .common import const
from .elementwise import where


def _is_tensor(x):
    return isinstance(x, Tensor)


def _as_float(x):
    """Integer and bool tensors become float32 before a smooth function (PyTorch's rule)."""
    return x if x.dtype.kind == "f" else x.to(dtypes.DEFAULT_FLOAT)


def _kind(a):
    """dtype kind of a raw array or a Python number."""
    return a.dtype.kind if hasattr(a, "dtype") else "f" if isinstance(a, float) else "i"


# ----------------------------------------------------------------------------- smooth functions

class Log1p(Function):
    """log(1 + x), accurate for tiny x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).log1p(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (1 + x)


class Expm1(Function):
    """exp(x) - 1, accurate for tiny x."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp(x).expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (out + 1)                # d/dx (e^x - 1) = e^x


class _LogBase(Function):
    """log_b(x) for the ``base`` b of a subclass, by its own NumPy function ``numpy_name`` (not
    log(x) / log b) so that log2 of a power of two is exact, as in PyTorch."""

    @classmethod
    def forward(cls, ctx, x):
        ctx.save_for_backward(x)
        return getattr(ctx.xp(x), cls.numpy_name)(x)

    @classmethod
    def backward(cls, ctx, g):
        x, = ctx.saved_tensors
        return g / (x * math.log(cls.base))     # d/dx log_b x = 1 / (x ln b)


class Log2(_LogBase):
    numpy_name, base = "log2", 2.0


class Log10(_LogBase):
    numpy_name, base = "log10", 10.0


class Tan(Function):
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp(x).tan(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (1 + out * out)          # d/dx tan x = 1 + tan^2 x


class Asin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).arcsin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (1 - x * x).sqrt()       # d/dx asin x = 1 / sqrt(1 - x^2)


class Acos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).arccos(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return -g / (1 - x * x).sqrt()      # d/dx acos x = -1 / sqrt(1 - x^2)


class Atan(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).arctan(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (1 + x * x)


class Sinh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).sinh(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x.cosh()


class Cosh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).cosh(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x.sinh()


class Atan2(Function):
    """atan2(y, x): the angle of the point (x, y), in (-pi, pi]."""

    @staticmethod
    def forward(ctx, y, x):
        ctx.save_for_backward(y, x)
        return ctx.xp(y, x).arctan2(y, x)

    @staticmethod
    def backward(ctx, g):
        y, x = ctx.saved_tensors
        gy, gx = ctx.needs_input_grad
        # d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2); where x^2 + y^2 is 0 (the origin, or
        # underflow) both are 0, as in PyTorch, not 0/0
        recip = 1 / (x * x + y * y)
        recip = where(const(ctx.xp(recip.array).isinf(recip.array), recip), 0.0, recip)
        return (g * x * recip if gy else None), (g * -y * recip if gx else None)


class Hypot(Function):
    """sqrt(x^2 + y^2) without overflow for large x, y (hence its own forward)."""

    @staticmethod
    def forward(ctx, x, y):
        if _kind(x) != "f" and _kind(y) != "f":
            raise OpError(f"hypot: not implemented for integer or bool tensors (got {x.dtype}); "
                          f"convert with .float() first")
        out = ctx.xp(x, y).hypot(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        gx, gy = ctx.needs_input_grad
        return (g * x / out if gx else None), (g * y / out if gy else None)


def square(x):
    if x.dtype.kind == "b":         # PyTorch squares bools as integers
        x = x.long()
    return x * x


def reciprocal(x):
    return 1.0 / _as_float(x)


def rsqrt(x):
    return 1.0 / _as_float(x).sqrt()


class Lerp(Function):
    """``start + weight (end - start)``; for |weight| >= 1/2 computed from ``end`` as PyTorch does,
    so that weight = 1 gives ``end`` exactly. Gradients as PyTorch's formulas:
    g (1 - weight), g weight, g (end - start) (so weight = inf gives -inf and inf, not NaN)."""

    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.save_for_backward(weight, *((start, end) if ctx.needs_input_grad[2] else ()))
        diff = end - start
        if not hasattr(weight, "shape"):
            return start + weight * diff if abs(weight) < 0.5 else end - diff * (1 - weight)
        xp = ctx.xp(start, end, weight)
        return xp.where(xp.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))

    @staticmethod
    def backward(ctx, g):
        weight, *ends = ctx.saved_tensors
        gs, ge, gw = ctx.needs_input_grad
        return ((g * (1 - weight) if gs else None), (g * weight if ge else None),
                (g * (ends[1] - ends[0]) if gw else None))


def lerp(start, end, weight):
    """``start + weight (end - start)`` (see ``Lerp``); the operands are promoted to one dtype."""
    if start.dtype.kind != "f":
        raise OpNotImplementedError(f"lerp: \"lerp_kernel_scalar\" not implemented for "
                                    f"'{dtypes.torch_name(start.dtype)}' (lerp needs floating point "
                                    f"tensors; convert with .float() first)")
    # one dtype throughout, as PyTorch (a 0-d weight may differ): no silent promotion
    for what, t in (("end", end), ("weight", weight)):
        if _is_tensor(t) and t.dtype != start.dtype and (what == "end" or t.ndim):
            raise OpError(f"lerp: expected dtype {c_name(start.dtype)} for `{what}` but got dtype "
                          f"{c_name(t.dtype)}")
    dt = dtypes.result_type(*(v.array if _is_tensor(v) else v for v in (start, end, weight)))
    start, end, weight = (v.to(dt) if _is_tensor(v) and v.dtype != dt else v for v in (start, end, weight))
    return Lerp.apply(start, end, weight)


def log1p(x): return Log1p.apply(_as_float(x))
def expm1(x): return Expm1.apply(_as_float(x))
def log2(x): return Log2.apply(_as_float(x))
def log10(x): return Log10.apply(_as_float(x))
def tan(x): return Tan.apply(_as_float(x))
def asin(x): return Asin.apply(_as_float(x))
def acos(x): return Acos.apply(_as_float(x))
def atan(x): return Atan.apply(_as_float(x))
def sinh(x): return Sinh.apply(_as_float(x))
def cosh(x): return Cosh.apply(_as_float(x))


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


# ----------------------------------------------------------------------------- floating point tests

def _test(name, fn):
    def forward(ctx, x):
        xp = ctx.xp(x)
        return fn(xp, x) if x.dtype.kind == "f" else xp.zeros(x.shape, bool) if name != "isfinite" \
            else xp.ones(x.shape, bool)
    return type(name, (Function,), {"forward": staticmethod(forward), "name": name})


IsNan = _test("isnan", lambda xp, x: xp.isnan(x))
IsInf = _test("isinf", lambda xp, x: xp.isinf(x))
IsFinite = _test("isfinite", lambda xp, x: xp.isfinite(x))


def isnan(x): return IsNan.apply(x)
def isinf(x): return IsInf.apply(x)
def isfinite(x): return IsFinite.apply(x)


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


class IsClose(Function):
    """``|x - y| <= atol + rtol |y|`` elementwise (equal infinities count as close)."""
    name = "isclose"

    @staticmethod
    def forward(ctx, x, y, rtol, atol, equal_nan):
        if x.dtype != y.dtype:
            raise OpError(f"isclose: expected both tensors to have the same dtype, got {x.dtype} "
                          f"and {y.dtype}")
        return ctx.xp(x, y).isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)


def _other(x, y):
    return y if _is_tensor(y) else Tensor._from_data(y, dtype=x.dtype, device=x.device)


def isclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False):
    return IsClose.apply(x, _other(x, y), rtol, atol, equal_nan)


def allclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when every element of x is close to y's (broadcasting as NumPy); a Python bool."""
    return bool(isclose(x, y, rtol, atol, equal_nan).array.all())


def equal(x, y) -> bool:
    """True when x and y have the same shape and the same values (a Python bool)."""
    if not _is_tensor(y):
        raise TypeError(f"equal: expected a Tensor as the second argument, got {type(y).__name__}")
    if x.device != y.device:
        raise OpError(f"equal: expected both tensors on one device, got {x.device} and {y.device}")
    return x.shape == y.shape and bool((x.array == y.array).all())

