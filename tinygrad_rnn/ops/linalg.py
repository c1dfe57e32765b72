"""Matrix product with NumPy's rules: 1-D operands, batching and broadcasting of batch dims.

Below it: PyTorch's stricter named products (mm, bmm, mv, dot, outer, addmm, baddbmm) composed from
it, and the vector / matrix norms (``VectorNorm`` and its compositions)."""
from __future__ import annotations

from ..autograd import Function, OpError, OpIndexError, OpNotImplementedError
from ..dtypes import c_name
from . import gradmath


class Matmul(Function):
    array_backward = True

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
        x, y = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        # For 2-D: dx = g @ y^T, dy = x^T @ g. 1-D operands are lifted to matrices and dropped after;
        # broadcast batch dims are summed away by the engine.
        yT = gradmath.swap_last(y) if y.ndim > 1 else None
        xT = gradmath.swap_last(x) if x.ndim > 1 else None
        if x.ndim == 1 and y.ndim == 1:
            return (g * y if need_x else None), (g * x if need_y else None)
        if x.ndim == 1:
            g2 = g[..., None, :]
            return ((g2 @ yT)[..., 0, :] if need_x else None), (x[:, None] @ g2 if need_y else None)
        if y.ndim == 1:
            g2 = g[..., None]
            return (g2 @ y[None, :] if need_x else None), ((xT @ g2)[..., 0] if need_y else None)
        return (g @ yT if need_x else None), (xT @ g if need_y else None)


def matmul(x, y):
    """``x @ y``. Both operands must have one dtype, as in PyTorch (no silent float64)."""
    from ..tensor import Tensor
    if not isinstance(y, Tensor):
        y = Tensor._from_data(y, device=x.device) if hasattr(y, "shape") or isinstance(y, (list, tuple)) else y
    if not isinstance(x, Tensor):
        x = Tensor._from_data(x, device=y.device) if hasattr(x, "shape") or isinstance(x, (list, tuple)) else x
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise OpError("matmul: both arguments must be tensors (a number is not a matrix: use *)")
    if x.dtype != y.dtype:
        raise OpError(f"expected m1 and m2 to have the same dtype, but got: {c_name(x.dtype)} != "
                      f"{c_name(y.dtype)}")
    if x.dtype.kind == "b":
        kernel = ("dot" if x.ndim == 1 else "addmv_impl_cpu") if y.ndim == 1 else \
            "addmm_impl_cpu_" if x.ndim <= 2 and y.ndim == 2 else "bmm"
        _no_bool("matmul", kernel, x, y)
    return Matmul.apply(x, y)


def _no_bool(op, kernel, x, y):
    """PyTorch has no bool matrix products; one with nothing to compute (an operand without
    elements) passes, except a dot product."""
    if x.dtype.kind == "b" and (kernel == "dot" or (x.numel() and y.numel())):
        raise OpNotImplementedError(f"{op}: \"{kernel}\" not implemented for 'Bool' (shapes "
                                    f"{tuple(x.shape)} and {tuple(y.shape)}; convert with .long() or "
                                    f".float() first)")


# ----------------------------------------------------------------------------- PyTorch's named products
# Compositions of Matmul (and Mul for outer) that check their stricter shape rules first, with
# PyTorch's messages; their gradients are Matmul's.

import math  # noqa: E402  (below Matmul, which is kept as it was)

from ..dtypes import torch_name  # noqa: E402
from .common import const, normalize_dim, normalize_dims, scale_factor  # noqa: E402
from .compare import where  # noqa: E402


def _same_dtype(op, x, y, what="m1 and m2"):
    if x.dtype != y.dtype:
        raise OpError(f"{op}: expected {what} to have the same dtype, but got: {c_name(x.dtype)} != "
                      f"{c_name(y.dtype)}")


