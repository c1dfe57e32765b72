"""Tensor: an array (NumPy or CuPy) plus what autograd needs to know about it.

A Tensor holds ``array`` (the backend array: NumPy or CuPy), ``grad`` (a Tensor or None),
``requires_grad``, and ``grad_fn``, the graph node (a ``Function`` call) that produced it; leaves
have ``grad_fn=None``. ``data`` is PyTorch's ``.data``: the same values as a Tensor without history.
The library itself computes on ``.array``.
Every operator here is one line that calls a ``Function`` from ``tinygrad_rnn.ops``: read the op
there to see its forward and its gradient side by side.
"""
from __future__ import annotations

import numbers
import weakref

import numpy as np

from . import backend, dtypes
from .autograd import (Function, OpError, OpIndexError, Version, enable_grad, is_grad_enabled,
                       no_grad, run_backward)


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

    ``Tensor(data)`` is PyTorch's legacy constructor ``torch.Tensor``: ``data`` (a nested list or a
    NumPy/CuPy array) becomes the default float dtype (``get_default_dtype()``, float32), sharing
    an array that already has it; a Tensor gives an alias sharing its memory (with its dtype,
    differentiable when it requires grad); ``Tensor(2, 3)`` is an uninitialised (here: zero)
    2x3 float tensor, ``Tensor()`` an empty one. ``tinygrad_rnn.tensor(data)`` (dtype inferred,
    always a copy) and ``as_tensor`` are the modern factories. Beyond PyTorch, ``Tensor`` also takes
    ``requires_grad=``, ``dtype=`` (instead of the default float) and ``device=``.
    """

    __slots__ = ("array", "grad", "_grad_fn", "device", "_requires_grad", "_out_index", "_hooks",
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
        self.grad = self.grad_fn = self._hooks = self._vc = self._base = self._post_hooks = None
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
    def _make(cls, data, device, requires_grad=False, grad_fn=None, index=0):
        """Wrap an array already on ``device`` without any checks (the fast path ops use)."""
        t = object.__new__(cls)
        t.array, t.device, t._requires_grad, t._grad_fn, t._out_index = data, device, requires_grad, grad_fn, index
        t.grad = t._hooks = t._vc = t._base = t._post_hooks = None
        t._retains_grad = False
        return t

    # ------------------------------------------------------------------ autograd state
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
        return Tensor._make(self.array, self.device)

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
        t = Tensor._make(self.array, self.device)
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

    def _mark_changed(self):
        """Count a change made through ``.array`` by library code (optimizer steps, init,
        load_state_dict), so graphs that saved this tensor refuse the new values."""
        self._counter().value += 1

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
            return Tensor._make(self.device.xp.ones(self.array.shape, self.array.dtype), self.device)
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
        return backend.to_numpy(self.array)

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to Python scalars, "
                             f"got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

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

    # ------------------------------------------------------------------ in-place
    # Outside the graph an in-place op writes into this tensor's memory and bumps its version. In
    # the graph (grad mode on and this tensor or the other operand requires grad) it is recorded:
    # the result is computed by the same Functions as the out-of-place op, written into this
    # tensor's memory, and this tensor takes over the result's history. Saved tensors remember
    # their version, so backward refuses to use a value that was changed after it was saved.

    def _operand(self, op, other):
        if isinstance(other, Tensor):
            if other.device != self.device:
                raise OpError(f"{op}: expected all tensors on one device, got {self.device} and "
                              f"{other.device}")
            return other
        if isinstance(other, np.ndarray) or backend.is_array(other):   # arrays: copied to our device
            return Tensor._from_data(other, device=self.device)
        return _scalar(other)

    def _check_inplace(self, op, record):
        if self._requires_grad and self._grad_fn is None and is_grad_enabled():
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place "
                               "operation. Wrap parameter updates in `with no_grad():` as optimizers "
                               "do, or change a .clone() of it.")
        base = self._base
        # a view whose base requires grad, also one taken in no_grad mode or before requires_grad_
        # was set: changing it would change the base behind the graph's back
        if base is not None and (record or base._requires_grad and is_grad_enabled()):
            if base._requires_grad and base.grad_fn is None:
                raise RuntimeError(f"{op}: a view of a leaf Variable that requires grad is being used "
                                   "in an in-place operation. Wrap the change in `with no_grad():`, "
                                   "or change a .clone() of the view.")
            if not record:
                raise RuntimeError(f"{op}: A view was created in no_grad mode and is being modified "
                                   "inplace with grad mode enabled. Take the view with grad mode on, "
                                   "or make the change inside `with no_grad():`.")
            raise RuntimeError(f"{op}: changing a view of a tensor that is part of the graph in place "
                               "is not supported; index the base tensor in one step "
                               "(x[i, j] = v rather than x[i][j] = v) or change a .clone() of the view.")

    def _write(self, op, array):
        """Copy ``array`` into this tensor's memory (PyTorch's casting rule) and bump its version."""
        if array.dtype != self.array.dtype and not dtypes.can_cast(array.dtype, self.array.dtype):
            raise RuntimeError(f"{op}: result type {dtypes.torch_name(array.dtype)} can't be cast to "
                               f"the desired output type {dtypes.torch_name(self.array.dtype)}")
        self.array[...] = array
        self._counter().value += 1

    def _take_history(self, out):
        """After a recorded in-place op: this tensor becomes output ``out`` of its node. Views
        taken before now have a stale history (``rebase``), which they rebuild on first use."""
        c = self._counter()
        c.value += 1
        c.rebase += 1
        self._adopt(out)
        node = out._grad_fn
        if out._vc is not None and node is not None:   # the node saved its output: follow this
            node._versions = [(j, c, c.value) if v is out._vc else (j, v, n)   # tensor's counter
                              for j, v, n in node._versions]

    def _adopt(self, out):
        """Take over the history of ``out``, a tensor of the same values: this tensor becomes that
        output of out's node, and the node that made its old value no longer produces it."""
        prev = self._grad_fn
        if prev is not None:
            prev_outs = list(prev._outputs)
            prev_outs[self._out_index] = _dead_ref
            prev._outputs = tuple(prev_outs)
        node, i = out._grad_fn, out._out_index
        self._grad_fn, self._out_index, self._requires_grad = node, i, out._requires_grad
        if node is not None:
            if self._retains_grad:
                node._retains = True
            outs = list(node._outputs)
            outs[i] = weakref.ref(self)
            node._outputs = tuple(outs)

    def _refresh_view(self, op):
        """Rebuild the history of a view taken before a recorded in-place op on its base: replay
        the view ops that made it on the base's new value, as PyTorch regenerates a view's history
        (``b = zeros(3); v = b[:2]; b.add_(w)`` makes ``v`` the differentiable ``b[:2]`` of the new
        ``b``). Views that cannot be rebuilt raise, naming ``op``, the operation that used them."""
        steps = self._view_ops
        if type(steps) is str:          # the reason it cannot be rebuilt
            raise RuntimeError(f"{op}: {steps}")
        t = self._base
        with enable_grad():             # the history exists whatever the mode it is first read in
            for cls, args, kwargs in steps:
                t = cls.apply(t, *args, **kwargs)
        self._view_epoch = self._vc.rebase
        self._adopt(t)

    def _inplace_op(self, op, fn, *others, saves_self=False):
        """Change this tensor in place to ``fn(self, *others)``, computed with Tensor ops.

        ``saves_self``: the op keeps its first input for backward (mul_, div_, clamp_), so when
        recorded it computes on a copy of the old values, which backward still needs.
        """
        others = tuple(self._operand(op, o) for o in others)
        record = is_grad_enabled() and (self.requires_grad or any(
            isinstance(o, Tensor) and o.requires_grad for o in others))
        self._check_inplace(op, record)
        if not record:
            with no_grad():
                out = fn(self, *others)
            self._write(op, out.array)
            return self
        old = Tensor._make(self.array.copy() if saves_self else self.array, self.device,
                           self._requires_grad, self._grad_fn, self._out_index)
        if not saves_self:
            old._vc = self._counter()
        out = fn(old, *others)
        if out.dtype != self.dtype:
            if not dtypes.can_cast(out.dtype, self.dtype):
                self._write(op, out.array)            # raises PyTorch's casting error
            out = out.to(self.dtype)
        self.array[...] = out.array
        self._take_history(out)
        return self

    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)

    def add_(self, other, alpha=1):
        return self._inplace_op("add_", lambda s, o: s + (o * alpha if alpha != 1 else o), other)

    def sub_(self, other, alpha=1):
        return self._inplace_op("sub_", lambda s, o: s - (o * alpha if alpha != 1 else o), other)

    def mul_(self, other):
        return self._inplace_op("mul_", lambda s, o: s * o, other, saves_self=_needs_grad(other))

    def div_(self, other):
        return self._inplace_op("div_", lambda s, o: s / o, other, saves_self=_needs_grad(other))

    def clamp_(self, min=None, max=None):
        return self._inplace_op("clamp_", lambda s: s.clamp(min, max), saves_self=True)

    clip_ = clamp_

    def copy_(self, src, non_blocking=False):
        """Copy ``src`` (broadcast to this shape; from any device) into this tensor."""
        if isinstance(src, Tensor) and src.device != self.device:
            src = src.to(self.device)
        return self._inplace_op("copy_", _replaced_by, src)

    def fill_(self, value):
        return self._inplace_op("fill_", _replaced_by, value)

    def zero_(self):
        return self._inplace_op("zero_", _replaced_by, 0)

    def __setitem__(self, index, value):
        """``x[index] = value``; recorded in the graph when ``value`` or ``x`` requires grad."""
        idx = ops.raw_index(index, self)
        value = self._operand("setitem", value)
        record = is_grad_enabled() and (self.requires_grad or (
            isinstance(value, Tensor) and value.requires_grad))
        self._check_inplace("setitem", record)
        if isinstance(value, Tensor) and value.dtype != self.dtype:
            value = value.to(self.dtype)             # index assignment casts, as in PyTorch
        if not record:
            target, i = ops.indexing.index_target(self.array, idx)
            target[i] = value.array if isinstance(value, Tensor) else value
            self._counter().value += 1
            return
        old = Tensor._make(self.array, self.device, self._requires_grad, self._grad_fn, self._out_index)
        self._take_history(ops.IndexPut.apply(old, value, idx))

    # ------------------------------------------------------------------ arithmetic
    def _bin(self, fn, other, reflected=False):
        """A binary op with PyTorch's type promotion (``dtypes.result_type``)."""
        a = self
        if type(other) is Tensor or isinstance(other, Tensor):
            if other.array.dtype != a.array.dtype:
                a, other = _promote(a, other)
        else:
            if isinstance(other, np.generic):
                other = other.item()
            if isinstance(other, (int, float)):      # Python numbers (bool is an int)
                dt = a.array.dtype
                if type(other) is float:
                    if dt.kind != "f":
                        a = a.to(dtypes.DEFAULT_FLOAT)
                elif dt.kind == "b":
                    if type(other) is not bool:
                        a = a.to(dtypes.DEFAULT_INT)
                elif dt.kind != "f":
                    other = dtypes.fit_scalar(other, dt)
            elif isinstance(other, np.ndarray) or backend.is_array(other):
                return self._bin(fn, Tensor._from_data(other, device="cpu" if isinstance(other, np.ndarray)
                                                       else None), reflected)
            elif isinstance(other, numbers.Real):
                other = float(other)
            else:
                return NotImplemented
        return fn.apply(other, a) if reflected else fn.apply(a, other)

    def _div(self, other, reflected=False):
        """True division: integer operands give the default float dtype (PyTorch)."""
        if self.array.dtype.kind != "f":
            if not (isinstance(other, float) or isinstance(other, Tensor) and other.array.dtype.kind == "f"):
                return self.to(dtypes.DEFAULT_FLOAT)._bin(ops.Div, other, reflected)
        return self._bin(ops.Div, other, reflected)

    def _bitwise(self, fn, name, other=None):
        kinds = [self.array.dtype.kind] + ([other.array.dtype.kind] if isinstance(other, Tensor) else
                                          ["f"] if isinstance(other, float) else [])
        if "f" in kinds:
            raise TypeError(f"{name}: bitwise operations are only implemented for integer and bool "
                            f"tensors, got {', '.join(str(t.dtype) for t in (self, other) if isinstance(t, Tensor))}")
        return fn.apply(self) if other is None else self._bin(fn, other)

    def __add__(self, o): return self._bin(ops.Add, o)
    def __radd__(self, o): return self._bin(ops.Add, o, True)
    def __sub__(self, o): return self._bin(_no_bool_sub(self, o), o)
    def __rsub__(self, o): return self._bin(_no_bool_sub(self, o), o, True)
    def __mul__(self, o): return self._bin(ops.Mul, o)
    def __rmul__(self, o): return self._bin(ops.Mul, o, True)
    def __truediv__(self, o): return self._div(o)
    def __rtruediv__(self, o): return self._div(o, True)
    def __pow__(self, o):       # integer and bool bases have rules of their own (ops.power)
        return self._bin(ops.Pow, o) if self.array.dtype.kind == "f" else ops.power(self, o)
    def __rpow__(self, o):
        return self._bin(ops.Pow, o, True) if self.array.dtype.kind == "f" else ops.power(self, o, True)
    def __matmul__(self, o): return ops.matmul(self, o)
    def __rmatmul__(self, o): return ops.matmul(o, self)
    def __neg__(self):
        if self.array.dtype.kind == "b":
            raise TypeError("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        return ops.Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return self.abs()

    def __lt__(self, o): return self._bin(ops.Less, o)
    def __le__(self, o): return self._bin(ops.LessEqual, o)
    def __gt__(self, o): return self._bin(ops.Greater, o)
    def __ge__(self, o): return self._bin(ops.GreaterEqual, o)
    def __eq__(self, o): return self._bin(ops.Equal, o)
    def __ne__(self, o): return self._bin(ops.NotEqual, o)
    def __invert__(self): return self._bitwise(ops.BitwiseNot, "bitwise_not")
    def __and__(self, o): return self._bitwise(ops.BitwiseAnd, "bitwise_and", o)
    def __or__(self, o): return self._bitwise(ops.BitwiseOr, "bitwise_or", o)
    def __xor__(self, o): return self._bitwise(ops.BitwiseXor, "bitwise_xor", o)
    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__
    def bitwise_not(self): return ~self
    def bitwise_and(self, o): return self & o
    def bitwise_or(self, o): return self | o
    def bitwise_xor(self, o): return self ^ o
    def logical_not(self): return ops.LogicalNot.apply(self)
    def logical_and(self, o): return self._bin(ops.LogicalAnd, o)
    def logical_or(self, o): return self._bin(ops.LogicalOr, o)
    def logical_xor(self, o): return self._bin(ops.LogicalXor, o)

    def add(self, o, *, alpha=1): return self + _times_alpha("add", self, o, alpha)
    def sub(self, o, *, alpha=1): return self - _times_alpha("sub", self, o, alpha)
    def mul(self, o): return self * o
    def div(self, o, *, rounding_mode=None):
        if rounding_mode is None:
            return self / o
        if rounding_mode == "floor":
            return self // o
        if rounding_mode == "trunc":
            return self._bin(ops.TruncDivide, o)
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                         f"found '{rounding_mode}'")
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
    def _f(self):
        """Floating ops on integer/bool tensors compute in the default float dtype (PyTorch)."""
        return self if self.array.dtype.kind == "f" else self.to(dtypes.DEFAULT_FLOAT)

    def exp(self): return ops.Exp.apply(self._f())
    def log(self): return ops.Log.apply(self._f())
    def sqrt(self): return ops.Sqrt.apply(self._f())
    def abs(self):
        if self.array.dtype.kind == "b":
            raise NotImplementedError("abs is not implemented for bool tensors")
        return ops.Abs.apply(self)
    def sign(self): return ops.Sign.apply(self)
    def sin(self): return ops.Sin.apply(self._f())
    def cos(self): return ops.Cos.apply(self._f())
    def tanh(self): return ops.Tanh.apply(self._f())
    def sigmoid(self): return ops.Sigmoid.apply(self._f())
    def relu(self):
        if self.array.dtype.kind == "b":
            raise TypeError("Boolean inputs not supported for relu")
        return ops.Relu.apply(self)
    def leaky_relu(self, negative_slope=0.01): return ops.LeakyRelu.apply(self, negative_slope)
    def elu(self, alpha=1.0): return ops.Elu.apply(self._f(), alpha)
    def softplus(self, beta=1.0, threshold=20.0): return ops.Softplus.apply(self._f(), beta, threshold)
    def erf(self): return ops.Erf.apply(self._f())
    def gelu(self, approximate="none"): return ops.gelu(self._f(), approximate)
    def clamp(self, min=None, max=None): return ops.clamp(self, min, max)
    clip = clamp
    def maximum(self, other): return self._bin(ops.Maximum, other)
    def minimum(self, other): return self._bin(ops.Minimum, other)
    def where(self, condition, other): return ops.where(condition, self, other)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, *, dtype=None, **np_style):
        return ops.sum(self, dim, keepdim, dtype=dtype, **np_style)
    def mean(self, dim=None, keepdim=False, *, dtype=None, **np_style):
        return ops.mean(self, dim, keepdim, dtype=dtype, **np_style)
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, **np_style):
        return ops.var(self, dim, unbiased, keepdim, correction, **np_style)
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, **np_style):
        return ops.std(self, dim, unbiased, keepdim, correction, **np_style)
    def max(self, dim=None, keepdim=False, **np_style):
        """``x.max()``, ``x.max(dim)`` -> ``(values, indices)``, or ``x.max(other)`` elementwise."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return ops.max(self, dim, keepdim, **np_style)

    def min(self, dim=None, keepdim=False, **np_style):
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return ops.min(self, dim, keepdim, **np_style)

    def amax(self, dim=None, keepdim=False, **np_style): return ops.amax(self, dim, keepdim, **np_style)
    def amin(self, dim=None, keepdim=False, **np_style): return ops.amin(self, dim, keepdim, **np_style)
    def argmax(self, dim=None, keepdim=False, **np_style): return ops.argmax(self, dim, keepdim, **np_style)
    def argmin(self, dim=None, keepdim=False, **np_style): return ops.argmin(self, dim, keepdim, **np_style)
    def logsumexp(self, dim, keepdim=False, **np_style):
        return ops.logsumexp(self._f(), dim, keepdim, **np_style)
    def softmax(self, dim, dtype=None): return ops.softmax(self._f() if dtype is None else self.to(dtype), dim)
    def log_softmax(self, dim, dtype=None):
        return ops.log_softmax(self._f() if dtype is None else self.to(dtype), dim)
    def sum_to_size(self, *shape): return ops.sum_to_size(self, *shape)

    # ------------------------------------------------------------------ shapes
    def reshape(self, *shape): return ops.reshape(self, *shape)
    def view(self, *shape):
        """Like ``reshape``, but never copies: raises where the memory layout does not allow it."""
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
            return self.to(shape[0])             # view(dtype): PyTorch reinterprets bits; we cast
        return ops.view(self, *shape)
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def permute(self, *dims): return ops.permute(self, *dims)
    def transpose(self, dim0, dim1): return ops.transpose(self, dim0, dim1)
    def t(self):
        if self.ndim > 2:
            raise OpError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return ops.transpose(self, 0, 1) if self.ndim == 2 else self
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

    # ------------------------------------------------------------------ everyday ops (PyTorch parity)
    # indexing by index tensors (ops/indexing.py)
    def gather(self, dim, index, sparse_grad=False): return ops.gather(self, dim, index)
    def scatter(self, dim, index, src=None, value=None, reduce=None):
        return ops.scatter(self, dim, index, src, value, reduce)
    def scatter_add(self, dim, index, src): return ops.scatter_add(self, dim, index, src)
    def index_select(self, dim, index): return ops.index_select(self, dim, index)
    def index_add(self, dim, index, source, alpha=1):
        return ops.index_add(self, dim, index, source, alpha)
    def masked_fill(self, mask, value): return ops.masked_fill(self, mask, value)
    def masked_select(self, mask): return ops.masked_select(self, mask)
    def take_along_dim(self, indices, dim=None): return ops.take_along_dim(self, indices, dim)
    def nonzero(self, as_tuple=False): return ops.nonzero(self, as_tuple)

    def scatter_(self, dim, index, src=None, value=None, reduce=None):
        return self._inplace_op("scatter_", lambda s, v: ops.scatter(s, dim, index, v, reduce=reduce),
                                value if src is None else src)
    def scatter_add_(self, dim, index, src):
        return self._inplace_op("scatter_add_", lambda s, v: ops.scatter_add(s, dim, index, v), src)
    def index_add_(self, dim, index, source, alpha=1):
        return self._inplace_op("index_add_", lambda s, v: ops.index_add(s, dim, index, v, alpha),
                                source)
    def masked_fill_(self, mask, value):
        return self._inplace_op("masked_fill_", lambda s, v: ops.masked_fill(s, mask, v), value)

    # reductions, scans and orderings (ops/scan.py, ops/sort.py, ops/linalg.py)
    def prod(self, dim=None, keepdim=False, dtype=None): return ops.prod(self, dim, keepdim, dtype)
    def cumsum(self, dim, dtype=None): return ops.cumsum(self, dim, dtype)
    def cumprod(self, dim, dtype=None): return ops.cumprod(self, dim, dtype)
    def all(self, dim=None, keepdim=False): return ops.all(self, dim, keepdim)
    def any(self, dim=None, keepdim=False): return ops.any(self, dim, keepdim)
    def count_nonzero(self, dim=None): return ops.count_nonzero(self, dim)
    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return ops.norm(self, p, dim, keepdim, dtype)
    def sort(self, dim=-1, descending=False, stable=False): return ops.sort(self, dim, descending, stable)
    def argsort(self, dim=-1, descending=False, stable=False):
        return ops.argsort(self, dim, descending, stable)
    def topk(self, k, dim=-1, largest=True, sorted=True): return ops.topk(self, k, dim, largest, sorted)
    def kthvalue(self, k, dim=-1, keepdim=False): return ops.kthvalue(self, k, dim, keepdim)
    def median(self, dim=None, keepdim=False): return ops.median(self, dim, keepdim)

    # products (ops/linalg.py)
    def mm(self, mat2): return ops.mm(self, mat2)
    def bmm(self, mat2): return ops.bmm(self, mat2)
    def mv(self, vec): return ops.mv(self, vec)
    def dot(self, other): return ops.dot(self, other)
    def outer(self, vec2): return ops.outer(self, vec2)
    def addmm(self, mat1, mat2, *, beta=1, alpha=1): return ops.addmm(self, mat1, mat2, beta, alpha)
    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return ops.baddbmm(self, batch1, batch2, beta, alpha)

    # elementwise (ops/math.py); binary ones go through _bin for PyTorch's type promotion
    def log1p(self): return ops.log1p(self)
    def expm1(self): return ops.expm1(self)
    def log2(self): return ops.log2(self)
    def log10(self): return ops.log10(self)
    def square(self): return ops.square(self)
    def rsqrt(self): return ops.rsqrt(self)
    def reciprocal(self): return ops.reciprocal(self)
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def round(self, decimals=0): return ops.round(self, decimals)
    def trunc(self): return ops.trunc(self)
    fix = trunc
    def frac(self): return ops.frac(self)
    def tan(self): return ops.tan(self)
    def asin(self): return ops.asin(self)
    def acos(self): return ops.acos(self)
    def atan(self): return ops.atan(self)
    arcsin, arccos, arctan = asin, acos, atan
    def sinh(self): return ops.sinh(self)
    def cosh(self): return ops.cosh(self)
    def fmod(self, other): return self._bin(ops.Fmod, other)
    def remainder(self, other): return self._bin(ops.Remainder, other)
    def floor_divide(self, other): return self._bin(ops.FloorDivide, other)
    def __floordiv__(self, o): return self._bin(ops.FloorDivide, o)
    def __rfloordiv__(self, o): return self._bin(ops.FloorDivide, o, True)
    def __mod__(self, o): return self._bin(ops.Remainder, o)
    def __rmod__(self, o): return self._bin(ops.Remainder, o, True)
    def hypot(self, other): return self._bin(ops.Hypot, other)
    def atan2(self, other):
        """atan2(self, other): integer operands compute in the default float dtype (PyTorch)."""
        floating = self.array.dtype.kind == "f" or isinstance(other, float) or (
            isinstance(other, Tensor) and other.array.dtype.kind == "f")
        return (self if floating else self.to(dtypes.DEFAULT_FLOAT))._bin(ops.Atan2, other)
    arctan2 = atan2
    def lerp(self, end, weight): return ops.lerp(self, end, weight)
    def isnan(self): return ops.isnan(self)
    def isinf(self): return ops.isinf(self)
    def isfinite(self): return ops.isfinite(self)
    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return ops.nan_to_num(self, nan, posinf, neginf)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return ops.isclose(self, other, rtol, atol, equal_nan)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return ops.allclose(self, other, rtol, atol, equal_nan)
    def equal(self, other): return ops.equal(self, other)

    # shapes (ops/shape_extra.py)
    def repeat(self, *sizes): return ops.repeat(self, *sizes)
    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return ops.repeat_interleave(self, repeats, dim, output_size)
    def tile(self, *dims): return ops.tile(self, *dims)
    def flip(self, *dims): return ops.flip(self, dims[0] if len(dims) == 1 else dims)
    def roll(self, shifts, dims=None): return ops.roll(self, shifts, dims)
    def tril(self, diagonal=0): return ops.tril(self, diagonal)
    def triu(self, diagonal=0): return ops.triu(self, diagonal)
    def diag(self, diagonal=0): return ops.diag(self, diagonal)
    def diagonal(self, offset=0, dim1=0, dim2=1): return ops.diagonal(self, offset, dim1, dim2)
    def movedim(self, source, destination): return ops.movedim(self, source, destination)
    moveaxis = movedim
    def swapaxes(self, axis0, axis1): return ops.swapaxes(self, axis0, axis1)
    swapdims = swapaxes

    # in-place shape changes: this tensor becomes a differently shaped view of its own memory
    def unsqueeze_(self, dim): return self._reshape_inplace("unsqueeze_", lambda s: s.unsqueeze(dim))
    def squeeze_(self, dim=None): return self._reshape_inplace("squeeze_", lambda s: s.squeeze(dim))
    def t_(self):
        if self.ndim > 2:
            raise OpError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self._reshape_inplace("t_", lambda s: s.t())
    def transpose_(self, dim0, dim1):
        return self._reshape_inplace("transpose_", lambda s: s.transpose(dim0, dim1))
    def swapaxes_(self, axis0, axis1):
        return self._reshape_inplace("swapaxes_", lambda s: s.transpose(axis0, axis1))
    swapdims_ = swapaxes_

    def _reshape_inplace(self, op, view):
        """Make this tensor ``view(self)``: same memory and values, new shape or strides. As in
        PyTorch it counts as an in-place op: it bumps the version (a graph that saved this tensor
        refuses it afterwards), a leaf that requires grad must do it under ``no_grad``, and in the
        graph this tensor takes over the view's history."""
        self._check_inplace(op, False)
        if is_grad_enabled() and self._requires_grad:
            out = view(self)
            prev = self.grad_fn
            if prev is not None:        # the old node no longer produces this tensor
                prev_outs = list(prev._outputs)
                prev_outs[self._out_index] = _dead_ref
                prev._outputs = tuple(prev_outs)
            node, i = out.grad_fn, out._out_index
            outs = list(node._outputs)
            outs[i] = weakref.ref(self)
            node._outputs = tuple(outs)
            self.grad_fn, self._out_index = node, i
        else:
            with no_grad():
                out = view(self)
        self.array = out.array
        self._counter().value += 1
        return self
    def unflatten(self, dim, sizes): return ops.unflatten(self, dim, sizes)
    def unbind(self, dim=0): return ops.unbind(self, dim)
    def narrow(self, dim, start, length): return ops.narrow(self, dim, start, length)
    def broadcast_to(self, *size): return ops.broadcast_to(self, *size)
    def view_as(self, other): return self.view(*other.shape)
    def type_as(self, other): return self.to(other.dtype)

    # creation and facts
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
    def uniform_(self, from_=0.0, to=1.0, *, generator=None):
        """Fill with U(from_, to) in place (``w.data.uniform_(-r, r)``); the same draws as
        ``nn.init.uniform_`` from ``generator`` (default: the default generator)."""
        return self._fill_random("uniform_", lambda rng: rng.uniform(from_, to, self.shape), generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with N(mean, std^2) in place (``m.weight.data.normal_(0.0, 0.02)``)."""
        return self._fill_random("normal_", lambda rng: rng.normal(mean, std, self.shape), generator)

    def _fill_random(self, op, draw, generator):
        if self.array.dtype.kind != "f":
            raise RuntimeError(f"{op}: not implemented for '{dtypes.torch_name(self.dtype)}'; "
                               f"random fills need a floating point tensor")
        from .random import default_generator
        values = np.asarray(draw((generator or default_generator).numpy), self.dtype)
        return self._inplace_op(op, _replaced_by, Tensor._make(backend.to_device(values, self.device),
                                                                self.device))

    def bernoulli(self, p=None, *, generator=None):
        from .random import bernoulli
        return bernoulli(self, p, generator)
    def multinomial(self, num_samples, replacement=False, *, generator=None):
        from .random import multinomial
        return multinomial(self, num_samples, replacement, generator)


def _needs_grad(x):
    return isinstance(x, Tensor) and x.requires_grad


def _times_alpha(op, x, other, alpha):
    """``alpha * other`` for ``add``/``sub(other, alpha=)``; a float alpha needs a float result, as
    in PyTorch (an integer result cannot hold the scaled values)."""
    if isinstance(alpha, float) and x.array.dtype.kind != "f" and not (isinstance(other, float) or (
            isinstance(other, Tensor) and other.array.dtype.kind == "f")):
        raise OpError(f"{op}: For integral input tensors, argument alpha must not be a floating point "
                      f"number (alpha={alpha}, a tensor of dtype {x.dtype})")
    return other if alpha == 1 else other * alpha


def _dead_ref():
    """A weak reference that is always dead (a node output nobody holds any more)."""
    return None


def _no_bool_sub(a, b):
    """PyTorch refuses ``-`` with bool operands (a mask is inverted with ``~``)."""
    if a.array.dtype.kind == "b" or isinstance(b, bool) or (type(b) is Tensor and b.array.dtype.kind == "b"):
        raise TypeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                        "are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return ops.Sub


def _replaced_by(old, value):
    """The result of fill_/copy_/zero_: ``value`` broadcast to ``old``'s shape. ``old`` stays an
    input with zero gradient, so a recorded fill cuts the history as PyTorch's does."""
    keep = Tensor._make(old.device.xp.zeros(old.shape, bool), old.device)
    return ops.where(keep, old, value)


def _promote(a, b):
    """Cast two tensors to their PyTorch result dtype (the casts are differentiable)."""
    dt = dtypes.result_type(a.array, b.array)
    return (a if a.array.dtype == dt else a.to(dt)), (b if b.array.dtype == dt else b.to(dt))


def _looks_like_device(s: str) -> bool:
    return s.split(":")[0] in backend._TYPES


def _is_dtype_name(s: str) -> bool:
    try:
        np.dtype(s)
        return True
    except TypeError:
        return False


_FIELDS = tuple(n for n in Tensor.__slots__ if n != "__weakref__")

# ops need Tensor, and Tensor's methods need ops: the import sits below the class on purpose.
Function._tensor_cls = Tensor
from . import ops  # noqa: E402
