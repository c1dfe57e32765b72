"""Pooling: max and average over sliding windows, adaptive pooling, and max unpooling.

Every window position is visited at once through strided views of the (padded) input; the only
Python loops run over the kH*kW kernel offsets, each one elementwise operation over the whole batch:

* max pooling keeps, per window, the largest value and which offset held it (the FIRST one on
  ties, and a NaN wins as in PyTorch). The gradient goes to that one position only, never split
  between tied values;
* average pooling adds the kH*kW shifted views and divides by the window size (PyTorch's
  ``count_include_pad`` / ``ceil_mode`` / ``divisor_override`` rules for windows at the border);
* adaptive average pooling is two small matrix products (rows, then columns, each averaged over
  its window); adaptive max pooling gathers each window's winner by index.

The backward of every pooling is a Function whose own backward is the forward again (gather and
scatter are each other's adjoints), so double backward works. 1-D pools are 2-D pools over an
image of height 1.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function, OpError
from ..tensor import Tensor
from .conv import Geometry, as_4d, crop_array, from_4d, pad_array, windows

# ----------------------------------------------------------------------------- geometry


def _int_tuple(value, n, what, op, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, np.integer)) for v in value):
        if len(value) == n:
            return tuple(int(v) for v in value)
        if len(value) == 1:
            return (int(value[0]),) * n
        if len(value) == 0 and allow_none:
            return None
    two = "two ints" if n == 2 else "one int"
    if what in ("stride",):
        raise OpError(f"{op}: stride must either be omitted, a single int, or a tuple of {two}, got {value!r}")
    raise OpError(f"{op}: {what} must either be a single int, or a tuple of {two}, got {value!r}")


def _check_rank(op, input, spatial):
    """Batched (N, C, *spatial) or unbatched (C, *spatial) -> True when batched."""
    if input.ndim not in (spatial + 1, spatial + 2):
        raise OpError(f"{op}: Expected {spatial + 1}D or {spatial + 2}D (batch mode) tensor for input, "
                      f"but got input of size: [{', '.join(map(str, input.shape))}]")
    return input.ndim == spatial + 2


def pool_geometry(op, size, kernel_size, stride, padding, dilation, ceil_mode, spatial=2):
    """A :class:`Geometry` for pooling ``size`` (H, W), with PyTorch's checks and output sizes.

    ``ceil_mode`` rounds the output size up, but the last window must start inside the input or
    its left padding; the bottom/right padding then grows to cover that window (max pooling fills
    it with -inf, average pooling leaves it out of the divisor)."""
    kernel = _int_tuple(kernel_size, spatial, "kernel_size", op)
    stride = _int_tuple(stride, spatial, "stride", op, allow_none=True) or kernel
    pad = _int_tuple(padding, spatial, "padding", op)
    dil = _int_tuple(dilation, spatial, "dilation", op)
    if any(k <= 0 for k in kernel):
        raise OpError(f"{op}: kernel_size must be greater than zero, but got kernel_size={list(kernel)}")
    if any(s <= 0 for s in stride):
        raise OpError(f"{op}: stride should not be zero, got stride={list(stride)}")
    if any(d <= 0 for d in dil):
        raise OpError(f"{op}: dilation should be greater than zero, but got dilation={list(dil)}")
    if any(p < 0 for p in pad):
        raise OpError(f"{op}: pad must be non-negative, but got pad={list(pad)}")
    for k, p, d in zip(kernel, pad, dil):
        if p > (d * (k - 1) + 1) // 2:
            raise OpError(f"{op}: pad should be at most half of effective kernel size, but got "
                          f"pad={p}, kernel_size={k} and dilation={d}")
    out, pads = [], []
    for n, k, s, p, d in zip(size, kernel, stride, pad, dil):
        span = n + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
        pads.append((p, max(0, (o - 1) * s + d * (k - 1) + 1 - n - p)))
    if any(o < 1 for o in out):
        raise OpError(f"{op}: Given input size: ({'x'.join(map(str, size))}). Calculated output size: "
                      f"({'x'.join(map(str, out))}). Output size is too small")
    if spatial == 1:
        return Geometry((1,) + tuple(size), (1,) + kernel, (1,) + stride, ((0, 0),) + tuple(pads),
                        (1,) + dil, out=(1,) + tuple(out))
    return Geometry(size, kernel, stride, pads, dil, out=out)


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


# ----------------------------------------------------------------------------- max pooling

def window_stack(xp, xpad, geo):
    """(K, N, C, H_out, W_out), K = kH*kW: the value under each kernel offset for every output pixel,
    as one contiguous copy (elementwise work on contiguous arrays is several times faster than on
    the strided views it comes from)."""
    w = windows(xp, xpad, geo)                                        # (N, C, kH, kW, Ho, Wo) view
    k = geo.kernel[0] * geo.kernel[1]
    return xp.ascontiguousarray(w.transpose(2, 3, 0, 1, 4, 5)).reshape((k,) + w.shape[:2] + geo.out)


def _disjoint(geo):
    """True when no padded-input pixel lies under two (offset, window) pairs: a window's span
    fits in its stride, so scattering back needs no additions."""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(geo.kernel, geo.stride, geo.dilation))


class MaxPool(Function):
    """Max over every window: (N, C, H, W) -> (N, C, H_out, W_out), and with ``return_indices``
    also each winner's flat position h * W + w in its input plane (int64, as PyTorch)."""
    name = "max_pool2d"

    @staticmethod
    def forward(ctx, x, geo, return_indices):
        xp = ctx.xp(x)
        stack = window_stack(xp, pad_array(xp, x, geo, _lowest(x.dtype)), geo)
        best = stack.max(axis=0)                  # NaN propagates, as in PyTorch
        # winners[o]: offset o holds the window's maximum and no earlier offset does (first wins)
        winners = xp.empty(stack.shape, dtype=bool)
        xp.equal(stack[0], best, out=winners[0])
        taken = winners[0].copy()
        for o in range(1, stack.shape[0]):
            xp.greater(stack[o] == best, taken, out=winners[o])      # equal and not yet taken
            taken |= winners[o]
        if x.dtype.kind == "f":
            nan = best != best
            if backend.may_be_true(nan):         # PyTorch's rule: the last NaN of the window wins
                winners &= ~nan
                taken = xp.zeros(best.shape, dtype=bool)
                for o in range(stack.shape[0] - 1, -1, -1):
                    hit = (stack[o] != stack[o]) & ~taken
                    winners[o] |= hit
                    taken |= hit
        ctx.geo = geo
        ctx.save_for_backward(winners)
        if not return_indices:
            return best
        flat = flat_indices(xp, winners.argmax(axis=0), geo)
        if x.dtype.kind == "f":
            nothing = best == -np.inf             # only padding (or -inf) under the window
            if backend.may_be_true(nothing):
                flat = xp.where(nothing, first_in_grid(xp, geo), flat)
        return best, flat           # int64: never differentiable, nothing to mark

    @staticmethod
    def backward(ctx, g, *_):
        winners, = ctx.saved_tensors
        return MaxScatter.apply(g, winners, ctx.geo), None, None


