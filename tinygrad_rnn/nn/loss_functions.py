"""Loss functions with PyTorch's signatures and reductions (re-exported by ``nn.functional``).

Shapes: the class dimension is dim 1 (``(N, C)`` or ``(N, C, d1, d2, ...)``, or ``(C,)`` for a
single sample); class-index targets are ``(N,)`` / ``(N, d1, ...)`` / ``()``.
``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (one loss per element/sample).
All of them are stable for extreme inputs: cross-entropy goes through log_softmax and the logits
BCE through softplus, so logits of +-1e4 give finite losses and finite gradients.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..autograd import OpError, no_grad, replayed
from ..ops import where
from ..ops.nn_ops import BinaryCrossEntropy, SoftmaxCrossEntropy
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(size_average, reduce, reduction):
    """The reduction string, honouring PyTorch's deprecated ``size_average``/``reduce`` flags."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use reduction='...' instead.",
                      stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return "mean" if size_average and reduce else "sum" if reduce else "none"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction (expected one of {_REDUCTIONS})")
    return reduction


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    with np.errstate(invalid="ignore", divide="ignore"):   # the mean of nothing is nan, as in PyTorch
        return loss.mean()


def _divide(total, denominator):
    with np.errstate(invalid="ignore", divide="ignore"):   # all targets ignored: 0 / 0 = nan
        return total / denominator


def _const(array, like):
    """A constant (no history) on ``like``'s device; NumPy scalars from reductions become 0-d arrays.
    A Tensor is already one."""
    if isinstance(array, Tensor):
        return array
    return Tensor.wrap(like.device.xp.asarray(array), like.device)


def _as_tensor(x, like, dtype=None):
    """A target/weight given as a Tensor, array or list -> a Tensor on ``like``'s device."""
    if isinstance(x, Tensor):
        if x.device != like.device:
            raise OpError(f"loss: the target is on {x.device} but the input is on {like.device}")
        return x if dtype is None or x.dtype == dtype else x.to(dtype)
    return Tensor._from_data(x, dtype=dtype, device=like.device)


