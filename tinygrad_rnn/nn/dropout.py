"""Dropout: zero random elements (Dropout) or whole channels (Dropout2d) while training (inverted
dropout), identity in eval mode."""
from __future__ import annotations

from . import functional as F
from .module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) in training mode;
    the identity after ``eval()``. Any shape -> the same shape. Masks come from the default
    generator, so ``tinygrad_rnn.manual_seed`` makes them repeat."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zero whole channels (feature maps) with probability ``p`` and scale the rest by 1 / (1 - p)
    in training mode: (N, C, H, W) or (C, H, W) -> same shape, one draw per (sample, channel).
    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels would
    barely regularise a conv net; dropping the whole map does."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)
