"""The graph and the backward engine.

Every differentiable operation is a ``Function`` subclass with two static methods:

* ``forward(ctx, *args)`` computes on raw arrays (NumPy or CuPy) and returns an array, or a tuple
  of arrays for several outputs. It may call ``ctx.save_for_backward(...)`` with what backward needs.
* ``backward(ctx, *grad_outputs)`` gets one gradient Tensor per output and returns one gradient per
  positional argument of ``forward`` (``None`` for arguments that are not tensors or need none).
  Backwards written with Tensor operations are themselves recorded when ``create_graph=True``,
  which is how second derivatives come for free.

``MyOp.apply(*args)`` is the only door into the graph. When grad mode is on and an input requires
grad, the call object (``ctx``) becomes a node of the graph: it keeps edges to the nodes that made
its inputs (never the intermediate tensors themselves), weak references to its outputs, and the
saved buffers. ``backward`` walks the nodes from the loss in reverse topological order: a heap keyed
by generation (a node's generation is one more than its inputs' largest), ties broken by a counter.

This module knows nothing about specific operations, and nothing about the Tensor class except the
few attributes it reads; ``tensor.py`` tells it which class to wrap arrays in.
"""
from __future__ import annotations

import functools
import heapq
import itertools
import threading
import weakref

import numpy as np

from .backend import device_of as _device_of
from .backend import is_view_of
from .backend import get_array_module

try:   # numpy keeps its floating-point error state in a context variable; setting it is ~0.1 us
    from numpy._core._ufunc_config import _extobj_contextvar as _fp_state
    with np.errstate(all="ignore"):
        _FP_QUIET = _fp_state.get()
except (ImportError, AttributeError):    # another numpy layout: np.errstate is slower but works
    _fp_state = None


class _Quiet:
    """``with _quiet:`` silences NumPy's RuntimeWarnings (inf/nan results come back as PyTorch's)."""
    __slots__ = ("_token", "_fallback")

    def __enter__(self):
        if _fp_state is not None:
            self._token = _fp_state.set(_FP_QUIET)
        else:
            self._fallback = np.errstate(all="ignore")
            self._fallback.__enter__()

    def __exit__(self, *exc):
        if _fp_state is not None:
            _fp_state.reset(self._token)
        else:
            self._fallback.__exit__(*exc)


if _fp_state is not None:
    def _fp_quiet():
        return _fp_state.set(_FP_QUIET)

    _fp_restore = _fp_state.reset
else:
    def _fp_quiet():
        return np.seterr(all="ignore")

    def _fp_restore(old):
        np.seterr(**old)


class Version:
    """The version counter of one storage, shared by a tensor and its views.

    ``value`` counts in-place writes; a Function records it for every tensor it saves and its
    backward refuses to run if it changed. ``rebase`` counts in-place ops recorded in the graph on
    the storage's base tensor: a view taken before such an op has a stale history.
    """
    __slots__ = ("value", "rebase")

    def __init__(self):
        self.value = 0
        self.rebase = 0

# ----------------------------------------------------------------------------- grad mode

class _GradMode(threading.local):
    enabled = True
    inference = False


_mode = _GradMode()


class _Watch:
    """Hooks for the teaching and debugging tools (``debug.py``: backward tracing, anomaly
    detection). Each is None when off, so the engine pays one attribute check per op."""
    forward = None      # fn(cls, args, outs, ctx or None) after each op's forward
    node = None         # fn(node, grads_out, grads_in) after each node's backward
    leaf = None         # fn(leaf, grad) when a leaf receives its gradient


watch = _Watch()


def is_grad_enabled() -> bool:
    """True when operations record the graph (the default); thread-local."""
    return _mode.enabled


