"""Ops that move elements around without changing them: reshape, permute, expand, indexing,
cat/split, pad. Each backward moves the gradient back the way the elements came."""
from __future__ import annotations

import functools

import numpy as np

from .. import backend
from ..autograd import Function, OpError, sum_to_array
from ..dtypes import promote_types
from ..tensor import Tensor
from . import gradmath
from .common import normalize_dim, shape_arg


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


# ----------------------------------------------------------------------------- indexing

def raw_index(index, like):
    """A Tensor index -> the array index NumPy/CuPy understand, on ``like``'s device.

    Boolean masks become the integer arrays of their True positions (the same selection), so the
    backward scatter needs only one case. Integers mixed with index arrays give an ``IntsFirst``.
    """
    parts = index if isinstance(index, tuple) else (index,)
    xp = like.device.xp
    out = []
    dim = 0                 # the dim of ``like`` the next part indexes (for mask shape checks)
    ints = arrays = False   # both: PyTorch's order differs from NumPy's (``IntsFirst``)
    for k, p in enumerate(parts):
        if isinstance(p, Tensor):
            p = p.array.copy()   # a copy: changing the index tensor later must not change backward
        elif isinstance(p, list):
            p = np.asarray(p)
        if backend.is_array(p):
            if p.ndim == 0 and p.dtype.kind in "iu":
                p = int(p.item())   # a 0-d integer tensor indexes as an int (PyTorch: a view)
                dim += 1
                ints = True
                out.append(p)
                continue
            p = backend.to_device(p, like.device)
            arrays = True
            if p.dtype.kind == "b" and p.ndim > 0:
                want = like.shape[dim:dim + p.ndim]
                if tuple(p.shape) != tuple(want):
                    bad = next((i for i, (a, b) in enumerate(zip(p.shape, want)) if a != b),
                               min(len(want), p.ndim - 1))
                    raise IndexError(
                        f"The shape of the mask {list(p.shape)} at index {bad} does not match the "
                        f"shape of the indexed tensor {list(like.shape)} at index {dim + bad}")
                out.extend(xp.nonzero(p))
                dim += p.ndim
                continue
            if p.dtype.kind not in "iu" and p.dtype.kind != "b":
                raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, "
                                 f"got {p.dtype}")
            dim += p.ndim > 0   # a 0-d bool adds a dim of 1 or 0 and takes none
        elif isinstance(p, slice):
            if p.step is not None and p.step <= 0:
                raise ValueError("step must be greater than zero")
            dim += 1
        elif p is Ellipsis:
            dim = like.ndim - sum(_dims_used(q) for q in parts[k + 1:])
        elif isinstance(p, bool):
            arrays = True       # PyTorch indexes with a bool as with a 0-d mask
        elif p is not None:
            dim += 1
            ints = True
        out.append(p)
    return _ints_first(tuple(out)) if ints and arrays else tuple(out)


class IntsFirst:
    """An index mixing integers with index arrays, applied as PyTorch does: ``basic`` (the integers,
    full slices for the other dims) first, which is a view, then ``rest`` (the other entries) on it.

    NumPy counts the integers as index arrays too, so a slice between them moves the indexed dims
    to the front: ``x[1, :, idx]`` of a (2, 3, 4) tensor is (len(idx), 3) there, (3, len(idx)) in
    PyTorch. ``index_target`` applies the first step."""
    __slots__ = ("basic", "rest")

    def __init__(self, basic, rest):
        self.basic, self.rest = basic, rest


def _is_int(p):
    return isinstance(p, (int, np.integer)) and not isinstance(p, bool)


def _ints_first(index):
    """An index with integers and index arrays (or bools) -> its ``IntsFirst`` form."""
    basic, rest = [], []
    for p in index:
        if _is_int(p):
            basic.append(p)
        elif p is Ellipsis:
            basic.append(p)
            rest.append(p)
        else:
            basic.extend([slice(None)] * _dims_used(p))
            rest.append(p)
    if Ellipsis not in basic:
        basic.append(Ellipsis)  # a 0-d result stays a view, not a NumPy scalar
    return IntsFirst(tuple(basic), tuple(rest))


def index_target(a, index):
    """(array, raw index) -> (the array to index, the index to apply to it): for an ``IntsFirst``
    index, the view its integers select."""
    if type(index) is IntsFirst:
        return a[index.basic], index.rest
    return a, index


def _dims_used(p):
    """How many dims of the indexed tensor one index entry consumes."""
    if p is None or p is Ellipsis or isinstance(p, bool):
        return 0
    dt = getattr(p, "dtype", None)
    if dt is not None and dt.kind == "b":
        return p.ndim
    if isinstance(p, list):
        return _dims_used(np.asarray(p))
    return 1


def _is_advanced(index):
    return any(hasattr(p, "shape") and not isinstance(p, (int, np.integer)) for p in index)


class Getitem(Function):
    view = True             # basic indexing gives a view; advanced indexing a copy
    array_backward = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape = x.shape
        ctx.save_for_backward(index)        # index arrays: raw_index made them the op's own
        if type(index) is IntsFirst:
            x, index = index_target(x, index)
        if not any(p is Ellipsis for p in index) and not _is_advanced(index):
            index = index + (Ellipsis,)     # x[0] of a vector: a 0-d view (PyTorch), not a copy
        out = x[index]
        return ctx.xp(x).asarray(out) if isinstance(out, np.generic) else out

    @staticmethod
    def backward(ctx, g):
        # each picked place gets its gradient back (places picked twice add up), the others 0
        index, = ctx.saved
        if isinstance(g, Tensor):
            return IndexAdd.apply(g, index, ctx.in_shape), None
        return _index_add(ctx.xp(g), g, index, ctx.in_shape), None


class IndexAdd(Function):
    """zeros(shape) with ``g`` added at ``index``: the adjoint of indexing. Repeated indices add up."""

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.save_for_backward(index)
        if g.dtype.kind == "b":     # bools do not add: count the hits; any hit is True (PyTorch)
            return _index_add(ctx.xp(g), g.astype(np.int32), index, shape) > 0
        return _index_add(ctx.xp(g), g, index, shape)

    @staticmethod
    def backward(ctx, gg):
        index, = ctx.saved_tensors
        return Getitem.apply(gg, index), None, None


def _index_add(xp, g, index, shape):
    z = xp.zeros(shape, g.dtype)
    target, index = index_target(z, index)
    if _is_advanced(index):
        backend.scatter_add(xp, target, index, g)
    else:
        target[index] = g
    return z


def getitem(x, index):
    return Getitem.apply(x, raw_index(index, x))


class IndexPut(Function):
    """``x[index] = value`` in place: forward writes into x's memory and returns it. The gradient
    of x is g with the overwritten places zeroed; the value's is g at those places (summed back to
    the value's shape by the engine when it was broadcast)."""
    name = "setitem"

    @staticmethod
    def forward(ctx, x, value, index):
        ctx.save_for_backward(index)
        target, index = index_target(x, index)
        target[index] = value
        return x

    @staticmethod
    def backward(ctx, g):
        need_x, need_v = ctx.needs_input_grad[:2]
        index, = ctx.saved_tensors
        return (ZeroAt.apply(g, index) if need_x else None), \
               (Getitem.apply(g, index) if need_v else None), None


class ZeroAt(Function):
    """A copy of ``g`` with ``g[index]`` set to zero; it is its own adjoint."""

    @staticmethod
    def forward(ctx, g, index):
        ctx.save_for_backward(index)
        out = g.copy()
        target, index = index_target(out, index)
        target[index] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        index, = ctx.saved_tensors
        return ZeroAt.apply(gg, index), None


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
