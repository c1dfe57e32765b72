"""``tg.jit``: record what a step computes once, then replay it as a flat array program.

The eager engine pays Python's cost per op: a Tensor object per result, a graph node, argument
checks and dispatch, often more than the NumPy call itself. A training step runs the same ops on
arrays of the same shapes thousands of times, so ``fast = tg.jit(step)`` does this:

1. Record. The first call runs ``step`` eagerly, as always, while a ``Recorder`` watches the
   engine through its hooks (``autograd.recorder``). Every op's forward and every node's backward
   run on *traced* arrays (``Traced``): stand-ins that hold the real array and log each NumPy call
   made on them. The engine's own gradient arithmetic (summing broadcasts away, adding what
   arrives twice) runs on them too. An op that cannot be logged call by call (it branches on its
   data, draws random numbers, or uses a NumPy feature the stand-in does not know) is logged as
   one call of its forward and backward instead, which is always faithful.
2. Compile. The log becomes the source of one Python function, one line per NumPy call, each
   intermediate array deleted after its last use (``fast.code()`` shows it).
3. Replay. Later calls whose tensor arguments have the same shapes, dtypes and devices (and the
   same grad mode and other arguments) run that function: no Tensor, no graph, no dispatch.
   Optimizer steps, ``zero_grad``, gradient clipping, learning-rate schedules, running statistics
   and random draws are recorded as calls made again at each replay, so step counts, learning
   rates and random numbers advance exactly as in eager mode.

What is lost: Python code runs only while recording, and control flow is captured as traced. A
step that reads a tensor's value (``.item()``, ``bool(t)``, ``.tolist()``) gets a guard: at replay
the value is checked, and if it differs the call runs eagerly instead. A value the step only
returns is recomputed, not guarded. Hooks are refused. Tensors created inside the step from Python
or NumPy data are constants of the recording (pass data that changes as an argument).
"""
from __future__ import annotations

import collections.abc
import functools
import itertools
import re
import warnings

import numpy as np

from . import autograd, backend
from .autograd import Function

__all__ = ["jit", "JitError"]


class JitError(RuntimeError):
    """The step does something a recording cannot reproduce faithfully; the message says what."""


class _NotFine(Exception):
    """An op cannot be logged call by call (inside the recorder: it is logged as one call)."""


class _GuardFailed(Exception):
    """A value the step branched on differs from the recording's."""


# ============================================================================= traced arrays

class Traced:
    """A stand-in for an array while an op runs under recording: the real array (``value``) and
    its number in the program (``slot``). NumPy calls on it are logged and give new stand-ins.
    Asking for its data in Python (``float(t)``, ``bool(t)``, ``np.asarray(t)``) is refused: the
    op is then logged as one call instead."""
    __slots__ = ("value", "slot", "rec")

    def __init__(self, value, slot, rec):
        self.value, self.slot, self.rec = value, slot, rec

    # NumPy's protocols: every ufunc and array function given a stand-in comes here
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return self.rec.numpy_call(fn, inputs, kwargs, scalars_ok=method == "__call__")

    def __array_function__(self, func, types, args, kwargs):
        return self.rec.numpy_call(func, args, kwargs)

    def __array__(self, *args, **kwargs):
        raise _NotFine("the op converts an array with np.asarray / np.array")

    def _refuse(self, *args, **kwargs):
        raise _NotFine("the op reads array values in Python")

    def __getattr__(self, name):            # strides, flags, base, ...: not logged
        raise _NotFine(f"the op uses the array attribute {name!r}")

    __bool__ = __float__ = __int__ = __index__ = __iter__ = item = tolist = _refuse
    __hash__ = object.__hash__

    # facts that do not depend on the data
    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)
    itemsize = property(lambda self: self.value.itemsize)
    nbytes = property(lambda self: self.value.nbytes)

    def __len__(self):
        return len(self.value)

    @property
    def array_module(self):
        return backend.get_array_module(self.value)

    @property
    def T(self):
        return self.rec.numpy_call(np.transpose, (self,), {})

    def __getitem__(self, index):
        return self.rec.numpy_call(_getitem, (self, index), {})

    def __setitem__(self, index, value):
        self.rec.numpy_call(_setitem, (self, index, value), {}, into=self)

    def __repr__(self):
        return f"Traced(v{self.slot}, {self.value.shape}, {self.value.dtype})"


def _getitem(a, index):
    return a[index]


def _setitem(a, index, value):
    a[index] = value


def _method(name):
    """``a.name(...)`` as a function of the array (what the program calls), and the stand-in's
    method that logs it."""
    def fn(a, *args, **kwargs):
        return getattr(a, name)(*args, **kwargs)
    fn.__name__ = name
    _METHODS[fn] = name                     # the program writes it as a method call

    def method(self, *args, **kwargs):
        return self.rec.numpy_call(fn, (self,) + args, kwargs)
    method.__name__ = name
    return method


_METHODS = {}
for _name in ("sum", "max", "min", "mean", "prod", "any", "all", "argmax", "argmin", "cumsum",
              "cumprod", "clip", "repeat", "take", "dot", "var", "std", "round", "trace",
              "diagonal", "squeeze", "swapaxes", "ravel", "flatten", "copy", "astype", "reshape",
              "transpose", "fill", "sort", "argsort", "view"):
    setattr(Traced, _name, _method(_name))


def _ufunc_method(ufunc, reflected=False):
    if reflected:
        return lambda self, other: self.rec.numpy_call(ufunc, (other, self), {}, scalars_ok=True)
    return lambda self, other: self.rec.numpy_call(ufunc, (self, other), {}, scalars_ok=True)


def _inplace_method(ufunc):
    def op(self, other):
        self.rec.numpy_call(ufunc, (self, other), {"out": (self,)}, into=self)
        return self
    return op


for _name, _uf in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("floordiv", np.floor_divide), ("mod", np.remainder),
                   ("pow", np.power), ("matmul", np.matmul), ("and", np.bitwise_and),
                   ("or", np.bitwise_or), ("xor", np.bitwise_xor)):
    setattr(Traced, f"__{_name}__", _ufunc_method(_uf))
    setattr(Traced, f"__r{_name}__", _ufunc_method(_uf, True))
    setattr(Traced, f"__i{_name}__", _inplace_method(_uf))
for _name, _uf in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)):
    setattr(Traced, f"__{_name}__", _ufunc_method(_uf))
