"""More ways to rearrange elements, all composed from the primitives in ``shape.py`` (reshape,
permute, expand, getitem and its adjoint, cat/split) and ``where``: none has a backward of its own,
so each gradient is the composition's.

repeat, tile, repeat_interleave, flip, roll, tril, triu, diag, diagonal, movedim, swapaxes,
unflatten, unbind, narrow, meshgrid, hstack, vstack, broadcast_to, and the aliases concat /
concatenate (= cat).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import OpError, OpIndexError
from ..tensor import Tensor
from .common import const, normalize_dim, shape_arg
from .elementwise import Where
from .shape import Getitem, IndexAdd, cat, expand, permute, reshape, split, transpose


def _sizes(args):
    return shape_arg(args) if args else ()


# ----------------------------------------------------------------------------- repeating

def repeat(x, *sizes):
    """Tile x ``sizes[i]`` times along dim i (extra leading sizes add dims):
    ``(2, 3).repeat(2, 1, 2) -> (2, 2, 6)``. Gradient: the copies' gradients summed."""
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise OpError(f"repeat: Number of dimensions of repeat dims can not be smaller than number "
                      f"of dimensions of tensor: got {len(sizes)} repeat dims for shape "
                      f"{tuple(x.shape)}")
    if any(r < 0 for r in sizes):
        raise OpError(f"repeat: repeats must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    # (s0, s1) -> (1, s0, 1, s1) -> expand to (r0, s0, r1, s1) -> (r0 s0, r1 s1)
    y = reshape(x, *(d for s in shape for d in (1, s)))
    y = expand(y, *(d for r, s in zip(sizes, shape) for d in (r, s)))
    return reshape(y, *(r * s for r, s in zip(sizes, shape)))


def tile(x, *dims):
    """As ``repeat``, but fewer ``dims`` than x has dims repeat the last ones (NumPy's tile)."""
    dims = _sizes(dims)
    return repeat(x, *((1,) * (x.ndim - len(dims)) + tuple(dims)))


def repeat_interleave(x, repeats=None, dim=None, output_size=None):
    """Repeat each element (each slice along ``dim``) ``repeats`` times, in place:
    ``[a, b].repeat_interleave(2) -> [a, a, b, b]``. ``repeats`` is an int or a 1-D integer tensor
    (one count per slice); ``dim=None`` flattens first. ``repeat_interleave(counts)`` alone gives
    ``arange(len(counts))`` repeated by ``counts``."""
    if repeats is None:     # torch.repeat_interleave(repeats)
        counts = x
        if counts.ndim > 1 or counts.dtype.kind not in "iu":
            raise OpError(f"repeat_interleave: repeats must be a 0-d or 1-d integer tensor, got "
                          f"shape {tuple(counts.shape)} and dtype {counts.dtype}")
        ar = Tensor._make(x.device.xp.arange(counts.numel(), dtype=np.int64), x.device)
        return repeat_interleave(ar, counts, 0)
    if dim is None:
        x, d = reshape(x, -1), 0
    else:
        d = normalize_dim("repeat_interleave", dim, x.ndim)
        if x.ndim == 0:
            x = reshape(x, 1)
    n = x.shape[d]
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1 or repeats.dtype.kind not in "iu":
            raise OpError(f"repeat_interleave: repeats must be a 0-d or 1-d integer tensor, got "
                          f"shape {tuple(repeats.shape)} and dtype {repeats.dtype}")
        counts = backend.to_numpy(repeats.array).reshape(-1).tolist()   # the output size is needed
        if len(counts) == 1:
            repeats = counts[0]
        elif len(counts) != n:
            raise OpError(f"repeat_interleave: repeats must have the same size as input along dim "
                          f"{d}: got {len(counts)} repeats for size {n}")
        else:
            if min(counts, default=0) < 0:
                raise OpError("repeat_interleave: repeats can not be negative")
            xp = x.device.xp
            picks = xp.repeat(xp.arange(n), counts)
            return Getitem.apply(x, (slice(None),) * d + (picks,))
    repeats = int(repeats)
    if repeats < 0:
        raise OpError("repeat_interleave: repeats can not be negative")
    # (.., n, ..) -> (.., n, 1, ..) -> expand (.., n, r, ..) -> (.., n r, ..)
    y = expand(reshape(x, *x.shape[:d + 1], 1, *x.shape[d + 1:]),
               *x.shape[:d + 1], repeats, *x.shape[d + 1:])
    return reshape(y, *x.shape[:d], n * repeats, *x.shape[d + 1:])


# ----------------------------------------------------------------------------- reordering

def _dims(op, dims, ndim):
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(normalize_dim(op, d, ndim) for d in dims)
    if len(set(out)) != len(out):
        raise OpError(f"{op}: dims {dims} repeat a dimension")
    return out


def flip(x, dims):
    """Reverse the order of elements along ``dims`` (an int or a tuple). A copy, as in PyTorch (the
    reversed slice alone would be a view sharing x's memory)."""
    dims = _dims("flip", dims, x.ndim)
    if x.ndim == 0:
        return x.clone()
    return Getitem.apply(x, tuple(slice(None, None, -1) if d in dims else slice(None)
                                  for d in range(x.ndim))).clone()


def _narrow_raw(x, d, start, stop):
    return Getitem.apply(x, (slice(None),) * d + (slice(start, stop),))


def roll(x, shifts, dims=None):
    """Shift elements cyclically: ``roll([1, 2, 3], 1) -> [3, 1, 2]``. ``dims=None`` rolls the
    flattened tensor and restores the shape."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)) and len(shifts) != 1:
            raise OpError(f"roll: with dims=None, shifts must be a single int, got {shifts}")
        s = shifts if isinstance(shifts, (int, np.integer)) else shifts[0]
        return reshape(roll(reshape(x, -1), s, 0), *x.shape)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise OpError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: "
                      f"{len(dims)}")
    for s, dim in zip(shifts, dims):
        d = normalize_dim("roll", dim, x.ndim)
        n = x.shape[d] if x.ndim else 1
        s = int(s) % n if n else 0
        if s:   # the last s elements move to the front
            x = cat([_narrow_raw(x, d, n - s, n), _narrow_raw(x, d, 0, n - s)], d)
    return x


def movedim(x, source, destination):
    """Move dims ``source`` to positions ``destination`` (ints or tuples); the others keep their
    order (NumPy's moveaxis)."""
    src = _dims("movedim", source, x.ndim)
    dst = _dims("movedim", destination, x.ndim)
    if len(src) != len(dst):
        raise OpError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) "
                      f"should contain the same number of dims as destination ({list(dst)} dims)")
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, *order) if x.ndim else x


