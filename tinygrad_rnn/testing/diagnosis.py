"""Reading a failed gradient comparison: the worst entries as a table, and a guess at the bug.

A wrong backward usually has a recognisable shape: a sign flip, a factor of two from an input used
twice, a gradient averaged over broadcast copies instead of summed, a matrix transposed, a path
forgotten. ``diagnose`` names the pattern when the numbers fit one, so the reader knows where to look.
"""
from __future__ import annotations

import numpy as np

MISSED_ACCUMULATION = "missed accumulation"
MISSING_BROADCAST_REDUCTION = "missing broadcast reduction"
SIGN_ERROR = "sign error"
TRANSPOSED = "transposed matrix"
DROPPED_PATH = "dropped path"


def _close(a, b, atol, rtol):
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def diagnose(analytic, numeric, atol, rtol, input_shape=None, names=("analytic", "numeric")):
    """One line naming the likely bug, or ``""`` when the mismatch has no recognisable pattern.

    ``analytic`` and ``numeric`` are float64 arrays (gradients, or directional derivatives in fast
    mode); ``input_shape`` is the shape the gradient should have had. ``names`` label the two sides
    in the message (the second is the one trusted).
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
            return (f"diagnosis: {TRANSPOSED}: {an} holds {nn} transposed (last "
                    f"two dims swapped); check the order of a matrix product in backward "
                    f"(dx = g @ w.T, dw = x.T @ g)")
    sig = (np.abs(n) > scale) & (np.abs(a) > 0)
    if not sig.any():
        return ""
    c = float(np.median(n[sig] / a[sig]))
    if not _close(c * a, n, atol, rtol):
        return ""
    if abs(c + 1) < 1e-3:
        return (f"diagnosis: {SIGN_ERROR}: {nn} = -1 x {an} everywhere; the gradient has the "
                f"wrong sign")
    if abs(c - 2) < 1e-3:
        return (f"diagnosis: {MISSED_ACCUMULATION}: {nn} = 2 x {an} everywhere; the gradient "
                f"of an input used twice was counted once (contributions must be added, not "
                f"overwritten), or a broadcast over 2 copies was not summed")
    k = round(c)
    if k >= 3 and abs(c - k) < 1e-3 * k:
        return (f"diagnosis: {MISSING_BROADCAST_REDUCTION}: {nn} = {k} x {an} everywhere; a "
                f"gradient over {k} broadcast copies was averaged or taken once instead of summed "
                f"(or an input used {k} times was counted once)")
    if c > 0 and abs(1 / c - round(1 / c)) < 1e-3 * (1 / c) and round(1 / c) >= 2:
        return (f"diagnosis: over-counted: {an} = {round(1 / c)} x {nn} everywhere; a gradient "
                f"was added more than once or summed over dims that were not broadcast")
    return (f"diagnosis: constant factor: {nn} = {c:.6g} x {an} everywhere; a scale or "
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
