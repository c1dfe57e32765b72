"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d.

PyTorch's names, arguments, parameter shapes, initialisation and printouts, so a state dict copied
from PyTorch gives the same outputs and gradients. The arithmetic lives in ``ops/conv.py``.
"""
from __future__ import annotations

from ..creation import zeros
from ..ops import conv as C
from . import init
from .module import Module
from .parameter import Parameter


class _ConvNd(Module):
    """What Conv1d/2d and ConvTranspose1d/2d share: argument checks, parameters, init, repr."""

    _spatial = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, output_padding=0, device=None, dtype=None):
        super().__init__()
        n = self._spatial
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in C.ntuple(stride, n, "stride", self._get_name())):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in C.PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(C.PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        name = self._get_name()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = C.ntuple(kernel_size, n, "kernel_size", name)
        self.stride = C.ntuple(stride, n, "stride", name)
        self.padding = padding if isinstance(padding, str) else C.ntuple(padding, n, "padding", name)
        self.dilation = C.ntuple(dilation, n, "dilation", name)
        self.transposed = self._transposed
        self.output_padding = C.ntuple(output_padding, n, "output_padding", name)
        self.groups, self.padding_mode = groups, padding_mode
        # per spatial dim (before, after): what a non-zero padding_mode pads explicitly
        if padding == "same":
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            self._pads = tuple((t // 2, t - t // 2) for t in total)
        elif padding == "valid":
            self._pads = ((0, 0),) * n
        else:
            self._pads = tuple((p, p) for p in self.padding)
        shape = (in_channels, out_channels // groups) if self._transposed else \
            (out_channels, in_channels // groups)
        self.weight = Parameter(zeros(*shape, *self.kernel_size, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(zeros(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init._default_uniform_(self.weight, self.bias)

    def extra_repr(self):
        n = self._spatial
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _conv_forward(self, input, fn):
        if self.padding_mode != "zeros":
            return fn(C.pad_mode(input, self._pads, self.padding_mode), self.weight, self.bias,
                      self.stride, 0, self.dilation, self.groups)
        return fn(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class _Conv(_ConvNd):
    """What Conv1d/2d share: PyTorch's constructor arguments and defaults."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device=device, dtype=dtype)


class Conv2d(_Conv):
    """2-D convolution layer: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out).

    ``weight``: (out_channels, in_channels / groups, kH, kW), ``bias``: (out_channels,), both
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * kH * kW.
    ``padding``: int, pair, 'valid' or 'same'; ``padding_mode``: 'zeros', 'reflect', 'replicate'
    or 'circular'.
    """

    def forward(self, input):
        return self._conv_forward(input, C.conv2d)


class Conv1d(_Conv):
    """1-D convolution layer: (N, C_in, L) or (C_in, L) -> (N, C_out, L_out); ``weight``
    (out_channels, in_channels / groups, k). Otherwise as :class:`Conv2d`."""
    _spatial = 1

    def forward(self, input):
        return self._conv_forward(input, C.conv1d)


class _ConvTransposeNd(_ConvNd):
    """What ConvTranspose1d/2d share: PyTorch's constructor arguments and defaults, output_size."""
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, output_padding, device=device, dtype=dtype)

    def _output_padding(self, input, output_size):
        """The output_padding that gives ``output_size`` (PyTorch's rule and message)."""
        if output_size is None:
            return self.output_padding
        n = self._spatial
        given = list(output_size)
        if len(given) not in (n, n + 1, n + 2):
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must have {n} "
                             f"or {n + 2} elements (got {len(given)})")
        output_size = given[-n:]
        size_in = input.shape[-n:]
        mins = [(i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k in
                zip(size_in, self.stride, self.padding, self.dilation, self.kernel_size)]
        maxs = [m + s - 1 for m, s in zip(mins, self.stride)]
        for size, lo, hi in zip(output_size, mins, maxs):
            if not lo <= size <= hi:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes range "
                                 f"from {mins} to {maxs} (for an input of {list(size_in)})")
        return tuple(int(size - lo) for size, lo in zip(output_size, mins))

    def forward(self, input, output_size=None):
        fn = C.conv_transpose2d if self._spatial == 2 else C.conv_transpose1d
        return fn(input, self.weight, self.bias, self.stride, self.padding,
                  self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution (the input-gradient of Conv2d; upsampling in decoders):
    (N, C_in, H, W) -> (N, C_out, H_out, W_out) with H_out = (H - 1) stride - 2 padding +
    dilation (kH - 1) + output_padding + 1. ``weight``: (in_channels, out_channels / groups, kH, kW).
    ``forward(input, output_size=None)``: ``output_size`` picks the output_padding."""


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution: (N, C_in, L) -> (N, C_out, L_out); ``weight`` (in_channels,
    out_channels / groups, k). Otherwise as :class:`ConvTranspose2d`."""
    _spatial = 1
