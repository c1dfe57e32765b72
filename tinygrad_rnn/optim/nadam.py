"""NAdam: Adam with Nesterov momentum, whose momentum coefficient warms up over the first steps."""
from __future__ import annotations

import numpy as np

from .adam import apply_weight_decay, check_adam_hypers, update_moments
from .optimizer import Optimizer, check_hyper, zeros_state


def _float32_product(a, b):
    """``a * b`` rounded as PyTorch rounds its 0-d float32 ``mu_product`` state (see ``NAdam``)."""
    return float(np.float32(a) * np.float32(b))


class NAdam(Optimizer):
    r"""``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
    decoupled_weight_decay=False, *, maximize=False)``.

    Per step ``t = 1, 2, ...`` (PyTorch's algorithm, after Dozat 2016)::

        p     = p * (1 - lr * weight_decay)       (decoupled_weight_decay)
        g     = g + weight_decay * p              (otherwise, if weight_decay != 0)
        mu_t  = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))        (and mu_{t+1} likewise)
        m     = beta1 * m + (1 - beta1) * g
        v     = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2**t)) + eps
        p     = p - lr * (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g / denom
                  - lr * mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m / denom

    State per parameter: ``step``, ``mu_product`` (the running product of the ``mu_i``, a Python
    float), ``exp_avg``, ``exp_avg_sq``. PyTorch keeps ``mu_product`` as a 0-d tensor of its default
    float dtype (float32), so it is rounded to float32 after every multiplication here too: that
    rounding moves float64 trajectories by ~1e-9, far above float64 round-off, and matching it keeps
    them equal to PyTorch's.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        check_adam_hypers("NAdam", lr, betas, eps, weight_decay)
        check_hyper("NAdam", "momentum_decay", momentum_decay, momentum_decay >= 0, "momentum_decay >= 0")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _update(self, p, g, state, group):
        xp = p.device.xp
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = zeros_state(p)
            state["exp_avg_sq"] = zeros_state(p)
        state["step"] += 1
        t = state["step"]
        lr, wd, psi = float(group["lr"]), float(group["weight_decay"]), float(group["momentum_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        g = apply_weight_decay(p, g, lr, wd, group["decoupled_weight_decay"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product = state["mu_product"] = _float32_product(state["mu_product"], mu)
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        update_moments(m, v, g, beta1, beta2)
        denom = xp.sqrt(v / (1 - beta2 ** t)) + float(group["eps"])
        p.array -= (lr * (1 - mu) / (1 - mu_product)) * (g / denom)
        p.array -= (lr * mu_next / (1 - mu_product * mu_next)) * (m / denom)

    def load_state_dict(self, state_dict):
        # PyTorch stores mu_product as a 0-d tensor: take its value (the base class would treat it as
        # a buffer shaped like the parameter).
        state = {i: {k: (float(v.item() if hasattr(v, "item") else v) if k == "mu_product" else v)
                     for k, v in s.items()} for i, s in state_dict["state"].items()}
        super().load_state_dict({**state_dict, "state": state})
