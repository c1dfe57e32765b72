"""Convolution: a sliding-window view of the input plus one matrix product.

The lecture's picture: a filter slides over the image and, at every position, multiplies the
pixels under it by its weights and adds them up. Written as arrays:

* ``im2col``: for every output pixel, the ``C * kH * kW`` input values under the filter become one
  column; a strided *view* gives them without a Python loop, and one copy lays them out as a matrix
  ``(N, C*kH*kW, H_out*W_out)``;
* the convolution is then ``weight (C_out, C*kH*kW) @ columns``: one matrix product for the whole
  batch (grouped convolutions batch the product over groups);
* ``col2im`` is the way back: it adds each column's values into the pixels they came from. It loops
  over the ``kH * kW`` kernel offsets only (each iteration is one strided add over the batch).

Three Functions share one geometry and are each other's gradients, so double backward works:

* ``Conv(x, w)``:          y  = conv(x, w)                         (N, C, H, W) -> (N, O, Ho, Wo)
* ``ConvTranspose(g, w)``: dx = conv^T(g, w), the input gradient   (N, O, Ho, Wo) -> (N, C, H, W)
* ``ConvWeight(x, g)``:    dw = the weight gradient                -> (O, C/groups, kH, kW)

``conv_transpose2d`` (decoders, "deconvolution") is ``ConvTranspose`` with its own bias, and
``unfold`` / ``fold`` are ``im2col`` / ``col2im`` as public, differentiable functions.
1-D convolutions are 2-D ones over an image of height 1. Everything is written against the
arrays' own module ``xp``, so the same code runs on NumPy and CuPy.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..autograd import Function, OpError
from ..random import dropout_mask
from ..tensor import Tensor

# ----------------------------------------------------------------------------- argument checks

_DTYPE_NAMES = {"float16": "half", "float32": "float", "float64": "double", "int64": "long",
                "int32": "int", "int16": "short", "int8": "char", "uint8": "byte", "bool": "bool"}


def _type_name(dtype):
    return _DTYPE_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)


def ntuple(value, n, what, op):
    """An int or a sequence of ``n`` ints -> a tuple of ``n`` ints (PyTorch's message otherwise)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n and \
            all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    if isinstance(value, (tuple, list)) and len(value) == 1 and n > 1:
        return ntuple(value[0], n, what, op)
    shown = list(value) if isinstance(value, (tuple, list)) else value
    raise OpError(f"{op}: expected {what} to be a single integer value or a list of {n} values to "
                  f"match the convolution dimensions, but got {what}={shown}")


def check_same_dtype(op, input, weight, bias=None):
    """Floating point input, weight and bias of one dtype (PyTorch's wording when they differ)."""
    if input.dtype.kind != "f":
        raise OpError(f"{op}: expected a floating point input, got dtype {input.dtype}; convert "
                      f"it with .float() first")
    if weight.dtype != input.dtype:
        raise OpError(f"{op}: Input type ({_type_name(input.dtype)}) and weight type "
                      f"({_type_name(weight.dtype)}) should be the same")
    if bias is not None and bias.dtype != input.dtype:
        raise OpError(f"{op}: Input type ({_type_name(input.dtype)}) and bias type "
                      f"({_type_name(bias.dtype)}) should be the same")


def _size(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _batched(op, input, spatial):
    """Accept batched ``(N, C, *spatial)`` and unbatched ``(C, *spatial)`` input, as PyTorch."""
    if input.ndim not in (spatial + 1, spatial + 2):
        raise OpError(f"{op}: Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input "
                      f"to {op}, but got input of size: {_size(input.shape)}")
    return input.ndim == spatial + 2


def _check_conv_args(op, input, weight, bias, groups, spatial, weight_dims):
    """The checks every convolution starts with: input rank, weight rank (its first two dims are
    ``weight_dims``), dtypes and groups. Returns (batched, the input as (N, C, *spatial))."""
    batched = _batched(op, input, spatial)
    if weight.ndim != spatial + 2:
        raise OpError(f"{op}: expected a weight of {spatial + 2} dimensions ({weight_dims}, "
                      f"{', '.join(['k'] * spatial)}), got weight of size {_size(weight.shape)}")
    x = input if batched else input.reshape(1, *input.shape)
    check_same_dtype(op, x, weight, bias)
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise OpError(f"{op}: non-positive groups is not supported, got groups={groups}")
    return batched, x


def as_4d(x, batched, spatial):
    """(N, C, *spatial) or (C, *spatial) -> (N, C, H, W): 1-D convolutions and pools are 2-D ones
    over an image of height 1."""
    if not batched:
        x = x.reshape(1, *x.shape)
    return x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]) if spatial == 1 else x