for _name, _uf in (("neg", np.negative), ("pos", np.positive), ("abs", np.absolute),
                   ("invert", np.invert)):
    setattr(Traced, f"__{_name}__",
            (lambda uf: lambda self: self.rec.numpy_call(uf, (self,), {}))(_uf))
del _name, _uf


# ============================================================================= recording

class _Slot:
    """Slot ``k`` (an array of the program) where it appears in a logged call's arguments."""
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k


class _Line:
    """One line of the program. ``kind`` says how it is written (see ``Compiler.emit``)."""
    __slots__ = ("kind", "fn", "args", "kwargs", "outs", "info")

    def __init__(self, kind, fn=None, args=(), kwargs=None, outs=(), info=None):
        self.kind, self.fn, self.args, self.kwargs = kind, fn, args, kwargs or {}
        self.outs, self.info = outs, info


class Recorder:
    """Watches one eager run of a step and writes down its array program (see the module docs)."""

    def __init__(self, inputs):
        self.lines = []             # the program so far
        self.fine = None            # while an op is logged call by call: its own lines
        self.slot_of = {}           # id(array) -> slot, for every array the program knows
        self.arrays = []            # every array recorded: their ids stay unique meanwhile
        self.count = itertools.count()
        self.inputs = {id(t): i for i, t in enumerate(inputs)}
        self.input_arrays = {id(t.array): t for t in inputs}    # an argument's array passed bare
        self.depth = 0              # > 0 inside a call logged whole: nothing inside is logged
        self.effects = 0            # state-changing lines so far (an update, a write, a draw)
        self.reads = []             # (the value read, its guard line, effects before it)
        self.modes = {}             # node -> "fine" or the slot of its ctx (logged whole)
        self.traced_state = {}      # node -> {attribute: stand-in} (ops logged call by call)
        self.outside = {}           # id(tensor) -> (tensor, version) for tensors from outside
        self.writes = {}            # id(tensor) -> in-place changes the program makes to it
        self.read_slots = []        # slots holding a tensor from outside, as last read
        self.consts = set()         # slots holding a constant of the recording
        self.modules = set()
        self.born = set()           # ids of tensors made during the recording (see _watch_births)

    # ------------------------------------------------------------------ slots
    def emit(self, line):
        (self.fine if self.fine is not None else self.lines).append(line)

    def new_slot(self, array):
        k = next(self.count)
        self.slot_of[id(array)] = k
        self.arrays.append(array)
        return k

    def slot_of_tensor(self, t):
        """The slot of tensor ``t``'s array here: a value the program computed, an argument, or a
        tensor from outside (a parameter, a buffer) read at this point."""
        a = t.array
        if type(a) is Traced:
            return a.slot
        k = self.slot_of.get(id(a))
        if k is not None:
            return k
        i = self.inputs.get(id(t))
        if i is None and id(t) in self.born:    # made during the step around an array the program
            return self.traced(a).slot          # does not know: a constant of the recording
        k = self.new_slot(a)
        if i is not None:
            self.emit(_Line("input", args=(i,), outs=(k,)))
        else:
            self.outside.setdefault(id(t), (t, t._version))
            self.read_slots.append(id(a))
            self.emit(_Line("read", args=(t,), outs=(k,)))
        return k

    def traced(self, value):
        """A stand-in for ``value``: arrays the program knows get their slot; other arrays are
        constants of the recording; anything else is itself."""
        if type(value) is Traced or not (isinstance(value, np.generic) or backend.is_array(value)):
            return value
        k = self.slot_of.get(id(value))
        if k is None and id(value) in self.input_arrays:
            k = self.slot_of_tensor(self.input_arrays[id(value)])
        if k is None:
            k = self.new_slot(value)
            self.consts.add(k)
            self.emit(_Line("const", args=(value,), outs=(k,)))
        return Traced(value, k, self)

    def after_effect(self, counts=True):
        """A state change: tensors from outside are read again when next used (their array may
        have been replaced). ``counts``: a later failing guard could not undo it by running the
        step eagerly from the start (not so for ``zero_grad``, which that would simply redo)."""
        self.effects += counts
        for key in self.read_slots:
            self.slot_of.pop(key, None)
        self.read_slots = []

    def unwrap(self, obj):
        if type(obj) is Traced:
            return obj.value
        if type(obj) in (tuple, list):
            return type(obj)(self.unwrap(o) for o in obj)
        if type(obj) is dict:
            return {k: self.unwrap(v) for k, v in obj.items()}
        return obj

    def refs(self, obj):
        """``obj`` with every stand-in replaced by a reference to its slot."""
        if type(obj) is Traced:
            return _Slot(obj.slot)
        if type(obj) in (tuple, list):
            return type(obj)(self.refs(o) for o in obj)
        if type(obj) is dict:
            return {k: self.refs(v) for k, v in obj.items()}
        if isinstance(obj, slice) and any(type(p) is Traced for p in (obj.start, obj.stop, obj.step)):
            raise _NotFine("a slice bound taken from an array")
        if isinstance(obj, np.ndarray):
            return _Slot(self.traced(obj).slot)
        return obj

    # ------------------------------------------------------------------ NumPy calls
    def numpy_call(self, fn, args, kwargs, scalars_ok=False, into=None):
        """Run ``fn`` on the real arrays and log the call; its arrays come back as stand-ins.
        (Outside an op too: the backward pass's own gradient arithmetic is logged this way.)"""
        out = kwargs.get("out")
        if out is not None:
            outs = out if type(out) is tuple else (out,)
            if len(outs) != 1 or type(outs[0]) is not Traced:
                raise _NotFine("an op writes into an array that is not part of the program")
            into = outs[0]
        result = fn(*self.unwrap(args), **self.unwrap(kwargs))
        ref_args, ref_kwargs = self.refs(args), self.refs(kwargs)
        if into is not None:                # written into an existing array: no new slot
            self.emit(_Line("call", fn, ref_args, ref_kwargs))
            return into
        if scalars_ok:
            ref_args = _numbers_as_arrays(fn, ref_args, args, result)
        if isinstance(result, np.generic):
            result, fn = np.asarray(result), _ZeroD(fn)
        if backend.is_array(result):
            k = self.new_slot(result)
            self.emit(_Line("call", fn, ref_args, ref_kwargs, (k,)))
            return Traced(result, k, self)
        if type(result) in (tuple, list) and result and all(backend.is_array(r) for r in result):
            ks = tuple(self.new_slot(r) for r in result)
            self.emit(_Line("call", fn, ref_args, ref_kwargs, ks, info="several"))
            return type(result)(Traced(r, k, self) for r, k in zip(result, ks))
        raise _NotFine(f"{getattr(fn, '__name__', fn)} gives a {type(result).__name__}, not arrays")

    # ------------------------------------------------------------------ forward
    def forward(self, cls, ctx, args, arrays, kwargs):
        """An op's forward: logged call by call when it can be, else as one call."""
        if self.depth:
            return _forward(cls, ctx, arrays, kwargs)
        slots = [self.slot_of_tensor(a) if isinstance(a, Function._tensor_cls) else None
                 for a in args]
        out = None if getattr(cls, "jit_whole", False) else \
            self.fine_forward(cls, ctx, arrays, kwargs, slots)
        if out is None:
            out = self.whole_forward(cls, ctx, arrays, kwargs, slots)
        return out

    def fine_forward(self, cls, ctx, arrays, kwargs, slots):
        before = dict(vars(ctx))
        outer, self.fine = self.fine, []
        stand_ins = [Traced(a.value if type(a) is Traced else a, k, self) if k is not None
                     else self.traced(a) for a, k in zip(arrays, slots)]
        try:
            out = _forward(cls, ctx, stand_ins, kwargs, reraise=_NotFine)
            if not (type(out) is Traced or type(out) is tuple and all(type(o) is Traced for o in out)):
                raise _NotFine("forward returned something that is not a computed array")
        except _NotFine:
            _restore_vars(ctx, before)
            self.fine = outer
            return None
        lines, self.fine = self.fine, outer
        for line in lines:
            self.emit(line)
        # the eager graph keeps the real arrays; backward gets the stand-ins back (traced_state)
        state = {}
        for name, v in list(vars(ctx).items()):
            if _holds_traced(v):
                state[name] = v
                setattr(ctx, name, self.unwrap(v))
        self.traced_state[ctx] = state
        self.modes[ctx] = "fine"
        return self.unwrap(out)

    def whole_forward(self, cls, ctx, arrays, kwargs, slots):
        real = [a.value if type(a) is Traced else a for a in arrays]
        self.depth += 1
        try:
            out = _forward(cls, ctx, real, kwargs)
        finally:
            self.depth -= 1
        multi = type(out) is tuple
        ks = tuple(self.new_slot(np.asarray(o) if isinstance(o, np.generic) else o)
                   for o in (out if multi else (out,)))
        ctx_k = next(self.count)
        refs = tuple(_Slot(k) if k is not None else self.refs(a) for a, k in zip(real, slots))
        self.emit(_Line("forward", cls, refs, kwargs, ks, info=(ctx_k, ctx.needs_input_grad, multi)))
        if getattr(cls, "jit_whole", False):
            self.after_effect()             # it draws random numbers: a replay must draw them too
        self.modes[ctx] = ctx_k
        return out

    # ------------------------------------------------------------------ backward
    def backward(self, bpass, node, grads):
        """A node's backward (array mode; a recorded backward pass runs Tensor ops instead)."""
        if not bpass.arrays:
            return bpass.call_backward(node, grads)
        mode = self.modes.get(node)
        if mode is None:
            raise JitError(f"jit: backward reaches {autograd.op_name(type(node))}, an op computed "
                           "before the step began (a graph kept from an earlier call); pass its "
                           "result in as an input, detached, or compute it inside the step")
        if node._out_hooks is not None or node._retains:
            raise JitError("jit: hooks on tensors (register_hook, retain_grad) are not supported in "
                           "a recorded step")
        grads = [self.traced(g) if g is not None else None for g in grads]
        if mode == "fine":
            got = self.fine_backward(bpass, node, grads)
            return got if got is not None else self.whole_backward(bpass, node, grads, None)
        return self.whole_backward(bpass, node, grads, mode)

    def fine_backward(self, bpass, node, grads):
        saved = node._saved
        if saved is None:
            raise RuntimeError(autograd.FREED_GRAPH)
        state = self.traced_state.get(node, {})
        real_state = {name: getattr(node, name) for name in state}
        outer, self.fine = self.fine, []
        versions = node._versions
        T = Function._tensor_cls
        try:
            for name, v in state.items():
                setattr(node, name, v)
            stand_ins = [self.traced(s.array) if isinstance(s, (T, autograd._SavedOutput))
                         else self.traced(s) for s in saved]
            if not node.array_backward:     # a backward written with Tensor ops: Tensors of them
                stand_ins = [T.wrap(s, node._device) if type(s) is Traced else s for s in stand_ins]
            node._saved = stand_ins
            node._versions = ()
            got = bpass.call_backward(node, grads)
            got = tuple(self.traced(g.array) if isinstance(g, T) else g for g in got)
            if not all(g is None or type(g) is Traced for g in got):
                raise _NotFine("backward returned something that is not a computed array")
        except _NotFine:
            return None
        finally:
            node._saved, node._versions = saved, versions
            for name, v in real_state.items():
                setattr(node, name, v)
            lines, self.fine = self.fine, outer
        for line in lines:
            self.emit(line)
        return got

    def whole_backward(self, bpass, node, grads, ctx_k):
        """The backward as one call: on the ctx its forward (one call too) filled at replay, or,
        when the forward was logged call by call (``ctx_k`` None), on a ctx rebuilt at replay from
        what the node keeps: its saved values and attributes, the arrays among them as slots."""
        if ctx_k is None:
            ctx_k = self.rebuilt_ctx(node)
        real = [g.value if g is not None else None for g in grads]
        self.depth += 1
        try:
            got = bpass.call_backward(node, real)     # it fills zeros for unused outputs
        finally:
            self.depth -= 1
        T = Function._tensor_cls
        got = tuple(g.array if isinstance(g, T) else g for g in got)
        ks = tuple(self.new_slot(g) if g is not None else None for g in got)
        refs = []
        for g, filled in zip(grads, real):
            if g is not None:
                refs.append(_Slot(g.slot))
            elif filled is not None:            # the same zeros, made anew at each replay
                k = self.new_slot(filled)
                self.emit(_Line("zeros", args=(filled.shape, filled.dtype), outs=(k,)))
                refs.append(_Slot(k))
            else:
                refs.append(None)
        refs = tuple(refs)
        self.emit(_Line("backward", type(node), refs, outs=ks, info=ctx_k))
        return tuple(Traced(g, k, self) if g is not None else None for g, k in zip(got, ks))

    def rebuilt_ctx(self, node):
        T = Function._tensor_cls
        state = self.traced_state.get(node, {})
        attrs = {}
        for name, v in vars(node).items():
            if name in state:
                attrs[name] = self.refs(state[name])
            elif not name.startswith("_") and name != "needs_input_grad":
                attrs[name] = self.refs(v)      # arrays among them: by slot
        saved = [_Slot(self.traced(s.array).slot) if isinstance(s, (T, autograd._SavedOutput))
                 else self.refs(self.traced(s)) for s in node._saved]
        ctx_k = next(self.count)
        self.emit(_Line("ctx", type(node), (attrs, saved), outs=(),
                        info=(ctx_k, node.needs_input_grad, node._device)))
        return ctx_k

    def accumulate(self, leaf, g):
        """Adding into a leaf's ``.grad``: logged as a call of the engine's own function."""
        if leaf._hooks or leaf._post_hooks:
            raise JitError("jit: hooks on leaves (register_hook, post-accumulate hooks, as "
                           "DistributedDataParallel uses) are not supported in a recorded step")
        g = self.traced(g)
        self.depth += 1
        try:
            autograd.accumulate_into_leaf(leaf, g.value.copy())
        finally:
            self.depth -= 1
        target = self.tensor_ref(leaf)
        k = self.new_slot(leaf.grad.array)
        self.emit(_Line("accumulate", args=(target, _Slot(g.slot)), outs=(k,)))
        self.after_effect()

    def tensor(self, g, dev):
        """A gradient handed out as a Tensor (``autograd.grad``'s answer)."""
        if isinstance(g, Function._tensor_cls):     # a recorded backward pass: already one
            return g
        return Function._tensor_cls.wrap(g.value if type(g) is Traced else g, dev)

    def tensor_ref(self, t):
        i = self.inputs.get(id(t))
        if i is not None:
            return ("arg", i)
        self.outside.setdefault(id(t), (t, t._version))
        return ("tensor", t)

    # ------------------------------------------------------------------ calls made again
    def call(self, fn, args, kwargs, idempotent=False):
        """A ``@autograd.replayed`` library call (an optimizer step, a random draw): made now and
        logged, to be made again at every replay with the same arguments."""
        if self.depth or self.fine is not None:
            return fn(*args, **kwargs)
        T = Function._tensor_cls
        # an iterator (model.parameters()) would be used up by this call: keep its items
        args = tuple(list(a) if isinstance(a, collections.abc.Iterator) else a for a in args)
        kwargs = {k: list(v) if isinstance(v, collections.abc.Iterator) else v for k, v in kwargs.items()}
        refs = tuple(self.call_ref(a) for a in args)
        kw_refs = {k: self.call_ref(v) for k, v in kwargs.items()}
        before = {key: t._version for key, (t, _) in self.outside.items()}
        self.depth += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            self.depth -= 1
        for key, (t, _) in self.outside.items():       # changes it makes are explained
            if key in before and t._version != before[key]:
                self.writes[key] = self.writes.get(key, 0) + t._version - before[key]
        outs = (self.new_slot(result.array),) if isinstance(result, T) else ()
        self.emit(_Line("replayed", fn, refs, kw_refs, outs, info=idempotent))
        self.after_effect(counts=not idempotent)
        return result

    def call_ref(self, a):
        """A tensor argument of a replayed call: itself if it comes from outside, else rebuilt at
        replay around its slot's array."""
        T = Function._tensor_cls
        if isinstance(a, T):
            if id(a) in self.inputs:
                return _Arg(self.inputs[id(a)])
            if id(a) not in self.outside and (type(a.array) is Traced or id(a.array) in self.slot_of):
                return _TensorOf(_Slot(self.slot_of_tensor(a)), a.device, a.requires_grad)
            return a                        # a tensor from outside: the same object at replay
        if type(a) in (list, tuple):
            return type(a)(self.call_ref(x) for x in a)
        return a

    # ------------------------------------------------------------------ Tensor methods
    def read(self, t, value):
        """``t.item()``, ``.tolist()``, ``.numpy()``, ``bool(t)``: the step sees a value. A guard
        goes here; it is dropped if the value turns out to be only returned."""
        if self.depth or self.fine is not None:
            return
        k = self.slot_of_tensor(t)
        line = _Line("guard", args=(_Slot(k), np.array(value) if isinstance(value, np.ndarray) else value))
        self.emit(line)
        self.reads.append((value, line, self.effects))

    def write(self, t, array, index=None):
        """``t``'s memory changed in place (``t[index] = array``, or all of it) outside the graph."""
        if self.depth or self.fine is not None:
            return
        value = self.traced(array) if backend.is_array(array) else array
        target = self.target(t)
        if index is not None and hasattr(index, "basic"):     # ints first, then the rest (PyTorch's layout)
            index = _IntsFirst(self.refs(index.basic), self.refs(index.rest))
        else:
            index = self.refs(index)
        self.emit(_Line("write", args=(target, index, self.refs(value))))
        if type(target) is not _Slot:
            self.writes[id(t)] = self.writes.get(id(t), 0) + 1
            self.after_effect()

    def set_grad(self, t, value):
        """``t.grad = value`` in the step (``None``, typically): made again at every replay."""
        if self.depth or self.fine is not None:
            return
        self.emit(_Line("setgrad", args=(self.tensor_ref(t), self.call_ref(value))))
        self.after_effect(counts=value is not None)

    def target(self, t):
        """Where an in-place change lands: the slot of a value the program computed, else the
        tensor from outside itself (its array looked up at that point)."""
        k = self.slot_of.get(id(t.array))
        if k is not None and id(t.array) not in self.read_slots and id(t) not in self.inputs:
            if k in self.consts:
                raise JitError(f"jit: the step changes in place a tensor of shape {tuple(t.shape)} "
                               "that it did not compute (made from data, a constant of the "
                               "recording, which every replay would start from changed); make it "
                               "with tg.zeros/tg.ones/... or change a .clone() of it")
            return _Slot(k)
        return self.tensor_ref(t)

    def module_called(self, module):
        """A module's forward runs: its hooks are refused, its training flag is guarded."""
        if self.depth or self.fine is not None:
            return
        if module._has_hooks:
            raise JitError(f"jit: {type(module).__name__} has forward or backward hooks; they are "
                           "not supported in a recorded step")
        if id(module) not in self.modules:
            self.modules.add(id(module))
            self.emit(_Line("training", args=(module, module.training)))
            for t in list(module._parameters.values()) + list(module._buffers.values()):
                if t is not None:
                    self.outside.setdefault(id(t), (t, t._version))

    def random_draw(self):
        """Random numbers are about to be drawn (a Generator's ``.numpy``)."""
        if self.fine is not None:
            raise _NotFine("the op draws random numbers")
        if not self.depth:
            raise JitError("jit: the step draws random numbers outside an op (through a "
                           "Generator's .numpy); a recording would repeat the same numbers. Use "
                           "tinygrad_rnn's random functions (tg.rand, tg.randn, ...) or dropout, "
                           "which a recording draws again at each replay")


