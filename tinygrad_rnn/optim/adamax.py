"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm."""
from __future__ import annotations

from .adam import check_adam_hypers
from .optimizer import Optimizer, zeros_state


class Adamax(Optimizer):
    r"""``Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *, maximize=False)``.

    Per step ``t = 1, 2, ...`` (PyTorch's algorithm, after Kingma and Ba 2015, section 7)::

        g = g + weight_decay * p                  (if weight_decay != 0)
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)             (elementwise; eps inside the max, as PyTorch)
        p = p - lr / (1 - beta1**t) * m / u

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *, maximize=False):
        check_adam_hypers("Adamax", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update(self, p, g, state, group):
        xp = p.device.xp
        if not state:
            state["step"] = 0
            state["exp_avg"] = zeros_state(p)
            state["exp_inf"] = zeros_state(p)
        state["step"] += 1
        wd = float(group["weight_decay"])
        if wd != 0:
            g = g + wd * p.array
        beta1, beta2 = (float(b) for b in group["betas"])
        m, u = state["exp_avg"].array, state["exp_inf"].array
        m += (1 - beta1) * (g - m)        # = beta1 * m + (1 - beta1) * g, written as PyTorch's lerp
        u *= beta2
        xp.maximum(u, xp.abs(g) + float(group["eps"]), out=u)
        p.array -= (float(group["lr"]) / (1 - beta1 ** state["step"])) * (m / u)
