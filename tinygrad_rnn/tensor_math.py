"""Tensor's arithmetic: the operators (``+ - * / // % ** @``, comparisons, ``& | ^ ~``) with
PyTorch's type promotion, their named forms (``add``, ``sub``, ..., ``eq``), the elementwise
functions (``exp``, ``sigmoid``, ``clamp``, ``floor``, ``atan2``, ...) and the matrix products
(``mm``, ``bmm``, ``addmm``, ...). Each method is one call into ``ops``, where the op's forward and
gradient sit side by side.

``MathMethods`` is a base class of ``Tensor`` (``tensor.py``): methods only, no state.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import backend, dtypes
from .autograd import OpError

# Bound by tensor.py once Tensor exists: Tensor's methods call ops, and ops build Tensors, so
# neither can be imported here.
Tensor = ops = None


class MathMethods:
    __slots__ = ()

    # ------------------------------------------------------------------ arithmetic
    def _bin(self, fn, other, reflected=False):
        """A binary op with PyTorch's type promotion (``dtypes.result_type``)."""
        a = self
        if type(other) is Tensor or isinstance(other, Tensor):
            if other.array.dtype != a.array.dtype:
                a, other = _promote(a, other)
        else:
            if isinstance(other, np.generic):
                other = other.item()
            if isinstance(other, (int, float)):      # Python numbers (bool is an int)
                dt = a.array.dtype
                if type(other) is float:
                    if dt.kind != "f":
                        a = a.to(dtypes.DEFAULT_FLOAT)
                elif dt.kind == "b":
                    if type(other) is not bool:
                        a = a.to(dtypes.DEFAULT_INT)
                elif dt.kind != "f":
                    other = dtypes.fit_scalar(other, dt)
            elif isinstance(other, np.ndarray) or backend.is_array(other):
                return self._bin(fn, Tensor._from_data(other, device="cpu" if isinstance(other, np.ndarray)
                                                       else None), reflected)
            elif isinstance(other, numbers.Real):
                other = float(other)
            else:
                return NotImplemented
        return fn.apply(other, a) if reflected else fn.apply(a, other)

    def _div(self, other, reflected=False):
        """True division: integer operands give the default float dtype (PyTorch)."""
        if self.array.dtype.kind != "f":
            if not (isinstance(other, float) or isinstance(other, Tensor) and other.array.dtype.kind == "f"):
                return self.to(dtypes.DEFAULT_FLOAT)._bin(ops.Div, other, reflected)
        return self._bin(ops.Div, other, reflected)

    def _bitwise(self, fn, name, other=None):
        kinds = [self.array.dtype.kind] + ([other.array.dtype.kind] if isinstance(other, Tensor) else
                                          ["f"] if isinstance(other, float) else [])
        if "f" in kinds:
            raise TypeError(f"{name}: bitwise operations are only implemented for integer and bool "
                            f"tensors, got {', '.join(str(t.dtype) for t in (self, other) if isinstance(t, Tensor))}")
        return fn.apply(self) if other is None else self._bin(fn, other)

    def __add__(self, o): return self._bin(ops.Add, o)
    def __radd__(self, o): return self._bin(ops.Add, o, True)
    def __sub__(self, o): return self._bin(_no_bool_sub(self, o), o)
    def __rsub__(self, o): return self._bin(_no_bool_sub(self, o), o, True)
    def __mul__(self, o): return self._bin(ops.Mul, o)
    def __rmul__(self, o): return self._bin(ops.Mul, o, True)
    def __truediv__(self, o): return self._div(o)
    def __rtruediv__(self, o): return self._div(o, True)
    def __pow__(self, o):       # integer and bool bases have rules of their own (ops.power)
        return self._bin(ops.Pow, o) if self.array.dtype.kind == "f" else ops.power(self, o)
    def __rpow__(self, o):
        return self._bin(ops.Pow, o, True) if self.array.dtype.kind == "f" else ops.power(self, o, True)
    def __matmul__(self, o): return ops.matmul(self, o)
    def __rmatmul__(self, o): return ops.matmul(o, self)
    def __neg__(self):
        if self.array.dtype.kind == "b":
            raise TypeError("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        return ops.Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return self.abs()

    def __lt__(self, o): return self._bin(ops.Less, o)
    def __le__(self, o): return self._bin(ops.LessEqual, o)
    def __gt__(self, o): return self._bin(ops.Greater, o)
    def __ge__(self, o): return self._bin(ops.GreaterEqual, o)
    def __eq__(self, o): return self._bin(ops.Equal, o)
    def __ne__(self, o): return self._bin(ops.NotEqual, o)
    def __invert__(self): return self._bitwise(ops.BitwiseNot, "bitwise_not")
    def __and__(self, o): return self._bitwise(ops.BitwiseAnd, "bitwise_and", o)
    def __or__(self, o): return self._bitwise(ops.BitwiseOr, "bitwise_or", o)
    def __xor__(self, o): return self._bitwise(ops.BitwiseXor, "bitwise_xor", o)
    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__
    def bitwise_not(self): return ~self
    def bitwise_and(self, o): return self & o
    def bitwise_or(self, o): return self | o
    def bitwise_xor(self, o): return self ^ o
    def logical_not(self): return ops.LogicalNot.apply(self)
    def logical_and(self, o): return self._bin(ops.LogicalAnd, o)
    def logical_or(self, o): return self._bin(ops.LogicalOr, o)
    def logical_xor(self, o): return self._bin(ops.LogicalXor, o)

    def add(self, o, *, alpha=1): return self + _times_alpha("add", self, o, alpha)
    def sub(self, o, *, alpha=1): return self - _times_alpha("sub", self, o, alpha)
    def mul(self, o): return self * o
    def div(self, o, *, rounding_mode=None):
        if rounding_mode is None:
            return self / o
        if rounding_mode == "floor":
            return self // o
        if rounding_mode == "trunc":
            return self._bin(ops.TruncDivide, o)
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                         f"found '{rounding_mode}'")
    def pow(self, o): return self ** o
    def matmul(self, o): return self @ o
    def neg(self): return -self
    def lt(self, o): return self < o
    def le(self, o): return self <= o
    def gt(self, o): return self > o
    def ge(self, o): return self >= o
    def eq(self, o): return self == o
    def ne(self, o): return self != o

    # ------------------------------------------------------------------ elementwise functions
    def _f(self):
        """Floating ops on integer/bool tensors compute in the default float dtype (PyTorch)."""
        return self if self.array.dtype.kind == "f" else self.to(dtypes.DEFAULT_FLOAT)

    def exp(self): return ops.Exp.apply(self._f())
    def log(self): return ops.Log.apply(self._f())
    def sqrt(self): return ops.Sqrt.apply(self._f())
    def abs(self):
        if self.array.dtype.kind == "b":
            raise NotImplementedError("abs is not implemented for bool tensors")
        return ops.Abs.apply(self)
    def sign(self): return ops.Sign.apply(self)
    def sin(self): return ops.Sin.apply(self._f())
    def cos(self): return ops.Cos.apply(self._f())
    def tanh(self): return ops.Tanh.apply(self._f())
    def sigmoid(self): return ops.Sigmoid.apply(self._f())
    def relu(self):
        if self.array.dtype.kind == "b":
            raise TypeError("Boolean inputs not supported for relu")
        return ops.Relu.apply(self)
    def leaky_relu(self, negative_slope=0.01): return ops.LeakyRelu.apply(self, negative_slope)
    def elu(self, alpha=1.0): return ops.Elu.apply(self._f(), alpha)
    def softplus(self, beta=1.0, threshold=20.0): return ops.Softplus.apply(self._f(), beta, threshold)
    def erf(self): return ops.Erf.apply(self._f())
    def gelu(self, approximate="none"): return ops.gelu(self._f(), approximate)
    def clamp(self, min=None, max=None): return ops.clamp(self, min, max)
    clip = clamp
    def maximum(self, other): return self._bin(ops.Maximum, other)
    def minimum(self, other): return self._bin(ops.Minimum, other)
    def where(self, condition, other): return ops.where(condition, self, other)

    # ------------------------------------------------------------------ matrix products
    def mm(self, mat2): return ops.mm(self, mat2)
    def bmm(self, mat2): return ops.bmm(self, mat2)
    def mv(self, vec): return ops.mv(self, vec)
    def dot(self, other): return ops.dot(self, other)
    def outer(self, vec2): return ops.outer(self, vec2)
    def addmm(self, mat1, mat2, *, beta=1, alpha=1): return ops.addmm(self, mat1, mat2, beta, alpha)
    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return ops.baddbmm(self, batch1, batch2, beta, alpha)

    # ------------------------------------------------------------------ more elementwise functions
    # (the binary ones go through _bin for PyTorch's type promotion)
    def log1p(self): return ops.log1p(self)
    def expm1(self): return ops.expm1(self)
    def log2(self): return ops.log2(self)
    def log10(self): return ops.log10(self)
    def square(self): return ops.square(self)
    def rsqrt(self): return ops.rsqrt(self)
    def reciprocal(self): return ops.reciprocal(self)
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def round(self, decimals=0): return ops.round(self, decimals)
    def trunc(self): return ops.trunc(self)
    fix = trunc
    def frac(self): return ops.frac(self)
    def tan(self): return ops.tan(self)
    def asin(self): return ops.asin(self)
    def acos(self): return ops.acos(self)
    def atan(self): return ops.atan(self)
    arcsin, arccos, arctan = asin, acos, atan
    def sinh(self): return ops.sinh(self)
    def cosh(self): return ops.cosh(self)
    def fmod(self, other): return self._bin(ops.Fmod, other)
    def remainder(self, other): return self._bin(ops.Remainder, other)
    def floor_divide(self, other): return self._bin(ops.FloorDivide, other)
    def __floordiv__(self, o): return self._bin(ops.FloorDivide, o)
    def __rfloordiv__(self, o): return self._bin(ops.FloorDivide, o, True)
    def __mod__(self, o): return self._bin(ops.Remainder, o)
    def __rmod__(self, o): return self._bin(ops.Remainder, o, True)
    def hypot(self, other): return self._bin(ops.Hypot, other)
    def atan2(self, other):
        """atan2(self, other): integer operands compute in the default float dtype (PyTorch)."""
        floating = self.array.dtype.kind == "f" or isinstance(other, float) or (
            isinstance(other, Tensor) and other.array.dtype.kind == "f")
        return (self if floating else self.to(dtypes.DEFAULT_FLOAT))._bin(ops.Atan2, other)
    arctan2 = atan2
    def lerp(self, end, weight): return ops.lerp(self, end, weight)
    def isnan(self): return ops.isnan(self)
    def isinf(self): return ops.isinf(self)
    def isfinite(self): return ops.isfinite(self)
    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return ops.nan_to_num(self, nan, posinf, neginf)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return ops.isclose(self, other, rtol, atol, equal_nan)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return ops.allclose(self, other, rtol, atol, equal_nan)
    def equal(self, other): return ops.equal(self, other)


