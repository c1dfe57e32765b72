"""Matrix product with NumPy's rules: 1-D operands, batching and broadcasting of batch dims."""
from __future__ import annotations

from ..autograd import Function, OpError


class Matmul(Function):
    @staticmethod
    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise OpError(f"matmul: both arguments need at least 1 dimension, got shapes "
                          f"{tuple(x.shape)} and {tuple(y.shape)}")
        k_y = y.shape[0] if y.ndim == 1 else y.shape[-2]
        if x.shape[-1] != k_y:
            raise OpError(f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied "
                          f"({x.shape[-1]} != {k_y})")
        ctx.save_for_backward(x, y)
        return ctx.xp(x, y).matmul(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        # For 2-D: dx = g @ y^T, dy = x^T @ g. 1-D operands are lifted to matrices and dropped after;
        # broadcast batch dims are summed away by the engine.
        if x.ndim == 1 and y.ndim == 1:
            return (g * y if need_x else None), (g * x if need_y else None)
        if x.ndim == 1:
            g2 = g.unsqueeze(-2)
            return ((g2 @ y.mT).squeeze(-2) if need_x else None), \
                   (x.unsqueeze(-1) @ g2 if need_y else None)
        if y.ndim == 1:
            g2 = g.unsqueeze(-1)
            return (g2 @ y.unsqueeze(-2) if need_x else None), \
                   ((x.mT @ g2).squeeze(-1) if need_y else None)
        return (g @ y.mT if need_x else None), (x.mT @ g if need_y else None)
