"""Distances between pairs of vectors, as modules: cosine similarity and the p-norm distance."""
from __future__ import annotations

from . import functional as F
from .module import Module


class CosineSimilarity(Module):
    """Cosine of the angle between x1 and x2 along ``dim`` (after broadcasting), each norm floored
    at ``eps``: (*, D, *) and (*, D, *) -> (*, *). See ``F.cosine_similarity``."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p along the last dim: (N, D), (N, D) -> (N,) (``keepdim``: (N, 1)).
    The order of the norm is stored as ``norm``, as in PyTorch."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
