"""Hypothesis strategies for testing differentiable operations.

Every strategy here builds valid inputs *by construction*: values keep away from kinks and from each
other by mapping draws into allowed intervals (never by rejecting draws), and shapes, indices and
layer configurations are assembled so that they always fit together. So a failing example is a real
failure, and shrinking stays quick.

    from hypothesis import given
    from tinygrad_rnn.testing import gradcheck, strategies as tst

    @given(tst.tensors(kinks=[0.0]))
    def test_relu_gradient(x):
        gradcheck(lambda t: t.relu(), x)

This module needs Hypothesis; ``import tinygrad_rnn.testing`` does not.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .. import backend
from ..tensor import Tensor

__all__ = ["arrays", "tensors", "shapes", "broadcastable_shapes", "broadcastable_tensors",
           "matmul_shapes", "matmul_tensors", "axes", "indices", "conv_configs", "pool_configs",
           "rnn_configs", "ConvConfig", "PoolConfig", "RNNConfig", "allowed_intervals"]


# ----------------------------------------------------------------------------- values

def allowed_intervals(min_value, max_value, kinks=(), min_kink_distance=1e-3):
    """``[min_value, max_value]`` minus an open ball of radius ``min_kink_distance`` around each kink,
    as a sorted list of disjoint closed intervals ``[(lo, hi), ...]``."""
    if not min_value < max_value:
        raise ValueError(f"arrays: need min_value < max_value, got {min_value} and {max_value}")
    pieces = [(float(min_value), float(max_value))]
    for k in sorted(float(k) for k in kinks):
        nxt = []
        for lo, hi in pieces:
            if k + min_kink_distance <= lo or k - min_kink_distance >= hi:
                nxt.append((lo, hi))
                continue
            if k - min_kink_distance > lo:
                nxt.append((lo, k - min_kink_distance))
            if k + min_kink_distance < hi:
                nxt.append((k + min_kink_distance, hi))
        pieces = nxt
    if not pieces:
        raise ValueError(f"arrays: no values are left in [{min_value}, {max_value}] once the ones "
                         f"closer than {min_kink_distance} to the kinks {list(kinks)} are removed")
    return pieces


def _place(units, pieces, gap, asked_gap=None):
    """Unit draws in [0, 1] -> values in the union of ``pieces`` that differ by at least ``gap``.

    The draws are spread over the total allowed length; with a gap, the sorted draws are squeezed into
    a shorter range and then pushed apart by ``gap`` each, and their ranks decide who gets which value.
    Stepping over an excluded interval only makes neighbours further apart, so the gap survives.
    """
    lengths = np.array([hi - lo for lo, hi in pieces])
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    total = float(lengths.sum())
    flat = units.reshape(-1).astype(np.float64)
    n = flat.size
    if gap > 0 and n > 1:
        room = total - (n - 1) * gap
        if room < 0:
            raise ValueError(f"arrays: cannot fit {n} values at least {asked_gap or gap:g} apart into "
                             f"allowed intervals of total length {total:.6g}; widen [min_value, "
                             f"max_value], lower min_gap or draw smaller shapes")
        order = np.argsort(flat, kind="stable")
        z = np.empty(n)
        z[order] = np.sort(flat) * room + np.arange(n) * gap
    else:
        z = flat * total
    j = np.clip(np.searchsorted(starts, z, side="right") - 1, 0, len(pieces) - 1)
    lo = np.array([p[0] for p in pieces])
    hi = np.array([p[1] for p in pieces])
    return np.minimum(lo[j] + (z - starts[j]), hi[j]).reshape(units.shape)


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes: tuples of ``min_dims..max_dims`` sides, each in ``min_side..max_side``."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def _shape_strategy(shape, min_dims, max_dims, min_side, max_side):
    if shape is None:
        return shapes(min_dims, max_dims, min_side, max_side)
    if isinstance(shape, st.SearchStrategy):
        return shape
    if isinstance(shape, (int, np.integer)):
        return st.just((int(shape),))
    return st.just(tuple(int(s) for s in shape))


def _layout(draw, arr, contiguous, dev):
    """Put host array ``arr`` on ``dev`` in a drawn memory layout with the same values.

    ``"transposed"`` stores the axes in reverse order and returns a transposed view; ``"strided"``
    stores every value twice along one axis and returns a step-2 slice. Arrays with fewer than two
    elements are always contiguous (NumPy and CuPy call any layout of them contiguous).
    """
    kinds = ["contiguous"] if contiguous is True else []
    big_axes = [i for i, s in enumerate(arr.shape) if s >= 2]
    if contiguous is not True and big_axes:
        kinds += ["strided"]
        if len(big_axes) >= 2:
            kinds += ["transposed"]
        if contiguous is None:
            kinds = ["contiguous"] + kinds
    kind = draw(st.sampled_from(kinds)) if len(kinds) > 1 else (kinds[0] if kinds else "contiguous")
    if kind == "contiguous":
        return backend.to_device(np.array(arr, order="C"), dev)
    if kind == "transposed":
        rev = tuple(reversed(range(arr.ndim)))
        return backend.to_device(np.array(arr.transpose(rev), order="C"), dev).transpose(rev)
    axis = draw(st.sampled_from(big_axes))
    doubled = np.repeat(arr, 2, axis=axis)
    view = (slice(None),) * axis + (slice(None, None, 2),)
    return backend.to_device(doubled, dev)[view]


def _unit_arrays(shape):
    return hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0))


@st.composite
def arrays(draw, shape=None, dtype=np.float64, min_value=-3.0, max_value=3.0, min_side=1,
           max_side=4, min_dims=0, max_dims=3, kinks=(), min_kink_distance=1e-3, min_gap=0.0,
           contiguous=None, device=None):
    """Arrays of ``dtype`` on ``device`` (NumPy arrays on the CPU, CuPy arrays on a GPU).

    shape: a tuple, an int, a strategy of tuples, or None to draw one with
        ``min_dims..max_dims`` dimensions of ``min_side..max_side`` each.
    min_value, max_value: the range of the values (floats and ints).
    kinks: points where the function under test is not differentiable (0 for relu/abs, the clamp
        bounds, ...). No value lies closer than ``min_kink_distance`` to any kink.
    min_gap: every two values differ by at least this much, so max/min/sort have no ties and a
        finite-difference step cannot reorder them. Needs ``(n - 1) * min_gap`` to fit in the range.
    contiguous: True for C-contiguous arrays only, False for non-contiguous views (a transposed or a
        step-2 view; arrays with fewer than two elements cannot be non-contiguous), None for both.
    device: "cpu", "cuda", ... or None for the default device.

    Floating dtypes honour every option; integer dtypes draw ``min_value..max_value`` (distinct
    when ``min_gap > 0``); bool draws both values.
    """
    dt = np.dtype(dtype)
    dev = backend.device(device)
    shp = draw(_shape_strategy(shape, min_dims, max_dims, min_side, max_side))
    if dt.kind == "b":
        host = draw(hnp.arrays(dt, shp, elements=st.booleans()))
    elif dt.kind in "iu":
        host = draw(hnp.arrays(dt, shp, elements=st.integers(int(math.ceil(min_value)),
                                                              int(math.floor(max_value))),
                               unique=min_gap > 0))
    elif dt.kind == "f":
        # rounding to a narrow dtype may move a value by an ulp: keep that much extra distance
        slack = 4 * float(np.finfo(dt).eps) * max(abs(min_value), abs(max_value), 1.0)
        pieces = allowed_intervals(min_value, max_value, kinks,
                                   min_kink_distance + slack if len(kinks) else 0.0)
        units = draw(_unit_arrays(shp))
        host = _place(units, pieces, min_gap + slack if min_gap > 0 else 0.0, min_gap).astype(dt)
    else:
        raise TypeError(f"arrays: unsupported dtype {dt}; use a floating, integer or bool dtype")
    return _layout(draw, np.asarray(host, dtype=dt), contiguous, dev)


@st.composite
def tensors(draw, shape=None, dtype=np.float64, requires_grad=True, device=None, **array_kwargs):
    """Tensors whose data come from :func:`arrays` (same keyword arguments).

    ``requires_grad`` applies to floating dtypes only (integer tensors cannot require grad). The
    data keep their drawn memory layout: a non-contiguous draw gives a tensor over a strided view.
    """
    dev = backend.device(device)
    data = draw(arrays(shape=shape, dtype=dtype, device=dev, **array_kwargs))
    return Tensor._from_data(data, requires_grad=requires_grad and data.dtype.kind == "f", device=dev)


# ----------------------------------------------------------------------------- shapes

def broadcastable_shapes(n, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """``n`` shapes that broadcast together, as NumPy's ``BroadcastableShapes(input_shapes,
    result_shape)``. Sides of 1 and missing leading dims occur, so broadcasting really happens."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                             min_side=min_side, max_side=max_side)


