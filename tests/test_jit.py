"""tg.jit: a replayed step gives exactly what the eager step gives, call after call.

Truth: the same step run eagerly from the same state (same seed, same data). Every comparison is
exact (the program calls the same NumPy functions on the same arrays in the same order), so any
difference, even in the last bit, is a bug. Each test runs the step over several calls with new
data each time: the first two record (the second checks the first), the others replay.
"""
import copy

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.jit import JitError

F = nn.functional
CALLS = 5


def _values(obj):
    """Everything a step returned or changed, as NumPy arrays / Python values, for comparison."""
    if isinstance(obj, tg.Tensor):
        return ("T", obj.dtype.str, obj.numpy().copy())
    if isinstance(obj, (tuple, list)):
        return type(obj)(_values(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _values(v) for k, v in obj.items()}
    return obj


def _same(a, b, where="result"):
    if isinstance(a, tuple) and len(a) == 3 and a[0] == "T":
        assert isinstance(b, tuple) and b[0] == "T" and a[1] == b[1], (where, a, b)
        assert a[2].shape == b[2].shape and np.array_equal(a[2], b[2], equal_nan=True), \
            f"{where}: eager {a[2]} != jit {b[2]}"
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, float) and a != a:
        assert b != b, where
    else:
        assert a == b, f"{where}: eager {a!r} != jit {b!r}"


def run_both(make, batches, calls=CALLS):
    """``make()`` -> (step, state): a step function and the tensors/modules it changes. Runs the
    step eagerly and under tg.jit from the same seed; returns the jitted function."""
    results = []
    for use_jit in (False, True):
        tg.manual_seed(0)
        step, state = make()
        fn = tg.jit(step) if use_jit else step
        outs = [_values(fn(*batches(i))) for i in range(calls)]
        results.append((outs, _values(state() if callable(state) else state), fn))
    (eager, state_e, _), (jitted, state_j, fn) = results
    for i, (a, b) in enumerate(zip(eager, jitted)):
        _same(a, b, f"call {i}")
    _same(state_e, state_j, "state after the calls")
    assert fn.replays == calls - 2, (fn.replays, fn.recordings)
    return fn


def batches_of(*shapes, seed=1, ints=None):
    rng = np.random.default_rng(seed)
    data = [[tg.tensor(rng.normal(size=s).astype(np.float32)) for s in shapes] for _ in range(CALLS)]
    if ints is not None:
        high, shape = ints
        for d in data:
            d.append(tg.tensor(rng.integers(0, high, shape)))
    return lambda i: data[i]


def params(model):
    return [p for p in model.parameters()] + [p.grad for p in model.parameters()] + list(model.buffers())


# ----------------------------------------------------------------------------- training steps

def _training(model_fn, loss_fn, opt_fn=lambda p: tg.optim.SGD(p, lr=0.05), extra=None):
    def make():
        model = model_fn()
        opt = opt_fn(model.parameters())

        def step(*batch):
            opt.zero_grad()
            loss = loss_fn(model, *batch)
            loss.backward()
            if extra is not None:
                extra(model, opt)
            opt.step()
            return loss
        return step, params(model)
    return make


def test_mlp_with_cross_entropy_dropout_and_adam():
    make = _training(lambda: nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 4)),
                     lambda m, x, y: F.cross_entropy(m(x), y), lambda p: tg.optim.Adam(p, lr=1e-2))
    run_both(make, batches_of((6, 8), ints=(4, (6,))))


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam",
                                  "Adamax", "Adadelta"])
def test_every_optimizer_steps_as_in_eager(name):
    kwargs = {"SGD": dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
              "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
              "Adam": dict(lr=0.01, amsgrad=True)}.get(name, dict(lr=0.01))
    opt_fn = lambda p: getattr(tg.optim, name)(p, **kwargs)   # noqa: E731
    make = _training(lambda: nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1)),
                     lambda m, x, y: F.mse_loss(m(x), y), opt_fn)
    run_both(make, batches_of((4, 3), (4, 1)))


@pytest.mark.parametrize("sched", ["StepLR", "ExponentialLR", "CosineAnnealingLR", "OneCycleLR",
                                   "CyclicLR", "LinearLR", "ReduceLROnPlateau"])
