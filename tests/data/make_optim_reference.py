"""Regenerate ``optim_reference.npz``: PyTorch's trajectories for the optimizer settings we test.

    pip install torch            # only this script needs it
    python tests/data/make_optim_reference.py

The problem is a small least-squares fit, ``loss = mean((X @ w + b - Y) ** 2)`` with ``w`` of shape
(3, 2) and ``b`` of shape (2,), started from a fixed point. Each configuration runs ``STEPS`` steps
of ``torch.optim`` in float64 and in float32; the file keeps the whole trajectory of
``concat(w.ravel(), b)`` (shape ``(STEPS + 1, 8)``), the problem, the configurations (as JSON) and
the learning rates PyTorch's schedulers produce. ``tests/test_optim_trajectories.py`` replays all of
it with ``tinygrad_rnn.optim``, so the suite checks parity with PyTorch without PyTorch installed.

A configuration is ``[optimizer name, keyword arguments, per-group overrides or null]``; with
overrides, ``w`` and ``b`` form two parameter groups, each updated by the defaults and its dict.
With ``maximize=True`` the objective is ``-loss``, so the run still converges.
"""
import json
import os

import numpy as np

STEPS = 50

CONFIGS = {
    "sgd": ["SGD", {"lr": 0.1}, None],
    "sgd_momentum": ["SGD", {"lr": 0.05, "momentum": 0.9}, None],
    "sgd_dampening": ["SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}, None],
    "sgd_nesterov": ["SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, None],
    "sgd_weight_decay": ["SGD", {"lr": 0.1, "weight_decay": 0.3}, None],
    "sgd_maximize": ["SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}, None],
    "sgd_all": ["SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.05}, None],
    "sgd_groups": ["SGD", {"lr": 0.05}, [{"lr": 0.2}, {"momentum": 0.9}]],
    "adagrad": ["Adagrad", {"lr": 0.1}, None],
    "adagrad_lr_decay": ["Adagrad", {"lr": 0.1, "lr_decay": 0.05}, None],
    "adagrad_weight_decay": ["Adagrad", {"lr": 0.1, "weight_decay": 0.3}, None],
    "adagrad_initial_accumulator": ["Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}, None],
    "adagrad_large_eps": ["Adagrad", {"lr": 0.1, "eps": 0.5}, None],
    "adagrad_maximize": ["Adagrad", {"lr": 0.1, "maximize": True}, None],
    "rmsprop": ["RMSprop", {"lr": 0.01}, None],
    "rmsprop_alpha": ["RMSprop", {"lr": 0.01, "alpha": 0.8}, None],
    "rmsprop_centered": ["RMSprop", {"lr": 0.01, "centered": True}, None],
    "rmsprop_momentum": ["RMSprop", {"lr": 0.005, "momentum": 0.9}, None],
    "rmsprop_large_eps": ["RMSprop", {"lr": 0.01, "eps": 0.3}, None],
    "rmsprop_all": ["RMSprop", {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True,
                                "weight_decay": 0.1}, None],
    "rmsprop_maximize": ["RMSprop", {"lr": 0.01, "maximize": True}, None],
    "adam": ["Adam", {"lr": 0.02}, None],
    "adam_betas": ["Adam", {"lr": 0.02, "betas": [0.5, 0.9]}, None],
    "adam_large_eps": ["Adam", {"lr": 0.02, "eps": 0.3}, None],
    "adam_weight_decay": ["Adam", {"lr": 0.02, "weight_decay": 0.3}, None],
    "adam_amsgrad": ["Adam", {"lr": 0.02, "betas": [0.8, 0.9], "amsgrad": True}, None],
    "adam_maximize": ["Adam", {"lr": 0.02, "maximize": True}, None],
    "adam_groups": ["Adam", {"lr": 0.02}, [{"lr": 0.05, "amsgrad": True}, {"betas": [0.5, 0.99]}]],
    "adamw": ["AdamW", {"lr": 0.02}, None],
    "adamw_weight_decay": ["AdamW", {"lr": 0.02, "weight_decay": 0.5}, None],
    "adamw_amsgrad": ["AdamW", {"lr": 0.02, "weight_decay": 0.1, "betas": [0.8, 0.9], "amsgrad": True}, None],
    "adamw_large_eps": ["AdamW", {"lr": 0.02, "eps": 0.3}, None],
}

# [scheduler name, keyword arguments, number of steps]; lr starts at 0.1 in one group
SCHEDULERS = {
    "step": ["StepLR", {"step_size": 3, "gamma": 0.5}, 12],
    "exponential": ["ExponentialLR", {"gamma": 0.9}, 12],
    "cosine": ["CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}, 23],
}
# ReduceLROnPlateau fed this metric sequence, with these settings
PLATEAU_METRICS = [5.0, 4.0, 4.0, 3.9999, 4.1, 4.2, 3.0, 3.0, 3.0, 3.0, 3.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5]
PLATEAU_KWARGS = {"factor": 0.5, "patience": 2, "cooldown": 1, "threshold": 1e-3, "min_lr": 0.02}


def problem():
    rng = np.random.default_rng(1234)
    X = rng.normal(size=(8, 3))
    Y = X @ rng.normal(size=(3, 2)) + 0.5 + 0.1 * rng.normal(size=(8, 2))
    return {"X": X, "Y": Y, "w0": rng.normal(size=(3, 2)), "b0": rng.normal(size=2)}


def torch_trajectory(torch, prob, name, kwargs, overrides, dtype):
    X, Y = (torch.tensor(prob[k], dtype=dtype) for k in ("X", "Y"))
    w = torch.tensor(prob["w0"], dtype=dtype, requires_grad=True)
    b = torch.tensor(prob["b0"], dtype=dtype, requires_grad=True)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    if overrides:
        params = [dict({"params": [p]}, **{k: tuple(v) if isinstance(v, list) else v for k, v in o.items()})
                  for p, o in zip((w, b), overrides)]
    else:
        params = [w, b]
    opt = getattr(torch.optim, name)(params, **kwargs)
    sign = -1.0 if kwargs.get("maximize") else 1.0
    out = [np.concatenate([w.detach().numpy().ravel(), b.detach().numpy()])]
    for _ in range(STEPS):
        opt.zero_grad()
        (sign * ((X @ w + b - Y) ** 2).mean()).backward()
        opt.step()
        out.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy()]))
    return np.stack(out)


def torch_schedules(torch):
    out = {}
    for key, (name, kwargs, steps) in SCHEDULERS.items():
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
        lrs = [sched.get_last_lr()[0]]
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        out[f"sched/{key}"] = np.array(lrs)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **PLATEAU_KWARGS)
    lrs = []
    for m in PLATEAU_METRICS:
        opt.step()
        sched.step(m)
        lrs.append(sched.get_last_lr()[0])
    out["sched/plateau"] = np.array(lrs)
    return out


def main():
    import torch
    prob = problem()
    arrays = dict(prob)
    for key, (name, kwargs, overrides) in CONFIGS.items():
        for dtype, tag in ((torch.float64, "float64"), (torch.float32, "float32")):
            arrays[f"{key}/{tag}"] = torch_trajectory(torch, prob, name, kwargs, overrides, dtype)
    arrays.update(torch_schedules(torch))
    meta = {"steps": STEPS, "configs": CONFIGS, "schedulers": SCHEDULERS,
            "plateau_metrics": PLATEAU_METRICS, "plateau_kwargs": PLATEAU_KWARGS,
            "torch_version": torch.__version__}
    arrays["meta"] = np.array(json.dumps(meta))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_reference.npz")
    np.savez_compressed(path, **arrays)
    print(f"wrote {len(CONFIGS)} optimizer and {len(SCHEDULERS) + 1} scheduler references to {path}")


if __name__ == "__main__":
    main()
