"""Do two implementations of one function have the same gradients?

For a fused kernel against the same maths composed from primitive ops, or a computation on the CPU
against the same computation on another device: ``assert_grads_match(fused, composed, x, w)``.
"""
from __future__ import annotations

import numpy as np

from .. import autograd
from ..tensor import Tensor
from .diagnosis import diagnose, worst_table
from .gradcheck import GradcheckError, GradcheckResult, _as_tuple, _fn_name, _is_float_tensor, \
    _upstream, default_tolerances


def _grads(fn, inputs, diff, vs):
    __tracebackhide__ = True
    leaves = [Tensor.wrap(x.array, x.device, x.requires_grad) if isinstance(x, Tensor) else x
              for x in inputs]
    outs = [o for o in _as_tuple(fn(*leaves)) if _is_float_tensor(o)]
    if vs is None:
        return outs, None
    pairs = [(o, Tensor._from_data(v, dtype=o.dtype, device=o.device)) for o, v in zip(outs, vs)
             if o.requires_grad]
    if not pairs:
        return outs, [None] * len(diff)
    gs = autograd.grad([p[0] for p in pairs], [leaves[i] for i in diff], [p[1] for p in pairs],
                       allow_unused=True)
    return outs, list(gs)


def assert_grads_match(fn_a, fn_b, *inputs, grad_outputs=None, atol=None, rtol=None, seed=0,
                       check_outputs=True, names=None):
    """Check that ``fn_a`` and ``fn_b`` give the same outputs and the same gradients at ``inputs``.

    Both are called on the same inputs; their floating outputs must agree in number and shape
    (and in value when ``check_outputs``). The gradients of ``sum_k <v_k, out_k>`` for every input
    with ``requires_grad`` are compared, ``v`` random (uniform in +-[0.5, 1.5], from ``seed``) or
    ``grad_outputs``. Outputs on different devices are compared on the host. ``fn_a`` is the
    reference: a mismatch is reported as ``fn_b`` against it, with the diagnosis line of
    :func:`gradcheck`. Tolerances default from the lowest-precision dtype involved.

    Returns a :class:`GradcheckResult` (mode ``"match"``) or raises :class:`GradcheckError`.
    """
    __tracebackhide__ = True
    na, nb = names or (_fn_name(fn_a, None), _fn_name(fn_b, None))
    if na == nb:
        na, nb = na + " (a)", nb + " (b)"
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs_a, _ = _grads(fn_a, inputs, diff, None)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        vs = [_upstream(rng, o.shape) for o in outs_a]
    else:
        vs = [np.asarray(g.numpy() if isinstance(g, Tensor) else g, dtype=np.float64)
              for g in _as_tuple(grad_outputs)]
    outs_a, ga = _grads(fn_a, inputs, diff, vs)
    outs_b, gb = _grads(fn_b, inputs, diff, vs)
    dtypes = [o.dtype for o in outs_a + outs_b] + [inputs[i].dtype for i in diff]
    low = min(dtypes, key=lambda d: d.itemsize) if dtypes else np.dtype(np.float64)
    at, rt = default_tolerances(low)
    atol = at if atol is None else atol
    rtol = rt if rtol is None else rtol
    head = f"assert_grads_match: {nb} against {na}"
    if len(outs_a) != len(outs_b):
        raise GradcheckError(f"{head}: {len(outs_b)} floating output(s) against {len(outs_a)}")
    pairs = []
    for k, (oa, ob) in enumerate(zip(outs_a, outs_b)):
        if tuple(oa.shape) != tuple(ob.shape):
            raise GradcheckError(f"{head}: output {k} has shape {tuple(ob.shape)} against "
                                 f"{tuple(oa.shape)}")
        if check_outputs:
            pairs.append((f"output {k} (shape {tuple(oa.shape)})", oa, ob, None))
    for i, a, b in zip(diff, ga, gb):
        x = inputs[i]
        a = Tensor._from_data(np.zeros(x.shape), dtype=x.dtype, device=x.device) if a is None else a
        b = Tensor._from_data(np.zeros(x.shape), dtype=x.dtype, device=x.device) if b is None else b
        pairs.append((f"gradient of input {i} (shape {tuple(x.shape)}, {x.dtype})", a, b, x.shape))
    n_checked, max_abs, max_rel = 0, 0.0, 0.0
    results = []        # (what, shape, a, b, err, bad): every pair, so a failure can list them all
    for what, a, b, shape in pairs:
        ha, hb = a.numpy().astype(np.float64), b.numpy().astype(np.float64)
        if ha.shape != hb.shape:
            raise GradcheckError(f"{head}: {what}: shape {hb.shape} against {ha.shape}")
        err = np.abs(ha - hb)
        bad = ~(err <= atol + rtol * np.abs(ha))    # nan counts as a mismatch
        results.append((what, ha, hb, err, bad))
        n_checked += err.size
        if err.size:
            max_abs = max(max_abs, float(err.max()))
            max_rel = max(max_rel, float((err / np.maximum(np.abs(ha), 1e-300)).max()))
    failing = [r for r in results if r[4].any()]
    if failing:
        what, ha, hb, err, bad = failing[0]
        more = f" (and {len(failing) - 1} more: see the table at the end)" if len(failing) > 1 else ""
        diag = diagnose(hb, ha, atol, rtol, names=(nb, na))
        lines = [f"{head}: {what} differs in {int(bad.sum())} of {bad.size} entries "
                 f"(atol={atol:g}, rtol={rtol:g}, seed={seed}){more}; worst:",
                 worst_table(hb, ha, rank=np.nan_to_num(err, nan=np.inf), names=(nb, na))]
        if diag:
            lines.append("  " + diag)
        if len(results) > 1:
            lines.append("  everything compared:")
            for what, ha, hb, err, bad in results:
                kind = "ok"
                if bad.any():
                    d = diagnose(hb, ha, atol, rtol, names=(nb, na))
                    kind = d.split(":")[1].strip() if d else "-"
                worst = float(np.nan_to_num(err, nan=np.inf).max()) if err.size else 0.0
                lines.append(f"    {what:<44}{f'{int(bad.sum())} of {bad.size}':>12} differ"
                             f"{worst:>11.3g}  {kind}")
        raise GradcheckError("\n".join(lines))
    return GradcheckResult("match", n_checked, 0, max_abs, max_rel, 0, 0.0, atol, rtol, seed)
