"""50-step optimizer trajectories against two independent truths, and what else every optimizer
promises: first steps worked by hand, PyTorch's state keys and errors, checkpoints that continue
identically.

1. A float64 NumPy re-implementation of each algorithm exactly as PyTorch documents it (the
   ``reference_*`` functions below: bias-corrected ``m_hat``/``v_hat`` for Adam, ``eps`` after the
   square root, ...), with PyTorch's documented defaults for every option a case leaves out.
2. PyTorch's own trajectories, recorded in ``tests/data/optim_reference.npz`` by
   ``tests/data/make_optim_reference.py``. When PyTorch is installed the ``*_pytorch_live`` tests
   also re-run it now, which catches a recorded file that no longer matches PyTorch.

The problem and the option combinations come from that file: a least-squares fit
``mean((X @ w + b - Y) ** 2)``, ``w`` (3, 2) and ``b`` (2,), where every trajectory is still far
from the optimum after 50 steps, so a wrong formula cannot hide behind convergence. Whole
trajectories are compared: float64 runs to 1e-12, float32 runs to 1e-5 (float32 rounding over
50 steps stays below 2e-6 here).
"""
import copy
import functools
import io
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import optim

import optim_reference as shared
from optim_reference import META, REF, STEPS, TOL, flat, sign_and_decay, torch_or_skip, tuples

# the recorded file keeps SGD, Adagrad, RMSprop, Adam and AdamW under "configs", NAdam, RAdam,
# Adamax and Adadelta under "parity_configs"
CONFIGS = {**META["configs"], **META["parity_configs"]}
NEWER = ("NAdam", "RAdam", "Adamax", "Adadelta")


def run_ours(key, dtype="float64", device="cpu", steps=STEPS):
    return shared.run_ours(CONFIGS[key], dtype, device, steps)


@functools.lru_cache(maxsize=None)
def ours(key, dtype):
    return run_ours(key, dtype)


# ----------------------------------------------------------------------------- the documented algorithms

def reference_sgd(theta, g, s, t, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                  maximize=False):
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * theta
    if momentum:
        s["b"] = g if t == 1 else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return theta - lr * g


def reference_adagrad(theta, g, s, t, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                      eps=1e-10, maximize=False):
    if maximize:
        g = -g
    lr_t = lr / (1 + (t - 1) * lr_decay)
    if weight_decay:
        g = g + weight_decay * theta
    s["sum"] = s.get("sum", initial_accumulator_value) + g ** 2
    return theta - lr_t * g / (np.sqrt(s["sum"]) + eps)


def reference_rmsprop(theta, g, s, t, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                      centered=False, maximize=False):
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * theta
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g ** 2
    v_tilde = s["v"]
    if centered:
        s["g_ave"] = alpha * s.get("g_ave", 0.0) + (1 - alpha) * g
        v_tilde = v_tilde - s["g_ave"] ** 2
    if momentum > 0:
        s["b"] = momentum * s.get("b", 0.0) + g / (np.sqrt(v_tilde) + eps)
        return theta - lr * s["b"]
    return theta - lr * g / (np.sqrt(v_tilde) + eps)


def reference_adam(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                   maximize=False, decoupled=False):
    beta1, beta2 = betas
    theta, g = sign_and_decay(theta, g, lr, weight_decay, maximize, decoupled)
    s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g ** 2
    m_hat = s["m"] / (1 - beta1 ** t)
    if amsgrad:
        s["v_max"] = np.maximum(s.get("v_max", 0.0), s["v"])
        v_hat = s["v_max"] / (1 - beta2 ** t)
    else:
        v_hat = s["v"] / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


def reference_adamw(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                    maximize=False):
    return reference_adam(theta, g, s, t, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=True)


def reference_nadam(theta, g, s, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                    decoupled_weight_decay=False, maximize=False):
    beta1, beta2 = betas
    theta, g = sign_and_decay(theta, g, lr, weight_decay, maximize, decoupled_weight_decay)
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    # PyTorch keeps prod(mu_i) in a float32 0-d tensor: each product is rounded to float32.
    s["mu_prod"] = float(np.float32(s.get("mu_prod", 1.0)) * np.float32(mu))
    s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g ** 2
    m_hat = mu_next * s["m"] / (1 - s["mu_prod"] * mu_next) + (1 - mu) * g / (1 - s["mu_prod"])
    v_hat = s["v"] / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


