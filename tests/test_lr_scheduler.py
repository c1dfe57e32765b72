"""Learning-rate schedulers: lr (and momentum) sequences against closed forms, values worked by
hand, and PyTorch's sequences; state dicts that continue a schedule; PyTorch's errors.

PyTorch's sequences were recorded in ``tests/data/optim_reference.npz`` by
``tests/data/make_optim_reference.py`` (``SCHEDULE_CASES`` on two parameter groups, so per-group
values are checked); with PyTorch installed, the ``*_live`` tests here and in
``test_optim_trajectories.py`` re-run it.
"""
import io
import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import optim
from tinygrad_rnn.optim import lr_scheduler as S

from optim_reference import META, REF, lr_sequence, make_ref

def make_opt(*lrs, cls=optim.SGD, **kwargs):
    """An optimizer (SGD unless ``cls``) with one parameter group per learning rate; its default
    lr is the first."""
    kwargs.setdefault("lr", lrs[0])
    return cls([{"params": [tg.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs], **kwargs)


# ----------------------------------------------------------------------------- StepLR, ExponentialLR, CosineAnnealingLR, LambdaLR

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


def test_steplr_step_with_an_epoch_jumps_to_the_closed_form():
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


# ----------------------------------------------------------------------------- schedules on two parameter groups

CASES = META["schedule_cases"]


def run_case(key):
    case = CASES[key]
    params = [tg.zeros(1, requires_grad=True) for _ in META["schedule_lrs"]]
    return make_ref.schedule_sequence(*make_ref.build_schedule(optim, params, case), case[-1])


# ----------------------------------------------------------------------------- PyTorch's sequences

@pytest.mark.parametrize("key", sorted(CASES))
def test_lr_and_momentum_match_recorded_pytorch(key):
    lrs, moms = run_case(key)
    np.testing.assert_allclose(lrs, REF[f"sched2/{key}/lr"], rtol=1e-13, atol=0)
    np.testing.assert_allclose(moms, REF[f"sched2/{key}/momentum"], rtol=1e-13, atol=0)


def test_recorded_cases_cover_every_scheduler_with_two_groups():
    used = {case[2] for case in CASES.values()}
    used |= {name for case in CASES.values() for name, _ in case[3].get("schedulers", [])}
    for name in ("MultiStepLR ConstantLR LinearLR PolynomialLR SequentialLR ChainedScheduler "
                 "CosineAnnealingWarmRestarts CyclicLR OneCycleLR").split():
        assert name in used, name


# ----------------------------------------------------------------------------- the other schedulers: closed forms, values by hand

def test_multisteplr_counts_the_milestones_passed_and_repeated_ones_twice():
    lrs = lr_sequence(S.MultiStepLR(make_opt(1.0), milestones=[2, 5, 5], gamma=0.5), 7)
    np.testing.assert_allclose(lrs, [1, 1, 0.5, 0.5, 0.5, 0.125, 0.125, 0.125], rtol=1e-15)


def test_constantlr_scales_until_total_iters():
    lrs = lr_sequence(S.ConstantLR(make_opt(0.3), factor=0.5, total_iters=3), 5)
    np.testing.assert_allclose(lrs, [0.15, 0.15, 0.15, 0.3, 0.3, 0.3], rtol=1e-15)


@given(start=st.floats(0.01, 1.0), end=st.floats(0.0, 1.0), total=st.integers(1, 12))
def test_linearlr_recurrence_follows_its_closed_form(start, end, total):
    lrs = lr_sequence(S.LinearLR(make_opt(0.2), start_factor=start, end_factor=end, total_iters=total), total + 4)
    closed = [0.2 * (start + (end - start) * min(e, total) / total) for e in range(total + 5)]
    np.testing.assert_allclose(lrs, closed, rtol=1e-12, atol=1e-15)


def test_linearlr_warmup_by_hand():
    lrs = lr_sequence(S.LinearLR(make_opt(1.0), start_factor=0.25, total_iters=3), 4)
    np.testing.assert_allclose(lrs, [0.25, 0.5, 0.75, 1.0, 1.0], rtol=1e-15)


def test_polynomiallr_follows_its_closed_form():
    lrs = lr_sequence(S.PolynomialLR(make_opt(0.4), total_iters=4, power=2.0), 6)
    np.testing.assert_allclose(lrs, [0.4 * (1 - min(e, 4) / 4) ** 2 for e in range(7)], rtol=1e-14, atol=1e-17)


def test_multiplicativelr_multiplies_by_the_lambda_of_each_new_epoch():
    lrs = lr_sequence(S.MultiplicativeLR(make_opt(1.0), lambda e: 1.0 / (e + 1)), 4)
    np.testing.assert_allclose(lrs, [1, 1 / 2, 1 / 6, 1 / 24, 1 / 120], rtol=1e-15)


def test_sequentiallr_hands_over_at_the_milestone_starting_the_next_at_its_epoch_zero():
    opt = make_opt(1.0)
    inner = [S.LinearLR(opt, start_factor=0.1, total_iters=4), S.ExponentialLR(opt, gamma=0.5)]
    sched = S.SequentialLR(opt, inner, milestones=[5])
    expected = [0.1 + 0.9 * min(e, 4) / 4 for e in range(5)] + [0.5 ** (e - 5) for e in range(5, 9)]
    np.testing.assert_allclose(lr_sequence(sched, 8), expected, rtol=1e-14)


def test_chained_scheduler_multiplies_the_factors_of_its_schedulers():
    opt = make_opt(1.0)
    sched = S.ChainedScheduler([S.ConstantLR(opt, factor=0.1, total_iters=3), S.ExponentialLR(opt, gamma=0.5)])
    expected = [0.5 ** e * (0.1 if e < 3 else 1.0) for e in range(7)]
    np.testing.assert_allclose(lr_sequence(sched, 6), expected, rtol=1e-14)


def warm_restarts_closed_form(e, T_0, T_mult, base, eta_min):
    T_i, T_cur = T_0, e
    while T_cur >= T_i:
        T_cur, T_i = T_cur - T_i, T_i * T_mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


@pytest.mark.parametrize("T_0, T_mult", [(3, 1), (3, 2), (2, 3)])
def test_warm_restarts_follow_the_sgdr_closed_form(T_0, T_mult):
    lrs = lr_sequence(S.CosineAnnealingWarmRestarts(make_opt(0.1), T_0=T_0, T_mult=T_mult, eta_min=0.01), 40)
    np.testing.assert_allclose(lrs, [warm_restarts_closed_form(e, T_0, T_mult, 0.1, 0.01) for e in range(41)],
                               rtol=1e-13)


def test_warm_restarts_restart_at_base_lr_by_hand():
    # T_0 = 2, T_mult = 2: restarts at epochs 2 and 6; halfway through a period lr is the midpoint
    lrs = lr_sequence(S.CosineAnnealingWarmRestarts(make_opt(1.0), T_0=2, T_mult=2), 7)
    c = math.cos
    np.testing.assert_allclose(lrs, [1, 0.5, 1, (1 + c(math.pi / 4)) / 2, 0.5, (1 + c(3 * math.pi / 4)) / 2,
                                     1, (1 + c(math.pi / 8)) / 2], rtol=1e-14)


def test_warm_restarts_take_fractional_epochs():
    sched = S.CosineAnnealingWarmRestarts(make_opt(1.0), T_0=2, T_mult=2)
    for epoch in (0.5, 2.5, 5.0, 7.25):
        sched.step(epoch)
        assert sched.get_last_lr()[0] == pytest.approx(warm_restarts_closed_form(epoch, 2, 2, 1.0, 0.0), rel=1e-14)
        assert sched.last_epoch == math.floor(epoch)


def test_cycliclr_triangle_by_hand_with_momentum_moving_the_other_way():
    opt = make_opt(0.5, momentum=0.0)
    sched = S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=6,
                       base_momentum=0.8, max_momentum=0.9)
    lrs, moms = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(12):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
    up = [i / 4 for i in range(4)] + [1 - i / 6 for i in range(6)] + [i / 4 for i in range(3)]
    np.testing.assert_allclose(lrs, [0.01 + 0.09 * f for f in up], rtol=1e-14)
    np.testing.assert_allclose(moms, [0.9 - 0.1 * f for f in up], rtol=1e-14)


def test_cycliclr_triangular2_halves_the_height_each_cycle():
    sched = S.CyclicLR(make_opt(0.5, momentum=0.9), base_lr=0.0, max_lr=1.0, step_size_up=2, mode="triangular2")
    lrs = lr_sequence(sched, 12)
    np.testing.assert_allclose(lrs[2::4], [1.0, 0.5, 0.25], rtol=1e-15)
    np.testing.assert_allclose(lrs[0::4], [0.0, 0.0, 0.0, 0.0], atol=1e-15)


def test_cycliclr_exp_range_scales_by_gamma_to_the_iteration():
    sched = S.CyclicLR(make_opt(0.5, momentum=0.9), base_lr=0.0, max_lr=1.0, step_size_up=2, mode="exp_range",
                       gamma=0.9)
    lrs = lr_sequence(sched, 10)
    np.testing.assert_allclose(lrs[2::4], [0.9 ** 2, 0.9 ** 6, 0.9 ** 10], rtol=1e-14)


def test_cycliclr_cycles_beta1_of_adam_like_optimizers_and_keeps_beta2():
    for cls in (optim.Adam, optim.AdamW, optim.NAdam, optim.RAdam, optim.Adamax):
        opt = make_opt(0.1, cls=cls, betas=(0.5, 0.77))
        sched = S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2, base_momentum=0.8, max_momentum=0.9)
        assert opt.param_groups[0]["betas"] == (0.9, 0.77)
        opt.step()
        sched.step()
        assert opt.param_groups[0]["betas"] == pytest.approx((0.85, 0.77), rel=1e-15)


