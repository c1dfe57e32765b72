"""Data-parallel training without launching ranks: the two engine hooks DDP uses, errors before
``init_process_group``, DistributedSampler, ``DataLoader(sampler=)``, ``batchify``'s per-rank shares,
and the logic of the transports and of DistributedDataParallel against stand-in MPI and NCCL modules.

The stand-ins replace ``mpi4py`` and ``cupy``/``cupy.cuda.nccl`` in ``sys.modules`` for one test,
so ``init_process_group`` runs its real code path without a real MPI library in the test process.
``StandInComm`` plays one rank of a job whose other ranks hold the same values as this one, so a
SUM over N ranks is N times the local value and an average gives the local value back. The NCCL
stand-in reads and writes the memory behind the pointers it is handed, so it checks that the
backend passes the tensor's own storage, and the tests count host copies (``.get()``): none.
This covers the NCCL path's logic only; it has not run on a GPU here.

Real ranks (``mpiexec -n 2`` and ``-n 3``) are in tests/test_distributed_mpi.py.
"""
import ctypes
import gc
import math
import os
import subprocess
import sys
import threading
import types

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import autograd, distributed as dist, nn
from tinygrad_rnn.data import DataLoader, Dataset, DistributedSampler, TensorDataset, batchify
from tinygrad_rnn.distributed.nccl import NCCLBackend
from tinygrad_rnn.nn.parallel import DistributedDataParallel as DDP
from tinygrad_rnn.nn.parallel.distributed import _assign_buckets
from tinygrad_rnn.testing import fakecupy

NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


# ----------------------------------------------------------------------------- engine: hooks DDP uses

def test_post_accumulate_grad_hook_sees_the_accumulated_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * 3).sum().backward()                 # d/dw sum(3w) = 3
    (w * w).sum().backward()                 # + 2w = [2, 4]
    assert seen == [[3.0, 3.0], [5.0, 7.0]]


def test_post_accumulate_grad_hook_gets_the_parameter_once_per_backward():
    w = tg.tensor([1.0], requires_grad=True)
    got = []
    handle = w.register_post_accumulate_grad_hook(got.append)
    (w + w * w).sum().backward()             # two paths into w, one accumulation
    assert got == [w]
    handle.remove()
    (w * 2).sum().backward()
    assert got == [w]


def test_post_accumulate_grad_hook_is_not_called_by_autograd_grad():
    w = tg.tensor([1.0], requires_grad=True)
    got = []
    w.register_post_accumulate_grad_hook(got.append)
    assert autograd.grad((w * 2).sum(), w)[0].tolist() == [2.0]
    assert got == [] and w.grad is None


@pytest.mark.parametrize("make, message", [
    (lambda: tg.ones(2), "cannot register a hook on a tensor that doesn't require gradient"),
    (lambda: tg.ones(2, requires_grad=True) * 2, "post accumulate grad hooks cannot be registered on non-leaf"),
])
def test_post_accumulate_grad_hook_refuses_non_leaves_and_constants(make, message):
    with pytest.raises(RuntimeError, match=message):
        make().register_post_accumulate_grad_hook(lambda p: None)


def test_queue_callback_outside_backward_raises():
    with pytest.raises(RuntimeError, match="Final callbacks can only be installed during backward pass"):
        autograd.queue_callback(lambda: None)


def test_queued_callback_runs_once_after_every_leaf_grad_is_final():
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([2.0], requires_grad=True)
    seen, queued = [], []

    def queue(p):               # both leaves' hooks fire; the first one queues (as DDP does)
        if not queued:
            queued.append(p)
            autograd.queue_callback(lambda: seen.append((a.grad.tolist(), b.grad.tolist())))
            autograd.queue_callback(lambda: autograd.queue_callback(lambda: seen.append("nested")))
    a.register_post_accumulate_grad_hook(queue)
    b.register_post_accumulate_grad_hook(queue)
    (a * b).sum().backward()                 # d/da = b = 2, d/db = a = 1
    assert seen == [([2.0], [1.0]), "nested"]
    (a * b).sum().backward()                 # a new pass: nothing left over from the last one
    assert seen == [([2.0], [1.0]), "nested"] and len(queued) == 1


def test_queued_callbacks_are_dropped_when_backward_fails():
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([1.0], requires_grad=True)
    ran = []
    a.register_post_accumulate_grad_hook(lambda p: autograd.queue_callback(lambda: ran.append(1)))

    def fail(p):
        raise KeyError("hook failed")
    b.register_post_accumulate_grad_hook(fail)
    with pytest.raises(KeyError, match="hook failed"):
        (a * b).sum().backward()
    assert ran == []
    with pytest.raises(RuntimeError, match="Final callbacks"):     # no pass left open
        autograd.queue_callback(lambda: None)


