"""The few functions a gradient formula needs beyond operators, on raw arrays and on Tensors alike.

A library op's backward is written once (``array_backward = True``): the engine hands it raw
arrays in a plain ``loss.backward()`` and Tensors when the backward pass is recorded
(``create_graph=True``). Operators (``g * y``, ``g @ w``, ``x > 0``), indexing,
``.sum(axis=, keepdims=)``, ``.reshape`` and ``.T`` mean the same on both; what is spelt
differently is here, each a one-line choice on the argument's kind::

    out, = ctx.saved
    return g - gradmath.exp(out) * g.sum(axis=ctx.dim, keepdims=True)     # log_softmax
"""
from __future__ import annotations

from ..autograd import get_array_module, sum_to_array
from ..tensor import Tensor


def exp(x):
    return x.exp() if isinstance(x, Tensor) else get_array_module(x).exp(x)


def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y`` (numbers broadcast)."""
    if isinstance(condition, Tensor) or isinstance(x, Tensor) or isinstance(y, Tensor):
        from .compare import where as tensor_where
        return tensor_where(condition, x, y)
    return get_array_module(condition).where(condition, x, y)


def broadcast_to(x, shape):
    return x.expand(*shape) if isinstance(x, Tensor) else get_array_module(x).broadcast_to(x, shape)


def sum_to(x, shape):
    """Sum a broadcast of ``shape`` back down to it (the inverse of ``broadcast_to``)."""
    return x.sum_to_size(shape) if isinstance(x, Tensor) else sum_to_array(x, shape)


def permute(x, dims):
    return x.permute(*dims) if isinstance(x, Tensor) else x.transpose(dims)


def swap_last(x):
    """Swap the last two dims (``x.mT``)."""
    return x.mT if isinstance(x, Tensor) else get_array_module(x).swapaxes(x, -1, -2)
