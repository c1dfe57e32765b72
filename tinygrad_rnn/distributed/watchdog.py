"""Ranks that leave early: no rank waits forever in a collective for a rank that has exited.

An uncaught exception aborts the job (``init_process_group``'s excepthook), but a rank whose script
ends while the others still communicate (``sys.exit(n)``, as ``argparse``'s ``parser.error()``
does, or simply the end of the script) looks like a clean exit to MPI: ``SystemExit`` never
reaches ``sys.excepthook``, and MPI's launcher waits for the other ranks, which wait in their
collective, spinning, forever. So a rank that leaves says so:

* Every collective is numbered: ``calls`` counts the collectives this rank has started (over MPI,
  and over NCCL separately, since GPU collectives run on their own).
* Leaving (``destroy_process_group``, or the process exiting with the group still initialised)
  sends every other rank one small message: "I made ``calls`` collectives and will make no more".
  The messages travel on a communicator of their own (a duplicate of the job's, made once by
  every rank in ``init_process_group``), so they never mix with the collectives' messages.
* A collective number ``k`` that some rank which has left will never join (it made fewer than
  ``k`` collectives) can never complete. A rank finds this out at the start of each collective
  (a ``RuntimeError`` naming the rank that left, before anything is sent), and while it is
  blocked inside one: a watcher thread looks for leaving messages a few times a second; a
  blocked MPI call cannot be interrupted, so the watcher prints which rank left, which collective
  waits for it and where this rank was, then aborts the whole job (non-zero exit status).

The watcher calls MPI while the main thread is inside a collective, so it needs MPI initialised
with ``MPI_THREAD_MULTIPLE`` (mpi4py's default). With less, there is no watcher: a leaver is still
caught at the start of a collective, but not while a rank is already blocked in one.
"""
from __future__ import annotations

import atexit
import sys
import threading
import time
import traceback

import numpy as np

_TAG = 7          # any tag: the control communicator carries nothing but leaving messages
POLL_S = 0.05     # how often the watcher looks for leaving messages (a leaver is seen this fast)
_SEND_WAIT_S = 2.0
# Before aborting, a rank waits this long after writing its message: MPI's launcher forwards each
# rank's stderr through a pipe, and an abort can end its forwarding before it has read the last
# lines (seen on a busy machine: a job that ended with nothing printed).
OUTPUT_GRACE_S = 1.0


