"""Adadelta: step sizes from running averages of squared gradients and of squared updates."""
from __future__ import annotations

from .optimizer import Optimizer, check_hyper, zeros_state


class Adadelta(Optimizer):
    r"""``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False)``.

    Per step (PyTorch's algorithm, after Zeiler 2012; ``lr`` scales the update, 1.0 as in the paper)::

        g     = g + weight_decay * p              (if weight_decay != 0)
        v     = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u     = rho * u + (1 - rho) * delta * delta
        p     = p - lr * delta

    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        check_hyper("Adadelta", "lr", lr, lr >= 0, "lr >= 0")
        check_hyper("Adadelta", "rho", rho, 0 <= rho <= 1, "0 <= rho <= 1")
        check_hyper("Adadelta", "eps", eps, eps >= 0, "eps >= 0")
        check_hyper("Adadelta", "weight_decay", weight_decay, weight_decay >= 0, "weight_decay >= 0")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update(self, p, g, state, group):
        xp = p.device.xp
        if not state:
            state["step"] = 0
            state["square_avg"] = zeros_state(p)
            state["acc_delta"] = zeros_state(p)
        state["step"] += 1
        rho, eps, wd = float(group["rho"]), float(group["eps"]), float(group["weight_decay"])
        if wd != 0:
            g = g + wd * p.array
        v, u = state["square_avg"].array, state["acc_delta"].array
        v *= rho
        v += (1 - rho) * g * g
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * delta * delta
        p.array -= float(group["lr"]) * delta
