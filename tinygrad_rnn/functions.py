"""Top-level functions that are a Tensor method of the same name: ``tinygrad_rnn.exp(x)`` is
``x.exp()``, as ``torch.exp(x)`` is ``x.exp()`` in PyTorch. Each takes the tensor first (PyTorch
calls it ``input``) and then the method's own arguments; the method's docstring (in ``tensor.py``
and the ``tensor_*.py`` files) and the op it calls (in ``ops/``) say more.

Functions that are not methods (``cat``, ``stack``, ``where``, ``einsum``, ...) come from ``ops``.
"""
from __future__ import annotations

__all__ = ["exp", "log", "sqrt", "abs", "sign", "sin", "cos", "tanh", "sigmoid", "relu", "erf",
           "clamp", "clip", "maximum", "minimum", "sum", "mean", "var", "std", "max", "min", "amax",
           "amin", "argmax", "argmin", "logsumexp", "softmax", "log_softmax", "reshape", "flatten",
           "permute", "transpose", "squeeze", "unsqueeze", "matmul", "fmod", "remainder",
           "floor_divide", "atan2", "arctan2", "hypot", "fix", "arcsin", "arccos", "arctan",
           "moveaxis", "swapdims", "numel"]


# ----------------------------------------------------------------------------- elementwise

def exp(input):
    """e^x elementwise (integer and bool tensors give float32): ``input.exp()``."""
    return input.exp()


def log(input):
    """Natural logarithm elementwise: ``input.log()``."""
    return input.log()


def sqrt(input):
    """Square root elementwise: ``input.sqrt()``."""
    return input.sqrt()


def abs(input):
    """|x| elementwise: ``input.abs()``."""
    return input.abs()


def sign(input):
    """-1, 0 or 1 elementwise (0 for NaN): ``input.sign()``."""
    return input.sign()


def sin(input):
    """Sine elementwise: ``input.sin()``."""
    return input.sin()


def cos(input):
    """Cosine elementwise: ``input.cos()``."""
    return input.cos()


def tanh(input):
    """Hyperbolic tangent elementwise: ``input.tanh()``."""
    return input.tanh()


def sigmoid(input):
    """1 / (1 + e^-x) elementwise: ``input.sigmoid()``."""
    return input.sigmoid()


def relu(input):
    """max(x, 0) elementwise: ``input.relu()``."""
    return input.relu()


def erf(input):
    """The error function elementwise: ``input.erf()``."""
    return input.erf()


def clamp(input, min=None, max=None):
    """Each element limited to [min, max] (numbers or tensors; one may be None):
    ``input.clamp(min, max)``."""
    return input.clamp(min, max)


def clip(input, min=None, max=None):
    """Another name for :func:`clamp`: ``input.clip(min, max)``."""
    return input.clip(min, max)


def maximum(input, other):
    """The larger of two tensors elementwise (NaN if either is NaN): ``input.maximum(other)``."""
    return input.maximum(other)


def minimum(input, other):
    """The smaller of two tensors elementwise (NaN if either is NaN): ``input.minimum(other)``."""
    return input.minimum(other)


def fmod(input, other):
    """Remainder of division with the sign of the dividend (C's fmod): ``input.fmod(other)``."""
    return input.fmod(other)


def remainder(input, other):
    """Remainder of division with the sign of the divisor (Python's %): ``input.remainder(other)``."""
    return input.remainder(other)


def floor_divide(input, other):
    """x / y rounded toward -inf (Python's //): ``input.floor_divide(other)``."""
    return input.floor_divide(other)


def atan2(input, other):
    """The angle of the point (other, input), in (-pi, pi]: ``input.atan2(other)``."""
    return input.atan2(other)


def arctan2(input, other):
    """Another name for :func:`atan2`: ``input.arctan2(other)``."""
    return input.arctan2(other)


def hypot(input, other):
    """sqrt(x^2 + y^2) elementwise, without overflow: ``input.hypot(other)``."""
    return input.hypot(other)


def fix(input):
    """Round toward zero (another name for ``trunc``): ``input.fix()``."""
    return input.fix()


def arcsin(input):
    """Inverse sine elementwise (``asin``): ``input.arcsin()``."""
    return input.arcsin()


def arccos(input):
    """Inverse cosine elementwise (``acos``): ``input.arccos()``."""
    return input.arccos()


def arctan(input):
    """Inverse tangent elementwise (``atan``): ``input.arctan()``."""
    return input.arctan()


# ----------------------------------------------------------------------------- reductions