def mm(x, y):
    """(n, k) @ (k, m) -> (n, m); no broadcasting, no 1-D operands."""
    if x.ndim != 2:
        raise OpError(f"mm: self must be a matrix, got shape {tuple(x.shape)}")
    if y.ndim != 2:
        raise OpError(f"mm: mat2 must be a matrix, got shape {tuple(y.shape)}")
    if x.shape[1] != y.shape[0]:
        raise OpError(f"mm: mat1 and mat2 shapes cannot be multiplied ({x.shape[0]}x{x.shape[1]} and "
                      f"{y.shape[0]}x{y.shape[1]})")
    _same_dtype("mm", x, y)
    _no_bool("mm", "addmm_impl_cpu_", x, y)
    return Matmul.apply(x, y)


def bmm(x, y):
    """(b, n, k) @ (b, k, m) -> (b, n, m); the batch sizes must be equal (no broadcasting)."""
    if x.ndim != 3:
        raise OpError(f"bmm: batch1 must be a 3D tensor, got shape {tuple(x.shape)}")
    if y.ndim != 3:
        raise OpError(f"bmm: batch2 must be a 3D tensor, got shape {tuple(y.shape)}")
    if tuple(y.shape[:2]) != (x.shape[0], x.shape[2]):
        raise OpError(f"bmm: Expected size for first two dimensions of batch2 tensor to be: "
                      f"[{x.shape[0]}, {x.shape[2]}] but got: [{y.shape[0]}, {y.shape[1]}].")
    _same_dtype("bmm", x, y)
    _no_bool("bmm", "bmm", x, y)
    return Matmul.apply(x, y)


def mv(x, v):
    """(n, k) @ (k,) -> (n,)."""
    if x.ndim != 2 or v.ndim != 1:
        raise OpError(f"mv: vector + matrix @ vector expected, got {x.ndim}, {v.ndim} (shapes "
                      f"{tuple(x.shape)} and {tuple(v.shape)})")
    if x.shape[1] != v.shape[0]:
        raise OpError(f"mv: size mismatch, got input ({x.shape[0]}), mat ({x.shape[0]}x{x.shape[1]}), "
                      f"vec ({v.shape[0]})")
    _same_dtype("mv", x, v, "mat and vec")
    _no_bool("mv", "addmv_impl_cpu", x, v)
    return Matmul.apply(x, v)


def dot(x, y):
    """(n,) . (n,) -> a 0-d tensor."""
    if x.ndim != 1 or y.ndim != 1:
        raise OpError(f"dot: 1D tensors expected, but got {x.ndim}D and {y.ndim}D tensors")
    if x.shape[0] != y.shape[0]:
        raise OpError(f"dot: inconsistent tensor size, expected tensor [{x.shape[0]}] and src "
                      f"[{y.shape[0]}] to have the same number of elements, but got {x.shape[0]} "
                      f"and {y.shape[0]} elements respectively")
    if x.dtype != y.dtype:
        raise OpError(f"dot: expected both vectors to have same dtype, but found {torch_name(x.dtype)} "
                      f"and {torch_name(y.dtype)}")
    _no_bool("dot", "dot", x, y)
    return Matmul.apply(x, y)


def outer(x, y):
    """(n,) and (m,) -> (n, m) with ``out[i, j] = x[i] y[j]``."""
    for name, t in (("self", x), ("vec2", y)):
        if t.ndim != 1:
            raise OpError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return x.reshape(-1, 1) * y.reshape(1, -1)


def _add_scaled(op, inp, prod, beta, alpha):
    """beta * inp + alpha * prod; with beta = 0 ``inp`` is ignored (its NaNs do not spread).
    Integer products keep their dtype: beta and alpha are truncated to integers first (PyTorch)."""
    beta, alpha = scale_factor(op, beta, prod.dtype), scale_factor(op, alpha, prod.dtype)
    out = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return out
    return out + (inp if beta == 1 else inp * beta)


def _broadcast_check(op, inp, out):
    lead = out.ndim - inp.ndim
    if lead < 0 or any(s not in (1, o) for s, o in zip(inp.shape, out.shape[lead:])):
        raise OpError(f"{op}: the input of shape {tuple(inp.shape)} does not broadcast to the "
                      f"product's shape {tuple(out.shape)}")
    return out.shape


