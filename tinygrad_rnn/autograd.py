"""Reverse-mode automatic differentiation: the graph, and the engine that walks it backwards.

Read this file from the top; each part is a short sequence of named steps.

1. ``Function`` is one operation. ``forward(ctx, *arrays)`` computes on raw NumPy/CuPy arrays and
   may keep what the gradient needs with ``ctx.save_for_backward(...)``; ``backward(ctx, *grads)``
   returns one gradient per input. ``ctx`` is the call itself: when a graph is being recorded it
   becomes a node that remembers where its inputs came from.
2. ``Function.apply`` is the only door into the graph: unwrap the input Tensors, run ``forward``,
   wrap the outputs in Tensors, and record the node (only when grad mode is on and an input
   requires grad).
3. ``run_backward`` walks the graph from the loss: pop the latest node (a heap ordered by
   generation), call its ``backward``, deliver each gradient to the node or leaf that made that
   input (undoing broadcasting, adding what arrives twice), and finally add into each leaf's
   ``.grad``.

One formula per gradient. A library op's ``backward`` is written once, with operators and
``ctx.saved``, and runs in two modes. A plain ``loss.backward()`` does not record the backward
pass, so the engine hands it raw arrays (fast: no Tensor per gradient, nothing recorded; "array
mode"). Under ``create_graph=True`` it hands it Tensors, so the backward pass is itself recorded and
can be differentiated again. Ops that set ``array_backward = True`` are written to work in both
modes; others (custom Functions, as in PyTorch) always get Tensors. A few ops keep a second,
faster body for array mode, ``backward_arrays``; each says why.

This module knows nothing about specific operations and reads the Tensor class only through the
few attributes named in ``tensor.py``; ``tensor.py`` tells it which class to wrap arrays in.
"""
from __future__ import annotations

import functools
import heapq
import itertools
import threading
import weakref

import numpy as np

from . import backend
from .backend import device_of, get_array_module, is_view_of


# ============================================================================= 1. Function

