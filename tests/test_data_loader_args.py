"""DataLoader's PyTorch arguments: num_workers (worker processes), pin_memory, persistent_workers,
worker_init_fn, timeout, prefetch_factor, multiprocessing_context, and their errors.

The truth for worker processes is the same loader with ``num_workers=0``: the same batches, in the
same order, with the same contents.
"""
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.data import DataLoader, Subset, TensorDataset, default_collate, get_worker_info

def _xy(n=10):
    return TensorDataset(tg.tensor(np.arange(2.0 * n).reshape(n, 2)), tg.tensor(np.arange(n)))


def _batches(loader):
    """Every batch as nested lists of NumPy arrays (comparable with ==)."""
    def plain(x):
        if isinstance(x, tg.Tensor):
            return x.numpy().tolist()
        if isinstance(x, (tuple, list)):
            return [plain(v) for v in x]
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        return x
    return [plain(b) for b in loader]


class Squares:
    """A map-style dataset without _get_batch: samples go through collate."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32), "i": i}


class WhoBuilds:
    """Sample i says which worker built it, from which process, and draws from the worker's generator."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array([i, info.id if info else -1, os.getpid(), float(tg.rand(1).item())])


class Fails:
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError(f"no sample {i}")
        return np.array([i])


class Dies:
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if get_worker_info() is not None and i == 1:
            os._exit(3)
        return np.array([i])


class Slow:
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(3)
        return np.array([i])


_INIT = {}


def record_init(worker_id):
    _INIT["id"] = worker_id
    _INIT["seed"] = get_worker_info().seed


class InitSeen:
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return np.array([i, _INIT.get("id", -1)])


def failing_init(worker_id):
    raise ValueError(f"init of worker {worker_id} failed")


# ----------------------------------------------------------------------------- the arguments are accepted

def test_pytorchs_keyword_arguments_are_accepted_without_workers():
    plain = _batches(DataLoader(_xy(), batch_size=4, shuffle=True, generator=tg.Generator(5)))
    loader = DataLoader(_xy(), batch_size=4, shuffle=True, sampler=None, batch_sampler=None, num_workers=0,
                        collate_fn=None, pin_memory=True, drop_last=False, timeout=0, worker_init_fn=record_init,
                        multiprocessing_context=None, generator=tg.Generator(5), prefetch_factor=None,
                        persistent_workers=False, pin_memory_device="", in_order=True)
    assert _batches(loader) == plain


def test_positional_arguments_follow_pytorchs_order():
    # (dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn, pin_memory, drop_last)
    loader = DataLoader(_xy(10), 4, False, None, None, 0, None, False, True)
    assert loader.drop_last and len(loader) == 2


def test_get_worker_info_is_none_in_the_main_process():
    assert get_worker_info() is None


@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_workers": -1}, ValueError, "num_workers option should be non-negative"),
    ({"timeout": -1}, ValueError, "timeout option should be non-negative"),
    ({"prefetch_factor": 2}, ValueError, "prefetch_factor option could only be specified in multiprocessing"),
    ({"num_workers": 1, "prefetch_factor": 0}, ValueError, "prefetch_factor must be a positive integer"),
    ({"persistent_workers": True}, ValueError, "persistent_workers option needs num_workers > 0"),
    ({"multiprocessing_context": "fork"}, ValueError, "multiprocessing_context can only be used with multi"),
    ({"num_workers": 1, "multiprocessing_context": "teleport"}, ValueError, "should specify a valid start method"),
    ({"num_workers": 1, "worker_init_fn": 3}, TypeError, "worker_init_fn must be callable"),
    ({"sampler": [0, 1], "shuffle": True}, ValueError, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0, 1]]}, NotImplementedError, "batch_sampler= is not supported"),
])
def test_invalid_arguments_raise_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(_xy(), **kwargs)


# ----------------------------------------------------------------------------- workers: same batches, same order

@pytest.mark.parametrize("kwargs", [
    {"batch_size": 3},
    {"batch_size": 3, "shuffle": True, "generator": tg.Generator(7)},
    {"batch_size": 4, "shuffle": True, "drop_last": True, "generator": tg.Generator(8)},
    {"batch_size": None},
])
@pytest.mark.parametrize("num_workers", [1, 3])
def test_workers_yield_the_batches_of_the_main_process_in_order(kwargs, num_workers):
    def make(**extra):
        kw = {k: (tg.Generator(v.initial_seed()) if k == "generator" else v) for k, v in kwargs.items()}
        return DataLoader(_xy(10), **kw, **extra)
    assert _batches(make(num_workers=num_workers)) == _batches(make())


def test_workers_collate_custom_datasets_and_collate_fns_like_the_main_process():
    for collate in (None, default_collate, lambda samples: [s["i"] for s in samples]):
        expected = _batches(DataLoader(Squares(), batch_size=3, collate_fn=collate))
        assert _batches(DataLoader(Squares(), batch_size=3, collate_fn=collate, num_workers=2)) == expected


