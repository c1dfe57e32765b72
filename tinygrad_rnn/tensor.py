"""Tensor: an array (NumPy or CuPy) plus what autograd needs to know about it.

A Tensor holds ``array`` (the backend array: NumPy or CuPy), ``grad`` (a Tensor or None),
``requires_grad``, and ``grad_fn``, the graph node (a ``Function`` call) that produced it; leaves
have ``grad_fn=None``. ``data`` is PyTorch's ``.data``: the same values as a Tensor without history.
The library itself computes on ``.array``; ``Tensor.wrap(array, device)`` makes a Tensor around an
array that is already on its device.

This file holds the Tensor's state: construction, autograd (``requires_grad``, ``grad_fn``,
``backward``, hooks, version counters), facts about the array, devices and dtypes. Its methods that
compute live in four base classes, one file each, every method one call into ``tinygrad_rnn.ops``
(read the op there to see its forward and its gradient side by side):

* ``tensor_math.py``: operators with PyTorch's type promotion, elementwise functions, products;
* ``tensor_shape.py``: reshape, permute, expand, split, ..., ``x[index]``, gather, scatter;
* ``tensor_reduce.py``: sum, mean, max, softmax, cumsum, sort, ...;
* ``tensor_inplace.py``: ``add_``, ``x[i] = v``, ``copy_``, ... and the history they rewrite.
"""
from __future__ import annotations

import numbers
import weakref

import numpy as np

from . import autograd, backend, dtypes, tensor_inplace, tensor_math, tensor_reduce, tensor_shape
from .autograd import Function, OpIndexError, Version, run_backward
from .tensor_inplace import InplaceMethods
from .tensor_math import MathMethods
from .tensor_reduce import ReduceMethods
from .tensor_shape import ShapeMethods


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
        data = data.array
    if backend.is_array(data):
        arr = backend.to_device(data, dev)
    else:
        try:
            arr = np.asarray(data)
        except ValueError:
            _check_ragged(data)
            raise
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} data of "
                            f"dtype {arr.dtype}; expected numbers, nested lists of numbers or arrays")
        if dtype is None and arr.dtype == np.float64 and not isinstance(data, np.generic):
            arr = arr.astype(dtypes.DEFAULT_FLOAT)
        arr = backend.to_device(arr, dev)
    if dtype is not None:
        dt = as_dtype(dtype)
        if arr.dtype != dt:
            arr = arr.astype(dt)
    else:
        as_dtype(arr.dtype)
    return arr


def _check_ragged(data, dim=0):
    """Raise PyTorch's message for nested lists of unequal lengths."""
    if not isinstance(data, (list, tuple)) or not data:
        return
    lengths = [len(d) if isinstance(d, (list, tuple)) else None for d in data]
    first = lengths[0]
    for n in lengths[1:]:
        if n != first:
            raise ValueError(f"expected sequence of length {first} at dim {dim + 1} (got {n})"
                             if n is not None and first is not None else
                             f"tensor: ragged nested sequence at dim {dim + 1}")
    for d in data:
        _check_ragged(d, dim + 1)


def _is_size(x):
    """An int (not a bool) given to ``Tensor(...)`` is a size, as in ``Tensor(2, 3)``."""
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


class _HookHandle:
    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)