def sum(input, dim=None, keepdim=False, *, dtype=None, **np_style):
    """Sum over ``dim`` (an int, a tuple, or None for all elements): ``input.sum(dim, keepdim)``."""
    return input.sum(dim, keepdim, dtype=dtype, **np_style)


def mean(input, dim=None, keepdim=False, *, dtype=None, **np_style):
    """Mean over ``dim`` (floating point tensors only): ``input.mean(dim, keepdim)``."""
    return input.mean(dim, keepdim, dtype=dtype, **np_style)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, **np_style):
    """Variance over ``dim``, dividing by n - 1 unless ``correction`` says otherwise:
    ``input.var(dim, unbiased, keepdim, correction=)``."""
    return input.var(dim, unbiased, keepdim, correction=correction, **np_style)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, **np_style):
    """Standard deviation over ``dim`` (the square root of :func:`var`):
    ``input.std(dim, unbiased, keepdim, correction=)``."""
    return input.std(dim, unbiased, keepdim, correction=correction, **np_style)


def max(input, dim=None, keepdim=False, **np_style):
    """The largest value; with ``dim``, ``(values, indices)`` along it; with a tensor as second
    argument, the elementwise :func:`maximum`: ``input.max(dim, keepdim)``."""
    return input.max(dim, keepdim, **np_style)


def min(input, dim=None, keepdim=False, **np_style):
    """The smallest value; with ``dim``, ``(values, indices)`` along it; with a tensor as second
    argument, the elementwise :func:`minimum`: ``input.min(dim, keepdim)``."""
    return input.min(dim, keepdim, **np_style)


def amax(input, dim=None, keepdim=False, **np_style):
    """The largest value over ``dim`` (the gradient is shared among ties):
    ``input.amax(dim, keepdim)``."""
    return input.amax(dim, keepdim, **np_style)


def amin(input, dim=None, keepdim=False, **np_style):
    """The smallest value over ``dim`` (the gradient is shared among ties):
    ``input.amin(dim, keepdim)``."""
    return input.amin(dim, keepdim, **np_style)


def argmax(input, dim=None, keepdim=False, **np_style):
    """The position of the largest value (over all elements, flattened, when ``dim`` is None):
    ``input.argmax(dim, keepdim)``."""
    return input.argmax(dim, keepdim, **np_style)


def argmin(input, dim=None, keepdim=False, **np_style):
    """The position of the smallest value: ``input.argmin(dim, keepdim)``."""
    return input.argmin(dim, keepdim, **np_style)


def logsumexp(input, dim, keepdim=False, **np_style):
    """log(sum(exp(x))) over ``dim``, stable for large x: ``input.logsumexp(dim, keepdim)``."""
    return input.logsumexp(dim, keepdim, **np_style)


def softmax(input, dim, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``: ``input.softmax(dim)``."""
    return input.softmax(dim, dtype)


def log_softmax(input, dim, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably: ``input.log_softmax(dim)``."""
    return input.log_softmax(dim, dtype)


def numel(input):
    """The number of elements: ``input.numel()``."""
    return input.numel()


# ----------------------------------------------------------------------------- shapes and products

def reshape(input, *shape):
    """The same elements in ``shape`` (a view when the layout allows it):
    ``input.reshape(shape)``."""
    return input.reshape(*shape)


def flatten(input, start_dim=0, end_dim=-1):
    """Dims ``start_dim`` to ``end_dim`` merged into one: ``input.flatten(start_dim, end_dim)``."""
    return input.flatten(start_dim, end_dim)


def permute(input, *dims):
    """The dims in the order ``dims`` (a view): ``input.permute(dims)``."""
    return input.permute(*dims)


def transpose(input, dim0, dim1):
    """Dims ``dim0`` and ``dim1`` swapped (a view): ``input.transpose(dim0, dim1)``."""
    return input.transpose(dim0, dim1)


def swapdims(input, dim0, dim1):
    """Another name for :func:`transpose`: ``input.swapdims(dim0, dim1)``."""
    return input.swapdims(dim0, dim1)


def moveaxis(input, source, destination):
    """Dims ``source`` moved to positions ``destination`` (``movedim``):
    ``input.moveaxis(source, destination)``."""
    return input.moveaxis(source, destination)


def squeeze(input, dim=None):
    """Dims of size 1 removed (only ``dim`` when given): ``input.squeeze(dim)``."""
    return input.squeeze(dim)


def unsqueeze(input, dim):
    """A dim of size 1 inserted at ``dim``: ``input.unsqueeze(dim)``."""
    return input.unsqueeze(dim)


def matmul(input, other):
    """The matrix product with NumPy's rules for 1-D operands and batch dims:
    ``input.matmul(other)``, ``input @ other``."""
    return input.matmul(other)