# ----------------------------------------------------------------------------- before init_process_group

@pytest.mark.parametrize("call", [
    dist.get_rank, dist.get_world_size, dist.get_backend, dist.barrier, dist.destroy_process_group,
    lambda: dist.all_reduce(tg.ones(1)), lambda: dist.broadcast(tg.ones(1), 0),
    lambda: dist.all_gather([tg.ones(1)], tg.ones(1)), lambda: DDP(nn.Linear(2, 2)),
    lambda: DistributedSampler(range(4)),
])
def test_everything_needs_init_process_group_first(call):
    assert not dist.is_initialized()
    with pytest.raises(ValueError) as e:
        call()
    assert str(e.value) == NOT_INITIALIZED


def test_importing_the_package_imports_no_mpi_and_no_cupy():
    code = "import sys, tinygrad_rnn as tg; tg.distributed.is_available(); print(sorted(m for m in " \
           "('mpi4py', 'mpi4py.MPI', 'cupy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("kwargs, message", [
    ({"backend": "gloo"}, "backend 'gloo' is not available here"),
    ({"init_method": "tcp://10.0.0.1:23456"}, "init_method 'tcp://10.0.0.1:23456' is not supported"),
    ({"store": object()}, "store= and pg_options= are not supported"),
])
def test_init_process_group_refuses_what_mpi_does_not_need(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dist.init_process_group(**kwargs)
    assert not dist.is_initialized()


def test_init_process_group_says_how_to_install_mpi(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)       # import mpi4py -> ImportError
    with pytest.raises(RuntimeError, match=r"pip install 'tinygrad-rnn\[distributed\]'.*mpiexec -n N"):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


# ----------------------------------------------------------------------------- stand-in MPI and NCCL

class StandInComm:
    """One rank of a ``size``-rank job in which every rank holds the same values as this one."""

    def __init__(self, size=1, rank=0, uid=None):
        self.size, self.rank, self.uid = size, rank, uid
        self.calls, self.aborted = [], None

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return self.size

    def Allreduce(self, sendbuf, recvbuf, op):
        assert sendbuf is StandInMPI.IN_PLACE and type(recvbuf) is np.ndarray and recvbuf.flags.c_contiguous
        self.calls.append(("Allreduce", recvbuf.size, recvbuf.dtype, op))
        if op == "SUM":
            recvbuf *= self.size

    def Bcast(self, buf, root):
        assert type(buf) is np.ndarray and buf.flags.c_contiguous
        self.calls.append(("Bcast", buf.size, buf.dtype, root))

    def Allgather(self, send, recv):
        self.calls.append(("Allgather", send.size, send.dtype))
        recv[...] = send

    def Barrier(self):
        self.calls.append(("Barrier",))

    def bcast(self, obj, root):
        self.calls.append(("bcast", obj, root))
        return obj if self.rank == root else self.uid

    def allgather(self, obj):
        return [obj] * self.size

    def Split_type(self, kind):
        return StandInComm(1, 0)

    def Dup(self):
        self.control = StandInControl()
        return self.control

    def Free(self):
        pass

    def Abort(self, code):
        self.aborted = code


class StandInControl:
    """The watchdog's communicator: ``deliver`` puts another rank's leaving message in the inbox;
    what this rank sends is kept in ``sent`` as (destination, values)."""

    def __init__(self):
        self.inbox, self.sent = [], []

    def deliver(self, rank, mpi_calls, gpu_calls=0):
        self.inbox.append((rank, [mpi_calls, gpu_calls]))

    def Iprobe(self, source, tag, status):
        if self.inbox:
            status.source = self.inbox[0][0]
        return bool(self.inbox)

    def Recv(self, buf, source, tag):
        rank, values = self.inbox.pop(0)
        assert rank == source
        buf[...] = values

    def Isend(self, buf, dest, tag):
        self.sent.append((dest, buf.tolist()))
        return "done"


class StandInStatus:
    source = None

    def Get_source(self):
        return self.source


class StandInMPI(types.SimpleNamespace):
    IN_PLACE = object()
    SUM, PROD, MAX, MIN, LOR, LAND = "SUM", "PROD", "MAX", "MIN", "LOR", "LAND"
    COMM_TYPE_SHARED = "shared"
    ANY_SOURCE, THREAD_SINGLE, THREAD_MULTIPLE = -1, 0, 3
    Status = StandInStatus
    Request = types.SimpleNamespace(Testall=lambda requests: True)
    thread_level = THREAD_SINGLE        # no watcher thread unless a test asks for one

    def Query_thread(self):
        return self.thread_level


def memory_at(ptr, count, dtype):
    """The ``count`` elements of ``dtype`` at address ``ptr``: what a device kernel would touch."""
    dtype = np.dtype(dtype)
    raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(ptr)
    return np.frombuffer(raw, dtype=dtype)


class StandInNCCL(types.ModuleType):
    """``cupy.cuda.nccl``'s constants and calls, acting on the memory behind the pointers it gets."""

    NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_UINT32, NCCL_INT64, NCCL_UINT64 = 0, 1, 2, 3, 4, 5
    NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64 = 6, 7, 8
    NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN = 0, 1, 2, 3
    DTYPES = {0: np.int8, 1: np.uint8, 2: np.int32, 3: np.uint32, 4: np.int64, 5: np.uint64,
              6: np.float16, 7: np.float32, 8: np.float64}

    def __init__(self):
        super().__init__("cupy.cuda.nccl")
        self.calls, self.uids, self.comms = [], 0, []
        outer = self

        class NcclCommunicator:
            def __init__(self, ndev, uid, rank):
                self.ndev, self.uid, self.rank, self.destroyed = ndev, uid, rank, False
                self.device = outer.current_device
                outer.comms.append(self)

            def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
                outer.calls.append(("allReduce", sendbuf, recvbuf, count, datatype, op, stream))
                if op == outer.NCCL_SUM:            # the other ranks hold the same values
                    memory_at(recvbuf, count, outer.DTYPES[datatype])[...] *= self.ndev

            def bcast(self, buff, count, datatype, root, stream):
                outer.calls.append(("bcast", buff, count, datatype, root, stream))

            def allGather(self, sendbuf, recvbuf, count, datatype, stream):
                outer.calls.append(("allGather", sendbuf, recvbuf, count, datatype, stream))
                dt = outer.DTYPES[datatype]
                mine = memory_at(sendbuf, count, dt)
                memory_at(recvbuf, count * self.ndev, dt)[...] = np.tile(mine, self.ndev)

            def destroy(self):
                self.destroyed = True

        self.NcclCommunicator = NcclCommunicator
        self.current_device = None

    def get_unique_id(self):
        self.uids += 1
        return tuple(range(128))


def stand_in_cupy(nccl):
    stream = types.SimpleNamespace(ptr=0x5EED, synced=[])
    stream.synchronize = lambda: stream.synced.append(True)

    class Device:
        def __init__(self, index):
            self.index = index

        def __enter__(self):
            self.prev, nccl.current_device = nccl.current_device, self.index

        def __exit__(self, *exc):
            nccl.current_device = self.prev

    cuda = types.ModuleType("cupy.cuda")
    cuda.Device, cuda.get_current_stream, cuda.nccl, cuda.stream = Device, lambda: stream, nccl, stream
    cupy = types.ModuleType("cupy")
    cupy.cuda = cuda
    return cupy


@pytest.fixture
def standin(monkeypatch):
    """``install(size=1, rank=0, nccl=False, watcher=False)`` puts stand-in mpi4py (and cupy) modules in place;
    the process group, excepthook and environment are restored afterwards."""
    saved_env = {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    for k in saved_env:
        monkeypatch.delenv(k, raising=False)
    hook = sys.excepthook
    made = {}

    def install(size=1, rank=0, nccl=False, watcher=False):
        comm = StandInComm(size, rank, uid=tuple(range(128)))
        mpi = StandInMPI(COMM_WORLD=comm)
        if watcher:
            mpi.thread_level = StandInMPI.THREAD_MULTIPLE
        pkg = types.ModuleType("mpi4py")
        pkg.MPI = mpi
        monkeypatch.setitem(sys.modules, "mpi4py", pkg)
        monkeypatch.setitem(sys.modules, "mpi4py.MPI", mpi)
        made.update(comm=comm)
        if nccl:
            n = StandInNCCL()
            cupy = stand_in_cupy(n)
            monkeypatch.setitem(sys.modules, "cupy", cupy)
            monkeypatch.setitem(sys.modules, "cupy.cuda", cupy.cuda)
            monkeypatch.setitem(sys.modules, "cupy.cuda.nccl", n)
            # fake arrays are NumPy arrays inside: their "device pointer" is that storage's address
            monkeypatch.setattr(NCCLBackend, "pointer", staticmethod(lambda a: a._a.ctypes.data))
            monkeypatch.setattr(NCCLBackend, "device_id", staticmethod(lambda a: 0))
            copies = []
            real_get = fakecupy.ndarray.get

            def counting_get(self, *args, **kwargs):
                copies.append(self.shape)
                return real_get(self, *args, **kwargs)
            monkeypatch.setattr(fakecupy.ndarray, "get", counting_get)
            made.update(nccl=n, stream=cupy.cuda.stream, host_copies=copies)
        dist.init_process_group("nccl" if nccl else "mpi")
        return types.SimpleNamespace(**made)

    yield install
    if dist.is_initialized():
        dist.destroy_process_group()
    sys.excepthook = hook
    for k, v in saved_env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def address(t):
    return t.array._a.ctypes.data


# ----------------------------------------------------------------------------- the MPI transport's logic

def test_init_reads_rank_and_size_from_mpi_and_exports_torchrun_variables(standin):
    w = standin(size=4, rank=2)
    assert dist.is_initialized() and (dist.get_rank(), dist.get_world_size()) == (2, 4)
    assert dist.get_backend() == "mpi"
    assert [os.environ[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")] == \
        ["2", "4", "0", "1"]
    with pytest.raises(ValueError, match="initialize the default process group twice"):
        dist.init_process_group("mpi")
    dist.destroy_process_group()
    assert not dist.is_initialized() and w.comm.aborted is None


@pytest.mark.parametrize("kwargs, message", [({"world_size": 3}, "world_size=3 was given, but the MPI "
                                              "launcher started this process with world_size 2"),
                                             ({"rank": 0}, "rank=0 was given")])
def test_init_refuses_a_rank_or_size_the_launcher_did_not_give(standin, monkeypatch, kwargs, message):
    comm = StandInComm(2, 1)
    mpi = StandInMPI(COMM_WORLD=comm)
    monkeypatch.setitem(sys.modules, "mpi4py", types.SimpleNamespace(MPI=mpi))
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", mpi)
    with pytest.raises(ValueError, match=message):
        dist.init_process_group("mpi", **kwargs)


def test_mpi_all_reduce_hands_contiguous_host_buffers_and_averages(standin):
    w = standin(size=4)
    x = tg.arange(6, dtype=tg.float64).reshape(2, 3)
    dist.all_reduce(x.T, op=dist.ReduceOp.AVG)               # a strided view: through a temporary
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]  # the mean of 4 equal values
    dist.all_reduce(x)
    assert x.tolist() == [[0.0, 4.0, 8.0], [12.0, 16.0, 20.0]]
    assert [c[:4] for c in w.comm.calls if c[0] == "Allreduce"] == [("Allreduce", 6, np.float64, "SUM")] * 2
    flags = tg.tensor([True, False])
    dist.all_reduce(flags, op="min")
    assert w.comm.calls[-1][3] == "LAND"                     # bools: min is "all"


def test_mpi_stages_device_tensors_through_host_memory(standin):
    w = standin(size=2)
    f = tg.tensor([1.0, 2.0], device="fake")
    dist.all_reduce(f)
    assert f.device.type == "fake" and f.tolist() == [2.0, 4.0]
    assert w.comm.calls[-1][:3] == ("Allreduce", 2, np.float32)


def test_all_gather_fills_one_tensor_per_rank(standin):
    standin(size=3)
    out = [tg.zeros(2) for _ in range(3)]
    dist.all_gather(out, tg.tensor([1.0, 2.0]))
    assert [o.tolist() for o in out] == [[1.0, 2.0]] * 3
    with pytest.raises(ValueError, match=r"tensor_list\[1\] is Tensor\(shape=\(3,\).*must match"):
        dist.all_gather([tg.zeros(2), tg.zeros(3), tg.zeros(2)], tg.zeros(2))


def test_uncaught_exception_prints_the_rank_and_aborts_the_job(standin, capsys):
    w = standin(size=2, rank=1)
    try:
        raise ValueError("rank 1 fails")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    err = capsys.readouterr().err
    assert "[rank 1] Traceback (most recent call last):" in err
    assert "[rank 1] ValueError: rank 1 fails" in err
    assert all(line.startswith("[rank 1] ") for line in err.splitlines())
    assert w.comm.aborted == 1
    dist.destroy_process_group()
    assert sys.excepthook is not None and not isinstance(sys.excepthook, dist._AbortHook)


def test_a_single_process_job_prints_but_does_not_abort(standin, capsys):
    w = standin(size=1)
    try:
        raise KeyError("alone")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    assert "[rank 0] KeyError: 'alone'" in capsys.readouterr().err and w.comm.aborted is None


# ----------------------------------------------------------------------------- ranks that leave early

def test_leaving_tells_every_other_rank_how_many_collectives_it_made(standin):
    w = standin(size=3, rank=1)
    dist.all_reduce(tg.ones(2))
    dist.barrier()
    dist.destroy_process_group()
    assert w.comm.control.sent == [(0, [2, 0]), (2, [2, 0])]


def test_a_collective_that_a_rank_that_left_never_joins_raises_naming_it(standin):
    w = standin(size=3, rank=0)
    w.comm.control.deliver(2, mpi_calls=1)       # rank 2 made one collective, then left
    dist.all_reduce(tg.ones(2))                  # the one rank 2 took part in
    calls = len(w.comm.calls)
    with pytest.raises(RuntimeError, match=r"^broadcast \(collective call 2 of rank 0\) can never complete: "
                                           r"rank 2 has left the job after 1 collective call\(s\)"):
        dist.broadcast(tg.ones(2), src=0)
    assert len(w.comm.calls) == calls            # nothing was sent
    with pytest.raises(RuntimeError, match="collective call 2 of rank 0"):   # and it stays refused
        dist.barrier()


def test_a_rank_blocked_in_a_collective_is_aborted_by_the_watcher_when_another_leaves(standin, capsys):
    w = standin(size=2, rank=0, watcher=True)
    aborted = threading.Event()

    def blocked_allreduce(sendbuf, recvbuf, op):  # waits like MPI for a rank that is gone
        w.comm.control.deliver(1, mpi_calls=0)
        assert aborted.wait(10), "the watcher did not abort the job"

    def abort(code):
        w.comm.aborted = code
        aborted.set()
    w.comm.Allreduce, w.comm.Abort = blocked_allreduce, abort
    dist.all_reduce(tg.ones(2))                  # returns once "aborted"
    assert w.comm.aborted == 1
    err = capsys.readouterr().err
    assert all(line.startswith("[rank 0] ") for line in err.splitlines())
    assert ("[rank 0] all_reduce (collective call 1 of rank 0) can never complete: rank 1 has left the "
            "job after 0 collective call(s)") in err
    assert "This rank was waiting here" in err and "dist.all_reduce(tg.ones(2))" in err


# ----------------------------------------------------------------------------- the NCCL transport's logic

def test_nccl_all_reduce_gets_the_tensors_own_device_memory(standin):
    w = standin(size=2, nccl=True)
    t = tg.tensor([1.0, 2.0, 3.0], device="fake")
    dist.all_reduce(t)
    assert not w.host_copies                                 # nothing went through host memory
    assert t.tolist() == [2.0, 4.0, 6.0]                     # written in place, through the pointer
    name, send, recv, count, dtype, op, stream = w.nccl.calls[-1]
    assert name == "allReduce" and send == recv == address(t)
    assert (count, dtype, op, stream) == (3, StandInNCCL.NCCL_FLOAT32, StandInNCCL.NCCL_SUM, 0x5EED)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)                 # sum, then divided on the device
    assert t.tolist() == [2.0, 4.0, 6.0] and w.nccl.calls[-1][5] == StandInNCCL.NCCL_SUM
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    assert w.nccl.calls[-1][5] == StandInNCCL.NCCL_MAX


def test_nccl_communicator_comes_from_a_unique_id_broadcast_over_mpi(standin):
    w = standin(size=2, nccl=True)
    dist.all_reduce(tg.ones(2, device="fake"))
    dist.all_reduce(tg.ones(2, dtype=tg.float64, device="fake"))
    assert w.nccl.uids == 1                                  # rank 0 asked NCCL once
    assert [c for c in w.comm.calls if c[0] == "bcast"] == [("bcast", tuple(range(128)), 0)]
    (comm,) = w.nccl.comms                                   # made once, on the tensor's GPU
    assert (comm.ndev, comm.uid, comm.rank, comm.device) == (2, tuple(range(128)), 0, 0)
    assert w.nccl.calls[-1][4] == StandInNCCL.NCCL_FLOAT64
    dist.destroy_process_group()
    assert comm.destroyed


def test_nccl_rank_1_takes_the_unique_id_from_rank_0(standin):
    w = standin(size=2, rank=1, nccl=True)
    dist.broadcast(tg.ones(3, dtype=tg.int64, device="fake"), src=0)
    assert w.nccl.uids == 0 and w.nccl.comms[0].rank == 1
    assert w.nccl.calls[-1][2:5] == (3, StandInNCCL.NCCL_INT64, 0)


def test_nccl_non_contiguous_tensor_goes_through_one_device_temporary(standin):
    w = standin(size=2, nccl=True)
    x = tg.arange(6, dtype=tg.float32, device="fake").reshape(2, 3)
    dist.all_reduce(x.T)
    assert x.tolist() == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]
    assert w.nccl.calls[-1][1] != address(x)


def test_nccl_all_gather_and_barrier(standin):
    w = standin(size=2, nccl=True)
    out = [tg.zeros(2, device="fake") for _ in range(2)]
    dist.all_gather(out, tg.tensor([5.0, 6.0], device="fake"))
    assert [o.tolist() for o in out] == [[5.0, 6.0]] * 2
    assert w.nccl.calls[-1][0] == "allGather" and w.nccl.calls[-1][3] == 2
    dist.barrier()
    assert w.stream.synced and w.comm.calls[-1] == ("Barrier",)


def test_nccl_sends_host_tensors_through_mpi_and_names_unsupported_dtypes(standin):
    w = standin(size=2, nccl=True)
    h = tg.ones(2)
    dist.all_reduce(h)
    assert h.tolist() == [2.0, 2.0] and w.comm.calls[-1][0] == "Allreduce" and not w.nccl.calls
    with pytest.raises(TypeError, match="all_reduce: NCCL has no type for int16"):
        dist.all_reduce(tg.ones(2, dtype=tg.int16, device="fake"))


def test_ddp_on_nccl_sends_one_flat_device_buffer_per_bucket(standin):
    w = standin(size=2, nccl=True)
    tg.manual_seed(0)
    model = DDP(nn.Linear(3, 2).to("fake"))
    x = tg.tensor([[1.0, 2.0, 3.0]], device="fake")
    model(x).sum().backward()
    assert not w.host_copies
    (call,) = [c for c in w.nccl.calls if c[0] == "allReduce"]
    assert call[3] == 3 * 2 + 2 and call[4] == StandInNCCL.NCCL_FLOAT32
    # the average of 2 equal ranks is the local gradient: d/dW sum(Wx + b) = x per row, d/db = 1
    assert model.module.weight.grad.tolist() == [[1.0, 2.0, 3.0]] * 2
    assert model.module.bias.grad.tolist() == [1.0, 1.0]


# ----------------------------------------------------------------------------- DistributedDataParallel's logic

def test_buckets_hold_at_most_the_cap_in_reverse_registration_order():
    params = [nn.Parameter(tg.zeros(32)), nn.Parameter(tg.zeros(8)),      # 128 and 32 bytes
              nn.Parameter(tg.zeros(16)), nn.Parameter(tg.zeros(2))]       # 64 and 8 bytes
    assert _assign_buckets(params, 100) == [[3, 2], [1], [0]]               # 72 | 32 (+128 > 100) | 128
    assert _assign_buckets(params, 10 ** 6) == [[3, 2, 1, 0]]
    assert _assign_buckets(params, 1) == [[3], [2], [1], [0]]


def test_buckets_never_mix_dtypes():
    params = [nn.Parameter(tg.zeros(2)), nn.Parameter(tg.zeros(2, dtype=tg.float64)),
              nn.Parameter(tg.zeros(2))]
    assert sorted(_assign_buckets(params, 10 ** 6)) == [[1], [2, 0]]


def test_ddp_averages_with_one_allreduce_per_bucket_and_none_in_no_sync(standin):
    w = standin(size=4)
    tg.manual_seed(0)
    model = DDP(nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2)), bucket_cap_mb=100 / 2 ** 20)
    x = tg.ones(1, 4)
    count = lambda: sum(c[0] == "Allreduce" for c in w.comm.calls)     # noqa: E731
    model(x).sum().backward()
    assert count() == len(model._buckets) == 3
    with model.no_sync():
        model(x).sum().backward()
    assert count() == 3
    model(x).sum().backward()                  # the first synced backward averages the accumulated sum
    assert count() == 6
    # 4 equal ranks: the average is the local gradient, twice accumulated plus once: 3 x d/db2 sum = 3
    assert model.module[1].bias.grad.tolist() == [3.0, 3.0]


