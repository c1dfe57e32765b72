"""Optimizer: the parameter groups, the per-parameter state and their (de)serialisation.

An optimizer holds ``param_groups``, a list of dicts that each have a ``"params"`` list and the
hyperparameters for those parameters (``lr``, ``momentum``, ...; missing ones come from
``defaults``), and ``state``, a dict keyed by the parameter tensor itself with the buffers the
update rule keeps between steps (Tensors on the parameter's device) and a ``"step"`` count.

Subclasses write one method, ``_update(p, grad, state, group)``: it gets the parameter, its
gradient as a raw array (already negated when ``maximize=True``), the parameter's state dict and
its group, and changes ``p.array`` in place with the array's own module (``p.device.xp``), so the
same code runs on NumPy and CuPy. ``step`` loops over parameters, never over elements.
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict

import numpy as np

from .. import backend
from ..autograd import enable_grad, no_grad, replayed
from ..tensor import Tensor


def check_hyper(optimizer, name, value, ok, expected):
    """Raise ``ValueError("SGD: invalid lr -1.0 (expected lr >= 0)")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{optimizer}: invalid {name} {value!r} (expected {expected})")


def zeros_state(p, fill=0.0):
    """A state buffer shaped like parameter ``p``, on its device and in its dtype."""
    return Tensor.wrap(p.device.xp.full(p.array.shape, fill, dtype=p.array.dtype), p.device)


def _writeable(a):
    flags = getattr(a, "flags", None)
    return getattr(flags, "writeable", True)


class Optimizer:
    """Base class of all optimizers: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts each holding a
    ``"params"`` entry plus per-group options that override ``defaults``.
    """

    def __init_subclass__(cls, **kwargs):
        # every optimizer's step is one call that tg.jit makes again at each replay (the update
        # reads step counts and learning rates as they are then)
        super().__init_subclass__(**kwargs)
        if "step" in vars(cls):
            cls.step = replayed(vars(cls)["step"])

    def __init__(self, params, defaults):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts, but got a "
                            "Tensor; pass [tensor] or model.parameters()")
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)     # keyed by the parameter Tensor (hashed by identity)
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a dict ``{"params": [...], **options}``; options it lacks come from ``defaults``."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: parameters must come in an ordered collection (a list), not a "
                            "set, whose order changes from run to run")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError(f"{name}: give either all parameters with names or none")
            group["param_names"] = names
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {i} of the group "
                                f"is a {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} of the "
                                 "group was computed from others; optimize the leaves instead)")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(f"{name}: a parameter group holds the same parameter more than once",
                          stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        if any(("param_names" in g) != ("param_names" in group) for g in self.param_groups):
            raise ValueError(f"{name}: all parameter groups should be given with names or all without")
        self.param_groups.append(group)

    # ------------------------------------------------------------------ gradients and steps
    @replayed(idempotent=True)
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``.grad = None`` (default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif g.grad_fn is None and not g.requires_grad and _writeable(g.array):
                    g.array[...] = 0
                    g.bump_version()
                else:   # a gradient that is part of a graph (create_graph=True) is cut loose
                    p.grad = Tensor.wrap(p.device.xp.zeros_like(g.array), p.device)

    @replayed
    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` if one is given.

        ``closure`` re-evaluates the model and returns the loss (it should zero the gradients and
        call ``backward``); it runs with grad mode on, the update itself with grad mode off.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad.array
                    if g.shape != p.array.shape:
                        raise RuntimeError(f"{type(self).__name__}.step: parameter has shape "
                                           f"{p.shape} but its .grad has shape {g.shape}")
                    if group.get("maximize", False):
                        g = -g
                    self._update(p, g, self.state[p], group)
                    p.bump_version()
        return loss

    def _update(self, p, grad, state, group):
        raise NotImplementedError(f"{type(self).__name__} must implement _update(p, grad, state, group)")

    # ------------------------------------------------------------------ serialisation
    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``.

        Parameters are replaced by their position across all groups, as in PyTorch. The state
        Tensors are copies, so the dict is a snapshot that later steps do not change.
        """
        index, packed_groups, start = {}, [], 0
        for group in self.param_groups:
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            packed_groups.append(packed)
            start += len(group["params"])
        state = {index[id(p)]: {k: _snapshot(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict):
        """Load a dict made by ``state_dict()`` into an optimizer over same-shaped parameters.

        Hyperparameters come from the dict; the parameters stay this optimizer's own. State
        buffers are copied onto each parameter's device and (floating point) dtype.
        """
        name = f"{type(self).__name__}.load_state_dict"
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: the state dict has {len(saved_groups)} parameter groups but this "
                             f"optimizer has {len(self.param_groups)}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}: parameter group {i} has {len(saved['params'])} parameters in "
                                 f"the state dict but {len(group['params'])} in this optimizer")
        params_of = {}
        for group, saved in zip(self.param_groups, saved_groups):
            params_of.update(zip(saved["params"], group["params"]))
        state = defaultdict(dict)
        for idx, saved_state in state_dict["state"].items():
            if idx not in params_of:
                raise ValueError(f"{name}: the state dict has state for parameter {idx}, which none "
                                 f"of its parameter groups lists")
            p = params_of[idx]
            state[p] = {k: _restore(v, p, k, idx, name) for k, v in saved_state.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            g = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            g["params"] = group["params"]
            new_groups.append(g)
        self.param_groups = new_groups
        self.state = state

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k not in ("params", "param_names")]
        return "\n".join(lines + [")"])


def _snapshot(value):
    if isinstance(value, Tensor):
        return Tensor.wrap(value.array.copy(), value.device)
    return copy.deepcopy(value)


def _restore(value, p, key, idx, where):
    """A saved state entry -> this optimizer's state for parameter ``p`` (copied, on p's device)."""
    if key == "step":
        return int(value.item() if hasattr(value, "item") else value)
    if isinstance(value, Tensor):
        value = value.array
    elif not backend.is_array(value):
        if not hasattr(value, "__array__"):
            return copy.deepcopy(value)
        value = np.asarray(value)      # e.g. a CPU tensor of another library
    if tuple(value.shape) != tuple(p.shape):
        raise ValueError(f"{where}: state {key!r} of parameter {idx} has shape {tuple(value.shape)} "
                         f"but the parameter has shape {p.shape}")
    arr = backend.to_device(value, p.device)
    if arr.dtype.kind == "f" and arr.dtype != p.dtype:
        arr = arr.astype(p.dtype)
    return Tensor.wrap(arr.copy() if arr is value else arr, p.device)
