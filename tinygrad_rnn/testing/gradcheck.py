"""Gradient checking: compare autograd's gradients with central finite differences.

``gradcheck(fn, *inputs)`` draws a random upstream gradient ``v`` (never all ones, so a wrong
reduction cannot hide behind a sum), computes the vector-Jacobian product ``J^T v`` with backward,
and compares it with finite differences of ``<v, fn(x)>`` evaluated on float64 copies of the inputs:

* ``mode="full"``: every input element ``j``: ``(<v, f(x + h e_j)> - <v, f(x - h e_j)>) / 2h`` with a
  relative step ``h = eps * max(1, |x_j|)``;
* ``mode="fast"``: a few random directions ``u`` per input: ``<J^T v, u>`` against the directional
  derivative ``(<v, f(x + eps u)> - <v, f(x - eps u)>) / 2 eps`` (the inner-product test);
* ``mode="auto"`` (default): full for up to ``fast_threshold`` input elements, fast beyond.

Kinks: the one-sided differences ``(f(x+h) - f(x)) / h`` and ``(f(x) - f(x-h)) / h`` are compared
too. Where they disagree (relu at 0, a tie in max) the point is not differentiable: the entry is
left out of the comparison ("masked") and the analytic value only has to lie between them. Entries
that fail or look like kinks are looked at again with smaller steps (see ``_refine``), which
clears false alarms from kinks near ``x`` and masks jumps of ``fn``, where no derivative exists.

Besides the values it checks that every gradient has its input's shape, dtype and device, that
inputs without ``requires_grad`` get no gradient, that a zero upstream gradient gives zero
gradients, that a second backward over the same graph gives the same result, and that nothing
changed the inputs in place. A failure raises ``GradcheckError`` (an ``AssertionError``) whose
message shows the worst entries and, where the numbers fit a known pattern, names the likely bug,
then lists every (output, input) pair checked. The functions here set ``__tracebackhide__``, so
pytest's traceback of a failed check ends at the caller's line, not in this file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import autograd
from ..autograd import OpError
from ..tensor import Tensor
from .diagnosis import (_TRANSPOSE_HINT, MATMUL_ORDER, MISSING_BROADCAST_REDUCTION, broadcast_copies,
                        diagnose, worst_table)

__all__ = ["GradcheckError", "GradcheckResult", "gradcheck", "gradgradcheck", "check_vjp",
           "default_tolerances"]


class GradcheckError(AssertionError):
    """A gradient check failed; the message says where, by how much, and (when it can) why."""


@dataclass(frozen=True)
class GradcheckResult:
    """What a passing check did. Always truthy, so ``assert gradcheck(...)`` reads naturally.

    n_checked: entries compared (gradient elements in full mode, directions in fast mode), summed
        over outputs and inputs; n_masked: entries left out at kinks (checked only to lie between
        the one-sided differences) or at jumps of ``fn`` (no derivative to compare);
        max_abs_err / max_rel_err: over the compared entries;
    n_evals: calls of ``fn`` for the finite differences.
    """
    mode: str
    n_checked: int
    n_masked: int
    max_abs_err: float
    max_rel_err: float
    n_evals: int
    eps: float
    atol: float
    rtol: float
    seed: int

    def __bool__(self):
        return True


_TOLERANCES = {np.dtype(np.float64): (1e-5, 1e-4), np.dtype(np.float32): (1e-2, 1e-2),
               np.dtype(np.float16): (1e-1, 1e-1)}
_EPS_FLOOR = {np.dtype(np.float32): 1e-3, np.dtype(np.float16): 3e-2}


def default_tolerances(dtype):
    """``(atol, rtol)`` used for gradients of ``dtype``: float64 (1e-5, 1e-4), float32 (1e-2, 1e-2),
    float16 (1e-1, 1e-1)."""
    return _TOLERANCES.get(np.dtype(dtype), _TOLERANCES[np.dtype(np.float64)])


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _is_float_tensor(x):
    return isinstance(x, Tensor) and x.dtype.kind == "f"


def _fn_name(fn, name):
    owner = getattr(fn, "__self__", None)
    if name is None and isinstance(owner, type):       # MyOp.apply -> "MyOp.apply"
        return f"{owner.__name__}.{fn.__name__}"
    return name or getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _upstream(rng, shape):
    """Random signs times magnitudes in [0.5, 1.5]: never all ones, never near zero."""
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


# ----------------------------------------------------------------------------- the problem

class _Check:
    """One gradient check: the inputs, the upstream gradient, and the two sides of the comparison."""

    def __init__(self, fn, inputs, grad_outputs, eps, atol, rtol, seed, name):
        __tracebackhide__ = True
        self.fn, self.inputs, self.seed = fn, inputs, seed
        self.name = _fn_name(fn, name)
        self.diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
        if not self.diff:
            raise ValueError(f"gradcheck: {self.name}: no input requires grad; pass at least one "
                             f"floating point Tensor with requires_grad=True")
        self.rng = np.random.default_rng(seed)
        self.eps = eps
        self.snapshot = [x.numpy().copy() if isinstance(x, Tensor) else None for x in inputs]
        self.hosts = [x.numpy().astype(np.float64) if _is_float_tensor(x) else None for x in inputs]
        # leaves of our own over the same data: backward never touches the caller's .grad
        self.leaves = [Tensor.wrap(x.array, x.device, x.requires_grad) if isinstance(x, Tensor) else x
                       for x in inputs]
        self.outs = _as_tuple(fn(*self.leaves))
        self.float_outs = [k for k, o in enumerate(self.outs) if _is_float_tensor(o)]
        if grad_outputs is None:
            self.vs = {k: _upstream(self.rng, self.outs[k].shape) for k in self.float_outs}
        else:
            given = _as_tuple(grad_outputs)
            if len(given) != len(self.float_outs):
                raise ValueError(f"gradcheck: {self.name}: {len(given)} grad_outputs for "
                                 f"{len(self.float_outs)} floating point output(s)")
            self.vs = {k: np.asarray(g.numpy() if isinstance(g, Tensor) else g, dtype=np.float64)
                       .reshape(self.outs[k].shape) for k, g in zip(self.float_outs, given)}
        # tolerances follow the least precise of the checked inputs and the floating outputs
        low = min([inputs[i].dtype for i in self.diff] + [self.outs[k].dtype for k in self.float_outs],
                  key=lambda d: d.itemsize)
        at, rt = default_tolerances(low)
        self.atol = at if atol is None else atol
        self.rtol = rt if rtol is None else rtol
        self.n_evals = 0
        self.num_eps = eps
        self.base = self.evaluate()     # first, so the step is settled before any is taken

    # -- analytic side
    def upstream_tensor(self, k, scale=1.0):
        o = self.outs[k]
        return Tensor._from_data(self.vs[k] * scale, dtype=o.dtype, device=o.device)

    def backward(self, ks, scale=1.0, retain=True, capture_all=False):
        """Gradients of ``sum_k <v_k, out_k>`` for the inputs, as Tensors (None where none arrived)."""
        __tracebackhide__ = True
        roots = [k for k in ks if self.outs[k].requires_grad]
        keys = {i: id(self.leaves[i]) for i, x in enumerate(self.leaves) if isinstance(x, Tensor)}
        if not capture_all:
            keys = {i: keys[i] for i in self.diff}
        if not roots:
            return {i: None for i in keys}
        capture = dict.fromkeys(keys.values())
        try:
            autograd.run_backward([self.outs[k] for k in roots],
                                  [self.upstream_tensor(k, scale) for k in roots],
                                  retain_graph=retain, capture=capture)
        except OpError as e:
            if str(e).startswith("matmul:"):
                raise GradcheckError(
                    f"gradcheck failed for {self.name}: backward raised\n  {e}\n  diagnosis: "
                    f"{MATMUL_ORDER}: a matrix product in backward has an operand untransposed or on "
                    f"the wrong side: {_TRANSPOSE_HINT}") from e
            if "sum_to_size" not in str(e):
                raise
            raise GradcheckError(
                f"gradcheck failed for {self.name}: backward returned a gradient that does not fit "
                f"its input:\n  {e}\n  diagnosis: {MISSING_BROADCAST_REDUCTION}: a gradient must "
                f"be summed over the dims the input was broadcast along, to the input's shape") from e
        return {i: capture[key] for i, key in keys.items()}

    def to_host(self, i, g):
        x = self.inputs[i]
        if g is None:
            return np.zeros(x.shape)
        return g.numpy().astype(np.float64)

    # -- numeric side
    def evaluate(self, i=None, arr=None):
        """``{k: <v_k, out_k>}`` at the float64 inputs, with input ``i`` replaced by ``arr``."""
        __tracebackhide__ = True
        args = []
        for m, (x, h) in enumerate(zip(self.inputs, self.hosts)):
            if h is None:
                args.append(x)
            else:
                a = arr if m == i else h
                args.append(Tensor._from_data(a.copy(), dtype=np.float64, device=x.device,
                                   requires_grad=x.requires_grad))
        outs = _as_tuple(self.fn(*args))
        self.n_evals += 1
        res = {}
        for k in self.float_outs:
            o = outs[k]
            if o.dtype != np.float64 and self.num_eps == self.eps:
                self.num_eps = max(self.eps, _EPS_FLOOR.get(o.dtype, self.eps))
            res[k] = float((o.numpy().astype(np.float64) * self.vs[k]).sum())
        return res


# ----------------------------------------------------------------------------- comparisons

@dataclass
class _Cmp:
    """Analytic against numeric for one (output, input) pair, entry by entry."""
    k: object
    i: int
    analytic: np.ndarray
    numeric: np.ndarray
    left: np.ndarray
    right: np.ndarray
    tol_scale: np.ndarray   # multiplies atol (1 per element in full mode, |u| in fast mode)
    rel_base: np.ndarray    # what rtol multiplies besides |numeric|
    labels: list = None
    jump: np.ndarray = None  # entries where fn itself jumps: no derivative to compare

    def tol(self, atol, rtol):
        return atol * self.tol_scale + rtol * np.maximum(np.abs(self.numeric), self.rel_base)

    def kinks(self, atol, rtol):
        """Where the one-sided differences disagree: the function has a kink within the step."""
        return np.abs(self.right - self.left) > self.tol(atol, rtol) + \
            rtol * np.maximum(np.abs(self.left), np.abs(self.right))

    def evaluate(self, atol, rtol):
        """``(masked, bad, err)``: masked entries (kinks, jumps) are only checked to lie between
        the one-sided differences (kinks) or not at all (jumps)."""
        tol, kink = self.tol(atol, rtol), self.kinks(atol, rtol)
        lo, hi = np.minimum(self.left, self.right), np.maximum(self.left, self.right)
        kink_ok = (self.analytic >= lo - tol) & (self.analytic <= hi + tol)
        err = np.abs(self.analytic - self.numeric)
        bad = np.where(kink, ~kink_ok, err > tol)
        if self.jump is not None:
            kink, bad = kink | self.jump, bad & ~self.jump
        return kink, bad, err

    def status(self, atol, rtol):
        """Per entry: 2 compared and agrees, 1 a kink with the analytic value in range, 0 bad."""
        kink, bad, _ = self.evaluate(atol, rtol)
        return np.where(bad, 0, np.where(kink, 1, 2)).reshape(-1)

    def values(self):
        return self.numeric.copy(), self.left.copy(), self.right.copy()

    def set_values(self, values, where=None):
        for dst, src in zip((self.numeric, self.left, self.right), values):
            if where is None:
                dst[...] = src
            else:
                dst.reshape(-1)[where] = src.reshape(-1)[where]


def _differences(check, i, analytic, point, steps, shape, labels=None):
    """Compare for input ``i``: entry ``e`` moves the input to ``point(e, t)`` for a signed step ``t``
    (one element in full mode, a direction in fast mode). Returns one ``_Cmp`` per output."""
    __tracebackhide__ = True
    base = check.base
    n = len(steps)
    plus = {k: np.zeros(n) for k in check.float_outs}
    minus = {k: np.zeros(n) for k in check.float_outs}
    for e in range(n):
        for t, store in ((steps[e], plus), (-steps[e], minus)):
            vals = check.evaluate(i, point(e, t))
            for k in check.float_outs:
                store[k][e] = vals[k]
    cmps = []
    for k in check.float_outs:
        p, m = plus[k], minus[k]
        a, tol_scale, rel_base = analytic(k)
        cmps.append(_Cmp(k, i, a.reshape(shape), ((p - m) / (2 * steps)).reshape(shape),
                         ((base[k] - m) / steps).reshape(shape), ((p - base[k]) / steps).reshape(shape),
                         tol_scale.reshape(shape), rel_base.reshape(shape), labels))
    if check.num_eps == check.eps:   # with low-precision numerics smaller steps are only noise
        _refine(check, i, cmps, point, steps, base)
    return cmps


def _refine(check, i, cmps, point, steps, base):
    """Look again, with steps 10, 100 and 1000 times smaller, at entries that fail or look like kinks.

    A kink closer to ``x`` than the step (or several inside one step, when a broadcast input feeds
    many max/relu) blurs the differences; at a small enough step such a point is smooth again and
    is compared as usual, while a true kink keeps its two sharp one-sided derivatives. An entry
    passes if it passes at any of the steps, so looking again can only clear false alarms: a wrong
    gradient still disagrees with the finer differences. Entries that pass at no step keep the
    numbers of the first step for the report, unless ``fn`` jumps there (the difference across
    the point does not shrink with the step, as for the gradient of max at a tie): there is no
    derivative to compare, and the entry is masked.
    """
    __tracebackhide__ = True
    atol, rtol = check.atol, check.rtol
    best = {c.k: c.status(atol, rtol) for c in cmps}
    kept = {c.k: c.values() for c in cmps}           # the numbers behind each entry's best status
    first = {c.k: c.values() for c in cmps}
    h_last = 1.0
    for scale in (10.0, 100.0, 1000.0):
        entries = sorted(set().union(*(np.flatnonzero(b < 2).tolist() for b in best.values())))
        if not entries:
            break
        for e in entries:
            h = steps[e] / scale
            vp, vm = check.evaluate(i, point(e, h)), check.evaluate(i, point(e, -h))
            for c in cmps:
                k = c.k
                c.numeric.flat[e] = (vp[k] - vm[k]) / (2 * h)
                c.left.flat[e] = (base[k] - vm[k]) / h
                c.right.flat[e] = (vp[k] - base[k]) / h
        for c in cmps:
            now = c.status(atol, rtol)
            better = np.flatnonzero(now > best[c.k])
            for dst, src in zip(kept[c.k], c.values()):
                dst.reshape(-1)[better] = src.reshape(-1)[better]
            best[c.k] = np.maximum(best[c.k], now)
        h_last = scale
    for c in cmps:
        # difference across the point at the first step and at the finest (for entries bad at all)
        across0 = first[c.k][0].reshape(-1) * 2 * steps
        across = c.numeric.reshape(-1) * 2 * steps / h_last
        jump = (best[c.k] == 0) & (np.abs(across) > 0.1 * np.abs(across0)) & \
            (np.abs(across) > 1.5e-8 * (1.0 + abs(base[c.k])))
        c.set_values(kept[c.k])
        c.jump = jump.reshape(c.numeric.shape)


def _full(check, analytic):
    """Every element of every differentiable input, with a relative step ``eps * max(1, |x_j|)``."""
    __tracebackhide__ = True
    cmps = []
    for i in check.diff:
        host = check.hosts[i]
        steps = check.num_eps * np.maximum(1.0, np.abs(host.reshape(-1)))

        def point(e, t, host=host):
            pert = host.copy()
            pert.flat[e] += t
            return pert

        def an(k, i=i, host=host):
            return analytic[k][i], np.ones(host.shape), np.zeros(host.shape)

        cmps += _differences(check, i, an, point, steps, host.shape)
    return cmps


def _fast(check, analytic, n_directions):
    """A few random directions ``u`` per input: ``<J^T v, u>`` against the directional derivative."""
    __tracebackhide__ = True
    cmps = []
    for i in check.diff:
        host = check.hosts[i]
        us = [check.rng.standard_normal(host.shape) * np.maximum(1.0, np.abs(host))
              for _ in range(n_directions)]
        steps = np.full(n_directions, check.num_eps)

        def point(e, t, host=host, us=us):
            return host + t * us[e]

        def an(k, i=i, us=us):
            a = analytic[k][i]
            return (np.array([(a * u).sum() for u in us]), np.array([np.sqrt((u * u).sum()) for u in us]),
                    np.array([np.abs(a * u).sum() for u in us]))

        cmps += _differences(check, i, an, point, steps, (n_directions,),
                             [f"direction {d}" for d in range(n_directions)])
    return cmps


# ----------------------------------------------------------------------------- reporting

def _diagnosis(check, c, kink):
    """The diagnosis line for one failing (output, input) pair, or ``""``."""
    keep = ~kink   # a kink-free comparison keeps its shape, so a transposed matrix shows
    a, n = (c.analytic, c.numeric) if keep.all() else (c.analytic[keep], c.numeric[keep])
    x, o = check.inputs[c.i], check.outs[c.k]
    matrices = [h for m, h in enumerate(check.hosts) if m != c.i and h is not None and h.ndim == 2
                and h.shape[0] == h.shape[1] > 1]
    return diagnose(a, n, check.atol * float(c.tol_scale.max()), check.rtol,
                    copies=broadcast_copies(x.shape, o.shape), matrices=matrices)


def _summary(check, results):
    """One line per (output, input) pair: shape, how many entries differ, the pattern: which inputs
    are wrong, and which are right, often points at the bug (every gate's weights but not x, ...)."""
    lines = [f"  every gradient checked:",
             f"    {'output':<8}{'input':<7}{'shape':<16}{'differ':>12}{'max abs err':>13}  diagnosis"]
    for c, kink, bad, err in results:
        x = check.inputs[c.i]
        diag = _diagnosis(check, c, kink) if bad.any() else ""
        kind = diag.split(":")[1].strip() if diag else ("no simple pattern" if bad.any() else "ok")
        lines.append(f"    {c.k:<8}{c.i:<7}{str(tuple(x.shape)):<16}{f'{int(bad.sum())} of {bad.size}':>12}"
                     f"{float(err.max()) if err.size else 0.0:>13.3g}  {kind}{_bad_rows(c, bad)}")
    return lines


def _bad_rows(c, bad):
    """``"; wrong rows 2, 3 of 8"`` when only some rows (first-dim slices) of a gradient are wrong:
    a weight whose gate block alone is wrong shows which gate."""
    if c.labels is not None or bad.ndim < 1 or not bad.any():
        return ""
    rows = np.flatnonzero(bad.reshape(bad.shape[0], -1).any(1))
    if len(rows) == bad.shape[0]:
        return ""
    shown = ", ".join(str(r) for r in rows[:12]) + (", ..." if len(rows) > 12 else "")
    return f"; wrong {'rows' if bad.ndim > 1 else 'entries'} {shown} of {bad.shape[0]}"


def _fail(check, mode, results):
    __tracebackhide__ = True
    failing = [r for r in results if r[2].any()]
    c, kink, bad, err = failing[0]
    x, o = check.inputs[c.i], check.outs[c.k]
    what = "entries" if mode == "full" else "random directions"
    more = f" (and {len(failing) - 1} more pair(s): see the table at the end)" if len(failing) > 1 else ""
    lines = [f"gradcheck failed for {check.name}: output {c.k} w.r.t. input {c.i}{more}",
             f"  output {c.k}: shape {tuple(o.shape)}, {o.dtype}; "
             f"input {c.i}: shape {tuple(x.shape)}, {x.dtype}",
             f"  mode={mode}  eps={check.num_eps:g} (relative step)  atol={check.atol:g}  "
             f"rtol={check.rtol:g}  seed={check.seed}",
             f"  {int(bad.sum())} of {bad.size} {what} differ ({int(kink.sum())} masked as kinks); "
             f"worst:",
             worst_table(c.analytic, c.numeric, rank=err + bad * (err.max() + 1), labels=c.labels)]
    if (bad & kink).any():
        lines.append("  at a kink the analytic value lies outside the one-sided differences "
                     "[left, right]; any gradient the op may pick there lies between them")
    diag = _diagnosis(check, c, kink)
    if diag:
        lines.append("  " + diag)
    if mode == "fast":
        lines.append("  (rerun with mode='full' to see which entries are wrong)")
    if len(results) > 1:
        lines += _summary(check, results)
    raise GradcheckError("\n".join(lines))


def _compare(check, mode, cmps):
    """Compare every (output, input) pair; a failure reports all of them at once."""
    __tracebackhide__ = True
    n_checked = n_masked = 0
    max_abs = max_rel = 0.0
    results = []
    for c in cmps:
        kink, bad, err = c.evaluate(check.atol, check.rtol)
        results.append((c, kink, bad, err))
        ok = ~kink
        n_checked += int(ok.sum())
        n_masked += int(kink.sum())
        if ok.any():
            max_abs = max(max_abs, float(err[ok].max()))
            rel = err[ok] / np.maximum(np.abs(c.numeric[ok]), 1e-300)
            max_rel = max(max_rel, float(np.where(err[ok] == 0, 0.0, rel).max()))
    if any(bad.any() for _, _, bad, _ in results):
        _fail(check, mode, results)
    return n_checked, n_masked, max_abs, max_rel


def _check_structure(check, grads):
    __tracebackhide__ = True
    for i in check.diff:
        g, x = grads[i], check.inputs[i]
        if g is None:
            continue
        if tuple(g.shape) != tuple(x.shape):
            raise GradcheckError(
                f"gradcheck failed for {check.name}: gradient of input {i} has shape "
                f"{tuple(g.shape)}, the input has {tuple(x.shape)}\n  " +
                diagnose(np.zeros(g.shape), np.zeros(x.shape), 0, 0, x.shape))
        if g.dtype != x.dtype:
            raise GradcheckError(f"gradcheck failed for {check.name}: gradient of input {i} has dtype "
                                 f"{g.dtype}, the input has {x.dtype}")
        if g.device != x.device:
            raise GradcheckError(f"gradcheck failed for {check.name}: gradient of input {i} is on "
                                 f"{g.device}, the input is on {x.device}")
        if not np.all(np.isfinite(g.numpy())):
            raise GradcheckError(f"gradcheck failed for {check.name}: gradient of input {i} has "
                                 f"nan or inf entries at {np.argwhere(~np.isfinite(g.numpy()))[:5].tolist()}")


def _check_extras(check, first):
    """Zero upstream -> zero gradients; no gradient for inputs without requires_grad; a second
    backward over the same graph repeats the first; and (last) the final backward frees the graph."""
    __tracebackhide__ = True
    zero = check.backward(check.float_outs, scale=0.0)
    for i, g in zero.items():
        if g is not None and np.any(g.numpy() != 0):
            raise GradcheckError(f"gradcheck failed for {check.name}: a zero upstream gradient gave a "
                                 f"non-zero gradient for input {i} (max |g| = "
                                 f"{float(np.abs(g.numpy()).max()):g}); backward must be linear in "
                                 f"the upstream gradient")
    again = check.backward(check.float_outs, retain=False, capture_all=True)
    for i, g in again.items():
        if i not in check.diff:
            if g is not None:
                raise GradcheckError(f"gradcheck failed for {check.name}: input {i} does not require "
                                     f"grad but received a gradient")
            continue
        a, b = check.to_host(i, first[i]), check.to_host(i, g)
        if not np.allclose(a, b, atol=check.atol, rtol=check.rtol, equal_nan=True):
            raise GradcheckError(f"gradcheck failed for {check.name}: a second backward over the same "
                                 f"graph gave a different gradient for input {i} (max difference "
                                 f"{float(np.abs(a - b).max()):g}); does backward keep state between "
                                 f"calls or change saved tensors?")


def _check_unchanged(check):
    __tracebackhide__ = True
    for i, (x, before) in enumerate(zip(check.inputs, check.snapshot)):
        if before is not None and not np.array_equal(x.numpy(), before, equal_nan=True):
            raise GradcheckError(f"gradcheck failed for {check.name}: input {i} was changed in place "
                                 f"(by the forward or the backward pass); ops must not write to "
                                 f"their inputs")


# ----------------------------------------------------------------------------- public API

def _run(fn, inputs, grad_outputs, eps, atol, rtol, mode, seed, n_directions, fast_threshold, name,
         extras):
    __tracebackhide__ = True
    if mode not in ("auto", "full", "fast"):
        raise ValueError(f"gradcheck: mode must be 'auto', 'full' or 'fast', got {mode!r}")
    check = _Check(fn, inputs, grad_outputs, eps, atol, rtol, seed, name)
    if mode == "auto":
        total = sum(check.hosts[i].size for i in check.diff)
        mode = "full" if total <= fast_threshold else "fast"
    joint = check.backward(check.float_outs)
    _check_structure(check, joint)
    if len(check.float_outs) == 1:
        per_output = {check.float_outs[0]: joint}
    else:   # one backward per output, so a failure names the output
        per_output = {k: check.backward([k]) for k in check.float_outs}
    analytic = {k: {i: check.to_host(i, g[i]) for i in check.diff} for k, g in per_output.items()}
    if extras:
        _check_extras(check, joint)
    _check_unchanged(check)   # the numeric side below works on copies and cannot change them
    cmps = _full(check, analytic) if mode == "full" else _fast(check, analytic, n_directions)
    n_checked, n_masked, max_abs, max_rel = _compare(check, mode, cmps)
    return GradcheckResult(mode, n_checked, n_masked, max_abs, max_rel, check.n_evals,
                           check.num_eps, check.atol, check.rtol, seed)


def gradcheck(fn, *inputs, grad_outputs=None, eps=1e-6, atol=None, rtol=None, mode="auto", seed=0,
              n_directions=3, fast_threshold=256, name=None):
    """Check ``fn``'s first derivatives at ``inputs``; return a :class:`GradcheckResult` or raise
    :class:`GradcheckError`.

    fn: takes the inputs, returns a Tensor or a tuple of Tensors (non-floating outputs are ignored).
    inputs: Tensors (the ones with ``requires_grad=True`` are checked) and any other arguments.
    grad_outputs: the upstream gradient ``v``, one per floating output; default random, entries
        uniform in +-[0.5, 1.5] drawn from ``seed``.
    eps: relative finite-difference step, ``h = eps * max(1, |x_j|)``. Numerical evaluation runs on
        float64 copies of the inputs; if ``fn``'s outputs still come out in lower precision the step
        is raised to 1e-3 (float32) or 3e-2 (float16) and the result reports the step used.
    atol, rtol: pass when ``|analytic - numeric| <= atol + rtol * |numeric|``; default from the
        lowest-precision checked input, see :func:`default_tolerances`.
    mode: "full" (every element), "fast" (``n_directions`` random directions per input) or "auto"
        (full up to ``fast_threshold`` elements in all checked inputs together).
    name: used in messages instead of ``fn.__qualname__``.
    """
    __tracebackhide__ = True
    return _run(fn, inputs, grad_outputs, eps, atol, rtol, mode, seed, n_directions, fast_threshold,
                name, extras=True)


def check_vjp(fn, *inputs, grad_outputs=None, eps=1e-6, atol=None, rtol=None, seed=0, n_directions=3,
              name=None):
    """The inner-product test alone: ``<u, J^T v>`` (backward) against ``<J u, v>`` (``J u`` by central
    differences) for ``n_directions`` random ``u`` per input. Cheap for large inputs: ``2 *
    n_directions + 1`` calls of ``fn`` per input whatever their size. Parameters as :func:`gradcheck`."""
    __tracebackhide__ = True
    return _run(fn, inputs, grad_outputs, eps, atol, rtol, "fast", seed, n_directions, 0, name,
                extras=False)


def gradgradcheck(fn, *inputs, grad_outputs=None, eps=1e-6, atol=None, rtol=None, mode="auto", seed=0,
                  n_directions=3, fast_threshold=256, name=None):
    """Check second derivatives: :func:`gradcheck` of ``x -> J(x)^T v`` computed with
    ``create_graph=True`` for a fixed random ``v``.

    For an op declared ``once_differentiable`` (its backward runs on raw arrays) differentiating its
    gradient raises that op's ``RuntimeError``, which passes through unchanged.
    """
    __tracebackhide__ = True
    name = _fn_name(fn, name)
    probe = [t for t in _as_tuple(fn(*inputs)) if _is_float_tensor(t)]
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        vs = [_upstream(rng, o.shape) for o in probe]
    else:
        vs = [np.asarray(g.numpy() if isinstance(g, Tensor) else g, dtype=np.float64)
              for g in _as_tuple(grad_outputs)]
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_grads(*xs):
        __tracebackhide__ = True
        outs = [t for t in _as_tuple(fn(*xs)) if _is_float_tensor(t)]
        pairs = [(o, Tensor._from_data(v, dtype=o.dtype, device=o.device)) for o, v in zip(outs, vs)
                 if o.requires_grad]
        wrt = [xs[i] for i in diff]
        if not pairs:
            return tuple(Tensor._from_data(np.zeros(x.shape), dtype=x.dtype, device=x.device) for x in wrt)
        gs = autograd.grad([p[0] for p in pairs], wrt, [p[1] for p in pairs], create_graph=True,
                           allow_unused=True)
        return tuple(Tensor._from_data(np.zeros(x.shape), dtype=x.dtype, device=x.device) if g is None else g
                     for g, x in zip(gs, wrt))

    return gradcheck(first_grads, *inputs, eps=eps, atol=atol, rtol=rtol, mode=mode, seed=seed + 2,
                     n_directions=n_directions, fast_threshold=fast_threshold,
                     name=f"gradient of {name}")
