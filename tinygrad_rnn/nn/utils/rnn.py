"""Variable-length batches for recurrent layers, with PyTorch's names, and ``detach_hidden`` for
truncated BPTT.

A batch of sequences of different lengths is either *padded*, ``(T, B, *)`` with the short ones
filled up, or *packed*: a :class:`PackedSequence` whose ``data`` holds only the real steps, time
step by time step, ``(sum of lengths, *)``, with ``batch_sizes[t]`` = how many sequences are still
running at step ``t``. The sequences are sorted longest first inside, so the ones still running at
step ``t`` are always the first ``batch_sizes[t]``; ``sorted_indices`` / ``unsorted_indices``
remember the caller's order. ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` take a PackedSequence and then
run every sequence for exactly its own length: padded steps neither change the final state nor
receive gradient.

    padded = pad_sequence([a, b, c])                      # (T_max, 3, *)
    packed = pack_padded_sequence(padded, [len(a), len(b), len(c)], enforce_sorted=False)
    out, h_n = rnn(packed)                                # h_n: each sequence's own last state
    out, lengths = pad_packed_sequence(out)               # (T_max, 3, H), zeros after each end

Everything here is differentiable: packing and padding are indexing ops, so gradients flow back
to the original tensors. Index arrays are built on the host from the lengths (a loop over
sequences only where a Python list of sequences comes in or goes out).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import backend
from ...ops.indexing import IndexAdd
from ...ops.shape import cat
from ...tensor import Tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation",
           "detach_hidden"]


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (a 1-D integer Tensor), or None for None."""
    if permutation is None:
        return None
    p = permutation.numpy() if isinstance(permutation, Tensor) else np.asarray(permutation)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=p.dtype)
    dev = permutation.device if isinstance(permutation, Tensor) else None
    return Tensor._from_data(inv.astype(np.int64), device=dev)


def _as_index(indices, device):
    if indices is None:
        return None
    if isinstance(indices, Tensor):
        return indices if indices.device == device else indices.to(device)
    return Tensor._from_data(np.asarray(indices, dtype=np.int64), device=device)


_Fields = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_Fields):
    """A batch of variable-length sequences without padding: ``(data, batch_sizes, sorted_indices,
    unsorted_indices)``.

    data: ``(sum of lengths, *)``, the steps of all sequences, time-major: first every sequence's
        step 0 (longest sequence first), then every step 1 of the sequences that have one, ...
    batch_sizes: ``(T_max,)`` int64 on the CPU; ``batch_sizes[t]`` sequences have a step ``t``.
    sorted_indices: position, in the caller's batch, of each sorted sequence (None: already sorted).
    unsorted_indices: its inverse (computed when not given).

    Build one with :func:`pack_padded_sequence` or :func:`pack_sequence` rather than by hand.
    """
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:      # PackedSequence((data, batch_sizes)), as PyTorch accepts
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise TypeError("PackedSequence: give batch_sizes, or a (data, batch_sizes) pair")
            data, batch_sizes = data
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = Tensor._from_data(np.asarray(batch_sizes, dtype=np.int64), device="cpu")
        elif batch_sizes.device.type != "cpu" or batch_sizes.dtype != np.int64:
            batch_sizes = batch_sizes.to("cpu").long()
        if batch_sizes.ndim != 1:
            raise ValueError(f"PackedSequence: batch_sizes must be 1-D, got shape {tuple(batch_sizes.shape)}")
        sorted_indices = _as_index(sorted_indices, data.device)
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        else:
            unsorted_indices = _as_index(unsorted_indices, data.device)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """Move ``data`` (and the index tensors) to a device and/or cast ``data`` to a dtype;
        ``batch_sizes`` stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = (lambda t: None if t is None else t.to(data.device))
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    def half(self):
        return self.to(np.float16)

    @property
    def is_cuda(self):
        return self.data.device.type == "cuda"

    def _lengths(self):
        """Each sorted sequence's length, host int64 ``(B,)``."""
        bs = self.batch_sizes.numpy()
        return (bs[None, :] > np.arange(bs[0])[:, None]).sum(1).astype(np.int64)


def _host_lengths(lengths):
    if isinstance(lengths, Tensor):
        lengths = lengths.numpy()
    else:
        lengths = backend.to_numpy(lengths) if backend.is_array(lengths) else np.asarray(lengths)
    if lengths.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lengths.ndim}D lengths")
    if lengths.dtype.kind not in "iuf":
        raise TypeError(f"pack_padded_sequence: lengths must be integers, got dtype {lengths.dtype}")
    return lengths.astype(np.int64)


