"""Regenerate ``optim_reference.npz``: PyTorch's trajectories for the optimizer settings we test.

    pip install torch            # only this script needs it
    python tests/data/make_optim_reference.py

The problem is a small least-squares fit, ``loss = mean((X @ w + b - Y) ** 2)`` with ``w`` of shape
(3, 2) and ``b`` of shape (2,), started from a fixed point. Each configuration runs ``STEPS`` steps
of ``torch.optim`` in float64 and in float32; the file keeps the whole trajectory of
``concat(w.ravel(), b)`` (shape ``(STEPS + 1, 8)``), the problem, the configurations (as JSON) and
the learning rates PyTorch's schedulers produce. ``tests/test_optim_trajectories.py`` replays all of
it with ``tinygrad_rnn.optim``, so the suite checks parity with PyTorch without PyTorch installed.
``SCHEDULE_CASES`` (replayed by ``tests/test_lr_scheduler.py``) record the lr and momentum of
every parameter group through the schedulers that take them, composite ones included.

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

# NAdam, RAdam, Adamax and Adadelta: stored under their own key of the file's metadata
# ("parity_configs"); tests/test_optim_trajectories.py replays both sets.
PARITY_CONFIGS = {
    "nadam": ["NAdam", {"lr": 0.02}, None],
    "nadam_betas": ["NAdam", {"lr": 0.02, "betas": [0.5, 0.9]}, None],
    "nadam_momentum_decay": ["NAdam", {"lr": 0.02, "momentum_decay": 0.2}, None],
    "nadam_weight_decay": ["NAdam", {"lr": 0.02, "weight_decay": 0.3}, None],
    "nadam_decoupled": ["NAdam", {"lr": 0.02, "weight_decay": 0.3, "decoupled_weight_decay": True}, None],
    "nadam_large_eps": ["NAdam", {"lr": 0.02, "eps": 0.3}, None],
    "nadam_maximize": ["NAdam", {"lr": 0.02, "maximize": True}, None],
    "nadam_groups": ["NAdam", {"lr": 0.02}, [{"lr": 0.05, "momentum_decay": 0.1}, {"betas": [0.8, 0.99]}]],
    "radam": ["RAdam", {"lr": 0.02}, None],
    "radam_betas": ["RAdam", {"lr": 0.02, "betas": [0.5, 0.8]}, None],
    "radam_weight_decay": ["RAdam", {"lr": 0.02, "weight_decay": 0.3}, None],
    "radam_decoupled": ["RAdam", {"lr": 0.02, "weight_decay": 0.3, "decoupled_weight_decay": True}, None],
    "radam_large_eps": ["RAdam", {"lr": 0.02, "betas": [0.9, 0.9], "eps": 0.3}, None],
    "radam_maximize": ["RAdam", {"lr": 0.02, "maximize": True}, None],
    "radam_groups": ["RAdam", {"lr": 0.02}, [{"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
                                            {"betas": [0.8, 0.9]}]],
    "adamax": ["Adamax", {"lr": 0.02}, None],
    "adamax_betas": ["Adamax", {"lr": 0.02, "betas": [0.7, 0.9]}, None],
    "adamax_weight_decay": ["Adamax", {"lr": 0.02, "weight_decay": 0.3}, None],
    "adamax_large_eps": ["Adamax", {"lr": 0.02, "eps": 0.3}, None],
    "adamax_maximize": ["Adamax", {"lr": 0.02, "maximize": True}, None],
    "adamax_groups": ["Adamax", {"lr": 0.02}, [{"lr": 0.05}, {"betas": [0.8, 0.99], "weight_decay": 0.1}]],
    "adadelta": ["Adadelta", {}, None],
    "adadelta_lr_rho": ["Adadelta", {"lr": 0.5, "rho": 0.5}, None],
    "adadelta_eps": ["Adadelta", {"eps": 1e-3}, None],
    "adadelta_weight_decay": ["Adadelta", {"weight_decay": 0.3}, None],
    "adadelta_maximize": ["Adadelta", {"maximize": True}, None],
    "adadelta_groups": ["Adadelta", {}, [{"lr": 2.0}, {"rho": 0.8}]],
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


# Schedulers on an optimizer with two parameter groups (lr 0.1 and 0.05 unless the scheduler sets
# them): [optimizer name, optimizer kwargs, scheduler name, scheduler kwargs, number of steps].
# A "schedulers" entry in the kwargs is a list of [name, kwargs] built first on the same optimizer
# (SequentialLR, ChainedScheduler). Each case records the lr of every group after construction and
# after each step, and the momentum (SGD's momentum or Adam's beta1) where the optimizer has one.
SCHEDULE_CASES = {
    "multistep": ["SGD", {}, "MultiStepLR", {"milestones": [3, 7, 7, 20], "gamma": 0.5}, 30],
    "constant": ["SGD", {}, "ConstantLR", {"factor": 0.25, "total_iters": 4}, 10],
    "linear": ["SGD", {}, "LinearLR", {"start_factor": 0.25, "end_factor": 0.9, "total_iters": 8}, 15],
    "linear_default": ["SGD", {}, "LinearLR", {}, 10],
    "polynomial": ["SGD", {}, "PolynomialLR", {"total_iters": 7, "power": 2.0}, 12],
    "sequential": ["SGD", {}, "SequentialLR",
                   {"schedulers": [["LinearLR", {"start_factor": 0.1, "total_iters": 4}],
                                   ["ExponentialLR", {"gamma": 0.9}]], "milestones": [5]}, 20],
    "sequential_three": ["SGD", {}, "SequentialLR",
                         {"schedulers": [["ConstantLR", {"factor": 0.5, "total_iters": 3}],
                                         ["CosineAnnealingLR", {"T_max": 6, "eta_min": 0.001}],
                                         ["StepLR", {"step_size": 4, "gamma": 0.5}]], "milestones": [3, 9]}, 25],
    "chained": ["SGD", {}, "ChainedScheduler",
                {"schedulers": [["ConstantLR", {"factor": 0.1, "total_iters": 5}],
                                ["ExponentialLR", {"gamma": 0.9}]]}, 20],
    "chained_multistep_linear": ["SGD", {}, "ChainedScheduler",
                                 {"schedulers": [["LinearLR", {"start_factor": 0.5, "total_iters": 6}],
                                                 ["MultiStepLR", {"milestones": [4, 10], "gamma": 0.3}]]}, 15],
    "warm_restarts": ["SGD", {}, "CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.01}, 50],
    "warm_restarts_fixed": ["SGD", {}, "CosineAnnealingWarmRestarts", {"T_0": 4}, 20],
    "cyclic_triangular": ["SGD", {"momentum": 0.9}, "CyclicLR",
                          {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "step_size_down": 6}, 50],
    "cyclic_triangular2": ["SGD", {"momentum": 0.9}, "CyclicLR",
                           {"base_lr": [0.01, 0.02], "max_lr": [0.1, 0.3], "step_size_up": 3,
                            "mode": "triangular2", "base_momentum": [0.7, 0.8], "max_momentum": 0.95}, 50],
    "cyclic_exp_range_adam": ["Adam", {}, "CyclicLR",
                              {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 5, "mode": "exp_range",
                               "gamma": 0.97}, 50],
    "cyclic_no_momentum": ["Adagrad", {}, "CyclicLR",
                           {"base_lr": 0.01, "max_lr": 0.05, "step_size_up": 2, "cycle_momentum": False}, 12],
    "onecycle": ["SGD", {"momentum": 0.9}, "OneCycleLR", {"max_lr": 0.5, "total_steps": 50}, 50],
    "onecycle_linear_adam": ["Adam", {}, "OneCycleLR",
                             {"max_lr": [0.05, 0.02], "epochs": 5, "steps_per_epoch": 10, "pct_start": 0.25,
                              "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0}, 50],
    "onecycle_three_phase": ["SGD", {"momentum": 0.9}, "OneCycleLR",
                             {"max_lr": 0.3, "total_steps": 40, "three_phase": True,
                              "base_momentum": [0.8, 0.85], "max_momentum": 0.9}, 40],
}
SCHEDULE_LRS = [0.1, 0.05]


def build_schedule(optim_module, params, case):
    """(optimizer, scheduler) for a SCHEDULE_CASES entry, built with ``optim_module``: ``torch.optim``
    or ``tinygrad_rnn.optim`` (the same names and arguments construct both)."""
    opt_name, opt_kwargs, name, kwargs, _ = case
    opt = getattr(optim_module, opt_name)([{"params": [p], "lr": lr} for p, lr in zip(params, SCHEDULE_LRS)],
                                          **opt_kwargs)
    sched_module = optim_module.lr_scheduler
    kwargs = dict(kwargs)
    inner = kwargs.pop("schedulers", None)
    if inner is not None:
        inner = [getattr(sched_module, n)(opt, **k) for n, k in inner]
        if name == "ChainedScheduler":
            return opt, sched_module.ChainedScheduler(inner, optimizer=opt)
        return opt, getattr(sched_module, name)(opt, inner, **kwargs)
    return opt, getattr(sched_module, name)(opt, **kwargs)


def momentum_of(group):
    """SGD's momentum or beta1 of an Adam-like optimizer; NaN when it has neither."""
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum", float("nan"))


