"""Tensor's in-place methods: ``add_``, ``mul_``, ``clamp_``, ``copy_``, ``fill_``, ``zero_``,
``x[index] = v``, ``scatter_`` and its relatives, the in-place shape changes (``unsqueeze_``,
``t_``, ...) and random fills (``uniform_``, ``normal_``), with the history bookkeeping they need.

Outside the graph an in-place op writes into this tensor's memory and bumps its version. In
the graph (grad mode on and this tensor or the other operand requires grad) it is recorded:
the result is computed by the same Functions as the out-of-place op, written into this
tensor's memory, and this tensor takes over the result's history. Saved tensors remember
their version, so backward refuses to use a value that was changed after it was saved.

``InplaceMethods`` is a base class of ``Tensor`` (``tensor.py``): methods only, no state.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import autograd, backend, dtypes
from .autograd import OpError, enable_grad, is_grad_enabled, no_grad
from .tensor_math import _scalar

# Bound by tensor.py once Tensor exists: Tensor's methods call ops, and ops build Tensors, so
# neither can be imported here.
Tensor = ops = None


class InplaceMethods:
    __slots__ = ()

    # ------------------------------------------------------------------ the machinery
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
        if autograd.recorder is not None:
            autograd.recorder.write(self, array)

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
        old = Tensor.wrap(self.array.copy() if saves_self else self.array, self.device,
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

    # ------------------------------------------------------------------ arithmetic and fills
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
            if autograd.recorder is not None:
                autograd.recorder.write(self, value.array if isinstance(value, Tensor) else value, idx)
            return
        old = Tensor.wrap(self.array, self.device, self._requires_grad, self._grad_fn, self._out_index)
        self._take_history(ops.IndexPut.apply(old, value, idx))

    # ------------------------------------------------------------------ index-tensor ops
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

    # ------------------------------------------------------------------ shape changes
    # this tensor becomes a differently shaped view of its own memory
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

    # ------------------------------------------------------------------ random fills
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
        return self._inplace_op(op, _replaced_by, Tensor.wrap(backend.to_device(values, self.device),
                                                                self.device))


def _needs_grad(x):
    return isinstance(x, Tensor) and x.requires_grad


def _dead_ref():
    """A weak reference that is always dead (a node output nobody holds any more)."""
    return None


def _replaced_by(old, value):
    """The result of fill_/copy_/zero_: ``value`` broadcast to ``old``'s shape. ``old`` stays an
    input with zero gradient, so a recorded fill cuts the history as PyTorch's does."""
    keep = Tensor.wrap(old.device.xp.zeros(old.shape, bool), old.device)
    return ops.where(keep, old, value)