class _Arg:
    """The step's ``i``-th tensor argument, as a replayed call's argument."""
    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i


class _TensorOf:
    """A replayed call's argument: a Tensor around slot ``ref``'s array at replay."""
    __slots__ = ("ref", "device", "requires_grad")

    def __init__(self, ref, device, requires_grad):
        self.ref, self.device, self.requires_grad = ref, device, requires_grad


def _forward(cls, ctx, arrays, kwargs, reraise=()):
    token = backend.quiet_fp()
    try:
        return cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
    except reraise:
        raise
    except Exception as e:
        raise autograd._forward_error(cls, e, ())
    finally:
        backend.restore_fp(token)


def _holds_traced(v):
    if type(v) is Traced:
        return True
    if type(v) in (tuple, list):
        return any(_holds_traced(x) for x in v)
    if type(v) is dict:
        return any(_holds_traced(x) for x in v.values())
    return False


def _restore_vars(ctx, before):
    for name in list(vars(ctx)):
        if name not in before:
            delattr(ctx, name)
    for name, v in before.items():
        setattr(ctx, name, v)


class _ZeroD:
    """``fn`` whose NumPy scalar result becomes a 0-d array, as the recording kept it."""
    __slots__ = ("fn", "__name__")

    def __init__(self, fn):
        self.fn, self.__name__ = fn, getattr(fn, "__name__", "fn")

    def __call__(self, *args, **kwargs):
        return np.asarray(self.fn(*args, **kwargs))


