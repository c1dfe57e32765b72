"""Linear (fully connected) layer and Identity."""
from __future__ import annotations

from ..creation import zeros
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (a placeholder layer)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b: (*, in_features) -> (*, out_features).

    ``weight``: (out_features, in_features), ``bias``: (out_features,), both initialised from
    U(-1/sqrt(in_features), 1/sqrt(in_features)) as in PyTorch (the weight through
    ``kaiming_uniform_(a=sqrt(5))``, which gives that bound).
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(zeros(out_features, in_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(zeros(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init._default_uniform_(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
