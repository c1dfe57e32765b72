"""Reading a failed gradient comparison: the worst entries as a table, and a guess at the bug.

A wrong backward usually has a recognisable shape: a sign flip, a factor of two (from an input used
twice, or a derivative formula short of a 2), a gradient averaged over broadcast copies instead of
summed, a matrix transposed or a weight used where its transpose belongs, a path forgotten.
``diagnose`` names the pattern when the numbers fit one, so the reader knows where to look; what
the caller knows of the structure (was the input broadcast? which inputs are square matrices?)
decides between patterns whose numbers look alike.
"""
from __future__ import annotations

import numpy as np

MISSED_ACCUMULATION = "missed accumulation"
MISSING_BROADCAST_REDUCTION = "missing broadcast reduction"
SIGN_ERROR = "sign error"
TRANSPOSED = "transposed matrix"
DROPPED_PATH = "dropped path"


FACTOR_OF_TWO = "factor of two"
MATMUL_ORDER = "matrix product order"
CONSTANT_FACTOR = "constant factor"

_TRANSPOSE_HINT = ("check the order of a matrix product in backward: for y = x @ w, dx = g @ w.T and "
                   "dw = x.T @ g; for y = x @ w.T (nn.Linear's weight, shape (out, in)), dx = g @ w "
                   "and dw = g.T @ x")


def _close(a, b, atol, rtol):
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def broadcast_copies(input_shape, output_shape):
    """How many copies of an input of ``input_shape`` broadcasting makes to fill ``output_shape``:
    1 for equal shapes, None when the input does not broadcast to the output (a reduction, say)."""
    if input_shape is None or output_shape is None:
        return None
    i, o = tuple(input_shape), tuple(output_shape)
    if i == o:
        return 1
    try:
        if np.broadcast_shapes(i, o) != o:
            return None
    except ValueError:
        return None
    n_in, n_out = int(np.prod(i, dtype=np.int64)), int(np.prod(o, dtype=np.int64))
    return n_out // n_in if n_in else None


def _matmul_order(a, n, atol, rtol, matrices):
    """Is ``a`` what ``n`` becomes when a square matrix ``w`` of the inputs is used where ``w.T``
    belongs (``g @ w`` against ``g @ w.T``), or the other way round? ``a = n @ inv(w.T) @ w``."""
    if a.ndim < 1 or a.shape != n.shape:
        return False
    for w in matrices:
        k = w.shape[0]
        if a.shape[-1] != k or np.linalg.cond(w) > 1e3:
            continue
        p = np.linalg.solve(w.T, w)             # g @ w = (g @ w.T) @ p
        for m in (p, np.linalg.inv(p)):
            if _close(a, n @ m, atol, rtol) and not _close(a, n, atol, rtol):
                return True
    return False