class _GradModeContext:
    """Base of no_grad / enable_grad / set_grad_enabled: a context manager and a decorator."""

    enabled = True

    def __enter__(self):
        self._prev = _mode.enabled
        _mode.enabled = self.enabled

    def __exit__(self, *exc):
        _mode.enabled = self._prev

    def __call__(self, fn):
        mode = self.enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Record no graph and save no buffers inside: for inference and for parameter updates."""
    enabled = False


class enable_grad(_GradModeContext):
    """Turn recording back on inside a ``no_grad`` block."""
    enabled = True


class set_grad_enabled(_GradModeContext):
    """``with set_grad_enabled(flag):`` records the graph only when ``flag`` is true."""

    def __init__(self, mode: bool):
        self.enabled = bool(mode)


class inference_mode(_GradModeContext):
    """``with inference_mode():``, ``@inference_mode()`` or ``@inference_mode``: PyTorch's no_grad
    for inference. Here it is ``no_grad`` (``inference_mode(False)`` turns recording on, as in
    PyTorch); tensors made inside are ordinary tensors, not PyTorch's "inference tensors"."""

    def __new__(cls, mode=True):
        if callable(mode):              # used as a bare decorator
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.enabled = not mode
        self.inference = bool(mode)

    def __enter__(self):
        self._prev_inference = _mode.inference
        _mode.inference = self.inference
        super().__enter__()

    def __exit__(self, *exc):
        _mode.inference = self._prev_inference
        super().__exit__(*exc)

    def __call__(self, fn):
        mode = self.inference

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``; thread-local."""
    return _mode.inference


# ----------------------------------------------------------------------------- errors

class OpError(ValueError, RuntimeError):
    """Bad input to an operation. The message names the op and the offending shapes/devices/dtypes.

    It is both a ValueError and a RuntimeError, so PyTorch habits (``except RuntimeError``) work."""


# Errors whose Python kind matters keep it: ``except IndexError`` (and the iteration protocol)
# catches an out-of-range index, ``except OpError`` catches it too.

class OpIndexError(OpError, IndexError):
    """An index or dim out of range (PyTorch raises IndexError there)."""


class OpTypeError(OpError, TypeError):
    """An argument of the wrong type, such as a float where a dim must be an int."""


class OpNotImplementedError(OpError, NotImplementedError):
    """An op that PyTorch does not implement for a dtype (``matmul`` of bool tensors)."""


def _kept_kind(e):
    """The OpError class that keeps the kind of ``e`` (an error raised inside a forward)."""
    return OpIndexError if isinstance(e, IndexError) else OpTypeError if isinstance(e, TypeError) \
        else OpError


def _inplace_error(op, saved, now, then):
    shape = "x".join(str(n) for n in saved.shape) or "scalar"
    return RuntimeError(
        f"{op}: one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{saved.dtype} [{shape}]] is at version {now}; expected version "
        f"{then} instead. The tensor was saved by {op} in the forward pass and changed in place "
        f"afterwards (an in-place op such as add_/mul_/x[i] = v, or an optimizer step). Compute "
        f"with a .clone() of it, or do the in-place change after backward().")


FREED_GRAPH = (
    "Trying to backward through the graph a second time (or to read saved tensors after they "
    "were freed). The buffers a backward pass needs are freed when .backward() finishes. Pass "
    "retain_graph=True to the first .backward() if you need to go through the graph again, or "
    "call .detach() on tensors you carry between iterations (truncated BPTT) so each backward "
    "only walks its own graph."
)


_NO_GRADS = [(False,) * n for n in range(6)]
# Why a view taken before a recorded in-place op on its base cannot get its history rebuilt (as
# in PyTorch, which refuses the same two cases); ``_share_storage`` stores one in place of the
# view ops to replay.
_NO_GRAD_VIEW = ("this view was created in no_grad mode and its base was later changed by an "
                 "in-place operation recorded in the graph; whether the view should follow that "
                 "change is ambiguous, so it is refused. Take the view again after the in-place "
                 "operation, or put the view and the in-place operation both inside the no_grad "
                 "block (not tracked) or both outside it (tracked).")
_MULTI_VIEW = ("this view is one of several returned by one op (split, chunk, unbind) and its base "
               "was later changed by an in-place operation recorded in the graph; the history of "
               "such views is not rebuilt. Take the views again after the in-place operation, or "
               "use an out-of-place operation.")


def _device_error(cls, args):
    T = Function._tensor_cls
    return (f"{op_name(cls)}: expected all tensors on one device, got "
            f"{', '.join(str(t.device) for t in args if isinstance(t, T))}. "
            f"Move them with .to(device) first.")


def op_name(cls) -> str:
    return getattr(cls, "name", None) or cls.__name__.lower()


def describe(args) -> str:
    parts = []
    for a in args:
        if isinstance(a, Function._tensor_cls):
            parts.append(f"Tensor(shape={tuple(a.shape)}, dtype={a.dtype}, device={a.device})")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- Function

class _SavedOutput:
    """A saved output: kept as its array (no reference cycle); a handle is rebuilt on access."""
    __slots__ = ("index", "array")

    def __init__(self, index, array):
        self.index, self.array = index, array


class Function:
    """One operation; an instance (``ctx``) is one node of the graph. See the module docstring."""

    _tensor_cls = None            # set by tensor.py
    once_differentiable = False   # True for fused kernels whose backward computes on raw arrays
    view = False                  # True when outputs may share memory with the first input
    name = None                   # used in error messages; defaults to the lower-cased class name
    xp = staticmethod(get_array_module)   # ctx.xp(a, b) -> numpy or cupy, whichever owns the arrays
    out_device = None             # set by forward when outputs live on another device (ToDevice)
    # per-node state; class defaults so that nodes which need none pay nothing for it
    _to_save, _non_diff, _saved, _versions = None, (), (), ()
    _out_hooks = None             # {output index: {key: hook}} from Tensor.register_hook
    backward_raw = None           # optional fast path: backward on raw arrays (see run_backward)

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    # -- what forward/backward use on ctx
    def save_for_backward(self, *items):
        """Keep arrays (inputs, outputs or others) or plain values for backward."""
        self._to_save = items

    def mark_non_differentiable(self, *arrays):
        """Outputs (by array) that get no gradient, e.g. argmax indices."""
        self._non_diff = arrays

    @property
    def saved_tensors(self):
        """What forward saved: input arrays come back as the input Tensors (so create_graph works),
        outputs as handles on this node's outputs, other arrays as constant Tensors."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(FREED_GRAPH)
        if self._versions:
            self._check_versions(saved)
        out = []
        for s in saved:
            if type(s) is _SavedOutput:
                ref = self._outputs[s.index]()
                if ref is None:  # the user dropped the output; rebuild an equivalent handle
                    ref = Function._tensor_cls._make(s.array, self._device, True, self, s.index)
                out.append(ref)
            else:
                out.append(s)
        return tuple(out)

    @property
    def saved_arrays(self):
        """What forward saved, as raw arrays, for ``backward_raw`` (same version checks)."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(FREED_GRAPH)
        if self._versions:
            self._check_versions(saved)
        T = Function._tensor_cls
        return tuple(s.array if type(s) is _SavedOutput else s.array if isinstance(s, T) else s
                     for s in saved)

    def _check_versions(self, saved):
        for i, holder, then in self._versions:     # holder: a saved input Tensor or a Version
            c = holder if type(holder) is Version else holder._vc
            if c is not None and c.value != then:
                item = saved[i]
                raise _inplace_error(op_name(type(self)), item.array if isinstance(item, _SavedOutput)
                                     else item, c.value, then)

    # -- the door into the graph
    @classmethod
    def apply(cls, *args, **kwargs):
        T = Function._tensor_cls
        ctx = cls.__new__(cls)
        arrays, needs, edges = [], [], []
        dev, record, gen = None, False, 0
        if not _mode.enabled:           # no graph: unwrap and check devices only
            for a in args:
                if isinstance(a, T):
                    if dev is None:
                        dev = a.device
                    elif a.device is not dev and a.device != dev:
                        raise OpError(_device_error(cls, args))
                    arrays.append(a.array)
                else:
                    arrays.append(a)
            args_loop = ()
        else:
            args_loop = args
        for a in args_loop:             # one pass: device check, unwrap, and the graph edges
            if isinstance(a, T):
                if a._base is not None and a._view_epoch != a._vc.rebase:
                    a._refresh_view(op_name(cls))   # older than a recorded in-place op on its base
                d = a.device
                if dev is None:
                    dev = d
                elif d is not dev and d != dev:
                    raise OpError(_device_error(cls, args))
                data = a.array
                arrays.append(data)
                if a._requires_grad:
                    record = True
                    needs.append(True)
                    fn = a._grad_fn
                    if fn is None:
                        edges.append(a)
                    else:
                        edges.append((fn, a._out_index))
                        if fn._generation > gen:
                            gen = fn._generation
                    continue
            else:
                arrays.append(a)
            needs.append(False)
            edges.append(None)
        ctx.needs_input_grad = tuple(needs) if record else _NO_GRADS[len(args)] if len(args) < 6 \
            else (False,) * len(args)
        token = _fp_quiet()
        try:
            raw = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
        except OpError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise _kept_kind(e)(f"{op_name(cls)}: {e} (inputs: {describe(args)})") from e
        except AttributeError as e:
            if "ndarray" in str(e):
                raise AttributeError(
                    f"{op_name(cls)}.forward: {e}. A custom Function's forward receives raw arrays "
                    f"(numpy/cupy), not Tensors: use array functions there (xp = ctx.xp(x); "
                    f"xp.exp(x)) and keep Tensor methods for backward.") from e
            raise
        finally:
            _fp_restore(token)

        multi = type(raw) is tuple
        if not record and not multi:   # the common case outside training: one output, no node
            if isinstance(raw, np.generic):     # NumPy turns 0-d results into scalars
                raw = np.asarray(raw)
            out = T._make(raw, ctx.out_device or dev or _device_of(raw))
            if cls.view:
                _share_storage(cls, args, kwargs, (out,))
            if watch.forward is not None:
                watch.forward(cls, args, (out,), None)
            return out
        raws = produced = raw if multi else (raw,)
        if multi:
            if any(isinstance(r, np.generic) for r in raws):   # NumPy turns 0-d results into scalars
                raws = tuple(np.asarray(r) if isinstance(r, np.generic) else r for r in raws)
        elif isinstance(raw, np.generic):
            raws = (np.asarray(raw),)
        dev = ctx.out_device or dev         # only device moves put outputs elsewhere
        if dev is None:
            dev = _device_of(raws[0])
        make = T._make
        if not record:
            outs = tuple(make(r, dev) for r in raws) if multi else (make(raws[0], dev),)
        else:
            non_diff = ctx._non_diff
            if multi or non_diff:
                outs = tuple(make(r, dev, True, ctx, i) if r.dtype.kind == "f" and
                             not any(r is n for n in non_diff) else make(r, dev)
                             for i, r in enumerate(raws))
            else:
                r = raws[0]
                outs = (make(r, dev, True, ctx, 0) if r.dtype.kind == "f" else make(r, dev),)
            ctx._device = dev
            ctx._edges = tuple(edges)
            ctx._generation = gen + 1
            if multi:
                ctx._out_meta = tuple((r.shape, r.dtype) for r in raws)
                ctx._outputs = tuple(weakref.ref(o) for o in outs)
            else:
                r = raws[0]
                ctx._out_meta = ((r.shape, r.dtype),)
                ctx._outputs = (weakref.ref(outs[0]),)
            if ctx._to_save is not None:
                ctx._resolve_saved(args, arrays, outs, produced)
        if cls.view:
            _share_storage(cls, args, kwargs, outs)
        if watch.forward is not None:
            watch.forward(cls, args, outs, ctx if record else None)
        return outs if multi else outs[0]

    def _resolve_saved(self, args, arrays, outs, produced):
        """Turn what forward saved into what backward gets, by identity: an input's array becomes
        the input Tensor, an output's a ``_SavedOutput`` (an array, no reference cycle), any other
        array a constant Tensor. Versions are recorded: an input's as (tensor, version) (a tensor
        with no counter yet is at version 0: whatever changes it in place creates one), an
        output's with its counter, which views of the output share."""
        T = Function._tensor_cls
        saved, versions = [], []
        n = len(arrays)
        for s in self._to_save:
            j = 0
            while j < n and arrays[j] is not s:
                j += 1
            if j < n and isinstance(args[j], T):
                a = args[j]
                c = a._vc
                versions.append((len(saved), a, 0 if c is None else c.value))
                saved.append(a)
                continue
            for i, p in enumerate(produced):
                if p is s:
                    o = outs[i]
                    c = o._counter()
                    versions.append((len(saved), c, c.value))
                    saved.append(_SavedOutput(i, o.array))
                    break
            else:
                saved.append(T._make(s, self._device) if s is not None and hasattr(s, "shape")
                             and not isinstance(s, (T, tuple, list)) else s)
        self._to_save = None
        self._saved = saved
        if versions:
            self._versions = versions


    def __repr__(self):
        return f"<{type(self).__name__}Backward>"

    @property
    def next_functions(self):
        """PyTorch's read-only view of where this node's gradients go: one ``(node, output index)``
        pair per input, ``(AccumulateGrad, 0)`` for a leaf that requires grad and ``(None, 0)`` for
        an input that needs no gradient. Trailing inputs that need none are left out (they are
        mostly non-tensor arguments such as shapes, which PyTorch does not list)."""
        edges = self._edges
        n = len(edges)
        while n and edges[n - 1] is None:
            n -= 1
        return tuple(e if type(e) is tuple else (None, 0) if e is None else (AccumulateGrad.of(e), 0)
                     for e in edges[:n])


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf (PyTorch's node of that name): the place where
    backward adds into ``variable.grad``. The engine itself adds into leaves directly; this object
    only describes that, and one leaf has one such object while anyone holds it."""
    __slots__ = ("variable", "__weakref__")
    next_functions = ()
    _live = weakref.WeakValueDictionary()    # id(leaf) -> its AccumulateGrad (which holds the leaf)

    @classmethod
    def of(cls, leaf):
        node = cls._live.get(id(leaf))
        if node is None:
            node = object.__new__(cls)
            node.variable = leaf
            cls._live[id(leaf)] = node
        return node

    def __repr__(self):
        return "<AccumulateGrad>"


def _share_storage(cls, args, kwargs, outs):
    """Outputs of a view op that really are views of its first input share that input's version
    counter and base, and remember the view ops that lead from the base to them, so that a
    recorded in-place op on the base later makes them replay those ops for their new history
    (or the reason they cannot: ``_NO_GRAD_VIEW``, ``_MULTI_VIEW``)."""
    src = args[0]
    if not isinstance(src, Function._tensor_cls):
        return
    base = src._base
    if not _mode.enabled:
        steps = _NO_GRAD_VIEW
    elif len(outs) > 1:
        steps = _MULTI_VIEW
    elif base is None:
        steps = ((cls, args[1:], kwargs),)
    else:
        steps = src._view_ops
        if type(steps) is not str:
            steps = steps + ((cls, args[1:], kwargs),)
    for o in outs:
        if is_view_of(o.array, src.array):
            c = o._vc = src._counter()
            o._base = src if base is None else base
            o._view_epoch = c.rebase
            o._view_ops = steps


class _OnceDifferentiable(Function):
    """Placed on gradients computed by a fused kernel under create_graph: differentiating them
    again raises, naming the kernel, instead of silently giving a wrong second derivative."""

    def __init__(self, op, generation, device):
        self.op, self._generation, self._device = op, generation, device
        self._edges, self._outputs = (), (lambda: None,)
        self._out_meta = ((None, None),)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(
            f"{ctx.op}: double backward is not supported; this fused kernel computes its backward "
            f"on raw arrays. Use the version composed from primitive ops for higher-order derivatives.")


# ----------------------------------------------------------------------------- the engine

def _fit(g, meta, device):
    """Bring an input gradient (a Tensor, recorded) to the input's shape and dtype."""
    T = Function._tensor_cls
    if not isinstance(g, T):
        g = T._make(g, device)
    shape, dtype = meta
    if g.shape != shape:
        g = g.sum_to_size(shape)
    if g.dtype != dtype:
        g = g.to(dtype)
    return g


def _call_hooks(hooks, g):
    for hook in list(hooks.values()):
        r = hook(g)
        if r is not None:
            g = r
    return g


class _Callbacks(threading.local):
    stack = ()          # one list per backward pass in progress (a hook may start another)


_callbacks = _Callbacks()


def queue_callback(fn):
    """Run ``fn()`` once at the end of the backward pass in progress, after every leaf's ``.grad``
    is final (PyTorch's ``Variable._execution_engine.queue_callback``). Data-parallel training
    queues its gradient averaging here."""
    if not _callbacks.stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _callbacks.stack[-1].append(fn)


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, capture=None):
    """``_run_backward``, then the callbacks queued during it (none if it raised)."""
    queued = []
    _callbacks.stack = _callbacks.stack + (queued,)
    try:
        _run_backward(roots, root_grads, retain_graph, create_graph, capture)
        while queued:
            queued.pop(0)()
    finally:
        _callbacks.stack = _callbacks.stack[:-1]


