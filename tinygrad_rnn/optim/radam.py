"""RAdam: Adam whose adaptive step is switched on only once the variance estimate is reliable."""
from __future__ import annotations

from .optimizer import Optimizer, check_hyper, zeros_state


class RAdam(Optimizer):
    r"""``RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
    *, maximize=False)``.

    Per step ``t = 1, 2, ...`` (PyTorch's algorithm, after Liu et al. 2019)::

        p       = p * (1 - lr * weight_decay)     (decoupled_weight_decay)
        g       = g + weight_decay * p            (otherwise, if weight_decay != 0)
        m       = beta1 * m + (1 - beta1) * g
        v       = beta2 * v + (1 - beta2) * g * g
        m_hat   = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t   = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t > 5:   (the variance of the adaptive step is tractable)
            l = sqrt(1 - beta2**t) / (sqrt(v) + eps)
            r = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - lr * m_hat * l * r
        else:           (plain momentum SGD with bias correction)
            p = p - lr * m_hat

    Note ``eps`` is added to ``sqrt(v)``, not to the bias-corrected ``sqrt(v_hat)`` (as PyTorch).
    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False):
        check_hyper("RAdam", "lr", lr, lr >= 0, "lr >= 0")
        check_hyper("RAdam", "eps", eps, eps >= 0, "eps >= 0")
        check_hyper("RAdam", "betas", betas, len(betas) == 2, "a pair (beta1, beta2)")
        check_hyper("RAdam", "beta1", betas[0], 0 <= betas[0] < 1, "0 <= beta1 < 1")
        check_hyper("RAdam", "beta2", betas[1], 0 <= betas[1] < 1, "0 <= beta2 < 1")
        check_hyper("RAdam", "weight_decay", weight_decay, weight_decay >= 0, "weight_decay >= 0")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _update(self, p, g, state, group):
        xp = p.device.xp
        if not state:
            state["step"] = 0
            state["exp_avg"] = zeros_state(p)
            state["exp_avg_sq"] = zeros_state(p)
        state["step"] += 1
        t = state["step"]
        lr, wd = float(group["lr"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                g = g + wd * p.data
        m, v = state["exp_avg"].data, state["exp_avg_sq"].data
        m += (1 - beta1) * (g - m)        # = beta1 * m + (1 - beta1) * g, written as PyTorch's lerp
        v *= beta2
        v += (1 - beta2) * g * g
        bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / bias2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            p.data -= (lr / bias1 * bias2 ** 0.5 * rect) * (m / (xp.sqrt(v) + float(group["eps"])))
        else:
            p.data -= (lr / bias1) * m
