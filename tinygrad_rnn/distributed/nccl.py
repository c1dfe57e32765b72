"""The NCCL transport: collectives on CuPy arrays through ``cupy.cuda.nccl``, never through the host.

NCCL moves GPU memory between GPUs (NVLink, PCIe, InfiniBand) and is what PyTorch uses on GPUs.
Each call hands NCCL the array's device pointer, its element count and NCCL's code for its dtype,
on CuPy's current stream, so the collective is ordered after the kernels that computed the array
and before the ones that read it, and the host does not wait. Ranks meet through MPI once: rank 0
asks NCCL for a unique id and MPI broadcasts it; a communicator is then made for each GPU the
first time a collective runs on it (that first call is itself collective, as all calls are).

Host (NumPy) arrays, Python objects, ``barrier`` and ``abort`` go through the MPI transport.
"""
from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from .mpi import MPIBackend

_DTYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
           "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32", "uint32": "NCCL_UINT32",
           "int64": "NCCL_INT64", "uint64": "NCCL_UINT64"}
_OPS = {"sum": "NCCL_SUM", "product": "NCCL_PROD", "max": "NCCL_MAX", "min": "NCCL_MIN"}


class NCCLBackend:
    """Collectives in place on CuPy arrays (see the module docstring). ``cupy`` and ``nccl`` are the
    modules to use (``cupy`` and ``cupy.cuda.nccl``; the tests pass stand-ins)."""
    name = "nccl"

    def __init__(self, MPI, comm, cupy, nccl):
        self.host = MPIBackend(MPI, comm, abort=self.abort)
        self.watchdog = self.host.watchdog
        self.rank, self.size = self.host.rank, self.host.size
        self.cupy, self.nccl = cupy, nccl
        self._dtypes = {np.dtype(k): getattr(nccl, v) for k, v in _DTYPES.items() if hasattr(nccl, v)}
        self._ops = {k: getattr(nccl, v) for k, v in _OPS.items()}
        self._comms = {}                    # CUDA device id -> NcclCommunicator

    # -- what NCCL is told about an array (CuPy's attributes; one place, so a stand-in can differ)
    @staticmethod
    def pointer(a) -> int:
        return a.data.ptr

    @staticmethod
    def device_id(a) -> int:
        return a.device.id

    def _communicator(self, device_id):
        comm = self._comms.get(device_id)
        if comm is None:
            uid = self.nccl.get_unique_id() if self.rank == 0 else None
            uid = self.host.broadcast_object(uid, 0)
            with self.cupy.cuda.Device(device_id):
                comm = self._comms[device_id] = self.nccl.NcclCommunicator(self.size, uid, self.rank)
        return comm

    def _nccl_dtype(self, dtype, what):
        code = self._dtypes.get(np.dtype(dtype))
        if code is None:
            raise TypeError(f"{what}: NCCL has no type for {dtype}; supported: "
                            f"{', '.join(str(d) for d in self._dtypes)} (and bool)")
        return code

    def _run(self, array, what, call):
        """``call(comm, ptr, count, nccl_dtype, stream_ptr)`` on a contiguous version of ``array``
        (the array itself when it is contiguous, else one device temporary copied back after)."""
        buf = array if array.flags.c_contiguous else get_array_module(array).ascontiguousarray(array)
        buf_view = buf.view(np.uint8) if buf.dtype == np.bool_ else buf
        dt = self._nccl_dtype(buf_view.dtype, what)
        dev = self.device_id(buf)
        with self.cupy.cuda.Device(dev):
            stream = self.cupy.cuda.get_current_stream().ptr
            comm = self._communicator(dev)
            with self.watchdog.collective(what, gpu=True):
                call(comm, self.pointer(buf_view), int(buf_view.size), dt, stream)
        if buf is not array:
            array[...] = buf

    def all_reduce(self, array, op):
        if isinstance(array, np.ndarray):
            return self.host.all_reduce(array, op)
        if array.dtype == np.bool_:          # as uint8: any (sum, max) or all (product, min)
            op = "max" if op in ("sum", "max") else "min"
        code = self._ops[op]
        self._run(array, "all_reduce", lambda c, p, n, dt, s: c.allReduce(p, p, n, dt, code, s))

    def broadcast(self, array, src):
        if isinstance(array, np.ndarray):
            return self.host.broadcast(array, src)
        self._run(array, "broadcast", lambda c, p, n, dt, s: c.bcast(p, n, dt, src, s))

    def all_gather(self, out, array):
        if isinstance(array, np.ndarray):
            return self.host.all_gather(out, array)
        recv = self.pointer(out.view(np.uint8) if out.dtype == np.bool_ else out)
        self._run(array, "all_gather", lambda c, p, n, dt, s: c.allGather(p, recv, n, dt, s))

    def barrier(self):
        self.cupy.cuda.get_current_stream().synchronize()    # this rank's queued collectives are done
        self.host.barrier()

    def broadcast_object(self, obj, src):
        return self.host.broadcast_object(obj, src)

    def all_gather_object(self, obj):
        return self.host.all_gather_object(obj)

    def abort(self, code=1):
        for comm in self._comms.values():
            try:
                comm.abort()
            except Exception:       # aborting anyway: MPI's abort below ends every rank
                pass
        self.host.abort(code)

    def close(self):
        for comm in self._comms.values():
            comm.destroy()
        self._comms = {}
        self.host.close()
