"""AdamW: Adam with weight decay applied to the parameters, not added to the gradient."""
from __future__ import annotations

from .adam import Adam


class AdamW(Adam):
    r"""``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False)``.

    Adam whose step first shrinks the parameters, ``p = p * (1 - lr * weight_decay)``, and then
    applies the Adam update to the plain gradient (the decay never enters ``m`` or ``v``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:     # AdamW always decouples, whatever the dict says
            group["decoupled_weight_decay"] = True