def test_ddp_forward_broadcasts_buffers_only_when_gradients_will_be_synced(standin):
    w = standin(size=2)
    model = DDP(nn.BatchNorm1d(3))
    bcasts = lambda: sum(c[0] == "Bcast" for c in w.comm.calls)         # noqa: E731
    assert bcasts() == 2                       # construction: float parameters+buffers, int64 counter
    model(tg.randn(4, 3))
    assert bcasts() == 4
    with tg.no_grad():
        model.eval()(tg.randn(4, 3))
    with model.no_sync():
        model.train()(tg.randn(4, 3))
    assert bcasts() == 4


class OneUsed(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 1), nn.Linear(2, 1)

    def forward(self, x):
        return self.a(x)


def test_ddp_unused_parameter_error_and_find_unused_parameters(standin):
    w = standin(size=2)
    tg.manual_seed(0)
    model = DDP(OneUsed())
    message = r"find_unused_parameters=True[^\n]*\n.*rank 0: 2 3 \(b.weight, b.bias\)"
    with pytest.raises(RuntimeError, match=message):
        model(tg.ones(1, 2)).sum().backward()
    model = DDP(OneUsed(), find_unused_parameters=True)
    model(tg.ones(1, 2)).sum().backward()
    # which were used anywhere: one all_gather of (forward, backward) numbers and a byte per parameter
    assert ("Allgather", 16 + 4, np.uint8) in [c[:3] for c in w.comm.calls]
    assert model.module.b.weight.grad is None and model.module.a.weight.grad.tolist() == [[1.0, 1.0]]


