"""Indexing: reading and writing the elements an index picks.

``x[index]`` takes every NumPy basic and advanced form (ints, slices with steps, None, Ellipsis,
boolean masks, integer arrays with repeats), laid out as PyTorch lays it out where the two differ
(``raw_index``, ``IntsFirst``). Two adjoint Functions do the work: ``Getitem`` reads at an index,
``IndexAdd`` adds into zeros at an index (repeated indices adding up, through
``backend.scatter_add``); each is the other's gradient. ``IndexPut`` is ``x[index] = v`` in place,
and ``ZeroAt`` its gradient for x (the overwritten places get none).

PyTorch's index-tensor ops are compositions of them: gather / scatter / scatter_add along a dim,
index_select / index_add of whole slices, masked_fill / masked_select, take_along_dim, nonzero.
``gather(x, dim, index)`` is ``x[grid]`` where ``grid`` is ``index`` in position ``dim`` and an
``arange`` broadcast along every other dim; its gradient is therefore the scatter-add of ``g`` at
the same grid. ``Scatter`` (overwrite at an index) is the one more Function: its backward zeroes the
overwritten places for ``x`` (``ZeroAt``) and gathers for ``src``.

Index tensors are copied when they become an index (``raw_index``, ``_prepare``): changing one in
place after the forward pass must not move the gradient. Shapes and bounds are checked before any
array is touched, with PyTorch's wording.
"""
from __future__ import annotations

import numpy as np

from .. import backend, dtypes
from ..autograd import Function, OpError
from ..tensor import Tensor
from .common import normalize_dim, scale_factor
from .compare import Where, where as _where3


# ----------------------------------------------------------------------------- x[index]

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
    index = None            # a basic index (no arrays: ints, slices, None) stays on ctx as a value

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape = x.shape
        whole = index
        if type(index) is IntsFirst:
            x, index = index_target(x, index)
        if _is_advanced(index):
            ctx.save_for_backward(whole)    # index arrays (raw_index made them the op's own)
        else:
            ctx.index = whole
            if not any(p is Ellipsis for p in index):
                index = index + (Ellipsis,)     # x[0] of a vector: a 0-d view (PyTorch), not a copy
        out = x[index]
        return ctx.xp(x).asarray(out) if isinstance(out, np.generic) else out

    @staticmethod
    def backward(ctx, g):
        # each picked place gets its gradient back (places picked twice add up), the others 0
        index = ctx.index
        if index is None:
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


# ----------------------------------------------------------------------------- checks

def _check_index_tensor(op, x, index, dims_must_match=True):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): index must be a Tensor, got {type(index).__name__}")
    if index.dtype.kind not in "iu":
        raise OpError(f"{op}(): Expected dtype int32/int64 for index but got: {index.dtype}")
    if index.device != x.device:
        raise OpError(f"{op}(): expected index on the same device as the input, got {index.device} "
                      f"and {x.device}")
    if dims_must_match and index.ndim != x.ndim:
        raise OpError(f"{op}(): Index tensor must have the same number of dimensions as input tensor: "
                      f"input has {x.ndim}, index has {index.ndim}")


def _check_bounds(op, index, dim, size):
    """Every index in [0, size): negative indices are errors in PyTorch's gather/scatter."""
    a = index.array
    if a.size == 0:
        return
    lo, hi = int(a.min()), int(a.max())
    if lo < 0 or hi >= size:
        raise OpError(f"{op}(): index {lo if lo < 0 else hi} is out of bounds for dimension {dim} "
                      f"with size {size}")


def _check_fits(op, x, dim, index, src=None):
    """``index`` may be smaller than ``x`` (and ``src``) in every dim, except along ``dim`` for x."""
    if any(i > s for d, (i, s) in enumerate(zip(index.shape, x.shape)) if d != dim) or (
            src is not None and any(i > s for i, s in zip(index.shape, src.shape))):
        msg = (f"{op}(): Expected index {list(index.shape)} to be no larger than self "
               f"{list(x.shape)} apart from dimension {dim}")
        if src is not None:
            msg += f" and to be no larger size than src {list(src.shape)}"
        raise OpError(msg)


