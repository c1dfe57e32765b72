"""PyTorch's legacy spellings, for old scripts: typed constructors (``LongTensor``,
``FloatTensor``, ...) and ``autograd.Variable``.

Each is a class only so that ``isinstance`` works as in PyTorch (``isinstance(t, LongTensor)`` is
true for an int64 CPU tensor, ``isinstance(t, Variable)`` for any tensor); calling one returns a
plain ``Tensor``. New code writes ``tensor(data, dtype=...)``, ``zeros(...)`` and
``requires_grad_()`` instead.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import dtypes
from .tensor import Tensor


class _TypedTensorMeta(type):
    """``LongTensor(data)``, ``LongTensor(2, 3)``: ``Tensor(...)`` with the class's dtype."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device.type == "cpu"

    def __call__(cls, *args, device=None):
        if len(args) == 1 and isinstance(args[0], Tensor) and args[0].dtype != cls.dtype:
            raise TypeError(f"{cls.__name__}(): expected a tensor of dtype {cls.dtype} (got "
                            f"{args[0].dtype}); convert it with .to(tinygrad_rnn.{cls.dtype})")
        return Tensor(*args, dtype=cls.dtype, device=device)

    def __repr__(cls):
        return f"<class 'tinygrad_rnn.{cls.__name__}'>"


def _typed(name, dtype):
    return _TypedTensorMeta(name, (), {"dtype": np.dtype(dtype), "__doc__":
                            f"``{name}(data)`` / ``{name}(*sizes)``: a {np.dtype(dtype)} tensor "
                            f"(PyTorch's legacy constructor); prefer ``tensor(data, dtype=...)``."})


FloatTensor = _typed("FloatTensor", np.float32)
DoubleTensor = _typed("DoubleTensor", np.float64)
HalfTensor = _typed("HalfTensor", np.float16)
LongTensor = _typed("LongTensor", np.int64)
IntTensor = _typed("IntTensor", np.int32)
ShortTensor = _typed("ShortTensor", np.int16)
CharTensor = _typed("CharTensor", np.int8)
ByteTensor = _typed("ByteTensor", np.uint8)
BoolTensor = _typed("BoolTensor", np.bool_)

TYPED = (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor,
         ByteTensor, BoolTensor)


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)

    def __call__(cls, data=None, requires_grad=False, volatile=False):
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with no_grad():` "
                          "instead.", UserWarning, stacklevel=2)
        if data is None:
            return Tensor(requires_grad=requires_grad)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if requires_grad and data.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        out = data.detach()
        return out.requires_grad_() if requires_grad else out


class Variable(metaclass=_VariableMeta):
    """``Variable(tensor, requires_grad=False)``: PyTorch's deprecated wrapper, kept for old
    scripts. Returns ``tensor.detach()`` (same memory, no history), made to require grad when asked;
    ``Variable()`` is an empty float tensor. Every tensor is a Variable for ``isinstance``."""


def legacy_dtype(spec):
    """``FloatTensor`` or ``"torch.FloatTensor"`` -> its dtype (for ``Tensor.type``); None otherwise."""
    if isinstance(spec, _TypedTensorMeta):
        return spec.dtype
    if isinstance(spec, str):
        name = spec.rsplit(".", 1)[-1]
        for cls in TYPED:
            if cls.__name__ == name:
                return cls.dtype
    return None


def type_name(t) -> str:
    """``t.type()``: PyTorch's name for the tensor's type, ``"torch.FloatTensor"`` (``torch.cuda.``
    on a GPU), so scripts that compare it against PyTorch's strings keep working."""
    prefix = "torch.cuda." if t.device.type == "cuda" else "torch."
    return f"{prefix}{dtypes.torch_name(t.dtype)}Tensor"
