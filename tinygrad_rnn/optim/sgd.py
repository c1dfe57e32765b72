"""Stochastic gradient descent, with optional momentum, dampening, Nesterov momentum and L2 decay."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer, check_hyper


class SGD(Optimizer):
    r"""``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)``.

    Per step, with gradient ``g`` of parameter ``p`` (PyTorch's algorithm)::

        g = g + weight_decay * p                      (if weight_decay != 0)
        b = g                                         (first step: no dampening)
        b = momentum * b + (1 - dampening) * g        (later steps)
        g = g + momentum * b  if nesterov  else  b    (if momentum != 0)
        p = p - lr * g

    State per parameter: ``momentum_buffer`` (only when momentum != 0).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        check_hyper("SGD", "lr", lr, lr >= 0, "lr >= 0")
        check_hyper("SGD", "momentum", momentum, momentum >= 0, "momentum >= 0")
        check_hyper("SGD", "weight_decay", weight_decay, weight_decay >= 0, "weight_decay >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening, got "
                             f"momentum={momentum}, dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _update(self, p, g, state, group):
        lr, momentum, wd = float(group["lr"]), float(group["momentum"]), float(group["weight_decay"])
        if wd != 0:
            g = g + wd * p.array
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = Tensor.wrap(g.copy(), p.device)
            else:
                b = buf.array
                b *= momentum
                b += (1 - float(group["dampening"])) * g
            g = g + momentum * buf.array if group["nesterov"] else buf.array
        p.array -= lr * g
