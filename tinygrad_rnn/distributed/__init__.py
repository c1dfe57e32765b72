"""Data-parallel training on several processes and machines, with ``torch.distributed``'s names.

The same script runs as N processes (ranks), launched by MPI's launcher::

    mpiexec -n 4 python train.py

Each rank calls ``init_process_group("mpi")`` (rank and world size come from the launcher),
wraps its model in ``nn.parallel.DistributedDataParallel`` and reads its own share of the data
(``data.DistributedSampler``, or ``data.batchify(..., num_replicas=, rank=)`` for truncated
BPTT). A script that never calls ``init_process_group`` runs unchanged as one process.

Transports are existing, proven libraries, never a home-made protocol: MPI through ``mpi4py``
(``pip install 'tinygrad-rnn[distributed]'`` brings ``mpi4py`` and the ``mpich`` wheel) and, for
GPU tensors, NCCL through ``cupy.cuda.nccl`` (``backend="nccl"``). Neither is imported until
``init_process_group`` runs.

Collectives work in place on a tensor's data, on every rank at once: every rank must call the same
collectives in the same order. They are not differentiable (as in PyTorch) and return when done;
``async_op=True`` returns an already completed ``Work``. After ``init_process_group``, an uncaught
exception on any rank prints ``[rank N] <traceback>`` to stderr and aborts the whole job (MPI's
abort), so a failing rank never leaves the others waiting forever in a collective. A rank that
exits without an exception (``sys.exit``, the end of its script) tells the others it has left, and
a collective it will never join fails on them, naming it (``watchdog.py``).
"""
from __future__ import annotations

import enum
import importlib.util
import os
import sys
import time
import traceback

_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                    "init_process_group.")

_group = None          # the default process group: an MPIBackend or an NCCLBackend


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' values (``dist.ReduceOp.SUM``, as in PyTorch)."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class Work:
    """What a collective returns with ``async_op=True``. Collectives here finish before they return,
    so it is already complete: ``wait()`` returns True at once."""

    def wait(self, timeout=None):
        return True

    def is_completed(self):
        return True

    def is_success(self):
        return True


def is_available() -> bool:
    """True when the MPI transport can be used (``mpi4py`` is installed; it is not imported)."""
    return importlib.util.find_spec("mpi4py") is not None


is_mpi_available = is_available


def is_nccl_available() -> bool:
    """True when the NCCL transport's Python packages are installed (``mpi4py`` and ``cupy``)."""
    return is_available() and importlib.util.find_spec("cupy") is not None


def is_initialized() -> bool:
    return _group is not None


def _default(group=None, op="this operation"):
    if group is not None:
        raise NotImplementedError(f"{op}: process subgroups are not supported; pass group=None (all ranks)")
    if _group is None:
        raise ValueError(_NOT_INITIALIZED)
    return _group


def get_rank(group=None) -> int:
    """This process's rank, 0 .. world_size - 1."""
    return _default(group, "get_rank").rank


def get_world_size(group=None) -> int:
    """The number of processes (ranks) in the job."""
    return _default(group, "get_world_size").size


def get_backend(group=None) -> str:
    return _default(group, "get_backend").name


# ----------------------------------------------------------------------------- setting up

def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(
            "init_process_group: the MPI transport needs mpi4py and an MPI library, which are not "
            "installed: pip install 'tinygrad-rnn[distributed]' (mpi4py and the mpich wheel), then "
            "launch the script with mpiexec -n N python script.py") from e
    return MPI


