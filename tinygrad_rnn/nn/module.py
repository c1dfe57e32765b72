"""Module: the base class of every layer and model.

A Module owns three ordered collections, filled by plain attribute assignment:

* ``_parameters``: the Parameters assigned to it (``self.weight = Parameter(...)``),
* ``_buffers``: Tensors that are state but not learnt (``register_buffer``), e.g. running means,
* ``_modules``: its sub-modules (``self.fc = Linear(...)``).

Everything else (``parameters()``, ``state_dict()``, ``to(device)``, ``train()``) walks these
collections recursively, in the order things were registered, so parameter names are dotted paths
(``"encoder.0.weight"``) and weights copy between models, and to and from PyTorch, by name.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple

from .. import autograd, backend
from ..autograd import no_grad, replayed
from ..tensor import Tensor, as_dtype
from ..utils.hooks import RemovableHandle
from .hooks import BackwardHookCall
from .parameter import Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _addindent(text, spaces):
    lines = text.split("\n")
    return lines[0] if len(lines) == 1 else "\n".join([lines[0]] + [" " * spaces + s for s in lines[1:]])


def _check_name(kind, name, module, collection):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got {name!r}')
    if hasattr(module, name) and name not in getattr(module, collection):
        raise KeyError(f"attribute {name!r} already exists")


class Module:
    """Base class for layers and models: subclass it, assign layers/Parameters in ``__init__``
    (after calling ``super().__init__()``) and write ``forward``. ``module(x)`` calls ``forward(x)``."""

    training: bool
    # hooks (see nn/hooks.py): None until one is registered; a call without hooks checks one flag
    _forward_pre_hooks = _forward_hooks = _backward_pre_hooks = _backward_hooks = None
    _has_hooks = False

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if autograd.recorder is not None:       # tg.jit: guard the training flag, refuse hooks
            autograd.recorder.module_called(self)
        if not self._has_hooks:
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        """``forward`` with the registered hooks around it, in PyTorch's order."""
        for hook, with_kwargs in list((self._forward_pre_hooks or {}).values()):
            if with_kwargs:
                r = hook(self, args, kwargs)
                if r is not None:
                    if not (isinstance(r, tuple) and len(r) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {r!r}.")
                    args, kwargs = r
            else:
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        call = None
        if self._backward_hooks or self._backward_pre_hooks:
            call = BackwardHookCall(self, list((self._backward_pre_hooks or {}).values()),
                                    list((self._backward_hooks or {}).values()))
            args = call.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list((self._forward_hooks or {}).values()):
            r = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if r is not None:
                output = r
        return output if call is None else call.wrap_outputs(output)

    def _add_hook(self, collection, entry, prepend):
        hooks = self.__dict__.get(collection)
        if hooks is None:
            hooks = OrderedDict()
            object.__setattr__(self, collection, hooks)
            object.__setattr__(self, "_has_hooks", True)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = entry
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` (``hook(module, args, kwargs)`` with ``with_kwargs=True``)
        before every ``forward``; a returned value replaces the arguments. Returns a handle whose
        ``remove()`` unregisters it."""
        return self._add_hook("_forward_pre_hooks", (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs=True``) after every ``forward``; a returned value replaces the output."""
        return self._add_hook("_forward_hooks", (hook, with_kwargs), prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients of this module's outputs are
        known; a returned tuple replaces them."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of this module's
        inputs are known (see ``nn/hooks.py`` for the layout); a returned tuple replaces
        ``grad_input``. The hook must not change its arguments in place."""
        return self._add_hook("_backward_hooks", hook, prepend)

    # ------------------------------------------------------------------ registration
    def register_parameter(self, name: str, param) -> None:
        """Add a Parameter (or ``None``, a slot that stays empty, e.g. a disabled bias)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self, "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add a Tensor that is state but not a parameter (saved in ``state_dict`` when persistent)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self, "_buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module) -> None:
        """Add a sub-module (or ``None``) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", name, self, "_modules")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if "_modules" not in d:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            self._modules[name] = value
        elif "_modules" in d and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(nn.Module or None expected)")
            self._modules[name] = None
        elif "_buffers" in d and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        """Drop ``name`` from every collection before it is registered in another one."""
        self.__dict__.pop(name, None)
        for coll in ("_parameters", "_buffers", "_modules"):
            self.__dict__[coll].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):
        # only called when normal lookup fails: registered things live in the three collections
        d = self.__dict__
        for coll in ("_parameters", "_buffers", "_modules"):
            c = d.get(coll)
            if c is not None and name in c:
                return c[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for coll in ("_parameters", "_buffers", "_modules"):
            c = self.__dict__.get(coll)
            if c is not None and name in c:
                del c[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(dotted_name, module)`` for this module (name ``prefix``) and all below it."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, collection, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in getattr(m, collection).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(dotted_name, Parameter)`` in registration order; a shared Parameter once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> "Module":
        """The module at dotted path ``target`` (``""`` is this module)."""
        m = self
        for part in target.split(".") if target else []:
            if not isinstance(m._modules.get(part), Module):
                raise AttributeError(f"{type(m).__name__} has no submodule {part!r} (looking up {target!r})")
            m = m._modules[part]
        return m

    def get_parameter(self, target: str) -> Parameter:
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        if m._parameters.get(name) is None:
            raise AttributeError(f"{type(m).__name__} has no parameter {name!r} (looking up {target!r})")
        return m._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        if m._buffers.get(name) is None:
            raise AttributeError(f"{type(m).__name__} has no buffer {name!r} (looking up {target!r})")
        return m._buffers[name]

    def apply(self, fn):
        """Call ``fn(m)`` on every sub-module (children first) and then on this module; returns self.
        The usual way to re-initialise weights: ``model.apply(init_fn)``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes and gradients
    @replayed(idempotent=True)
    def train(self, mode: bool = True):
        """Training mode (dropout active, batch norm uses batch statistics); returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    @replayed(idempotent=True)
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default) or to zeros in place."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_()
                p.grad.array[...] = 0

    # ------------------------------------------------------------------ state
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """An OrderedDict ``dotted_name -> Tensor`` of parameters and persistent buffers.

        Tensors are detached (sharing memory with the module) unless ``keep_vars=True``. Shared
        parameters appear under every name they are registered with, as in PyTorch.
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _state_slots(self):
        """``dotted_name -> (owner module, collection, local name)`` for everything state_dict saves."""
        slots = OrderedDict()
        for mod_prefix, m in self.named_modules(remove_duplicate=False):
            p = mod_prefix + "." if mod_prefix else ""
            for name, v in m._parameters.items():
                if v is not None:
                    slots[p + name] = v
            for name, v in m._buffers.items():
                if v is not None and name not in m._non_persistent_buffers_set:
                    slots[p + name] = v
        return slots

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from ``state_dict`` (name -> Tensor or NumPy array) into this module in place.

        Values are cast to each parameter's/buffer's dtype and moved to its device. A shape
        mismatch always raises; with ``strict=True`` missing and unexpected keys raise too. Nothing
        is changed when an error is raised. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        slots = self._state_slots()
        missing = [k for k in slots if k not in state_dict]
        unexpected = [k for k in state_dict if k not in slots]
        errors, copies = [], []
        for key, dst in slots.items():
            if key not in state_dict:
                continue
            src = state_dict[key]
            if isinstance(src, Tensor):
                arr = src.array
            elif backend.is_array(src):
                arr = src
            else:
                errors.append(f'While copying the parameter named "{key}", expected Tensor or '
                              f'NumPy array from checkpoint but received {type(src).__name__}')
                continue
            if tuple(arr.shape) != tuple(dst.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape {tuple(arr.shape)} "
                              f"from checkpoint, the shape in current model is {tuple(dst.shape)}.")
                continue
            copies.append((dst, arr))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for dst, arr in copies:
                dst.array[...] = backend.to_device(arr, dst.device).astype(dst.dtype, copy=False)
                dst.bump_version()
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ devices and dtypes
    def _apply(self, fn, floats_only=False):
        """Replace every parameter's (and gradient's) array by ``fn(tensor)``'s, in place, so
        optimizers holding the Parameters keep working; buffers are replaced by ``fn(buffer)``."""
        with no_grad():
            for m in self.modules():
                for p in m._parameters.values():
                    if p is None or (floats_only and p.dtype.kind != "f"):
                        continue
                    new = fn(p)
                    p.array, p.device = new.array, new.device
                    if p.grad is not None:
                        g = fn(p.grad)
                        p.grad = Tensor.wrap(g.array, g.device)
                for name, b in m._buffers.items():
                    if b is not None and not (floats_only and b.dtype.kind != "f"):
                        m._buffers[name] = fn(b)
        return self

    def to(self, *args, device=None, dtype=None, non_blocking=False):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``; in place, returns self.

        A dtype must be floating point; it converts floating-point parameters and buffers only
        (integer buffers such as ``num_batches_tracked`` keep their dtype).
        """
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, backend.Device) or (isinstance(a, str) and a.split(":")[0] in backend._TYPES):
                device = a
            else:
                dtype = a
        if dtype is not None:
            dtype = as_dtype(dtype, "Module.to")
            if dtype.kind != "f":
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired "
                                f"dtype={dtype}")
        if device is not None:
            dev = backend.device(device)
            self._apply(lambda t: t.to(dev))
        if dtype is not None:
            self._apply(lambda t: t.to(dtype), floats_only=True)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        """Move to a GPU: ``cuda()``, ``cuda(1)`` or ``cuda("cuda:1")``."""
        if device is None:
            return self.to("cuda")
        return self.to(device if isinstance(device, (str, backend.Device)) else f"cuda:{int(device)}")

    def float(self):
        return self.to(as_dtype("float32"))

    def double(self):
        return self.to(as_dtype("float64"))

    def half(self):
        return self.to(as_dtype("float16"))

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (override in layers)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        lines = extra_lines + [f"({name}): " + _addindent(repr(m), 2) for name, m in self._modules.items()]
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not self._modules:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