def test_schedulers_change_the_learning_rate_as_in_eager(sched):
    def make():
        model = nn.Linear(3, 2)
        opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        s = {"StepLR": lambda: tg.optim.lr_scheduler.StepLR(opt, 2, 0.5),
             "ExponentialLR": lambda: tg.optim.lr_scheduler.ExponentialLR(opt, 0.7),
             "CosineAnnealingLR": lambda: tg.optim.lr_scheduler.CosineAnnealingLR(opt, 4),
             "OneCycleLR": lambda: tg.optim.lr_scheduler.OneCycleLR(opt, 0.5, total_steps=10),
             "CyclicLR": lambda: tg.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2),
             "LinearLR": lambda: tg.optim.lr_scheduler.LinearLR(opt, 0.5, 1.0, 3),
             "ReduceLROnPlateau": lambda: tg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)}[sched]()

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            s.step(loss) if sched == "ReduceLROnPlateau" else s.step()
            return loss
        return step, lambda: params(model) + [opt.param_groups[0]["lr"]]
    run_both(make, batches_of((4, 3), (4, 2)))


def test_gradient_clipping_by_norm_and_value():
    def clip(model, opt):
        nn.utils.clip_grad_norm_(model.parameters(), 0.3)
        nn.utils.clip_grad_value_(model.parameters(), 0.05)
    make = _training(lambda: nn.Linear(4, 3), lambda m, x, y: F.mse_loss(m(x), y), extra=clip)
    run_both(make, batches_of((5, 4), (5, 3)))


def test_conv_pool_batchnorm_step():
    model = lambda: nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),  # noqa: E731
                                  nn.MaxPool2d(2), nn.Conv2d(3, 2, 2), nn.AvgPool2d(2), nn.Flatten(),
                                  nn.Dropout(0.2), nn.Linear(2, 3))
    make = _training(model, lambda m, x, y: F.cross_entropy(m(x), y), lambda p: tg.optim.Adam(p, 1e-2))
    run_both(make, batches_of((4, 1, 6, 6), ints=(3, (4,))))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("fused", [True, False])
def test_recurrent_layers_fused_and_reference(kind, fused):
    def loss(m, x, y):
        out, _ = m[0](x)
        return F.mse_loss(m[1](out[-1]), y)
    make = _training(lambda: nn.ModuleList([getattr(nn, kind)(3, 5, num_layers=2, fused=fused),
                                            nn.Linear(5, 2)]), loss,
                     lambda p: tg.optim.Adam(p, 1e-2))
    run_both(make, batches_of((6, 4, 3), (4, 2)))


def test_truncated_bptt_carries_the_state_in_as_an_argument():
    def make():
        lstm, head = nn.LSTM(2, 4), nn.Linear(4, 1)
        opt = tg.optim.Adam(list(lstm.parameters()) + list(head.parameters()), 1e-2)

        def step(x, y, h, c):
            opt.zero_grad()
            out, (h, c) = lstm(x, (h, c))
            loss = F.mse_loss(head(out), y)
            loss.backward()
            opt.step()
            return loss, h.detach(), c.detach()
        return step, params(lstm) + params(head)

    results = []
    for use_jit in (False, True):
        tg.manual_seed(0)
        step, state = make()
        fn = tg.jit(step) if use_jit else step
        rng = np.random.default_rng(3)
        h = c = tg.zeros(1, 3, 4)
        outs = []
        for _ in range(CALLS):
            x = tg.tensor(rng.normal(size=(5, 3, 2)).astype(np.float32))
            y = tg.tensor(rng.normal(size=(5, 3, 1)).astype(np.float32))
            loss, h, c = fn(x, y, h, c)
            outs.append(_values((loss, h, c)))
        results.append((outs, _values(state)))
    _same(results[0], results[1])


def test_embedding_and_packed_sequences():
    def loss(m, ids, y):
        out, _ = m[1](m[0](ids))
        return F.cross_entropy(m[2](out).reshape(-1, 5), y.reshape(-1))
    make = _training(lambda: nn.ModuleList([nn.Embedding(7, 3, padding_idx=0), nn.GRU(3, 4),
                                            nn.Linear(4, 5)]), loss)
    rng = np.random.default_rng(4)
    data = [(tg.tensor(rng.integers(0, 7, (4, 2))), tg.tensor(rng.integers(0, 5, (4, 2))))
            for _ in range(CALLS)]
    run_both(make, lambda i: data[i])


def test_transformer_encoder_layer():
    make = _training(lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True),
                     lambda m, x, y: F.mse_loss(m(x), y), lambda p: tg.optim.Adam(p, 1e-3))
    run_both(make, batches_of((2, 3, 8), (2, 3, 8)))


# ----------------------------------------------------------------------------- op families