def _readable(obj):
    """A function's, bound method's, op's or module's name as a valid identifier, or None."""
    if type(obj) is _ZeroD:
        obj = obj.fn
    owner = getattr(obj, "__self__", None)
    if owner is not None and not isinstance(owner, type(np)):     # a bound method: Owner_method
        name = f"{type(owner).__name__}_{getattr(obj, '__name__', '')}"
    elif isinstance(obj, type):
        name = obj.__name__
    elif hasattr(obj, "training"):                                 # a Module
        name = type(obj).__name__
    else:
        name = getattr(obj, "__qualname__", None)
        if not isinstance(name, str) or "<" in name:
            name = getattr(obj, "__name__", None)
    if not isinstance(name, str):
        return None
    name = re.sub(r"\W", "_", name).strip("_")
    return name if name and not name[0].isdigit() else None


# ufuncs that compute the same with a number or a 0-d array of its dtype (not power: NumPy has
# faster, differently rounded paths for number exponents such as 2 and 0.5)
_PLAIN_UFUNCS = {np.add, np.subtract, np.multiply, np.true_divide, np.maximum, np.minimum,
                 np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal}


def _numbers_as_arrays(fn, refs, args, result):
    """Python numbers beside an array in a ufunc call become 0-d arrays of the result's dtype once,
    here (NumPy converts them at every call, about 1 us each), where that gives the same result:
    a floating result whose dtype an array operand already has."""
    if fn not in _PLAIN_UFUNCS or not backend.is_array(result) or result.dtype.kind != "f":
        return refs
    if not any(type(a) is Traced and a.dtype == result.dtype for a in args):
        return refs
    return tuple(np.asarray(r, result.dtype) if type(r) in (int, float) else r for r in refs)