def test_workers_serve_subsets_of_tensor_datasets():
    sub = Subset(_xy(10), [9, 3, 4, 0, 7])
    assert _batches(DataLoader(sub, batch_size=2, num_workers=2)) == _batches(DataLoader(sub, batch_size=2))


def test_batch_b_is_built_by_worker_b_mod_n_in_its_own_process():
    rows = np.concatenate([b.numpy() for b in DataLoader(WhoBuilds(), batch_size=2, num_workers=3)])
    batch = rows[:, 0] // 2
    np.testing.assert_array_equal(rows[:, 1], batch % 3)
    pids = {int(w): set(rows[rows[:, 1] == w, 2].astype(int)) for w in range(3)}
    assert all(len(p) == 1 for p in pids.values())                    # one process per worker ...
    assert len(set.union(*pids.values())) == 3 and os.getpid() not in set.union(*pids.values())   # ... not us


def test_worker_random_streams_are_seeded_distinct_and_repeatable():
    def draws(seed):
        rows = np.concatenate([b.numpy() for b in DataLoader(WhoBuilds(), batch_size=2, num_workers=2,
                                                             generator=tg.Generator(seed))])
        return rows[:, 3]
    a, b, c = draws(1), draws(1), draws(2)
    np.testing.assert_array_equal(a, b)                 # the same generator seed: the same numbers
    assert not np.array_equal(a, c)
    assert len(set(a.tolist())) == len(a)               # the two workers do not repeat each other's stream


def test_worker_init_fn_runs_once_in_each_worker_with_its_id():
    rows = np.concatenate([b.numpy() for b in DataLoader(InitSeen(), batch_size=1, num_workers=3,
                                                         worker_init_fn=record_init)])
    np.testing.assert_array_equal(rows[:, 1], np.arange(6) % 3)
    assert "id" not in _INIT                            # it ran in the workers, not here


def test_resuming_mid_epoch_with_workers_continues_with_the_same_batches():
    loader = DataLoader(_xy(12), batch_size=2, shuffle=True, num_workers=2, generator=tg.Generator(3))
    it = iter(loader)
    head = [next(it)[1].numpy().tolist() for _ in range(2)]
    state = loader.state_dict()
    rest = [b[1].numpy().tolist() for b in it]
    fresh = DataLoader(_xy(12), batch_size=2, shuffle=True, num_workers=2, generator=tg.Generator(99))
    fresh.load_state_dict(state)
    assert [b[1].numpy().tolist() for b in fresh] == rest
    assert len(head) + len(rest) == 6


@pytest.mark.parametrize("persistent", [False, True])
def test_an_abandoned_epoch_does_not_leak_into_the_next(persistent):
    loader = DataLoader(_xy(20), batch_size=2, num_workers=2, persistent_workers=persistent, prefetch_factor=3)
    for i, _ in enumerate(loader):
        if i == 1:
            break
    assert _batches(loader) == _batches(DataLoader(_xy(20), batch_size=2))


def test_persistent_workers_keep_their_processes_between_epochs():
    def pids(loader):
        return {int(p) for b in loader for p in b.numpy()[:, 2]}
    persistent = DataLoader(WhoBuilds(), batch_size=3, num_workers=2, persistent_workers=True)
    assert pids(persistent) == pids(persistent)
    fresh = DataLoader(WhoBuilds(), batch_size=3, num_workers=2)
    assert not pids(fresh) & pids(fresh)                # new processes each epoch


def test_two_iterators_of_one_loader_have_their_own_workers():
    loader = DataLoader(_xy(8), batch_size=2, num_workers=2)
    a, b = iter(loader), iter(loader)
    pairs = [(x[1].numpy().tolist(), y[1].numpy().tolist()) for x, y in zip(a, b)]
    assert [x for x, _ in pairs] == [y for _, y in pairs] == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_with_persistent_workers_a_new_iterator_supersedes_the_old_one():
    loader = DataLoader(_xy(8), batch_size=2, num_workers=2, persistent_workers=True)
    old = iter(loader)
    next(old)
    assert _batches(loader) == _batches(DataLoader(_xy(8), batch_size=2))
    with pytest.raises(RuntimeError, match="superseded by a newer iter"):
        next(old)


def test_workers_are_gone_after_a_non_persistent_epoch():
    loader = DataLoader(WhoBuilds(), batch_size=3, num_workers=2)
    pids = {int(p) for b in loader for p in b.numpy()[:, 2]}
    assert loader._workers is None
    for pid in pids:
        with pytest.raises(ProcessLookupError):     # joined, so not even a zombie is left
            os.kill(pid, 0)


def test_explicit_start_method_works():
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    loader = DataLoader(_xy(6), batch_size=4, num_workers=1, multiprocessing_context=method)
    assert _batches(loader) == _batches(DataLoader(_xy(6), batch_size=4))


# ----------------------------------------------------------------------------- workers: failures

def test_an_error_in_a_worker_is_raised_with_its_type_and_original_traceback():
    with pytest.raises(KeyError) as e:
        list(DataLoader(Fails(), batch_size=2, num_workers=2))
    text = str(e.value)
    assert "Caught KeyError in DataLoader worker process 0 while building batch 2" in text
    assert "no sample 5" in text and "Original Traceback" in text


