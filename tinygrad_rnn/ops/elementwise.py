"""Elementwise ops. Each forward works on raw arrays. The common ones (``array_backward = True``)
write their backward once, with operators and ``ctx.saved``: it runs on raw arrays in a plain
``loss.backward()`` and on Tensors under ``create_graph=True``, where it is recorded and can be
differentiated again. The others write backward with Tensor methods, as a custom Function does.

Broadcasting: forwards broadcast as NumPy does; backwards may return gradients in the broadcast
shape, and the engine sums them back to each input's shape (``autograd.sum_to_array``), in that one
place.
"""
from __future__ import annotations

import math

from .. import dtypes
from ..autograd import Function, OpError, OpNotImplementedError
from ..tensor import Tensor
from . import gradmath
from .common import const


def _is_tensor(x):
    return isinstance(x, Tensor)


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
                return x.clone() if y else Tensor._make(x.device.xp.ones(x.shape, bool), x.device)
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


# ----------------------------------------------------------------------------- smooth functions

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


# ----------------------------------------------------------------------------- piecewise functions
# Their derivatives are masks that do not depend smoothly on x: built as constants from raw arrays.

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
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return ctx.xp(x).clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        keep = True
        if ctx.lo is not None:
            keep = keep & (x.array >= ctx.lo)
        if ctx.hi is not None:
            keep = keep & (x.array <= ctx.hi)
        return g * const(keep, x), None, None


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


class Where(Function):
    """``where(cond, x, y)``: x where cond is true, else y; cond gets no gradient."""
    array_backward = True

    @staticmethod
    def forward(ctx, cond, x, y):
        ctx.save_for_backward(cond)
        return ctx.xp(cond, x, y).where(cond, x, y)

    @staticmethod
    def backward(ctx, g):
        cond, = ctx.saved
        gx, gy = ctx.needs_input_grad[1:]
        return None, (gradmath.where(cond, g, 0) if gx else None), \
            (gradmath.where(cond, 0, g) if gy else None)


def where(condition, x, y):
    """Elementwise choice; ``x``/``y`` may be tensors or numbers; broadcasting as NumPy."""
    if not _is_tensor(condition):
        ref = x if _is_tensor(x) else y
        condition = Tensor._from_data(condition, device=ref.device if _is_tensor(ref) else None)
    if condition.dtype.kind != "b":
        if condition.dtype.name != "uint8":     # uint8 masks: PyTorch's older convention
            raise OpError(f"where expected condition to be a boolean tensor, but got a tensor with "
                          f"dtype {dtypes.torch_name(condition.dtype)} (shape "
                          f"{tuple(condition.shape)}); compare it first, e.g. cond != 0")
        condition = condition != 0
    x = x.item() if hasattr(x, "item") and not _is_tensor(x) and getattr(x, "ndim", 1) == 0 else x
    y = y.item() if hasattr(y, "item") and not _is_tensor(y) and getattr(y, "ndim", 1) == 0 else y
    x, y = (Tensor._from_data(v, device=condition.device) if hasattr(v, "shape") and not _is_tensor(v) else v
            for v in (x, y))
    dt = dtypes.result_type(*(v.array if _is_tensor(v) else v for v in (x, y)))
    x, y = (_to_dtype("where", v, dt) for v in (x, y))
    if not _is_tensor(x) and not _is_tensor(y):     # two numbers: NumPy would make float64
        x = Tensor._from_data(x, dtype=dt, device=condition.device)
    return Where.apply(condition, x, y)


def _to_dtype(op, v, dt):
    """An operand converted to the result dtype; a Python number that does not fit raises as in
    PyTorch ("value cannot be converted to type uint8_t without overflow")."""
    if _is_tensor(v):
        return v if v.dtype == dt else v.to(dt)
    if dt.kind in "iu" and isinstance(v, int) and not dtypes.fits(v, dt):
        raise OpError(f"{op}: value cannot be converted to type {dtypes.c_name(dt)} without "
                      f"overflow")
    return v


# ----------------------------------------------------------------------------- comparisons and logic
# Boolean results: autograd records nothing for them (non-floating outputs never require grad).

def _compare(name, fn):
    def forward(ctx, x, y):
        return fn(ctx.xp(x, y), x, y)
    return type(name, (Function,), {"forward": staticmethod(forward), "name": name.lower()})


Less = _compare("Less", lambda xp, x, y: xp.less(x, y))
LessEqual = _compare("LessEqual", lambda xp, x, y: xp.less_equal(x, y))
Greater = _compare("Greater", lambda xp, x, y: xp.greater(x, y))
GreaterEqual = _compare("GreaterEqual", lambda xp, x, y: xp.greater_equal(x, y))
Equal = _compare("Equal", lambda xp, x, y: xp.equal(x, y))
NotEqual = _compare("NotEqual", lambda xp, x, y: xp.not_equal(x, y))
LogicalAnd = _compare("LogicalAnd", lambda xp, x, y: xp.logical_and(x, y))
LogicalOr = _compare("LogicalOr", lambda xp, x, y: xp.logical_or(x, y))
LogicalXor = _compare("LogicalXor", lambda xp, x, y: xp.logical_xor(x, y))
# bitwise on integers, logical on bools (the same ufuncs do both); floats are refused by Tensor
BitwiseAnd = _compare("BitwiseAnd", lambda xp, x, y: xp.bitwise_and(x, y))
BitwiseOr = _compare("BitwiseOr", lambda xp, x, y: xp.bitwise_or(x, y))
BitwiseXor = _compare("BitwiseXor", lambda xp, x, y: xp.bitwise_xor(x, y))


class BitwiseNot(Function):
    @staticmethod
    def forward(ctx, x):
        return ctx.xp(x).invert(x)


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


class LogicalNot(Function):
    @staticmethod
    def forward(ctx, x):
        return ctx.xp(x).logical_not(x)
