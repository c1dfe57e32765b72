"""What the optimizer and scheduler tests share: the recorded reference data and the replay of it.

``tests/data/optim_reference.npz`` (written by ``tests/data/make_optim_reference.py``) holds a small
least-squares problem, ``mean((X @ w + b - Y) ** 2)`` with ``w`` (3, 2) and ``b`` (2,) from a fixed
start, and PyTorch's trajectories on it. A configuration is ``[optimizer name, keyword arguments,
per-group overrides or null]``; with overrides, ``w`` and ``b`` form two parameter groups.
``test_optim_trajectories.py`` replays it with ``run_ours`` and with its own ``reference_*``
algorithms through ``run_reference``; ``test_lr_scheduler.py`` replays the schedules.
"""
import importlib.util
import json
import os

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import optim

HERE = os.path.dirname(__file__)
_npz = np.load(os.path.join(HERE, "data", "optim_reference.npz"))
REF = {k: _npz[k] for k in _npz.files}
META = json.loads(str(REF["meta"]))
STEPS = META["steps"]
TOL = {"float64": 1e-12, "float32": 1e-5}

_spec = importlib.util.spec_from_file_location("make_optim_reference",
                                               os.path.join(HERE, "data", "make_optim_reference.py"))
make_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_ref)          # needs no PyTorch: it is imported only by its main()


def tuples(d):
    """JSON lists back to the tuples the optimizers take (``betas``)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def flat(w, b):
    return np.concatenate([w.numpy().ravel(), b.numpy()])


def run_ours(config, dtype="float64", device="cpu", steps=STEPS):
    """Our optimizer on the reference problem: trajectory of concat(w.ravel(), b), (steps + 1, 8)."""
    name, kwargs, overrides = config
    kwargs = tuples(kwargs)
    X, Y = (tg.tensor(REF[k], dtype=dtype, device=device) for k in ("X", "Y"))
    w = tg.tensor(REF["w0"], dtype=dtype, device=device, requires_grad=True)
    b = tg.tensor(REF["b0"], dtype=dtype, device=device, requires_grad=True)
    params = ([{"params": [p], **tuples(o)} for p, o in zip((w, b), overrides)] if overrides
              else [w, b])
    opt = getattr(optim, name)(params, **kwargs)
    sign = -1.0 if kwargs.get("maximize") else 1.0
    out = [flat(w, b)]
    for _ in range(steps):
        opt.zero_grad()
        (sign * ((X @ w + b - Y) ** 2).mean()).backward()
        opt.step()
        out.append(flat(w, b))
    return np.stack(out).astype(np.float64)


def run_reference(config, reference):
    """``reference(theta, g, state, t, **hypers) -> theta`` (a documented algorithm in float64 NumPy)
    on the reference problem, with the gradient of the loss worked by hand."""
    _, kwargs, overrides = config
    hypers = [{**tuples(kwargs), **tuples(o)} for o in overrides] if overrides else [tuples(kwargs)] * 2
    X, Y = REF["X"], REF["Y"]
    w, b = REF["w0"].copy(), REF["b0"].copy()
    sign = -1.0 if kwargs.get("maximize") else 1.0
    states = [{}, {}]
    out = [np.concatenate([w.ravel(), b])]
    for t in range(1, STEPS + 1):
        r = X @ w + b - Y                       # loss = sum(r ** 2) / r.size
        gw, gb = sign * 2 * X.T @ r / r.size, sign * 2 * r.sum(0) / r.size
        w = reference(w, gw, states[0], t, **hypers[0])
        b = reference(b, gb, states[1], t, **hypers[1])
        out.append(np.concatenate([w.ravel(), b]))
    return np.stack(out)


def sign_and_decay(theta, g, lr, weight_decay, maximize, decoupled):
    """The first lines of PyTorch's documented Adam-family algorithms: negate g for ``maximize``,
    then decoupled weight decay shrinks theta, or the L2 penalty's gradient is added to g."""
    if maximize:
        g = -g
    if decoupled:
        theta = theta - lr * weight_decay * theta
    elif weight_decay:
        g = g + weight_decay * theta
    return theta, g


def lr_sequence(sched, n, group=0):
    """lr after construction, then after each of n steps."""
    out = [sched.get_last_lr()[group]]
    for _ in range(n):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr()[group])
    return out


def torch_or_skip():
    """(torch, the generator module) -- skips when PyTorch is not installed."""
    return pytest.importorskip("torch"), make_ref
