"""optim.LBFGS against closed forms worked by hand, against conjugate gradients (which L-BFGS with
exact line searches reproduces on a quadratic), and against PyTorch's trajectories (when it is
installed) on a quadratic, the Rosenbrock function and a small MLP, with and without the
strong-Wolfe line search and for several history sizes."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import optim

rng = np.random.default_rng(3)
N = 5
_M = rng.normal(size=(N, N))
A = _M @ _M.T / N + np.diag(np.linspace(1.0, 3.0, N))
A = (A + A.T) / 2                     # symmetric positive definite, exactly symmetric
B = rng.normal(size=N)
X0 = rng.normal(size=N)
MLP_DATA = {"X": rng.normal(size=(8, 3)), "Y": rng.normal(size=(8, 1)), "W1": rng.normal(size=(4, 3)) * 0.5,
            "b1": rng.normal(size=4) * 0.1, "W2": rng.normal(size=(1, 4)) * 0.5, "b2": np.zeros(1)}
START = {"quadratic": [X0], "rosenbrock": [np.array([-1.5, 2.0])],
         "mlp": [MLP_DATA[k] for k in ("W1", "b1", "W2", "b2")]}


def numpy_loss_and_grads(name, xs):
    """The loss of a test problem and its gradients, worked by hand in float64 NumPy."""
    if name == "quadratic":             # 0.5 x^T A x - b^T x, minimum at A^-1 b
        x, = xs
        return 0.5 * x @ A @ x - B @ x, [A @ x - B]
    if name == "rosenbrock":            # (1 - u)^2 + 100 (v - u^2)^2, minimum at (1, 1)
        (u, v), = xs
        return (1 - u) ** 2 + 100 * (v - u * u) ** 2, [np.array([-2 * (1 - u) - 400 * u * (v - u * u),
                                                                 200 * (v - u * u)])]
    w1, b1, w2, b2 = xs                 # 3 -> 4 (tanh) -> 1, mean squared error
    h = np.tanh(MLP_DATA["X"] @ w1.T + b1)
    r = h @ w2.T + b2 - MLP_DATA["Y"]
    d_out = 2 * r / r.size
    d_pre = (d_out @ w2) * (1 - h * h)
    return (r ** 2).mean(), [d_pre.T @ MLP_DATA["X"], d_pre.sum(0), d_out.T @ h, d_out.sum(0)]


def autograd_loss(name, params, lib):
    """The same losses written with ``lib``'s Tensor ops (gradients by its autograd)."""
    if name == "quadratic":
        x, = params
        a, b = (lib.tensor(v, device=x.device) for v in (A, B))
        return 0.5 * (x * (a @ x)).sum() - (b * x).sum()
    if name == "rosenbrock":
        x, = params
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    w1, b1, w2, b2 = params
    X, Y = (lib.tensor(MLP_DATA[k], device=w1.device) for k in ("X", "Y"))
    return (((X @ w1.T + b1).tanh() @ w2.T + b2 - Y) ** 2).mean()


def make_closure(opt, params, name, lib, grads="numpy"):
    """The closure ``step`` calls: gradients by hand in NumPy (so two libraries get bit-identical
    losses and gradients for identical parameters), or by ``lib``'s autograd."""
    def closure():
        opt.zero_grad()
        if grads == "autograd":
            loss = autograd_loss(name, params, lib)
            loss.backward()
            return loss
        loss, gs = numpy_loss_and_grads(name, [p.detach().cpu().numpy() for p in params])
        for p, g in zip(params, gs):
            p.grad = lib.tensor(g, device=p.device)
        return lib.tensor(loss)
    return closure


def run(opt_class, name, lib, steps, device="cpu", grads="numpy", **kwargs):
    """Parameters (flattened) after each ``step``, the losses ``step`` returned, the optimizer."""
    params = [lib.tensor(a.copy(), device=device, requires_grad=True) for a in START[name]]
    opt = opt_class(params, **kwargs)
    closure = make_closure(opt, params, name, lib, grads)
    xs, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach().cpu().numpy()))
        xs.append(np.concatenate([p.detach().cpu().numpy().ravel() for p in params]))
    return np.array(xs), np.array(losses), opt


def state_of(opt):
    return opt.state[opt.param_groups[0]["params"][0]]