def diagnose(analytic, numeric, atol, rtol, input_shape=None, names=("analytic", "numeric"),
             copies=None, matrices=()):
    """One line naming the likely bug, or ``""`` when the mismatch has no recognisable pattern.

    ``analytic`` and ``numeric`` are float64 arrays (gradients, or directional derivatives in fast
    mode); ``input_shape`` is the shape the gradient should have had. ``names`` label the two sides
    in the message (the second is the one trusted). What is known of the structure sharpens the
    guess: ``copies`` is how many broadcast copies of the input the output holds (1: none; None:
    unknown), ``matrices`` the square 2-D inputs that a matrix product may have used the wrong way
    round.
    """
    an, nn = names
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if input_shape is not None and a.shape != tuple(input_shape):
        return (f"diagnosis: {MISSING_BROADCAST_REDUCTION}: the gradient has shape {a.shape} but the "
                f"input has shape {tuple(input_shape)}; a gradient must be summed over the dims the "
                f"input was broadcast along")
    if a.shape != n.shape or n.size == 0:
        return ""
    scale = atol + rtol * np.abs(n)
    if np.all(a == 0) and np.any(np.abs(n) > scale):
        return (f"diagnosis: {DROPPED_PATH}: {an} is zero but the output does depend "
                f"on this input (a branch of the graph is not back-propagated, or an output was "
                f"computed from .detach()ed / raw-array data)")
    if a.ndim >= 2 and n.shape[-1] > 1 and n.shape[-2] > 1:
        nt = np.swapaxes(n, -1, -2).reshape(a.shape)
        if _close(a, nt, atol, rtol) and not _close(a, n, atol, rtol):
            return (f"diagnosis: {TRANSPOSED}: {an} holds {nn} transposed (last two dims "
                    f"swapped); {_TRANSPOSE_HINT}")
    if _matmul_order(a, n, atol, rtol, matrices):
        return (f"diagnosis: {MATMUL_ORDER}: {an} is {nn} with a square weight w of the inputs used "
                f"where its transpose belongs (or the other way round): for y = x @ w, "
                f"dx = g @ w.T, not g @ w; for y = x @ w.T (nn.Linear's weight), dx = g @ w, "
                f"not g @ w.T")
    sig = (np.abs(n) > scale) & (np.abs(a) > 0)
    if not sig.any():
        return ""
    c = float(np.median(n[sig] / a[sig]))
    if not _close(c * a, n, atol, rtol):
        return ""
    one = int(sig.sum()) == 1       # a single entry always has "a constant ratio": say so
    where = "at the only entry compared" if one else "everywhere"
    if abs(c + 1) < 1e-3:
        return (f"diagnosis: {SIGN_ERROR}: {nn} = -1 x {an} {where}; the gradient has the "
                f"wrong sign")
    k = round(c)
    if k >= 2 and abs(c - k) < 1e-3 * k:
        if copies == k:
            return (f"diagnosis: {MISSING_BROADCAST_REDUCTION}: {nn} = {k} x {an} {where}, and "
                    f"the input was broadcast over {k} copies; its gradient was averaged or taken "
                    f"from one copy instead of summed over them")
        if copies is None:      # the structure is unknown: name both readings
            if k == 2:
                return (f"diagnosis: {MISSED_ACCUMULATION} or {FACTOR_OF_TWO}: {nn} = 2 x {an} "
                        f"{where}; either an input used twice (x * x) or broadcast over 2 copies "
                        f"had one contribution counted, not both added, or the derivative formula "
                        f"lost a factor 2 (d/dx x^2 = 2 x, d/dx sqrt(x) = 1 / (2 sqrt(x)))")
            return (f"diagnosis: {MISSING_BROADCAST_REDUCTION}: {nn} = {k} x {an} {where}; a "
                    f"gradient over {k} broadcast copies was averaged or taken once instead of "
                    f"summed (or an input used {k} times was counted once)")
        if k == 2:
            return (f"diagnosis: {FACTOR_OF_TWO}: {nn} = 2 x {an} {where}, and the input was not "
                    f"broadcast: the gradient is half what it should be. Either the derivative "
                    f"formula lost a factor 2 (d/dx x^2 = 2 x; d/dx sqrt(x) = 1 / (2 sqrt(x)), not "
                    f"1 / (4 sqrt(x))), or the op uses this input twice (x * x on arrays) and only "
                    f"one use's contribution reached the gradient ({MISSED_ACCUMULATION}: add the "
                    f"two, do not overwrite one with the other). If backward's formula has one "
                    f"term for the input, it is the formula")
        return (f"diagnosis: factor of {k}: {nn} = {k} x {an} {where}, and the input was not "
                f"broadcast over {k} copies: the derivative formula is short of a factor {k}, or "
                f"the op uses this input {k} times and only one use's contribution reached the "
                f"gradient ({MISSED_ACCUMULATION})")
    if one:
        return ""
    if c > 0 and abs(1 / c - round(1 / c)) < 1e-3 * (1 / c) and round(1 / c) >= 2:
        return (f"diagnosis: over-counted: {an} = {round(1 / c)} x {nn} everywhere; a gradient "
                f"was added more than once or summed over dims that were not broadcast")
    return (f"diagnosis: {CONSTANT_FACTOR}: {nn} = {c:.6g} x {an} everywhere; a scale or "
            f"normalisation factor is wrong in backward")


def worst_table(analytic, numeric, k=5, rank=None, labels=None, names=("analytic", "numeric")):
    """The ``k`` entries that rank highest (default: largest absolute error), one line each."""
    a = np.asarray(analytic, dtype=np.float64) + 0.0    # + 0.0 prints -0 as 0
    n = np.asarray(numeric, dtype=np.float64) + 0.0
    err = np.abs(a - n)
    key = err if rank is None else np.asarray(rank)
    order = np.argsort(-key.reshape(-1), kind="stable")[:k]
    lines = [f"    {'index':<14}{names[0][:13]:>14}{names[1][:13]:>14}{'abs err':>12}{'rel err':>12}"]
    for j in order:
        if labels is not None:
            name = labels[j]
        else:
            name = str(tuple(int(i) for i in np.unravel_index(j, a.shape))) if a.ndim else "()"
        rel = err.flat[j] / abs(n.flat[j]) if n.flat[j] != 0 else float("inf")
        lines.append(f"    {name:<14}{a.flat[j]:>14.6g}{n.flat[j]:>14.6g}{err.flat[j]:>12.3g}"
                     f"{rel:>12.3g}")
    return "\n".join(lines)
