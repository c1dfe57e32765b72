"""Adagrad: per-coordinate step sizes shrinking with the sum of squared gradients."""
from __future__ import annotations

from .optimizer import Optimizer, check_hyper, zeros_state


class Adagrad(Optimizer):
    r"""``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
    maximize=False)``.

    Per step ``t = 1, 2, ...`` (PyTorch's algorithm; ``eps`` is added after the square root)::

        g   = g + weight_decay * p                    (if weight_decay != 0)
        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g                             (sum starts at initial_accumulator_value)
        p   = p - clr * g / (sqrt(sum) + eps)

    State per parameter (created with the optimizer, as in PyTorch): ``step``, ``sum``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 *, maximize=False):
        check_hyper("Adagrad", "lr", lr, lr >= 0, "lr >= 0")
        check_hyper("Adagrad", "lr_decay", lr_decay, lr_decay >= 0, "lr_decay >= 0")
        check_hyper("Adagrad", "weight_decay", weight_decay, weight_decay >= 0, "weight_decay >= 0")
        check_hyper("Adagrad", "initial_accumulator_value", initial_accumulator_value,
                    initial_accumulator_value >= 0, "initial_accumulator_value >= 0")
        check_hyper("Adagrad", "eps", eps, eps >= 0, "eps >= 0")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, self.state[p], group)

    @staticmethod
    def _init_state(p, state, group):
        state["step"] = 0
        state["sum"] = zeros_state(p, float(group["initial_accumulator_value"]))

    def _update(self, p, g, state, group):
        if not state:   # a parameter added later with add_param_group
            self._init_state(p, state, group)
        state["step"] += 1
        wd = float(group["weight_decay"])
        if wd != 0:
            g = g + wd * p.array
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        s = state["sum"].array
        s += g * g
        p.array -= clr * (g / (p.device.xp.sqrt(s) + float(group["eps"])))
