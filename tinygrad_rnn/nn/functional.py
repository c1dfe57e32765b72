"""Stateless layer functions, ``import tinygrad_rnn.nn.functional as F``, with PyTorch's names,
argument order and defaults. Modules in ``tinygrad_rnn.nn`` hold the weights and call these.

Losses (``mse_loss``, ``cross_entropy``, ...) live in ``loss_functions.py`` and are re-exported here.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend, random
from ..autograd import OpError, no_grad, replayed
from ..ops import where
from ..ops.common import normalize_dim
from ..dtypes import c_name, torch_name
from ..ops.nn_ops import EmbeddingLookup
from ..ops.nn_ops import Linear as LinearOp, Hardswish, Hardtanh
from ..random import default_generator
from ..tensor import Tensor
from .loss_functions import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,  # noqa: F401
                             huber_loss, kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, dropout2d, fold, unfold  # noqa: F401,E501
from ..ops.conv import pad_mode
from ..ops.pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d, avg_pool2d,  # noqa: F401
                        max_pool1d, max_pool2d, max_unpool2d)

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


def silu(input, inplace=False):
    """x sigmoid(x) (also called swish)."""
    return input * input.sigmoid()


def mish(input, inplace=False):
    """x tanh(softplus(x)). The softplus never switches to its linear branch, so mish stays smooth."""
    return input * input.softplus(1.0, math.inf).tanh()


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val); gradient 1 strictly between the bounds, 0 at and beyond them
    (PyTorch's choice for this family, where ``clamp`` passes the gradient at the bounds)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val (got min_val={min_val}, "
                         f"max_val={max_val})")
    return Hardtanh.apply(input, min_val, max_val)


def relu6(input, inplace=False):
    """min(max(x, 0), 6): hardtanh(x, 0, 6), so the gradient is 0 at x = 0 and at x = 6."""
    return Hardtanh.apply(input, 0.0, 6.0)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6: 0 for x <= -3, 1 for x >= 3, linear between (gradient 1/6 strictly inside)."""
    return (Hardtanh.apply(input, -3.0, 3.0) + 3) / 6


def hardswish(input, inplace=False):
    """x relu6(x + 3) / 6; gradient 0 for x <= -3, x / 3 + 1/2 between, 1 for x >= 3 (as PyTorch)."""
    return Hardswish.apply(input if input.dtype.kind == "f" else input.float())


# the constants of Klambauer et al. (2017) that make SELU self-normalising
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(x, alpha) with alpha ~ 1.6733, scale ~ 1.0507; gradient scale * alpha at 0."""
    return _SELU_SCALE * input.elu(_SELU_ALPHA)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)); gradient 1 at x = 0."""
    if alpha == 0:
        raise ZeroDivisionError("celu: alpha cannot be 0 for CELU")
    # clamp first: for x > 0 the exponential would overflow in the branch that is not taken
    return input.relu() + alpha * (input.clamp(max=0.0) * (1.0 / alpha)).expm1()


def softsign(input):
    """x / (1 + |x|)."""
    return input / (1 + input.abs())


def tanhshrink(input):
    """x - tanh(x)."""
    return input - input.tanh()


def threshold(input, threshold, value, inplace=False):
    """``value`` where x <= threshold, else x (gradient 0 there, also at x = threshold); NaN is
    not <= anything, so it stays NaN with gradient 1, as in PyTorch."""
    return where(input <= threshold, value, input)


def glu(input, dim=-1):
    """Gated linear unit: a * sigmoid(b) where a, b are the two halves of ``input`` along ``dim``:
    (*, 2n, *) -> (*, n, *)."""
    if input.ndim == 0:
        raise OpError("glu: glu does not support scalars because halving size must be even")
    d = normalize_dim("glu", dim, input.ndim)
    if input.shape[d] % 2:
        raise OpError(f"glu: Halving dimension must be even, but dimension {d} is size {input.shape[d]} "
                      f"(input of shape {tuple(input.shape)})")
    a, b = input.chunk(2, d)
    return a * b.sigmoid()


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


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``: the smallest entries get the largest weights."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    return (-input).softmax(dim)


# ----------------------------------------------------------------------------- layers


