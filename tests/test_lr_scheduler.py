"""Learning-rate schedulers: lr sequences against closed forms, hand-worked values and PyTorch's.

PyTorch's sequences were recorded in ``tests/data/optim_reference.npz`` (see
``tests/data/make_optim_reference.py``); ``test_optim_trajectories.py`` re-checks them live when
PyTorch is installed.
"""
import math
import pickle

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import optim
from tinygrad_rnn.optim import lr_scheduler as S

from optim_reference import META, REF, lr_sequence


def make_opt(*lrs):
    """An SGD optimizer with one parameter group per learning rate."""
    return optim.SGD([{"params": [tg.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs], lr=lrs[0])


# ----------------------------------------------------------------------------- closed forms

def test_steplr_follows_base_lr_times_gamma_to_the_epoch_over_step_size():
    lrs = lr_sequence(S.StepLR(make_opt(0.1), step_size=3, gamma=0.5), 12)
    np.testing.assert_allclose(lrs, [0.1 * 0.5 ** (e // 3) for e in range(13)], rtol=1e-14)


def test_steplr_values_by_hand():
    lrs = lr_sequence(S.StepLR(make_opt(1.0), step_size=2, gamma=0.1), 5)
    np.testing.assert_allclose(lrs, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01], rtol=1e-14)


def test_exponentiallr_follows_base_lr_times_gamma_to_the_epoch():
    lrs = lr_sequence(S.ExponentialLR(make_opt(0.1), gamma=0.9), 12)
    np.testing.assert_allclose(lrs, [0.1 * 0.9 ** e for e in range(13)], rtol=1e-13)


def test_cosine_annealing_follows_the_closed_form_over_several_periods():
    T, eta_min = 5, 0.01
    lrs = lr_sequence(S.CosineAnnealingLR(make_opt(0.1), T_max=T, eta_min=eta_min), 4 * T + 3)
    closed = [eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * e / T)) / 2 for e in range(4 * T + 4)]
    np.testing.assert_allclose(lrs, closed, rtol=1e-12)


def test_cosine_annealing_values_by_hand():
    lrs = lr_sequence(S.CosineAnnealingLR(make_opt(1.0), T_max=2), 4)
    np.testing.assert_allclose(lrs, [1.0, 0.5, 0.0, 0.5, 1.0], rtol=1e-14, atol=1e-15)


def test_lambdalr_scales_base_lr_by_the_lambda_of_the_epoch():
    lrs = lr_sequence(S.LambdaLR(make_opt(0.5), lambda e: 1 / (e + 1)), 3)
    np.testing.assert_allclose(lrs, [0.5, 0.25, 0.5 / 3, 0.125], rtol=1e-14)


def test_lambdalr_takes_one_lambda_per_group():
    sched = S.LambdaLR(make_opt(1.0, 2.0), [lambda e: 1.0, lambda e: 0.5 ** e])
    lr_sequence(sched, 2)
    assert sched.get_last_lr() == [1.0, 0.5]


@pytest.mark.parametrize("key", ["step", "exponential", "cosine"])
def test_schedule_matches_recorded_pytorch(key):
    name, kwargs, n = META["schedulers"][key]
    lrs = lr_sequence(getattr(S, name)(make_opt(0.1), **kwargs), n)
    np.testing.assert_allclose(lrs, REF[f"sched/{key}"], rtol=1e-12)


# ----------------------------------------------------------------------------- common behaviour

def test_each_group_is_scheduled_from_its_own_base_lr():
    sched = S.ExponentialLR(make_opt(1.0, 0.1), gamma=0.5)
    lr_sequence(sched, 2)
    assert sched.get_last_lr() == [0.25, 0.025]
    assert [g["lr"] for g in sched.optimizer.param_groups] == [0.25, 0.025]
    assert sched.base_lrs == [1.0, 0.1]


def test_construction_counts_as_epoch_zero_and_keeps_the_initial_lr():
    opt = make_opt(0.3)
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    assert sched.last_epoch == 0 and sched.get_last_lr() == [0.3]
    assert opt.param_groups[0]["initial_lr"] == 0.3


def test_step_with_an_epoch_jumps_to_the_closed_form():
    sched = S.StepLR(make_opt(1.0), step_size=2, gamma=0.1)
    sched.step(5)
    assert sched.last_epoch == 5 and sched.get_last_lr() == [pytest.approx(0.01, rel=1e-14)]


def test_chained_schedulers_multiply_like_pytorch():
    opt = make_opt(1.0)
    a, b = S.ExponentialLR(opt, gamma=0.5), S.StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(2):
        a.step()
        b.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.25 * 0.1, rel=1e-14)


def test_resuming_needs_initial_lr_in_the_optimizer():
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(make_opt(0.1), step_size=2, last_epoch=4)


@pytest.mark.parametrize("make", [
    lambda o: S.StepLR(o, step_size=3, gamma=0.5),
    lambda o: S.ExponentialLR(o, gamma=0.8),
    lambda o: S.CosineAnnealingLR(o, T_max=4, eta_min=0.01),
    lambda o: S.LambdaLR(o, lambda e: 0.9 ** e),
])
def test_state_dict_round_trip_continues_the_schedule(make):
    sched = make(make_opt(0.1))
    want = lr_sequence(sched, 10)
    first = make(make_opt(0.1))
    lr_sequence(first, 4)
    opt = make_opt(0.1)
    opt.load_state_dict(first.optimizer.state_dict())
    resumed = make(opt)
    resumed.load_state_dict(first.state_dict())
    np.testing.assert_allclose(lr_sequence(resumed, 6), want[4:], rtol=1e-14)


def test_lambdalr_state_dict_holds_no_functions():
    sd = S.LambdaLR(make_opt(0.1), lambda e: 0.5).state_dict()
    assert sd["lr_lambdas"] == [None] and "optimizer" not in sd
    assert not any(callable(v) for v in sd.values())
    pickle.dumps(sd)


def test_lambdalr_state_dict_keeps_attributes_of_callable_objects():
    class Warmup:
        def __init__(self, n):
            self.n = n

        def __call__(self, e):
            return min(1.0, (e + 1) / self.n)

    sd = S.LambdaLR(make_opt(0.1), Warmup(7)).state_dict()
    other = S.LambdaLR(make_opt(0.1), Warmup(2))
    other.load_state_dict(sd)
    assert sd["lr_lambdas"] == [{"n": 7}] and other.lr_lambdas[0].n == 7


def test_invalid_scheduler_arguments_raise():
    with pytest.raises(ValueError, match="step_size"):
        S.StepLR(make_opt(0.1), step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        S.CosineAnnealingLR(make_opt(0.1), T_max=0)
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        S.LambdaLR(make_opt(0.1, 0.2), [lambda e: 1.0])
    with pytest.raises(TypeError, match="expected an Optimizer"):
        S.StepLR("not an optimizer", step_size=1)


# ----------------------------------------------------------------------------- ReduceLROnPlateau

def plateau(metrics, *lrs, **kwargs):
    sched = S.ReduceLROnPlateau(make_opt(*(lrs or (1.0,))), **kwargs)
    out = []
    for m in metrics:
        sched.step(m)
        out.append(sched.get_last_lr()[0])
    return out


def test_plateau_reduces_after_more_than_patience_bad_epochs():
    # epoch 1 sets best = 1; epochs 2, 3, 4 are bad (1, 2, 3 > patience = 2): reduce at epoch 4
    assert plateau([1.0, 1.0, 1.0, 1.0, 1.0], patience=2, factor=0.5) == [1.0, 1.0, 1.0, 0.5, 0.5]


def test_plateau_resets_the_bad_epoch_count_on_improvement():
    assert plateau([1.0, 1.0, 1.0, 0.5, 0.5, 0.5], patience=2, factor=0.5) == [1.0] * 6


def test_plateau_cooldown_ignores_bad_epochs_after_a_reduction():
    # patience 0: every bad epoch outside cooldown reduces. Reduce at epoch 2; epochs 3 and 4 are
    # cooldown (their bad epochs do not count); reduce at 5; cooldown at 6 and 7
    lrs = plateau([1.0] * 7, patience=0, cooldown=2, factor=0.5)
    assert lrs == [1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]


def test_plateau_relative_threshold_needs_a_large_enough_improvement():
    # best 1.0; 0.95 is not below 1.0 * (1 - 0.1), so it is a bad epoch; 0.89 is below
    sched = S.ReduceLROnPlateau(make_opt(1.0), threshold=0.1)
    sched.step(1.0)
    sched.step(0.95)
    assert (sched.best, sched.num_bad_epochs) == (1.0, 1)
    sched.step(0.89)
    assert (sched.best, sched.num_bad_epochs) == (0.89, 0)


def test_plateau_absolute_threshold_needs_an_improvement_larger_than_it():
    sched = S.ReduceLROnPlateau(make_opt(1.0), threshold=0.1, threshold_mode="abs")
    sched.step(10.0)
    sched.step(9.95)
    assert sched.num_bad_epochs == 1
    sched.step(9.85)
    assert sched.best == 9.85


def test_plateau_max_mode_treats_larger_metrics_as_better():
    assert plateau([1.0, 2.0, 3.0, 3.0, 3.0], mode="max", patience=1, factor=0.5) == [1.0, 1.0, 1.0, 1.0, 0.5]


def test_plateau_never_goes_below_min_lr():
    assert plateau([1.0] * 5, patience=0, factor=0.1, min_lr=0.05) == [1.0, 0.1, 0.05, 0.05, 0.05]


def test_plateau_takes_one_min_lr_per_group():
    sched = S.ReduceLROnPlateau(make_opt(1.0, 1.0), patience=0, factor=0.1, min_lr=[0.5, 0.0])
    sched.step(1.0)
    sched.step(1.0)
    assert sched.get_last_lr() == [0.5, pytest.approx(0.1)]


def test_plateau_skips_changes_smaller_than_eps():
    assert plateau([1.0, 1.0], 1e-9, patience=0, factor=0.5) == [1e-9, 1e-9]


def test_plateau_accepts_a_one_element_tensor_metric():
    sched = S.ReduceLROnPlateau(make_opt(1.0))
    sched.step(tg.tensor(0.25))
    assert sched.best == 0.25


def test_plateau_matches_recorded_pytorch_sequence():
    assert plateau(META["plateau_metrics"], 0.1, **META["plateau_kwargs"]) == \
        pytest.approx(list(REF["sched/plateau"]), rel=1e-14)


def test_plateau_worked_example_by_hand():
    # factor 0.5, patience 2, cooldown 1, threshold 1e-3 (rel), min_lr 0.02:
    # 5 (best) 4 (best) 4 (bad 1) 3.9999 (bad 2: not below 4 * 0.999) 4.1 (bad 3: reduce, cooldown)
    # 4.2 (cooldown) 3 (best) 3 3 3 (bad 3: reduce) 3 (cooldown) 2.5 (best) 2.5 2.5 2.5 (reduce to min_lr)
    metrics = [5.0, 4.0, 4.0, 3.9999, 4.1, 4.2, 3.0, 3.0, 3.0, 3.0, 3.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5]
    want = [0.1] * 4 + [0.05] * 5 + [0.025] * 5 + [0.02] * 3
    lrs = plateau(metrics, 0.1, factor=0.5, patience=2, cooldown=1, threshold=1e-3, min_lr=0.02)
    assert lrs == pytest.approx(want, rel=1e-14)


def test_plateau_state_dict_round_trip_continues_identically():
    metrics = [3.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    want = plateau(metrics, patience=1, cooldown=1, factor=0.5)
    first = S.ReduceLROnPlateau(make_opt(1.0), patience=1, cooldown=1, factor=0.5)
    for m in metrics[:4]:
        first.step(m)
    sd = first.state_dict()
    assert "optimizer" not in sd
    opt = make_opt(1.0)
    opt.load_state_dict(first.optimizer.state_dict())
    resumed = S.ReduceLROnPlateau(opt)
    resumed.load_state_dict(pickle.loads(pickle.dumps(sd)))
    lrs = []
    for m in metrics[4:]:
        resumed.step(m)
        lrs.append(resumed.get_last_lr()[0])
    assert lrs == want[4:]


def test_plateau_invalid_arguments_raise():
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        S.ReduceLROnPlateau(make_opt(1.0), factor=1.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        S.ReduceLROnPlateau(make_opt(1.0), mode="lowest")
    with pytest.raises(ValueError, match="threshold_mode"):
        S.ReduceLROnPlateau(make_opt(1.0), threshold_mode="relative")
    with pytest.raises(ValueError, match="expected 2 min_lrs"):
        S.ReduceLROnPlateau(make_opt(1.0, 1.0), min_lr=[0.1])