def addmm(inp, mat1, mat2, beta=1, alpha=1):
    """beta * inp + alpha * (mat1 @ mat2); inp broadcasts to (n, m)."""
    prod = mm(mat1, mat2)
    _broadcast_check("addmm", inp, prod)
    return _add_scaled("addmm", inp, prod, beta, alpha)


def baddbmm(inp, batch1, batch2, beta=1, alpha=1):
    """beta * inp + alpha * bmm(batch1, batch2); inp broadcasts to (b, n, m)."""
    if batch1.dtype == batch2.dtype:
        _no_bool("baddbmm", "baddbmm", batch1, batch2)
    prod = bmm(batch1, batch2)
    _broadcast_check("baddbmm", inp, prod)
    return _add_scaled("baddbmm", inp, prod, beta, alpha)


# ----------------------------------------------------------------------------- norms

class VectorNorm(Function):
    """``(sum |x|^p)^(1/p)`` over ``dims`` for a finite p (p = 0, 1 and +-inf are compositions, see
    ``vector_norm``). Where the norm is 0 the gradient is 0 (PyTorch's subgradient), not 0/0."""
    name = "linalg.vector_norm"

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        xp = ctx.xp(x)
        a = xp.abs(x)
        # scaled by the largest |x| so that tiny (1e-165) or huge entries neither underflow nor
        # overflow when raised to the power p
        m = a.max(axis=dims, keepdims=True) if x.size else xp.ones((1,) * x.ndim, x.dtype)
        m = xp.where((m > 0) & xp.isfinite(m), m, 1).astype(x.dtype, copy=False)
        r = a / m
        if p == 2:
            s = xp.sqrt((r * r).sum(axis=dims, keepdims=True)) * m
        else:
            s = (r ** p).sum(axis=dims, keepdims=True) ** (1.0 / p) * m
        ctx.p, ctx.kept = p, s.shape
        out = s if keepdim else s.reshape(tuple(n for i, n in enumerate(x.shape)
                                                if dims is not None and i not in dims))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        p = ctx.p
        g, norm = g.reshape(ctx.kept), out.reshape(ctx.kept)
        zero = const(norm.array == 0, norm)
        safe = where(zero, 1.0, norm)
        # d/dx_i ||x||_p = sign(x_i) |x_i|^(p-1) / ||x||_p^(p-1)  (= x_i / ||x|| for p = 2)
        if p == 2:
            grad = g * (x / safe)
        else:
            # a zero entry gets 0 (sign 0), also for p < 1 where 0^(p-1) is infinite (PyTorch):
            # its |x| is replaced by 1 so that no inf * 0 = nan is ever formed
            abs_safe = where(const(x.array == 0, x), 1.0, x.abs())
            grad = g * x.sign() * (abs_safe / safe) ** (p - 1)
        return where(zero, 0.0, grad), None, None, None


class ExtremeNorm(Function):
    """The inf-norm max |x| (``smallest``: the -inf "norm" min |x|) over ``dims``; NaN if a NaN
    is there. Gradient as PyTorch's: g sign(x) / n on the n entries whose |x| is the result or
    NaN, with sign(NaN) = 0, so a NaN in the input gives gradient 0, not NaN."""
    name = "linalg.vector_norm"

    @staticmethod
    def forward(ctx, x, dims, keepdim, smallest):
        a = ctx.xp(x).abs(x)
        kept = a.min(axis=dims, keepdims=True) if smallest else a.max(axis=dims, keepdims=True)
        ctx.dims = dims
        ctx.save_for_backward(x, kept)
        if keepdim:
            return kept
        return kept.reshape(tuple(n for i, n in enumerate(x.shape) if dims is not None and i not in dims))

    @staticmethod
    def backward(ctx, g):
        x, kept = ctx.saved_tensors
        xp, xd = ctx.xp(x.array), x.array
        a = xp.abs(xd)
        at = (a == kept.array) | xp.isnan(a)
        count = at.sum(axis=ctx.dims, keepdims=True).astype(xd.dtype)
        sign = xp.where(xp.isnan(xd), 0, xp.sign(xd)).astype(xd.dtype)
        return const(sign, x) * (g.reshape(kept.shape) / const(count, x) * const(at, x)), None, None, None


