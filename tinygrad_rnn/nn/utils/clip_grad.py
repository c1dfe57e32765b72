"""Gradient clipping, in place on ``.grad``: the standard cure for exploding gradients in RNNs."""
from __future__ import annotations

import math

from ... import backend
from ...autograd import replayed
from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@replayed
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the vector of all gradient entries (``inf``: the
    largest absolute entry). Gradients are multiplied by max_norm / (total + 1e-6) when that is
    below 1. Returns the total norm before clipping, as a 0-d Tensor. A non-finite total raises
    when ``error_if_nonfinite``; otherwise the gradients are scaled by it anyway (as PyTorch).
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._from_data(0.0)
    dev = grads[0].device
    xp = dev.xp
    if norm_type == math.inf:
        parts = [_on(dev, lambda gxp, a: gxp.max(gxp.abs(a)) if a.size else gxp.zeros((), a.dtype), g)
                 for g in grads]
        total = xp.max(xp.stack(parts))
    elif norm_type == 0:   # the number of non-zero entries
        parts = [_on(dev, lambda gxp, a: gxp.count_nonzero(a), g) for g in grads]
        total = xp.sum(xp.stack(parts)).astype(grads[0].dtype)
    else:
        parts = [_on(dev, lambda gxp, a: gxp.sum(gxp.abs(a) ** norm_type), g) for g in grads]
        total = xp.sum(xp.stack(parts)) ** (1.0 / norm_type)
    total = xp.asarray(total)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale the "
                           "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = max_norm / (total + 1e-6)
    # minimum() keeps a nan coefficient nan, so a nan norm shows up in every gradient as in PyTorch
    coef = xp.asarray(xp.minimum(coef, 1.0))
    if backend.may_be_true(coef != 1.0):
        for g in grads:
            g.array *= backend.to_device(coef, g.device).astype(g.dtype)
    return Tensor.wrap(total, dev)


def _on(dev, fn, g):
    """``fn(xp, array)`` on the gradient's own device, as a 0-d array moved to ``dev``."""
    gxp = g.device.xp
    return backend.to_device(gxp.asarray(fn(gxp, g.array)), dev)


@replayed
def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient entry to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        g.array[...] = g.device.xp.clip(g.array, -clip_value, clip_value)