def _import_nccl():
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError(
            "init_process_group: backend 'nccl' needs CuPy built with NCCL (pip install "
            "'tinygrad-rnn[cuda12]' or '[cuda13]'); on CPUs use backend='mpi'") from e
    return cupy, nccl


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the job's default process group; every rank calls it once, before any collective.

    ``backend``: ``"mpi"`` (the default; CPU tensors, and GPU tensors staged through host
    memory) or ``"nccl"`` (GPU tensors stay on the GPU; host tensors go through MPI). Rank and
    world size come from the MPI launcher: ``world_size`` and ``rank`` may be given, and must then
    agree with it. ``init_method`` may be None or ``"env://"`` (rendezvous is the launcher's job);
    ``timeout``, ``group_name`` and ``device_id`` are accepted and not used (MPI has no timeouts:
    a failing rank aborts the job instead; NCCL communicators are made per GPU on first use).

    It also sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` in
    ``os.environ`` where unset (as ``torchrun`` does; ``LOCAL_RANK`` picks this rank's GPU), and
    installs the ``sys.excepthook`` that aborts the job when a rank raises, and the watchdog that
    ends it when a rank leaves while others wait for it in a collective.
    """
    global _group
    if _group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = "mpi" if backend is None else str(backend).lower()
    if name not in ("mpi", "nccl"):
        raise ValueError(f"init_process_group: backend {backend!r} is not available here; use 'mpi' "
                         f"(CPU tensors, and GPU tensors through host memory) or 'nccl' (GPU tensors)")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group: init_method {init_method!r} is not supported: the MPI "
                         "launcher (mpiexec) tells every process its rank and the world size; pass "
                         "init_method=None")
    if store is not None or pg_options is not None:
        raise ValueError("init_process_group: store= and pg_options= are not supported (MPI does the "
                         "rendezvous)")
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD
    actual_rank, actual_size = comm.Get_rank(), comm.Get_size()
    for what, given, actual in (("world_size", world_size, actual_size), ("rank", rank, actual_rank)):
        if given is not None and given != -1 and given != actual:
            raise ValueError(f"init_process_group: {what}={given} was given, but the MPI launcher "
                             f"started this process with {what} {actual} (mpiexec -n sets the world size)")
    if name == "nccl":
        from .nccl import NCCLBackend
        cupy, nccl = _import_nccl()
        group = NCCLBackend(MPI, comm, cupy, nccl)
    else:
        from .mpi import MPIBackend
        group = MPIBackend(MPI, comm)
    _export_environment(MPI, comm)
    _install_excepthook(group)
    _group = group


def _export_environment(MPI, comm):
    """torchrun's variables, from MPI: ranks on one machine share a memory domain."""
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    values = {"RANK": comm.Get_rank(), "WORLD_SIZE": comm.Get_size(),
              "LOCAL_RANK": local.Get_rank(), "LOCAL_WORLD_SIZE": local.Get_size()}
    local.Free()
    for key, value in values.items():
        os.environ.setdefault(key, str(value))


class _AbortHook:
    """``sys.excepthook`` while a process group exists: print the error with the rank, end the job."""

    def __init__(self, group, previous):
        self.group, self.previous = group, previous

    def __call__(self, exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n")
        prefix = f"[rank {self.group.rank}] "
        sys.stderr.write("".join(prefix + line + "\n" for line in text.split("\n")))
        sys.stderr.flush()
        if self.group.size > 1:
            from .watchdog import OUTPUT_GRACE_S
            time.sleep(OUTPUT_GRACE_S)      # let the launcher forward these lines first
            # The other ranks may be waiting in a collective for this one: without the abort they
            # would wait forever. MPI's abort ends every process of the job with this exit code.
            self.group.abort(1)


def _install_excepthook(group):
    sys.excepthook = _AbortHook(group, sys.excepthook)


def destroy_process_group(group=None):
    """Leave the default process group (and restore ``sys.excepthook``): the other ranks are told,
    so a collective of theirs that this rank will not join fails instead of waiting. MPI stays
    initialised until the process exits, so ``init_process_group`` may be called again."""
    global _group
    g = _default(group, "destroy_process_group")
    g.close()
    if isinstance(sys.excepthook, _AbortHook) and sys.excepthook.group is g:
        sys.excepthook = sys.excepthook.previous
    _group = None


# ----------------------------------------------------------------------------- collectives

def _check_tensor(tensor, op):
    from ..tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: Invalid function argument. Expected parameter `tensor` of type "
                        f"Tensor but got {type(tensor).__name__} instead.")


def _reduce_op(op):
    if isinstance(op, ReduceOp):
        return op
    try:
        return ReduceOp(str(op).lower())
    except ValueError:
        raise ValueError(f"all_reduce: unknown op {op!r}; use one of "
                         f"{', '.join('ReduceOp.' + o.name for o in ReduceOp)}") from None


def _done(async_op):
    return Work() if async_op else None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` over all ranks with ``op`` and leave the result, in place, on every rank.

    ``ReduceOp.AVG`` is the sum divided by the world size (floating point tensors only)."""
    g = _default(group, "all_reduce")
    _check_tensor(tensor, "all_reduce")
    op = _reduce_op(op)
    arr = tensor.array
    if op is ReduceOp.AVG:
        if arr.dtype.kind != "f":
            raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating point tensor, got {arr.dtype}; "
                            "use ReduceOp.SUM and divide")
        g.all_reduce(arr, "sum")
        arr /= g.size
    else:
        g.all_reduce(arr, op.value)
    tensor.bump_version()
    return _done(async_op)


def _check_rank(rank, g, op, what="src"):
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < g.size:
        raise ValueError(f"{op}: {what} must be a rank in [0, {g.size - 1}], got {rank!r}")


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank (same shape and dtype)."""
    g = _default(group, "broadcast")
    _check_tensor(tensor, "broadcast")
    src = group_src if src is None else src
    _check_rank(src, g, "broadcast")
    g.broadcast(tensor.array, src)
    if g.rank != src:
        tensor.bump_version()
    return _done(async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[r]`` with rank r's ``tensor`` for every rank r (on every rank).

    ``tensor_list``: ``world_size`` tensors of ``tensor``'s shape, dtype and device."""
    g = _default(group, "all_gather")
    _check_tensor(tensor, "all_gather")
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != g.size:
        n = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list must be a list of world_size={g.size} tensors, got {n}")
    for i, t in enumerate(tensor_list):
        _check_tensor(t, "all_gather")
        if t.shape != tensor.shape or t.dtype != tensor.dtype or t.device != tensor.device:
            raise ValueError(f"all_gather: tensor_list[{i}] is Tensor(shape={tuple(t.shape)}, dtype={t.dtype}, "
                             f"device={t.device}) but tensor is Tensor(shape={tuple(tensor.shape)}, "
                             f"dtype={tensor.dtype}, device={tensor.device}); they must match")
    xp = tensor.device.xp
    out = xp.empty((g.size,) + tuple(tensor.shape), tensor.dtype)
    g.all_gather(out, tensor.array)
    for t, part in zip(tensor_list, out):
        t.array[...] = part
        t.bump_version()
    return _done(async_op)


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Wait until every rank has reached this call."""
    _default(group, "barrier").barrier()
    return _done(async_op)


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replace ``object_list``'s items, in place, by rank ``src``'s (any picklable objects)."""
    g = _default(group, "broadcast_object_list")
    src = group_src if src is None else src
    _check_rank(src, g, "broadcast_object_list")
    object_list[:] = g.broadcast_object(list(object_list) if g.rank == src else None, src)


def all_gather_object(object_list, obj, group=None):
    """Fill ``object_list`` (``world_size`` items) with every rank's ``obj`` (picklable)."""
    g = _default(group, "all_gather_object")
    if len(object_list) != g.size:
        raise ValueError(f"all_gather_object: object_list must have world_size={g.size} items, "
                         f"got {len(object_list)}")
    object_list[:] = g.all_gather_object(obj)


__all__ = ["ReduceOp", "Work", "all_gather", "all_gather_object", "all_reduce", "barrier",
           "broadcast", "broadcast_object_list", "destroy_process_group", "get_backend", "get_rank",
           "get_world_size", "init_process_group", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available"]