@st.composite
def broadcastable_tensors(draw, n=2, min_dims=0, max_dims=3, min_side=1, max_side=4, **tensor_kwargs):
    """A tuple of ``n`` tensors whose shapes broadcast together (keyword arguments as :func:`tensors`).

    ``min_gap`` applies within each tensor, not across tensors.
    """
    shp = draw(broadcastable_shapes(n, min_dims, max_dims, min_side, max_side))
    return tuple(draw(tensors(shape=s, **tensor_kwargs)) for s in shp.input_shapes)


@st.composite
def matmul_shapes(draw, min_side=1, max_side=4, max_batch_dims=2, allow_1d=True):
    """``(shape_a, shape_b)`` pairs that ``a @ b`` accepts, covering every NumPy matmul case:
    1-D @ 1-D (dot), 1-D @ N-D, N-D @ 1-D, 2-D @ 2-D and batched products whose batch dims
    broadcast (``(2, 1, n, k) @ (3, k, m)``). Result: ``(*batch, n, m)`` minus the 1-D sides."""
    n, k, m = (draw(st.integers(min_side, max_side)) for _ in range(3))
    batches = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_batch_dims,
                                                     min_side=1, max_side=3)).input_shapes
    a = batches[0] + (n, k)
    b = batches[1] + (k, m)
    if allow_1d:
        kind = draw(st.sampled_from(["nd", "vec_a", "vec_b", "dot"]))
        if kind in ("vec_a", "dot"):
            a = (k,)
        if kind in ("vec_b", "dot"):
            b = (k,)
    return a, b