def _grid(index, dim):
    """The advanced index that reads ``x[i_0, .., index[i_0, .., i_n], .., i_n]`` at every position
    of ``index``: ``index`` itself in place ``dim``, an ``arange`` along each other dim."""
    xp = Function.xp(index)
    n = index.ndim
    return tuple(index if d == dim else
                 xp.arange(index.shape[d]).reshape(tuple(-1 if k == d else 1 for k in range(n)))
                 for d in range(n))


def _prepare(op, x, dim, index, src=None):
    """Common checks of gather / scatter / scatter_add; returns (dim, grid index)."""
    _check_index_tensor(op, x, index)
    d = normalize_dim(op, dim, x.ndim)
    if x.ndim == 0:
        raise OpError(f"{op}(): expected a tensor with at least one dimension (reshape 0-d tensors "
                      f"to shape (1,) first)")
    _check_fits(op, x, d, index, src)
    _check_bounds(op, index, d, x.shape[d])
    return d, _grid(index.array.copy(), d)   # a copy: changing `index` later must not move the gradient


def _cut(src, shape):
    """The leading ``shape`` block of ``src`` (differentiable slicing), or src itself if it fits."""
    if tuple(src.shape) == tuple(shape):
        return src
    return src[tuple(slice(0, n) for n in shape)]


def _same_dtype(op, x, src):
    if src.dtype != x.dtype:
        raise OpError(f"{op}(): Expected self.dtype to be equal to src.dtype, got {x.dtype} and "
                      f"{src.dtype}")


# ----------------------------------------------------------------------------- gather / scatter

def gather(x, dim, index, sparse_grad=False):
    """``out[i][j][k] = x[index[i][j][k]][j][k]`` (for dim 0): ``index`` (any shape no larger than
    x's except along dim, same ndim) -> out of index's shape. Gradient: scatter-add into x."""
    if x.ndim == 0 or getattr(index, "ndim", 1) == 0:      # 0-d and 1-d mix, as in PyTorch
        if x.ndim <= 1 and isinstance(index, Tensor) and index.ndim <= 1:
            normalize_dim("gather", dim, 1)
            return gather(x.reshape(-1), 0, index.reshape(-1)).reshape(index.shape)
    d, grid = _prepare("gather", x, dim, index)
    return Getitem.apply(x, grid)


class Scatter(Function):
    """``x`` with ``x[index] = src``: src is cut to the index's shape already, or a number."""

    @staticmethod
    def forward(ctx, x, src, index):
        out = x.copy()
        out[index] = src
        ctx.save_for_backward(index)
        return out

    @staticmethod
    def backward(ctx, g):
        need_x, need_src = ctx.needs_input_grad[:2]
        gx = gsrc = None
        index, = ctx.saved_tensors
        if need_x:      # overwritten places did not come from x
            gx = ZeroAt.apply(g, index)
        if need_src:    # each src element went to one place
            gsrc = Getitem.apply(g, index)
        return gx, gsrc, None


def scatter(x, dim, index, src=None, value=None, reduce=None):
    """Write ``src`` (a tensor, or a number as ``value``) into a copy of x at the places ``index``
    names along ``dim``: ``out[index[i][j]][j] = src[i][j]`` (for dim 0). Only ``src``'s leading
    block of the index's shape is used. With repeated indices one of the writes wins (which one is
    unspecified, as in PyTorch)."""
    if src is None and value is None:
        raise TypeError("scatter(): expected src (a Tensor) or value (a number)")
    if src is not None and value is not None:
        raise TypeError("scatter(): give src or value, not both")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if reduce is not None:
        if reduce == "add":
            return scatter_add(x, dim, index, src if src is not None else
                               Tensor._from_data(x.device.xp.full(index.shape, value, x.dtype), device=x.device))
        raise OpError(f"scatter(): reduce={reduce!r} is not supported; use reduce='add' or "
                      f"scatter_add (PyTorch deprecates the reduce argument of scatter)")
    d, grid = _prepare("scatter", x, dim, index, src)
    if src is None:
        return Scatter.apply(x, value, grid)
    _same_dtype("scatter", x, src)
    return Scatter.apply(x, _cut(src, index.shape), grid)


