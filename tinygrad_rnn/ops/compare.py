"""Comparisons, logic and selection: < <= > >= == !=, the logical and bitwise ops, ``where``, and
the floating point tests isnan / isinf / isfinite / isclose / allclose / equal.

Their results are bool: autograd records nothing for them (non-floating outputs never require
grad). ``where`` is the one op here with a gradient, for the two tensors it chooses between.
"""
from __future__ import annotations

from .. import dtypes
from ..autograd import Function, OpError
from ..tensor import Tensor
from . import gradmath


def _is_tensor(x):
    return isinstance(x, Tensor)


# ----------------------------------------------------------------------------- comparisons and logic

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


class LogicalNot(Function):
    @staticmethod
    def forward(ctx, x):
        return ctx.xp(x).logical_not(x)


# ----------------------------------------------------------------------------- selection

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
