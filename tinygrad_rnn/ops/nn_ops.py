"""Ops that ``tinygrad_rnn.nn`` needs and that are not compositions of primitives:

* ``EmbeddingLookup``: rows of a weight matrix picked by integer indices; the backward adds each
  output row's gradient into its weight row (repeated indices add up) and skips ``padding_idx``.
* ``BinaryCrossEntropy``: elementwise BCE with PyTorch's clamped logs and clamped gradient.
* ``Hardtanh``: clamp whose gradient is 0 at the bounds (``clamp`` passes it there); one op
  instead of a mask-and-where composition that ran 3-7x slower on large inputs.

Backwards are written with Tensor ops, so ``create_graph=True`` differentiates them again.
(Imported by ``nn``, not by ``ops/__init__``.)
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import const
from .compare import where
from .indexing import IndexAdd, _index_add
from .piecewise import Clamp

_LOG_MIN = -100.0     # PyTorch clamps BCE's logs here so a probability of exactly 0 or 1 stays finite
_GRAD_EPS = 1e-12     # ... and the denominator x (1 - x) of its gradient to at least this


class EmbeddingLookup(Function):
    """``weight[indices]``: (num_embeddings, D) and integer (*) -> (*, D)."""
    name = "embedding"
    array_backward = True

    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        # a copy of the indices when backward will read them: changing the index tensor later
        # must not move the gradient to other rows
        ctx.weight_shape, ctx.padding_idx = weight.shape, padding_idx
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(indices.copy())
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        idx, = ctx.saved_arrays
        if ctx.padding_idx is not None:
            # the padding row gets no gradient: zero the output rows that came from it
            g = g * (idx != ctx.padding_idx)[..., None].astype(g.dtype)
        # each row's gradient is added into the weight row it came from (repeats add up)
        if isinstance(g, Tensor):
            return IndexAdd.apply(g, (idx,), ctx.weight_shape), None, None
        return _index_add(ctx.xp(g), g, (idx,), ctx.weight_shape), None, None


class BinaryCrossEntropy(Function):
    """Elementwise ``-w (t log x + (1 - t) log(1 - x))`` with both logs clamped to >= -100.

    Gradients as PyTorch: d/dx = w (x - t) / max(x (1 - x), 1e-12),
    d/dt = w (log(1 - x) - log x) (clamped logs). ``weight`` may be None.
    """
    name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx, x, t, w):
        xp = ctx.xp(x, t)
        with np.errstate(divide="ignore"):   # log(0) = -inf is expected; the clamp handles it
            log_x = xp.maximum(xp.log(x), _LOG_MIN)
            log_1mx = xp.maximum(xp.log1p(-x), _LOG_MIN)
        loss = (t - 1) * log_1mx - t * log_x
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, t, w)
        return loss.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad[:2]
        gw = g if w is None else g * w
        gx = gt = None
        if need_x:
            gx = gw * (x - t) / (x * (1 - x)).clamp(min=_GRAD_EPS)
        if need_t:
            with np.errstate(divide="ignore"):
                gt = gw * ((1 - x).log().clamp(min=_LOG_MIN) - x.log().clamp(min=_LOG_MIN))
        return gx, gt, None


class Hardswish(Function):
    """x relu6(x + 3) / 6, with PyTorch's gradient (its vectorised CPU kernel): 0 for x <= -3,
    x / 3 + 1/2 between, 1 for x >= 3, also at +-inf (where the product rule gives inf * 0), NaN at
    NaN. The second derivative is 1/3 strictly between -3 and 3, else 0."""
    name = "hardswish"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * ctx.xp(x).clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        xp, xd = ctx.xp(x.array), x.array
        inside = (xd > -3) & (xd < 3)
        outside = xp.where(xd <= -3, 0, xp.where(xd >= 3, 1, xp.nan)).astype(xd.dtype)
        return g * where(const(inside, x), x / 3 + 0.5, const(outside, x))


class Hardtanh(Clamp):
    """``clamp(x, lo, hi)`` (Clamp's forward) with gradient 1 strictly inside (lo, hi) and 0 at and
    beyond the bounds: PyTorch's choice for hardtanh, relu6, hardsigmoid and hardswish."""
    name = "hardtanh"

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_arrays
        inside = (x > lo) & (x < hi)
        return g * const(inside.astype(g.dtype), g), None, None


class Linear(Function):
    """``x W^T + b``: (N, in), (out, in), (out,) or None -> (N, out) as one node.

    One node instead of transpose + matmul + add: the weight's gradient ``g^T x`` comes out in the
    weight's own (out, in) layout, so the engine can hand it to ``.grad`` without a copy, and the
    bias gradient is one column sum.
    """
    name = "linear"
    array_backward = True

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        out = x @ w.T
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        return (g @ w if need_x else None), (g.T @ x if need_w else None), \
               (g.sum(axis=0) if need_b else None)


class SoftmaxCrossEntropy(Function):
    """Per-sample cross-entropy of logits: ``-log softmax(x)[i, t_i]``, 0 where ``valid`` is False.
    (N, C) float, (N,) int class indices (safe: ignored rows hold any valid class), (N,) bool ->
    (N,).

    One node instead of log_softmax + picking + masking; its gradient is the classic
    ``softmax(x) - onehot(t)`` per row (times the incoming gradient, 0 on ignored rows).
    Ignored rows are masked by selection, not by multiplying with 0: with every target ignored
    the mean's incoming gradient is 1/0 = inf, and inf * 0 would be nan (PyTorch gives 0).
    ``backward`` builds it from Tensor ops (differentiable again). ``backward_arrays`` is a second
    body for array mode, kept for speed: it reuses the log-probabilities forward computed (no
    second softmax) and works in place on one array, where the Tensor formula makes five.
    """
    name = "cross_entropy"
    array_backward = True           # through backward_arrays

    @staticmethod
    def forward(ctx, x, target, valid):
        xp = ctx.xp(x)
        shifted = x - x.max(axis=1, keepdims=True)          # stable for any finite logits
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        rows = xp.arange(x.shape[0])
        loss = xp.where(valid, -logp[rows, target], 0)   # 0 even where an ignored row is not finite
        # target and valid are the caller's own arrays (made from the target tensor, never shared
        # with it); logp only the array-mode body reads
        ctx.save_for_backward(x, target, valid, logp)
        return loss.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, target, valid, _ = ctx.saved_tensors
        onehot = x.device.xp.zeros(x.shape, x.dtype)
        rows = x.device.xp.arange(x.shape[0])
        onehot[rows, target.array] = valid.array     # 1, except on ignored rows (no -0.0 there)
        scale = g.where(valid, 0.0)
        return (x.softmax(1) - const(onehot, x)) * scale.unsqueeze(1), None, None

    @staticmethod
    def backward_arrays(ctx, g):
        _, target, valid, logp = ctx.saved_arrays          # with the same version check as backward
        xp = ctx.xp(g)
        grad = xp.exp(logp)                                 # softmax(x)
        grad[xp.arange(grad.shape[0]), target] -= valid     # - onehot(t), except on ignored rows
        grad *= xp.where(valid, g, 0)[:, None]
        return grad.astype(g.dtype, copy=False), None, None
