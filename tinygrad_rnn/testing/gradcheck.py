"""Gradient checking: compare autograd's gradients with central finite differences.

``gradcheck(fn, *inputs)`` draws a random upstream gradient ``v`` (never all ones, so a wrong
reduction cannot hide), computes ``J^T v`` with backward, and compares it with the numerical
``(<v, f(x + h e_j)> - <v, f(x - h e_j)>) / 2h`` for every input element ``j``, in float64.
"""
from __future__ import annotations

import numpy as np

from .. import autograd
from ..tensor import Tensor


class GradcheckError(AssertionError):
    """A gradient check failed; the message says where and by how much."""


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _default_tol(dtype):
    return {np.dtype(np.float64): (1e-5, 1e-4), np.dtype(np.float32): (1e-2, 1e-2),
            np.dtype(np.float16): (1e-1, 1e-1)}.get(np.dtype(dtype), (1e-5, 1e-4))


def _inner(outs, vs):
    return sum(float((o.numpy().astype(np.float64) * v).sum()) for o, v in zip(outs, vs)
               if o.dtype.kind == "f")


def gradcheck(fn, *inputs, grad_outputs=None, eps=1e-6, atol=None, rtol=None, seed=0):
    """Check ``fn``'s first derivatives at ``inputs``; returns True or raises GradcheckError."""
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    rng = np.random.default_rng(seed)
    outs = _as_tuple(fn(*inputs))
    if grad_outputs is None:
        vs = [rng.uniform(0.5, 1.5, o.shape) * rng.choice([-1.0, 1.0], o.shape) for o in outs]
    else:
        vs = [np.asarray(Tensor(g).numpy(), dtype=np.float64) for g in _as_tuple(grad_outputs)]
    roots = [o for o in outs if o.requires_grad]
    gv = [Tensor(v, dtype=o.dtype, device=o.device) for o, v in zip(outs, vs) if o.requires_grad]
    analytic = autograd.grad(roots, [inputs[i] for i in diff], gv, allow_unused=True) if roots \
        else [None] * len(diff)
    for k, i in enumerate(diff):
        x = inputs[i]
        a = np.zeros(x.shape) if analytic[k] is None else analytic[k].numpy().astype(np.float64)
        if a.shape != x.shape:
            raise GradcheckError(f"gradcheck: gradient of input {i} has shape {a.shape}, input has {x.shape}")
        num = np.zeros(x.shape)
        host = x.numpy().astype(np.float64)
        flat = num.reshape(-1)
        for j in range(host.size):
            h = eps * max(1.0, abs(host.flat[j]))
            vals = []
            for step in (h, -h):
                pert = host.copy()
                pert.flat[j] += step
                args = list(inputs)
                args[i] = Tensor(pert, device=x.device, requires_grad=True)
                vals.append(_inner(_as_tuple(fn(*args)), vs))
            flat[j] = (vals[0] - vals[1]) / (2 * h)
        at, rt = _default_tol(x.dtype)
        at, rt = atol if atol is not None else at, rtol if rtol is not None else rt
        bad = np.abs(a - num) > at + rt * np.abs(num)
        if bad.any():
            idx = np.argwhere(bad)[:5]
            rows = "\n".join(f"  at {tuple(ix)}: analytic {a[tuple(ix)]:.6g}, numeric {num[tuple(ix)]:.6g}"
                             for ix in idx)
            raise GradcheckError(f"gradcheck: {getattr(fn, '__name__', fn)}: gradient of input {i} "
                                 f"(shape {x.shape}, {x.dtype}) differs from finite differences "
                                 f"(eps={eps}, atol={at}, rtol={rt}) in {int(bad.sum())} element(s):\n{rows}")
    return True


def gradgradcheck(fn, *inputs, eps=1e-6, atol=None, rtol=None, seed=0):
    """Check second derivatives: gradcheck of ``x -> J^T v`` computed with ``create_graph=True``."""
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    rng = np.random.default_rng(seed + 1)
    outs = _as_tuple(fn(*inputs))
    vs = [Tensor(rng.uniform(0.5, 1.5, o.shape) * rng.choice([-1.0, 1.0], o.shape), dtype=o.dtype,
                 device=o.device) for o in outs]

    def first_grads(*xs):
        o = [t for t in _as_tuple(fn(*xs)) if t.requires_grad]
        gs = autograd.grad(o, [xs[i] for i in diff], vs[:len(o)], create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed + 2)
