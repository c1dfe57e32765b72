"""Tensor's reductions, scans and orderings: ``sum``, ``mean``, ``var``, ``std``, ``max``/``min``
(with indices along a dim), ``amax``, ``argmax``, ``logsumexp``, ``softmax``, ``prod``, ``cumsum``,
``all``/``any``, ``norm``, ``sort``, ``topk``, ``median``, ... Each method is one call into ``ops``
(``ops/reduce.py``, ``ops/scan.py``, ``ops/sort.py``, ``ops/linalg.py``).

``ReduceMethods`` is a base class of ``Tensor`` (``tensor.py``): methods only, no state.
"""
from __future__ import annotations

# Bound by tensor.py once Tensor exists: Tensor's methods call ops, and ops build Tensors, so
# neither can be imported here.
Tensor = ops = None


class ReduceMethods:
    __slots__ = ()

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
        if "other" in np_style:                 # torch.max(x, other=y)
            return self.maximum(np_style.pop("other"), **np_style)
        return ops.max(self, dim, keepdim, **np_style)

    def min(self, dim=None, keepdim=False, **np_style):
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if "other" in np_style:
            return self.minimum(np_style.pop("other"), **np_style)
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

    # ------------------------------------------------------------------ scans, norms, orderings
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