def test_onecyclelr_key_points_by_hand():
    opt = make_opt(0.5, momentum=0.0)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=20, pct_start=0.25, div_factor=10.0, final_div_factor=100.0)
    lrs, moms = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(19):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
    # up from 1/10 to 1 over steps 0..4 (end_step = 0.25 * 20 - 1), then cosine down to 1/1000 at step 19
    assert lrs[0] == pytest.approx(0.1, rel=1e-15) and moms[0] == pytest.approx(0.95, rel=1e-15)
    assert lrs[4] == pytest.approx(1.0, rel=1e-15) and moms[4] == pytest.approx(0.85, rel=1e-15)
    assert lrs[2] == pytest.approx(0.1 + 0.9 * (1 - math.cos(math.pi / 2)) / 2, rel=1e-14)
    assert lrs[19] == pytest.approx(1e-3, rel=1e-12) and moms[19] == pytest.approx(0.95, rel=1e-15)
    pct = (10 - 4) / (19 - 4)
    assert lrs[10] == pytest.approx(1e-3 + (1 - 1e-3) * (1 + math.cos(math.pi * pct)) / 2, rel=1e-14)


def test_onecyclelr_linear_three_phase_by_hand():
    opt = make_opt(0.5, momentum=0.0)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3, anneal_strategy="linear",
                         three_phase=True, div_factor=4.0, final_div_factor=5.0)
    lrs = lr_sequence(sched, 9)
    # phases end at steps 2 (up to 1), 4 (back to 1/4), 9 (down to 1/20), each a straight line
    np.testing.assert_allclose(lrs, [0.25, 0.625, 1.0, 0.625, 0.25, 0.21, 0.17, 0.13, 0.09, 0.05], rtol=1e-14)


