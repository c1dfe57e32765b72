"""Ops that rearrange elements without changing them: reshape and its relatives (view, flatten,
squeeze, unsqueeze, unflatten), permute / transpose / movedim, expand and repeat, joining and
splitting (cat, stack, split, chunk, unbind, hstack, vstack, meshgrid), flip, roll, narrow,
triangles and diagonals, and constant padding.

Six of them are Functions, each with a backward that moves the gradient back the way the elements
came: ``Reshape``, ``Permute``, ``Expand``, ``Cat``, ``Split`` and ``Pad``. The others are
compositions of these, of the indexing ops in ``indexing.py`` (``Getitem`` and its adjoint
``IndexAdd``) and of ``where``: none has a backward of its own, so each gradient is the
composition's.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import backend
from ..autograd import Function, OpError, OpIndexError
from ..dtypes import promote_types
from ..tensor import Tensor
from . import gradmath
from .common import const, normalize_dim, shape_arg
from .compare import Where
from .indexing import Getitem, IndexAdd, getitem


def _sizes(args):
    return shape_arg(args) if args else ()


# ----------------------------------------------------------------------------- reshaping

class Reshape(Function):
    view = True             # a view when the layout allows it, else a copy (as PyTorch's reshape)
    array_backward = True

    @staticmethod
    def forward(ctx, x, shape, must_view=False):
        ctx.in_shape = x.shape
        out = x.reshape(shape)
        if must_view and out.size and not backend.is_view_of(out, x):
            raise OpError("view: view size is not compatible with input tensor's size and stride (at least "
                          "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                          "instead.")
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None, None


def _check_shape(op, x, shape):
    """PyTorch's message for a shape that cannot hold x's elements."""
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise OpError(f"{op}: invalid shape dimension {s}")
            known *= s
    n = x.numel()
    free = shape.count(-1)
    if free > 1:
        raise OpError(f"{op}: only one dimension can be inferred")
    if (free == 0 and known != n) or (free == 1 and (known == 0 or n % known)):
        raise OpError(f"{op}: shape '{list(shape)}' is invalid for input of size {n} (a tensor of "
                      f"shape {tuple(x.shape)})")


def reshape(x, *shape):
    shape = shape_arg(shape)
    _check_shape("reshape", x, shape)
    return Reshape.apply(x, shape)


def view(x, *shape):
    """reshape that refuses to copy."""
    shape = shape_arg(shape)
    _check_shape("view", x, shape)
    return Reshape.apply(x, shape, True)


def flatten(x, start_dim=0, end_dim=-1):
    s, e = normalize_dim("flatten", start_dim, x.ndim), normalize_dim("flatten", end_dim, x.ndim)
    if x.ndim == 0:
        return reshape(x, 1)
    if s > e:
        raise OpError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    # the size spelled out: with 0 elements elsewhere, a -1 could not be inferred
    return reshape(x, *x.shape[:s], int(np.prod(x.shape[s:e + 1])), *x.shape[e + 1:])


def squeeze(x, dim=None):
    if dim is None:
        drop = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        drop = {d for d in (normalize_dim("squeeze", d, x.ndim) for d in dims)
                if x.ndim and x.shape[d] == 1}
    return reshape(x, *(n for i, n in enumerate(x.shape) if i not in drop))


def unsqueeze(x, dim):
    d = normalize_dim("unsqueeze", dim, x.ndim + 1)
    return reshape(x, *x.shape[:d], 1, *x.shape[d:])


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



# ----------------------------------------------------------------------------- reordering dims

class Permute(Function):
    view = True
    array_backward = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return gradmath.permute(g, np.argsort(ctx.dims).tolist()), None     # the inverse permutation


def permute(x, *dims):
    dims = tuple(normalize_dim("permute", d, x.ndim) for d in shape_arg(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise OpError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims of a "
                      f"tensor of shape {tuple(x.shape)}")
    return Permute.apply(x, dims)


def transpose(x, dim0, dim1):
    dims = list(range(x.ndim))
    a, b = normalize_dim("transpose", dim0, x.ndim), normalize_dim("transpose", dim1, x.ndim)
    if dims:                        # a 0-d tensor has nothing to swap
        dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(x, tuple(dims))


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


# ----------------------------------------------------------------------------- broadcasting and repeating

class Expand(Function):
    """Broadcast to a larger shape without copying; the gradient is summed back."""
    view = True
    array_backward = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return ctx.xp(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return gradmath.sum_to(g, ctx.in_shape), None


def expand(x, *shape):
    shape = shape_arg(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise OpError(f"expand: target shape {shape} has fewer dims than the tensor's {tuple(x.shape)}")
    full = tuple(x.shape[i - lead] if (s == -1 and i >= lead) else s for i, s in enumerate(shape))
    for i, n in enumerate(x.shape):
        if n != 1 and n != full[lead + i]:
            raise OpError(f"expand: cannot expand shape {tuple(x.shape)} to {shape} "
                          f"(dim {i} has size {n}, not 1)")
    return x if full == x.shape else Expand.apply(x, full)


def broadcast_to(x, *shape):
    return expand(x, *shape)


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
        ar = Tensor.wrap(x.device.xp.arange(counts.numel(), dtype=np.int64), x.device)
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


# ----------------------------------------------------------------------------- joining and splitting

class Cat(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.dim, ctx.sizes = dim, [x.shape[dim] for x in xs]
        return ctx.xp(*xs).concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        # each input gets its own stretch of g back
        if isinstance(g, Tensor):
            return Split.apply(g, ctx.sizes, ctx.dim)
        return tuple(ctx.xp(g).split(g, np.cumsum(ctx.sizes)[:-1].tolist(), axis=ctx.dim))


class Split(Function):
    """Several outputs: consecutive pieces of ``sizes`` along ``dim`` (views, no copies)."""
    view = True
    array_backward = True

    @staticmethod
    def forward(ctx, x, sizes, dim):
        ctx.dim = dim
        bounds = np.cumsum(sizes)[:-1].tolist()
        return tuple(ctx.xp(x).split(x, bounds, axis=dim))

    @staticmethod
    def backward(ctx, *gs):
        if isinstance(gs[0], Tensor):
            return Cat.apply(*gs, dim=ctx.dim), None, None
        return ctx.xp(*gs).concatenate(gs, axis=ctx.dim), None, None


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise OpError("cat: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise OpError(f"cat: expected a list of Tensors, item {i} is {type(t).__name__}")
    dt = functools.reduce(promote_types, {t.dtype for t in tensors})
    if any(t.dtype != dt for t in tensors):     # float32 with int64 is float32, as in PyTorch
        tensors = [t if t.dtype == dt else t.to(dt) for t in tensors]
    return Cat.apply(*tensors, dim=normalize_dim("cat", dim, tensors[0].ndim))


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise OpError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise OpError(f"stack: expects tensors of equal shape, got {tuple(tensors[0].shape)} at "
                          f"entry 0 and {tuple(t.shape)} at entry {i}")
    d = normalize_dim("stack", dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def split(x, split_size_or_sections, dim=0):
    if x.ndim == 0:
        raise OpError("split expects at least a 1-dimensional tensor")
    d = normalize_dim("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step < 0:
            raise OpError(f"split expects split_size be non-negative, but got split_size={step}")
        if step == 0 and n:     # size 0 splits only an empty dim (into itself), as in PyTorch
            raise OpError(f"split: split_size can only be 0 if dimension size is 0, but got dimension "
                          f"size of {n}")
        sizes = [min(step, n - i) for i in range(0, n, step)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise OpError(f"split: sizes {sizes} add up to {sum(sizes)}, but dim {dim} has size {n}")
    return Split.apply(x, sizes, d) if len(sizes) > 1 else (x,)


def chunk(x, chunks, dim=0):
    if x.ndim == 0:
        raise OpError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise OpError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = normalize_dim("chunk", dim, x.ndim)
    n = x.shape[d]
    if n == 0:                  # PyTorch: ``chunks`` empty pieces (a split would give one)
        return tuple(getitem(x, (slice(None),) * d + (slice(0, 0),)) for _ in range(chunks))
    return split(x, -(-n // chunks), dim)


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


# ----------------------------------------------------------------------------- reversing, rolling, narrowing

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


# ----------------------------------------------------------------------------- padding

class Pad(Function):
    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.keep = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return ctx.xp(x).pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.keep], None, None


def pad(x, pad, value=0.0):
    """Constant padding, PyTorch order: ``pad=(left, right)`` pads the last dim,
    ``(left, right, top, bottom)`` the last two, and so on."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) > 2 * x.ndim:
        raise OpError(f"pad: expected an even number of values, at most 2 * ndim = {2 * x.ndim}, got {pad}")
    if any(p < 0 for p in pad):
        raise OpError(f"pad: negative padding is not supported, got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return Pad.apply(x, tuple(widths), value)