def schedule_sequence(opt, sched, steps):
    """lrs and momenta of every group, after construction and after each step: two (steps + 1, G) arrays."""
    lrs, moms = [list(sched.get_last_lr())], [[momentum_of(g) for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        moms.append([momentum_of(g) for g in opt.param_groups])
    return np.array(lrs, dtype=np.float64), np.array(moms, dtype=np.float64)


def torch_schedule_cases(torch):
    out = {}
    for key, case in SCHEDULE_CASES.items():
        params = [torch.zeros(1, requires_grad=True) for _ in SCHEDULE_LRS]
        lrs, moms = schedule_sequence(*build_schedule(torch.optim, params, case), case[-1])
        out[f"sched2/{key}/lr"], out[f"sched2/{key}/momentum"] = lrs, moms
    return out


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
    for key, (name, kwargs, overrides) in {**CONFIGS, **PARITY_CONFIGS}.items():
        for dtype, tag in ((torch.float64, "float64"), (torch.float32, "float32")):
            arrays[f"{key}/{tag}"] = torch_trajectory(torch, prob, name, kwargs, overrides, dtype)
    arrays.update(torch_schedules(torch))
    arrays.update(torch_schedule_cases(torch))
    meta = {"steps": STEPS, "configs": CONFIGS, "parity_configs": PARITY_CONFIGS, "schedulers": SCHEDULERS,
            "schedule_cases": SCHEDULE_CASES,
            "schedule_lrs": SCHEDULE_LRS,
            "plateau_metrics": PLATEAU_METRICS, "plateau_kwargs": PLATEAU_KWARGS,
            "torch_version": torch.__version__}
    arrays["meta"] = np.array(json.dumps(meta))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_reference.npz")
    np.savez_compressed(path, **arrays)
    n_sched = len(SCHEDULERS) + 1 + len(SCHEDULE_CASES)
    print(f"wrote {len(CONFIGS) + len(PARITY_CONFIGS)} optimizer and {n_sched} scheduler references to {path}")


if __name__ == "__main__":
    main()
