"""Normalisation layers: LayerNorm (per sample), GroupNorm (per sample and group of channels) and
BatchNorm1d/2d (per channel, over the batch)."""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd import replayed
from ..creation import ones, tensor, zeros
from . import functional as F
from .module import Module
from .parameter import Parameter


class _AffineNorm(Module):
    """Shared by the normalisation layers: the optional per-element scale ``weight`` (ones) and
    shift ``bias`` (zeros) applied after normalising."""

    def _init_affine(self, shape, affine, bias, device, dtype):
        if affine:
            self.weight = Parameter(ones(shape, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight.array[...] = 1
        if self.bias is not None:
            self.bias.array[...] = 0


class LayerNorm(_AffineNorm):
    """Normalise each sample over its last dims ``normalized_shape`` (mean 0, biased variance 1),
    then scale by ``weight`` and shift by ``bias`` (both of shape ``normalized_shape``, initialised
    to ones and zeros). (*, *normalized_shape) -> same shape."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None,
                 dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self._init_affine(self.normalized_shape, elementwise_affine, bias, device, dtype)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(_AffineNorm):
    """Normalise each sample's ``num_groups`` groups of channels over their channels and positions
    (mean 0, biased variance 1), then scale and shift per channel by ``weight``/``bias`` (C,),
    initialised to ones and zeros. (N, C, *) -> same shape; C = ``num_channels``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *,
                 bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self._init_affine(num_channels, affine, bias, device, dtype)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _BatchNorm(_AffineNorm):
    """Shared by BatchNorm1d/2d: parameters ``weight``/``bias`` (C,), buffers ``running_mean``,
    ``running_var`` (C,) and ``num_batches_tracked`` (int64 scalar)."""

    _expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self._init_affine(num_features, affine, bias, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=np.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        super().reset_parameters()

    def _check_input_dim(self, input):
        if input.ndim not in self._expected_dims:
            want = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(f"{type(self).__name__}: expected {want} input (got {input.ndim}D input "
                             f"of shape {tuple(input.shape)})")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels in dim 1, "
                             f"got input of shape {tuple(input.shape)}")

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            _count_batch(self.num_batches_tracked)
            if self.momentum is None:   # cumulative moving average over all batches seen
                factor = _CumulativeFactor(self.num_batches_tracked)
        # batch statistics while training, or always when there are no running statistics
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias, use_batch,
                            factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


@replayed
def _count_batch(count):
    """One more batch seen (a call tg.jit makes again at every replay)."""
    count.array[...] += 1
    count.bump_version()


class _CumulativeFactor:
    """The running statistics' factor 1 / (batches seen), read when they are updated."""

    def __init__(self, count):
        self.count = count

    def __float__(self):
        return 1.0 / float(self.count.array)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L): each channel is normalised with the batch mean
    and biased variance over N (and L) while training; running_mean/running_var are updated as
    (1 - momentum) * running + momentum * batch (with the unbiased variance) and used in eval mode."""
    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W), per channel over N, H, W; see BatchNorm1d."""
    _expected_dims = (4,)