class Tensor(MathMethods, ShapeMethods, ReduceMethods, InplaceMethods):
    """An n-dimensional array that can record the operations applied to it and differentiate them.

    ``Tensor(data)`` is PyTorch's legacy constructor ``torch.Tensor``: ``data`` (a nested list or a
    NumPy/CuPy array) becomes the default float dtype (``get_default_dtype()``, float32), sharing
    an array that already has it; a Tensor gives an alias sharing its memory (with its dtype,
    differentiable when it requires grad); ``Tensor(2, 3)`` is an uninitialised (here: zero)
    2x3 float tensor, ``Tensor()`` an empty one. ``tinygrad_rnn.tensor(data)`` (dtype inferred,
    always a copy) and ``as_tensor`` are the modern factories. Beyond PyTorch, ``Tensor`` also takes
    ``requires_grad=``, ``dtype=`` (instead of the default float) and ``device=``.
    """

    __slots__ = ("array", "_grad", "_grad_fn", "device", "_requires_grad", "_out_index", "_hooks",
                 "_retains_grad", "_vc", "_base", "_view_epoch", "_view_ops", "_post_hooks",
                 "__weakref__")
    __array_ufunc__ = None      # NumPy operators defer to ours: ndarray + Tensor -> Tensor.__radd__

    def __init__(self, *args, requires_grad=False, dtype=None, device=None):
        if len(args) == 1 and not _is_size(args[0]):
            data = args[0]
            if isinstance(data, Tensor):
                if dtype is None and (device is None or backend.device(device) == data.device):
                    self._alias(data, requires_grad)
                    return
            elif isinstance(data, (numbers.Number, np.generic, str)):
                raise TypeError(f"Tensor(): data must be a sequence (got {type(data).__name__}); "
                                f"use tinygrad_rnn.tensor({data!r}) for a 0-d tensor")
            elif dtype is None:
                dtype = dtypes.DEFAULT_FLOAT
            self._setup(data, requires_grad, dtype, device)
            return
        if not all(_is_size(a) for a in args):
            raise TypeError(f"Tensor(): expected data (a sequence or an array) or sizes as ints, got "
                            f"({', '.join(type(a).__name__ for a in args)})")
        if any(a < 0 for a in args):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(args)}: "
                               f"{[int(a) for a in args]}")
        dev = backend.device(device) if device is not None else backend.get_default_device()
        shape = tuple(int(a) for a in args) if args else (0,)
        self._setup(dev.xp.zeros(shape, as_dtype(dtype or dtypes.DEFAULT_FLOAT)), requires_grad, None, dev)

    @classmethod
    def _from_data(cls, data, requires_grad=False, dtype=None, device=None):
        """The constructor the library uses: ``data`` (a Python number, nested list, array or
        Tensor) keeps its dtype as in ``tinygrad_rnn.tensor`` unless ``dtype`` is given; an array
        (or a Tensor's array) already of that dtype and device is shared, not copied."""
        t = object.__new__(cls)
        t._setup(data, requires_grad, dtype, device)
        return t

    def _setup(self, data, requires_grad, dtype, device):
        dev = backend.device(device) if device is not None else (
            data.device if isinstance(data, Tensor) else
            backend.device_of(data) if backend.is_array(data) and not isinstance(data, np.ndarray)
            else backend.get_default_device())
        self.array = _to_array(data, dtype, dev)
        self.device = dev
        self._grad = self.grad_fn = self._hooks = self._vc = self._base = self._post_hooks = None
        if isinstance(data, Tensor) and self.array is data.array:
            self._vc = data._counter()      # the same memory: the same version counter
        self._out_index, self._retains_grad, self._requires_grad = 0, False, False
        if requires_grad:
            self.requires_grad = True

    def _alias(self, src, requires_grad):
        """``Tensor(src)``: become a view of all of ``src`` (PyTorch's alias), recorded in the graph
        when ``src`` requires grad, so gradients flow back through it."""
        out = ops.Reshape.apply(src, src.shape)     # a view op: shares memory, version and base
        for name in _FIELDS:
            setattr(self, name, getattr(out, name))
        if out.grad_fn is not None:           # the node's output is now this object, not ``out``
            outs = list(out.grad_fn._outputs)
            outs[out._out_index] = weakref.ref(self)
            out.grad_fn._outputs = tuple(outs)
        elif requires_grad:
            self.requires_grad = True

    @classmethod
    def wrap(cls, array, device, requires_grad=False, grad_fn=None, index=0):
        """A Tensor around ``array``, a NumPy or CuPy array of a supported dtype that is already on
        ``device`` (a ``Device``): no copy and no checks, the fast way for library code, custom
        ops and the engine to hand back arrays they computed. ``Tensor.wrap(a, x.device)`` shares
        ``a``'s memory and starts a fresh version counter. ``grad_fn`` and ``index`` (which of the
        node's outputs this is) attach it to a graph node; that is the engine's business."""
        t = object.__new__(cls)
        t.array, t.device, t._requires_grad, t._grad_fn, t._out_index = array, device, requires_grad, grad_fn, index
        t._grad = t._hooks = t._vc = t._base = t._post_hooks = None
        t._retains_grad = False
        return t

    _make = wrap    # the engine's spelling (autograd.py; jit.py watches both names)

    # ------------------------------------------------------------------ autograd state
    @property
    def grad(self):
        """The gradient backward added up for this tensor (a Tensor, or None)."""
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = value
        if autograd.recorder is not None:       # tg.jit: ``p.grad = None`` is replayed too
            autograd.recorder.set_grad(self, value)

    @property
    def requires_grad(self) -> bool:
        if self._base is not None and self._view_epoch != self._vc.rebase:
            if type(self._view_ops) is str:     # using it raises; until then report the base's flag
                return self._base._requires_grad
            self._refresh_view("requires_grad")
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if self.grad_fn is not None and not flag:
            raise RuntimeError("requires_grad: you can only change requires_grad of leaf tensors; "
                               "use .detach() to get a tensor without history")
        if flag and self.array.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating point tensors can require gradients, "
                            f"got dtype {self.array.dtype}; convert with .float() first")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self):
        """The graph node that made this tensor (None for leaves and tensors without history)."""
        if self._base is not None and self._view_epoch != self._vc.rebase:
            self._refresh_view("grad_fn")
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node):
        self._grad_fn = node
        if node is not None and self._retains_grad:
            node._retains = True

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def data(self):
        """This tensor's values as a Tensor without history, sharing memory (PyTorch's ``.data``).

        Unlike ``detach()`` it has its own version counter: changes made through it
        (``p.data.add_(g, alpha=-lr)``) are invisible to autograd's in-place checks, so a graph that
        saved this tensor silently uses the new values, as in PyTorch. Prefer ``detach()`` or
        ``with no_grad():`` in new code. The raw NumPy/CuPy array is ``.array``."""
        return Tensor.wrap(self.array, self.device)

    @data.setter
    def data(self, value):
        """``t.data = other``: ``t`` now holds ``other``'s memory (shape, dtype and device may
        change); ``t`` keeps its identity, ``requires_grad``, ``grad`` and version counter."""
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if self._requires_grad and value.array.dtype.kind != "f":
            raise RuntimeError("data set to a tensor that requires gradients must be floating point "
                               "or complex dtype")
        self.array, self.device = value.array, value.device

    def _edge(self):
        return (self.grad_fn, self._out_index) if self.grad_fn is not None else self

    def detach(self):
        """The same data with no history: gradients stop here (the tool truncated BPTT needs).
        It shares memory and the version counter with ``self``, as in PyTorch."""
        t = Tensor.wrap(self.array, self.device)
        t._vc = self._counter()
        return t

    def detach_(self):
        if self._base is not None:      # as PyTorch: it would get history again from its base
            raise RuntimeError("detach_: can't detach a view in place; use .detach() instead")
        self.grad_fn, self._requires_grad = None, False
        return self

    # -- version counters: how in-place changes to saved tensors are caught
    def _counter(self):
        c = self._vc
        if c is None:
            c = self._vc = Version()
        return c

    def bump_version(self):
        """Count one in-place change made by writing into ``.array`` directly (as optimizer steps,
        ``nn.init`` and ``load_state_dict`` do), so that a graph which saved this tensor, or a
        view or ``detach()`` of it, refuses the new values in backward. Ops such as ``add_`` and
        ``x[i] = v`` count their changes themselves."""
        self._counter().value += 1

    _mark_changed = bump_version    # the engine's spelling (autograd.py)

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's storage has seen (PyTorch's ``t._version``)."""
        return 0 if self._vc is None else self._vc.value

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        if self.grad_fn is not None:
            self._retains_grad = True
            self._grad_fn._retains = True       # the engine looks at outputs of such nodes only

    @property
    def retains_grad(self):
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        key = object()
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
        else:
            # kept on the graph node, as PyTorch does: the hook fires even if this tensor object is
            # gone by the time backward runs (h = cell(x, h) in a loop, hooking every h)
            node = self.grad_fn
            if node._out_hooks is None:
                node._out_hooks = {}
            hooks = node._out_hooks.setdefault(self._out_index, {})
        hooks[key] = hook
        return _HookHandle(hooks, key)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` on this leaf after backward has added into its ``.grad`` (what
        data-parallel training uses to start averaging gradients). Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_hooks is None:
            self._post_hooks = {}
        key = object()
        self._post_hooks[key] = hook
        return _HookHandle(self._post_hooks, key)

    def _default_grad(self, gradient):
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs; "
                                   f"this output has shape {self.shape}: pass gradient=")
            return Tensor.wrap(self.device.xp.ones(self.array.shape, self.array.dtype), self.device)
        g = gradient if isinstance(gradient, Tensor) else \
            Tensor._from_data(gradient, dtype=self.dtype, device=self.device)
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
        if not self.requires_grad:
            raise RuntimeError("backward: element 0 of tensors does not require grad and does not have a "
                               "grad_fn (did you create it under no_grad() or from detached tensors?)")
        run_backward([self], [self._default_grad(gradient)],
                     create_graph if retain_graph is None else retain_graph, create_graph)

    # ------------------------------------------------------------------ array-like facts
    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self):
        return self.array.dtype

    def size(self, dim=None):
        if dim is None:
            return self.array.shape
        if self.array.ndim == 0:
            raise OpIndexError(f"size: Dimension specified as {dim} but tensor has no dimensions")
        return self.array.shape[ops.common.normalize_dim("size", dim, self.array.ndim)]

    def dim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return int(self.array.size)

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared on the CPU, copied from a GPU)."""
        out = backend.to_numpy(self.array)
        if autograd.recorder is not None:       # tg.jit: the step sees values (see jit.py)
            autograd.recorder.read(self, out)
        return out

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to Python scalars, "
                             f"got shape {self.shape}")
        out = backend.to_numpy(self.array).reshape(()).item()
        if autograd.recorder is not None:
            autograd.recorder.read(self, out)
        return out

    def tolist(self):
        out = backend.to_numpy(self.array).tolist()
        if autograd.recorder is not None:
            autograd.recorder.read(self, out)
        return out

    def __bool__(self):
        if self.array.size != 1:
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

    def __format__(self, spec):
        """``f"{loss:.4f}"``: a 0-d tensor formats as its Python number, as in PyTorch; other
        tensors (and Parameters) only take the empty spec, which gives ``str(t)``."""
        if self.array.ndim == 0 and type(self) is Tensor:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extra = []
        if self.device.type != "cpu":
            extra.append(f"device='{self.device}'")
        if self.dtype not in (dtypes.DEFAULT_FLOAT, np.dtype(np.int64), np.dtype(bool)) or self.array.size == 0:
            extra.append(f"dtype={self.dtype}")
        try:
            fn = None if self.grad_fn is None else repr(self.grad_fn)
        except RuntimeError:        # a view whose history cannot be rebuilt (PyTorch prints this)
            fn = "<Invalid>"
        if fn is not None:
            extra.append(f"grad_fn={fn}")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ------------------------------------------------------------------ devices and dtypes
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``; differentiable.
        ``non_blocking`` is accepted (copies here are synchronous); ``copy=True`` always copies."""
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
        return t.clone() if copy and t is self else t

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index=None):
        return self.to("cuda" if index is None else f"cuda:{index}")

    def type(self, dtype=None):
        """``t.type(tinygrad_rnn.float64)``, ``t.type(LongTensor)`` or ``t.type("torch.LongTensor")``
        cast; ``t.type()`` names the type as PyTorch does (``"torch.FloatTensor"``)."""
        from . import legacy
        if dtype is None:
            return legacy.type_name(self)
        legacy_dtype = legacy.legacy_dtype(dtype)
        return self.to(dtype if legacy_dtype is None else legacy_dtype)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

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
        return self if self.array.flags.c_contiguous else ops.Clone.apply(self)
    def type_as(self, other): return self.to(other.dtype)

    # ------------------------------------------------------------------ creation and random draws
    def _new(self, factory, *args, dtype=None, device=None, requires_grad=False):
        """``new_zeros`` & co: a ``tinygrad_rnn.creation`` factory with this tensor's dtype and device
        unless others are given."""
        from . import creation
        return getattr(creation, factory)(*args, dtype=dtype or self.dtype, device=device or self.device,
                                          requires_grad=requires_grad)
    def new(self, *args, device=None):
        """The legacy ``Tensor(...)`` constructor with this tensor's dtype and device:
        ``w.new(2, 3)`` (zeros here, uninitialised in PyTorch), ``w.new([1, 2])``."""
        return Tensor(*args, dtype=self.dtype, device=device or self.device)
    def new_zeros(self, *size, **kwargs): return self._new("zeros", *size, **kwargs)
    def new_ones(self, *size, **kwargs): return self._new("ones", *size, **kwargs)
    def new_empty(self, *size, **kwargs): return self._new("empty", *size, **kwargs)
    def new_full(self, size, fill_value, **kwargs): return self._new("full", size, fill_value, **kwargs)
    def new_tensor(self, data, **kwargs): return self._new("tensor", data, **kwargs)
    def is_floating_point(self): return self.array.dtype.kind == "f"
    def element_size(self): return self.array.dtype.itemsize
    @property
    def itemsize(self): return self.array.dtype.itemsize
    @property
    def nbytes(self): return int(self.array.size) * self.array.dtype.itemsize

    def bernoulli(self, p=None, *, generator=None):
        from .random import bernoulli
        return bernoulli(self, p, generator)
    def multinomial(self, num_samples, replacement=False, *, generator=None):
        from .random import multinomial
        return multinomial(self, num_samples, replacement, generator)


def _looks_like_device(s: str) -> bool:
    return s.split(":")[0] in backend._TYPES


def _is_dtype_name(s: str) -> bool:
    try:
        np.dtype(s)
        return True
    except TypeError:
        return False


_FIELDS = tuple(n for n in Tensor.__slots__ if n != "__weakref__")

# ops need Tensor, and Tensor's methods need ops: the import sits below the class on purpose, and
# the files of Tensor's methods get both names once both exist.
Function._tensor_cls = Tensor
from . import ops  # noqa: E402

for _methods in (tensor_inplace, tensor_math, tensor_reduce, tensor_shape):
    _methods.Tensor, _methods.ops = Tensor, ops
del _methods