def flat_indices(xp, winner, geo):
    """Window winners (kernel offset numbers) -> positions h * W + w in the unpadded input."""
    (_, kw), (sh, sw), (dh, dw), (ho, wo) = geo.kernel, geo.stride, geo.dilation, geo.out
    (top, _), (left, _) = geo.pad
    w_in = geo.size[1]
    winner = winner.astype(np.int64)
    rows = (xp.arange(ho, dtype=np.int64) * sh - top).reshape(-1, 1) + (winner // kw) * dh
    cols = xp.arange(wo, dtype=np.int64) * sw - left + (winner % kw) * dw
    return rows * w_in + cols


def first_in_grid(xp, geo):
    """PyTorch's index for a window whose maximum is -inf (nothing in it beats its starting value
    -inf): the window's first dilated row and column at or past 0, h * W + w, even where that lies
    past the input's edge (a window entirely in padding)."""
    (sh, sw), (dh, dw), (ho, wo) = geo.stride, geo.dilation, geo.out
    (top, _), (left, _) = geo.pad

    def first(n_out, s, d, pad):
        start = xp.arange(n_out, dtype=np.int64) * s - pad
        return xp.where(start < 0, start + (-start + d - 1) // d * d, start)

    return first(ho, sh, dh, top).reshape(-1, 1) * geo.size[1] + first(wo, sw, dw, left)


class MaxScatter(Function):
    """The gradient of max pooling: each window's gradient goes to its winning pixel (pixels that
    win several windows add them up). (N, C, H_out, W_out) -> (N, C, H, W); ``winners`` is the
    (kH*kW, N, C, H_out, W_out) boolean stack MaxPool made."""
    name = "max_pool2d_backward"

    @staticmethod
    def forward(ctx, g, winners, geo):
        xp = ctx.xp(g)
        ctx.geo = geo
        ctx.save_for_backward(winners)
        disjoint = _disjoint(geo)
        # windows that tile the padded input exactly (2x2 stride 2 on an even size) write every
        # pixel once: no zero fill needed
        tiled = disjoint and geo.dilation == (1, 1) and geo.stride == geo.kernel and \
            all(o * s == n for o, s, n in zip(geo.out, geo.stride, geo.padded))
        out = (xp.empty if tiled else xp.zeros)(g.shape[:2] + geo.padded, g.dtype)
        for o, (_, _, (rows, cols)) in enumerate(geo.offsets()):
            if disjoint:
                xp.multiply(g, winners[o], out=out[:, :, rows, cols])
            else:
                out[:, :, rows, cols] += g * winners[o]
        return crop_array(out, geo)

    @staticmethod
    def backward(ctx, gg):
        winners, = ctx.saved_tensors
        return MaxGather.apply(gg, winners, ctx.geo), None, None


class MaxGather(Function):
    """The adjoint of :class:`MaxScatter`: the value at each window's winning pixel.
    (N, C, H, W) -> (N, C, H_out, W_out)."""
    name = "max_pool2d_gather"

    @staticmethod
    def forward(ctx, x, winners, geo):
        xp = ctx.xp(x)
        ctx.geo = geo
        ctx.save_for_backward(winners)
        stack = window_stack(xp, pad_array(xp, x, geo), geo)
        return (stack * winners).sum(axis=0)

    @staticmethod
    def backward(ctx, g):
        winners, = ctx.saved_tensors
        return MaxScatter.apply(g, winners, ctx.geo), None, None


def _max_pool(op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, spatial):
    batched = _check_rank(op, input, spatial)
    x = as_4d(input, batched, spatial)
    geo = pool_geometry(op, x.shape[2 + (spatial == 1):], kernel_size, stride, padding, dilation,
                        ceil_mode, spatial)
    if input.dtype.kind == "b":
        raise OpError(f"{op}: \"max_pool\" not implemented for 'Bool'")
    out = MaxPool.apply(x, geo, bool(return_indices))
    if return_indices:
        return from_4d(out[0], batched, spatial), from_4d(out[1], batched, spatial)
    return from_4d(out, batched, spatial)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over kH x kW windows: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out), with
    H_out = (H + 2 padding - dilation (kH - 1) - 1) / stride + 1, rounded down (or up with
    ``ceil_mode``); ``stride`` defaults to ``kernel_size``; padding counts as -inf.
    ``return_indices=True`` also returns each maximum's flat position in its input plane (for
    :func:`max_unpool2d`). The gradient goes to one position per window: the first maximum."""
    return _max_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of ``kernel_size``: (N, C, L) or (C, L) -> (N, C, L_out)."""
    return _max_pool("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 1)


# ----------------------------------------------------------------------------- average pooling

def _window_counts(n, k, s, p, out, count_include_pad):
    """PyTorch's divisor along one axis: the window clipped to the padded input (count_include_pad)
    or to the input itself."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


class AvgPool(Function):
    """Sum over every window divided by ``divisor`` ((H_out, W_out) array or a number).
    (N, C, H, W) -> (N, C, H_out, W_out)."""
    name = "avg_pool2d"

    @staticmethod
    def forward(ctx, x, geo, divisor):
        xp = ctx.xp(x)
        xpad = pad_array(xp, x, geo)
        total = None
        for _, _, (rows, cols) in geo.offsets():
            if total is None:
                total = xpad[:, :, rows, cols].copy()
            else:
                total += xpad[:, :, rows, cols]
        ctx.geo = geo
        ctx.save_for_backward(divisor)          # a number, or an (H_out, W_out) array
        total /= divisor
        return total

    @staticmethod
    def backward(ctx, g):
        divisor, = ctx.saved_tensors
        return AvgPoolTranspose.apply(g, ctx.geo, divisor), None, None


class AvgPoolTranspose(Function):
    """The adjoint of :class:`AvgPool` (its gradient): every window's value / divisor is added to
    each pixel of the window. (N, C, H_out, W_out) -> (N, C, H, W)."""
    name = "avg_pool2d_backward"

    @staticmethod
    def forward(ctx, g, geo, divisor):
        xp = ctx.xp(g)
        share = g / divisor
        out = xp.zeros(g.shape[:2] + geo.padded, g.dtype)
        for _, _, (rows, cols) in geo.offsets():
            out[:, :, rows, cols] += share
        ctx.geo = geo
        ctx.save_for_backward(divisor)
        return crop_array(out, geo)

    @staticmethod
    def backward(ctx, gg):
        divisor, = ctx.saved_tensors
        return AvgPool.apply(gg, ctx.geo, divisor), None, None


def _avg_pool(op, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, spatial):
    batched = _check_rank(op, input, spatial)
    if input.dtype.kind != "f":
        raise OpError(f"{op}: expected a floating point input, got dtype {input.dtype}; convert it "
                      f"with .float() first")
    x = as_4d(input, batched, spatial)
    geo = pool_geometry(op, x.shape[2 + (spatial == 1):], kernel_size, stride, padding, 1, ceil_mode,
                        spatial)
    if divisor_override is not None:
        if divisor_override == 0:
            raise OpError(f"{op}: divisor must be not zero")
        divisor = float(divisor_override)
    else:
        (t, _), (l, _) = geo.pad
        ch = _window_counts(geo.size[0], geo.kernel[0], geo.stride[0], t, geo.out[0], count_include_pad)
        cw = _window_counts(geo.size[1], geo.kernel[1], geo.stride[1], l, geo.out[1], count_include_pad)
        counts = np.outer(ch, cw)
        if (counts == counts.flat[0]).all():
            divisor = float(counts.flat[0])          # every window the same: a plain number
        else:
            divisor = backend.to_device(counts.astype(input.dtype), input.device)
    return from_4d(AvgPool.apply(x, geo, divisor), batched, spatial)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over kH x kW windows: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out) (sizes as
    :func:`max_pool2d`). Padding counts as zeros; ``count_include_pad=False`` divides by the
    number of real pixels in each window instead of the window size."""
    return _avg_pool("avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of ``kernel_size``: (N, C, L) or (C, L) -> (N, C, L_out)."""
    return _avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     None, 1)


# ----------------------------------------------------------------------------- adaptive pooling

def _adaptive_size(op, output_size, size):
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    output_size = tuple(output_size)
    if len(output_size) != 2:
        raise OpError(f"{op}: output_size must be 2, got {output_size}")
    out = tuple(n if o is None else int(o) for o, n in zip(output_size, size))
    if any(o < 0 for o in out):
        raise OpError(f"{op}: output_size must be non-negative, got {output_size}")
    return out


def _adaptive_bounds(n, out):
    """Window i covers [floor(i n / out), ceil((i + 1) n / out)), as PyTorch."""
    i = np.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _averaging_matrix(n, out, dtype):
    """(out, n): row i averages window i."""
    start, end = _adaptive_bounds(n, out)
    j = np.arange(n)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input, output_size):
    """Mean over windows chosen to give ``output_size`` (an int, or (H_out, W_out) where None keeps
    that size): (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out). Window i along an axis of size
    n covers [floor(i n / out), ceil((i + 1) n / out))."""
    op = "adaptive_avg_pool2d"
    if input.ndim not in (3, 4):
        raise OpError(f"{op}(): Expected 3D or 4D tensor, but got [{', '.join(map(str, input.shape))}]")
    if input.dtype.kind != "f":
        raise OpError(f"{op}: expected a floating point input, got dtype {input.dtype}")
    (h, w), (ho, wo) = input.shape[-2:], _adaptive_size(op, output_size, input.shape[-2:])
    if ho and wo and h % ho == 0 and w % wo == 0:      # equal windows: plain average pooling
        return avg_pool2d(input, (h // ho, w // wo))
    # separable: average the rows of every window, then its columns (two small matrix products)
    rows = Tensor.wrap(backend.to_device(_averaging_matrix(h, ho, input.dtype), input.device),
                        input.device)
    cols = Tensor.wrap(backend.to_device(_averaging_matrix(w, wo, input.dtype).T.copy(), input.device),
                        input.device)
    return rows @ (input @ cols)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over the windows of :func:`adaptive_avg_pool2d`: (N, C, H, W) or (C, H, W) ->
    (N, C, H_out, W_out); ``return_indices`` also gives each maximum's flat position h * W + w.
    Ties go to the first maximum (one position per window gets the gradient)."""
    op = "adaptive_max_pool2d"
    if input.ndim not in (3, 4):
        raise OpError(f"{op}(): Expected 3D or 4D tensor, but got: [{', '.join(map(str, input.shape))}]")
    batched = input.ndim == 4
    x = input if batched else input.reshape(1, *input.shape)
    n, c, h, w = x.shape
    ho, wo = _adaptive_size(op, output_size, (h, w))
    if ho == 0 or wo == 0 or h == 0 or w == 0:
        raise OpError(f"{op}: expected non-empty input and output sizes, got input "
                      f"{tuple(input.shape)} and output_size {(ho, wo)}")
    xp = x.device.xp
    data = x.array
    rs, re = _adaptive_bounds(h, ho)
    cs, ce = _adaptive_bounds(w, wo)
    best = flat = None
    low = _lowest(data.dtype)
    # loop over offsets inside the largest window; rows/columns past a window's end are masked
    for a in range(int((re - rs).max())):
        r = np.minimum(rs + a, h - 1)
        r_ok = rs + a < re
        for b in range(int((ce - cs).max())):
            col = np.minimum(cs + b, w - 1)
            ok = backend.to_device(np.outer(r_ok, cs + b < ce), x.device)
            pos = backend.to_device((r[:, None] * w + col[None, :]).astype(np.int64), x.device)
            v = data[:, :, backend.to_device(r, x.device)[:, None], backend.to_device(col, x.device)[None, :]]
            v = xp.where(ok, v, low)
            if best is None:
                best, flat = v, xp.broadcast_to(pos, v.shape).copy()
                continue
            take = (v > best) | (v != v) if data.dtype.kind == "f" else v > best
            best = xp.where(take, v, best)
            flat = xp.where(take, pos, flat)
    index = (xp.arange(n).reshape(-1, 1, 1), xp.arange(c).reshape(1, -1, 1), flat.reshape(n, c, -1))
    y = x.reshape(n, c, h * w)[index].reshape(n, c, ho, wo)   # a gather: its gradient scatters back
    if not return_indices:
        return y if batched else y.reshape(c, ho, wo)
    if y.requires_grad:     # the graph reads flat: the caller's indices must not share its memory
        flat = flat.copy()
    if not batched:
        y, flat = y.reshape(c, ho, wo), flat.reshape(c, ho, wo)
    return y, Tensor.wrap(flat, input.device)


# ----------------------------------------------------------------------------- max unpooling

class MaxUnpool(Function):
    """Put each value at its flat position in a zero (N, C, H_out * W_out) plane (a repeated
    position keeps one of its values). (N, C, H, W) values, (N, C, H, W) int64 positions ->
    (N, C, H_out * W_out). Gradient: the output gradient read at the same positions. The positions
    are saved as they are, not copied: changing them in place before backward is an error."""
    name = "max_unpool2d"

    @staticmethod
    def forward(ctx, x, indices, plane):
        xp = ctx.xp(x)
        n, c = x.shape[:2]
        out = xp.zeros((n, c, plane), x.dtype)
        out[_plane_index(xp, indices)] = x.reshape(n, c, x.shape[2] * x.shape[3])   # N may be 0: no -1
        ctx.save_for_backward(indices)
        return out

    @staticmethod
    def backward(ctx, g):
        indices, = ctx.saved_arrays
        return g[_plane_index(ctx.xp(indices), indices)].reshape(indices.shape), None, None


def _plane_index(xp, indices):
    """(N, C, H, W) flat positions -> the advanced index of those positions in (N, C, plane)."""
    n, c, h, w = indices.shape
    return xp.arange(n).reshape(-1, 1, 1), xp.arange(c).reshape(1, -1, 1), indices.reshape(n, c, h * w)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of :func:`max_pool2d`: every value goes back to the position its index
    names (from ``return_indices=True``), zeros elsewhere. (N, C, H, W) -> (N, C, H_out, W_out) with
    H_out = (H - 1) stride - 2 padding + kH, or ``output_size`` ((H_out, W_out) or the full shape)."""
    op = "max_unpool2d"
    if input.ndim not in (3, 4):
        raise OpError(f"{op}: Input to max_unpooling2d should be a 3d or 4d Tensor, but got a tensor "
                      f"with {input.ndim} dimensions.")
    kernel = _int_tuple(kernel_size, 2, "kernel_size", op)
    stride = _int_tuple(stride, 2, "stride", op, allow_none=True) or kernel
    pad = _int_tuple(padding, 2, "padding", op)
    if isinstance(indices, Tensor):
        if indices.device != input.device:
            raise OpError(f"{op}: indices are on {indices.device} but the input is on {input.device}")
    else:
        indices = Tensor.wrap(backend.to_device(np.array(indices), input.device), input.device)
    idx = indices.array
    if idx.dtype != np.int64:
        raise OpError(f"{op}: elements in indices should be type int64 but got: {idx.dtype}")
    if tuple(idx.shape) != tuple(input.shape):
        raise OpError(f"{op}: Expected shape of indices to be same as that of the input tensor "
                      f"({list(input.shape)}) but got indices tensor with shape: {list(idx.shape)}")
    for d in range(1, input.ndim):
        if input.shape[d] == 0:
            raise OpError(f"{op}: Expected input to have non-zero size for non-batch dimensions, but "
                          f"got {list(input.shape)} with dimension {d} being empty.")
    h, w = input.shape[-2:]
    default = [(n - 1) * s - 2 * p + k for n, s, p, k in zip((h, w), stride, pad, kernel)]
    if output_size is None:
        size = default
    else:
        size = [int(v) for v in tuple(output_size)[-2:]]
        for d in range(2):
            lo, hi = default[d] - stride[d], default[d] + stride[d]
            if not lo < size[d] < hi:
                raise OpError(f"{op}: invalid output_size {tuple(output_size)} (dim {d} must be "
                              f"between {lo} and {hi})")
    plane = size[0] * size[1]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        bad = int(idx.max()) if int(idx.max()) >= plane else int(idx.min())
        raise OpError(f"{op}: Found an invalid max index: {bad} (output volumes are of size "
                      f"{size[0]}x{size[1]})")
    batched = input.ndim == 4
    x = input if batched else input.reshape(1, *input.shape)
    indices = indices if batched else indices.reshape(1, *indices.shape)   # a view: same version
    y = MaxUnpool.apply(x, indices, plane).reshape(x.shape[0], x.shape[1], *size)
    return y if batched else y.reshape(*y.shape[1:])


__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d",
           "adaptive_max_pool2d", "max_unpool2d", "MaxPool", "MaxScatter", "MaxGather", "AvgPool",
           "AvgPoolTranspose", "MaxUnpool", "pool_geometry", "window_stack"]