# ============================================================================= compiling

class Compiler:
    """A recording written as the source of ``program(args, effects)``: one line per logged call,
    each array deleted after its last use."""

    def __init__(self, rec, result):
        self.rec, self.result = rec, result
        self.names = {}
        self.ns = {"_asarray": np.asarray, "_GuardFailed": _GuardFailed, "_same": _same,
                   "_write": _write, "_write_into": _write_into, "_IntsFirst": _IntsFirst,
                   "_accumulate": _accumulate, "_new_ctx": _new_ctx,
                   "_backward": _backward, "_tensor": _tensor, "_returned": _returned}

    def name(self, obj, prefix="c"):
        """The name ``obj`` is bound to in the program: functions, ops, modules and other objects
        by what they are (``matmul_4``, ``Optimizer_zero_grad_11``, ``Linear_0``, ``SGD_10``), so
        the source reads; arrays by kind (``c12``)."""
        if id(obj) not in self.names:
            readable = _readable(obj) if prefix in ("f", "op", "m") else \
                type(obj).__name__ if prefix == "c" and not hasattr(obj, "dtype") else None
            self.names[id(obj)] = f"{readable}_{len(self.names)}" if readable else \
                f"{prefix}{len(self.names)}"
            self.ns[self.names[id(obj)]] = obj
        return self.names[id(obj)]

    def expr(self, obj):
        """Python source for ``obj``: slots by name, plain values as literals, the rest bound."""
        if type(obj) is _Slot:
            return f"v{obj.k}"
        if type(obj) is _Arg:
            return f"args[{obj.i}]"
        if type(obj) is _TensorOf:
            return f"_tensor({self.expr(obj.ref)}, {self.name(obj.device, 'd')}, {obj.requires_grad})"
        if type(obj) is _Returned:
            return f"_returned({self.expr(obj.ref)}, {self.name(obj.info, 'r')})"
        if type(obj) is tuple:
            inner = ", ".join(self.expr(o) for o in obj)
            return f"({inner},)" if len(obj) == 1 else f"({inner})"
        if type(obj) is list:
            return "[" + ", ".join(self.expr(o) for o in obj) + "]"
        if type(obj) is dict:
            return "{" + ", ".join(f"{self.expr(k)}: {self.expr(v)}" for k, v in obj.items()) + "}"
        if obj is None or obj is Ellipsis or type(obj) in (bool, int, str) or (
                type(obj) is float and np.isfinite(obj)):
            return repr(obj)
        return self.name(obj)

    def tensor(self, ref):
        kind, x = ref
        return f"args[{x}]" if kind == "arg" else self.name(x, "t")

    def source(self):
        self.lines = self.live_lines()
        deaths = self.last_uses()
        body = []
        for i, line in enumerate(self.lines):
            body.extend(self.emit(line))
            if i in deaths:
                body.append("del " + ", ".join(f"v{k}" for k in sorted(deaths[i])))
        body.append(f"return {self.expr(self.result)}")
        return "def program(args, effects):\n" + "".join(f"    {b}\n" for b in body)

    def call(self, fn, args, kwargs):
        """A logged call as source: methods and indexing in their own syntax (a call less)."""
        if fn is _getitem:
            return f"{self.expr(args[0])}[{self.index(args[1])}]"
        name = _METHODS.get(fn) if type(fn) is not _ZeroD else None
        if name is not None:
            parts = [self.expr(a) for a in args[1:]] + [f"{k}={self.expr(v)}" for k, v in kwargs.items()]
            return f"{self.expr(args[0])}.{name}({', '.join(parts)})"
        parts = [self.expr(a) for a in args] + [f"{k}={self.expr(v)}" for k, v in kwargs.items()]
        return f"{self.name(fn, 'f')}({', '.join(parts)})"

    def index(self, index):
        """An index as it is written between brackets."""
        if type(index) is tuple and index:
            return ", ".join(self.index_part(i) for i in index) + ("," if len(index) == 1 else "")
        return self.index_part(index)

    def index_part(self, i):
        if type(i) is slice and all(v is None or type(v) is int for v in (i.start, i.stop, i.step)):
            return ":".join("" if v is None else str(v) for v in (i.start, i.stop)) + \
                ("" if i.step is None else f":{i.step}")
        return self.expr(i)

    def emit(self, line):
        kind, outs = line.kind, line.outs
        out = ", ".join(f"v{k}" if k is not None else "_" for k in outs)
        if kind == "input":
            return [f"{out} = args[{line.args[0]}].array"]
        if kind == "read":
            return [f"{out} = {self.name(line.args[0], 't')}.array"]
        if kind == "const":
            return [f"{out} = {self.name(line.args[0])}"]
        if kind == "call":
            if line.fn is _setitem:
                target, index, value = line.args
                return [f"{self.expr(target)}[{self.index(index)}] = {self.expr(value)}"]
            call = self.call(line.fn, line.args, line.kwargs)
            if not outs:
                return [call]
            return [f"{out}{',' if line.info == 'several' else ''} = {call}"]
        if kind == "forward":
            ctx_k, needs, multi = line.info
            op = self.name(line.fn, "op")
            call = f"{op}.forward(x{ctx_k}" + "".join(f", {self.expr(a)}" for a in line.args) + \
                "".join(f", {k}={self.expr(v)}" for k, v in line.kwargs.items()) + ")"
            return [f"x{ctx_k} = _new_ctx({op}, {needs!r})",
                    f"{out}, = {call}" if multi else f"{out} = _asarray({call})",
                    f"x{ctx_k}._saved = x{ctx_k}._to_save or ()"]
        if kind == "zeros":
            shape, dtype = line.args
            return [f"{out} = {self.name(_zeros_of(line.args), 'z')}()"]
        if kind == "ctx":
            ctx_k, needs, device = line.info
            attrs, saved = line.args
            op = self.name(line.fn, "op")
            out = [f"x{ctx_k} = _new_ctx({op}, {needs!r})", f"x{ctx_k}._saved = {self.expr(saved)}",
                   f"x{ctx_k}._device = {self.name(device, 'd')}"]
            return out + [f"x{ctx_k}.{k} = {self.expr(v)}" for k, v in attrs.items()]
        if kind == "backward":
            return [f"{out}, = _backward(x{line.info}, {self.expr(line.args)})"]
        if kind == "accumulate":
            target, g = line.args
            return [f"_accumulate({self.tensor(target)}, {self.expr(g)})",
                    f"{out} = {self.tensor(target)}.grad.array", "effects[0] += 1"]
        if kind == "replayed":
            call = self.call(line.fn, line.args, line.kwargs)
            count = [] if line.info else ["effects[0] += 1"]
            return ([f"{out} = {call}.array"] if outs else [call]) + count
        if kind == "write":
            target, index, value = line.args
            if type(index) is _IntsFirst:
                index = f"_IntsFirst({self.expr(index.basic)}, {self.expr(index.rest)})"
            else:
                index = self.expr(index)
            if type(target) is _Slot:
                return [f"_write_into({self.expr(target)}, {index}, {self.expr(value)})"]
            return [f"_write({self.tensor(target)}, {index}, {self.expr(value)})", "effects[0] += 1"]
        if kind == "setgrad":
            target, value = line.args
            count = [] if value is None else ["effects[0] += 1"]
            return [f"{self.tensor(target)}._grad = {self.expr(value)}"] + count
        if kind == "training":
            module, flag = line.args
            return [f"if {self.name(module, 'm')}.training is not {flag}: raise _GuardFailed"]
        if kind == "guard":
            slot, value = line.args
            return [f"if not _same({self.expr(slot)}, {self.name(value)}): raise _GuardFailed"]
        raise AssertionError(kind)

    def live_lines(self):
        """The recording without what nothing uses: a call that only makes arrays (no ``out=``,
        no write) whose arrays are never read again, e.g. the gradient of an input that needs none,
        is left out, and so, in turn, is whatever only it used."""
        used, kept = _slots(self.result), []
        for line in reversed(self.rec.lines):
            pure = line.kind in ("input", "read", "const", "zeros") or (
                line.kind == "call" and line.fn is not _setitem and "out" not in line.kwargs)
            if pure and line.outs and not any(k in used for k in line.outs if k is not None):
                continue
            kept.append(line)
            used |= _slots(line.args) | _slots(line.kwargs)
        return kept[::-1]

    def last_uses(self):
        """line number -> slots used for the last time there (deleted after it)."""
        last = {}
        for i, line in enumerate(self.lines):
            for k in _slots(line.args) | _slots(line.kwargs) | {k for k in line.outs if k is not None}:
                last[k] = i
        kept = _slots(self.result)
        deaths = {}
        for k, i in last.items():
            if k not in kept:
                deaths.setdefault(i, set()).add(k)
        return deaths


