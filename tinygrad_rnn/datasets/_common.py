"""What the dataset loaders share: turning (X, y) arrays into the form the caller asked for."""
from __future__ import annotations

from ..creation import tensor
from ..data import TensorDataset


def finish(X, y, as_dataset, device):
    """``(X, y)`` NumPy arrays, or a ``TensorDataset`` of tensors on ``device`` when ``as_dataset``."""
    if as_dataset:
        return TensorDataset(tensor(X, device=device), tensor(y, device=device))
    return X, y