class Watchdog:
    """One rank's side of the protocol above, over the communicator ``comm`` of ``MPI``.

    ``abort(code)`` ends the job (the process group's abort: NCCL's communicators, then MPI's).
    """

    def __init__(self, MPI, comm, abort):
        self.MPI, self.abort_job = MPI, abort
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.control = comm.Dup() if self.size > 1 else None
        self._status = MPI.Status()
        self.calls = [0, 0]         # collectives started: [over MPI, over NCCL]
        self.waiting = None         # (name, number) of the MPI collective the main thread is inside
        self.left = {}              # rank -> [its MPI collectives, its NCCL collectives] when it left
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sent = None           # our own leaving messages, once sent
        self._thread = None
        if self.size > 1 and MPI.Query_thread() == MPI.THREAD_MULTIPLE:
            self._thread = threading.Thread(target=self._watch, name="tinygrad_rnn rank watchdog",
                                            daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ the main thread's side
    def collective(self, name, gpu=False):
        """``with watchdog.collective("all_reduce"):`` around one collective call: numbers it,
        refuses it when a rank that has left will never join it, and marks this rank as inside it
        (an MPI collective blocks; a GPU one is only queued, so it is not "inside")."""
        return _Collective(self, name, gpu)

    def _enter(self, name, gpu):
        kind = 1 if gpu else 0
        with self._lock:
            if self._sent is not None:
                raise RuntimeError(f"{name}: this rank has left the process group")
            number = self.calls[kind] + 1
            if self.size > 1:
                self._receive()
                if self.left:
                    gone = self._never_joins(kind, number)
                    if gone is not None:
                        raise RuntimeError(self._explain(name, number, gone, kind))
            self.calls[kind] = number
            if not gpu:
                self.waiting = (name, number)

    # ------------------------------------------------------------------ the watcher thread
    def _watch(self):
        while not self._stop.wait(POLL_S):
            try:
                with self._lock:
                    if not self._receive():
                        continue
                    stuck = self._stuck()
            except Exception:       # MPI is being finalised under us: nothing left to watch
                return
            if stuck is not None:
                self._abort(*stuck)
                return

    def _stuck(self):
        """(name, number, rank, kind) when this rank waits for a collective that a leaver never joins."""
        if self.waiting is not None:
            name, number = self.waiting
            gone = self._never_joins(0, number)
            if gone is not None:
                return name, number, gone, 0
        # A queued GPU collective that a leaver never joined will never finish: the host blocks on
        # it at its next synchronisation, wherever that is.
        gone = self._never_joins(1, self.calls[1])
        if gone is not None:
            return "a GPU collective (NCCL)", self.calls[1], gone, 1
        return None

    def _abort(self, name, number, gone, kind):
        frame = sys._current_frames().get(threading.main_thread().ident)
        where = traceback.format_stack(frame) if frame is not None else []
        text = (self._explain(name, number, gone, kind) + " Ending the job.\n"
                "This rank was waiting here (most recent call last):\n" + "".join(where))
        prefix = f"[rank {self.rank}] "
        sys.stderr.write("".join(prefix + line + "\n" for line in text.rstrip("\n").split("\n")))
        sys.stderr.flush()
        time.sleep(OUTPUT_GRACE_S)
        self.abort_job(1)

    # ------------------------------------------------------------------ shared (under the lock)
    def _receive(self):
        """Take in every leaving message that has arrived; True if there was one."""
        status, got = self._status, False
        while self.control.Iprobe(source=self.MPI.ANY_SOURCE, tag=_TAG, status=status):
            note = np.zeros(2, np.int64)
            self.control.Recv(note, source=status.Get_source(), tag=_TAG)
            self.left[status.Get_source()] = note.tolist()
            got = True
        return got

    def _never_joins(self, kind, number):
        """The lowest rank that has left before its collective number ``number`` (of ``kind``)."""
        for r in sorted(self.left):
            if self.left[r][kind] < number:
                return r
        return None

    def _explain(self, name, number, gone, kind):
        what = "GPU collective" if kind else "collective"
        return (f"{name} ({what} call {number} of rank {self.rank}) can never complete: rank {gone} "
                f"has left the job after {self.left[gone][kind]} {what} call(s) (its script ended or called "
                f"sys.exit(), or it called destroy_process_group), so it will never join. Every rank "
                f"must make the same collective calls; to stop one rank because of an error, raise "
                f"an exception (it ends the whole job) rather than calling sys.exit().")

    # ------------------------------------------------------------------ leaving
    def leave(self):
        """Tell every other rank that this one makes no more collectives (once; at
        ``destroy_process_group`` or at exit). Waits only until the small messages are sent."""
        if self._sent is not None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.size == 1:
                self._sent = []
                return
            note = np.array(self.calls, np.int64)
            self._sent = [self.control.Isend(note, dest=r, tag=_TAG) for r in range(self.size) if r != self.rank]
            self._note = note           # the buffer must outlive the sends
        deadline = time.monotonic() + _SEND_WAIT_S
        while not self.MPI.Request.Testall(self._sent) and time.monotonic() < deadline:
            time.sleep(0.001)


class _Collective:
    """The context of one collective call (a class, not a generator: it runs once per call)."""
    __slots__ = ("dog", "name", "gpu")

    def __init__(self, dog, name, gpu):
        self.dog, self.name, self.gpu = dog, name, gpu

    def __enter__(self):
        self.dog._enter(self.name, self.gpu)

    def __exit__(self, *exc):
        if not self.gpu:
            self.dog.waiting = None


_live: list[Watchdog] = []       # watchdogs whose rank has not left yet
_at_exit_registered = False


def watch(MPI, comm, abort):
    """A ``Watchdog`` for a new process group, sure to leave when the process exits."""
    global _at_exit_registered
    if not _at_exit_registered:
        # Registered after mpi4py's import initialised MPI, so it runs before MPI is finalised.
        atexit.register(_leave_all)
        _at_exit_registered = True
    dog = Watchdog(MPI, comm, abort)
    _live.append(dog)
    return dog


def forget(dog):
    """``dog`` has left (``destroy_process_group``): nothing to do for it at exit."""
    if dog in _live:
        _live.remove(dog)


def _leave_all():
    """At exit: a script that ends without ``destroy_process_group`` leaves the job here, so ranks
    still waiting for it in a collective learn that it is gone. Runs before mpi4py finalises MPI."""
    while _live:
        dog = _live.pop()
        try:
            dog.leave()
        except Exception:       # never fail an exit; at worst the others are not told
            pass