@st.composite
def matmul_tensors(draw, min_side=1, max_side=4, max_batch_dims=2, allow_1d=True, **tensor_kwargs):
    """A pair of tensors ``(a, b)`` whose shapes come from :func:`matmul_shapes`."""
    sa, sb = draw(matmul_shapes(min_side, max_side, max_batch_dims, allow_1d))
    return draw(tensors(shape=sa, **tensor_kwargs)), draw(tensors(shape=sb, **tensor_kwargs))


@st.composite
def axes(draw, ndim, allow_none=True, allow_tuple=True, allow_negative=True, with_keepdim=False):
    """A ``dim`` argument for a reduction over a tensor of ``ndim`` dims: an int (negative ones
    too), a tuple of distinct dims (possibly empty or all of them), or None for all dims.

    With ``with_keepdim=True`` the strategy draws ``(dim, keepdim)`` pairs.
    """
    choices = []
    if ndim > 0:
        choices.append("int")
    if allow_tuple:
        choices.append("tuple")
    if allow_none or not choices:
        choices.append("none")
    kind = draw(st.sampled_from(choices))

    def sign(d):
        return d - ndim if allow_negative and draw(st.booleans()) else d

    if kind == "int":
        dim = sign(draw(st.integers(0, ndim - 1)))
    elif kind == "tuple":
        picked = draw(st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim)) if ndim else []
        dim = tuple(sign(d) for d in picked)
    else:
        dim = None
    return (dim, draw(st.booleans())) if with_keepdim else dim


# ----------------------------------------------------------------------------- indexing

@st.composite
def indices(draw, shape, allow_int=True, allow_slices=True, allow_newaxis=True, allow_ellipsis=True,
            allow_int_arrays=True, allow_bool_masks=True, allow_empty=False, max_array_len=4):
    """An index for ``x[index]`` with ``x.shape == shape``, always a tuple.

    Entries mix Python ints (negative too), slices (any start/stop, steps of 1..3: negative steps
    are an error, as in PyTorch), ``None``
    (new axis), at most one ``Ellipsis`` (standing for zero or more full slices), trailing dims left
    out, and at most one advanced index: a 1-D integer array (with repeated entries, so gradients
    must add up) or a boolean mask over one or more consecutive dims. With ``allow_empty=False``
    every slice and mask selects at least one element.
    """
    ndim = len(shape)
    parts, d, advanced_used = [], 0, False
    while d < ndim:
        n = shape[d]
        kinds = ["full"]
        if allow_slices:
            kinds.append("slice")
        if allow_int and n > 0:
            kinds.append("int")
        if not advanced_used and n > 0:
            kinds += ["int_array"] * allow_int_arrays + ["mask"] * allow_bool_masks
        kind = draw(st.sampled_from(kinds))
        step = 1
        if kind == "full":
            parts.append(slice(None))
        elif kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            parts.append(draw(_slices(n, allow_empty)))
        elif kind == "int_array":
            advanced_used = True
            size = draw(st.integers(1, max_array_len))
            parts.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=size, max_size=size)),
                                  dtype=np.int64))
        else:
            advanced_used = True
            step = draw(st.integers(1, ndim - d))
            mask = draw(hnp.arrays(np.bool_, tuple(shape[d:d + step]), elements=st.booleans()))
            if not allow_empty and mask.size and not mask.any():
                mask.flat[draw(st.integers(0, mask.size - 1))] = True
            parts.append(mask)
        d += step
    if allow_ellipsis and draw(st.booleans()):
        at = draw(st.integers(0, len(parts)))
        run = 0
        while at + run < len(parts) and _is_full(parts[at + run]):
            run += 1
        drop = draw(st.integers(0, run))
        parts[at:at + drop] = [Ellipsis]
    elif parts and draw(st.booleans()):
        while parts and _is_full(parts[-1]):   # NumPy fills missing trailing dims with full slices
            parts.pop()
    if allow_newaxis:
        for _ in range(draw(st.integers(0, 2))):
            parts.insert(draw(st.integers(0, len(parts))), None)
    return tuple(parts)