@pytest.mark.parametrize("name", list(START))
def test_numpy_gradients_are_those_of_autograd(name):
    params = [tg.tensor(a, requires_grad=True) for a in START[name]]
    loss = autograd_loss(name, params, tg)
    loss.backward()
    expected_loss, expected = numpy_loss_and_grads(name, START[name])
    assert loss.item() == pytest.approx(expected_loss, rel=1e-14)
    for p, g in zip(params, expected):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-13, atol=1e-15)


# ----------------------------------------------------------------------------- closed forms

def test_one_dimensional_quadratic_is_solved_by_the_second_iteration():
    # f(x) = 2 (x - 3)^2 from x = 0.5: g = -10, so the first step is t = min(1, 1/|g|) = 0.1 along
    # -g: x = 1.5. There g = -6; the pair s = 1, y = 4 gives H = s/y = 1/4 (the exact inverse
    # curvature), so the second iteration is Newton's step d = 6/4 and x = 3 exactly; the gradient
    # there is 0, which stops the iterations (2 iterations, 3 closure calls).
    x = tg.tensor([0.5], dtype="float64", requires_grad=True)
    opt = optim.LBFGS([x])
    seen = []

    def closure():
        opt.zero_grad()
        loss = (2 * (x - 3) ** 2).sum()
        loss.backward()
        seen.append(x.item())
        return loss

    first = opt.step(closure)
    assert first.item() == 12.5 and seen == [0.5, 1.5, 3.0]
    assert x.item() == 3.0
    assert opt.state[x]["n_iter"] == 2 and opt.state[x]["func_evals"] == 3
    assert opt.state[x]["H_diag"] == 0.25 and opt.state[x]["ro"] == [0.25]


def conjugate_gradient_iterates(a, b, x, n):
    """x_0 .. x_n of linear conjugate gradients on A x = b (Nocedal & Wright, Algorithm 5.2)."""
    r = a @ x - b
    p = -r
    out = [x]
    for _ in range(n):
        alpha = (r @ r) / (p @ a @ p)
        x = x + alpha * p
        r_new = r + alpha * a @ p
        p = -r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
        out.append(x)
    return np.array(out)