def linear(input, weight, bias=None):
    """y = x W^T + b: (*, in_features), (out_features, in_features), (out_features) -> (*, out_features)."""
    if weight.ndim != 2 or input.shape[-1:] != weight.shape[1:]:
        raise OpError(f"linear: input of shape {tuple(input.shape)} does not match weight of shape "
                      f"{tuple(weight.shape)}; expected input (*, {weight.shape[-1]})")
    if input.dtype != weight.dtype:
        raise OpError(f"expected m1 and m2 to have the same dtype, but got: {c_name(input.dtype)} != "
                      f"{c_name(weight.dtype)}")
    if bias is not None and bias.dtype != weight.dtype:
        raise OpError(f"linear: self and mat2 must have the same dtype, but got "
                      f"{torch_name(bias.dtype)} and {torch_name(weight.dtype)}")
    if input.ndim == 2:
        return LinearOp.apply(input, weight, bias)
    if input.ndim == 1:
        return LinearOp.apply(input.unsqueeze(0), weight, bias).squeeze(0)
    # one 2-D product for all leading dims: its weight gradient is one (out, N) @ (N, in)
    lead = input.shape[:-1]
    out = LinearOp.apply(input.reshape(-1, input.shape[-1]), weight, bias)
    return out.reshape(*lead, weight.shape[0])


@replayed
def _update_running_stats(running_mean, running_var, mean, var, momentum, n, c):
    """Batch norm's running statistics move towards this batch's mean and (unbiased) variance.
    ``momentum`` may be an object whose float is read now (BatchNorm's cumulative average)."""
    momentum = float(momentum)
    with no_grad():
        if running_mean is not None:
            running_mean.array[...] = ((1 - momentum) * running_mean.array
                                      + momentum * mean.array.reshape(c)).astype(running_mean.dtype)
            running_mean.bump_version()
        if running_var is not None:
            unbiased = var.array.reshape(c) * (n / (n - 1))
            running_var.array[...] = ((1 - momentum) * running_var.array
                                     + momentum * unbiased).astype(running_var.dtype)
            running_var.bump_version()


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
    return input * random.dropout_mask(input.shape, p, input.dtype, input.device, generator)


