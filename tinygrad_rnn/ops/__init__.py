"""Primitive differentiable operations, one small Function class per op, grouped by kind.

``tensor.py`` calls these; read an op here to see its forward and gradient side by side.
"""
from .convert import Cast, Clone, ToDevice
from .elementwise import (Abs, Add, Clamp, Cos, Div, Elu, Equal, Erf, Exp, Greater, GreaterEqual,
                          LeakyRelu, Less, LessEqual, Log, LogicalAnd, LogicalNot, LogicalOr,
                          Maximum, Minimum, Mul, Neg, NotEqual, Pow, Relu, Sigmoid, Sign, Sin,
                          Softplus, Sqrt, Sub, Tanh, Where, erf_array, gelu, where)
from .linalg import Matmul
from .reduce import (Amax, Amin, ArgMax, ArgMin, LogSoftmax, Softmax, Sum, SumTo, amax, amin, argmax,
                     argmin, log_softmax, logsumexp, max, mean, min, softmax, std, sum, sum_to_size, var)
from .shape import (Cat, Expand, Getitem, IndexAdd, Pad, Permute, Reshape, Split, cat, chunk, expand,
                    flatten, getitem, pad, permute, raw_index, reshape, split, squeeze, stack, transpose,
                    unsqueeze)