def _slots(obj):
    if type(obj) is _Slot:
        return {obj.k}
    if type(obj) in (_TensorOf, _Returned):
        return {obj.ref.k}
    if type(obj) is _IntsFirst:
        return _slots(obj.basic) | _slots(obj.rest)
    if type(obj) in (tuple, list):
        return set().union(*map(_slots, obj)) if obj else set()
    if type(obj) is dict:
        return set().union(*map(_slots, obj.values())) if obj else set()
    return set()


# helpers the programs call ---------------------------------------------------------------

def _zeros_of(shape_dtype):
    shape, dtype = shape_dtype
    return functools.partial(np.zeros, shape, dtype)


def _new_ctx(cls, needs):
    ctx = cls.__new__(cls)
    ctx.needs_input_grad = needs
    return ctx


def _backward(ctx, grads):
    """A node's backward logged as one call, on the ctx its forward (also one call) filled."""
    if ctx.array_backward:
        ctx._arrays = True
        got = ctx.backward_arrays(ctx, *grads) if ctx.backward_arrays is not None else \
            ctx.backward(ctx, *grads)
        ctx._arrays = False
    else:                                   # a backward written with Tensor ops
        T = Function._tensor_cls
        dev = backend.device_of(next(g for g in grads if g is not None))
        ctx._saved = [T.wrap(s, dev) if backend.is_array(s) else s for s in ctx._saved]
        with autograd.no_grad():
            got = ctx.backward(ctx, *(T.wrap(g, dev) if g is not None else None for g in grads))
    got = got if type(got) is tuple else (got,)
    return tuple(g.array if isinstance(g, Function._tensor_cls) else g for g in got)