def _as_index_array(indices, like, op):
    if isinstance(indices, Tensor):
        if indices.device != like.device:
            raise OpError(f"{op}: indices are on {indices.device} but the weight is on {like.device}")
        arr = indices.array
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
    a = tensor.array
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
    return Tensor.wrap(out, tensor.device)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """Pad the trailing dims of ``input``; differentiable. ``pad`` lists (left, right) widths from
    the last dim backwards, as in PyTorch: ``(1, 2)`` pads the last dim, ``(1, 1, 2, 2)`` the last
    two. Negative widths cut instead of padding.

    * ``"constant"``: fill with ``value`` (default 0), any number of dims;
    * ``"reflect"`` (mirror without repeating the edge), ``"replicate"`` (repeat the edge),
      ``"circular"`` (wrap around): the last 1, 2 or 3 dims of a tensor with one or two more dims
      than that, as PyTorch supports them; a width of at least the dim's size is an error
      (reflect), as is wrapping around more than once (circular).
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise OpError(f"pad: Padding length must be divisible by 2, got {pad}")
    if len(pad) > 2 * input.ndim:
        raise OpError(f"pad: Padding length should be less than or equal to two times the input "
                      f"dimension but got padding length {len(pad)} and input of dimension {input.ndim}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: Unrecognised padding mode {mode}; expected one of {_PAD_MODES}")
    k = len(pad) // 2
    if mode != "constant":
        if value is not None and value != 0:
            raise OpError(f'pad: Padding mode "{mode}" doesn\'t take in value argument')
        if not k + 1 <= input.ndim <= k + 2:
            raise NotImplementedError(
                f"pad: Padding size {len(pad)} is not supported for {input.ndim}D input tensor. "
                f"Supported combinations for non-constant padding: 2D or 3D input with padding size 2 "
                f"(the last dim), 3D or 4D with 4 (the last 2 dims), 4D or 5D with 6 (the last 3 dims)")
    widths = [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]     # first to last dim
    dims = range(input.ndim - k, input.ndim)
    if any(lo < 0 or hi < 0 for lo, hi in widths):          # cut first, then pad what is left
        keep = [slice(None)] * input.ndim
        for d, (lo, hi) in zip(dims, widths):
            n = input.shape[d]
            if n + min(lo, 0) + min(hi, 0) < 0:
                raise OpError(f"pad: padding ({lo}, {hi}) cuts more than the {n} entries of dim {d}")
            keep[d] = slice(max(-lo, 0), n - max(-hi, 0))
        input = input[tuple(keep)]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        flat = tuple(w for lo_hi in reversed(widths) for w in lo_hi)
        return input.pad(flat, 0.0 if value is None else value) if any(flat) else input
    return pad_mode(input, widths, mode)


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


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the C channels of (N, C, *) into ``num_groups`` groups of C / num_groups channels and
    normalise each sample's group over its channels and positions (biased variance), then scale
    and shift per channel by ``weight``/``bias`` (C,). Independent of the batch size."""
    if input.ndim < 2:
        raise OpError(f"group_norm: Expected at least 2 dimensions for input tensor but received "
                      f"{input.ndim} (input of shape {tuple(input.shape)})")
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise OpError(f"group_norm: Expected number of channels in input to be divisible by num_groups, "
                      f"but got input of shape {tuple(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise OpError(f"group_norm: Expected {name} to be a vector of size equal to the number of "
                          f"channels in input, but got {name} of shape {tuple(t.shape)} and input of "
                          f"shape {tuple(input.shape)}")
    group_size = c // num_groups * math.prod(input.shape[2:])
    if n * group_size == 1:     # PyTorch refuses this, in eval mode too: one sample, one value a group
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{list(input.shape)} (group_norm with num_groups={num_groups}: one value "
                         f"per group)")
    x = input.reshape(n, num_groups, group_size)
    centred = x - x.mean(2, keepdim=True)
    var = (centred * centred).mean(2, keepdim=True)
    out = (centred / (var + eps).sqrt()).reshape(*input.shape)
    bshape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
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
            _update_running_stats(running_mean, running_var, mean, var, momentum, n, c)
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


# ----------------------------------------------------------------------------- norms and distances


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along ``dim``: unit p-norm vectors (any shape -> the same shape).
    A vector with norm below ``eps`` is divided by ``eps``, so a zero vector stays zero."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported; use the returned tensor")
    dim = normalize_dim("normalize", dim, input.ndim)
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def _broadcast_pair(op, x1, x2):
    """x1 and x2 expanded to their common shape, or an error naming both shapes."""
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise OpError(f"{op}: x1 of shape {tuple(x1.shape)} and x2 of shape {tuple(x2.shape)} do not "
                      f"broadcast to a common shape") from None
    x1 = x1 if tuple(x1.shape) == shape else x1.expand(*shape)
    x2 = x2 if tuple(x2.shape) == shape else x2.expand(*shape)
    return x1, x2


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` of the broadcast shape,
    which is removed: (*, D, *) and (*, D, *) -> (*, *).

    As in PyTorch, each vector is divided by its norm first (so the result stays in [-1, 1]) and
    the floor at ``eps`` sets the value but not the gradient: the gradient flows through the norm
    as if it were not clamped."""
    x1, x2 = _broadcast_pair("cosine_similarity", x1, x2)
    dim = normalize_dim("cosine_similarity", dim, x1.ndim)
    n1 = x1.norm(2, dim, keepdim=True)
    n2 = x2.norm(2, dim, keepdim=True)
    # value max(n, eps), gradient that of n: n - n.detach() is exactly 0 but carries n's gradient
    n1 = n1 - n1.detach() + n1.detach().clamp(min=eps)
    n2 = n2 - n2.detach() + n2.detach().clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim (after broadcasting): (N, D), (N, D) -> (N,)
    (``keepdim``: (N, 1)); ``eps`` keeps the gradient defined when x1 = x2."""
    ndim = max(x1.ndim, x2.ndim)
    return (x1 - x2 + eps).norm(p, ndim - 1 if ndim else 0, keepdim)


# attention lives in its own file; imported last because it builds on the functions above
from .attention_functions import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402,F401
