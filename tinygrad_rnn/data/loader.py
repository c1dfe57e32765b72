"""DataLoader: a dataset -> an iterable of batches, optionally shuffled, resumable mid-epoch.

Shuffling follows PyTorch: each epoch (each ``iter(loader)``) draws one 64-bit seed from
``generator`` (or from the default generator, seeded by ``tinygrad_rnn.manual_seed``) and builds
the epoch's permutation from it. A seeded run therefore repeats exactly, and the loader's place in
an epoch is two numbers, the epoch seed and the batches already yielded (``state_dict()``).

Exact resume after a crash: save ``loader.state_dict()`` together with the model, optimizer and
``tinygrad_rnn.get_rng_state()``; in the new process restore all of them and call
``loader.load_state_dict(state)``. The next ``iter(loader)`` then replays the interrupted epoch's
permutation without drawing from the generator and skips the batches already seen (no data is
loaded for them); later epochs draw their seeds from the restored generator as before.

Worker processes (``num_workers > 0``): worker ``w`` builds batches ``w, w + n, w + 2n, ...`` of
the epoch (n = num_workers), each exactly as the main process would (one fancy-indexing call per
tensor for a ``TensorDataset``), with at most ``prefetch_factor`` of them asked for ahead, and
sends each back pickled through its own queue; the main process takes batch ``b`` from worker
``b % n``, so batches arrive in the same order, with the same contents, as with ``num_workers=0``. Each worker seeds ``tinygrad_rnn``'s default generator,
``random`` and ``numpy.random`` from the epoch seed and its id (``get_worker_info().seed``), then
calls ``worker_init_fn(worker_id)``. An exception in a worker is raised again in the main process,
with its type and the worker's traceback; on Ctrl-C the workers exit quietly and the main process
raises the KeyboardInterrupt.

With ``sampler=`` the epoch's order is whatever the sampler yields when the epoch starts (asked
once per ``iter(loader)``, in the main process); a resumed epoch asks the sampler again and skips
the batches already done, so it continues exactly when the sampler repeats its order: for
``DistributedSampler`` call ``set_epoch(epoch)`` with the interrupted epoch before ``iter``.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import random
import time
import traceback

import numpy as np

from .. import random as _random
from .collate import default_collate

# How often a waiting main process checks that its workers are alive, and a worker its parent.
_POLL_S = 1.0


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``, ``seed``, ``dataset``
    (the worker's own copy)."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


_worker_info = None


def get_worker_info():
    """In a DataLoader worker process: its ``WorkerInfo``; in the main process: None."""
    return _worker_info


def _worker_seed(epoch_seed, worker_id):
    # Hashed, not epoch_seed + worker_id: the epoch's permutation is drawn from PCG64(epoch_seed),
    # and worker 0 must not replay that stream.
    return int(np.random.SeedSequence(epoch_seed, spawn_key=(worker_id,)).generate_state(1, np.uint64)[0])


class _Fetcher:
    """Builds batches from indices; the same code runs in the main process and in the workers."""

    def __init__(self, dataset, batch_size, collate_fn):
        self.dataset, self.batch_size, self.collate_fn = dataset, batch_size, collate_fn
        self.fast = collate_fn is None and hasattr(dataset, "_get_batch")

    def __call__(self, idx):
        if self.batch_size is None:
            return self.dataset[int(idx[0])]
        if self.fast:
            batch = self.dataset._get_batch(idx)
            if batch is not NotImplemented:
                return batch
        samples = [self.dataset[int(i)] for i in idx]
        return (self.collate_fn or default_collate)(samples)


class _KeyErrorMessage(str):
    """The message of a KeyError re-raised from a worker. ``str(KeyError(m))`` is ``repr(m)``, since
    KeyError expects a key: a traceback would print as one quoted line full of literal ``\\n``. This
    string's repr is itself, so the worker's traceback reads over real lines."""
    __slots__ = ()

    def __repr__(self):
        return str(self)


class _Failure:
    """An exception raised in a worker, carried to the main process as its type and traceback text."""

    def __init__(self, exc, worker_id, what):
        self.exc_type, self.worker_id, self.what = type(exc), worker_id, what
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self):
        msg = (f"Caught {self.exc_type.__name__} in DataLoader worker process {self.worker_id}{self.what}.\n"
               f"Original {self.text}")
        if issubclass(self.exc_type, KeyError):
            msg = _KeyErrorMessage(msg)
        try:
            err = self.exc_type(msg)
        except Exception:       # an exception type that takes other arguments
            err = None
        if not isinstance(err, BaseException):
            err = RuntimeError(msg)
        raise err


def _dumps(obj, worker_id, what):
    """Pickle here, not in the queue's feeder thread, where a failure would be lost (and hang the loader)."""
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        return pickle.dumps(_Failure(e, worker_id, f" while sending {what} to the main process"))