def from_4d(y, batched, spatial):
    """The way back from :func:`as_4d`: (N, C, H, W) -> the caller's (N, C, *spatial) or (C, *spatial)."""
    if spatial == 1:
        y = y.reshape(y.shape[0], y.shape[1], y.shape[3])
    return y if batched else y.reshape(*y.shape[1:])


# ----------------------------------------------------------------------------- geometry

class Geometry:
    """Where every window of a 2-D convolution or pooling lies.

    ``size``: the input's (H, W); ``kernel``, ``stride``, ``dilation``: (h, w) pairs; ``pad``:
    ((top, bottom), (left, right)), so 'same' padding with an even kernel and pooling's ceil_mode
    can pad one side more; ``out``: the output's (H_out, W_out); ``groups``: channel groups.
    Window (a, b) of output pixel (y, x) reads padded-input pixel
    (y * stride_h + a * dilation_h, x * stride_w + b * dilation_w).
    """
    __slots__ = ("size", "kernel", "stride", "pad", "dilation", "groups", "out")

    def __init__(self, size, kernel, stride, pad, dilation, groups=1, out=None):
        self.size, self.kernel, self.stride = tuple(size), tuple(kernel), tuple(stride)
        self.pad, self.dilation, self.groups = tuple(tuple(p) for p in pad), tuple(dilation), groups
        self.out = tuple(out) if out is not None else tuple(
            (n + lo + hi - d * (k - 1) - 1) // s + 1
            for n, (lo, hi), k, s, d in zip(self.size, self.pad, self.kernel, self.stride, self.dilation))

    @property
    def padded(self):
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.size, self.pad))

    def offsets(self):
        """The kernel offsets (a, b) and the slices of the padded input they read, in row-major
        order (the order ties are broken in)."""
        (kh, kw), (sh, sw), (dh, dw), (ho, wo) = self.kernel, self.stride, self.dilation, self.out
        for a in range(kh):
            for b in range(kw):
                yield a, b, (slice(a * dh, a * dh + sh * (ho - 1) + 1, sh),
                             slice(b * dw, b * dw + sw * (wo - 1) + 1, sw))

    def __repr__(self):
        return (f"Geometry(size={self.size}, kernel={self.kernel}, stride={self.stride}, pad={self.pad}, "
                f"dilation={self.dilation}, groups={self.groups}, out={self.out})")


def pad_array(xp, x, geo, fill=0):
    """(N, C, H, W) -> (N, C, H + top + bottom, W + left + right) filled with ``fill``; ``x`` itself
    when there is no padding."""
    (t, b), (l, r) = geo.pad
    if not (t or b or l or r):
        return x
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + t + b, w + l + r), x.dtype) if fill == 0 else \
        xp.full((n, c, h + t + b, w + l + r), fill, x.dtype)
    out[:, :, t:t + h, l:l + w] = x
    return out


def crop_array(x, geo):
    """The inverse of :func:`pad_array` (a view)."""
    (t, _), (l, _) = geo.pad
    h, w = geo.size
    return x[:, :, t:t + h, l:l + w]


def windows(xp, xpad, geo):
    """A view (N, C, kH, kW, H_out, W_out) of the padded input: element (a, b, y, x) is the value
    under kernel offset (a, b) when the filter sits at output pixel (y, x). No copy."""
    n, c = xpad.shape[:2]
    s_n, s_c, s_h, s_w = xpad.strides
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = geo.kernel, geo.stride, geo.dilation, geo.out
    return xp.lib.stride_tricks.as_strided(
        xpad, shape=(n, c, kh, kw, ho, wo),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw))


