"""Primitive differentiable operations, one small Function class per op, grouped by kind.

``tensor.py`` calls these; read an op here to see its forward and gradient side by side.
"""
from .convert import Cast, Clone, ToDevice
from .elementwise import (Abs, Add, BitwiseAnd, BitwiseNot, BitwiseOr, BitwiseXor, Clamp, Cos, Div,
                          Elu, Equal, Erf, Exp, Greater, GreaterEqual, LeakyRelu, Less, LessEqual,
                          Log, LogicalAnd, LogicalNot, LogicalOr, LogicalXor, Maximum, Minimum, Mul,
                          Neg, NotEqual, Pow, Relu, Sigmoid, Sign, Sin, Softplus, Sqrt, Sub, Tanh,
                          TruncDivide, Where, clamp, erf_array, gelu, power, where)
from .linalg import Matmul, matmul
from .reduce import (Amax, Amin, ArgMax, ArgMin, LogSoftmax, Softmax, Sum, SumTo, amax, amin, argmax,
                     argmin, log_softmax, logsumexp, max, mean, min, softmax, std, sum, sum_to_size, var)
from .shape import (Cat, Expand, Getitem, IndexAdd, IndexPut, Pad, Permute, Reshape, Split, ZeroAt, cat,
                    chunk, expand, flatten, getitem, pad, permute, raw_index, reshape, split, squeeze,
                    stack, transpose, unsqueeze, view)
# everyday ops (PyTorch parity)
from .einsum import Einsum, einsum
from .indexing import (Scatter, gather, index_add, index_select, masked_fill, masked_select, nonzero,
                       scatter, scatter_add, take_along_dim)
from .linalg import VectorNorm, addmm, baddbmm, bmm, dot, matrix_norm, mm, mv, norm, outer, vector_norm
from .math import (Acos, Asin, Atan, Atan2, Ceil, Cosh, Expm1, Floor, FloorDivide, Fmod, Hypot, IsClose,
                   IsFinite, IsInf, IsNan, Log10, Log1p, Log2, NanToNum, Remainder, Round, Sinh, Tan,
                   Trunc, acos, allclose, asin, atan, ceil, cosh, equal, expm1, floor, frac, isclose,
                   isfinite, isinf, isnan, lerp, log10, log1p, log2, nan_to_num, reciprocal, round,
                   rsqrt, sinh, square, tan, trunc)
from .scan import (All, Any, CountNonzero, Cumprod, Cumsum, Prod, all, any, count_nonzero, cumprod,
                   cumsum, prod)
from .shape_extra import (broadcast_to, concat, concatenate, diag, diagonal, flip, hstack, meshgrid,
                          movedim, narrow, repeat, repeat_interleave, roll, swapaxes, tile, tril, triu,
                          unbind, unflatten, vstack)
from .sort import (KthvalueResult, MedianResult, SortResult, TopkResult, argsort, kthvalue, median, sort,
                   topk)
