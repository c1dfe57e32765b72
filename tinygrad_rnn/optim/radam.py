"""RAdam: Adam whose adaptive step is switched on only once the variance estimate is reliable."""
from __future__ import annotations

from .adam import apply_weight_decay, check_adam_hypers, update_moments
from .optimizer import Optimizer, zeros_state


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
        check_adam_hypers("RAdam", lr, betas, eps, weight_decay)
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
        g = apply_weight_decay(p, g, lr, wd, group["decoupled_weight_decay"])
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        update_moments(m, v, g, beta1, beta2)
        bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / bias2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            p.array -= (lr / bias1 * bias2 ** 0.5 * rect) * (m / (xp.sqrt(v) + float(group["eps"])))
        else:
            p.array -= (lr / bias1) * m