class Function:
    """One operation; an instance (``ctx``) is one node of the graph. See the module docstring."""

    # what an op declares
    name = None                   # for error messages and pictures; default: the class name, lower case
    view = False                  # outputs may share memory with the first input (reshape, getitem)
    array_backward = False        # array mode is handled: backward also runs on raw arrays, or...
    backward_arrays = None        # ... this second, faster body does (see the module docstring)
    once_differentiable = False   # backward computes on raw arrays even under create_graph
    xp = staticmethod(get_array_module)   # ctx.xp(a, b): numpy or cupy, whichever owns the arrays
    out_device = None             # set by forward when outputs go to another device (ToDevice)
    _tensor_cls = None            # the Tensor class, set by tensor.py

    # what a node keeps; class defaults, so that nodes which need none pay nothing for them
    _to_save, _non_diff, _saved, _versions = None, (), (), ()
    _out_hooks = None             # {output index: {key: hook}} from Tensor.register_hook
    _retains = False              # an output asked to keep its gradient (Tensor.retain_grad)
    _arrays = False               # True while backward runs in array mode

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    # -- what forward and backward use on ctx
    def save_for_backward(self, *items):
        """Keep arrays (inputs, outputs or others) or plain values for backward."""
        self._to_save = items

    def mark_non_differentiable(self, *arrays):
        """Outputs (by array) that get no gradient, e.g. argmax indices."""
        self._non_diff = arrays

    @property
    def saved(self):
        """What forward saved, in the form backward computes with: raw arrays in array mode;
        otherwise Tensors (inputs come back as the input Tensors, so a recorded backward connects
        to them; outputs as handles on this node's outputs; other arrays as constants)."""
        if not self._arrays:
            return self.saved_tensors
        saved = self._saved if not self._versions and self._saved is not None else self._checked()
        T = Function._tensor_cls
        return [s.array if type(s) is _SavedOutput or isinstance(s, T) else s for s in saved]

    @property
    def saved_tensors(self):
        """What forward saved, as Tensors (PyTorch's name; see ``saved``)."""
        saved = self._checked()
        T = Function._tensor_cls
        out = []
        for s in saved:
            if type(s) is _SavedOutput:
                ref = self._outputs[s.index]()
                if ref is None:  # the user dropped the output; rebuild an equivalent handle
                    ref = T._make(s.array, self._device, True, self, s.index)
                out.append(ref)
            else:
                out.append(s)
        return tuple(out)

    @property
    def saved_arrays(self):
        """What forward saved, as raw arrays."""
        T = Function._tensor_cls
        return tuple([s.array if type(s) is _SavedOutput or isinstance(s, T) else s
                      for s in self._checked()])

    def _checked(self):
        """What forward saved, after checking that no saved tensor changed in place since."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(FREED_GRAPH)
        for i, holder, then in self._versions:     # holder: a saved input Tensor or a Version
            c = holder if type(holder) is Version else holder._vc
            if c is not None and c.value != then:
                item = saved[i]
                raise _inplace_error(op_name(type(self)), item.array if isinstance(item, _SavedOutput)
                                     else item, c.value, then)
        return saved

    # -- the graph, read-only (what viz, debug and the examples use)
    @property
    def op(self) -> str:
        """The op's name (``mul``, ``matmul``, ...)."""
        return op_name(type(self))

    @property
    def inputs(self):
        """Where each input came from: a node, a leaf Tensor (which receives a gradient), or None
        (an input that needs none: a constant, a shape, a tensor without grad)."""
        return tuple(e[0] if type(e) is tuple else e for e in self._edges)

    @property
    def input_slots(self):
        """Which output of its node each input is (0 for leaves and inputs without a node)."""
        return tuple(e[1] if type(e) is tuple else 0 for e in self._edges)

    @property
    def outputs(self):
        """The output Tensors that are still alive (None where the user dropped one)."""
        return tuple(ref() for ref in self._outputs)

    @property
    def output_meta(self):
        """``(shape, dtype)`` of each output, known even when the Tensor is gone."""
        return self._out_meta

    @property
    def saved_shapes(self):
        """``(shape, dtype)`` of each array the node keeps for backward (None for plain values);
        empty once backward has freed them."""
        T = Function._tensor_cls
        return tuple((s.array.shape, s.array.dtype) if type(s) is _SavedOutput or isinstance(s, T)
                     else (s.shape, s.dtype) if hasattr(s, "shape") else None
                     for s in (self._saved or ()))

    @property
    def generation(self) -> int:
        """One more than the largest generation among the nodes it came from (leaves: 0)."""
        return self._generation

    @property
    def next_functions(self):
        """PyTorch's view of where this node's gradients go: one ``(node, output index)`` pair per
        input, ``(AccumulateGrad, 0)`` for a leaf that requires grad and ``(None, 0)`` for an input
        that needs none. Trailing inputs that need none are left out (mostly non-tensor arguments
        such as shapes, which PyTorch does not list)."""
        edges = self._edges
        n = len(edges)
        while n and edges[n - 1] is None:
            n -= 1
        return tuple(e if type(e) is tuple else (None, 0) if e is None else (AccumulateGrad.of(e), 0)
                     for e in edges[:n])

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"

    # ========================================================================= 2. apply

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on ``args`` (Tensors and plain values): unwrap the Tensors, run ``forward``
        on their arrays, wrap what it returns, and record a node when a graph is being built."""
        ctx = cls.__new__(cls)
        arrays, device, edges = _unwrap_inputs(cls, ctx, args)
        if recorder is not None:        # tg.jit is recording this step (see jit.py)
            out = recorder.forward(cls, ctx, args, arrays, kwargs)
            return _wrap_outputs(cls, ctx, out, device, edges, args, arrays, kwargs)
        token = backend.quiet_fp()       # ops return inf and nan as PyTorch does, without warnings
        try:
            out = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
        except Exception as e:
            raise _forward_error(cls, e, args)
        finally:
            backend.restore_fp(token)
        return _wrap_outputs(cls, ctx, out, device, edges, args, arrays, kwargs)


_NO_GRADS = [(False,) * n for n in range(8)]


def _unwrap_inputs(cls, ctx, args):
    """Step 1: the inputs' arrays, their one shared device, and, when a graph is being recorded
    (grad mode on and an input requires grad), the edge to where each input came from: its node
    and output index, the leaf itself, or None. Sets ``ctx.needs_input_grad``."""
    T = Function._tensor_cls
    arrays, device = [], None
    if not _mode.enabled:               # no graph: arrays and the device check only
        for a in args:
            if isinstance(a, T):
                if device is None:
                    device = a.device
                elif a.device is not device and a.device != device:
                    raise OpError(_device_error(cls, args))
                arrays.append(a.array)
            else:
                arrays.append(a)
        n = len(args)
        ctx.needs_input_grad = _NO_GRADS[n] if n < 8 else (False,) * n
        return arrays, device, None
    edges, needs, record = [], [], False
    for a in args:
        if isinstance(a, T):
            if a._base is not None and a._view_epoch != a._vc.rebase:
                a._refresh_view(op_name(cls))   # older than a recorded in-place op on its base
            if device is None:
                device = a.device
            elif a.device is not device and a.device != device:
                raise OpError(_device_error(cls, args))
            arrays.append(a.array)
            if a._requires_grad:
                record = True
                fn = a._grad_fn
                edges.append(a if fn is None else (fn, a._out_index))
                needs.append(True)
                continue
        else:
            arrays.append(a)
        edges.append(None)
        needs.append(False)
    if not record:
        n = len(args)
        ctx.needs_input_grad = _NO_GRADS[n] if n < 8 else (False,) * n
        return arrays, device, None
    ctx.needs_input_grad = tuple(needs)
    return arrays, device, edges


def _forward_error(cls, e, args):
    """Step 2 went wrong: the error to raise, naming the op and its inputs and keeping the kind
    of ``e`` (``OpError`` itself, or anything unexpected, passes through unchanged)."""
    if isinstance(e, OpError):
        return e
    if isinstance(e, (ValueError, TypeError, IndexError)):
        err = _kept_kind(e)(f"{op_name(cls)}: {e} (inputs: {describe(args)})")
    elif isinstance(e, AttributeError) and "ndarray" in str(e):
        err = AttributeError(
            f"{op_name(cls)}.forward: {e}. A custom Function's forward receives raw arrays "
            f"(numpy/cupy), not Tensors: use array functions there (xp = ctx.xp(x); "
            f"xp.exp(x)) and keep Tensor methods for backward.")
    else:
        return e
    err.__cause__ = e
    return err


def _wrap_outputs(cls, ctx, out, device, edges, args, arrays, kwargs):
    """Steps 3 and 4: each array ``forward`` returned becomes a Tensor on ``device``; when a graph
    is being recorded, ``ctx`` becomes a node: edges to where its inputs came from, its generation
    (one more than theirs), weak references to its floating outputs (no reference cycles), which
    point back at it, and what backward needs."""
    make = Function._tensor_cls._make
    raw = out                           # as forward returned it: what save_for_backward refers to
    if type(out) is not tuple:          # one output (most ops): no tuples to build
        if type(out) is not np.ndarray and isinstance(out, np.generic):
            out = np.asarray(out)       # NumPy turns 0-d results into scalars
        device = ctx.out_device or device or device_of(out)
        if edges is None:
            result = make(out, device)
        else:
            diff = out.dtype.kind == "f" and not (ctx._non_diff and any(raw is n for n in ctx._non_diff))
            result = make(out, device, True, ctx, 0) if diff else make(out, device)
            _record_node(ctx, edges, device, (result,), args, arrays, (raw,))
        tensors = None
    else:
        out = tuple([np.asarray(o) if isinstance(o, np.generic) else o for o in raw])
        device = ctx.out_device or device or device_of(out[0])
        non_diff = ctx._non_diff
        result = tuple([make(o, device, True, ctx, i) if edges is not None and o.dtype.kind == "f"
                        and not any(r is n for n in non_diff) else make(o, device)
                        for i, (o, r) in enumerate(zip(out, raw))])
        if edges is not None:
            _record_node(ctx, edges, device, result, args, arrays, raw)
        tensors = result
    if cls.view:
        _share_storage(cls, args, kwargs, tensors or (result,))
    if watch.forward is not None:
        watch.forward(cls, args, tensors or (result,), None if edges is None else ctx)
    return result


def _record_node(ctx, edges, device, outs, args, arrays, produced):
    """Step 4 (inside step 3): what the node keeps."""
    gen = 0
    for e in edges:
        if type(e) is tuple and e[0]._generation > gen:
            gen = e[0]._generation
    ctx._device = device
    ctx._edges = tuple(edges)
    ctx._generation = gen + 1
    if len(outs) == 1:
        o = outs[0]
        ctx._out_meta = ((o.array.shape, o.array.dtype),)
        ctx._outputs = (weakref.ref(o),)
    else:
        ctx._out_meta = tuple([(o.array.shape, o.array.dtype) for o in outs])
        ctx._outputs = tuple([weakref.ref(o) for o in outs])
    if ctx._to_save is not None:
        _resolve_saved(ctx, args, arrays, outs, produced)


def _resolve_saved(ctx, args, arrays, outs, produced):
    """What forward saved becomes what backward gets, matched by identity: an input's array
    becomes the input Tensor, an output's a ``_SavedOutput`` (its array: no reference cycle), any
    other array a constant Tensor. Each saved tensor's version is recorded: backward refuses a
    value that was changed in place after it was saved."""
    T = Function._tensor_cls
    saved, versions = [], []
    for s in ctx._to_save:
        if s is None:
            saved.append(s)
            continue
        for j, a in enumerate(arrays):              # an input?
            if a is s and isinstance(args[j], T):
                a = args[j]
                versions.append((len(saved), a, 0 if a._vc is None else a._vc.value))
                saved.append(a)
                break
        else:
            for i, p in enumerate(produced):        # an output?
                if p is s:
                    c = outs[i]._counter()
                    versions.append((len(saved), c, c.value))
                    saved.append(_SavedOutput(i, outs[i].array))
                    break
            else:                                   # another array (a constant) or a value
                saved.append(T._make(s, ctx._device) if hasattr(s, "shape")
                             and not isinstance(s, (T, tuple, list)) else s)
    ctx._to_save = None
    ctx._saved = saved
    if versions:
        ctx._versions = versions


class _SavedOutput:
    """A saved output: kept as its array (no reference cycle); a handle is rebuilt on access."""
    __slots__ = ("index", "array")

    def __init__(self, index, array):
        self.index, self.array = index, array


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


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf (PyTorch's node of that name): the place where
    backward adds into ``variable.grad``. The engine adds into leaves itself
    (``accumulate_into_leaf``); this object only describes that, one per leaf while held."""
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


