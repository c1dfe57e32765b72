"""Tensor's shape and indexing methods: ``reshape``, ``view``, ``permute``, ``transpose``,
``expand``, ``squeeze``, ``split``, ``chunk``, ``repeat``, ``flip``, ..., ``x[index]`` and the
index-tensor ops (``gather``, ``scatter``, ``index_select``, ``masked_fill``, ...). Each method is
one call into ``ops`` (``ops/shape.py``, ``ops/indexing.py``); the in-place forms are in
``tensor_inplace.py``.

``ShapeMethods`` is a base class of ``Tensor`` (``tensor.py``): methods only, no state.
"""
from __future__ import annotations

from .autograd import OpError

# Bound by tensor.py once Tensor exists: Tensor's methods call ops, and ops build Tensors, so
# neither can be imported here.
Tensor = ops = None


class ShapeMethods:
    __slots__ = ()

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

    # ------------------------------------------------------------------ indexing by index tensors
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

    # ------------------------------------------------------------------ more shape functions
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
    def unflatten(self, dim, sizes): return ops.unflatten(self, dim, sizes)
    def unbind(self, dim=0): return ops.unbind(self, dim)
    def narrow(self, dim, start, length): return ops.narrow(self, dim, start, length)
    def broadcast_to(self, *size): return ops.broadcast_to(self, *size)
    def view_as(self, other): return self.view(*other.shape)
