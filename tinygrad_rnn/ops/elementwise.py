"""Elementwise arithmetic and smooth functions: + - * / ** and negation, exp and log (also near 0
and in bases 2 and 10), square root, trigonometric and hyperbolic functions, sigmoid, softplus, erf
and gelu, atan2, hypot, lerp.

Each forward works on raw arrays. The common ones (``array_backward = True``) write their backward
once, with operators and ``ctx.saved``: it runs on raw arrays in a plain ``loss.backward()`` and on
Tensors under ``create_graph=True``, where it is recorded and can be differentiated again. The
others write backward with Tensor methods, as a custom Function does. Exact compositions of other
ops (``square``, ``rsqrt``, ``gelu``, ...) have no backward of their own.

Broadcasting: forwards broadcast as NumPy does; backwards may return gradients in the broadcast
shape, and the engine sums them back to each input's shape (``autograd.sum_to_array``), in that one
place. Dtypes follow PyTorch: the smooth functions of an integer or bool tensor return float32; the
binary ops get PyTorch's type promotion from ``Tensor._bin``, which the Tensor methods go through.

Functions with kinks and jumps (abs, relu, clamp, rounding, division with remainder) are in
``piecewise.py``; comparisons, logic and ``where`` in ``compare.py``.
"""
from __future__ import annotations

import math

from .. import dtypes
from ..autograd import Function, OpError, OpNotImplementedError
from ..dtypes import c_name
from ..tensor import Tensor
from .common import const
from .compare import where


def _is_tensor(x):
    return isinstance(x, Tensor)


def _as_float(x):
    """Integer and bool tensors become float32 before a smooth function (PyTorch's rule)."""
    return x if x.dtype.kind == "f" else x.to(dtypes.DEFAULT_FLOAT)


def _kind(a):
    """dtype kind of a raw array or a Python number."""
    return a.dtype.kind if hasattr(a, "dtype") else "f" if isinstance(a, float) else "i"


# ----------------------------------------------------------------------------- arithmetic

class Add(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x, y):
        gx, gy = ctx.needs_input_grad      # keep only what backward reads (x for dy, y for dx)
        ctx.save_for_backward(x if gy else None, y if gx else None)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        gx, gy = ctx.needs_input_grad
        return (g * y if gx else None), (g * x if gy else None)


class Div(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, y)   # dx needs y; dy x, y
        return x / y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        gx, gy = ctx.needs_input_grad
        # d(x/y)/dy = -x / y^2, computed as -(x / y) / y so a small float32 y does not overflow y^2
        return (g / y if gx else None), (-g * ((x / y) / y) if gy else None)