def _add(a, b):
    """a + b for gradients (arrays or Tensors); a 0-d NumPy sum stays an array."""
    s = a + b
    return np.asarray(s) if isinstance(s, np.generic) else s


def sum_to_array(a, shape):
    """Sum array ``a`` down to ``shape``, of which it is a broadcast: the one place where
    broadcasting is undone. A sum over leading dims only returns an array that owns its memory."""
    lead = a.ndim - len(shape)
    inner = tuple(lead + i for i, s in enumerate(shape) if s == 1 and a.shape[lead + i] != 1)
    if not inner:
        r = a.sum(axis=tuple(range(lead))) if lead else a.copy()
        return np.asarray(r) if isinstance(r, np.generic) else r
    return a.sum(axis=tuple(range(lead)) + inner, keepdims=True).reshape(shape)


def _writeable(a) -> bool:
    flags = a.flags
    return getattr(flags, "writeable", True)      # CuPy's flags have no writeable: always True


# Backward passes may run in several threads on graphs that share leaves (PyTorch allows it).
# Adding into a leaf's .grad reads it, adds and writes it back, and NumPy releases the GIL inside
# `+=`: without this lock two threads lose each other's additions. It covers that step only (hooks
# run outside it), once per leaf per backward.
_grad_lock = threading.Lock()