class _OnceDifferentiable(Function):
    """Placed on gradients computed by a fused kernel under create_graph: differentiating them
    again raises, naming the kernel, instead of silently giving a wrong second derivative."""

    def __init__(self, op, generation, device, meta):
        self.kernel, self._generation, self._device = op, generation, device
        self._edges, self._outputs, self._out_meta = (), (_dead_ref,), (meta,)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(
            f"{ctx.kernel}: double backward is not supported; this fused kernel computes its "
            f"backward on raw arrays. Use the version composed from primitive ops for "
            f"higher-order derivatives.")


def _dead_ref():
    return None


# ============================================================================= 3. backward

def run_backward(roots, root_grads, retain_graph=False, create_graph=False, capture=None):
    """Back-propagate ``root_grads`` from the Tensors ``roots``, then run the callbacks queued
    during the pass (``queue_callback``; none if it raised).

    Without ``capture`` the gradients are added into the leaves' ``.grad`` (``Tensor.backward``).
    With ``capture``, a dict keyed by leaf ``id`` or by ``(node, output index)``, the gradients of
    those tensors are stored there instead, no ``.grad`` changes, and only the part of the graph
    that leads to them is walked (``autograd.grad``). ``create_graph`` records the backward pass.
    """
    queued = []
    _callbacks.stack = _callbacks.stack + (queued,)
    try:
        _BackwardPass(roots, create_graph, capture).run(roots, root_grads, retain_graph)
        while queued:
            queued.pop(0)()
    finally:
        _callbacks.stack = _callbacks.stack[:-1]