def test_a_key_error_from_a_worker_keeps_its_type_and_reads_over_real_lines():
    with pytest.raises(KeyError) as e:
        list(DataLoader(Fails(), batch_size=2, num_workers=2))
    lines = str(e.value).splitlines()
    assert lines[:2] == ["Caught KeyError in DataLoader worker process 0 while building batch 2.",
                         "Original Traceback (most recent call last):"]
    assert lines[-1] == "KeyError: 'no sample 5'"
    assert any('raise KeyError(f"no sample {i}")' in line for line in lines)    # the worker's own frame
    assert "\\n" not in str(e.value) and not str(e.value).startswith(("'", '"'))


def test_a_key_error_from_a_worker_reads_like_pytorchs():
    torch = pytest.importorskip("torch")

    class TorchFails(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            if i == 5:
                raise KeyError(f"no sample {i}")
            return torch.tensor([i])

    with pytest.raises(KeyError) as theirs:
        list(torch.utils.data.DataLoader(TorchFails(), batch_size=2, num_workers=2))
    with pytest.raises(KeyError) as ours:
        list(DataLoader(Fails(), batch_size=2, num_workers=2))
    t, o = str(theirs.value).splitlines(), str(ours.value).splitlines()
    assert t[0].startswith("Caught KeyError in DataLoader worker process 0") and o[0].startswith(t[0].rstrip("."))
    assert t[1] == o[1] == "Original Traceback (most recent call last):"
    assert t[-1] == o[-1] == "KeyError: 'no sample 5'"


def test_an_error_in_worker_init_fn_is_raised():
    with pytest.raises(ValueError, match="init of worker 0 failed"):
        list(DataLoader(_xy(), batch_size=2, num_workers=1, worker_init_fn=failing_init))


def test_handing_work_to_a_worker_that_has_exited_keeps_the_work_and_does_not_raise():
    # a worker whose worker_init_fn failed has exited: its task pipe is closed at the far end, and
    # sending to it raises BrokenPipeError; the failure is reported by get(), from the worker's
    # message, so the send must neither raise nor lose the batch
    import multiprocessing
    from tinygrad_rnn.data.loader import _Workers
    receive, send = multiprocessing.Pipe(duplex=False)
    receive.close()
    workers = object.__new__(_Workers)
    workers.tasks, workers.pending, workers.epoch_id = [send], [[(0, [0, 1])]], 0
    workers._send(0)
    assert workers.pending == [[(0, [0, 1])]]
    send.close()


def test_a_worker_that_dies_is_reported():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+\) exited unexpectedly with exit code 3"):
        list(DataLoader(Dies(), batch_size=1, num_workers=2))


def test_timeout_bounds_the_wait_for_a_batch():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        list(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.3))
    assert time.monotonic() - start < 3                 # the slow worker is not waited for


def test_a_batch_that_cannot_be_pickled_is_an_error_not_a_hang():
    loader = DataLoader(Squares(), batch_size=2, num_workers=1, collate_fn=lambda s: (lambda: s))
    with pytest.raises(Exception, match="while sending batch 0 to the main process"):
        next(iter(loader))


def test_workers_need_the_dataset_on_the_cpu(device):
    ds = TensorDataset(tg.ones(4, 2, device=device))
    loader = DataLoader(ds, batch_size=2, num_workers=1)
    if device == "cpu":
        assert len(_batches(loader)) == 2
    else:
        with pytest.raises(ValueError, match="num_workers > 0 needs a dataset on the CPU"):
            list(loader)


CTRL_C_SCRIPT = """
import os, signal, time
import numpy as np
# Ctrl-C raises KeyboardInterrupt, as in a terminal, also when the suite itself was started with
# SIGINT ignored (a background job of a script, nohup), which Python would otherwise pass on
signal.signal(signal.SIGINT, signal.default_int_handler)
from tinygrad_rnn.data import DataLoader

class Slow:
    def __len__(self):
        return 1000

    def __getitem__(self, i):
        time.sleep(0.2)
        return np.array([i, os.getpid()])

pids = set()
for b, batch in enumerate(DataLoader(Slow(), batch_size=2, num_workers=2)):
    pids.update(int(p) for p in batch.numpy()[:, 1])     # batch b comes from worker b % 2
    if b == 1:
        print(*sorted(pids), flush=True)
"""


def _running(pid):
    """True while ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "killpg") or not os.path.isdir("/proc"),
                    reason="needs POSIX process groups and /proc")
def test_ctrl_c_raises_one_keyboard_interrupt_and_the_workers_exit_quietly(tmp_path):
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C_SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    # its own process group, so that the SIGINT goes to it and its workers, as Ctrl-C in a terminal does
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        workers = [int(p) for p in proc.stdout.readline().split()]
        assert len(workers) == 2, workers
        time.sleep(0.3)                              # the workers are inside __getitem__ now
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode != 0
    assert err.count("Traceback (most recent call last)") == 1, err
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    assert "Process " not in err, err               # multiprocessing's header for a worker's traceback
    deadline = time.monotonic() + 5
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _running(pid)]