def _warn_shape(op, input, target):
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(f"{op}: using a target size ({tuple(target.shape)}) that is different to the input "
                      f"size ({tuple(input.shape)}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


# ----------------------------------------------------------------------------- regression


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(x - y)^2 elementwise, then reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _as_tensor(target, input)
    _warn_shape("mse_loss", input, target)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """|x - y| elementwise, then reduced (gradient sign(x - y), 0 at x = y)."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _as_tensor(target, input)
    _warn_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


# ----------------------------------------------------------------------------- classification


def _class_targets(op, input, target, ignore_index):
    """Check class-index targets; return (valid mask, safe indices, C, class dim), as Tensors
    computed with tensor ops (so tg.jit records them).

    ``safe`` replaces ignored targets by 0 so they can index; ``valid`` marks the others.
    """
    if input.ndim == 0:
        raise OpError(f"{op}: input must have a class dimension, got a 0-d tensor")
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim]
    t = target if isinstance(target, Tensor) else Tensor._from_data(np.asarray(target), device=input.device)
    if t.dtype.kind not in "iu":
        raise OpError(f"{op}: expected class-index targets of an integer dtype, got {t.dtype}; "
                      f"convert them with target.long()")
    expected = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if tuple(t.shape) != expected:
        raise OpError(f"{op}: expected target of shape {expected} for input of shape "
                      f"{tuple(input.shape)} (classes in dim {class_dim}), got {tuple(t.shape)}")
    _check_class_targets(op, t, c, ignore_index)
    with no_grad():
        valid = t != ignore_index
        safe = where(valid, t, 0)
    return valid, safe, c, class_dim


@replayed
def _check_class_targets(op, target, c, ignore_index):
    """Every target is a class (or ignored), else PyTorch's IndexError. (A check that reads the
    targets: tg.jit makes it again at every replay.)"""
    t = target.array
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bool(bad.any()):
        raise IndexError(f"{op}: target {int(t[bad].reshape(-1)[0])} is out of bounds for {c} classes")


def _target_weights(input, valid, safe, weight):
    """The weight of each sample's target class (0 where ignored), in the input's dtype."""
    with no_grad():
        if weight is None:
            return valid.to(input.dtype)
        w = _as_tensor(weight, input)
        return (w[safe] * valid).to(input.dtype)


def _check_weight(op, weight, c):
    if weight is not None and tuple(weight.shape) != (c,):
        raise OpError(f"{op}: weight should have one entry per class, shape ({c},), got {tuple(weight.shape)}")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class-index targets given log-probabilities ``input``.

    loss_i = -weight[y_i] * input[i, y_i] (0 where y_i == ignore_index); ``"mean"`` divides the
    sum by the total weight of the non-ignored targets.
    """
    reduction = _reduction(size_average, reduce, reduction)
    valid, safe, c, class_dim = _class_targets("nll_loss", input, target, ignore_index)
    weight = None if weight is None else _as_tensor(weight, input)
    _check_weight("nll_loss", weight, c)
    xp = input.device.xp
    # classes last, then one row per sample: (N, C, d1, ...) -> (M, C)
    rows = input.unsqueeze(0) if input.ndim == 1 else input
    if rows.ndim > 2:
        rows = rows.permute(0, *range(2, rows.ndim), 1).reshape(-1, c)
    flat_safe = safe.reshape(-1)
    picked = rows[xp.arange(flat_safe.shape[0]), flat_safe]
    if picked.shape != safe.shape:
        picked = picked.reshape(safe.shape)
    # zeroed by where, not by the zero weight alone: an ignored row may hold -inf (0 * inf = nan)
    picked = where(valid, picked, 0.0)
    w = _target_weights(input, valid, safe, weight)
    loss = picked * -w
    if reduction == "mean":
        return _divide(loss.sum(), w.sum())
    return _reduce(loss, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits ``input`` (classes in dim 1) against class indices or class
    probabilities (a float ``target`` of the input's shape).

    Index targets: ``nll_loss(log_softmax(input, 1), target, ...)``; with label smoothing e the
    loss is (1 - e) * nll + e / C * (-sum_c weight[c] log p_c), each term reduced like nll_loss.
    Probability targets: -sum_c weight[c] * t_c * log p_c, ``"mean"`` divides by the number of
    samples; label smoothing replaces t by (1 - e) t + e / C.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if input.ndim == 0:
        raise OpError("cross_entropy: input must have a class dimension, got a 0-d tensor")
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim]
    weight = None if weight is None else _as_tensor(weight, input)
    _check_weight("cross_entropy", weight, c)
    wshape = [1] * input.ndim
    wshape[class_dim] = c
    w_cls = None if weight is None else _as_tensor(weight, input, input.dtype).reshape(*wshape)

    tdtype = target.dtype if isinstance(target, Tensor) else np.asarray(target).dtype
    if tdtype.kind != "f" and label_smoothing == 0 and weight is None and input.ndim == 2:
        # the common case as one fused node: log_softmax, picking and masking together
        valid, safe, _, _ = _class_targets("cross_entropy", input, target, ignore_index)
        losses = SoftmaxCrossEntropy.apply(input, safe, valid)
        if reduction == "mean":
            return _divide(losses.sum(), valid.sum().to(input.dtype))
        return _reduce(losses, reduction)
    logp = input.log_softmax(class_dim)
    if tdtype.kind == "f":
        if tuple(np.shape(target)) != tuple(input.shape):
            _float_target_error(input, target, tdtype)
        target = _as_tensor(target, input, input.dtype)
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / c
        terms = logp * target if w_cls is None else logp * target * w_cls
        loss = -terms.sum(class_dim)
        if reduction == "mean":
            return _divide(loss.sum(), input.numel() // c if input.numel() else 0.0)
        return _reduce(loss, reduction)

    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0:
        return nll
    valid, safe, _, _ = _class_targets("cross_entropy", input, target, ignore_index)
    smooth = -(logp if w_cls is None else logp * w_cls).sum(class_dim)
    smooth = where(valid, smooth, 0.0)
    if reduction == "mean":
        smooth = _divide(smooth.sum(), _target_weights(input, valid, safe, weight).sum())
    else:
        smooth = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll + (label_smoothing / c) * smooth


def _float_target_error(input, target, dtype):
    """A float target that is not of the input's shape: most likely class indices left as floats."""
    index_shape = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    shape = tuple(np.shape(target))
    if shape == index_shape:
        raise OpError(f"cross_entropy: expected class-index targets of an integer dtype, got {dtype} of "
                      f"shape {shape}; class indices must be integers: convert them with target.long(). "
                      f"(Float targets are class probabilities and must have the input's shape "
                      f"{tuple(input.shape)}.)")
    raise OpError(f"cross_entropy: float targets are class probabilities and must have the input's shape "
                  f"{tuple(input.shape)}, got {shape}; class-index targets are integers of shape "
                  f"{index_shape} (convert with target.long()).")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1]; the logs are clamped to
    >= -100 (as PyTorch), so x = 0 or 1 gives a finite loss. ``weight`` broadcasts to the input."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _as_tensor(target, input, input.dtype)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy: using a target size ({tuple(target.shape)}) that is "
                         f"different to the input size ({tuple(input.shape)}) is deprecated. Please "
                         "ensure they have the same size.")
    x = input.array
    if x.size and bool(((x < 0) | (x > 1) | (x != x)).any()):
        raise OpError("binary_cross_entropy: all elements of input should be between 0 and 1")
    if weight is not None:
        weight = _as_tensor(weight, input, input.dtype)
        if tuple(weight.shape) != tuple(input.shape):
            weight = weight.expand(*input.shape)
    return _reduce(BinaryCrossEntropy.apply(input, target, weight), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE of sigmoid(x) computed from the logits x without forming sigmoid:
    (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x), times ``weight``. ``pos_weight``
    (one per class, broadcast along the last dim) weighs the positive term."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _as_tensor(target, input, input.dtype)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: target size ({tuple(target.shape)}) must be "
                         f"the same as input size ({tuple(input.shape)})")
    # softplus(-x) = -log sigmoid(x); infinite threshold: never switch to the linear approximation
    neg_log_sig = (-input).softplus(1.0, math.inf)
    if pos_weight is not None:
        pos_weight = _as_tensor(pos_weight, input, input.dtype)
        neg_log_sig = (1 + (pos_weight - 1) * target) * neg_log_sig
    loss = (1 - target) * input + neg_log_sig
    if weight is not None:
        loss = loss * _as_tensor(weight, input, input.dtype)
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- robust regression


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = x - y), then reduced;
    ``beta = 0`` is ``l1_loss``. The gradient, d / beta inside and sign(d) outside, is continuous:
    at |d| = beta both sides give sign(d)."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise OpError(f"smooth_l1_loss does not support negative values for beta (got {beta}).")
    target = _as_tensor(target, input)
    _warn_shape("smooth_l1_loss", input, target)
    d = input - target
    if beta == 0:
        return _reduce(d.abs(), reduction)
    ad = d.abs()
    return _reduce(where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (d = x - y): smooth_l1_loss
    times delta (with beta = delta). ``weight`` (the input's shape) multiplies each element's loss
    before the reduction; ``"mean"`` is the plain mean of the weighted losses."""
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise OpError(f"huber_loss does not support non-positive values for delta (got {delta}).")
    target = _as_tensor(target, input)
    _warn_shape("huber_loss", input, target)
    d = input - target
    ad = d.abs()
    loss = where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
    if weight is not None:
        weight = _as_tensor(weight, input, input.dtype)
        if tuple(weight.shape) != tuple(input.shape):
            raise ValueError(f"huber_loss: Weights and input must have the same size (weight "
                             f"{tuple(weight.shape)}, input {tuple(input.shape)}).")
        loss = loss * weight
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- distributions


def _xlogx(t):
    """t log t, with 0 log 0 = 0 (the limit), also in the gradient: the log never sees the zeros."""
    nonzero = t != 0
    return where(nonzero, t * where(nonzero, t, 1.0).log(), 0.0)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence ``target (log target - input)`` for log-probabilities ``input``
    (``log_target=True``: ``exp(target) (target - input)`` for log-probability targets), then reduced.

    Any shape. ``"batchmean"`` divides the sum by the batch size ``input.shape[0]``, which is the
    KL divergence per sample; ``"mean"`` divides by the number of elements and warns, as PyTorch.
    A zero target contributes 0 (0 log 0 = 0).
    """
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the "
                      "support size; 'batchmean' divides only by the batch size and gives the KL "
                      "divergence. 'mean' will behave like 'batchmean' in the next major release "
                      "(as in PyTorch).", stacklevel=2)
    elif reduction != "batchmean":
        reduction = _reduction(None, None, reduction)
    target = _as_tensor(target, input)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        with np.errstate(invalid="ignore"):   # a negative target gives nan, as in PyTorch
            loss = _xlogx(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)