def scatter_add(x, dim, index, src):
    """``out = x`` plus ``src[i][j]`` added at ``out[index[i][j]][j]`` (for dim 0); repeated indices
    add up. Gradients: ``g`` for x, ``g`` gathered at index for src."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): src must be a Tensor, got {type(src).__name__}")
    d, grid = _prepare("scatter_add", x, dim, index, src)
    _same_dtype("scatter_add", x, src)
    return x + IndexAdd.apply(_cut(src, index.shape), grid, x.shape)


# ----------------------------------------------------------------------------- whole slices

def _slice_index(op, x, dim, index):
    """(dim, the index ``(:, .., :, index)`` that picks whole slices along dim) after the checks."""
    _check_index_tensor(op, x, index, dims_must_match=False)
    if index.ndim > 1:
        raise OpError(f"{op}(): Index is supposed to be a vector, got shape {tuple(index.shape)}")
    xd = max(x.ndim, 1)
    d = normalize_dim(op, dim, xd)
    size = x.shape[d] if x.ndim else 1
    a = index.array.reshape(-1).copy()       # a copy: changing `index` later must not move the gradient
    if a.size and (int(a.min()) < 0 or int(a.max()) >= size):
        raise OpError(f"{op}(): index out of range in self: indices must lie in [0, {size}) for "
                      f"dimension {d} of size {size}")
    return d, (slice(None),) * d + (a,)


def index_select(x, dim, index):
    """The slices of x along ``dim`` at the 1-D ``index`` (repeats allowed): shape of x with
    ``len(index)`` along dim."""
    d, idx = _slice_index("index_select", x, dim, index)
    if x.ndim == 0:     # PyTorch: a 0-d tensor is its own only slice
        out = Getitem.apply(x.reshape(1), idx)
        return out.reshape(()) if out.shape == (1,) else out
    return Getitem.apply(x, idx)


def index_add(x, dim, index, source, alpha=1):
    """``out = x`` with ``alpha * source[.., i, ..]`` added to slice ``index[i]`` along dim; repeated
    indices add up. ``source`` has x's shape with ``len(index)`` along dim."""
    if not isinstance(source, Tensor):
        raise TypeError(f"index_add(): source must be a Tensor, got {type(source).__name__}")
    d, idx = _slice_index("index_add", x, dim, index)
    expected = tuple(x.shape[:d]) + (idx[-1].shape[0],) + tuple(x.shape[d + 1:])
    if tuple(source.shape) != expected:
        raise OpError(f"index_add(): source tensor shape must match self tensor shape, excluding the "
                      f"specified dimension. Got self.shape = {list(x.shape)} source.shape = "
                      f"{list(source.shape)} (expected {list(expected)})")
    if source.dtype != x.dtype:
        raise OpError(f"index_add(): self ({x.dtype}) and source ({source.dtype}) must have the "
                      f"same scalar type")
    alpha = scale_factor("index_add", alpha, x.dtype)   # the result keeps x's dtype
    if x.dtype.kind == "b":     # a logical or (PyTorch), counted in integers here
        return index_add(x.long(), dim, index, source.long(), alpha) != 0
    if alpha != 1:
        source = source * alpha
    return x + IndexAdd.apply(source, idx, x.shape)


# ----------------------------------------------------------------------------- masks

def _check_mask(op, mask, x):
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): mask must be a Tensor, got {type(mask).__name__}")
    if mask.dtype.kind != "b":
        raise OpError(f"{op}(): only supports boolean masks, but got mask with dtype {mask.dtype}")


def _broadcast_shape(op, a, b):
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        for i in range(1, max(len(a), len(b)) + 1):
            sa, sb = (a[-i] if i <= len(a) else 1), (b[-i] if i <= len(b) else 1)
            if sa != sb and 1 not in (sa, sb):
                raise OpError(f"{op}(): The size of tensor a ({sa}) must match the size of tensor b "
                              f"({sb}) at non-singleton dimension {max(len(a), len(b)) - i}") from None
        raise


