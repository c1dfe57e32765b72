"""The MPI transport: collectives on raw arrays through ``mpi4py``.

Buffers go to MPI as they are: a C-contiguous NumPy array is handed straight to
``Allreduce(IN_PLACE, ...)`` / ``Bcast`` / ``Allgather`` (mpi4py reads it through the buffer
protocol, no per-element Python). A non-contiguous array goes through one contiguous temporary.
Device arrays (CuPy) are staged through host memory: one copy down, the collective, one copy up.
The ``nccl`` backend is the transport that keeps GPU arrays on the GPU.

``mpi4py`` is never imported here: ``init_process_group`` imports it and passes its ``MPI``
module in, so ``import tinygrad_rnn`` does not need it.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from . import watchdog


class _HostBuffer:
    """``with _HostBuffer(a) as buf:`` gives a C-contiguous NumPy array holding ``a``'s values; on a
    clean exit its values are written back into ``a`` when ``buf`` is a temporary (``write=True``)."""
    __slots__ = ("array", "buf", "write")

    def __init__(self, array, write=True):
        self.array, self.write = array, write

    def __enter__(self):
        a = self.array
        if isinstance(a, np.ndarray):
            self.buf = a if a.flags.c_contiguous and a.flags.writeable else np.ascontiguousarray(a)
        else:       # a device array: MPI reads host memory only
            self.buf = backend.to_numpy(a)
        return self.buf

    def __exit__(self, exc_type, *_):
        a = self.array
        if exc_type is None and self.write and self.buf is not a:
            a[...] = self.buf if isinstance(a, np.ndarray) else backend.get_array_module(a).asarray(self.buf)


class MPIBackend:
    """Collectives over an MPI communicator (``MPI.COMM_WORLD`` by default), in place on arrays.

    ``op`` is one of ``"sum"``, ``"product"``, ``"max"``, ``"min"`` (``ReduceOp.AVG`` is a sum
    followed by a division, done by the caller on the array's own device).
    """
    name = "mpi"

    def __init__(self, MPI, comm=None, abort=None):
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        # numbers every collective and notices ranks that leave early (see watchdog.py); ``abort``
        # is how it ends the job: the process group's own abort (NCCL passes its own)
        self.watchdog = watchdog.watch(MPI, self.comm, abort or self.abort)
        self._ops = {"sum": MPI.SUM, "product": MPI.PROD, "max": MPI.MAX, "min": MPI.MIN}
        # bool tensors reduce as PyTorch's do: sum and max are "any", product and min are "all"
        self._bool_ops = {"sum": MPI.LOR, "max": MPI.LOR, "product": MPI.LAND, "min": MPI.LAND}

    def all_reduce(self, array, op):
        mpi_op = (self._bool_ops if array.dtype == np.bool_ else self._ops)[op]
        with _HostBuffer(array) as buf, self.watchdog.collective("all_reduce"):
            self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=mpi_op)

    def broadcast(self, array, src):
        with _HostBuffer(array, write=self.rank != src) as buf, self.watchdog.collective("broadcast"):
            self.comm.Bcast(buf, root=src)

    def all_gather(self, out, array):
        """``out``: a C-contiguous ``(size, *array.shape)`` array that receives every rank's ``array``."""
        with _HostBuffer(array, write=False) as send, _HostBuffer(out) as recv, \
                self.watchdog.collective("all_gather"):
            self.comm.Allgather(send, recv)

    def barrier(self):
        with self.watchdog.collective("barrier"):
            self.comm.Barrier()

    def broadcast_object(self, obj, src):
        with self.watchdog.collective("broadcast_object_list"):
            return self.comm.bcast(obj, root=src)

    def all_gather_object(self, obj):
        with self.watchdog.collective("all_gather_object"):
            return self.comm.allgather(obj)

    def abort(self, code=1):
        self.comm.Abort(code)

    def close(self):
        """Leave the group: tell the other ranks (see watchdog.py). Nothing to free: MPI itself
        stays initialised until the interpreter exits (mpi4py finalises it then), so a new process
        group can be made later in the same process."""
        self.watchdog.leave()
        watchdog.forget(self.watchdog)