def other_rank_says(comm, step, backward, flags):
    """Make rank 1's row of DDP's all_gather read (step, backward, flags); rank 0 is this process."""
    def allgather(send, recv):
        recv[0] = send
        recv[1] = np.concatenate([np.array([step, backward], np.int64).view(np.uint8), np.array(flags, np.uint8)])
    comm.Allgather = allgather


class BothUsed(OneUsed):
    def forward(self, x):
        return self.a(x) + self.b(x)


def test_ddp_decides_from_every_ranks_row_so_all_ranks_raise_together(standin):
    w = standin(size=2, rank=0)
    tg.manual_seed(0)
    model = DDP(BothUsed())
    x = tg.ones(1, 2)
    other_rank_says(w.comm, 1, 1, [3, 3, 0, 0])      # rank 1 got no gradient for b (bit 0: in this pass)
    with pytest.raises(RuntimeError) as e:
        model(x).sum().backward()
    assert "for rank 1: 2 3 (b.weight, b.bias)" in str(e.value) and "for rank 0" not in str(e.value)
    assert not [c for c in w.comm.calls if c[0] == "Allreduce"]      # nothing averaged
    other_rank_says(w.comm, 3, 1, [3, 3, 3, 3])      # rank 1 is one synchronised forward ahead
    with pytest.raises(RuntimeError, match=r"the ranks are out of step, .*\(rank 0: forward 2, backward 1, "
                                           r"rank 1: forward 3, backward 1;"):
        model(x).sum().backward()
    assert not [c for c in w.comm.calls if c[0] == "Allreduce"]