class CountNorm(Function):
    """The ord-0 "norm": how many entries are not 0 (NaN is not 0), in x's dtype. In the graph but
    with no gradient at all (PyTorch's backward gives none, so x.grad stays None)."""
    name = "linalg.vector_norm"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return (x != 0).sum(axis=dims, keepdims=keepdim).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        return None, None, None


def vector_norm(x, ord=2, dim=None, keepdim=False, dtype=None):
    """The ``ord``-norm of x over ``dim`` (None: all elements; int or tuple). ord: a number,
    ``inf`` (largest |x|), ``-inf`` (smallest |x|), 0 (count of non-zeros)."""
    if isinstance(ord, str):
        raise TypeError("linalg_vector_norm(): argument 'ord' must be Number, not str")
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise OpError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                      f"Got {torch_name(x.dtype)}")
    dims, _ = normalize_dims("linalg.vector_norm", dim, x.ndim)
    ord = float(ord)
    if abs(ord) == math.inf:
        if x.numel() == 0:          # amax / amin say why there is no answer
            return x.abs().amax(dims, keepdim) if ord > 0 else x.abs().amin(dims, keepdim)
        return ExtremeNorm.apply(x, dims, keepdim, ord < 0)
    if ord == 0:
        return CountNorm.apply(x, dims, keepdim)
    if ord == 1:
        return x.abs().sum(dims, keepdim)
    return VectorNorm.apply(x, ord, dims, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, dtype=None):
    """Norms of the matrices spanned by ``dim`` (two dims): ``'fro'`` (Frobenius), 1 / -1 (largest /
    smallest column sum of |A|), inf / -inf (largest / smallest row sum). ``'nuc'`` and +-2 need
    singular values, which are not implemented."""
    if A.ndim < 2:
        raise OpError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got "
                      f"shape {tuple(A.shape)}")
    if dtype is not None:
        A = A.to(dtype)
    dim = tuple(dim)
    if len(dim) != 2:
        raise OpError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    r, c = (normalize_dim("linalg.matrix_norm", d, A.ndim) for d in dim)
    if r == c:
        raise OpError(f"linalg.matrix_norm: dims must be different. Got ({r}, {c})")
    if ord == "fro":
        return vector_norm(A, 2, (r, c), keepdim)
    if ord in ("nuc", 2, -2):
        raise OpError(f"linalg.matrix_norm: ord={ord!r} needs singular values, which are not "
                      f"implemented; supported orders: 'fro', 1, -1, inf, -inf")
    if isinstance(ord, str) or ord not in (1, -1, math.inf, -math.inf):
        raise OpError(f"linalg.matrix_norm: Order {ord} not supported.")
    if A.dtype.kind != "f":
        vector_norm(A)      # raises PyTorch's dtype message
    # ord 1: sum over rows, then the extreme over columns; ord inf: the other way round
    summed, over = (r, c) if abs(ord) == 1 else (c, r)
    s = A.abs().sum(summed, keepdim=True)
    if s.shape[over] == 0:      # no columns (rows): the largest sum of none is 0, the smallest none
        if ord < 0:
            raise OpIndexError(f"linalg.matrix_norm: amin(): Expected reduction dim "
                               f"{over - (summed < over)} to have non-zero size (ord={ord}, input of "
                               f"shape {tuple(A.shape)})")
        out = s.sum(over, keepdim=True)
    else:
        out = s.amax(over, keepdim=True) if ord > 0 else s.amin(over, keepdim=True)
    return out if keepdim else out.squeeze((r, c))


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """``Tensor.norm`` / ``torch.norm``: ``'fro'`` (the 2-norm over ``dim``, all elements by
    default) or a number p (the vector p-norm over ``dim``). ``'nuc'`` is not implemented."""
    if p == "fro":
        return vector_norm(x, 2, dim, keepdim, dtype)
    if p == "nuc":
        return matrix_norm(x, "nuc", dim if dim is not None else (-2, -1), keepdim, dtype)
    if isinstance(p, str):
        raise OpError(f"norm: p must be 'fro', 'nuc' or a number, got {p!r}")
    return vector_norm(x, p, dim, keepdim, dtype)