def _is_full(p):
    return isinstance(p, slice) and p == slice(None)


@st.composite
def _slices(draw, n, allow_empty):
    step = draw(st.sampled_from([1, 1, 2, 3]))
    if n == 0:
        return slice(None, None, step)
    start = draw(st.one_of(st.none(), st.integers(-n, n - 1)))
    stop = draw(st.one_of(st.none(), st.integers(-n - 1, n)))
    s = slice(start, stop, step)
    if not allow_empty and len(range(*s.indices(n))) == 0:
        # an empty selection would be drawn: widen it to the whole axis in the same direction
        s = slice(start, None, step)
        if len(range(*s.indices(n))) == 0:
            s = slice(None, None, step)
    return s


# ----------------------------------------------------------------------------- layer configurations

def _out_size(size, kernel, stride, padding, dilation, ceil_mode=False):
    eff = dilation * (kernel - 1) + 1
    span = size + 2 * padding - eff
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:   # the last window must start inside
        out -= 1
    return out


class _Spatial:
    """``H`` and ``W``: the first and last spatial sizes (the same for 1-D windows)."""

    @property
    def H(self):
        return self.size[0]

    @property
    def W(self):
        return self.size[-1]


@dataclass(frozen=True)
class ConvConfig(_Spatial):
    """A convolution that fits: ``(N, C_in, *size) -> (N, C_out, *output_size)``.

    ``kernel_size``, ``stride``, ``padding``, ``dilation`` and ``size`` are tuples with one entry per
    spatial dim; ``C_in`` and ``C_out`` are multiples of ``groups``.
    """
    N: int
    C_in: int
    C_out: int
    size: tuple
    kernel_size: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int
    bias: bool = True

    @property
    def input_shape(self):
        return (self.N, self.C_in) + tuple(self.size)

    @property
    def weight_shape(self):
        """``(C_out, C_in // groups, *kernel_size)`` as in PyTorch."""
        return (self.C_out, self.C_in // self.groups) + tuple(self.kernel_size)

    @property
    def output_size(self):
        return tuple(_out_size(*a) for a in zip(self.size, self.kernel_size, self.stride,
                                                 self.padding, self.dilation))

    @property
    def output_shape(self):
        return (self.N, self.C_out) + self.output_size

    def kwargs(self):
        """Keyword arguments for ``nn.Conv{1,2}d(**cfg.kwargs())``."""
        return dict(in_channels=self.C_in, out_channels=self.C_out, kernel_size=self.kernel_size,
                    stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, bias=self.bias)


@st.composite
def conv_configs(draw, spatial_dims=2, max_batch=2, max_group_channels=3, max_groups=2, max_kernel=3,
                 max_stride=2, max_padding=2, max_dilation=2, max_extra_size=3, transposable=False):
    """:class:`ConvConfig` values whose output has at least one element on every spatial dim.

    Sizes are drawn as ``dilation * (kernel - 1) + 1 - 2 * padding`` (at least 1) plus up to
    ``max_extra_size``, so a window always fits; channels are ``groups`` times a drawn width.

    ``transposable=True`` is for testing transposed convolutions, which map ``output_size`` back
    to ``size``: each size is then grown until the windows, ``stride`` apart, end exactly on its
    last element. Otherwise the transposed convolution of ``output_size`` gives a smaller size,
    and can give nothing at all (input 1, kernel 2, stride 2, padding 1: forward output 1,
    transposed output 0).
    """
    groups = draw(st.integers(1, max_groups))
    c_in = groups * draw(st.integers(1, max_group_channels))
    c_out = groups * draw(st.integers(1, max_group_channels))
    k, s, p, dil, size = [], [], [], [], []
    for _ in range(spatial_dims):
        k.append(draw(st.integers(1, max_kernel)))
        s.append(draw(st.integers(1, max_stride)))
        p.append(draw(st.integers(0, max_padding)))
        dil.append(draw(st.integers(1, max_dilation)))
        need = dil[-1] * (k[-1] - 1) + 1 - 2 * p[-1]
        size.append(max(need, 1) + draw(st.integers(0, max_extra_size)))
        if transposable:
            size[-1] += -(size[-1] - need) % s[-1]
    return ConvConfig(draw(st.integers(1, max_batch)), c_in, c_out, tuple(size), tuple(k), tuple(s),
                      tuple(p), tuple(dil), groups, draw(st.booleans()))


@dataclass(frozen=True)
class PoolConfig(_Spatial):
    """A pooling window that fits: ``(N, C, *size) -> (N, C, *output_size)``.

    Padding is at most half the kernel (PyTorch's rule), and with padding each size is at least
    the dilation: so every window overlaps the input. (A dilated window can otherwise sit entirely
    in the padding, size 1, kernel 2, padding 1, dilation 2: its maximum is -inf, and PyTorch's
    backward then sends the window's gradient to an unrelated pixel.)
    """
    N: int
    C: int
    size: tuple
    kernel_size: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    ceil_mode: bool = False

    @property
    def input_shape(self):
        return (self.N, self.C) + tuple(self.size)

    @property
    def output_size(self):
        return tuple(_out_size(n, k, s, p, d, self.ceil_mode) for n, k, s, p, d in
                     zip(self.size, self.kernel_size, self.stride, self.padding, self.dilation))

    @property
    def output_shape(self):
        return (self.N, self.C) + self.output_size

    def kwargs(self):
        """Keyword arguments for ``nn.MaxPool{1,2}d(**cfg.kwargs())`` (drop ``dilation`` for avg)."""
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    dilation=self.dilation, ceil_mode=self.ceil_mode)