def test_onecyclelr_refuses_to_step_past_total_steps():
    sched = S.OneCycleLR(make_opt(0.1, momentum=0.9), max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched.step()


@given(steps_up=st.integers(1, 6), steps_down=st.integers(1, 6), n=st.integers(1, 40),
       mode=st.sampled_from(["triangular", "triangular2", "exp_range"]))
def test_cycliclr_stays_between_its_bounds(steps_up, steps_down, n, mode):
    opt = make_opt(0.5, momentum=0.9)
    sched = S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=steps_up, step_size_down=steps_down, mode=mode,
                       gamma=0.99)
    for _ in range(n):
        sched.step()
        assert 0.01 - 1e-15 <= sched.get_last_lr()[0] <= 0.1 + 1e-15
        assert 0.8 - 1e-15 <= opt.param_groups[0]["momentum"] <= 0.9 + 1e-15


@pytest.mark.parametrize("make, epoch, expected", [
    (lambda o: S.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.5), 6, 0.125),
    (lambda o: S.ConstantLR(o, factor=0.5, total_iters=3), 2, 0.5),
    (lambda o: S.LinearLR(o, start_factor=0.25, total_iters=3), 2, 0.75),
    (lambda o: S.PolynomialLR(o, total_iters=4, power=2.0), 3, 1 / 16),
])
def test_step_with_an_epoch_jumps_to_the_closed_form(make, epoch, expected):
    sched = make(make_opt(1.0))
    sched.step(epoch)
    assert sched.get_last_lr()[0] == pytest.approx(expected, rel=1e-15)
    assert sched.last_epoch == epoch


