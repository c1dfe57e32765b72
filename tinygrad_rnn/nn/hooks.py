"""Module hooks: code that runs around a module's forward and backward (PyTorch's semantics).

* forward pre-hooks ``hook(module, args)`` run before ``forward``; a returned value replaces the
  positional arguments (a non-tuple is wrapped in one);
* forward hooks ``hook(module, args, output)`` run after it; a returned value replaces the output;
* backward pre-hooks ``hook(module, grad_output)`` run when the gradients of the outputs are known;
  a returned tuple replaces them;
* full backward hooks ``hook(module, grad_input, grad_output)`` run when the gradients of the
  inputs are known; a returned tuple replaces ``grad_input``.

The backward ones work by wrapping the module's inputs and outputs in two identity nodes of the
graph (``HookIdentity``): the outputs' node sees ``grad_output`` first, the inputs' node sees all
of ``grad_input`` at once. ``grad_input`` has one entry per positional argument of the call and
``grad_output`` one per top-level output (a tuple's items; nested tuples, such as an LSTM's
``(h, c)``, count as one non-tensor entry): ``None`` for an argument that is not a tensor or needs
no gradient. Without hooks a module call costs nothing extra.
"""
from __future__ import annotations

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor


class HookIdentity(Function):
    """The identity on several tensors at once; its backward hands their gradients, together,
    to ``ctx.on_grads`` (which may replace them)."""

    @staticmethod
    def forward(ctx, *arrays, on_grads):
        ctx.on_grads = on_grads
        return arrays

    @staticmethod
    def backward(ctx, *grads):
        return tuple(ctx.on_grads(grads))


def _grad_tensors(items):
    """Positions of the tensors among ``items`` that take part in backward."""
    return [i for i, a in enumerate(items) if isinstance(a, Tensor) and a.requires_grad]


class BackwardHookCall:
    """One module call with backward hooks: routes ``items`` through identity nodes and calls the
    hooks (captured at call time, as PyTorch does) with the gradients in PyTorch's layout."""

    def __init__(self, module, pre_hooks, hooks):
        self.module, self.pre_hooks, self.hooks = module, pre_hooks, hooks
        self.n_args, self.arg_slots, self.grad_output = 0, [], None

    @staticmethod
    def _route(items, slots, on_grads):
        outs = HookIdentity.apply(*(items[i] for i in slots), on_grads=on_grads)
        items = list(items)
        for i, o in zip(slots, outs):
            items[i] = o
        return items

    def wrap_inputs(self, args):
        self.n_args = len(args)
        self.arg_slots = _grad_tensors(args)
        if not self.arg_slots or not is_grad_enabled():
            self.arg_slots = []
            return args
        return tuple(self._route(args, self.arg_slots, self._input_grads))

    def wrap_outputs(self, output):
        single = isinstance(output, Tensor)
        items = (output,) if single else output
        if not isinstance(items, tuple) or not is_grad_enabled():
            return output
        slots = _grad_tensors(items)
        if not slots:
            return output
        n = len(items)

        def on_grads(grads):
            grad_output = [None] * n
            for i, g in zip(slots, grads):
                grad_output[i] = g
            grad_output = tuple(grad_output)
            for hook in self.pre_hooks:
                r = hook(self.module, grad_output)
                if r is not None:
                    grad_output = _checked(r, n, "grad_output", "backward pre-hook")
            self.grad_output = grad_output
            if not self.arg_slots:      # no input needs a gradient: the hooks run now
                self._call_hooks((None,) * self.n_args, must_be_none=True)
            return [grad_output[i] for i in slots]

        items = self._route(items, slots, on_grads)
        if single:
            return items[0]
        return output._make(items) if hasattr(output, "_make") else tuple(items)   # namedtuples stay

    def _input_grads(self, grads):
        grad_input = [None] * self.n_args
        for i, g in zip(self.arg_slots, grads):
            grad_input[i] = g
        grad_input = self._call_hooks(tuple(grad_input))
        return [grad_input[i] for i in self.arg_slots]

    def _call_hooks(self, grad_input, must_be_none=False):
        for hook in self.hooks:
            r = hook(self.module, grad_input, self.grad_output)
            if r is None:
                continue
            if must_be_none and any(g is not None for g in r):
                raise RuntimeError("Backward hook for Modules where no input requires gradient "
                                   "should always return None or None for all gradients.")
            grad_input = _checked(r, len(grad_input), "grad_input", "backward hook")
        return grad_input


def _checked(r, n, what, kind):
    r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
    if len(r) != n:
        raise RuntimeError(f"{kind} returned an invalid number of {what}, got {len(r)}, but "
                           f"expected {n}")
    return r