OPS = {
    "elementwise": lambda x, y: ((x * y + x / (y.abs() + 1) - y).exp().log1p().sqrt()
                                 + x.sin() * y.cos() + x.tanh().sigmoid() + x.relu() ** 2
                                 + F.gelu(x) + F.softplus(y) + x.clamp(-0.5, 0.5) + tg.where(x > y, x, y)),
    "reductions": lambda x, y: (x.sum(0) + x.mean(1, keepdim=True).sum() + x.amax(1).sum()
                                + x.var(0) + x.std(1).sum() + x.logsumexp(1).sum() + x.prod(1).sum()
                                + x.norm() + (x * y).max(1).values.sum()),
    "shapes": lambda x, y: (x.reshape(3, 4).T @ y.reshape(3, 4) + tg.cat([x, y], 0).reshape(4, 6)[:, :4].sum()
                            + x.permute(1, 0).flip(0).sum() + tg.stack([x, y]).sum(0).sum()
                            + x.unsqueeze(0).expand(2, 2, 6).sum() + x.split(2, 1)[1].sum()),
    "indexing": lambda x, y: (x[1, 2:] + x[:, [0, 2, 2, 5]].sum() + x.gather(1, tg.tensor([[0, 1], [2, 3]])).sum()
                              + x.masked_fill(x > 0, 0.5).sum() + x.index_select(1, tg.tensor([1, 3])).sum()),
    "softmax_and_losses": lambda x, y: (x.softmax(1) * y.log_softmax(1)).sum() + F.mse_loss(x, y)
                                       + F.smooth_l1_loss(x, y) + F.binary_cross_entropy_with_logits(x, y.sigmoid()),
    "linalg": lambda x, y: tg.einsum("ii->", x @ y.T) + tg.einsum("ij,kj->ik", x, y).sum() + (x.T @ y).sum(),
    "normalization": lambda x, y: F.layer_norm(x, (6,)).sum() + F.normalize(y, dim=1).sum(),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_families_forward_and_backward(name):
    def make():
        w = tg.tensor(np.linspace(-1, 1, 12).reshape(2, 6).astype(np.float32), requires_grad=True)

        def step(x, y):
            out = OPS[name](x * w, y)
            out.sum().backward()
            g = w.grad.clone()
            w.grad = None
            return out, g
        return step, [w]
    run_both(make, batches_of((2, 6), (2, 6)))


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_families_under_no_grad(name):
    def make():
        def step(x, y):
            with tg.no_grad():
                return OPS[name](x, y)
        return step, []
    run_both(make, batches_of((2, 6), (2, 6)))


def test_second_derivatives_inside_the_step():
    def make():
        w = tg.tensor([0.3, -0.2, 0.5], requires_grad=True)

        def step(x):
            g, = tg.autograd.grad(((w * x).tanh() ** 3).sum(), w, create_graph=True)
            (g * g).sum().backward()
            out = w.grad.clone()
            w.grad = None
            return out
        return step, [w]
    run_both(make, batches_of((3,)))


# ----------------------------------------------------------------------------- what the user sees

def test_returned_tensors_are_not_overwritten_by_the_next_call():
    fast = tg.jit(lambda x: (x * 2 + 1).relu())
    xs = [tg.tensor([1.0, -2.0, 3.0]) * k for k in (1, 2, 3, 4)]
    outs = [fast(x) for x in xs]
    for x, out in zip(xs, outs):
        np.testing.assert_array_equal(out.numpy(), np.maximum(x.numpy() * 2 + 1, 0))


def test_a_returned_loss_requires_grad_and_its_graph_is_gone_as_in_eager():
    w = tg.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        loss = (w * x).sum()
        loss.backward()
        return loss
    fast = tg.jit(step)
    for k in range(3):
        loss = fast(tg.tensor([1.0, float(k)]))
    assert loss.requires_grad and loss.grad_fn is not None
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_a_branch_on_a_value_is_guarded_and_falls_back_to_eager():
    def step(x):
        s = x.sum()
        return x * 2 if s.item() > 0 else x * -1
    fast = tg.jit(step)
    for v in (1.0, 2.0, 3.0, -1.0, 4.0, -5.0):
        x = tg.tensor([v, 0.5])
        np.testing.assert_array_equal(fast(x).numpy(), step(x).numpy())
    assert fast.guard_failures >= 1


def test_a_returned_item_is_recomputed_not_guarded():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = ((w * x).sum() - 1) ** 2
        loss.backward()
        opt.step()
        return loss.item()
    fast = tg.jit(step)
    got = [fast(tg.tensor([1.0, float(k)])) for k in range(5)]
    assert fast.replays == 3 and fast.guard_failures == 0
    w2 = tg.tensor([1.0, 2.0], requires_grad=True)
    opt2 = tg.optim.SGD([w2], lr=0.1)
    want = []
    for k in range(5):
        opt2.zero_grad()
        loss = ((w2 * tg.tensor([1.0, float(k)])).sum() - 1) ** 2
        loss.backward()
        opt2.step()
        want.append(loss.item())
    assert got == want


def test_new_shapes_record_again_and_too_many_run_eagerly_with_a_warning():
    fast = tg.jit(lambda x: x * 3, max_recordings=2)
    for n in (1, 2):
        for _ in range(3):
            assert fast(tg.ones(n)).tolist() == [3.0] * n
    with pytest.warns(UserWarning, match="new ones run eagerly"):
        assert fast(tg.ones(3)).tolist() == [3.0] * 3
    assert fast.recordings == 2


def test_version_counters_move_as_in_eager():
    def make():
        w = tg.tensor([1.0, 2.0], requires_grad=True)
        b = tg.zeros(2)
        opt = tg.optim.SGD([w], lr=0.1)

        def step(x):
            opt.zero_grad()
            (w * x).sum().backward()
            opt.step()
            with tg.no_grad():
                b.add_(x)
            return b * 1
        return step, lambda: [w, b, w._version, b._version]
    run_both(make, batches_of((2,)))


def test_dropout_draws_the_same_masks_as_eager_from_the_same_seed():
    def make():
        def step(x):
            return F.dropout(x, 0.5), tg.rand(3)
        return step, []
    run_both(make, batches_of((20,)))


# ----------------------------------------------------------------------------- what is refused

def test_hooks_are_refused():
    w = tg.tensor([1.0], requires_grad=True)
    w.register_hook(lambda g: g * 2)
    fast = tg.jit(lambda x: (w * x).sum().backward())
    with pytest.raises(JitError, match="hooks"):
        fast(tg.tensor([1.0]))


def test_random_numbers_drawn_outside_an_op_are_refused():
    gen = tg.Generator(0)
    fast = tg.jit(lambda x: x * tg.tensor(gen.numpy.random(2).astype(np.float32)))
    with pytest.raises(JitError, match="random numbers"):
        fast(tg.ones(2))


def test_a_live_graph_returned_is_refused():
    w = tg.tensor([1.0], requires_grad=True)
    fast = tg.jit(lambda x: w * x)
    with pytest.raises(JitError, match="graph is still alive"):
        fast(tg.tensor([2.0]))


def test_a_constant_computed_from_the_data_outside_the_ops_is_caught_by_the_second_recording():
    def step(x):
        shifted = tg.tensor(x.numpy() - x.numpy().mean())     # NumPy on the data: a constant
        return shifted * 2
    fast = tg.jit(step)
    fast(tg.tensor([1.0, 2.0]))
    with pytest.raises(JitError, match="differs between two calls"):
        fast(tg.tensor([5.0, 9.0]))


def test_the_program_reads_by_name_and_leaves_out_what_nothing_uses():
    """``fast.code()`` names what it calls (``matmul_4``, ``Optimizer_step_15``); the gradient of
    the target ``y``, which needs none, is computed by eager's subtraction backward but no later
    line reads it, so the program leaves it out (and the update is still eager's)."""
    tg.manual_seed(0)
    model = nn.Linear(3, 1)
    twin = copy.deepcopy(model)
    opts = [tg.optim.SGD(m.parameters(), lr=0.1) for m in (model, twin)]

    def make(m, opt):
        def step(x, y):
            loss = nn.functional.mse_loss(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return step
    fast, slow = tg.jit(make(model, opts[0])), make(twin, opts[1])
    x, y = tg.tensor(np.arange(12, dtype=np.float32).reshape(4, 3) / 10), tg.tensor([[1.0], [0.0], [2.0], [-1.0]])
    for _ in range(4):
        assert fast(x, y).item() == slow(x, y).item()
    code = fast.code()
    assert "matmul_" in code and "Optimizer_step_" in code and "Optimizer_zero_grad_" in code
    assert "negative" not in code              # d loss / d y = -(d loss / d diff): left out
    np.testing.assert_array_equal(model.weight.numpy(), twin.weight.numpy())


def test_tensors_the_library_wraps_inside_the_step_are_constants_of_the_recording():
    """argsort's indices are made by ``Tensor.wrap`` outside any op: the recording must treat
    them as its own constants, not as tensors from outside (which the program would read afresh,
    changed by the step itself: 11, 11, then 17 for a step that adds to them in place)."""
    def bumps_indices(x):
        i = x.argsort()
        i.add_(1)
        return (x * i).sum()
    fast = tg.jit(bumps_indices)
    with pytest.raises(JitError, match="changes in place a tensor"):
        for _ in range(4):
            fast(tg.tensor([3.0, 1.0, 2.0]))

    def uses_indices(x):                 # indices computed from the data, outside the ops
        return (x * x.argsort()).sum()
    fast = tg.jit(uses_indices)
    fast(tg.tensor([3.0, 1.0, 2.0]))
    with pytest.raises(JitError, match="differs between two calls"):
        fast(tg.tensor([1.0, 3.0, 2.0]))
