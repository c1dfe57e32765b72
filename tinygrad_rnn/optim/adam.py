"""Adam: bias-corrected running means of the gradient and of its square."""
from __future__ import annotations

from .optimizer import Optimizer, check_hyper, zeros_state


def check_adam_hypers(name, lr, betas, eps, weight_decay):
    """The hyperparameter checks Adam and its variants (AdamW, Adamax, NAdam, RAdam) share."""
    check_hyper(name, "lr", lr, lr >= 0, "lr >= 0")
    check_hyper(name, "eps", eps, eps >= 0, "eps >= 0")
    check_hyper(name, "betas", betas, len(betas) == 2, "a pair (beta1, beta2)")
    check_hyper(name, "beta1", betas[0], 0 <= betas[0] < 1, "0 <= beta1 < 1")
    check_hyper(name, "beta2", betas[1], 0 <= betas[1] < 1, "0 <= beta2 < 1")
    check_hyper(name, "weight_decay", weight_decay, weight_decay >= 0, "weight_decay >= 0")


def apply_weight_decay(p, g, lr, wd, decoupled):
    """Decoupled (AdamW): shrink ``p`` in place by ``1 - lr * wd``; otherwise the L2 penalty's
    gradient ``wd * p`` is added to ``g``. Returns the gradient to use."""
    if wd != 0:
        if decoupled:
            p.array *= 1 - lr * wd
        else:
            g = g + wd * p.array
    return g


def update_moments(m, v, g, beta1, beta2):
    """The running means of the gradient and of its square, in place:
    ``m = beta1 * m + (1 - beta1) * g``, ``v = beta2 * v + (1 - beta2) * g * g``."""
    m += (1 - beta1) * (g - m)        # written as PyTorch's lerp, for the same rounding
    v *= beta2
    v += (1 - beta2) * g * g


class Adam(Optimizer):
    r"""``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
    decoupled_weight_decay=False)``.

    Per step ``t = 1, 2, ...`` (PyTorch's algorithm; ``eps`` is added to ``sqrt(v_hat)``)::

        p     = p * (1 - lr * weight_decay)       (decoupled_weight_decay, i.e. AdamW)
        g     = g + weight_decay * p              (otherwise, if weight_decay != 0: L2 penalty)
        m     = beta1 * m + (1 - beta1) * g
        v     = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                     (if amsgrad; then v_max replaces v below)
        p     = p - lr * m_hat / (sqrt(v_hat) + eps)   with m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)

    computed as PyTorch does: ``p -= (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.
    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq`` (if amsgrad).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        check_adam_hypers(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p, g, state, group):
        xp = p.device.xp
        if not state:
            state["step"] = 0
            state["exp_avg"] = zeros_state(p)
            state["exp_avg_sq"] = zeros_state(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_state(p)
        state["step"] += 1
        t = state["step"]
        lr, wd = float(group["lr"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        g = apply_weight_decay(p, g, lr, wd, group["decoupled_weight_decay"])
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        update_moments(m, v, g, beta1, beta2)
        if group["amsgrad"]:
            v_max = state["max_exp_avg_sq"].array
            v_max[...] = xp.maximum(v_max, v)
            v = v_max
        step_size = lr / (1 - beta1 ** t)
        denom = xp.sqrt(v) / (1 - beta2 ** t) ** 0.5 + float(group["eps"])
        p.array -= step_size * (m / denom)