def test_exact_line_searches_reproduce_conjugate_gradients_and_stop_after_n_iterations():
    # On a quadratic, the cubic interpolation of the line search is exact. With lr = 1000 the first
    # trial step overshoots (loss above the Armijo line), so the zoom lands on the exact minimiser
    # along d. With exact line searches, L-BFGS directions are those of conjugate gradients (all
    # terms s_i . g vanish), whatever the history size, so the iterates are CG's and the minimum
    # A^-1 b is reached after N iterations, which the gradient tolerance then detects. (One
    # iteration per step here; max_eval defaults to max_iter * 5 // 4, which would leave the line
    # search no evaluation beyond its first trial.)
    expected = conjugate_gradient_iterates(A, B, X0, N)
    for history_size in (1, 2, 100):
        xs, _, opt = run(optim.LBFGS, "quadratic", tg, N, lr=1000, max_iter=1, max_eval=4,
                         history_size=history_size, line_search_fn="strong_wolfe")
        np.testing.assert_allclose(xs, expected[1:], rtol=0, atol=1e-9)
    xs, _, opt = run(optim.LBFGS, "quadratic", tg, 1, lr=1000, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(xs[0], np.linalg.solve(A, B), rtol=0, atol=1e-9)
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert state["n_iter"] == N
    assert state["func_evals"] == 1 + 2 * N     # each line search: the overshoot, then the minimiser


def test_a_parameter_without_gradient_counts_as_zero_and_stays():
    x = tg.tensor([0.5], dtype="float64", requires_grad=True)
    unused = tg.tensor([7.0, 8.0], dtype="float64", requires_grad=True)
    opt = optim.LBFGS([unused, x])

    def closure():
        opt.zero_grad()
        loss = (2 * (x - 3) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert x.item() == 3.0 and unused.tolist() == [7.0, 8.0]
    assert opt.state[unused]["d"].shape == (3,)       # state sits on the first parameter


def test_parameters_are_treated_as_one_flat_vector():
    # the MLP's four parameters follow exactly the path of one parameter holding all of them
    xs, losses, _ = run(optim.LBFGS, "mlp", tg, 3, line_search_fn="strong_wolfe")
    shapes = [a.shape for a in START["mlp"]]
    ends = np.cumsum([int(np.prod(s)) for s in shapes])
    flat = tg.tensor(np.concatenate([a.ravel() for a in START["mlp"]]), requires_grad=True)
    opt = optim.LBFGS([flat], line_search_fn="strong_wolfe")

    def closure():
        pieces = [part.reshape(s) for part, s in zip(np.split(flat.numpy(), ends[:-1]), shapes)]
        loss, grads = numpy_loss_and_grads("mlp", pieces)
        flat.grad = tg.tensor(np.concatenate([g.ravel() for g in grads]))
        return tg.tensor(loss)

    for i in range(3):
        assert opt.step(closure).item() == losses[i]
        np.testing.assert_array_equal(flat.numpy(), xs[i])


def test_step_returns_the_first_loss_and_runs_the_closure_with_grad_enabled():
    x = tg.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    opt = optim.LBFGS([x], max_iter=3)
    returned = []

    def closure():
        opt.zero_grad()
        assert tg.is_grad_enabled()
        loss = (x ** 4).sum()
        loss.backward()
        returned.append(loss)
        return loss

    with tg.no_grad():
        first = opt.step(closure)
    assert first is returned[0] and first.item() == 17.0
    assert len(returned) == 3       # the last iteration does not re-evaluate without a line search


def test_step_stops_at_once_when_the_gradient_is_already_small():
    x = tg.tensor([3.0], dtype="float64", requires_grad=True)
    opt = optim.LBFGS([x])

    def closure():
        opt.zero_grad()
        loss = ((x - 3) ** 2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 0.0
    assert opt.state[x] == {"func_evals": 1, "n_iter": 0}


def test_step_bumps_the_version_counter_of_the_parameters():
    x = tg.tensor([0.5], dtype="float64", requires_grad=True)
    y = (x * x).sum()       # saves x for backward
    opt = optim.LBFGS([x], max_iter=2)

    def closure():
        opt.zero_grad()
        loss = ((x - 3) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with pytest.raises(RuntimeError, match="inplace"):
        y.backward()


def test_state_dict_round_trip_resumes_identically(tmp_path):
    kwargs = {"history_size": 3, "line_search_fn": "strong_wolfe"}
    straight, _, _ = run(optim.LBFGS, "mlp", tg, 4, **kwargs)
    params = [tg.tensor(a, requires_grad=True) for a in START["mlp"]]
    opt = optim.LBFGS(params, **kwargs)
    for _ in range(2):
        opt.step(make_closure(opt, params, "mlp", tg))
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3] and list(sd["state"]) == [0]
    assert len(sd["state"][0]["old_dirs"]) == 3         # the history is full
    tg.save(sd, tmp_path / "opt.pt")
    resumed = optim.LBFGS(params, lr=0.5)          # the saved hyperparameters replace these
    resumed.load_state_dict(tg.load(tmp_path / "opt.pt"))
    assert resumed.param_groups[0]["lr"] == 1 and resumed.param_groups[0]["history_size"] == 3
    for i in (2, 3):
        resumed.step(make_closure(resumed, params, "mlp", tg))
        np.testing.assert_array_equal(np.concatenate([p.numpy().ravel() for p in params]), straight[i])


def test_state_dict_is_a_snapshot():
    params = [tg.tensor(X0, requires_grad=True)]
    opt = optim.LBFGS(params, max_iter=2)
    closure = make_closure(opt, params, "quadratic", tg)
    opt.step(closure)
    sd = opt.state_dict()
    d, old_dirs = sd["state"][0]["d"].numpy().copy(), [y.numpy().copy() for y in sd["state"][0]["old_dirs"]]
    opt.step(closure)
    np.testing.assert_array_equal(sd["state"][0]["d"].numpy(), d)
    assert [y.numpy().tolist() for y in sd["state"][0]["old_dirs"]] == [y.tolist() for y in old_dirs]


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_trajectory_is_the_same_on_every_device(device, line_search_fn):
    on_cpu, losses, _ = run(optim.LBFGS, "mlp", tg, 3, grads="autograd", line_search_fn=line_search_fn)
    there, there_losses, opt = run(optim.LBFGS, "mlp", tg, 3, device=device, grads="autograd",
                                   line_search_fn=line_search_fn)
    np.testing.assert_allclose(there, on_cpu, rtol=0, atol=1e-12)
    np.testing.assert_allclose(there_losses, losses, rtol=0, atol=1e-12)
    assert state_of(opt)["d"].device == opt.param_groups[0]["params"][0].device


# ----------------------------------------------------------------------------- errors

def test_parameter_groups_are_refused():
    a, b = (tg.zeros(2, requires_grad=True) for _ in range(2))
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = optim.LBFGS([a])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [b]})


def test_bad_hyperparameters_raise():
    x = tg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="LBFGS: invalid lr -1"):
        optim.LBFGS([x], lr=-1)
    opt = optim.LBFGS([x], line_search_fn="armijo")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(lambda: (x * x).sum())
    with pytest.raises(TypeError):
        opt.step()      # the closure is required


