"""tinygrad_rnn: a small, readable autograd engine on NumPy (CPU) and CuPy (GPU).

    import tinygrad_rnn as tg
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4., 6.])
"""
import numpy as _np

from . import autograd, backend, ops
from .autograd import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                       set_grad_enabled)
from .backend import Device, device, get_default_device, set_default_device
from .creation import arange, eye, full, full_like, linspace, ones, ones_like, tensor, zeros, zeros_like
from .functions import (abs, amax, amin, arccos, arcsin, arctan, arctan2, argmax, argmin,
                        atan2, clamp, clip, cos, erf, exp, fix, flatten, floor_divide, fmod, hypot,
                        log, log_softmax, logsumexp, matmul, max, maximum, mean, min, minimum,
                        moveaxis, numel, permute, relu, remainder, reshape, sigmoid, sign, sin,
                        softmax, sqrt, squeeze, std, sum, swapdims, tanh, transpose, unsqueeze, var)
from .ops import cat, chunk, erf_array as _erf_array, pad, split, stack, where  # noqa: F401
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed, rand,
                     randint, randn, randperm, set_rng_state)
from .tensor import Tensor
from .dtypes import get_default_dtype, set_default_dtype
from .legacy import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor,
                     LongTensor, ShortTensor)
from .threads import get_num_threads, set_num_threads
# everyday ops (PyTorch parity)
from . import accelerator, cuda, linalg
from .creation import as_tensor, empty, empty_like, from_numpy, is_floating_point, is_tensor
from .random import bernoulli, multinomial, normal, rand_like, randint_like, randn_like
from .ops import (acos, addmm, all, allclose, any, argsort, asin, atan, baddbmm, bmm,  # noqa: F401
                  broadcast_to, ceil, concat, concatenate, cosh, count_nonzero, cumprod, cumsum, diag,
                  diagonal, dot, einsum, equal, expm1, flip, floor, frac, gather, hstack, index_add,
                  index_select, isclose, isfinite, isinf, isnan, kthvalue, lerp, log10, log1p, log2,
                  masked_fill, masked_select, median, meshgrid, mm, movedim, mv, nan_to_num, narrow,
                  nonzero, norm, outer, prod, reciprocal, repeat_interleave, roll, round, rsqrt,
                  scatter, scatter_add, sinh, sort, square, swapaxes, take_along_dim, tan, tile, topk,
                  tril, triu, trunc, unbind, unflatten, vstack)
from .ops.indexing import where  # noqa: F811  (also where(condition) alone: nonzero)

__version__ = "0.1.0"

float16 = half = _np.dtype(_np.float16)
float32 = float = _np.dtype(_np.float32)
float64 = double = _np.dtype(_np.float64)
int8 = _np.dtype(_np.int8)
uint8 = _np.dtype(_np.uint8)
int16 = _np.dtype(_np.int16)
int32 = int = _np.dtype(_np.int32)
int64 = long = _np.dtype(_np.int64)
bool = _np.dtype(_np.bool_)

from . import data, datasets  # noqa: E402
from .serialization import load, save  # noqa: E402
from . import optim  # noqa: E402
from . import nn  # noqa: E402
from . import distributed  # noqa: E402  (mpi4py/cupy are imported by init_process_group only)
from . import debug  # noqa: E402
from .jit import jit  # noqa: E402
from . import utils  # noqa: E402  (utils.data is tinygrad_rnn.data, as torch.utils.data)
# torch.autograd's detect_anomaly, trace_backward and Variable: see autograd.__getattr__