class _BackwardPass:
    """The state of one backward pass: the gradients each node has received so far (summed as
    they arrive), the nodes waiting their turn, and what the leaves have received."""
    __slots__ = ("arrays", "capture", "needed", "must_run", "pending", "leaves", "heap", "tie")

    def __init__(self, roots, create_graph, capture):
        self.arrays = not create_graph        # array mode: see the module docstring
        self.capture = capture
        self.needed = self.must_run = None
        if capture is not None:
            self.needed, self.must_run = _needed_nodes(roots, capture)
        self.pending = {}                     # node -> [gradient per output]
        self.leaves = {}                      # id(leaf) -> [leaf, gradient]
        self.heap, self.tie = [], itertools.count()

    def run(self, roots, root_grads, retain_graph):
        """Deliver the roots' gradients, then visit every node the loss depends on, latest first
        (a node's generation is above those of the nodes it came from, so all of a node's
        gradient has arrived when it is popped), then add into the leaves."""
        with set_grad_enabled(not self.arrays), backend.QuietFP():
            for t, g in zip(roots, root_grads):
                self.deliver(t._edge(), g.array if self.arrays else g, t.device)
            heap, pending, deliver, pop = self.heap, self.pending, self.deliver, heapq.heappop
            capture, must_run = self.capture, self.must_run
            while heap:
                node = pop(heap)[2]
                grads = pending.pop(node)
                if node._out_hooks is not None or node._retains or capture is not None:
                    grads = self.visit_outputs(node, grads)
                if must_run is not None and node not in must_run:
                    continue            # autograd.grad took what it wanted; nothing below it
                in_grads = self.call_backward(node, grads) if recorder is None else \
                    recorder.backward(self, node, grads)
                dev = node._device
                for edge, g in zip(node._edges, in_grads):
                    if edge is not None and g is not None:
                        deliver(edge, g, dev)
                grads = in_grads = g = None     # drop references: leaves may adopt these arrays
                if not retain_graph and node._saved:
                    node._saved, node._versions = None, ()
            self.finish_leaves()

    def visit_outputs(self, node, grads):
        """What happens at a node's outputs before its backward: hooks registered on them, the
        gradient kept by ``retain_grad()``, the gradient ``autograd.grad`` asked for."""
        dev = node._device
        if node._out_hooks is not None:
            for i, hooks in node._out_hooks.items():
                if grads[i] is not None and hooks:
                    r = _call_hooks(hooks, self.tensor(grads[i], dev))
                    grads[i] = r.array if self.arrays else r
        for i, ref in enumerate(node._outputs):
            g, t = grads[i], ref()
            if g is None:
                continue
            if t is not None and t._retains_grad and self.capture is None:
                # a copy, as in PyTorch: it must not share memory with the gradient flowing on
                if self.arrays:
                    t.grad = T_make(g.copy(), dev) if t.grad is None else T_make(_add(t.grad.array, g), dev)
                else:
                    t.grad = g.clone() if t.grad is None else t.grad + g
            if self.capture is not None and (node, i) in self.capture:
                self.capture[(node, i)] = self.tensor(g, dev)
        return grads

    def call_backward(self, node, grads):
        """The node's gradients for its inputs (a tuple, one per input). Outputs that received
        nothing get zeros; in array mode an op with ``array_backward`` computes on the arrays."""
        if node._saved is None:
            raise RuntimeError(FREED_GRAPH)
        dev = node._device
        if len(grads) > 1:
            for i, g in enumerate(grads):
                if g is None:           # an output nobody used: its gradient is zero
                    shape, dtype = node._out_meta[i]
                    grads[i] = self.new_grad(dev.xp.zeros(shape, dtype), dev)
        if self.arrays and node.array_backward:
            if node.backward_arrays is not None:
                in_grads = node.backward_arrays(node, *grads)
            else:
                node._arrays = True             # ctx.saved gives arrays during this call
                in_grads = node.backward(node, *grads)
                node._arrays = False
        elif self.arrays:                       # a backward written with Tensor ops (custom Functions)
            in_grads = node.backward(node, *[T_make(g, dev) for g in grads])
        else:
            node._arrays = False
            if node.once_differentiable:
                with no_grad():
                    in_grads = node.backward(node, *grads)
                in_grads = _mark_once(node, in_grads)
            else:
                in_grads = node.backward(node, *grads)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        if watch.node is not None:
            watch.node(node, grads, in_grads)
        return in_grads

    def deliver(self, edge, g, dev):
        """Fit ``g`` to the shape and dtype of the input it is for (the one place where
        broadcasting is undone), and add it to what that input has received so far."""
        needed = self.needed
        if type(edge) is tuple:
            src, k = edge
            if needed is not None and src not in needed:
                return
            shape, dtype = src._out_meta[k]
        else:
            if needed is not None and id(edge) not in self.capture:
                return
            shape, dtype = edge.array.shape, edge.array.dtype
        if self.arrays:
            if isinstance(g, Function._tensor_cls):
                g = g.array
            elif type(g) is not np.ndarray and isinstance(g, np.generic):   # NumPy's 0-d scalars
                g = np.asarray(g)
            if g.shape != shape:
                g = sum_to_array(g, shape)
            if g.dtype != dtype:
                g = g.astype(dtype)
        elif type(g) is not Function._tensor_cls or g.array.shape != shape or g.array.dtype != dtype:
            g = _fit(g, shape, dtype, dev)
        if type(edge) is tuple:
            slot = self.pending.get(src)
            if slot is None:
                slot = self.pending[src] = [None] * len(src._out_meta)
                heapq.heappush(self.heap, (-src._generation, next(self.tie), src))
            slot[k] = g if slot[k] is None else _add(slot[k], g)
        else:
            e = self.leaves.get(id(edge))
            if e is None:
                self.leaves[id(edge)] = [edge, g]
            else:
                e[1] = _add(e[1], g)

    def finish_leaves(self):
        """Each leaf's summed gradient: through its hooks, then into ``autograd.grad``'s answer or
        added into ``.grad``, then its post-accumulate hooks."""
        for e in self.leaves.values():
            leaf = e[0]
            if leaf._hooks:
                r = _call_hooks(leaf._hooks, self.tensor(e[1], leaf.device))
                e[1] = r.array if self.arrays else r
            if watch.leaf is not None:
                watch.leaf(leaf, self.tensor(e[1], leaf.device))
            if self.capture is not None:
                if id(leaf) in self.capture:
                    self.capture[id(leaf)] = self.tensor(e[1], leaf.device)
                continue
            g, e[1] = e[1], None
            if recorder is None:
                accumulate_into_leaf(leaf, g)
            else:
                recorder.accumulate(leaf, g)
            if leaf._post_hooks:
                for hook in tuple(leaf._post_hooks.values()):
                    hook(leaf)

    def tensor(self, g, dev):
        """A gradient as a Tensor (array mode holds raw arrays)."""
        if recorder is not None:
            return recorder.tensor(g, dev)
        return T_make(g, dev) if self.arrays else g

    def new_grad(self, array, dev):
        return array if self.arrays else T_make(array, dev)




