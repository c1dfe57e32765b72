"""``tinygrad_rnn.linalg``: PyTorch's ``torch.linalg`` norms.

    tg.linalg.vector_norm(x, ord=2, dim=None, keepdim=False, dtype=None)
    tg.linalg.matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, dtype=None)
    tg.linalg.norm(A, ord=None, dim=None, keepdim=False, dtype=None)

The maths (and the gradient, which is 0 where a 2-norm is 0) is in ``ops/linalg.py``.
"""
from __future__ import annotations

from .autograd import OpError
from .ops.linalg import matrix_norm, vector_norm

__all__ = ["matrix_norm", "norm", "vector_norm"]


def norm(A, ord=None, dim=None, keepdim=False, dtype=None):
    """A vector or a matrix norm, chosen as ``torch.linalg.norm`` does: with ``ord=None`` the 2-norm
    of all elements (``dim=None``), of vectors along an int ``dim``, Frobenius over a 2-tuple ``dim``.
    With ``ord`` given and ``dim=None``, A must be 1-D (vector norm) or 2-D (matrix norm)."""
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype)
        return vector_norm(A, 2, dim, keepdim, dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise OpError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or "
                          f"2D. Got {A.ndim}D.")
        dim = tuple(range(A.ndim))
    if len(dim) == 1:
        if isinstance(ord, str):
            raise OpError(f"linalg.norm: ord={ord!r} is a matrix norm, but dim {tuple(dim)} names "
                          f"one dimension")
        return vector_norm(A, ord, dim, keepdim, dtype)
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype)
    raise OpError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