def _worker_loop(fetcher, worker_id, num_workers, seed, worker_init_fn, tasks, results, epoch, parent_pid):
    """A worker's life: seed, init, then build each batch it is sent until told to stop.

    Ctrl-C sends SIGINT to the whole foreground process group, workers included: a worker then
    exits quietly (no traceback of its own); the main process raises the one KeyboardInterrupt
    and shuts the workers down."""
    try:
        _work(fetcher, worker_id, num_workers, seed, worker_init_fn, tasks, results, epoch, parent_pid)
    except KeyboardInterrupt:
        results.cancel_join_thread()        # exit now, even with batches nobody will read


def _work(fetcher, worker_id, num_workers, seed, worker_init_fn, tasks, results, epoch, parent_pid):
    global _worker_info
    _worker_info = WorkerInfo(worker_id, num_workers, seed, fetcher.dataset)
    _random.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as e:
        results.put((None, None, _dumps(_Failure(e, worker_id, " in worker_init_fn"), worker_id, "an error")))
        return
    while True:
        try:
            if not tasks.poll(_POLL_S):
                if os.getppid() != parent_pid:  # the main process is gone: nobody will ask again
                    task = None
                else:
                    continue
            else:
                task = tasks.recv()
        except (EOFError, OSError):             # the main process closed its end
            task = None
        if task is None:
            results.cancel_join_thread()        # exit now even if nobody reads what is still queued
            return
        epoch_id, b, idx = task
        if epoch.value != epoch_id:             # the main process abandoned that epoch: skip its work
            continue
        try:
            payload = _dumps(fetcher(idx), worker_id, f"batch {b}")
        except Exception as e:
            payload = _dumps(_Failure(e, worker_id, f" while building batch {b}"), worker_id, "an error")
        results.put((epoch_id, b, payload))


class _Workers:
    """The worker processes of a loader, their queues, and how batches come back in order.

    Worker ``w`` gets the batches ``b`` with ``b % n == w``, at most ``prefetch_factor`` of them
    outstanding at a time (a new one is sent when one comes back), and answers through its own
    queue, so reading worker ``b % n``'s queue yields batch ``b``.
    """

    def __init__(self, loader, epoch_seed):
        n = loader.num_workers
        ctx = loader.multiprocessing_context
        if ctx is None or isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        self.timeout, self.prefetch = loader.timeout, loader.prefetch_factor
        self.epoch = ctx.Value("q", -1, lock=False)
        # Tasks go through plain pipes: a Queue's put would start a feeder thread in this process,
        # and forking the next workers from a multi-threaded process can deadlock them.
        pipes = [ctx.Pipe(duplex=False) for _ in range(n)]
        self.tasks = [send for _, send in pipes]
        self.results = [ctx.Queue() for _ in range(n)]
        fetcher = _Fetcher(loader.dataset, loader.batch_size, loader.collate_fn)
        self.procs = []
        for w in range(n):
            p = ctx.Process(target=_worker_loop, daemon=True,
                            args=(fetcher, w, n, _worker_seed(epoch_seed, w), loader.worker_init_fn,
                                  pipes[w][0], self.results[w], self.epoch, os.getpid()))
            p.start()
            pipes[w][0].close()                  # the worker's end now lives in the worker
            self.procs.append(p)
        self.epoch_id = -1
        self.pending = [[] for _ in range(n)]

    def start_epoch(self, work):
        """Hand out ``work``, a list of (batch number, indices): batch b goes to worker b % n.

        Returns the epoch's id; an epoch started later makes this one's ``get`` calls fail."""
        self.epoch_id += 1
        self.epoch.value = self.epoch_id
        n = len(self.procs)
        self.pending = [[(b, idx) for b, idx in reversed(work) if b % n == w] for w in range(n)]
        for w in range(n):
            for _ in range(self.prefetch):
                self._send(w)
        return self.epoch_id

    def _send(self, w):
        if self.pending[w]:
            b, idx = self.pending[w][-1]
            try:
                self.tasks[w].send((self.epoch_id, b, idx))
            except (BrokenPipeError, ConnectionResetError):
                return      # that worker has exited (its worker_init_fn failed): get() says why
            self.pending[w].pop()

    def get(self, b, epoch_id):
        if epoch_id != self.epoch_id:
            raise RuntimeError("DataLoader: this iterator was superseded by a newer iter(loader): with "
                               "persistent_workers=True all iterators share one set of workers, so only the "
                               "newest one can go on")
        w = b % len(self.procs)
        start = time.monotonic()
        while True:
            left = self.timeout - (time.monotonic() - start) if self.timeout else _POLL_S
            try:
                epoch_id, got, payload = self.results[w].get(timeout=max(min(left, _POLL_S), 0))
            except queue.Empty:
                proc = self.procs[w]
                if not proc.is_alive():
                    raise RuntimeError(f"DataLoader worker (pid {proc.pid}) exited unexpectedly with exit code "
                                       f"{proc.exitcode}") from None
                if self.timeout and time.monotonic() - start >= self.timeout:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds") from None
                continue
            item = pickle.loads(payload)
            if isinstance(item, _Failure) and epoch_id is None:
                item.reraise()                   # worker_init_fn failed: that worker is gone
            if epoch_id != self.epoch_id:
                continue                         # left over from an abandoned epoch
            self._send(w)
            if isinstance(item, _Failure):
                item.reraise()
            if got != b:
                raise RuntimeError(f"DataLoader: worker {w} sent batch {got} where batch {b} was due (a bug)")
            return item

    def shutdown(self):
        self.epoch.value = -2                    # workers skip whatever is still queued
        for conn in self.tasks:
            try:
                conn.send(None)
            except (OSError, ValueError):        # that worker is already gone
                pass
        for p in self.procs:
            p.join(timeout=_POLL_S)
            if p.is_alive():                     # still inside a slow __getitem__: nothing left to lose
                p.terminate()
                p.join()
        for conn in self.tasks:
            conn.close()
        for q in self.results:
            q.close()
            q.cancel_join_thread()
        self.procs = []