def im2col(xp, x, geo):
    """(N, C, H, W) -> columns (N, C*kH*kW, H_out*W_out), rows ordered (channel, a, b)."""
    n, c = x.shape[:2]
    w = windows(xp, pad_array(xp, x, geo), geo)
    return w.reshape(n, c * geo.kernel[0] * geo.kernel[1], geo.out[0] * geo.out[1])   # the one copy


def col2im(xp, cols, geo, channels):
    """Columns (N, C*kH*kW, H_out*W_out) -> (N, C, H, W): every value is added into the pixel it
    was read from (overlapping windows add up). Loops over the kH*kW kernel offsets only."""
    n = cols.shape[0]
    (kh, kw), (ho, wo) = geo.kernel, geo.out
    cols = cols.reshape(n, channels, kh, kw, ho, wo)
    out = xp.zeros((n, channels) + geo.padded, cols.dtype)
    for a, b, (rows, columns) in geo.offsets():
        out[:, :, rows, columns] += cols[:, :, a, b]
    return crop_array(out, geo)


# ----------------------------------------------------------------------------- the three Functions

def _grouped_weight(w, groups):
    """(O, C/g, kH, kW) -> (g, O/g, C/g*kH*kW)."""
    return w.reshape(groups, w.shape[0] // groups, -1)


class Conv(Function):
    """y[n, o] = sum over c, a, b of x_pad[n, c, y*s + a*d, x*s + b*d] * w[o, c, a, b] (+ bias[o]).

    (N, C, H, W), (O, C/groups, kH, kW), (O,) or None -> (N, O, H_out, W_out).
    """
    name = "conv2d"

    @staticmethod
    def forward(ctx, x, w, b, geo):
        xp = ctx.xp(x, w)
        n, g = x.shape[0], geo.groups
        cols = im2col(xp, x, geo)                                    # (N, C*kH*kW, L)
        if g == 1:
            out = xp.matmul(w.reshape(w.shape[0], -1), cols)         # (O, K) @ (N, K, L)
        else:
            grouped = cols.reshape(n, g, cols.shape[1] // g, cols.shape[-1])   # N may be 0: no -1
            out = xp.matmul(_grouped_weight(w, g), grouped)
        out = out.reshape((n, w.shape[0]) + geo.out)
        if b is not None:
            out += b.reshape(-1, 1, 1)
        ctx.geo = geo
        # the weight gradient multiplies the same columns again
        ctx.save_for_backward(x, w, cols if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w, cols = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx = ConvTranspose.apply(grad, w, None, ctx.geo) if need_x else None
        gw = ConvWeight.apply(x, grad, ctx.geo, cols) if need_w else None
        gb = grad.sum((0, 2, 3)) if need_b else None
        return gx, gw, gb, None


class ConvTranspose(Function):
    """The adjoint of ``Conv`` in its input: dx = conv^T(g, w), plus an optional bias per output
    channel (``conv_transpose2d``). (N, O, H_out, W_out), (O, C/groups, kH, kW) -> (N, C, H, W)."""
    name = "conv_transpose2d"

    @staticmethod
    def forward(ctx, g, w, b, geo):
        xp = ctx.xp(g, w)
        n, groups, o = g.shape[0], geo.groups, w.shape[0]
        c = w.shape[1] * groups
        L = g.shape[2] * g.shape[3]         # sizes spelled out: N may be 0, where -1 is ambiguous
        gm = g.reshape(n, groups, o // groups, L)                       # (N, groups, O/g, L)
        wt = _grouped_weight(w, groups).transpose(0, 2, 1)             # (groups, K/g, O/g)
        cols = xp.matmul(wt, gm) if groups > 1 else xp.matmul(wt[0], gm[:, 0])
        out = col2im(xp, cols.reshape(n, c * geo.kernel[0] * geo.kernel[1], L), geo, c)
        if b is not None:
            out += b.reshape(-1, 1, 1)
        ctx.geo = geo
        ctx.save_for_backward(g, w)
        return out

    @staticmethod
    def backward(ctx, gg):
        # <gg, conv^T(g, w)> = <conv(gg, w), g>: both gradients are the other two Functions
        g, w = ctx.saved_tensors
        need_g, need_w, need_b = ctx.needs_input_grad[:3]
        dg = Conv.apply(gg, w, None, ctx.geo) if need_g else None
        dw = ConvWeight.apply(gg, g, ctx.geo, None) if need_w else None
        db = gg.sum((0, 2, 3)) if need_b else None
        return dg, dw, db, None


class ConvWeight(Function):
    """The weight gradient of ``Conv``: dw[o, c, a, b] = sum over n, y, x of
    g[n, o, y, x] * x_pad[n, c, y*s + a*d, x*s + b*d]. (N, C, H, W), (N, O, H_out, W_out) ->
    (O, C/groups, kH, kW). ``cols``: the input's columns when the forward pass kept them."""
    name = "conv2d_weight"

    @staticmethod
    def forward(ctx, x, g, geo, cols):
        xp = ctx.xp(x, g)
        if cols is None:
            cols = im2col(xp, x, geo)
        n, groups, o = x.shape[0], geo.groups, g.shape[1]
        c = x.shape[1]
        # one product per sample and group, (O/g, L) @ (L, K/g), summed over the batch; stacked
        # 3-D so that NumPy hands every product to BLAS
        gm = g.reshape(n * groups, o // groups, g.shape[2] * g.shape[3])    # N may be 0: no -1
        cm = cols.reshape(n * groups, cols.shape[1] // groups, cols.shape[-1])
        dw = xp.matmul(gm, cm.transpose(0, 2, 1)).reshape(n, groups, o // groups, cm.shape[1]).sum(0)
        ctx.geo = geo
        ctx.save_for_backward(x, g)
        return dw.reshape((o, c // groups) + geo.kernel)

    @staticmethod
    def backward(ctx, gw):
        # <gw, dw(x, g)> = <conv(x, gw), g>
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad[:2]
        dx = ConvTranspose.apply(g, gw, None, ctx.geo) if need_x else None
        dg = Conv.apply(x, gw, None, ctx.geo) if need_g else None
        return dx, dg, None, None


# ----------------------------------------------------------------------------- unfold / fold

class Unfold(Function):
    """im2col: (N, C, H, W) -> (N, C*kH*kW, L). Its adjoint (gradient) is ``Fold``."""
    name = "unfold"

    @staticmethod
    def forward(ctx, x, geo):
        ctx.geo, ctx.channels = geo, x.shape[1]
        return im2col(ctx.xp(x), x, geo)

    @staticmethod
    def backward(ctx, g):
        return Fold.apply(g, ctx.geo, ctx.channels), None


class Fold(Function):
    """col2im: (N, C*kH*kW, L) -> (N, C, H, W), overlapping values added. Adjoint of ``Unfold``."""
    name = "fold"

    @staticmethod
    def forward(ctx, cols, geo, channels):
        ctx.geo = geo
        return col2im(ctx.xp(cols), cols, geo, channels)

    @staticmethod
    def backward(ctx, g):
        return Unfold.apply(g, ctx.geo), None, None


# ----------------------------------------------------------------------------- public functions

def _padding_arg(op, padding, kernel, dilation, stride, n):
    """int / tuple / 'valid' / 'same' -> ((lo, hi), ...) per spatial dim, with PyTorch's rules:
    'same' pads d*(k-1) in total, the odd pixel (even kernels) going to the end."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise OpError(f"{op}: Invalid padding string: {padding!r}; expected 'valid', 'same', an "
                          f"int or a tuple of {n} ints")
        if any(s != 1 for s in stride):
            raise OpError(f"{op}: padding='same' is not supported for strided convolutions")
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in total)
    p = ntuple(padding, n, "padding", op)
    if any(v < 0 for v in p):
        raise OpError(f"{op}: negative padding is not supported, got padding={list(p)}")
    return tuple((v, v) for v in p)


def _check_positive(op, stride, dilation):
    if any(s <= 0 for s in stride):
        raise OpError(f"{op}: non-positive stride is not supported, got stride={list(stride)}")
    if any(d <= 0 for d in dilation):
        raise OpError(f"{op}: non-positive dilation is not supported, got dilation={list(dilation)}")


def _check_fits(op, size, pad, kernel, dilation):
    padded = [n + lo + hi for n, (lo, hi) in zip(size, pad)]
    eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(e > p for e, p in zip(eff, padded)):
        raise OpError(f"{op}: Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
                      f"Kernel size: ({' x '.join(map(str, eff))}). Kernel size can't be greater than "
                      f"actual input size")


def _conv(op, input, weight, bias, stride, padding, dilation, groups, spatial):
    batched, x = _check_conv_args(op, input, weight, bias, groups, spatial,
                                  "out_channels, in_channels / groups")
    o, cg = weight.shape[:2]
    if o % groups:
        raise OpError(f"{op}: Given groups={groups}, expected weight to be divisible by {groups} at "
                      f"dimension 0, but got weight of size {_size(weight.shape)} instead")
    if x.shape[1] != cg * groups:
        raise OpError(f"{op}: Given groups={groups}, weight of size {_size(weight.shape)}, expected "
                      f"input{_size(x.shape)} to have {cg * groups} channels, but got {x.shape[1]} "
                      f"channels instead")
    if bias is not None and tuple(bias.shape) != (o,):
        raise OpError(f"{op}: Given weight of size {_size(weight.shape)}, expected bias to be "
                      f"1-dimensional with {o} elements, but got bias of size {_size(bias.shape)} instead")
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, spatial, "stride", op)
    dilation = ntuple(dilation, spatial, "dilation", op)
    _check_positive(op, stride, dilation)
    pad = _padding_arg(op, padding, kernel, dilation, stride, spatial)
    _check_fits(op, x.shape[2:], pad, kernel, dilation)
    if spatial == 1:   # a 1-D convolution is a 2-D one over an image of height 1
        weight = as_4d(weight, True, 1)
        kernel, stride, pad, dilation = (1,) + kernel, (1,) + stride, ((0, 0),) + pad, (1,) + dilation
    x = as_4d(x, True, spatial)
    y = Conv.apply(x, weight, bias, Geometry(x.shape[2:], kernel, stride, pad, dilation, groups))
    return from_4d(y, batched, spatial)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation (what deep learning calls convolution), as ``torch.nn.functional.conv2d``.

    input (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in / groups, kH, kW); bias (C_out,) ->
    (N, C_out, H_out, W_out) with H_out = (H + 2 padding - dilation (kH - 1) - 1) // stride + 1.
    ``padding``: an int, a pair, 'valid' (none) or 'same' (output as large as the input; stride 1).
    """
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation: input (N, C_in, L) or (C_in, L); weight (C_out, C_in / groups, k) ->
    (N, C_out, L_out). Arguments as :func:`conv2d`."""
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def _conv_transpose(op, input, weight, bias, stride, padding, output_padding, groups, dilation,
                    spatial):
    batched, x = _check_conv_args(op, input, weight, bias, groups, spatial,
                                  "in_channels, out_channels / groups")
    cin, cg = weight.shape[:2]
    if x.shape[1] != cin:
        raise OpError(f"{op}: Given transposed=1, weight of size {_size(weight.shape)}, expected "
                      f"input{_size(x.shape)} to have {cin} channels, but got {x.shape[1]} channels instead")
    if cin % groups:
        raise OpError(f"{op}: Given groups={groups}, expected weight to be divisible by {groups} at "
                      f"dimension 0, but got weight of size {_size(weight.shape)} instead")
    cout = cg * groups
    if bias is not None and tuple(bias.shape) != (cout,):
        raise OpError(f"{op}: Given transposed=1, weight of size {_size(weight.shape)}, expected bias "
                      f"to be 1-dimensional with {cout} elements, but got bias of size "
                      f"{_size(bias.shape)} instead")
    if isinstance(padding, str):
        raise OpError(f"{op}: padding must be an int or a tuple of ints, got {padding!r} "
                      f"(string padding is not supported for transposed convolutions)")
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, spatial, "stride", op)
    dilation = ntuple(dilation, spatial, "dilation", op)
    pad = ntuple(padding, spatial, "padding", op)
    opad = ntuple(output_padding, spatial, "output_padding", op)
    _check_positive(op, stride, dilation)
    if any(p < 0 for p in pad) or any(p < 0 for p in opad):
        raise OpError(f"{op}: negative padding is not supported, got padding={list(pad)}, "
                      f"output_padding={list(opad)}")
    if any(op_ >= s and op_ >= d for op_, s, d in zip(opad, stride, dilation)):
        raise OpError(f"{op}: output padding must be smaller than either stride or dilation, but got "
                      f"output_padding={list(opad)}, stride={list(stride)}, dilation={list(dilation)}")
    size_in = tuple(x.shape[2:])
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + q + 1
                 for n, s, p, d, k, q in zip(size_in, stride, pad, dilation, kernel, opad))
    if any(n <= 0 for n in size):
        raise OpError(f"{op}: the output would have size {list(size)} (input {list(size_in)}, "
                      f"stride {list(stride)}, padding {list(pad)}, kernel {list(kernel)}); "
                      f"every size must be at least 1: use less padding")
    if spatial == 1:   # as for conv1d: a 2-D transposed convolution over an image of height 1
        weight = as_4d(weight, True, 1)
        kernel, stride, pad, dilation = (1,) + kernel, (1,) + stride, (0,) + pad, (1,) + dilation
        size, size_in = (1,) + size, (1,) + size_in
    geo = Geometry(size, kernel, stride, tuple((p, p) for p in pad), dilation, groups, out=size_in)
    return from_4d(ConvTranspose.apply(as_4d(x, True, spatial), weight, bias, geo), batched, spatial)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed convolution (the gradient of conv2d with respect to its input), as PyTorch.

    input (N, C_in, H, W) or (C_in, H, W); weight (C_in, C_out / groups, kH, kW) -> (N, C_out,
    H_out, W_out) with H_out = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1.
    """
    return _conv_transpose("conv_transpose2d", input, weight, bias, stride, padding, output_padding,
                           groups, dilation, 2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution: (N, C_in, L) or (C_in, L), weight (C_in, C_out / groups, k) ->
    (N, C_out, L_out). Arguments as :func:`conv_transpose2d`."""
    return _conv_transpose("conv_transpose1d", input, weight, bias, stride, padding, output_padding,
                           groups, dilation, 1)


def _unfold_geometry(op, size, kernel_size, dilation, padding, stride):
    kernel = ntuple(kernel_size, 2, "kernel_size", op)
    dilation = ntuple(dilation, 2, "dilation", op)
    padding = ntuple(padding, 2, "padding", op)
    stride = ntuple(stride, 2, "stride", op)
    if any(k <= 0 for k in kernel):
        raise OpError(f"{op}: kernel_size must be positive, got kernel_size={list(kernel)}")
    _check_positive(op, stride, dilation)
    if any(p < 0 for p in padding):
        raise OpError(f"{op}: negative padding is not supported, got padding={list(padding)}")
    geo = Geometry(size, kernel, stride, tuple((p, p) for p in padding), dilation)
    if any(n < 1 for n in geo.out):
        raise OpError(f"{op}: Given input with spatial size {tuple(size)}, kernel_size={kernel}, "
                      f"dilation={dilation}, padding={padding}, calculated shape of the array of "
                      f"sliding blocks as {geo.out}, but its components must be at least one.")
    return geo


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: the values under every position of a sliding window, as columns.

    (N, C, H, W) -> (N, C*kH*kW, L), or unbatched (C, H, W) -> (C*kH*kW, L), L the number of
    window positions. Rows are ordered (channel, kernel row, kernel column), as in PyTorch.
    ``conv2d(x, w)`` equals ``w.reshape(C_out, -1) @ unfold(x, k)`` reshaped to (N, C_out, H_out, W_out).
    """
    if input.ndim not in (3, 4):
        raise OpError(f"unfold: Expected 3D or 4D (batch mode) tensor for input with possible 0 batch "
                      f"size and non-zero dimensions, but got input of size: {_size(input.shape)}")
    batched = input.ndim == 4
    x = input if batched else input.reshape(1, *input.shape)
    geo = _unfold_geometry("unfold", x.shape[2:], kernel_size, dilation, padding, stride)
    y = Unfold.apply(x, geo)
    return y if batched else y.reshape(*y.shape[1:])


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, the adjoint of :func:`unfold`: columns are added back into the pixels they came
    from (overlapping windows add up). (N, C*kH*kW, L) -> (N, C, *output_size); unbatched
    (C*kH*kW, L) -> (C, *output_size)."""
    if input.ndim not in (2, 3):
        raise OpError(f"fold: Expected 2D or 3D (batch mode) input tensor with possibly 0 batch size "
                      f"and non-zero dimensions for input, but got: {_size(input.shape)}")
    batched = input.ndim == 3
    x = input if batched else input.reshape(1, *input.shape)
    size = ntuple(output_size, 2, "output_size", "fold")
    geo = _unfold_geometry("fold", size, kernel_size, dilation, padding, stride)
    k = geo.kernel[0] * geo.kernel[1]
    if x.shape[1] % k:
        raise OpError(f"fold: Expected size of input's dimension 1 to be divisible by the product of "
                      f"kernel_size, but got input.size(1)={x.shape[1]} and kernel_size={geo.kernel}")
    blocks = geo.out[0] * geo.out[1]
    if x.shape[2] != blocks:
        raise OpError(f"fold: Given output_size={size}, kernel_size={geo.kernel}, dilation="
                      f"{geo.dilation}, padding={tuple(p for p, _ in geo.pad)}, stride={geo.stride}, "
                      f"expected size of input's dimension 2 to match the calculated number of sliding "
                      f"blocks {geo.out[0]} * {geo.out[1]} = {blocks}, but got input.size(2)={x.shape[2]}.")
    y = Fold.apply(x, geo, x.shape[1] // k)
    return y if batched else y.reshape(*y.shape[1:])


# ----------------------------------------------------------------------------- padding modes

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _mode_index(n, lo, hi, mode, dim, shape):
    """Source positions of a padded axis: reflect (mirror without repeating the edge), replicate
    (repeat the edge) or circular (wrap around)."""
    i = np.arange(-lo, n + hi)
    if mode == "reflect":
        if max(lo, hi) >= n:
            raise OpError(f"reflect padding: Padding size should be less than the corresponding input "
                          f"dimension, but got: padding ({lo}, {hi}) at dimension {dim} of input "
                          f"{_size(shape)}")
        i = np.abs(i)
        i = np.where(i > n - 1, 2 * (n - 1) - i, i)
    elif mode == "replicate":
        i = np.clip(i, 0, n - 1)
    else:
        if max(lo, hi) > n:
            raise OpError("circular padding: Padding value causes wrapping around more than once.")
        i = i % n
    return i


def pad_mode(x, pads, mode):
    """Pad the trailing spatial dims of ``x`` with ``pads`` ((lo, hi) per spatial dim, first to last)
    in ``mode`` ('reflect', 'replicate' or 'circular'): an index gather, so its gradient adds every
    copy of a pixel back into it."""
    spatial = len(pads)
    for k, (lo, hi) in enumerate(pads):
        if lo == hi == 0:
            continue
        dim = x.ndim - spatial + k
        idx = _mode_index(x.shape[dim], lo, hi, mode, dim, x.shape)
        x = x[(slice(None),) * dim + (idx,)]
    return x


# ----------------------------------------------------------------------------- channel dropout

def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (feature maps) with probability ``p`` and scale the rest by 1 / (1 - p).

    (N, C, H, W) or (C, H, W) -> same shape; one draw per (sample, channel). As PyTorch 2.x, a 3-D
    input is read as (N, C, L) with a warning; other ranks warn and drop per (dim 0, dim 1) entry.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim < 2:
        raise OpError(f"dropout2d: Feature dropout requires at least 2 dimensions in the input, got "
                      f"input of size {_size(input.shape)}")
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
                      "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
                      "is the channel dim. Use dropout1d for that behavior.", stacklevel=2)
    elif input.ndim != 4:
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated; "
                      f"dropout2d is meant for (N, C, H, W) or (C, H, W) inputs. Use dropout instead.",
                      stacklevel=2)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return input * dropout_mask(shape, p, input.dtype, input.device)


__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold", "pad_mode",
           "dropout2d", "Conv", "ConvTranspose", "ConvWeight", "Unfold", "Fold", "Geometry",
           "PADDING_MODES"]
