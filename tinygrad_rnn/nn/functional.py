"""Stateless layer functions, ``import tinygrad_rnn.nn.functional as F``, with PyTorch's names,
argument order and defaults. Modules in ``tinygrad_rnn.nn`` hold the weights and call these.

Losses (``mse_loss``, ``cross_entropy``, ...) live in ``loss_functions.py`` and are re-exported here.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..autograd import OpError, no_grad
from ..ops.nn_ops import EmbeddingLookup
from ..random import default_generator
from ..tensor import Tensor
from .loss_functions import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,  # noqa: F401
                             l1_loss, mse_loss, nll_loss)

# ----------------------------------------------------------------------------- activations


def relu(input, inplace=False):
    """max(x, 0). ``inplace`` is accepted for compatibility; the result is always a new tensor."""
    return input.relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x > 0, negative_slope * x otherwise."""
    return input.leaky_relu(negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha (e^x - 1) otherwise."""
    return input.elu(alpha)


def gelu(input, approximate="none"):
    """x Phi(x) (``approximate="tanh"``: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))))."""
    return input.gelu(approximate)


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta; x itself where beta x > threshold."""
    return input.softplus(beta, threshold)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), finite for any finite x."""
    return -((-input).softplus(1.0, math.inf))


def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                  "Change the call to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (computed stably: the max is subtracted first)."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return input.softmax(dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x) along ``dim``, stable for any finite x."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return input.log_softmax(dim)


# ----------------------------------------------------------------------------- layers


def linear(input, weight, bias=None):
    """y = x W^T + b: (*, in_features), (out_features, in_features), (out_features) -> (*, out_features)."""
    if weight.ndim != 2 or input.shape[-1:] != weight.shape[1:]:
        raise OpError(f"linear: input of shape {tuple(input.shape)} does not match weight of shape "
                      f"{tuple(weight.shape)}; expected input (*, {weight.shape[-1]})")
    if input.ndim > 2:
        # one 2-D product for all leading dims: its weight gradient is one (in, N) @ (N, out)
        lead = input.shape[:-1]
        out = input.reshape(-1, input.shape[-1]) @ weight.mT
        out = out.reshape(*lead, weight.shape[0])
    else:
        out = input @ weight.mT
    return out if bias is None else out + bias


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (inverted
    dropout, so the expected value is unchanged); the identity when ``training`` is False.
    The mask comes from ``generator`` (default: the default generator)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    u = (generator or default_generator).numpy.random(input.shape, dtype=np.float32)
    mask = ((u >= p) * (1.0 / (1.0 - p))).astype(input.dtype)
    return input * Tensor._make(backend.to_device(mask, input.device), input.device)


def _as_index_array(indices, like, op):
    if isinstance(indices, Tensor):
        if indices.device != like.device:
            raise OpError(f"{op}: indices are on {indices.device} but the weight is on {like.device}")
        arr = indices.data
    else:
        arr = backend.to_device(np.asarray(indices), like.device)
    if arr.dtype.kind not in "iu":
        raise OpError(f"{op}: indices must be an integer tensor, got dtype {arr.dtype}")
    return arr


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` picked by integer ``input``: (*) and (num_embeddings, D) -> (*, D).

    Gradients of repeated indices add up; the row ``padding_idx`` gets no gradient.
    ``max_norm``, ``scale_grad_by_freq`` and ``sparse`` are not supported.
    """
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    if weight.ndim != 2:
        raise OpError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                      f"{tuple(weight.shape)}")
    idx = _as_index_array(input, weight, "embedding")
    n = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError(f"embedding: index out of range: indices must be in [0, {n}), got values in "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings {n}")
        padding_idx %= n
    return EmbeddingLookup.apply(weight, idx, padding_idx)


def one_hot(tensor, num_classes=-1):
    """Integer (*) -> int64 (*, num_classes) with a 1 at each value's position.
    ``num_classes=-1`` uses max(tensor) + 1."""
    if tensor.dtype.kind not in "iu":
        raise OpError(f"one_hot: expected an integer tensor, got dtype {tensor.dtype}")
    xp = tensor.device.xp
    a = tensor.data
    if a.size and int(a.min()) < 0:
        raise OpError("one_hot: class values must be non-negative")
    if num_classes == -1:
        if a.size == 0:
            raise OpError("one_hot: cannot infer the number of classes of an empty tensor; pass num_classes")
        num_classes = int(a.max()) + 1
    elif a.size and int(a.max()) >= num_classes:
        raise OpError(f"one_hot: class values must be smaller than num_classes ({num_classes}), "
                      f"got {int(a.max())}")
    out = (a[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._make(out, tensor.device)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dims (biased variance), then scale and
    shift: (*, *normalized_shape) -> same shape."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != normalized_shape or input.ndim < k:
        raise OpError(f"layer_norm: expected input with shape (*, {', '.join(map(str, normalized_shape))}), "
                      f"but got input of shape {tuple(input.shape)}")
    dims = tuple(range(input.ndim - k, input.ndim))
    centred = input - input.mean(dims, keepdim=True)
    var = (centred * centred).mean(dims, keepdim=True)
    out = centred / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Normalise each channel (dim 1) of (N, C, *) over all other dims.

    ``training=True``: batch statistics (biased variance); ``running_mean``/``running_var``, when
    given, are updated in place as ``(1 - momentum) * running + momentum * batch``, with the
    UNBIASED batch variance. ``training=False``: the running statistics are used.
    """
    if input.ndim < 2:
        raise OpError(f"batch_norm: expected input of shape (N, C, *), got {tuple(input.shape)}")
    c = input.shape[1]
    bshape = (1, c) + (1,) * (input.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise OpError(f"batch_norm: {name} should have shape ({c},) for input of shape "
                          f"{tuple(input.shape)}, got {tuple(t.shape)}")
    if training:
        dims = (0,) + tuple(range(2, input.ndim))
        n = input.numel() // c
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{tuple(input.shape)}")
        mean = input.mean(dims, keepdim=True)
        centred = input - mean
        var = (centred * centred).mean(dims, keepdim=True)
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    running_mean.data[...] = ((1 - momentum) * running_mean.data
                                              + momentum * mean.data.reshape(c)).astype(running_mean.dtype)
                if running_var is not None:
                    unbiased = var.data.reshape(c) * (n / (n - 1))
                    running_var.data[...] = ((1 - momentum) * running_var.data
                                             + momentum * unbiased).astype(running_var.dtype)
        out = centred / (var + eps).sqrt()
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
        mean = running_mean.detach().reshape(bshape)
        std = (running_var.detach().reshape(bshape) + eps).sqrt()
        out = (input - mean) / std
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out
