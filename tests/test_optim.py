"""Optimizer behaviour: single steps worked by hand, parameter groups, gradients, state dicts, errors.

Most hand-worked steps use a parameter p = 1 and the loss 3 * p, whose gradient is 3 at every step.
Whole 50-step trajectories are checked in ``test_optim_trajectories.py``.
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import optim


def param(*values, dtype="float64", device="cpu"):
    return tg.tensor(list(values) if values else [1.0], dtype=dtype, device=device, requires_grad=True)


def steps(opt, loss_fn, n=1):
    for _ in range(n):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()


def linear(*ps, slope=3.0):
    return lambda: sum((p * slope).sum() for p in ps)


# ----------------------------------------------------------------------------- single steps by hand

def test_sgd_step_is_lr_times_gradient():
    p = param()
    steps(optim.SGD([p], lr=0.1), linear(p))
    assert p.item() == pytest.approx(1 - 0.1 * 3, abs=1e-15)


def test_sgd_momentum_buffer_starts_at_first_gradient_without_dampening():
    p = param()
    steps(optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5), linear(p), n=2)
    # step 1: b = 3 (no dampening), p = 1 - 0.3; step 2: b = 0.9 * 3 + 0.5 * 3 = 4.2, p = 0.7 - 0.42
    assert p.item() == pytest.approx(0.28, abs=1e-15)


def test_sgd_nesterov_steps_along_gradient_plus_momentum_times_buffer():
    p = param()
    steps(optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True), linear(p))
    assert p.item() == pytest.approx(1 - 0.1 * (3 + 0.9 * 3), abs=1e-15)


def test_sgd_weight_decay_adds_decay_times_parameter_to_gradient():
    p = param()
    steps(optim.SGD([p], lr=0.1, weight_decay=0.5), linear(p))
    assert p.item() == pytest.approx(1 - 0.1 * (3 + 0.5), abs=1e-15)


def test_maximize_climbs_the_objective():
    p = param()
    steps(optim.SGD([p], lr=0.1, maximize=True), linear(p))
    assert p.item() == pytest.approx(1.3, abs=1e-15)


def test_adam_first_step_adds_eps_after_square_root():
    p = param()
    steps(optim.Adam([p], lr=0.1, eps=1.0), linear(p))
    # m_hat = 3, v_hat = 9: p = 1 - 0.1 * 3 / (sqrt(9) + 1); eps inside the root would give 3 / sqrt(10)
    assert p.item() == pytest.approx(0.925, abs=1e-15)


def test_adam_weight_decay_is_an_l2_term_in_the_gradient():
    p = param()
    steps(optim.Adam([p], lr=0.1, eps=0.0, weight_decay=0.5), linear(p))
    # g = 3 + 0.5 = 3.5; the first Adam step has size lr whatever the gradient's size
    assert p.item() == pytest.approx(0.9, abs=1e-15)


def test_adamw_shrinks_parameters_before_the_adam_step():
    p = param()
    steps(optim.AdamW([p], lr=0.1, eps=0.0, weight_decay=0.5), linear(p))
    assert p.item() == pytest.approx(1 * (1 - 0.1 * 0.5) - 0.1, abs=1e-15)


def test_amsgrad_divides_by_the_largest_second_moment_so_far():
    p = param()
    opt = optim.Adam([p], lr=0.1, betas=(0.0, 0.5), eps=0.0, amsgrad=True)
    steps(opt, linear(p, slope=4.0))
    steps(opt, linear(p, slope=1.0))
    # v1 = 0.5 * 16 = 8; v2 = 0.5 * 8 + 0.5 * 1 = 4.5 < v_max = 8; bias correction 1 - 0.5 ** 2 = 0.75
    assert p.item() == pytest.approx(1 - 0.1 - 0.1 * 1 / math.sqrt(8 / 0.75), abs=1e-15)


def test_rmsprop_first_step_adds_eps_after_square_root():
    p = param()
    steps(optim.RMSprop([p], lr=0.01, eps=0.1), linear(p))
    # v = 0.01 * 9 = 0.09: p = 1 - 0.01 * 3 / (0.3 + 0.1)
    assert p.item() == pytest.approx(0.925, abs=1e-15)


def test_rmsprop_centered_subtracts_squared_gradient_mean():
    p = param()
    steps(optim.RMSprop([p], lr=0.01, eps=0.1, centered=True), linear(p))
    # v = 0.09, g_avg = 0.03: p = 1 - 0.01 * 3 / (sqrt(0.09 - 0.0009) + 0.1)
    assert p.item() == pytest.approx(1 - 0.03 / (math.sqrt(0.0891) + 0.1), abs=1e-15)


def test_rmsprop_momentum_accumulates_scaled_gradients():
    p = param()
    steps(optim.RMSprop([p], lr=0.01, alpha=0.0, eps=0.0, momentum=0.5), linear(p), n=2)
    # alpha = 0: v = g^2, so g / sqrt(v) = 1; b1 = 1, b2 = 0.5 + 1
    assert p.item() == pytest.approx(1 - 0.01 * 1 - 0.01 * 1.5, abs=1e-15)


def test_adagrad_first_step_adds_eps_after_square_root():
    p = param()
    steps(optim.Adagrad([p], lr=0.1, eps=1.0), linear(p))
    assert p.item() == pytest.approx(1 - 0.1 * 3 / (3 + 1), abs=1e-15)


def test_adagrad_lr_decay_divides_lr_by_one_plus_decay_times_past_steps():
    p = param()
    steps(optim.Adagrad([p], lr=0.1, lr_decay=0.5, eps=0.0), linear(p), n=2)
    # step 1: clr = 0.1, sum = 9; step 2: clr = 0.1 / 1.5, sum = 18
    assert p.item() == pytest.approx(1 - 0.1 - 0.1 / 1.5 * 3 / math.sqrt(18), abs=1e-15)


def test_adagrad_accumulator_starts_at_initial_value():
    p = param()
    steps(optim.Adagrad([p], lr=0.1, initial_accumulator_value=7.0, eps=0.0), linear(p))
    assert p.item() == pytest.approx(1 - 0.1 * 3 / 4, abs=1e-15)


def test_adagrad_creates_its_state_with_the_optimizer():
    p = param(1.0, 2.0)
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    assert opt.state[p]["step"] == 0
    np.testing.assert_array_equal(opt.state[p]["sum"].numpy(), [0.25, 0.25])


# ----------------------------------------------------------------------------- how step works

def test_step_changes_parameter_data_in_place():
    p = param(1.0, 2.0)
    before = p.array
    steps(optim.Adam([p]), linear(p))
    assert p.array is before and p.is_leaf and p.grad_fn is None and p.requires_grad


def test_step_skips_parameters_without_gradient():
    p, q = param(), param()
    opt = optim.Adam([p, q], lr=0.1)
    steps(opt, linear(p))
    assert q.item() == 1.0 and q not in opt.state


def test_step_with_closure_returns_its_loss_and_uses_its_gradients():
    p = param()
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * 3).sum()
        loss.backward()
        return loss

    with tg.no_grad():          # the closure runs with grad mode on regardless
        loss = opt.step(closure)
    assert loss.item() == 3.0 and p.item() == pytest.approx(0.7, abs=1e-15)


def test_step_keeps_the_parameter_dtype():
    p = param(1.0, 2.0, dtype="float32")
    steps(optim.Adam([p], lr=np.float64(0.1)), linear(p))
    assert p.dtype == np.float32


def test_step_rejects_gradient_of_wrong_shape():
    p = param(1.0, 2.0)
    p.grad = tg.tensor([1.0, 2.0, 3.0], dtype="float64")
    with pytest.raises(RuntimeError, match=r"SGD.step.*\(2,\).*\(3,\)"):
        optim.SGD([p]).step()


def test_zero_grad_sets_gradients_to_none_by_default():
    p = param()
    opt = optim.SGD([p])
    (p * 3).sum().backward()
    opt.zero_grad()
    assert p.grad is None


def test_zero_grad_without_set_to_none_zeros_gradients_in_place():
    p = param(1.0, 2.0)
    opt = optim.SGD([p])
    (p * 3).sum().backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])


def test_optimizer_state_is_kept_on_the_parameter_device(device):
    p = param(1.0, 2.0, dtype="float32", device=device)
    opt = optim.Adam([p], amsgrad=True)
    steps(opt, linear(p))
    assert all(v.device == p.device for v in opt.state[p].values() if isinstance(v, tg.Tensor))


# ----------------------------------------------------------------------------- parameter groups

def test_param_groups_use_their_own_options():
    a, b = param(), param()
    opt = optim.SGD([{"params": [a], "lr": 0.5}, {"params": b}], lr=0.1)
    steps(opt, linear(a, b))
    assert (a.item(), b.item()) == (pytest.approx(1 - 1.5, abs=1e-15), pytest.approx(0.7, abs=1e-15))


def test_param_groups_take_missing_options_from_defaults():
    a, b = param(), param()
    opt = optim.Adam([{"params": [a], "lr": 0.5}, {"params": [b], "betas": (0.5, 0.6)}], lr=0.1, eps=1e-6)
    assert opt.param_groups[0]["betas"] == (0.9, 0.999) and opt.param_groups[1]["lr"] == 0.1
    assert opt.param_groups[1]["eps"] == 1e-6 and opt.defaults["lr"] == 0.1


def test_add_param_group_adds_a_group_that_the_next_step_updates():
    a, b = param(), param()
    opt = optim.SGD([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.2})
    steps(opt, linear(a, b))
    assert b.item() == pytest.approx(1 - 0.6, abs=1e-15)


def test_add_param_group_rejects_a_parameter_already_in_another_group():
    a = param()
    opt = optim.SGD([a])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_named_parameters_keep_their_names_in_the_group():
    a, b = param(), param()
    opt = optim.SGD([("weight", a), ("bias", b)])
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"][0] is a


def test_params_as_a_single_tensor_raise_type_error():
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(param())


def test_empty_parameter_list_raises():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])


def test_param_group_given_as_a_set_raises_type_error():
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD([{"params": {param()}}])


def test_non_leaf_tensor_cannot_be_optimized():
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([param() * 2])


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.SGD([p], lr=-1), "SGD: invalid lr -1"),
    (lambda p: optim.SGD([p], nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda p: optim.Adam([p], betas=(1.0, 0.999)), "Adam: invalid beta1 1.0"),
    (lambda p: optim.AdamW([p], eps=-1e-8), "AdamW: invalid eps"),
    (lambda p: optim.RMSprop([p], alpha=-0.1), "RMSprop: invalid alpha"),
    (lambda p: optim.Adagrad([p], lr_decay=-1), "Adagrad: invalid lr_decay"),
])
def test_invalid_hyperparameters_raise_value_error_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make(param())


def test_defaults_match_pytorch():
    p = param()
    assert optim.SGD([p]).defaults == dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                                           maximize=False)
    assert optim.Adagrad([p]).defaults == dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                                               eps=1e-10, maximize=False)
    assert optim.RMSprop([p]).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                                               centered=False, maximize=False)
    adam, adamw = optim.Adam([p]).defaults, optim.AdamW([p]).defaults
    assert (adam["lr"], adam["betas"], adam["eps"], adam["weight_decay"], adam["amsgrad"]) == \
        (1e-3, (0.9, 0.999), 1e-8, 0, False)
    assert (adamw["weight_decay"], adamw["decoupled_weight_decay"]) == (1e-2, True)


# ----------------------------------------------------------------------------- state dicts

def fit(opt_factory, n, start=None, state=None):
    """n steps on a two-group least-squares problem; returns the parameters and the optimizer."""
    rng = np.random.default_rng(7)
    X, Y = tg.tensor(rng.normal(size=(6, 3))), tg.tensor(rng.normal(size=(6, 2)))
    w0, b0 = (rng.normal(size=(3, 2)), rng.normal(size=2)) if start is None else start
    w, b = tg.tensor(w0, requires_grad=True), tg.tensor(b0, requires_grad=True)
    opt = opt_factory([{"params": [w]}, {"params": [b], "lr": 0.03}])
    if state is not None:
        opt.load_state_dict(state)
    steps(opt, lambda: ((X @ w + b - Y) ** 2).mean(), n)
    return (w.numpy().copy(), b.numpy().copy()), opt


ROUND_TRIP = {
    "sgd": lambda ps, lr=0.05: optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True),
    "adagrad": lambda ps, lr=0.05: optim.Adagrad(ps, lr=lr, lr_decay=0.1),
    "rmsprop": lambda ps, lr=0.01: optim.RMSprop(ps, lr=lr, momentum=0.5, centered=True),
    "adam": lambda ps, lr=0.05: optim.Adam(ps, lr=lr, amsgrad=True),
    "adamw": lambda ps, lr=0.05: optim.AdamW(ps, lr=lr, weight_decay=0.1),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_state_dict_round_trip_continues_the_uninterrupted_trajectory(name):
    make = ROUND_TRIP[name]
    uninterrupted, _ = fit(make, 20)
    halfway, opt = fit(make, 10)
    # a fresh optimizer with other hyperparameters: the state dict's must win
    resumed, _ = fit(lambda ps: make(ps, lr=123.0), 10, start=halfway, state=opt.state_dict())
    for got, want in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(got, want)


def test_state_dict_layout_matches_pytorch():
    _, opt = fit(ROUND_TRIP["adam"], 2)
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.03 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [0, 1]
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert sd["state"][0]["step"] == 2 and isinstance(sd["state"][0]["exp_avg"], tg.Tensor)
    assert sd["state"][1]["exp_avg"].shape == (2,)


def test_state_dict_is_a_snapshot_that_later_steps_leave_alone():
    _, opt = fit(ROUND_TRIP["adam"], 1)
    sd = opt.state_dict()
    saved = sd["state"][0]["exp_avg"].numpy().copy()
    p = opt.param_groups[0]["params"][0]
    p.grad = tg.ones(*p.shape, dtype="float64")
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].numpy(), saved)
    assert sd["state"][0]["step"] == 1


def test_load_state_dict_copies_state_onto_the_parameter_dtype():
    p = param(1.0, 2.0, dtype="float32")
    opt = optim.SGD([p], momentum=0.9)
    opt.load_state_dict({"state": {0: {"momentum_buffer": np.array([1.0, 2.0])}},
                         "param_groups": [dict(opt.state_dict()["param_groups"][0])]})
    assert opt.state[p]["momentum_buffer"].dtype == np.float32


def test_load_state_dict_rejects_a_different_number_of_groups():
    _, opt = fit(ROUND_TRIP["sgd"], 1)
    sd = opt.state_dict()
    sd["param_groups"] = sd["param_groups"][:1]
    with pytest.raises(ValueError, match="1 parameter groups but this optimizer has 2"):
        opt.load_state_dict(sd)


def test_load_state_dict_rejects_a_group_of_a_different_size():
    a, b = param(), param()
    sd = optim.SGD([a, b]).state_dict()
    with pytest.raises(ValueError, match="group 0 has 2 parameters in the state dict but 1 in this optimizer"):
        optim.SGD([param()]).load_state_dict(sd)


def test_load_state_dict_rejects_state_of_the_wrong_shape():
    a = param(1.0, 2.0)
    opt = optim.SGD([a], momentum=0.9)
    steps(opt, linear(a))
    sd = opt.state_dict()
    with pytest.raises(ValueError, match=r"'momentum_buffer' of parameter 0 has shape \(2,\) but the parameter "
                                         r"has shape \(3,\)"):
        optim.SGD([param(1.0, 2.0, 3.0)], momentum=0.9).load_state_dict(sd)


def test_adamw_stays_decoupled_after_loading_an_adam_state_dict():
    p = param()
    opt = optim.AdamW([p])
    opt.load_state_dict(optim.Adam([param()]).state_dict())
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


def test_repr_lists_each_group_options():
    text = repr(optim.SGD([param()], lr=0.5))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.5" in text


def test_zero_grad_and_state_dict_round_trip_work_on_every_device(device):
    p = param(1.0, 2.0, dtype="float32", device=device)
    opt = optim.RMSprop([p], lr=0.1, momentum=0.5, centered=True)
    steps(opt, linear(p), n=2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    q = param(*p.numpy().tolist(), dtype="float32", device=device)
    other = optim.RMSprop([q], lr=0.1, momentum=0.5, centered=True)
    other.load_state_dict(opt.state_dict())
    assert all(v.device == q.device for v in other.state[q].values() if isinstance(v, tg.Tensor))
    steps(opt, linear(p))
    steps(other, linear(q))
    np.testing.assert_array_equal(q.numpy(), p.numpy())
