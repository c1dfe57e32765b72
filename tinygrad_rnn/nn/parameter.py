"""Parameter: a Tensor that a Module registers as one of its learnable weights."""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor


class Parameter(Tensor):
    """``Parameter(data=None, requires_grad=True)``: a leaf Tensor that modules collect.

    Assigning a Parameter to a Module attribute registers it, so ``module.parameters()`` (and an
    optimizer built from it) finds it. ``data`` may be a Tensor (its array is shared, not copied),
    a NumPy/CuPy array, or nested lists; ``None`` gives an empty tensor of the default float dtype.
    Operations on a Parameter return plain Tensors.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtypes.DEFAULT_FLOAT)
        self._setup(data, requires_grad, None, None)     # a leaf with data's dtype (not Tensor(data))

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # rebuild as a fresh leaf: pickling/deepcopy keeps the values and requires_grad, not the grad
        return (_rebuild_parameter, (self.numpy().copy(), str(self.device), self.requires_grad))

    def __deepcopy__(self, memo):
        out = Parameter(Tensor._from_data(self.array.copy(), device=self.device), self.requires_grad)
        if self.grad is not None:
            out.grad = Tensor._from_data(self.grad.array.copy(), device=self.device)
        memo[id(self)] = out
        return out


def _rebuild_parameter(array, device, requires_grad):
    return Parameter(Tensor._from_data(array, device=device), requires_grad)
