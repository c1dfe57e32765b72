"""NumPy's indexing laid out as PyTorch lays it out: the reference the indexing tests compare with."""
import numpy as np


def numpy_in_pytorch_layout(a, index):
    """``a[index]`` with NumPy, laid out as PyTorch does: PyTorch applies ints as plain indices, so
    each int i is taken here as the slice i:i+1 (leaving the one advanced index alone, which NumPy
    then keeps in place) and its axis of size 1 dropped afterwards."""
    used = sum(p.ndim if isinstance(p, np.ndarray) and p.dtype == bool else 1
               for p in index if p is not None and p is not Ellipsis)
    parts, drop, axis = [], [], 0
    for p in index:
        if isinstance(p, (int, np.integer)):
            parts.append(slice(p, p + 1 or None))
            drop.append(axis)
        elif p is Ellipsis:
            parts.append(p)
            axis += a.ndim - used - 1
        else:
            parts.append(p)
        axis += 1
    return a[tuple(parts)].squeeze(tuple(drop))