def _to_device(arr, like):
    return backend.to_device(np.ascontiguousarray(arr), like.device)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch: ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) and the B lengths
    -> :class:`PackedSequence`.

    With ``enforce_sorted=True`` the lengths must already decrease (longest first); with False the
    batch is sorted here (stably) and the permutation kept in ``sorted_indices``.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: expected a Tensor, got {type(input).__name__}")
    lengths = _host_lengths(lengths)
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: expected input of at least 2 dims (T, B, *), got "
                         f"shape {tuple(input.shape)}")
    b_dim, t_dim = (0, 1) if batch_first else (1, 0)
    B, T = input.shape[b_dim], input.shape[t_dim]
    if lengths.size != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.size} (batch_size={B})")
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                "sidestep this requirement if you do not need ONNX exportability.")
        order = None
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
    if lengths.size == 0 or lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in "
                           "'lengths' that is <= 0")
    if lengths[0] > T:
        raise RuntimeError(f"pack_padded_sequence: a sequence of length {lengths[0]} does not fit "
                           f"into the {T} time steps of the padded input (shape {tuple(input.shape)})")
    # the steps to keep, time-major: step t of the sorted sequences 0 .. batch_sizes[t] - 1
    mask = np.arange(lengths[0])[:, None] < lengths[None, :]
    t_idx, b_idx = np.nonzero(mask)
    if order is not None:
        b_idx = order[b_idx]      # read straight from the caller's order: no sorted copy
    index = (b_idx, t_idx) if batch_first else (t_idx, b_idx)
    data = input[tuple(_to_device(i, input) for i in index)]
    batch_sizes = Tensor._from_data(mask.sum(1).astype(np.int64), device="cpu")
    sorted_indices = None if order is None else Tensor._from_data(order.astype(np.int64), device=input.device)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo :func:`pack_padded_sequence`: -> ``(padded, lengths)``.

    padded: ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``), in the caller's original batch order,
    ``padding_value`` after each sequence's end; ``T`` is the longest length, or ``total_length``.
    lengths: int64 ``(B,)`` on the CPU.
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    data = sequence.data
    bs = sequence.batch_sizes.numpy()
    T, B = len(bs), int(bs[0])
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {T}")
        T_out = int(total_length)
    else:
        T_out = T
    mask = np.zeros((T_out, B), bool)
    mask[:T] = np.arange(B)[None, :] < bs[:, None]
    t_idx, b_idx = np.nonzero(mask)
    unsorted = sequence.unsorted_indices
    if unsorted is not None:    # write each sequence straight to its place in the caller's order
        b_idx = sequence.sorted_indices.numpy()[b_idx]
    index = (b_idx, t_idx) if batch_first else (t_idx, b_idx)
    shape = ((B, T_out) if batch_first else (T_out, B)) + tuple(data.shape[1:])
    padded = IndexAdd.apply(data, tuple(_to_device(i, data) for i in index), shape)
    if padding_value != 0:
        fill = np.zeros(shape[:2] + (1,) * (data.ndim - 1), data.dtype)
        fill[~(mask.T if batch_first else mask)] = padding_value
        if unsorted is not None:
            perm = np.argsort(sequence.sorted_indices.numpy())
            fill = fill[perm] if batch_first else fill[:, perm]
        padded = padded + Tensor._from_data(_to_device(fill, data), device=data.device)
    lengths = sequence._lengths()
    if unsorted is not None:
        lengths = lengths[unsorted.numpy()]
    return padded, Tensor._from_data(lengths, device="cpu")


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of different lengths ``(L_i, *)`` into ``(L_max, B, *)`` (``(B, L_max, *)``
    with ``batch_first``), filling with ``padding_value`` on the right (or ``padding_side="left"``)."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences)
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    first = sequences[0]
    for k, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: expected a list of Tensors, item {k} is {type(s).__name__}")
        if s.ndim == 0 or s.shape[1:] != first.shape[1:]:
            raise RuntimeError(f"pad_sequence: every sequence must be (L, *) with the same trailing "
                               f"dims; sequence 0 has shape {tuple(first.shape)}, sequence {k} has "
                               f"shape {tuple(s.shape)}")
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    B, L = len(sequences), int(lengths.max())
    starts = np.cumsum(lengths) - lengths
    b_idx = np.repeat(np.arange(B), lengths)
    t_idx = np.arange(lengths.sum()) - np.repeat(starts, lengths)
    if padding_side == "left":
        t_idx = t_idx + np.repeat(L - lengths, lengths)
    data = cat(sequences, 0) if B > 1 else first
    index = (b_idx, t_idx) if batch_first else (t_idx, b_idx)
    shape = ((B, L) if batch_first else (L, B)) + tuple(first.shape[1:])
    padded = IndexAdd.apply(data, tuple(_to_device(i, data) for i in index), shape)
    if padding_value != 0:
        fill = np.full(shape[:2] + (1,) * (first.ndim - 1), padding_value, first.dtype)
        fill[index] = 0
        padded = padded + Tensor._from_data(_to_device(fill, data), device=data.device)
    return padded


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences ``(L_i, *)``: ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences in a padded batch: ``padded[:lengths[b], b]`` for each b."""
    lengths = _host_lengths(lengths)
    if batch_first:
        return [padded_sequences[b, :int(n)] for b, n in enumerate(lengths)]
    return [padded_sequences[:int(n), b] for b, n in enumerate(lengths)]


def unpack_sequence(packed_sequences):
    """The list of sequences in a PackedSequence, in the caller's original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def detach_hidden(state):
    """Detach a recurrent state from its history, keeping its structure: a Tensor, or nested
    tuples / lists / dicts of Tensors (``(h, c)`` of an LSTM, one state per layer, ...); None stays
    None. The tool of truncated BPTT: carry the values into the next chunk, but let no gradient
    (and no reference to the old graph) cross the boundary::

        out, state = model(chunk, state)
        loss.backward()
        state = nn.utils.detach_hidden(state)
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple):
        items = [detach_hidden(s) for s in state]
        return type(state)(*items) if hasattr(state, "_fields") else tuple(items)
    if isinstance(state, list):
        return [detach_hidden(s) for s in state]
    if isinstance(state, dict):
        return type(state)((k, detach_hidden(v)) for k, v in state.items())
    raise TypeError(f"detach_hidden: expected a Tensor or nested tuples/lists of Tensors, got "
                    f"{type(state).__name__}")