try:
    from sys import getrefcount as _refs
except ImportError:                  # not CPython: no reference counts, so never adopt
    def _refs(a):
        return 1 << 30


def _needed_nodes(roots, capture):
    """For ``autograd.grad``: (nodes to visit, nodes whose backward must run). A node is visited
    when a captured gradient is one of its outputs or when its backward must run; its backward
    must run when one of its input edges leads to a node that is visited or to a captured leaf
    (or when it is a once-differentiable stand-in, which must raise)."""
    wanted = {k[0] for k in capture if type(k) is tuple}
    leaf_ids = {k for k in capture if type(k) is not tuple}
    visit, run, seen = set(), set(), set()
    stack = [(t.grad_fn, False) for t in roots if t.grad_fn is not None]
    while stack:                       # iterative post-order walk: inputs before the node
        node, done = stack.pop()
        if done:
            if type(node) is _OnceDifferentiable or any(
                    e is not None and (e[0] in visit if type(e) is tuple else id(e) in leaf_ids)
                    for e in node._edges):
                run.add(node)
            if node in run or node in wanted:
                visit.add(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((e[0], False) for e in node._edges if type(e) is tuple and e[0] not in seen)
    return visit, run


def _run_backward(roots, root_grads, retain_graph=False, create_graph=False, capture=None):
    """Back-propagate ``root_grads`` from ``roots``.

    Without ``capture`` gradients are added into leaves' ``.grad`` (``Tensor.backward``). With
    ``capture`` (a dict keyed by leaf ``id`` or by ``(node, output index)``) the gradients of those
    tensors are stored there instead, no ``.grad`` changes, and only the part of the graph that
    leads to them is walked (``autograd.grad``).

    Without ``create_graph`` nothing of the backward pass is recorded, so gradients travel as raw
    arrays ("raw mode"): ops that define ``backward_raw`` compute on arrays directly, the others get
    their gradients wrapped in Tensors. With ``create_graph`` every gradient is a Tensor and every
    backward is recorded, which is how second derivatives come about.
    """
    T = Function._tensor_cls
    raw = not create_graph
    pending = {}        # node -> gradient per output, summed as contributions arrive
    leaves = {}         # id(leaf) -> [leaf, summed gradient]
    heap, tie = [], itertools.count()
    pop, push = heapq.heappop, heapq.heappush
    needed, run = (None, None) if capture is None else _needed_nodes(roots, capture)

    def wrap(g, dev):
        return T._make(g, dev) if raw else g

    def deliver(edge, g, dev):
        """Fit ``g`` to the input's shape and dtype, and add it to what that input has received."""
        if type(edge) is tuple:
            src, k = edge
            if needed is not None and src not in needed:
                return
            shape, dtype = src._out_meta[k]
        else:
            if needed is not None and id(edge) not in capture:
                return
            d = edge.array
            shape, dtype = d.shape, d.dtype
        if raw:
            if type(g) is T or isinstance(g, T):
                g = g.array
            elif isinstance(g, np.generic):     # NumPy makes 0-d results scalars
                g = np.asarray(g)
            if g.shape != shape:
                g = sum_to_array(g, shape)
            if g.dtype != dtype:
                g = g.astype(dtype)
        elif type(g) is not T or g.array.shape != shape or g.array.dtype != dtype:
            g = _fit(g, (shape, dtype), dev)
        if type(edge) is tuple:
            slot = pending.get(src)
            if slot is None:
                slot = pending[src] = [None] * len(src._out_meta)
                push(heap, (-src._generation, next(tie), src))
            slot[k] = g if slot[k] is None else _add(slot[k], g)
        else:
            e = leaves.get(id(edge))
            if e is None:
                leaves[id(edge)] = [edge, g]
            else:
                e[1] = _add(e[1], g)

    with set_grad_enabled(create_graph), _Quiet():
        for t, g in zip(roots, root_grads):
            deliver(t._edge(), g.array if raw else g, t.device)
        while heap:
            node = pop(heap)[2]
            grads = pending.pop(node)
            dev = node._device
            if node._out_hooks is not None:
                for i, hooks in node._out_hooks.items():
                    if grads[i] is not None and hooks:
                        r = _call_hooks(hooks, wrap(grads[i], dev))
                        grads[i] = r.array if raw else r
            i = 0
            for ref in node._outputs:
                g = grads[i]
                t = ref()
                if t is not None and t._retains_grad and g is not None and capture is None:
                    # a copy, as PyTorch: the retained gradient must not share memory with the one
                    # flowing on (or with the caller's)
                    if raw:
                        t.grad = T._make(g.copy(), dev) if t.grad is None else \
                            T._make(_add(t.grad.array, g), dev)
                    else:
                        t.grad = g.clone() if t.grad is None else t.grad + g
                if capture is not None and (node, i) in capture:
                    capture[(node, i)] = wrap(g, dev) if g is not None else None
                i += 1
            if run is not None and node not in run:
                continue                # autograd.grad took what it wanted; nothing below it
            if node._saved is None:
                raise RuntimeError(FREED_GRAPH)
            if i > 1:
                for i, g in enumerate(grads):
                    if g is None:   # an output nobody used: its gradient is zero
                        shape, dtype = node._out_meta[i]
                        z = dev.xp.zeros(shape, dtype)
                        grads[i] = z if raw else T._make(z, dev)
            if raw:
                if node.backward_raw is not None:
                    in_grads = node.backward_raw(node, *grads)
                else:
                    in_grads = node.backward(node, *(T._make(g, dev) for g in grads))
            elif node.once_differentiable:
                with no_grad():
                    in_grads = node.backward(node, *grads)
                in_grads = _mark_once(node, in_grads)
            else:
                in_grads = node.backward(node, *grads)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if watch.node is not None:
                watch.node(node, grads, in_grads)
            for edge, g in zip(node._edges, in_grads):
                if edge is not None and g is not None:
                    deliver(edge, g, dev)
            grads = in_grads = g = None     # drop references: leaves may adopt these arrays
            if not retain_graph and node._saved:
                node._saved = None
                node._versions = ()

        for e in leaves.values():
            leaf = e[0]
            if leaf._hooks:
                r = _call_hooks(leaf._hooks, wrap(e[1], leaf.device))
                e[1] = r.array if raw else r
            if watch.leaf is not None:
                watch.leaf(leaf, wrap(e[1], leaf.device))
            if capture is not None:
                if id(leaf) in capture:
                    capture[id(leaf)] = wrap(e[1], leaf.device)
                continue
            with _grad_lock:        # read, add and write .grad as one step (see _grad_lock)
                old = leaf.grad
                if not raw:         # a recorded, differentiable copy or sum, as PyTorch
                    leaf.grad = e[1].clone() if old is None else old + e[1]
                elif old is None:
                    # keep the array backward made when nothing else holds it (PyTorch's use-count
                    # rule): referenced only by this entry (and getrefcount's argument); else copy
                    g = e[1]
                    own = g.base is None and _refs(g) <= 3 and _writeable(g)
                    leaf.grad = T._make(g if own else g.copy(), leaf.device)
                elif type(old) is T and not old._requires_grad and old.array.shape == e[1].shape \
                        and _writeable(old.array) and old.array.base is None:
                    old.array += e[1]    # accumulate in place, as PyTorch
                    old._mark_changed()
                else:
                    leaf.grad = T._make(_add(old.array, e[1]), leaf.device)
            if leaf._post_hooks:
                for hook in tuple(leaf._post_hooks.values()):
                    hook(leaf)


def _mark_once(node, in_grads):
    T = Function._tensor_cls
    single = not isinstance(in_grads, tuple)
    gs = (in_grads,) if single else in_grads
    out = []
    for g in gs:
        if g is not None:
            data = g.array if isinstance(g, T) else g
            once = _OnceDifferentiable(op_name(type(node)), node._generation, node._device)
            once._out_meta = ((data.shape, data.dtype),)
            g = T._make(data, node._device, True, once, 0)
        out.append(g)
    return out[0] if single else tuple(out)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of stored in ``.grad``.

    Like ``torch.autograd.grad``: with ``create_graph=True`` the returned gradients are themselves
    differentiable, which gives Hessian-vector products and second derivatives.
    """
    T = Function._tensor_cls
    outputs = [outputs] if isinstance(outputs, T) else list(outputs)
    single = isinstance(inputs, T)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, T):
        grad_outputs = [grad_outputs]
    roots, gs = [], []
    for o, g in zip(outputs, grad_outputs):
        if not o.requires_grad:
            raise RuntimeError("grad: an output does not require grad and has no grad_fn")
        roots.append(o)
        gs.append(o._default_grad(g))
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad: an input does not require grad; only tensors with "
                               "requires_grad=True can be differentiated against")
    keys = [id(t) if t.grad_fn is None else (t.grad_fn, t._out_index) for t in inputs]
    capture = dict.fromkeys(keys)
    run_backward(roots, gs, create_graph if retain_graph is None else retain_graph,
                 create_graph, capture)
    result = []
    for t, k in zip(inputs, keys):
        g = capture[k]
        if g is None and not allow_unused:
            raise RuntimeError("grad: one of the inputs was not used to compute the outputs; "
                               "pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)