def accumulate_into_leaf(leaf, g):
    """Add the gradient ``g`` (an array in array mode, else a recorded Tensor) into ``leaf.grad``.

    As in PyTorch: the first gradient is kept as it is when nothing else holds it (else copied),
    later ones are added in place; under ``create_graph`` the result is a differentiable copy or
    sum. Backward passes may run in several threads on graphs that share leaves, and NumPy
    releases the GIL inside ``+=``: the read-add-write is one step under ``_grad_lock``."""
    T = Function._tensor_cls
    with _grad_lock:
        old = leaf.grad
        if isinstance(g, T):
            leaf.grad = g.clone() if old is None else old + g
        elif old is None:
            # keep the array when referenced only by this frame (and getrefcount's argument)
            own = g.base is None and _refs(g) <= 3 and _writeable(g)
            leaf.grad = T._make(g if own else g.copy(), leaf.device)
        elif type(old) is T and not old._requires_grad and old.array.shape == g.shape \
                and _writeable(old.array) and old.array.base is None:
            old.array += g
            old._mark_changed()
        else:
            leaf.grad = T._make(_add(old.array, g), leaf.device)


_grad_lock = threading.Lock()

try:
    from sys import getrefcount as _refs
except ImportError:                  # not CPython: no reference counts, so never adopt
    def _refs(a):
        return 1 << 30


