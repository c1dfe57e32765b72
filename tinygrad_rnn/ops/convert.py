"""Ops that change where or how data is stored but not its values: dtype casts, device moves, copies."""
from __future__ import annotations

from .. import backend
from ..autograd import Function


class Cast(Function):
    """``x.to(dtype)``; the gradient is cast back to the input's dtype (by the engine)."""
    array_backward = True

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g, None


class ToDevice(Function):
    """``x.to(device)``: copies through host memory when the device type changes; grads go back."""

    @staticmethod
    def forward(ctx, x, device):
        ctx.source = backend.device_of(x)
        ctx.out_device = device
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx, g):
        return ToDevice.apply(g, ctx.source), None


class Clone(Function):
    """A copy with its own memory; the gradient passes through unchanged."""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g