def _non_cpu_tensor(dataset):
    """The device of a tensor held by a (nested) TensorDataset / Subset / ConcatDataset, if not the CPU."""
    for t in getattr(dataset, "tensors", ()):
        if t.device.type != "cpu":
            return t.device
    for inner in [getattr(dataset, "dataset", None), *getattr(dataset, "datasets", ())]:
        if inner is not None:
            found = _non_cpu_tensor(inner)
            if found is not None:
                return found
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches.

    ``DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
    collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
    multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
    pin_memory_device='', in_order=True)``: PyTorch's arguments, in PyTorch's order.

    Each batch is ``collate_fn(list_of_samples)`` (``default_collate``: samples of shape S -> a
    tensor of shape ``(batch_size, *S)``). When no ``collate_fn`` is given and the dataset offers
    ``_get_batch`` (``TensorDataset`` and its ``Subset``s), a batch is fetched with one indexing call
    per tensor. ``batch_size=None`` yields single samples, uncollated. ``len(loader)`` is the
    number of batches per epoch.

    ``num_workers > 0`` builds batches in that many processes (see the module docstring); the
    dataset must then hold CPU tensors. ``timeout`` (seconds, 0 = forever) bounds the wait for
    one batch; ``prefetch_factor`` (default 2) batches per worker are built ahead;
    ``persistent_workers`` keeps the processes from one epoch to the next. ``pin_memory``,
    ``pin_memory_device`` and ``in_order`` are accepted and change nothing (batches always come in
    order). ``sampler`` (any iterable of dataset indices, e.g. ``DistributedSampler``; not with
    ``shuffle=True``) decides the order and the epoch's length; ``batch_sampler`` is not supported.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        if batch_sampler is not None:
            raise NotImplementedError("DataLoader: batch_sampler= is not supported; use sampler= (an "
                                      "iterable of indices) with batch_size=")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("DataLoader: num_workers option should be non-negative; use num_workers=0 to disable "
                             f"multiprocessing (got {num_workers!r})")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative (got {timeout!r})")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing. "
                             "Let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to "
                             "None.")
        if prefetch_factor is not None and (not isinstance(prefetch_factor, int) or prefetch_factor < 1):
            raise ValueError(f"DataLoader: prefetch_factor must be a positive integer, got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("DataLoader: multiprocessing_context can only be used with multi-process loading "
                             "(num_workers > 0), but got num_workers=0")
        if isinstance(multiprocessing_context, str):
            methods = multiprocessing.get_all_start_methods()
            if multiprocessing_context not in methods:
                raise ValueError(f"DataLoader: multiprocessing_context option should specify a valid start "
                                 f"method in {methods!r}, but got multiprocessing_context="
                                 f"{multiprocessing_context!r}")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable, got {type(worker_init_fn).__name__}")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, bool(shuffle)
        self.sampler = sampler
        self.drop_last, self.generator = bool(drop_last), generator
        self.collate_fn = collate_fn
        self.num_workers, self.timeout, self.worker_init_fn = num_workers, timeout, worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = (2 if prefetch_factor is None else prefetch_factor) if num_workers else None
        self.persistent_workers = bool(persistent_workers)
        self.pin_memory, self.pin_memory_device, self.in_order = bool(pin_memory), pin_memory_device, in_order
        self._fetch = _Fetcher(dataset, batch_size, collate_fn)
        self._workers = None
        self._in_epoch, self._epoch_seed, self._batches_done, self._resume = False, None, 0, None

    def __len__(self):
        return self._num_batches(len(self.dataset) if self.sampler is None else len(self.sampler))

    def _num_batches(self, n):
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    # ------------------------------------------------------------------ resumable position
    def state_dict(self) -> dict:
        """Where the current epoch is: ``{"in_epoch", "epoch_seed", "batches_done"}`` (plus the state
        of a ``generator`` passed to the loader). Between epochs ``in_epoch`` is False."""
        state = {"in_epoch": self._in_epoch, "epoch_seed": self._epoch_seed,
                 "batches_done": self._batches_done}
        if self.generator is not None:
            state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Make the next ``iter(self)`` continue the epoch described by ``state``."""
        if "generator" in state and self.generator is not None:
            self.generator.set_state(state["generator"])
        self._resume = (state["epoch_seed"], int(state["batches_done"])) if state["in_epoch"] else None

    # ------------------------------------------------------------------ iteration
    def _order(self, seed):
        if self.sampler is not None:        # the sampler decides the order (and the epoch's length)
            if hasattr(self.sampler, "_epoch_indices"):
                return self.sampler._epoch_indices()
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle or seed is None:
            return np.arange(n, dtype=np.int64)
        return np.random.Generator(np.random.PCG64(seed)).permutation(n)

    def __iter__(self):
        # The seed is drawn here, not lazily at the first next(), so the generator's use is tied to
        # the call that starts the epoch. Workers need one too (their random streams start from it).
        if self._resume is not None:
            seed, skip = self._resume
            self._resume = None
        else:
            rng = (self.generator or _random.default_generator).numpy
            seed = int(rng.integers(0, 2 ** 63)) if self.shuffle or self.num_workers else None
            skip = 0
        if self.num_workers and seed is None:       # a state saved by a loader without workers
            seed = 0
        self._in_epoch, self._epoch_seed, self._batches_done = True, seed, skip
        if self.num_workers:
            return self._batches_from_workers(self._order(seed), skip, seed)
        return self._batches(self._order(seed), skip)

    def _indices(self, order, b):
        step = self.batch_size or 1
        return order[b * step:(b + 1) * step]

    def _batches(self, order, skip):
        for b in range(skip, self._num_batches(len(order))):
            batch = self._fetch(self._indices(order, b))
            self._batches_done = b + 1
            yield batch
        # A finished epoch leaves nothing to resume: the next iter() starts a fresh epoch.
        self._in_epoch, self._epoch_seed, self._batches_done = False, None, 0

    def _batches_from_workers(self, order, skip, seed):
        device = _non_cpu_tensor(self.dataset)
        if device is not None:
            raise ValueError(f"DataLoader: num_workers > 0 needs a dataset on the CPU, but it holds a tensor on "
                             f"{device} (worker processes cannot share device memory); keep the data on the "
                             "CPU and move each batch with .to(device), or use num_workers=0")
        if self.persistent_workers:
            if self._workers is None:
                self._workers = _Workers(self, seed)
            workers = self._workers
        else:                       # each iterator has its own workers, as in PyTorch
            workers = _Workers(self, seed)
        try:
            n_batches = self._num_batches(len(order))
            epoch_id = workers.start_epoch([(b, self._indices(order, b)) for b in range(skip, n_batches)])
            for b in range(skip, n_batches):
                batch = workers.get(b, epoch_id)
                self._batches_done = b + 1
                yield batch
            self._in_epoch, self._epoch_seed, self._batches_done = False, None, 0
        finally:
            # Runs at the end of the epoch, on an error, and when an abandoned iterator is closed.
            if not self.persistent_workers:
                workers.shutdown()

    def __del__(self):
        workers = getattr(self, "_workers", None)
        if workers is not None:
            self._workers = None
            try:
                workers.shutdown()
            except Exception:       # at interpreter exit the modules it needs may be gone already
                pass

    def __getstate__(self):
        # A loader pickled into a worker (e.g. held by the dataset) does not take the processes along.
        state = dict(self.__dict__)
        state["_workers"] = None
        return state

    def __repr__(self):
        workers = f", num_workers={self.num_workers}" if self.num_workers else ""
        return (f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}{workers})")
