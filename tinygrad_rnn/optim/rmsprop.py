"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

from .optimizer import Optimizer, check_hyper, zeros_state


class RMSprop(Optimizer):
    r"""``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False)``.

    Per step (PyTorch's algorithm; ``eps`` is added after the square root)::

        g     = g + weight_decay * p                  (if weight_decay != 0)
        v     = alpha * v + (1 - alpha) * g * g
        g_avg = alpha * g_avg + (1 - alpha) * g       (if centered)
        avg   = sqrt(v - g_avg**2) + eps  if centered  else  sqrt(v) + eps
        b     = momentum * b + g / avg;  p = p - lr * b      (if momentum > 0)
        p     = p - lr * g / avg                             (otherwise)

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (if momentum > 0),
    ``grad_avg`` (if centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 *, maximize=False):
        check_hyper("RMSprop", "lr", lr, lr >= 0, "lr >= 0")
        check_hyper("RMSprop", "alpha", alpha, alpha >= 0, "alpha >= 0")
        check_hyper("RMSprop", "eps", eps, eps >= 0, "eps >= 0")
        check_hyper("RMSprop", "weight_decay", weight_decay, weight_decay >= 0, "weight_decay >= 0")
        check_hyper("RMSprop", "momentum", momentum, momentum >= 0, "momentum >= 0")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, p, g, state, group):
        alpha, momentum = float(group["alpha"]), float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = zeros_state(p)
            if momentum > 0:
                state["momentum_buffer"] = zeros_state(p)
            if group["centered"]:
                state["grad_avg"] = zeros_state(p)
        state["step"] += 1
        wd = float(group["weight_decay"])
        if wd != 0:
            g = g + wd * p.array
        v = state["square_avg"].array
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            g_avg = state["grad_avg"].array
            g_avg += (1 - alpha) * (g - g_avg)     # the running mean, written as PyTorch's lerp
            avg = p.device.xp.sqrt(v - g_avg * g_avg)
        else:
            avg = p.device.xp.sqrt(v)
        avg += float(group["eps"])
        if momentum > 0:
            b = state["momentum_buffer"].array
            b *= momentum
            b += g / avg
            p.array -= float(group["lr"]) * b
        else:
            p.array -= float(group["lr"]) * (g / avg)