def test_ddp_state_dict_has_the_module_prefix_and_the_module_has_none(standin):
    standin()
    model = DDP(nn.Linear(2, 1))
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    bare = nn.Linear(2, 1)
    bare.load_state_dict(model.module.state_dict())
    assert bare.weight.tolist() == model.module.weight.tolist()
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "weight"'):
        bare.load_state_dict(model.state_dict())


def test_a_dropped_ddp_wrapper_stops_reducing(standin):
    w = standin(size=2)
    lin = nn.Linear(2, 1)
    model = DDP(lin)
    del model
    gc.collect()
    lin(tg.ones(1, 2)).sum().backward()
    assert not any(c[0] == "Allreduce" for c in w.comm.calls)
    assert lin.bias.grad.tolist() == [1.0]


@pytest.mark.parametrize("make, error, message", [
    (lambda: DDP(nn.ReLU()), RuntimeError, "doesn't have any parameter that requires a gradient"),
    (lambda: DDP(nn.Linear(2, 2), device_ids=[0]), ValueError, "device_ids and output_device arguments"),
    (lambda: DDP(nn.Linear(2, 2), bucket_cap_mb=0), ValueError, "bucket_cap_mb must be a positive number"),
    (lambda: DDP(nn.Linear(2, 2), process_group=object()), NotImplementedError, "process subgroups"),
    (lambda: DDP(lambda x: x), TypeError, "expected an nn.Module"),
])
def test_ddp_bad_arguments_raise_clear_errors(standin, make, error, message):
    standin()
    with pytest.raises(error, match=message):
        make()


