"""L-BFGS: a quasi-Newton method that models the curvature from the last few steps it took.

Each iteration turns the gradient ``g`` into a search direction ``d = -H g``, where ``H``
approximates the inverse Hessian from the stored pairs ``s_i`` (a step taken) and ``y_i`` (the
change of the gradient over it), then moves along ``d``: by a fixed step ``lr``, or by a step that
a strong-Wolfe line search picks. Unlike the other optimizers, one ``step(closure)`` runs up to
``max_iter`` iterations and calls ``closure`` (which recomputes the loss and its gradients) as
often as it needs. All parameters are handled as one flat vector.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import enable_grad, no_grad
from ..tensor import Tensor
from .optimizer import Optimizer, check_hyper


# ----------------------------------------------------------------------------- line search

def _cubic_minimizer(a, fa, ga, b, fb, gb, bounds=None):
    """The minimiser of the cubic that has value ``fa`` and slope ``ga`` at ``a`` and ``fb``,
    ``gb`` at ``b``, clamped to ``bounds`` (default: the interval between a and b). When the
    cubic has no minimum, the middle of the bounds. (Nocedal & Wright, Numerical Optimization,
    eq. 3.59; the formula measures from the right-hand point, so the points are put in order.)"""
    lo, hi = bounds if bounds is not None else (min(a, b), max(a, b))
    if a > b:
        a, fa, ga, b, fb, gb = b, fb, gb, a, fa, ga
    d1 = ga + gb - 3 * (fa - fb) / (a - b)
    disc = d1 ** 2 - ga * gb
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    denom = gb - ga + 2 * d2
    if denom == 0:       # a flat cubic: no better guess than the middle
        return (lo + hi) / 2.0
    return min(max(b - (b - a) * ((gb + d2 - d1) / denom), lo), hi)


class _Point:
    """A trial step ``t`` with the loss ``f``, the flat gradient ``g`` and the slope ``gtd = g . d``
    there."""
    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step along ``d`` that satisfies the strong Wolfe conditions

        f(x + t d) <= f + c1 t gtd           (enough decrease)
        |g(x + t d) . d| <= c2 |gtd|         (the slope has flattened enough)

    found as in Nocedal & Wright's Algorithms 3.5 and 3.6: first grow the step until an interval
    is known to hold such a point, then shrink that interval ("zoom") with cubic interpolation.
    ``evaluate(t)`` returns the loss and flat gradient at ``x + t d``; at most ``max_ls`` calls.

    Returns ``(loss, flat gradient, t, number of evaluations)`` at the best point found.
    """
    xp = backend.get_array_module(d)
    d_norm = float(xp.abs(d).max())
    calls = [0]

    def trial(step):
        calls[0] += 1
        f_new, g_new = evaluate(step)
        return _Point(step, f_new, g_new, float(xp.dot(g_new, d)))

    start = _Point(0, f, g, gtd)
    prev, new = start, trial(t)
    bracket = None
    tries = 0
    # 1. bracketing: step further out until the loss rises or the slope turns
    while tries < max_ls:
        if new.f > f + c1 * new.t * gtd or (tries > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if abs(new.gtd) <= -c2 * gtd:
            return new.f, new.g, new.t, calls[0]
        if new.gtd >= 0:
            bracket = [prev, new]
            break
        # still going down: extrapolate, at least 1% further and at most 10 times as far
        step = _cubic_minimizer(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd,
                                bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10))
        prev, new = new, trial(step)
        tries += 1
    if bracket is None:        # out of evaluations while still going down
        bracket = [start, new]

    # 2. zoom: shrink the bracket around a point that satisfies both conditions
    low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
    insufficient_progress = False
    while tries < max_ls:
        left, right = min(bracket[0].t, bracket[1].t), max(bracket[0].t, bracket[1].t)
        if (right - left) * d_norm < tolerance_change:
            break
        a, b = bracket
        step = _cubic_minimizer(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        # a trial too close to an end of the bracket shrinks it too little: when that happens twice
        # running, or the trial falls on or outside an end, move it to 10% of the width inside
        margin = 0.1 * (right - left)
        if min(right - step, step - left) < margin:
            if insufficient_progress or step >= right or step <= left:
                step = right - margin if abs(step - right) < abs(step - left) else left + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        new = trial(step)
        tries += 1
        if new.f > f + c1 * new.t * gtd or new.f >= bracket[low].f:
            bracket[high] = new           # not low enough: the new point closes the bracket
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            wolfe = abs(new.gtd) <= -c2 * gtd
            if not wolfe and new.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]    # the minimum lies on the other side of the new point
            bracket[low] = new
            if wolfe:
                break
    best = bracket[low]
    return best.f, best.g, best.t, calls[0]


