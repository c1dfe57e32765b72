"""Checkpoints end to end: a killed training run resumes bit-identically; misfit checkpoints are refused."""
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg

SCRIPT = Path(__file__).with_name("resume_script.py")
N, M = 6, 7            # kill after step 6 (mid-epoch: 4 batches per epoch), then 7 more steps


def _script():
    spec = importlib.util.spec_from_file_location("resume_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(*args, timeout=60):
    done = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr.decode()


def _assert_bit_identical(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_training_killed_after_a_checkpoint_resumes_bit_identically(tmp_path):
    _run(tmp_path / "straight.ck", tmp_path / "straight.final", N + M)

    ckpt = tmp_path / "run.ck"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(ckpt), str(tmp_path / "unused"), str(N + M),
                             "--stop-after", str(N)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ready, end = Path(str(ckpt) + ".ready"), time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < end, "the training script never reached the stop step"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    ck = tg.load(ckpt)
    assert ck["step"] == N and ck["loader"]["in_epoch"] and ck["loader"]["batches_done"] == 2

    _run(ckpt, tmp_path / "resumed.final", N + M, "--resume")
    _assert_bit_identical(tg.load(tmp_path / "straight.final"), tg.load(tmp_path / "resumed.final"))


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """The uninterrupted N + M step run, trained in this process."""
    return _script().train(tmp_path_factory.mktemp("straight") / "a.ck", N + M)


@pytest.mark.parametrize("left_out", ["loader", "rng", "optim", "sched"])
def test_resume_depends_on_every_piece_of_saved_state(tmp_path, left_out, straight_run):
    """The control for the test above: drop one piece of state and the run no longer matches."""
    script, straight = _script(), straight_run
    script.train(tmp_path / "b.ck", N + M, stop_after=N, hang=False)
    partial = script.train(tmp_path / "b.ck", N + M, resume=True,
                           restore=[p for p in script.EVERYTHING if p != left_out])
    assert any(not np.array_equal(straight[k].numpy(), partial[k].numpy()) for k in straight)


def test_in_process_resume_matches_the_straight_run(tmp_path, straight_run):
    script = _script()
    script.train(tmp_path / "b.ck", N + M, stop_after=N, hang=False)
    _assert_bit_identical(straight_run, script.train(tmp_path / "b.ck", N + M, resume=True))


def test_loading_a_checkpoint_into_a_model_it_does_not_fit_names_key_and_shapes(tmp_path):
    tg.save(tg.nn.Linear(3, 4).state_dict(), tmp_path / "small.ck")
    bigger = tg.nn.Linear(3, 5)
    with pytest.raises(RuntimeError, match=r"size mismatch for weight.*\(4, 3\).*\(5, 3\)"):
        bigger.load_state_dict(tg.load(tmp_path / "small.ck"))


def test_optimizer_state_survives_a_save_load_round_trip(tmp_path):
    model = tg.nn.Linear(2, 1)
    opt = tg.optim.Adam(model.parameters(), lr=0.1, betas=(0.8, 0.9))
    model(tg.ones(4, 2)).sum().backward()
    opt.step()
    tg.save(opt.state_dict(), tmp_path / "opt.ck")
    saved = opt.state_dict()
    loaded = tg.load(tmp_path / "opt.ck")
    assert loaded["param_groups"] == saved["param_groups"]
    assert loaded["param_groups"][0]["betas"] == (0.8, 0.9)
    for i, state in saved["state"].items():
        for k, v in state.items():
            got = loaded["state"][i][k]
            if isinstance(v, tg.Tensor):
                np.testing.assert_array_equal(got.numpy(), v.numpy())
            else:
                assert got == v and type(got) is type(v)