def test_parameters_on_two_devices_are_refused():
    with pytest.raises(ValueError, match="one device, got cpu, fake"):
        optim.LBFGS([tg.zeros(2, requires_grad=True), tg.zeros(2, device="fake", requires_grad=True)])


def test_default_max_eval_is_five_quarters_of_max_iter():
    x = tg.zeros(2, requires_grad=True)
    assert optim.LBFGS([x]).defaults["max_eval"] == 25
    assert optim.LBFGS([x], max_iter=7).defaults["max_eval"] == 8
    assert optim.LBFGS([x], max_iter=7, max_eval=3).defaults["max_eval"] == 3


# ----------------------------------------------------------------------------- PyTorch (optional)

# (problem, options, number of steps). Both libraries get bit-identical losses and gradients (the
# NumPy closures), so differences come from the optimizers' own rounding (PyTorch's add_(alpha=) is
# a fused multiply-add, its dot products sum in another order). On the ill-conditioned problems
# those differences grow exponentially over enough iterations, as they would between two builds of
# PyTorch; each case stops where they are still below 1e-12, a hundredth of the tolerance.
CASES = [
    ("quadratic", {"line_search_fn": "strong_wolfe", "max_iter": 2}, 3),
    ("quadratic", {"line_search_fn": "strong_wolfe", "history_size": 1, "max_iter": 2}, 3),
    ("quadratic", {"history_size": 3, "lr": 0.5, "max_iter": 3}, 4),
    ("quadratic", {"max_iter": 4}, 2),
    ("rosenbrock", {"line_search_fn": "strong_wolfe"}, 6),
    ("rosenbrock", {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 5}, 3),
    ("rosenbrock", {"max_iter": 4}, 6),
    ("rosenbrock", {"history_size": 2, "max_iter": 3, "lr": 0.8}, 8),
    ("rosenbrock", {"history_size": 1, "max_iter": 5}, 2),
    ("mlp", {"line_search_fn": "strong_wolfe"}, 6),
    ("mlp", {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 7}, 5),
    ("mlp", {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 5}, 5),
    ("mlp", {}, 6),
    ("mlp", {"history_size": 1, "max_iter": 5}, 4),
    ("mlp", {"history_size": 2, "max_iter": 3, "lr": 0.8}, 8),
]


@pytest.mark.parametrize("name, kwargs, steps", CASES,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}"
                              for n, kw, _ in CASES])
def test_trajectory_matches_pytorch(name, kwargs, steps):
    torch = pytest.importorskip("torch")
    ours, our_losses, opt = run(optim.LBFGS, name, tg, steps, **kwargs)
    theirs, their_losses, topt = run(torch.optim.LBFGS, name, torch, steps, **kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-10, atol=1e-12)
    ours_state, their_state = state_of(opt), state_of(topt)
    for key in ("func_evals", "n_iter"):
        assert ours_state[key] == their_state[key], key
    # gradients (and so d and the y_i) carry the parameters' differences multiplied by the
    # curvature, up to ~1e3 on the Rosenbrock function: compared relative to their size
    for key in ("d", "prev_flat_grad"):
        np.testing.assert_allclose(ours_state[key].numpy(), their_state[key].numpy(), rtol=1e-7, atol=1e-9)
    for key in ("t", "H_diag", "prev_loss"):
        assert ours_state[key] == pytest.approx(float(their_state[key]), rel=1e-7, abs=1e-12), key
    for key in ("old_dirs", "old_stps"):
        assert len(ours_state[key]) == len(their_state[key])
        for a, b in zip(ours_state[key], their_state[key]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-7, atol=1e-9)