# ----------------------------------------------------------------------------- the optimizer

class LBFGS(Optimizer):
    r"""``LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
    history_size=100, line_search_fn=None)``.

    ``step(closure)`` (the closure is required: it zeroes the gradients, recomputes the loss, calls
    ``backward`` and returns the loss) runs iterations ``k = 1, 2, ...`` on the flat vector ``x``
    of all parameters (PyTorch's algorithm, after minFunc)::

        g = gradient at x
        d = -g                                          (very first iteration)
        d = -H g                                        (later: the two-loop recursion below)
        t = min(1, 1 / sum|g|) * lr   (very first iteration)   else  t = lr
        x = x + t d                   (line_search_fn=None)
        t = strong_wolfe(x, d, t); x = x + t d           (line_search_fn="strong_wolfe")

    and stops after ``max_iter`` iterations, ``max_eval`` closure calls (default
    ``max_iter * 5 // 4``), when ``max|g| <= tolerance_grad``, when ``g . d > -tolerance_change``,
    or when the step ``max|t d|`` or the change of the loss falls below ``tolerance_change``.

    ``H`` is never formed: with the last ``history_size`` pairs ``s_i = t d`` (a step) and
    ``y_i = g_new - g_old`` (kept only when ``y . s > 1e-10``, so ``H`` stays positive definite),
    ``rho_i = 1 / (y_i . s_i)`` and ``gamma = (y . s) / (y . y)`` of the newest pair::

        q = -g
        for i newest to oldest:  a_i = rho_i (s_i . q);  q = q - a_i y_i
        r = gamma q
        for i oldest to newest:  b = rho_i (y_i . r);    r = r + (a_i - b) s_i
        d = r

    Returns the loss of the first closure call (before any update). Only one parameter group is
    allowed, and all parameters must be on one device. State (on the first parameter, under
    PyTorch's keys): ``func_evals``, ``n_iter``, ``d``, ``t``, ``old_dirs`` (the y_i),
    ``old_stps`` (the s_i), ``ro``, ``al``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``: the
    vectors are Tensors on the parameters' device, the scalars Python floats.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        check_hyper("LBFGS", "lr", lr, lr >= 0, "lr >= 0")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        self._params = self.param_groups[0]["params"]
        devices = list(dict.fromkeys(str(p.device) for p in self._params))
        if len(devices) > 1:
            raise ValueError(f"LBFGS: all parameters must be on one device, got {', '.join(devices)}")

    def add_param_group(self, param_group):
        """LBFGS keeps a single group: a second one raises ``ValueError``, as in PyTorch."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ the flat vector
    def _xp(self):
        return self._params[0].device.xp

    def _flat_grad(self):
        """Every parameter's gradient raveled and joined (zeros for a parameter without one)."""
        xp = self._xp()
        return xp.concatenate([p.grad.array.ravel() if p.grad is not None else xp.zeros(p.numel(), p.dtype)
                               for p in self._params])

    def _move(self, t, d):
        """x = x + t d, parameter by parameter, in place (bumping each version counter)."""
        offset = 0
        for p in self._params:
            n = p.numel()
            p.array += t * d[offset:offset + n].reshape(p.shape)
            p.bump_version()
            offset += n

    def _evaluate_at(self, closure, x0, t, d):
        """Loss and flat gradient at ``x0 + t d``; the parameters are put back to ``x0`` after."""
        self._move(t, d)
        with enable_grad():
            loss = float(closure())
        g = self._flat_grad()
        for p, saved in zip(self._params, x0):
            p.array[...] = saved
            p.bump_version()
        return loss, g

    # ------------------------------------------------------------------ one step
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the first ``closure()`` result."""
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        if line_search_fn not in (None, "strong_wolfe"):
            raise RuntimeError(f"LBFGS: only 'strong_wolfe' is supported as line_search_fn, got "
                               f"{line_search_fn!r}")
        xp = self._xp()
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        with no_grad():
            loss = float(orig_loss)
            evals = 1
            state["func_evals"] += 1
            g = self._flat_grad()
            if float(xp.abs(g).max()) <= tolerance_grad:
                return orig_loss

            d, t = _array(state.get("d")), state.get("t")
            old_dirs = [y.array for y in state.get("old_dirs") or []]
            old_stps = [s.array for s in state.get("old_stps") or []]
            ro, h_diag = list(state.get("ro") or []), state.get("H_diag")
            prev_g, prev_loss = _array(state.get("prev_flat_grad")), state.get("prev_loss")
            opt_cond = False
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d, old_dirs, old_stps, ro, h_diag = -g, [], [], [], 1.0
                else:
                    y, s = g - prev_g, d * t
                    ys = float(xp.dot(y, s))
                    if ys > 1e-10:          # keep only pairs with positive curvature
                        if len(old_dirs) == history_size:
                            del old_dirs[0], old_stps[0], ro[0]
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        h_diag = ys / float(xp.dot(y, y))
                    if "al" not in state:
                        state["al"] = [None] * history_size
                    d = _two_loop(xp, g, old_dirs, old_stps, ro, h_diag, state["al"])
                prev_g, prev_loss = g, loss
                t = min(1.0, 1.0 / float(xp.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
                gtd = float(xp.dot(g, d))
                if gtd > -tolerance_change:         # not a descent direction (any more)
                    break

                spent = 0
                if line_search_fn is not None:
                    x0 = [p.array.copy() for p in self._params]
                    loss, g, t, spent = _strong_wolfe(lambda step: self._evaluate_at(closure, x0, step, d),
                                                      t, d, loss, g, gtd, max_ls=max_eval - evals)
                    self._move(t, d)
                    opt_cond = float(xp.abs(g).max()) <= tolerance_grad
                else:
                    self._move(t, d)
                    if n_iter != max_iter:   # the last iteration's loss would be thrown away
                        with enable_grad():
                            loss = float(closure())
                        g = self._flat_grad()
                        opt_cond = float(xp.abs(g).max()) <= tolerance_grad
                        spent = 1
                evals += spent
                state["func_evals"] += spent

                if n_iter == max_iter or evals >= max_eval or opt_cond:
                    break
                if float(xp.abs(d * t).max()) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                    break       # no progress any more

            device = self._params[0].device
            state.update(d=_tensor(d, device), t=t, old_dirs=[_tensor(y, device) for y in old_dirs],
                         old_stps=[_tensor(s, device) for s in old_stps], ro=ro, H_diag=h_diag,
                         prev_flat_grad=_tensor(prev_g, device), prev_loss=prev_loss)
        return orig_loss

    # ------------------------------------------------------------------ serialisation
    def load_state_dict(self, state_dict):
        """As :meth:`Optimizer.load_state_dict`; the flat vectors (also those of a PyTorch LBFGS
        state dict) are copied onto the parameters' device and floating dtype."""
        saved = state_dict["state"]
        super().load_state_dict({**state_dict, "state": {}})
        self._params = self.param_groups[0]["params"]
        if not saved:
            return
        unknown = [i for i in saved if i != 0]
        if unknown:
            raise ValueError(f"LBFGS.load_state_dict: LBFGS keeps its state on parameter 0, but the "
                             f"state dict has state for parameters {unknown}")
        p = self._params[0]
        self.state[p] = {k: _restore(v, p) for k, v in saved[0].items()}