# ----------------------------------------------------------------------------- DistributedSampler

def shards(n, replicas, **kw):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


def test_sampler_pads_and_truncates_like_pytorch_by_hand():
    assert shards(5, 2, shuffle=False) == [[0, 2, 4], [1, 3, 0]]          # 0 repeated to fill rank 1
    assert shards(5, 2, shuffle=False, drop_last=True) == [[0, 2], [1, 3]]
    assert shards(2, 3, shuffle=False) == [[0], [1], [0]]
    assert shards(7, 3, shuffle=False, drop_last=True) == [[0, 3], [1, 4], [2, 5]]


@given(n=st.integers(0, 40), replicas=st.integers(1, 6), shuffle=st.booleans(), drop_last=st.booleans(),
       seed=st.integers(0, 2 ** 32), epoch=st.integers(0, 5))
def test_sampler_shards_are_equal_disjoint_apart_from_padding_and_cover(n, replicas, shuffle, drop_last, seed,
                                                                       epoch):
    parts = []
    for r in range(replicas):
        s = DistributedSampler(range(n), replicas, r, shuffle=shuffle, seed=seed, drop_last=drop_last)
        s.set_epoch(epoch)
        parts.append(list(s))
        assert len(parts[-1]) == len(s) == (n // replicas if drop_last else -(-n // replicas))
    every = [i for p in parts for i in p]
    assert all(0 <= i < n for i in every)
    if drop_last:
        assert len(set(every)) == len(every) and n - len(every) < replicas
    else:
        assert set(every) == set(range(n)) and len(every) - n < replicas


def test_sampler_reshuffles_with_set_epoch_and_repeats_per_epoch():
    s = DistributedSampler(range(50), num_replicas=2, rank=1, seed=4)
    first = list(s)
    assert list(s) == first                                  # same epoch, same order
    s.set_epoch(1)
    assert list(s) != first
    s.set_epoch(0)
    assert list(s) == first
    assert list(DistributedSampler(range(50), 2, 1, seed=5)) != first


def test_sampler_rejects_a_rank_outside_the_job():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


@pytest.mark.parametrize("n, replicas, drop_last",
                         [(10, 3, False), (10, 3, True), (2, 4, False), (9, 3, True)])
def test_sampler_orders_match_pytorch_without_shuffling(n, replicas, drop_last):
    torch_sampler = pytest.importorskip("torch.utils.data.distributed").DistributedSampler
    for r in range(replicas):
        ours = DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)
        theirs = torch_sampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