def test_trajectory_with_autograd_closures_matches_pytorch():
    # each library differentiates the MLP itself: the gradients differ in the last bits only
    torch = pytest.importorskip("torch")
    kwargs = {"line_search_fn": "strong_wolfe", "history_size": 5}
    ours, _, _ = run(optim.LBFGS, "mlp", tg, 3, grads="autograd", **kwargs)
    theirs, _, _ = run(torch.optim.LBFGS, "mlp", torch, 3, grads="autograd", **kwargs)
    # last-bit differences in the gradients grow about 100 times per step of the line search:
    # measured under every BLAS kernel family this CPU runs (Prescott ... SkylakeX), the largest
    # difference after steps 1, 2, 3 was 3.6e-14, 3.9e-12 and 4.8e-10 (SkylakeX: 4.2e-11), so each
    # step's bound leaves a factor of 20 or more (a wrong update is off by far more)
    for step, atol in enumerate((1e-12, 1e-10, 1e-8)):
        np.testing.assert_allclose(ours[step], theirs[step], rtol=0, atol=atol, err_msg=f"step {step + 1}")


def test_pytorch_state_dict_loads_and_continues_identically():
    torch = pytest.importorskip("torch")
    kwargs = {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 5}
    tparams = [torch.tensor(a, requires_grad=True) for a in START["mlp"]]
    topt = torch.optim.LBFGS(tparams, **kwargs)
    topt.step(make_closure(topt, tparams, "mlp", torch))
    params = [tg.tensor(q.detach().numpy(), requires_grad=True) for q in tparams]
    opt = optim.LBFGS(params, lr=0.25)        # the loaded hyperparameters replace these
    opt.load_state_dict(topt.state_dict())
    assert opt.param_groups[0]["lr"] == 1 and opt.param_groups[0]["max_iter"] == 5
    assert isinstance(state_of(opt)["H_diag"], float) and state_of(opt)["d"].dtype == np.float64
    for _ in range(3):
        topt.step(make_closure(topt, tparams, "mlp", torch))
        opt.step(make_closure(opt, params, "mlp", tg))
        for p, q in zip(params, tparams):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=0, atol=1e-10)


def test_lstm_cell_sequence_model_trains_as_in_pytorch():
    # the shape of PyTorch's time-sequence-prediction example: two LSTMCells and a Linear stepped
    # over a sine wave, trained with L-BFGS; the same weights give the same losses and parameters
    torch = pytest.importorskip("torch")
    rng_data = np.random.default_rng(0)
    T, batch, hidden = 8, 3, 5
    wave = np.sin(np.arange(T + 1)[None, :] / 3.0 + rng_data.uniform(0, 6, (batch, 1)))

    def build(lib, lib_nn):
        class Sequence(lib_nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm1 = lib_nn.LSTMCell(1, hidden, dtype=lib.float64)
                self.lstm2 = lib_nn.LSTMCell(hidden, hidden, dtype=lib.float64)
                self.linear = lib_nn.Linear(hidden, 1, dtype=lib.float64)

            def forward(self, x):
                h1 = c1 = h2 = c2 = lib.zeros(x.shape[0], hidden, dtype=lib.float64)
                outputs = []
                for t in range(x.shape[1]):
                    h1, c1 = self.lstm1(x[:, t:t + 1], (h1, c1))
                    h2, c2 = self.lstm2(h1, (h2, c2))
                    outputs.append(self.linear(h2))
                return lib.cat(outputs, 1)
        return Sequence()

    ours, theirs = build(tg, tg.nn), build(torch, torch.nn)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    results = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)      # tiny ops: PyTorch's thread pool would only wait on busy cores
    try:
        for model, lib, opt_class in ((ours, tg, optim.LBFGS), (theirs, torch, torch.optim.LBFGS)):
            results.append(_train_two_steps(model, lib, opt_class, wave))
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=0, atol=1e-10, err_msg=name)


def _train_two_steps(model, lib, opt_class, wave):
    x, y = lib.tensor(wave[:, :-1]), lib.tensor(wave[:, 1:])
    opt = opt_class(model.parameters(), lr=0.8, max_iter=4)

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    return [float(opt.step(closure).detach().numpy()) for _ in range(2)]