def _two_loop(xp, g, old_dirs, old_stps, ro, h_diag, al):
    """-H g by the L-BFGS two-loop recursion (the class docstring spells it out); ``al`` receives
    the a_i of the first loop."""
    q = -g
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = float(xp.dot(old_stps[i], q)) * ro[i]
        q -= al[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        be = float(xp.dot(old_dirs[i], r)) * ro[i]
        r += (al[i] - be) * old_stps[i]
    return r


def _array(t):
    return None if t is None else t.array


def _tensor(a, device):
    return None if a is None else Tensor.wrap(a, device)


def _restore(value, p):
    """A saved LBFGS state entry -> ours: vectors as Tensors on ``p``'s device and floating dtype,
    0-d values as Python numbers, lists entry by entry."""
    if isinstance(value, (list, tuple)):
        return [_restore(v, p) for v in value]
    if value is None or isinstance(value, (int, float)):
        return value
    arr = value.array if isinstance(value, Tensor) else value
    if not backend.is_array(arr):
        arr = np.asarray(arr)       # e.g. a CPU tensor of another library
    if arr.ndim == 0:
        return arr.item()
    arr = backend.to_device(arr, p.device)
    if arr.dtype.kind == "f" and arr.dtype != p.dtype:
        arr = arr.astype(p.dtype)
    return Tensor.wrap(arr.copy(), p.device)