def reference_radam(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                    decoupled_weight_decay=False, maximize=False):
    beta1, beta2 = betas
    theta, g = sign_and_decay(theta, g, lr, weight_decay, maximize, decoupled_weight_decay)
    s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g ** 2
    m_hat = s["m"] / (1 - beta1 ** t)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
    if rho_t <= 5:
        return theta - lr * m_hat
    l_t = np.sqrt(1 - beta2 ** t) / (np.sqrt(s["v"]) + eps)
    r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    return theta - lr * m_hat * r_t * l_t


def reference_adamax(theta, g, s, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False):
    beta1, beta2 = betas
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * theta
    s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    s["u"] = np.maximum(beta2 * s.get("u", 0.0), np.abs(g) + eps)
    return theta - lr * s["m"] / ((1 - beta1 ** t) * s["u"])


def reference_adadelta(theta, g, s, t, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * theta
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g ** 2
    delta = np.sqrt(s.get("u", 0.0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = rho * s.get("u", 0.0) + (1 - rho) * delta ** 2
    return theta - lr * delta


REFERENCES = {"SGD": reference_sgd, "Adagrad": reference_adagrad, "RMSprop": reference_rmsprop,
              "Adam": reference_adam, "AdamW": reference_adamw, "NAdam": reference_nadam,
              "RAdam": reference_radam, "Adamax": reference_adamax, "Adadelta": reference_adadelta}


def run_reference(key):
    return shared.run_reference(CONFIGS[key], REFERENCES[CONFIGS[key][0]])


# ----------------------------------------------------------------------------- trajectories

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_trajectory_matches_documented_algorithm(key, dtype):
    np.testing.assert_allclose(ours(key, dtype), run_reference(key), rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_trajectory_matches_recorded_pytorch(key, dtype):
    np.testing.assert_allclose(ours(key, dtype), REF[f"{key}/{dtype}"], rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_every_trajectory_moves_far_from_its_start(key):
    # A wrong formula must not hide behind a step too small to matter at the tolerance.
    assert np.abs(REF[f"{key}/float64"][-1] - REF[f"{key}/float64"][0]).max() > 0.05


def test_reference_cases_cover_every_optimizer_and_option():
    used = {(name, opt) for name, kwargs, overrides in CONFIGS.values()
            for opt in list(kwargs) + [k for o in overrides or [] for k in o]}
    for name, options in {"SGD": "momentum dampening weight_decay nesterov maximize",
                          "Adagrad": "lr_decay weight_decay initial_accumulator_value eps maximize",
                          "RMSprop": "alpha eps weight_decay momentum centered maximize",
                          "Adam": "betas eps weight_decay amsgrad maximize",
                          "AdamW": "weight_decay amsgrad eps",
                          "NAdam": "lr betas eps weight_decay momentum_decay decoupled_weight_decay maximize",
                          "RAdam": "lr betas eps weight_decay decoupled_weight_decay maximize",
                          "Adamax": "lr betas eps weight_decay maximize",
                          "Adadelta": "lr rho eps weight_decay maximize"}.items():
        for opt in options.split():
            assert (name, opt) in used, f"no reference case sets {name}({opt}=...)"


def test_radam_cases_cover_both_branches_of_the_rectifier():
    for key, (name, kwargs, _) in CONFIGS.items():
        if name != "RAdam":
            continue
        beta2 = kwargs.get("betas", [0.9, 0.999])[1]
        rho_inf = 2 / (1 - beta2) - 1
        rho = [rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t) for t in range(1, STEPS + 1)]
        assert min(rho) <= 5 < max(rho), key


@pytest.mark.parametrize("key", ["sgd_all", "adagrad_lr_decay", "rmsprop_all", "adam_amsgrad", "adamw",
                                 "nadam_groups", "radam_decoupled", "adamax_weight_decay",
                                 "adadelta_groups"])
def test_trajectory_is_the_same_on_every_device(key, device):
    if device == "cpu":
        pytest.skip("the CPU run is the reference the other devices are compared with")
    np.testing.assert_allclose(run_ours(key, "float32", device, steps=10), ours(key, "float32")[:11],
                               rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------- first steps by hand

def _one_step(opt_cls, p0, g, **kwargs):
    p = tg.tensor(p0, dtype="float64", requires_grad=True)
    opt = opt_cls([p], **kwargs)
    p.grad = tg.tensor(g, dtype="float64")
    opt.step()
    return p.numpy(), opt


def test_adamax_first_step_moves_each_coordinate_by_about_lr():
    # m = (1 - b1) g, u = |g| + eps, p -= lr / (1 - b1) * m / u = lr * g / (|g| + eps)
    p, _ = _one_step(optim.Adamax, [1.0, 2.0, 3.0], [0.5, -4.0, 0.0], lr=0.1)
    np.testing.assert_allclose(p, [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 2.0 + 0.1 * 4.0 / (4.0 + 1e-8), 3.0],
                               rtol=0, atol=1e-15)


def test_adadelta_first_step_by_hand():
    # v = 0.1 g^2 = 0.4, delta = sqrt(0 + 1e-6) / sqrt(0.4 + 1e-6) * 2; p -= delta
    p, opt = _one_step(optim.Adadelta, [1.0], [2.0])
    delta = math.sqrt(1e-6) / math.sqrt(0.4 + 1e-6) * 2.0
    np.testing.assert_allclose(p, [1.0 - delta], rtol=0, atol=1e-15)
    np.testing.assert_allclose(opt.state[opt.param_groups[0]["params"][0]]["acc_delta"].numpy(),
                               [0.1 * delta ** 2], rtol=1e-14)


def test_radam_first_steps_are_bias_corrected_momentum_sgd():
    # rho_1 = rho_inf - 2 b2 / (1 - b2) = 1 <= 5 -> p -= lr * m_hat = lr * g
    p, _ = _one_step(optim.RAdam, [1.0, -1.0], [0.3, -0.7], lr=0.5)
    np.testing.assert_allclose(p, [1.0 - 0.15, -1.0 + 0.35], rtol=0, atol=1e-15)


def test_nadam_first_step_by_hand():
    # t = 1, psi = 4e-3: mu_1 = 0.9 (1 - 0.5 * 0.96**0.004), mu_2 likewise; m = 0.1 g, v = 0.001 g^2,
    # v_hat = g^2, so p -= lr (((1 - mu_1) / (1 - mu_1) + mu_2 * 0.1 / (1 - mu_1 mu_2)) g / (|g| + eps))
    mu1, mu2 = 0.9 * (1 - 0.5 * 0.96 ** 0.004), 0.9 * (1 - 0.5 * 0.96 ** 0.008)
    mu1_f32 = float(np.float32(mu1))
    g = 2.0
    step = 0.01 * ((1 - mu1) / (1 - mu1_f32) + mu2 * 0.1 / (1 - mu1_f32 * mu2)) * g / (abs(g) + 1e-8)
    p, opt = _one_step(optim.NAdam, [1.0], [g], lr=0.01)
    np.testing.assert_allclose(p, [1.0 - step], rtol=0, atol=1e-15)
    assert opt.state[opt.param_groups[0]["params"][0]]["mu_product"] == mu1_f32


# ----------------------------------------------------------------------------- state, errors, API

STATE_KEYS = {"NAdam": {"step", "mu_product", "exp_avg", "exp_avg_sq"},
              "RAdam": {"step", "exp_avg", "exp_avg_sq"},
              "Adamax": {"step", "exp_avg", "exp_inf"},
              "Adadelta": {"step", "square_avg", "acc_delta"}}


@pytest.mark.parametrize("name", NEWER)
def test_state_has_pytorchs_keys(name):
    _, opt = _one_step(getattr(optim, name), [1.0, 2.0], [0.1, 0.2])
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert set(state) == STATE_KEYS[name]
    assert state["step"] == 1


@pytest.mark.parametrize("name", NEWER)
def test_state_dict_through_a_checkpoint_continues_identically(name):
    """Stop after 20 steps, save model+optimizer with tg.save, load into fresh objects, run 30 more."""
    key = next(k for k in sorted(CONFIGS) if CONFIGS[k][0] == name and CONFIGS[k][2])  # the 2-group case
    _, kwargs, overrides = CONFIGS[key]
    X, Y = (tg.tensor(REF[k], dtype="float64") for k in ("X", "Y"))

    def make(w0, b0):
        w = tg.tensor(w0, dtype="float64", requires_grad=True)
        b = tg.tensor(b0, dtype="float64", requires_grad=True)
        groups = [{"params": [p], **tuples(o)} for p, o in zip((w, b), overrides)]
        return w, b, getattr(optim, name)(groups, **tuples(kwargs))

    def run(w, b, opt, n):
        for _ in range(n):
            opt.zero_grad()
            ((X @ w + b - Y) ** 2).mean().backward()
            opt.step()

    w, b, opt = make(REF["w0"], REF["b0"])
    run(w, b, opt, 20)
    f = io.BytesIO()
    tg.save({"w": w, "b": b, "opt": opt.state_dict()}, f)
    f.seek(0)
    ck = tg.load(f)
    w2, b2, opt2 = make(np.zeros((3, 2)), np.zeros(2))
    w2.data[...], b2.data[...] = ck["w"].numpy(), ck["b"].numpy()
    opt2.load_state_dict(ck["opt"])
    run(w, b, opt, 30)
    run(w2, b2, opt2, 30)
    np.testing.assert_array_equal(flat(w2, b2), flat(w, b))
    np.testing.assert_allclose(flat(w, b), ours(key, "float64")[-1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name, kwargs, message", [
    ("NAdam", {"lr": -1.0}, "NAdam: invalid lr -1.0 (expected lr >= 0)"),
    ("NAdam", {"betas": (1.0, 0.9)}, "NAdam: invalid beta1 1.0 (expected 0 <= beta1 < 1)"),
    ("NAdam", {"momentum_decay": -0.1}, "NAdam: invalid momentum_decay -0.1 (expected momentum_decay >= 0)"),
    ("RAdam", {"betas": (0.9, -0.5)}, "RAdam: invalid beta2 -0.5 (expected 0 <= beta2 < 1)"),
    ("RAdam", {"eps": -1e-8}, "RAdam: invalid eps -1e-08 (expected eps >= 0)"),
    ("Adamax", {"weight_decay": -0.1}, "Adamax: invalid weight_decay -0.1 (expected weight_decay >= 0)"),
    ("Adamax", {"betas": (0.9,)}, "Adamax: invalid betas (0.9,) (expected a pair (beta1, beta2))"),
    ("Adadelta", {"rho": 1.5}, "Adadelta: invalid rho 1.5 (expected 0 <= rho <= 1)"),
    ("Adadelta", {"lr": -0.5}, "Adadelta: invalid lr -0.5 (expected lr >= 0)"),
])
def test_invalid_hyperparameters_name_the_optimizer_and_the_range(name, kwargs, message):
    with pytest.raises(ValueError) as e:
        getattr(optim, name)([tg.zeros(2, requires_grad=True)], **kwargs)
    assert str(e.value) == message


@pytest.mark.parametrize("name", NEWER)
def test_a_gradient_of_the_wrong_shape_is_reported(name):
    p = tg.zeros(2, 3, requires_grad=True)
    opt = getattr(optim, name)([p])
    p.grad = tg.zeros(3, 2)
    with pytest.raises(RuntimeError, match=r"parameter has shape \(2, 3\) but its .grad has shape \(3, 2\)"):
        opt.step()


@pytest.mark.parametrize("name", NEWER)
def test_parameters_without_gradient_are_left_alone(name):
    p, q = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    opt = getattr(optim, name)([p, q])
    p.grad = tg.ones(2)
    opt.step()
    np.testing.assert_array_equal(q.numpy(), [1.0, 1.0])
    assert q not in opt.state or not opt.state[q]


# ----------------------------------------------------------------------------- PyTorch, live (optional)

@pytest.fixture(scope="module")
def torch_ref():
    return torch_or_skip()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_trajectory_matches_pytorch_live(key, dtype, torch_ref):
    torch, make_ref = torch_ref
    name, kwargs, overrides = CONFIGS[key]
    expected = make_ref.torch_trajectory(torch, REF, name, kwargs, overrides, getattr(torch, dtype))
    np.testing.assert_allclose(ours(key, dtype), expected, rtol=0, atol=TOL[dtype])


def test_recorded_schedules_match_pytorch_live(torch_ref):
    torch, make_ref = torch_ref
    for key, lrs in make_ref.torch_schedules(torch).items():
        np.testing.assert_allclose(REF[key], lrs, rtol=1e-12, err_msg=key)


def test_state_dict_loads_into_pytorch_and_continues_identically(torch_ref):
    torch, _ = torch_ref
    rng = np.random.default_rng(0)
    w0, g1, g2 = (rng.normal(size=(4, 3)) for _ in range(3))
    w = tg.tensor(w0, dtype="float64", requires_grad=True)
    opt = optim.Adam([w], lr=0.1, amsgrad=True)
    tw = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.5, amsgrad=True)    # the loaded lr=0.1 must replace 0.5
    w.grad = tg.tensor(g1, dtype="float64")
    opt.step()
    sd = opt.state_dict()
    state = {i: {k: torch.tensor(float(v)) if k == "step" else torch.tensor(v.numpy()) for k, v in s.items()}
             for i, s in sd["state"].items()}
    with torch.no_grad():
        tw.copy_(torch.tensor(w.numpy()))
    topt.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
    w.grad, tw.grad = tg.tensor(g2, dtype="float64"), torch.tensor(g2)
    opt.step()
    topt.step()
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", NEWER)
def test_defaults_match_pytorch_live(name, torch_ref):
    torch, _ = torch_ref
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults
    mine = getattr(optim, name)([tg.zeros(1, requires_grad=True)]).defaults
    for k, v in mine.items():
        assert theirs[k] == v, (k, theirs[k], v)
    missing = set(theirs) - set(mine) - {"foreach", "capturable", "differentiable"}
    assert not missing, f"{name} lacks PyTorch options {missing}"


@pytest.mark.parametrize("name", NEWER)
def test_state_dict_moves_between_pytorch_and_us_both_ways(name, torch_ref):
    """After three steps, ours -> PyTorch and PyTorch -> ours; every copy then takes the same next step.

    A state dict of ours loaded into PyTorch must act exactly like PyTorch's own state dict loaded
    into PyTorch. (Not like the uninterrupted PyTorch run: for NAdam, PyTorch's load_state_dict casts
    mu_product to the parameter's dtype, so a resumed float64 PyTorch run continues that product in
    float64 and drifts ~1e-10 from its uninterrupted self, which keeps it in float32.)
    """
    torch, _ = torch_ref
    rng = np.random.default_rng(1)
    w0, *grads = (rng.normal(size=(4, 3)) for _ in range(5))
    kwargs = {"lr": 0.1, "weight_decay": 0.01}
    w = tg.tensor(w0, dtype="float64", requires_grad=True)
    opt = getattr(optim, name)([w], **kwargs)
    tw = torch.tensor(w0, requires_grad=True)
    topt = getattr(torch.optim, name)([tw], **kwargs)
    for g in grads[:3]:
        w.grad, tw.grad = tg.tensor(g, dtype="float64"), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=0, atol=1e-14)

    # ours -> a fresh PyTorch optimizer (PyTorch keeps step and mu_product as 0-d float32 tensors)
    sd = opt.state_dict()
    state = {i: {k: torch.tensor(float(v)) if k in ("step", "mu_product") else torch.tensor(v.numpy())
                 for k, v in s.items()} for i, s in sd["state"].items()}
    tw_ours = torch.tensor(w.numpy(), requires_grad=True)
    topt_ours = getattr(torch.optim, name)([tw_ours], lr=0.5)        # lr=0.1 must come from the dict
    topt_ours.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
    # PyTorch -> a fresh PyTorch optimizer: what ours -> PyTorch must equal
    tw_own = torch.tensor(tw.detach().numpy(), requires_grad=True)
    topt_own = getattr(torch.optim, name)([tw_own], lr=0.5)
    topt_own.load_state_dict(copy.deepcopy(topt.state_dict()))     # PyTorch's dict holds references
    # PyTorch -> a fresh optimizer of ours (tensors are converted like any array-like)
    w_theirs = tg.tensor(tw.detach().numpy(), dtype="float64", requires_grad=True)
    opt_theirs = getattr(optim, name)([w_theirs], lr=0.5)
    opt_theirs.load_state_dict(copy.deepcopy(topt.state_dict()))

    g = grads[3]
    for t in (w, w_theirs):
        t.grad = tg.tensor(g, dtype="float64")
    for t in (tw, tw_ours, tw_own):
        t.grad = torch.tensor(g)
    for o in (opt, opt_theirs, topt, topt_ours, topt_own):
        o.step()
    np.testing.assert_allclose(w_theirs.numpy(), w.numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(tw.detach().numpy(), w.numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(tw_ours.detach().numpy(), tw_own.detach().numpy(), rtol=0, atol=1e-15)