# ----------------------------------------------------------------------------- DataLoader(sampler=)

def _labels(loader):
    return [b.tolist() for (b,) in loader]


def test_loader_follows_any_iterable_of_indices():
    data = TensorDataset(tg.arange(10) * 10)
    loader = DataLoader(data, batch_size=3, sampler=[7, 1, 4, 0])
    assert len(loader) == 2 and _labels(loader) == [[70, 10, 40], [0]]
    assert _labels(DataLoader(data, batch_size=3, sampler=[7, 1, 4, 0], drop_last=True)) == [[70, 10, 40]]
    assert [x.item() for (x,) in DataLoader(data, batch_size=None, sampler=[2, 5])] == [20, 50]


class Squares(Dataset):
    def __getitem__(self, i):
        return i * i

    def __len__(self):
        return 6


def test_loader_with_a_sampler_fetches_per_sample_datasets_and_lengthless_samplers():
    def odd():
        yield from (5, 3, 1)

    loader = DataLoader(Squares(), batch_size=2, sampler=_Iterable(odd))
    assert [b.tolist() for b in loader] == [[25, 9], [1]]
    with pytest.raises(TypeError):
        len(loader)


class _Iterable:
    """An iterable without ``__len__``."""

    def __init__(self, fn):
        self.fn = fn

    def __iter__(self):
        return self.fn()


