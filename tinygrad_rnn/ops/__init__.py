"""Differentiable operations, one small Function class per op, grouped by concept:

* ``elementwise``: arithmetic and smooth functions (+ - * / **, exp, log, trigonometry, sigmoid)
* ``piecewise``: kinks and jumps (abs, relu, clamp, maximum, rounding, division with remainder)
* ``compare``: comparisons, logic, ``where`` and the floating point tests
* ``reduce``: sums, means, max/min, softmax; ``scan``: prod, cumsum, cumprod, all/any
* ``shape``: reshape, permute, expand, cat/split, flip, pad, ...; ``indexing``: ``x[i]``, gather,
  scatter, masked ops
* ``linalg``: matmul and the named products, norms; ``einsum``; ``sort``: orderings
* ``convert``: dtype casts, device moves, copies
* fused kernels for ``nn``: ``conv``, ``pool``, ``rnn``, ``nn_ops`` (imported by ``nn``)

``tensor.py`` calls these; read an op to see its forward and its gradient side by side.
"""
from .convert import Cast, Clone, ToDevice
from .elementwise import (Acos, Add, Asin, Atan, Atan2, Cos, Cosh, Div, Erf, Exp, Expm1, Hypot, Log,
                          Log1p, Log2, Log10, Mul, Neg, Pow, Sigmoid, Sin, Sinh, Softplus, Sqrt, Sub,
                          Tan, Tanh, acos, asin, atan, cosh, erf_array, expm1, gelu, lerp, log1p,
                          log2, log10, power, reciprocal, rsqrt, sinh, square, tan)
from .piecewise import (Abs, Ceil, Clamp, Elu, Floor, FloorDivide, Fmod, LeakyRelu, Maximum, Minimum,
                        NanToNum, Relu, Remainder, Round, Sign, Trunc, TruncDivide, ceil, clamp,
                        floor, frac, nan_to_num, round, trunc)
from .compare import (BitwiseAnd, BitwiseNot, BitwiseOr, BitwiseXor, Equal, Greater, GreaterEqual,
                      IsClose, IsFinite, IsInf, IsNan, Less, LessEqual, LogicalAnd, LogicalNot,
                      LogicalOr, LogicalXor, NotEqual, Where, allclose, equal, isclose, isfinite,
                      isinf, isnan, where)
from .linalg import (Matmul, VectorNorm, addmm, baddbmm, bmm, dot, matmul, matrix_norm, mm, mv, norm,
                     outer, vector_norm)
from .reduce import (Amax, Amin, ArgMax, ArgMin, LogSoftmax, Softmax, Sum, SumTo, amax, amin, argmax,
                     argmin, log_softmax, logsumexp, max, mean, min, softmax, std, sum, sum_to_size, var)
from .indexing import (Getitem, IndexAdd, IndexPut, Scatter, ZeroAt, gather, getitem, index_add,
                       index_select, masked_fill, masked_select, nonzero, raw_index, scatter,
                       scatter_add, take_along_dim)
from .shape import (Cat, Expand, Pad, Permute, Reshape, Split, broadcast_to, cat, chunk, concat,
                    concatenate, diag, diagonal, expand, flatten, flip, hstack, meshgrid, movedim,
                    narrow, pad, permute, repeat, repeat_interleave, reshape, roll, split, squeeze,
                    stack, swapaxes, tile, transpose, tril, triu, unbind, unflatten, unsqueeze, view,
                    vstack)
from .einsum import Einsum, einsum
from .scan import (All, Any, CountNonzero, Cumprod, Cumsum, Prod, all, any, count_nonzero, cumprod,
                   cumsum, prod)
from .sort import (KthvalueResult, MedianResult, SortResult, TopkResult, argsort, kthvalue, median, sort,
                   topk)