@st.composite
def pool_configs(draw, spatial_dims=2, max_batch=2, max_channels=3, max_kernel=3, max_stride=3,
                 dilation=True, ceil_mode=True, max_extra_size=3):
    """:class:`PoolConfig` values with at least one output element per spatial dim.

    ``dilation=False`` keeps dilation 1 (average pooling has none); ``ceil_mode=False`` keeps floor.
    """
    k, s, p, dil, size = [], [], [], [], []
    for _ in range(spatial_dims):
        k.append(draw(st.integers(1, max_kernel)))
        s.append(draw(st.integers(1, max_stride)))
        p.append(draw(st.integers(0, k[-1] // 2)))
        dil.append(draw(st.integers(1, 2)) if dilation else 1)
        need = dil[-1] * (k[-1] - 1) + 1 - 2 * p[-1]
        least = dil[-1] if p[-1] else 1           # a window's first element at or past 0 is < dilation
        size.append(max(need, least) + draw(st.integers(0, max_extra_size)))
    return PoolConfig(draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels)), tuple(size),
                      tuple(k), tuple(s), tuple(p), tuple(dil),
                      draw(st.booleans()) if ceil_mode else False)


_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "rnn": 1, "lstm": 4, "gru": 3}


@dataclass(frozen=True)
class RNNConfig:
    """A small recurrent problem: ``T`` steps, ``batch`` sequences, ``input_size`` features in,
    ``hidden_size`` out, ``num_layers`` stacked layers; ``seed`` fixes every value.

    Weights are built so that gradients neither vanish nor explode over the few steps drawn: each
    gate's block of ``weight_hh`` is ``scale`` times a random orthogonal matrix (all its singular
    values equal ``scale``, drawn in [0.8, 1.2]), ``weight_ih`` and the biases are small
    (``U(-0.5, 0.5) / sqrt(fan_in)`` and ``U(-0.1, 0.1)``) and inputs lie in (-1, 1), so
    pre-activations stay where tanh and sigmoid have slope.
    """
    T: int
    batch: int
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    scale: float = 1.0
    seed: int = 0

    @property
    def input_shape(self):
        """``(T, batch, input_size)``, or ``(batch, T, input_size)`` with ``batch_first``."""
        return (self.batch, self.T, self.input_size) if self.batch_first else \
            (self.T, self.batch, self.input_size)

    @property
    def hidden_shape(self):
        """``(num_layers, batch, hidden_size)``: the shape of ``h0`` (and ``c0`` for LSTM)."""
        return (self.num_layers, self.batch, self.hidden_size)

    def kwargs(self):
        """Keyword arguments for ``nn.RNN/LSTM/GRU(**cfg.kwargs())``."""
        return dict(input_size=self.input_size, hidden_size=self.hidden_size,
                    num_layers=self.num_layers, bias=self.bias, batch_first=self.batch_first)

    def _rng(self, what):
        return np.random.default_rng([self.seed, sum(map(ord, what))])

    def weights(self, mode="lstm", dtype=np.float64, device=None, requires_grad=True):
        """Parameters named and shaped as PyTorch's: ``weight_ih_lK`` ``(gates * hidden_size,
        input_size or hidden_size)``, ``weight_hh_lK`` ``(gates * hidden_size, hidden_size)``,
        ``bias_ih_lK`` / ``bias_hh_lK`` ``(gates * hidden_size,)``; gates is 4 for "lstm", 3 for
        "gru", 1 for "rnn" / "rnn_tanh" / "rnn_relu"; gate blocks in PyTorch's order."""
        gates, H = _GATES[mode], self.hidden_size
        rng = self._rng("weights-" + mode)
        out = {}
        for layer in range(self.num_layers):
            fan_in = self.input_size if layer == 0 else H
            arrays_ = {f"weight_ih_l{layer}": rng.uniform(-0.5, 0.5, (gates * H, fan_in)) / np.sqrt(fan_in)}
            blocks = [np.linalg.qr(rng.standard_normal((H, H)))[0] for _ in range(gates)]
            arrays_[f"weight_hh_l{layer}"] = self.scale * np.concatenate(blocks, axis=0)
            if self.bias:
                arrays_[f"bias_ih_l{layer}"] = rng.uniform(-0.1, 0.1, gates * H)
                arrays_[f"bias_hh_l{layer}"] = rng.uniform(-0.1, 0.1, gates * H)
            for name, a in arrays_.items():
                out[name] = Tensor._from_data(a.astype(dtype), device=device, requires_grad=requires_grad)
        return out

    def input(self, dtype=np.float64, device=None, requires_grad=True):
        """An input of :attr:`input_shape` with entries in (-1, 1)."""
        x = self._rng("input").uniform(-1.0, 1.0, self.input_shape).astype(dtype)
        return Tensor._from_data(x, device=device, requires_grad=requires_grad)

    def hidden(self, which="h0", dtype=np.float64, device=None, requires_grad=True):
        """An initial state of :attr:`hidden_shape` with entries in (-0.5, 0.5): ``cfg.hidden()``
        or ``cfg.hidden("h0")`` for ``h0``, ``cfg.hidden("c0")`` for the LSTM's cell state (a
        different draw)."""
        if which not in ("h0", "c0"):
            raise ValueError(f"RNNConfig.hidden: which must be 'h0' or 'c0', got {which!r} (pass the "
                             f"dtype as dtype=...)")
        h = self._rng(which).uniform(-0.5, 0.5, self.hidden_shape).astype(dtype)
        return Tensor._from_data(h, device=device, requires_grad=requires_grad)


@st.composite
def rnn_configs(draw, max_T=4, max_batch=3, max_input_size=4, max_hidden_size=4, max_layers=1,
                batch_first=None, bias=None):
    """:class:`RNNConfig` values: small enough for finite differences (a full gradcheck of an LSTM
    drawn here takes well under a second), with weights scaled so gradients survive ``T`` steps.
    ``batch_first`` / ``bias``: fix them, or None to draw."""
    return RNNConfig(
        T=draw(st.integers(1, max_T)), batch=draw(st.integers(1, max_batch)),
        input_size=draw(st.integers(1, max_input_size)),
        hidden_size=draw(st.integers(1, max_hidden_size)), num_layers=draw(st.integers(1, max_layers)),
        bias=draw(st.booleans()) if bias is None else bias,
        batch_first=draw(st.booleans()) if batch_first is None else batch_first,
        scale=draw(st.floats(0.8, 1.2)), seed=draw(st.integers(0, 2**32 - 1)))
