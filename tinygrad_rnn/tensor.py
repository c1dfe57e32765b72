"""Tensor: an array (NumPy or CuPy) plus what autograd needs to know about it.

A Tensor holds ``data`` (the backend array), ``grad`` (a Tensor or None), ``requires_grad``, and
``grad_fn``, the graph node (a ``Function`` call) that produced it; leaves have ``grad_fn=None``.
Every operator here is one line that calls a ``Function`` from ``tinygrad_rnn.ops``: read the op
there to see its forward and its gradient side by side.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

from . import backend
from .autograd import Function, OpError, is_grad_enabled, run_backward

DEFAULT_FLOAT = np.dtype(np.float32)


def as_dtype(dtype, op="Tensor"):
    """Normalise a dtype spec (np.float32, "float32", tinygrad_rnn.float32) and check we support it."""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"{op}: {dtype!r} is not a dtype") from e
    if dt.kind not in "biuf":
        raise TypeError(f"{op}: unsupported dtype {dt}; tensors hold bool, integer or floating point data")
    return dt


def _to_array(data, dtype, dev):
    """Python data / arrays -> an array on ``dev``. Python floats become float32, as in PyTorch."""
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_array(data):
        arr = backend.to_device(data, dev)
    else:
        arr = np.asarray(data)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} data of "
                            f"dtype {arr.dtype}; expected numbers, nested lists of numbers or arrays")
        if dtype is None and arr.dtype == np.float64 and not isinstance(data, np.generic):
            arr = arr.astype(DEFAULT_FLOAT)
        arr = backend.to_device(arr, dev)
    if dtype is not None:
        dt = as_dtype(dtype)
        if arr.dtype != dt:
            arr = arr.astype(dt)
    else:
        as_dtype(arr.dtype)
    return arr


def _scalar(x):
    """NumPy scalars become Python scalars, so they do not upcast float32 tensors."""
    return x.item() if isinstance(x, np.generic) else x


class _HookHandle:
    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)


class Tensor:
    """An n-dimensional array that can record the operations applied to it and differentiate them.

    ``Tensor(data, requires_grad=False, dtype=None, device=None)``: ``data`` may be a Python
    number, a nested list, a NumPy or CuPy array (shared, not copied, when dtype and device already
    match), or a Tensor. ``tinygrad_rnn.tensor(...)`` always copies.
    """

    __slots__ = ("data", "grad", "grad_fn", "device", "_requires_grad", "_out_index", "_hooks",
                 "_retains_grad", "__weakref__")
    __array_ufunc__ = None      # NumPy operators defer to ours: ndarray + Tensor -> Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        dev = backend.device(device) if device is not None else (
            data.device if isinstance(data, Tensor) else
            backend.device_of(data) if backend.is_array(data) and not isinstance(data, np.ndarray)
            else backend.get_default_device())
        self.data = _to_array(data, dtype, dev)
        self.device = dev
        self.grad = self.grad_fn = self._hooks = None
        self._out_index, self._retains_grad, self._requires_grad = 0, False, False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data, device, requires_grad=False, grad_fn=None, index=0):
        """Wrap an array already on ``device`` without any checks (the fast path ops use)."""
        t = object.__new__(cls)
        t.data, t.device, t._requires_grad, t.grad_fn, t._out_index = data, device, requires_grad, grad_fn, index
        t.grad = t._hooks = None
        t._retains_grad = False
        return t

    # ------------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if self.grad_fn is not None and not flag:
            raise RuntimeError("requires_grad: you can only change requires_grad of leaf tensors; "
                               "use .detach() to get a tensor without history")
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating point tensors can require gradients, "
                            f"got dtype {self.data.dtype}; convert with .float() first")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def _edge(self):
        return (self.grad_fn, self._out_index) if self.grad_fn is not None else self

    def detach(self):
        """The same data with no history: gradients stop here (the tool truncated BPTT needs)."""
        return Tensor._make(self.data, self.device)

    def detach_(self):
        self.grad_fn, self._requires_grad = None, False
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        if self.grad_fn is not None:
            self._retains_grad = True

    @property
    def retains_grad(self):
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor replaces it."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = {}
        key = object()
        self._hooks[key] = hook
        return _HookHandle(self._hooks, key)

    def _default_grad(self, gradient):
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs; "
                                   f"this output has shape {self.shape}: pass gradient=")
            return Tensor._make(self.device.xp.ones(self.data.shape, self.data.dtype), self.device)
        g = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=self.dtype, device=self.device)
        if g.shape != self.shape:
            raise RuntimeError(f"backward: gradient has shape {g.shape} but the output has shape {self.shape}")
        if g.device != self.device:
            raise RuntimeError(f"backward: gradient is on {g.device} but the output is on {self.device}")
        return g

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Add d(self)/d(leaf) (times ``gradient``) into every leaf's ``.grad``.

        The graph's saved buffers are freed afterwards unless ``retain_graph=True``;
        ``create_graph=True`` records the backward pass so gradients can be differentiated again.
        """
        if not self._requires_grad:
            raise RuntimeError("backward: element 0 of tensors does not require grad and does not have a "
                               "grad_fn (did you create it under no_grad() or from detached tensors?)")
        run_backward([self], [self._default_grad(gradient)],
                     create_graph if retain_graph is None else retain_graph, create_graph)

    # ------------------------------------------------------------------ array-like facts
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared on the CPU, copied from a GPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to Python scalars, "
                             f"got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous (shape {self.shape})")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors of a single element can be used as an index, got {self.dtype}")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extra = []
        if self.device.type != "cpu":
            extra.append(f"device='{self.device}'")
        if self.dtype not in (DEFAULT_FLOAT, np.dtype(np.int64), np.dtype(bool)) or self.data.size == 0:
            extra.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extra.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ------------------------------------------------------------------ devices and dtypes
    def to(self, *args, dtype=None, device=None):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``; differentiable."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (str, backend.Device)) and (not isinstance(a, str) or _looks_like_device(a)):
                device = a
            elif isinstance(a, str) and not _is_dtype_name(a):
                raise TypeError(f"to: {a!r} is neither a device (one of {sorted(backend._TYPES)}, "
                                f"optionally with ':index') nor a dtype (float32, int64, ...)")
            else:
                dtype = a
        t = self
        if device is not None and backend.device(device) != t.device:
            t = ops.ToDevice.apply(t, backend.device(device))
        if dtype is not None and as_dtype(dtype, "to") != t.dtype:
            t = ops.Cast.apply(t, as_dtype(dtype, "to"))
        return t

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index=None):
        return self.to("cuda" if index is None else f"cuda:{index}")

    def type(self, dtype):
        return self.to(dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def clone(self):
        return ops.Clone.apply(self)

    def contiguous(self):
        return self if self.data.flags.c_contiguous else ops.Clone.apply(self)

    # ------------------------------------------------------------------ in-place (no history)
    def _inplace(self, op, other):
        if self._requires_grad and is_grad_enabled():
            raise RuntimeError(f"{op}: a tensor that requires grad cannot be changed in place while grad "
                               "mode is on; wrap the update in `with no_grad():` as optimizers do")
        if isinstance(other, Tensor):
            if other.device != self.device:
                raise OpError(f"{op}: tensors are on {self.device} and {other.device}")
            other = other.data
        elif isinstance(other, np.ndarray):    # host data: copied to this tensor's device
            other = backend.to_device(other, self.device)
        return other

    def _apply_inplace(self, op, fn, other):
        other = self._inplace(op, other)
        self.data[...] = fn(self.data, other)
        return self

    def __iadd__(self, other): return self._apply_inplace("add_", operator.add, other)
    def __isub__(self, other): return self._apply_inplace("sub_", operator.sub, other)
    def __imul__(self, other): return self._apply_inplace("mul_", operator.mul, other)
    def __itruediv__(self, other): return self._apply_inplace("div_", operator.truediv, other)
    def add_(self, other, alpha=1): return self._apply_inplace("add_", lambda a, b: a + alpha * b, other)
    def sub_(self, other, alpha=1): return self._apply_inplace("sub_", lambda a, b: a - alpha * b, other)
    def mul_(self, other): return self._apply_inplace("mul_", operator.mul, other)
    def div_(self, other): return self._apply_inplace("div_", operator.truediv, other)
    def copy_(self, src): return self._apply_inplace("copy_", lambda a, b: b, src)
    def fill_(self, value): return self._apply_inplace("fill_", lambda a, b: b, value)
    def zero_(self): return self._apply_inplace("zero_", lambda a, b: b, 0)
    def clamp_(self, min=None, max=None):
        return self._apply_inplace("clamp_", lambda a, b: self.device.xp.clip(a, min, max), None)

    def __setitem__(self, index, value):
        value = self._inplace("setitem", value)
        self.data[ops.raw_index(index, self)] = value

    # ------------------------------------------------------------------ arithmetic
    def _bin(self, fn, other, reflected=False):
        if isinstance(other, np.ndarray):
            other = Tensor(other, device="cpu")
        elif not isinstance(other, (Tensor, numbers.Number)) and not backend.is_array(other):
            return NotImplemented
        other = _scalar(other)
        if not isinstance(other, (Tensor, numbers.Number)):
            other = Tensor(other)
        return fn.apply(other, self) if reflected else fn.apply(self, other)

    def __add__(self, o): return self._bin(ops.Add, o)
    def __radd__(self, o): return self._bin(ops.Add, o, True)
    def __sub__(self, o): return self._bin(ops.Sub, o)
    def __rsub__(self, o): return self._bin(ops.Sub, o, True)
    def __mul__(self, o): return self._bin(ops.Mul, o)
    def __rmul__(self, o): return self._bin(ops.Mul, o, True)
    def __truediv__(self, o): return self._bin(ops.Div, o)
    def __rtruediv__(self, o): return self._bin(ops.Div, o, True)
    def __pow__(self, o): return self._bin(ops.Pow, o)
    def __rpow__(self, o): return self._bin(ops.Pow, o, True)
    def __matmul__(self, o): return self._bin(ops.Matmul, o)
    def __rmatmul__(self, o): return self._bin(ops.Matmul, o, True)
    def __neg__(self): return ops.Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return ops.Abs.apply(self)

    def __lt__(self, o): return self._bin(ops.Less, o)
    def __le__(self, o): return self._bin(ops.LessEqual, o)
    def __gt__(self, o): return self._bin(ops.Greater, o)
    def __ge__(self, o): return self._bin(ops.GreaterEqual, o)
    def __eq__(self, o): return self._bin(ops.Equal, o)
    def __ne__(self, o): return self._bin(ops.NotEqual, o)
    def __invert__(self): return ops.LogicalNot.apply(self)
    def __and__(self, o): return self._bin(ops.LogicalAnd, o)
    def __or__(self, o): return self._bin(ops.LogicalOr, o)

    def add(self, o): return self + o
    def sub(self, o): return self - o
    def mul(self, o): return self * o
    def div(self, o): return self / o
    def pow(self, o): return self ** o
    def matmul(self, o): return self @ o
    def neg(self): return -self
    def lt(self, o): return self < o
    def le(self, o): return self <= o
    def gt(self, o): return self > o
    def ge(self, o): return self >= o
    def eq(self, o): return self == o
    def ne(self, o): return self != o

    # ------------------------------------------------------------------ elementwise functions
    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sqrt(self): return ops.Sqrt.apply(self)
    def abs(self): return ops.Abs.apply(self)
    def sign(self): return ops.Sign.apply(self)
    def sin(self): return ops.Sin.apply(self)
    def cos(self): return ops.Cos.apply(self)
    def tanh(self): return ops.Tanh.apply(self)
    def sigmoid(self): return ops.Sigmoid.apply(self)
    def relu(self): return ops.Relu.apply(self)
    def leaky_relu(self, negative_slope=0.01): return ops.LeakyRelu.apply(self, negative_slope)
    def elu(self, alpha=1.0): return ops.Elu.apply(self, alpha)
    def softplus(self, beta=1.0, threshold=20.0): return ops.Softplus.apply(self, beta, threshold)
    def erf(self): return ops.Erf.apply(self)
    def gelu(self, approximate="none"): return ops.gelu(self, approximate)
    def clamp(self, min=None, max=None): return ops.Clamp.apply(self, min, max)
    clip = clamp
    def maximum(self, other): return self._bin(ops.Maximum, other)
    def minimum(self, other): return self._bin(ops.Minimum, other)
    def where(self, condition, other): return ops.where(condition, self, other)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, **np_style): return ops.sum(self, dim, keepdim, **np_style)
    def mean(self, dim=None, keepdim=False, **np_style): return ops.mean(self, dim, keepdim, **np_style)
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, **np_style):
        return ops.var(self, dim, unbiased, keepdim, correction, **np_style)
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, **np_style):
        return ops.std(self, dim, unbiased, keepdim, correction, **np_style)
    def max(self, dim=None, keepdim=False, **np_style): return ops.max(self, dim, keepdim, **np_style)
    def min(self, dim=None, keepdim=False, **np_style): return ops.min(self, dim, keepdim, **np_style)
    def amax(self, dim=None, keepdim=False, **np_style): return ops.amax(self, dim, keepdim, **np_style)
    def amin(self, dim=None, keepdim=False, **np_style): return ops.amin(self, dim, keepdim, **np_style)
    def argmax(self, dim=None, keepdim=False, **np_style): return ops.argmax(self, dim, keepdim, **np_style)
    def argmin(self, dim=None, keepdim=False, **np_style): return ops.argmin(self, dim, keepdim, **np_style)
    def logsumexp(self, dim, keepdim=False, **np_style): return ops.logsumexp(self, dim, keepdim, **np_style)
    def softmax(self, dim): return ops.softmax(self, dim)
    def log_softmax(self, dim): return ops.log_softmax(self, dim)
    def sum_to_size(self, *shape): return ops.sum_to_size(self, *shape)

    # ------------------------------------------------------------------ shapes
    def reshape(self, *shape): return ops.reshape(self, *shape)
    def view(self, *shape): return ops.reshape(self, *shape)
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def permute(self, *dims): return ops.permute(self, *dims)
    def transpose(self, dim0, dim1): return ops.transpose(self, dim0, dim1)
    def t(self): return ops.transpose(self, 0, 1) if self.ndim == 2 else self
    @property
    def T(self): return ops.permute(self, *reversed(range(self.ndim)))
    @property
    def mT(self): return ops.transpose(self, -2, -1)
    def squeeze(self, dim=None): return ops.squeeze(self, dim)
    def unsqueeze(self, dim): return ops.unsqueeze(self, dim)
    def expand(self, *shape): return ops.expand(self, *shape)
    def expand_as(self, other): return ops.expand(self, *other.shape)
    def reshape_as(self, other): return ops.reshape(self, *other.shape)
    def split(self, split_size_or_sections, dim=0): return ops.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return ops.chunk(self, chunks, dim)
    def pad(self, pad, value=0.0): return ops.pad(self, pad, value)
    def __getitem__(self, index): return ops.getitem(self, index)


def _looks_like_device(s: str) -> bool:
    return s.split(":")[0] in backend._TYPES


def _is_dtype_name(s: str) -> bool:
    try:
        np.dtype(s)
        return True
    except TypeError:
        return False


# ops need Tensor, and Tensor's methods need ops: the import sits below the class on purpose.
Function._tensor_cls = Tensor
from . import ops  # noqa: E402
