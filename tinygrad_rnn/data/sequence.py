"""One long sequence -> B parallel streams -> consecutive chunks of T steps, for truncated BPTT.

Language-model style training reads a corpus as one sequence ``s`` of length L (token ids, or
feature vectors). ``batchify`` cuts it into B equal streams that are read side by side, and
``bptt_chunks`` walks along the streams T steps at a time, the target at each step being the next
element. Carrying the hidden state from one chunk to the next (after ``.detach()``) lets the model
see the whole stream while gradients flow back at most T steps:

    streams = batchify(tokens, 32)                 # (L // 32, 32)
    h = None
    for x, y in bptt_chunks(streams, 35):          # x, y: (T, 32), y[t] = x[t + 1]
        out, h = model(x, h)
        h = h.detach()                             # tuple (h, c) for an LSTM: detach each
"""
from __future__ import annotations

from ..tensor import Tensor


def _as_tensor(data, who):
    if isinstance(data, Tensor):
        return data
    try:
        return Tensor._from_data(data)
    except TypeError as e:
        raise TypeError(f"{who}: expected a Tensor or an array, got {type(data).__name__}") from e


def batchify(data, batch_size, batch_first=False, num_replicas=None, rank=None):
    """Cut a sequence into ``batch_size`` equal contiguous streams, dropping the tail that is left.

    ``data``: ``(L, *F)`` -> ``(L // B, B, *F)`` (time first, the default, as RNNs expect), or
    ``(B, L // B, *F)`` with ``batch_first=True``. Stream ``b`` is
    ``data[b * (L // B) : (b + 1) * (L // B)]``, so reading down one column follows the original
    order. The result is a new tensor without history.

    Data-parallel truncated BPTT: with ``num_replicas=R`` and ``rank=r`` only this rank's share
    is returned, the B / R streams ``r * B/R .. (r + 1) * B/R - 1`` (``(L // B, B / R, *F)``);
    concatenating the ranks' shares along the batch dimension gives the one-process result, so R
    ranks train on the same B streams as one process would. B must be divisible by R.
    """
    data = _as_tensor(data, "batchify")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batchify: batch_size must be a positive integer, got {batch_size!r}")
    lo, hi = _share(batch_size, num_replicas, rank)
    if data.ndim == 0:
        raise ValueError("batchify: expected a sequence with at least one dimension (L, *F), "
                         "got a 0-d tensor")
    length = data.shape[0] // batch_size
    if length == 0:
        raise ValueError(f"batchify: a sequence of length {data.shape[0]} cannot be cut into "
                         f"{batch_size} streams of at least one step")
    rest = data.shape[1:]
    arr = data.array[:length * batch_size].reshape((batch_size, length) + rest)[lo:hi]
    if not batch_first:
        arr = arr.swapaxes(0, 1)
    return Tensor.wrap(data.device.xp.ascontiguousarray(arr), data.device)


def _share(batch_size, num_replicas, rank):
    """The streams ``[lo, hi)`` that rank ``rank`` of ``num_replicas`` reads (all of them by default)."""
    if num_replicas is None and rank is None:
        return 0, batch_size
    if num_replicas is None or rank is None:
        raise ValueError("batchify: pass both num_replicas= and rank= (e.g. from "
                         "distributed.get_world_size() and get_rank()), or neither")
    if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas < 1:
        raise ValueError(f"batchify: num_replicas must be a positive integer, got {num_replicas!r}")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < num_replicas:
        raise ValueError(f"batchify: Invalid rank {rank!r}, rank should be in the interval "
                         f"[0, {num_replicas - 1}]")
    if batch_size % num_replicas:
        raise ValueError(f"batchify: batch_size={batch_size} streams cannot be shared equally by "
                         f"num_replicas={num_replicas} ranks; use a batch_size divisible by {num_replicas}")
    share = batch_size // num_replicas
    return rank * share, (rank + 1) * share


def bptt_chunks(data, chunk_len, batch_first=False, drop_last=False):
    """Yield consecutive ``(inputs, targets)`` chunks of ``chunk_len`` = T steps, targets one step ahead.

    ``data``: ``(L, B, *F)`` (or ``(B, L, *F)`` with ``batch_first=True``), e.g. from ``batchify``.
    Chunk k covers steps ``i = k*T ... i+T-1``: ``inputs = data[i : i+T]`` and
    ``targets = data[i+1 : i+T+1]``, both ``(T, B, *F)`` (``(B, T, *F)`` with ``batch_first``).
    Chunks tile steps ``0 .. L-2`` without overlap, so every step is predicted exactly once; the
    last chunk is shorter when T does not divide ``L - 1`` (skipped with ``drop_last=True``).
    Chunks are views of ``data`` (no copies), made by slicing only.
    """
    data = _as_tensor(data, "bptt_chunks")
    if isinstance(chunk_len, bool) or not isinstance(chunk_len, int) or chunk_len < 1:
        raise ValueError(f"bptt_chunks: chunk_len must be a positive integer, got {chunk_len!r}")
    dim = 1 if batch_first else 0
    if data.ndim <= dim:
        raise ValueError(f"bptt_chunks: expected data with a time dimension at dim {dim}, got shape "
                         f"{tuple(data.shape)}")
    steps = data.shape[dim] - 1
    lead = (slice(None),) * dim
    for i in range(0, steps, chunk_len):
        t = min(chunk_len, steps - i)
        if drop_last and t < chunk_len:
            return
        yield data[lead + (slice(i, i + t),)], data[lead + (slice(i + 1, i + 1 + t),)]