def T_make(array, device):
    return Function._tensor_cls._make(array, device)


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


def _fit(g, shape, dtype, device):
    """The same for a recorded gradient (a Tensor): sum down to ``shape``, cast to ``dtype``."""
    if not isinstance(g, Function._tensor_cls):
        g = T_make(g, device)
    if g.shape != shape:
        g = g.sum_to_size(shape)
    if g.dtype != dtype:
        g = g.to(dtype)
    return g


def _writeable(a) -> bool:
    return getattr(a.flags, "writeable", True)      # CuPy's flags have no writeable: always True


def _call_hooks(hooks, g):
    for hook in list(hooks.values()):
        r = hook(g)
        if r is not None:
            g = r
    return g


def _mark_once(node, in_grads):
    """Gradients of a once-differentiable node, marked so that differentiating them raises."""
    T = Function._tensor_cls
    single = not isinstance(in_grads, tuple)
    out = []
    for g in ((in_grads,) if single else in_grads):
        if g is not None:
            a = g.array if isinstance(g, T) else g
            once = _OnceDifferentiable(op_name(type(node)), node._generation, node._device,
                                       (a.shape, a.dtype))
            g = T._make(a, node._device, True, once, 0)
        out.append(g)
    return out[0] if single else tuple(out)


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


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of stored in ``.grad``.

    Like ``torch.autograd.grad``: with ``create_graph=True`` the returned gradients are themselves
    differentiable, which gives Hessian-vector products and second derivatives.
    """
    T = Function._tensor_cls
    outputs = [outputs] if isinstance(outputs, T) else list(outputs)
    inputs = [inputs] if isinstance(inputs, T) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, T):
        grad_outputs = [grad_outputs]
    gs = []
    for o, g in zip(outputs, grad_outputs):
        if not o.requires_grad:
            raise RuntimeError("grad: an output does not require grad and has no grad_fn")
        gs.append(o._default_grad(g))
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad: an input does not require grad; only tensors with "
                               "requires_grad=True can be differentiated against")
    keys = [id(t) if t.grad_fn is None else (t.grad_fn, t._out_index) for t in inputs]
    capture = dict.fromkeys(keys)
    run_backward(outputs, gs, create_graph if retain_graph is None else retain_graph,
                 create_graph, capture)
    result = [capture[k] for k in keys]
    if not allow_unused and any(g is None for g in result):
        raise RuntimeError("grad: one of the inputs was not used to compute the outputs; "
                           "pass allow_unused=True to get None for it")
    return tuple(result)


class _Callbacks(threading.local):
    stack = ()          # one list per backward pass in progress (a hook may start another)


_callbacks = _Callbacks()


def in_backward() -> bool:
    """True while this thread runs a backward pass (inside a hook, or a formula recorded with
    ``create_graph=True``): what ``queue_callback`` needs, and how the teaching tools tell a
    backward formula's ops from the forward's."""
    return bool(_callbacks.stack)


def queue_callback(fn):
    """Run ``fn()`` once at the end of the backward pass in progress, after every leaf's ``.grad``
    is final (PyTorch's ``Variable._execution_engine.queue_callback``). Data-parallel training
    queues its gradient averaging here."""
    if not _callbacks.stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _callbacks.stack[-1].append(fn)


# ============================================================================= grad mode

class _GradMode(threading.local):
    enabled = True
    inference = False


_mode = _GradMode()


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


# ============================================================================= version counters

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


# ============================================================================= errors

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


def op_name(cls) -> str:
    return getattr(cls, "name", None) or cls.__name__.lower()


def describe(args) -> str:
    """The Tensors among ``args`` as ``Tensor(shape=..., dtype=..., device=...)``, for messages."""
    return ", ".join(f"Tensor(shape={tuple(a.shape)}, dtype={a.dtype}, device={a.device})"
                     for a in args if isinstance(a, Function._tensor_cls))


def _device_error(cls, args):
    T = Function._tensor_cls
    return (f"{op_name(cls)}: expected all tensors on one device, got "
            f"{', '.join(str(t.device) for t in args if isinstance(t, T))}. "
            f"Move them with .to(device) first.")


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


# ============================================================================= watching

class _Watch:
    """Hooks for the teaching and debugging tools (``debug.py``: backward tracing, anomaly
    detection). Each is None when off, so the engine pays one attribute check per op."""
    forward = None      # fn(cls, args, outs, ctx or None) after each op's forward
    node = None         # fn(node, grads_out, grads_in) after each node's backward
    leaf = None         # fn(leaf, grad) when a leaf receives its gradient


watch = _Watch()

# tg.jit's recorder while it records a step (jit.py), else None: apply, the backward pass and a few
# Tensor methods hand it the arrays they compute with. The engine knows nothing else of it.
recorder = None


def replayed(fn=None, *, idempotent=False):
    """Mark a library function that changes state outside ``Function.apply`` (an optimizer's step,
    drawing random numbers) or checks values (a target out of range): while tg.jit records a
    step, the call itself is recorded, to be made again at every replay. ``idempotent``: making it
    twice changes nothing more than once (``zero_grad``, ``train()``)."""
    if fn is None:
        return functools.partial(replayed, idempotent=idempotent)

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if recorder is None:
            return fn(*args, **kwargs)
        return recorder.call(fn, args, kwargs, idempotent)
    return call


def __getattr__(name):
    """PyTorch spells these ``torch.autograd.*``; here they live in ``debug.py`` (the teaching
    tools, built on the public graph API above) and ``legacy.py``, imported on first use."""
    if name in ("detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "trace_backward"):
        from . import debug
        return getattr(debug, name)
    if name == "Variable":
        from .legacy import Variable
        return Variable
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