def test_loader_workers_follow_the_sampler():
    data = TensorDataset(tg.arange(12))
    sampler = DistributedSampler(data, num_replicas=2, rank=1, seed=3)
    assert _labels(DataLoader(data, batch_size=2, sampler=sampler, num_workers=2)) == \
        _labels(DataLoader(data, batch_size=2, sampler=sampler))


def test_loader_resumes_mid_epoch_with_a_distributed_sampler():
    data = TensorDataset(tg.arange(20))

    def make():
        sampler = DistributedSampler(data, num_replicas=3, rank=2, seed=8)
        sampler.set_epoch(4)                    # the interrupted epoch, set again before iter()
        return DataLoader(data, batch_size=2, sampler=sampler)
    whole = _labels(make())
    loader = make()
    it = iter(loader)
    head = [next(it)[0].tolist() for _ in range(2)]
    state = loader.state_dict()
    fresh = make()
    fresh.load_state_dict(state)
    assert head + _labels(fresh) == whole and len(whole) == math.ceil(math.ceil(20 / 3) / 2)


# ----------------------------------------------------------------------------- batchify shares

@given(length=st.integers(1, 60), per_rank=st.integers(1, 4), replicas=st.integers(1, 4),
       batch_first=st.booleans(), features=st.sampled_from([(), (2,)]))
def test_batchify_shares_concatenate_to_the_one_process_layout(length, per_rank, replicas, batch_first,
                                                               features):
    B = per_rank * replicas
    length = max(length, B)
    seq = tg.tensor(np.arange(length * int(np.prod(features, dtype=int))).reshape((length,) + features))
    whole = batchify(seq, B, batch_first=batch_first).numpy()
    parts = [batchify(seq, B, batch_first=batch_first, num_replicas=replicas, rank=r).numpy()
             for r in range(replicas)]
    assert all(p.shape[1 - batch_first] == per_rank for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts, axis=0 if batch_first else 1), whole)


def test_batchify_share_of_rank_1_by_hand(device):
    share = batchify(tg.arange(13, device=device), 4, num_replicas=2, rank=1)    # streams 2 and 3
    assert share.tolist() == [[6, 9], [7, 10], [8, 11]] and share.device.type == device


@pytest.mark.parametrize("kwargs, message", [
    ({"num_replicas": 3, "rank": 0}, "batch_size=4 streams cannot be shared equally by num_replicas=3"),
    ({"num_replicas": 2, "rank": 2}, r"Invalid rank 2, rank should be in the interval \[0, 1\]"),
    ({"num_replicas": 2}, "pass both num_replicas= and rank="),
    ({"rank": 0}, "pass both num_replicas= and rank="),
    ({"num_replicas": 0, "rank": 0}, "num_replicas must be a positive integer"),
])
def test_batchify_share_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        batchify(tg.arange(20), 4, **kwargs)
