"""Type promotion with PyTorch's rules, in one place. Knows nothing of tensors.

PyTorch sorts dtypes into categories, bool < integer < floating, and decides the result dtype of
an operation in three tiers: tensors with dimensions, 0-d tensors, Python numbers. A lower tier
only matters when its category is higher than everything above it, so

* ``float32 tensor * 2.5``, ``float32 tensor + float64 0-d tensor`` and ``float32 + int64 tensor``
  stay float32 (NumPy would give float64 for the last two);
* ``int64 tensor * 0.5`` is float32 (the default float), not float64;
* ``int32 tensor + int64 0-d tensor`` stays int32; ``int8 + uint8`` tensors give int16.

``result_type`` returns the dtype; the operators cast their operands to it before computing.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

DEFAULT_FLOAT = np.dtype(np.float32)     # changed by set_default_dtype: read it as dtypes.DEFAULT_FLOAT
DEFAULT_INT = np.dtype(np.int64)
BOOL = np.dtype(np.bool_)

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}

# how PyTorch spells dtypes in its messages
_TORCH_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char",
                "uint8": "Byte", "int16": "Short", "int32": "Int", "int64": "Long", "bool": "Bool"}


def torch_name(dtype) -> str:
    """``float32`` -> ``Float``: the name PyTorch's messages use for a dtype."""
    return _TORCH_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)


def promote_types(a, b):
    """Two dtypes -> the dtype both fit in: the higher category wins outright (int with float32 is
    float32), within one category the wider type (NumPy's table, which matches PyTorch's there)."""
    if a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def get_default_dtype():
    """The dtype of tensors made from Python floats and of float factories (``zeros``, ``randn``,
    ``Tensor(...)``, layers' parameters): float32 unless ``set_default_dtype`` changed it."""
    return DEFAULT_FLOAT


def set_default_dtype(d):
    """Make ``d`` (float16, float32 or float64) the default float dtype, as ``torch.set_default_dtype``:
    Python floats, float factories, integer-to-float promotion (``int_tensor / 2``) and new layers'
    parameters follow it; tensors that exist keep their dtype. Process-wide, not per thread."""
    global DEFAULT_FLOAT
    try:
        dt = np.dtype(d)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default "
                        f"type, got {d!r}")
    DEFAULT_FLOAT = dt


def _scalar_dtype(x):
    if isinstance(x, bool):
        return BOOL
    if isinstance(x, numbers.Integral):
        return DEFAULT_INT
    return DEFAULT_FLOAT


def _combine(higher, lower):
    """Merge a lower tier's dtype into a higher tier's (PyTorch's category rule)."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """The dtype PyTorch gives an elementwise op on ``operands``: arrays (anything with ``dtype``
    and ``ndim``) or Python numbers."""
    dims = zeros = scalars = None
    for x in operands:
        dt = getattr(x, "dtype", None)
        if dt is None:
            if x is None:
                continue
            d = _scalar_dtype(x)
            scalars = d if scalars is None else promote_types(scalars, d)
        elif x.ndim:
            dims = dt if dims is None else promote_types(dims, dt)
        else:
            zeros = dt if zeros is None else promote_types(zeros, dt)
    return _combine(dims, _combine(zeros, scalars))


def can_cast(src, dst) -> bool:
    """In-place results may only go to a dtype of the same or a higher category (PyTorch)."""
    return _CATEGORY[src.kind] <= _CATEGORY[dst.kind]


_C_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "int8": "int8_t",
            "uint8": "uint8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t", "bool": "bool"}


def c_name(dtype) -> str:
    """``float32`` -> ``float``, ``uint8`` -> ``uint8_t``: the C names some PyTorch messages use."""
    return _C_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)


_BOUNDS = {}


def _bounds(dtype):
    b = _BOUNDS.get(dtype)
    if b is None:
        info = np.iinfo(dtype)
        b = _BOUNDS[dtype] = (int(info.min), int(info.max))
    return b


def fits(value, dtype) -> bool:
    """True when a Python number is representable in integer ``dtype``."""
    lo, hi = _bounds(dtype)
    return lo <= value <= hi


def fit_scalar(value, dtype):
    """A Python number as it takes part in an op of ``dtype``: integers outside an integer dtype's
    range wrap around as they do in PyTorch (``int8 tensor + 1000``) instead of raising."""
    if dtype.kind in "iu" and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if not fits(value, dtype):
            return np.array(value % 2 ** 64, dtype=np.uint64).astype(dtype)[()].item()
    return value


def overflows(value, dtype) -> bool:
    """True when PyTorch refuses to convert the Python number ``value`` to ``dtype`` ("value cannot
    be converted to type int8_t without overflow"): an integer must fit an integer dtype, except
    that an unsigned one also takes negatives down to -max (they wrap: -1 is 255 in uint8); a float
    must be finite and in range for an integer dtype, and in range, inf or nan for a float dtype."""
    if dtype.kind == "b" or isinstance(value, bool):
        return False
    if dtype.kind in "iu":
        lo, hi = _bounds(dtype)
        if isinstance(value, numbers.Integral):
            return value > hi or value < (-hi if dtype.kind == "u" else lo)
        v = float(value)
        return not (math.isfinite(v) and lo <= v <= hi)
    try:
        v = float(value)
    except OverflowError:           # an integer beyond any float
        return True
    return math.isfinite(v) and abs(v) > float(np.finfo(dtype).max)
