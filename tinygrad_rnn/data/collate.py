"""``default_collate``: a list of B samples -> one batch with a new leading dimension of size B.

Samples may be Tensors, NumPy arrays, Python or NumPy numbers, strings, or tuples / lists /
namedtuples / dicts of these (nested); containers keep their type and are collated field by field.
As in PyTorch, Python ints become an int64 tensor, Python floats a float64 tensor and bools a bool
tensor; arrays keep their dtype. Tensors stay on their device; arrays and numbers go to the default
device. Strings are returned as a list.
"""
from __future__ import annotations

import collections.abc
import numbers

import numpy as np

from .. import backend
from ..ops import stack
from ..tensor import Tensor


def _check_same(values, what, who="default_collate"):
    first = values[0]
    for i, v in enumerate(values):
        if v != first:
            raise ValueError(f"{who}: every sample in a batch must have the same {what}; sample 0 has "
                             f"{first} but sample {i} has {v}")


def _stack_tensors(batch):
    _check_same([tuple(t.shape) for t in batch], "shape")
    _check_same([str(t.device) for t in batch], "device")
    if any(t.requires_grad for t in batch):
        return stack(batch)              # keeps the graph if samples carry one
    xp = batch[0].device.xp
    return Tensor.wrap(xp.stack([t.array for t in batch]), batch[0].device)


def default_collate(batch):
    """Stack a list of samples into a batch: B samples of shape S -> one tensor of shape (B, *S)."""
    if not isinstance(batch, (list, tuple)) or not batch:
        raise ValueError("default_collate: expected a non-empty list of samples")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, (np.ndarray, np.generic)) or backend.is_array(elem):
        xp = backend.get_array_module(*batch) if backend.is_array(elem) else np
        arrays = [xp.asarray(a) for a in batch]
        if arrays[0].dtype.kind not in "biuf":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {arrays[0].dtype}; "
                            "pass collate_fn= to handle them")
        _check_same([a.shape for a in arrays], "shape")
        return Tensor._from_data(xp.stack(arrays))     # device arrays stay on their device
    if isinstance(elem, bool):
        return Tensor._from_data(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor._from_data(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor._from_data(np.array(batch, dtype=np.float64))
    if isinstance(elem, collections.abc.Mapping):
        keys = list(elem)
        out = {k: default_collate([d[k] for d in batch]) for k in keys}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, collections.abc.Sequence):
        _check_same([len(s) for s in batch], "number of fields")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):       # namedtuple
            return type(elem)(*fields)
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(f"default_collate: cannot batch samples of type {type(elem).__name__}; samples "
                    "must be Tensors, arrays, numbers, strings or tuples/lists/dicts of them "
                    "(or pass collate_fn=)")