# ----------------------------------------------------------------------------- state dicts through checkpoints

def _fresh(key):
    case = CASES[key]
    params = [tg.zeros(1, requires_grad=True) for _ in META["schedule_lrs"]]
    return make_ref.build_schedule(optim, params, case)


@pytest.mark.parametrize("key", sorted(CASES))
def test_state_dict_through_a_checkpoint_continues_the_schedule(key):
    """Stop halfway, tg.save optimizer + scheduler state, load into fresh objects: the rest is identical."""
    steps = CASES[key][-1]
    opt, sched = _fresh(key)
    for _ in range(steps // 2):
        opt.step()
        sched.step()
    f = io.BytesIO()
    tg.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, f)
    f.seek(0)
    ck = tg.load(f)
    opt2, sched2 = _fresh(key)
    opt2.load_state_dict(ck["opt"])
    sched2.load_state_dict(ck["sched"])
    rest = make_ref.schedule_sequence(opt2, sched2, steps - steps // 2)
    expected = [REF[f"sched2/{key}/{what}"][steps // 2:] for what in ("lr", "momentum")]
    np.testing.assert_allclose(rest[0], expected[0], rtol=1e-13)
    np.testing.assert_allclose(rest[1], expected[1], rtol=1e-13)


def test_cycliclr_state_dict_keeps_a_callable_objects_attributes_but_no_functions():
    class Halving:
        def __init__(self):
            self.base = 1.0

        def __call__(self, x):
            return self.base / 2 ** (x - 1)

    fn = Halving()
    sched = S.CyclicLR(make_opt(0.1, momentum=0.9), 0.01, 0.1, step_size_up=2, scale_fn=fn)
    fn.base = 0.5
    state = sched.state_dict()
    assert state["_scale_fn_custom"] == {"base": 0.5}
    other = Halving()
    sched2 = S.CyclicLR(make_opt(0.1, momentum=0.9), 0.01, 0.1, step_size_up=2, scale_fn=other)
    sched2.load_state_dict(state)
    assert other.base == 0.5
    lam = S.CyclicLR(make_opt(0.1, momentum=0.9), 0.01, 0.1, scale_fn=lambda x: 1.0).state_dict()
    assert lam["_scale_fn_custom"] is None


# ----------------------------------------------------------------------------- errors

def _plateau(opt):
    return S.ReduceLROnPlateau(opt)


@pytest.mark.parametrize("build, error, message", [
    (lambda o: S.ConstantLR(o, factor=1.5), ValueError, "factor expected to be between 0 and 1"),
    (lambda o: S.LinearLR(o, start_factor=0.0), ValueError,
     "Starting multiplicative factor expected to be greater than 0"),
    (lambda o: S.LinearLR(o, end_factor=1.5), ValueError,
     "Ending multiplicative factor expected to be between 0 and 1"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "Expected positive integer T_0, but got 0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ValueError, "Expected integer T_mult >= 1"),
    (lambda o: S.CyclicLR(o, 0.01, 0.1, mode="zigzag"), ValueError, "mode is invalid and scale_fn is None"),
    (lambda o: S.CyclicLR(o, [0.01, 0.02, 0.03], 0.1), ValueError,
     "base_lr must have the same length as optimizer.param_groups. base_lr has 3 values, param_groups has 2."),
    (lambda o: S.OneCycleLR(o, max_lr=1.0), ValueError,
     "You must define either total_steps OR (epochs AND steps_per_epoch)"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError,
     "Expected positive integer total_steps, but got 0"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=5, pct_start=1.5), ValueError,
     "Expected float between 0 and 1 pct_start"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=5, anneal_strategy="cosine"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear', instead got cosine"),
    (lambda o: S.SequentialLR(o, [S.ConstantLR(o), S.ConstantLR(o)], milestones=[1, 2]), ValueError,
     "expects number of schedulers provided to be one more than the number of milestone points"),
    (lambda o: S.SequentialLR(o, [], milestones=[]), ValueError, "expects at least one scheduler"),
    (lambda o: S.ChainedScheduler([S.ConstantLR(o), _plateau(o)]), ValueError,
     "does not support `ReduceLROnPlateau` scheduler"),
    (lambda o: S.ChainedScheduler([S.ConstantLR(o), S.ConstantLR(make_opt(0.1))]), ValueError,
     "expects all schedulers to belong to the same optimizer"),
    (lambda o: S.MultiStepLR("not an optimizer", [1]), TypeError, "MultiStepLR: expected an Optimizer, got str"),
])
def test_invalid_arguments_raise_pytorchs_errors(build, error, message):
    with pytest.raises(error) as e:
        build(make_opt(0.1, 0.2, momentum=0.9))
    assert message in str(e.value)


@pytest.mark.parametrize("cls", [S.CyclicLR, S.OneCycleLR])
def test_cycling_momentum_needs_an_optimizer_with_momentum(cls):
    args = (0.01, 0.1) if cls is S.CyclicLR else (0.1, 10)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with `cycle_momentum`"):
        cls(make_opt(0.1, cls=optim.Adagrad), *args)
    cls(make_opt(0.1, cls=optim.Adagrad), *args, cycle_momentum=False)      # fine without


# ----------------------------------------------------------------------------- PyTorch, live (optional)

def test_recorded_cases_match_pytorch_live():
    torch = pytest.importorskip("torch")
    for key, value in make_ref.torch_schedule_cases(torch).items():
        np.testing.assert_allclose(REF[key], value, rtol=1e-15, err_msg=key)


def test_fractional_warm_restarts_match_pytorch_live():
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=3, T_mult=2, eta_min=0.001)
    sched = S.CosineAnnealingWarmRestarts(make_opt(0.1), T_0=3, T_mult=2, eta_min=0.001)
    for epoch in (0.3, 1.7, 3.0, 4.5, 9.0, 9.99, 21.5, 2.0):
        tsched.step(epoch)
        sched.step(epoch)
        assert sched.get_last_lr() == tsched.get_last_lr()
        assert (sched.T_cur, sched.T_i, sched.last_epoch) == (tsched.T_cur, tsched.T_i, tsched.last_epoch)


def test_state_dict_keys_match_pytorch_live():
    torch = pytest.importorskip("torch")
    for key, case in CASES.items():
        params = [torch.zeros(1, requires_grad=True) for _ in META["schedule_lrs"]]
        _, tsched = make_ref.build_schedule(torch.optim, params, case)
        _, sched = _fresh(key)
        theirs = set(tsched.state_dict()) - {"_get_lr_called_within_step", "_scale_fn_ref"}
        assert set(sched.state_dict()) >= theirs, (key, theirs - set(sched.state_dict()))