def _accumulate(leaf, g):
    autograd.accumulate_into_leaf(leaf, g if g.base is None else g.copy())


def _write(t, index, value):
    _write_into(t.array, index, value)
    t._counter().value += 1


def _write_into(a, index, value):
    if index is None:
        a[...] = value
    elif type(index) is _IntsFirst:
        a[index.basic][index.rest] = value
    else:
        a[index] = value


class _IntsFirst:
    """An index whose integers are applied first, as a view, then the rest (``ops.shape``'s
    ``IntsFirst``), as the program writes it."""
    __slots__ = ("basic", "rest")

    def __init__(self, basic, rest):
        self.basic, self.rest = basic, rest


def _tensor(array, device, requires_grad):
    return Function._tensor_cls.wrap(array, device, requires_grad)


def _same(a, b):
    """The guard's test: the value read at replay is the recording's (NaN equal to NaN)."""
    if isinstance(b, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    a = a.reshape(()).item() if getattr(a, "size", 0) == 1 and not isinstance(b, list) else a.tolist()
    return a == b or (a != a and b != b)


class _Returned:
    """What the step returned in place of a value the program computes: a tensor (``info`` is
    (device, requires_grad)) or a value read (``info`` is "item", "tolist" or "numpy")."""
    __slots__ = ("ref", "info")

    def __init__(self, ref, info):
        self.ref, self.info = ref, info


def _returned(array, info):
    if info == "item":
        return array.reshape(()).item()
    if info == "tolist":
        return array.tolist()
    if info == "numpy":
        return backend.to_numpy(array)
    device, requires_grad = info
    T = Function._tensor_cls
    if not requires_grad:
        return T.wrap(array, device)
    # as in eager mode after backward: requires grad, and its graph is gone
    node = _Spent.__new__(_Spent)
    node._saved, node._edges, node._generation = None, (), 1
    node._out_meta, node._outputs = ((array.shape, array.dtype),), (autograd._dead_ref,)
    return T.wrap(array, device, True, node, 0)


class _Spent(Function):
    """The node of a tensor a replay returns that required grad: its graph was never built, as
    in eager mode it was freed by the step's own backward (backward through it raises that)."""
    name = "replayed"


# ============================================================================= the user's side

def _key(args, kwargs):
    """What a recording depends on beyond the tensors' values: their shapes, dtypes, devices and
    requires_grad, grad mode, and the other arguments (by value when hashable, else identity)."""
    T = Function._tensor_cls
    parts = [autograd.is_grad_enabled()]
    first = {}                              # the same tensor passed twice is part of the key
    for n, a in enumerate(list(args) + [v for _, v in sorted(kwargs.items())]):
        if isinstance(a, T):
            parts.append(("T", a.shape, a.dtype, str(a.device), a.requires_grad,
                          first.setdefault(id(a), n)))
        else:
            try:
                hash(a)
                parts.append((type(a), a))
            except TypeError:
                parts.append(("id", id(a)))
    return tuple(parts) + tuple(sorted(kwargs))


class jit:
    """``fast = tg.jit(step)`` (or ``@tg.jit``): ``fast(*args)`` returns what ``step(*args)``
    returns. The first call with a new key (the tensor arguments' shapes, dtypes, devices and
    requires_grad, grad mode, the other arguments) records; later ones replay the recording (see
    the module docstring and docs/jit.md). After ``max_recordings`` keys, new ones run eagerly,
    with a warning. ``fast.code()`` is the most recent recording's program."""

    def __init__(self, fn=None, *, max_recordings=8, check=True):
        self.fn, self.max_recordings, self.check = fn, max_recordings, check
        self.programs, self.pending = {}, {}
        self.recordings = self.replays = self.eager_calls = self.guard_failures = 0
        self._source = None
        if fn is not None:
            functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if self.fn is None:                 # @tg.jit(max_recordings=...)
            self.fn = args[0]
            functools.update_wrapper(self, self.fn)
            return self
        if autograd.recorder is not None:   # called inside another recording: just run it
            return self.fn(*args, **kwargs)
        key = _key(args, kwargs)
        program = self.programs.get(key)
        if program is not None:
            return self.replay(program, args, kwargs)
        if len(self.programs) >= self.max_recordings:
            if self.eager_calls == 0:
                warnings.warn(f"tg.jit({getattr(self.fn, '__name__', 'fn')}): more than "
                              f"{self.max_recordings} different argument keys; new ones run "
                              "eagerly", stacklevel=2)
            self.eager_calls += 1
            return self.fn(*args, **kwargs)
        return self.record(key, args, kwargs)

    def record(self, key, args, kwargs):
        """Run the step eagerly under a recorder. With ``check`` (the default) the first recording
        waits for a second one, on the next call's data: constants of a recording that differ
        between the two were computed from the data by code outside the recorded ops (a replay
        would use stale values), so they are refused; otherwise the second is compiled."""
        T = Function._tensor_cls
        rec = Recorder([a for a in list(args) + list(kwargs.values()) if isinstance(a, T)])
        autograd.recorder = rec
        unwatch = _watch_births(rec)
        try:
            result = self.fn(*args, **kwargs)
        finally:
            autograd.recorder = None
            unwatch()
        template = _template(rec, result)
        _check_outside(rec)
        compiler = Compiler(rec, template)
        source = compiler.source()
        first = self.pending.pop(key, None)
        if self.check and first is None:
            self.pending[key] = (source, compiler)
            return result
        if first is not None:
            _compare(first, (source, compiler), getattr(self.fn, "__name__", "the step"))
        exec(compile(source, "<tg.jit program>", "exec"), compiler.ns)
        self.programs[key] = compiler.ns["program"]
        self._source = source
        self.recordings += 1
        return result

    def replay(self, program, args, kwargs):
        T = Function._tensor_cls
        inputs = [a for a in list(args) + list(kwargs.values()) if isinstance(a, T)]
        effects = [0]
        token = backend.quiet_fp()
        try:
            out = program(inputs, effects)
        except _GuardFailed:
            if effects[0]:
                raise RuntimeError("jit: a value the step reads differs from the recording's, and "
                                   "the step had already changed state when it read it; call the "
                                   "step without tg.jit") from None
            self.guard_failures += 1
            return self.fn(*args, **kwargs)
        finally:
            backend.restore_fp(token)
        self.replays += 1
        return out

    def code(self):
        """The Python source of the most recent recording's program."""
        return self._source


def _watch_births(rec):
    """While recording, every Tensor made is noted (``rec.born``): one made around an array the
    program does not know is a constant of the recording, not a tensor from outside. (The
    constructors, ``wrap`` under both its names and ``_from_data``, are swapped for noting versions
    only meanwhile: eager runs pay nothing.)"""
    T = Function._tensor_cls
    wrap, make, from_data = T.__dict__["wrap"], T.__dict__["_make"], T.__dict__["_from_data"]
    keep = rec.arrays

    def noting(constructor):
        def wrapper(cls, *args, **kwargs):
            t = constructor.__func__(cls, *args, **kwargs)
            rec.born.add(id(t))
            keep.append(t)                  # ids stay unique while recording
            return t
        return classmethod(wrapper)

    T.wrap, T._make, T._from_data = noting(wrap), noting(make), noting(from_data)

    def unwatch():
        T.wrap, T._make, T._from_data = wrap, make, from_data
    return unwatch


def _template(rec, result):
    """What the step returned, with each value the program computes replaced by a ``_Returned``;
    guards on values that are only returned are dropped, the others must come before any state
    change (else a failing guard could not be undone)."""
    T = Function._tensor_cls
    reads = {id(v): line for v, line, _ in rec.reads if not _cached(v)}
    returned = set()

    def walk(obj):
        if isinstance(obj, T):
            if obj.grad_fn is not None and obj.grad_fn._saved:
                raise JitError("jit: the step returns a tensor whose graph is still alive (backward "
                               "was not called on it inside the step); a replay builds no graph. "
                               "Call backward inside the step, or run the forward under no_grad")
            k = rec.slot_of.get(id(obj.array))
            if k is None or id(obj.array) in rec.read_slots:
                return obj                  # a tensor from outside: returned as it is
            return _Returned(_Slot(k), (obj.device, obj.requires_grad))
        line = reads.get(id(obj))
        if line is not None:
            returned.add(id(line))
            kind = "numpy" if isinstance(obj, np.ndarray) else "tolist" if isinstance(obj, list) \
                else "item"
            return _Returned(line.args[0], kind)
        if type(obj) in (tuple, list):
            return type(obj)(walk(o) for o in obj)
        if type(obj) is dict:
            return {k: walk(v) for k, v in obj.items()}
        return obj

    template = walk(result)
    for value, line, effects in rec.reads:
        if id(line) in returned:
            rec.lines.remove(line)
        elif effects:
            raise JitError("jit: the step reads a tensor's value (.item(), bool(t), .tolist()) after "
                           "it changed state (a gradient, an optimizer step, an in-place write) and "
                           "uses it other than by returning it; a replay could not undo that change "
                           "if the value were different. Read it before the update, or return it")
    return template


def _compare(first, second, name):
    """Two recordings of one step on different data must be the same program with the same
    constants; a constant that differs was computed from the data outside the recorded ops."""
    (src_a, comp_a), (src_b, comp_b) = first, second
    if src_a != src_b:
        lines = [(a, b) for a, b in zip(src_a.splitlines(), src_b.splitlines()) if a != b]
        where = f": '{lines[0][0].strip()}' became '{lines[0][1].strip()}'" if lines else ""
        raise JitError(f"jit: {name} does different things on different data{where} (Python code "
                       f"that depends on tensor values, or a shape that does): run it eagerly, or "
                       f"make what changes an argument")
    for n, a in comp_a.ns.items():
        b = comp_b.ns.get(n)
        if isinstance(a, np.ndarray) and n.startswith("c") and not (
                isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")):
            used = next((line.strip() for line in src_a.splitlines()
                         if re.search(rf"\b{n}\b", line)), "")
            raise JitError(f"jit: an array the step uses as a constant ({n}, shape {a.shape}, "
                           f"{a.dtype}, in '{used}') differs between two calls: library or user code "
                           f"computed it from the data outside the recorded ops (with .array / "
                           f"NumPy), so a replay would use a stale value. Compute it with tensor ops")


def _cached(v):
    """Small ints (and True/False, None) are shared objects: identity cannot say where they came from."""
    return v is None or isinstance(v, bool) or (isinstance(v, int) and -5 <= v <= 256)


def _check_outside(rec):
    """A tensor from outside whose version moved by more than the program explains was changed in
    place by code the recording cannot see: refuse rather than replay without that change."""
    for key, (t, v0) in rec.outside.items():
        if t._version - v0 > rec.writes.get(key, 0):
            raise JitError(f"jit: a tensor of shape {tuple(t.shape)} ({t.dtype}) was changed in place "
                           f"during the step by code that is not recorded (its version went from "
                           f"{v0} to {t._version}); a replay would not repeat that change")