def masked_fill(x, mask, value):
    """x with ``value`` where the bool ``mask`` (broadcast to x) is True. ``value`` is a number or a
    0-d tensor (which then gets the gradient of the filled places)."""
    _check_mask("masked_fill", mask, x)
    _broadcast_shape("masked_fill", x.shape, mask.shape)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise OpError(f"masked_fill(): only supports a 0-dimensional value tensor, but got tensor "
                          f"with {value.ndim} dimension(s)")
        if value.dtype != x.dtype:
            if value.dtype.kind == "f" and x.dtype.kind != "f":
                _check_fill_value(x, value.item())
            value = value.to(x.dtype)
    else:   # PyTorch casts the number to x's dtype (2.5 fills an integer tensor with 2)
        _check_fill_value(x, value)
        value = dtypes.fit_scalar({"b": bool, "i": int, "u": int}.get(x.dtype.kind, float)(value),
                                  x.dtype)
    return Where.apply(mask, value, x)


def _check_fill_value(x, value):
    if dtypes.overflows(value, x.dtype):
        raise OpError(f"masked_fill(): value cannot be converted to type {dtypes.c_name(x.dtype)} "
                      f"without overflow (a tensor of dtype {x.dtype}, value {value!r})")


def masked_select(x, mask):
    """The elements of x where ``mask`` is True, as a 1-D tensor (x and mask broadcast together)."""
    _check_mask("masked_select", mask, x)
    shape = _broadcast_shape("masked_select", x.shape, mask.shape)
    return x.expand(*shape)[mask.expand(*shape)]


def take_along_dim(x, indices, dim=None):
    """Pick values along ``dim`` at ``indices`` (as ``numpy.take_along_axis``); x and indices
    broadcast in the other dims. ``dim=None``: both flattened."""
    _check_index_tensor("take_along_dim", x, indices, dims_must_match=False)
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    if indices.ndim != x.ndim:
        raise OpError(f"torch.take_along_dim(): input and indices should have the same number of "
                      f"dimensions, but got {x.ndim} dimensions for input, and {indices.ndim} "
                      f"dimensions for indices")
    d = normalize_dim("take_along_dim", dim, x.ndim)
    xs, ins = list(x.shape), list(indices.shape)
    xs[d] = ins[d] = 1
    common = list(_broadcast_shape("take_along_dim", xs, ins))
    x_shape, i_shape = list(common), list(common)
    x_shape[d], i_shape[d] = x.shape[d], indices.shape[d]
    return gather(x.expand(*x_shape), d, indices.expand(*i_shape))


# ----------------------------------------------------------------------------- nonzero

def nonzero(x, as_tuple=False):
    """Positions of the non-zero elements in row-major order: an int64 ``(n, ndim)`` tensor, or
    (``as_tuple``) one 1-D tensor per dim. No gradient."""
    xp = x.device.xp
    a = x.array if x.ndim else x.array.reshape(1)
    parts = xp.nonzero(a)
    if as_tuple:
        return tuple(Tensor.wrap(p.astype(np.int64), x.device) for p in parts)
    if x.ndim == 0:
        return Tensor.wrap(xp.zeros((parts[0].shape[0], 0), np.int64), x.device)
    return Tensor.wrap(xp.stack(parts, axis=1).astype(np.int64), x.device)


def where(condition, x=None, y=None):
    """``where(cond, x, y)``: x where cond, else y. ``where(cond)``: ``nonzero(cond, as_tuple=True)``."""
    if x is None and y is None:
        if not isinstance(condition, Tensor):
            raise TypeError(f"where(): condition must be a Tensor, got {type(condition).__name__}")
        return nonzero(condition, as_tuple=True)
    if x is None or y is None:
        raise TypeError("where(): expected both x and y, or neither (where(condition) is "
                        "nonzero(condition, as_tuple=True))")
    return _where3(condition, x, y)