class Pow(Function):
    """``x ** y`` for tensor/scalar in either place."""

    @staticmethod
    def forward(ctx, x, y):
        try:
            out = x ** y
        except ValueError:      # NumPy refuses integers to negative powers; PyTorch gives 0, +-1
            if not hasattr(y, "dtype"):
                raise
            out = _int_pow(ctx.xp(x, y), x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            # d(x^y)/dx = y x^(y-1), and 0 where y == 0 (not 0 * inf at x == 0), as PyTorch
            if not _is_tensor(y):
                gx = g * 0.0 if y == 0 else g * y * x ** (y - 1)
            else:
                gx = where(const(y.array == 0, y), 0.0, g * y * x ** (y - 1))
        if ctx.needs_input_grad[1]:
            # d(x^y)/dy = x^y log x, and 0 where x == 0 and y >= 0 (the limit), as PyTorch
            xd = x.array if _is_tensor(x) else x
            xp = ctx.xp(xd, y.array)
            if _is_tensor(x):
                log_x = x.log()
            else:
                log_x = const(xp.log(xp.asarray(x, dtype=y.dtype)), y)
            zero = const((xp.asarray(xd) == 0) & (y.array >= 0), y)
            gy = where(zero, 0.0, g * out * log_x)
        return gx, gy


def _int_pow(xp, x, y):
    """Integers to integer powers where some are negative, as C (and PyTorch) define them:
    1 ** y = 1, (-1) ** y = +-1 by the parity of y, any other base gives 0 (1 / x truncated)."""
    neg = y < 0
    out = x ** xp.where(neg, 0, y)
    odd = (y & 1).astype(bool)
    special = xp.where(x == 1, 1, xp.where(x == -1, xp.where(odd, -1, 1), 0))
    return xp.where(neg, special, out).astype(out.dtype, copy=False)


def power(x, y, reflected=False):
    """``x ** y`` (``y ** x`` when ``reflected``) for a Tensor ``x``: ``Pow`` with PyTorch's rules
    for integers and bools checked first (float tensors, the common case, skip them; Tensor's
    ``**`` calls this only for the others)."""
    if x.array.dtype.kind in "biu":
        y = y.item() if hasattr(y, "item") and not _is_tensor(y) and getattr(y, "ndim", 0) == 0 else y
        y_bool = isinstance(y, bool) or (_is_tensor(y) and y.dtype.kind == "b")
        if x.array.dtype.kind == "b" and y_bool:
            if isinstance(y, bool) and not reflected:   # x ** True is x, x ** False is ones
                return x.clone() if y else Tensor.wrap(x.device.xp.ones(x.shape, bool), x.device)
            raise OpNotImplementedError(f"pow: \"pow\" not implemented for 'Bool' (bool tensors of "
                                        f"shapes {tuple(x.shape)} and "
                                        f"{tuple(y.shape) if _is_tensor(y) else ()})")
        if not reflected and isinstance(y, int) and not isinstance(y, bool) and y < 0:
            raise OpError(f"pow: Integers to negative integer powers are not allowed. (a tensor of "
                          f"dtype {x.dtype} to the power {y}; a float exponent gives a float result)")
    return x._bin(Pow, y, reflected)


class Neg(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


# ----------------------------------------------------------------------------- exponentials and logarithms

class Exp(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp(x).exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved
        return g * out


class Log(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).log(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved
        return g / x


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


class Sqrt(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp(x).sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved
        return g / (2 * out)


# ----------------------------------------------------------------------------- trigonometric and hyperbolic

class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x.cos()


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).cos(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return -g * x.sin()


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


# ----------------------------------------------------------------------------- activations

class Tanh(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp(x).tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved
        return g * (1 - out * out)          # d tanh(x) / dx = 1 - tanh(x)^2


class Sigmoid(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp(x)
        e = xp.exp(-xp.abs(x))              # never overflows
        out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved
        return g * out * (1 - out)          # d s(x) / dx = s(x) (1 - s(x))


class Softplus(Function):
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold`` as in PyTorch."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = ctx.xp(x)
        bx = x * beta
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        smooth = (xp.log1p(xp.exp(-xp.abs(bx))) + xp.maximum(bx, 0)) / beta
        return xp.where(bx > threshold, x, smooth).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        bx = x * ctx.beta
        linear = const(bx.array > ctx.threshold, x)
        return g * where(linear, 1.0, bx.sigmoid()), None, None   # d/dx softplus = sigmoid(beta x)


def erf_array(x):
    """The error function on any array module (NumPy has none), accurate to float64 rounding.

    |x| < 2.5: erf(a) = 2/sqrt(pi) exp(-a^2) sum_n (2a^2)^n a / (2n+1)!!  (all terms positive);
    |x| >= 2.5: erfc(a) = exp(-a^2) / (sqrt(pi) K(a)) with the continued fraction
    K(a) = a + (1/2)/(a + 1/(a + (3/2)/(a + ...))).  The loops run over series terms, not elements.
    """
    xp = Function.xp(x)
    a = xp.abs(x)
    small = xp.minimum(a, 2.5)
    term = small.copy()
    total = small.copy()
    two_a2 = 2 * small * small
    for n in range(1, 45):
        term = term * two_a2 / (2 * n + 1)
        total = total + term
    series = (2 / math.sqrt(math.pi)) * xp.exp(-small * small) * total
    big = xp.maximum(a, 2.5)
    k = big.copy()
    for n in range(60, 0, -1):
        k = big + (n / 2) / k
    tail = 1 - xp.exp(-big * big) / (math.sqrt(math.pi) * k)
    return (xp.sign(x) * xp.where(a < 2.5, series, tail)).astype(x.dtype, copy=False)


class Erf(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf_array(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * (-(x * x)).exp()   # d/dx erf = 2/sqrt(pi) e^(-x^2)


def gelu(x, approximate="none"):
    """x * Phi(x), with Phi the normal CDF (``approximate="tanh"``: the tanh formula). Composed from
    differentiable ops, so its second derivative is right too."""
    if approximate == "none":
        return x * 0.5 * (1 + (x * (1 / math.sqrt(2))).erf())
    if approximate == "tanh":
        return 0.5 * x * (1 + (math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)).tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


# ----------------------------------------------------------------------------- compositions

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