def swapaxes(x, axis0, axis1):
    return transpose(x, axis0, axis1)


# ----------------------------------------------------------------------------- triangles and diagonals

def _zero_of(x):
    return {"b": False, "i": 0, "u": 0}.get(x.dtype.kind, 0.0)


def _triangle(op, x, keep):
    if x.ndim < 2:
        raise OpError(f"{op}: input tensor must have at least 2 dimensions, got shape {tuple(x.shape)}")
    return Where.apply(const(keep, x), x, _zero_of(x))


def tril(x, diagonal=0):
    """Lower triangle of the last two dims: elements with ``col - row <= diagonal``; others 0."""
    xp = x.device.xp
    return _triangle("tril", x, xp.tri(*x.shape[-2:], k=diagonal, dtype=bool) if x.ndim >= 2 else None)


def triu(x, diagonal=0):
    """Upper triangle of the last two dims: elements with ``col - row >= diagonal``; others 0."""
    xp = x.device.xp
    return _triangle("triu", x, ~xp.tri(*x.shape[-2:], k=diagonal - 1, dtype=bool)
                     if x.ndim >= 2 else None)


def _diagonal_index(xp, rows, cols, offset):
    """Row and column positions of diagonal ``offset`` of a (rows, cols) matrix."""
    r0, c0 = max(-offset, 0), max(offset, 0)
    n = max(0, min(rows - r0, cols - c0))
    ar = xp.arange(n)
    return ar + r0, ar + c0


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The diagonal ``offset`` of the (dim1, dim2) matrices, as a new last dim:
    ``(A, B, C).diagonal(0, 0, 2) -> (B, min(A, C))``."""
    a, b = normalize_dim("diagonal", dim1, x.ndim), normalize_dim("diagonal", dim2, x.ndim)
    if a == b:
        raise OpError(f"diagonal: dimensions cannot be identical {dim1}, {dim2}")
    y = movedim(x, (a, b), (x.ndim - 2, x.ndim - 1))
    rows, cols = _diagonal_index(x.device.xp, y.shape[-2], y.shape[-1], offset)
    return Getitem.apply(y, (slice(None),) * (x.ndim - 2) + (rows, cols))


def diag(x, diagonal=0):
    """1-D (n,) -> the square matrix with x on diagonal ``diagonal``; 2-D -> that diagonal, 1-D."""
    if x.ndim == 1:
        n = x.shape[0] + abs(diagonal)
        rows, cols = _diagonal_index(x.device.xp, n, n, diagonal)
        return IndexAdd.apply(x, (rows, cols), (n, n))
    if x.ndim == 2:
        rows, cols = _diagonal_index(x.device.xp, *x.shape, diagonal)
        return Getitem.apply(x, (rows, cols))
    raise OpError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")


# ----------------------------------------------------------------------------- splitting and joining

def unflatten(x, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one of them may be -1): ``(2, 12).unflatten(1, (3, 4))``."""
    if x.ndim == 0:
        raise OpIndexError("unflatten: Dimension specified as 0 but tensor has no dimensions")
    d = normalize_dim("unflatten", dim, x.ndim)
    sizes = tuple(int(s) for s in sizes)
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1 or (-1 not in sizes and known != x.shape[d]) or \
            (-1 in sizes and (known == 0 or x.shape[d] % known)):
        raise OpError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
                      f"{d} ({x.shape[d]}) in the input tensor")
    # the -1 resolved here: reshape could not infer it when another dim holds 0 elements
    sizes = tuple(x.shape[d] // known if s == -1 else s for s in sizes)
    return reshape(x, *x.shape[:d], *sizes, *x.shape[d + 1:])


def unbind(x, dim=0):
    """The slices along ``dim``, as a tuple of tensors with that dim removed."""
    d = normalize_dim("unbind", dim, x.ndim)
    if x.ndim == 0:
        raise OpError("unbind: Dimension specified as 0 but tensor has no dimensions")
    n = x.shape[d]
    if n == 0:
        return ()
    pieces = split(x, 1, d) if n > 1 else (x,)
    return tuple(reshape(p, *x.shape[:d], *x.shape[d + 1:]) for p in pieces)


def narrow(x, dim, start, length):
    """``length`` elements along ``dim`` from ``start`` (negative: from the end)."""
    if x.ndim == 0:
        raise OpError("narrow() cannot be applied to a 0-dim tensor.")
    d = normalize_dim("narrow", dim, x.ndim)
    n = x.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise OpIndexError(f"narrow: start out of range (expected to be in range of [{-n}, {n}], but "
                           f"got {start}) for dimension {d} of size {n}")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise OpError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _narrow_raw(x, d, start, start + length)


def _atleast(x, nd):
    """(n,) -> (1, n) for nd = 2; 0-d -> (1,) or (1, 1): leading ones, as NumPy's atleast_nd."""
    return x if x.ndim >= nd else reshape(x, *((1,) * (nd - x.ndim) + tuple(x.shape)))


def hstack(tensors):
    """Join along dim 1, or dim 0 when the tensors are 1-D (0-d tensors count as 1-D)."""
    ts = [_atleast(t, 1) for t in tensors]
    return cat(ts, 0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Join along dim 0 after making every tensor at least 2-D ((n,) -> (1, n))."""
    return cat([_atleast(t, 2) for t in tensors], 0)


def concat(tensors, dim=0):
    return cat(tensors, dim)


def concatenate(tensors, axis=0):
    return cat(tensors, axis)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: with ``indexing="ij"`` output i varies along dim i and
    all have shape ``(len(t0), len(t1), ...)``; ``"xy"`` swaps the roles of the first two."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise OpError(f"meshgrid: indexing must be one of 'xy' or 'ij', but received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise OpError(f"meshgrid: Expected 0D or 1D tensor in the tensor list but got shape "
                          f"{tuple(t.shape)}")
    ts = [reshape(t, -1) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    out = [expand(reshape(t, *(-1 if k == i else 1 for k in range(len(ts)))), *shape)
           for i, t in enumerate(ts)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def broadcast_to(x, *shape):
    return expand(x, *shape)