def _scalar(x):
    """NumPy scalars become Python scalars, so they do not upcast float32 tensors."""
    return x.item() if isinstance(x, np.generic) else x


def _times_alpha(op, x, other, alpha):
    """``alpha * other`` for ``add``/``sub(other, alpha=)``; a float alpha needs a float result, as
    in PyTorch (an integer result cannot hold the scaled values)."""
    if isinstance(alpha, float) and x.array.dtype.kind != "f" and not (isinstance(other, float) or (
            isinstance(other, Tensor) and other.array.dtype.kind == "f")):
        raise OpError(f"{op}: For integral input tensors, argument alpha must not be a floating point "
                      f"number (alpha={alpha}, a tensor of dtype {x.dtype})")
    return other if alpha == 1 else other * alpha


def _no_bool_sub(a, b):
    """PyTorch refuses ``-`` with bool operands (a mask is inverted with ``~``)."""
    if a.array.dtype.kind == "b" or isinstance(b, bool) or (type(b) is Tensor and b.array.dtype.kind == "b"):
        raise TypeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                        "are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return ops.Sub


def _promote(a, b):
    """Cast two tensors to their PyTorch result dtype (the casts are differentiable)."""
    dt = dtypes.result_type(a.array, b.array)
    return (a if a.array.dtype == dt else a.to(dt)), (b if b.array.dtype == dt else b.to(dt))
