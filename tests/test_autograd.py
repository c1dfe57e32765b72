"""The backward engine: accumulation, retain_graph, detach and no_grad, freed graphs, memory (no
reference cycles), hooks, higher derivatives, custom Functions. Numbers are worked by hand or are
closed-form derivatives."""
import gc
import math
import threading
import weakref

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.autograd import Function
from tinygrad_rnn.testing import gradcheck, gradgradcheck


def leaf(values, device, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, device=device, requires_grad=True)


@pytest.fixture
def no_gc():
    """Reference counting alone must free graphs: the cycle collector stays off during the test."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if was:
        gc.enable()


# ----------------------------------------------------------------------------- accumulation

def test_a_tensor_used_twice_gets_the_sum_of_both_gradients(device):
    x = leaf([1.0, -2.0], device)
    (x * x + 3 * x).sum().backward()                 # d/dx (x^2 + 3x) = 2x + 3
    assert x.grad.tolist() == [5.0, -1.0]


def test_diamond_graph_gradient_adds_both_paths(device):
    x = leaf(0.5, device)
    a = x.exp()
    (a * a.sin() + a).backward()                      # d/dx (e^x sin e^x + e^x)
    e = np.exp(0.5)
    assert x.grad.item() == pytest.approx(e * np.sin(e) + e * e * np.cos(e) + e, rel=1e-12)


def test_backward_twice_with_retain_graph_accumulates(device):
    x = leaf([1.0, 2.0], device)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]              # 2 * (2x)


def test_backward_accumulates_into_existing_grad_until_zeroed(device):
    x = leaf([3.0], device)
    (2 * x).sum().backward()
    (5 * x).sum().backward()
    assert x.grad.tolist() == [7.0]
    x.grad = None
    (5 * x).sum().backward()
    assert x.grad.tolist() == [5.0]


def test_leaf_gradients_do_not_share_memory(device):
    a, b = leaf([1.0], device), leaf([1.0], device)
    (a + b).sum().backward()
    a.grad.array[...] = 42.0
    assert b.grad.tolist() == [1.0]


def test_gradient_argument_weights_a_non_scalar_output(device):
    x = leaf([1.0, 2.0, 3.0], device)
    (x * x).backward(gradient=tg.tensor([1.0, 0.0, -1.0], dtype=tg.float64, device=device))
    assert x.grad.tolist() == [2.0, 0.0, -6.0]


def test_gradient_reaches_a_float32_leaf_as_float32(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x.double() ** 2).sum().backward()
    assert x.grad.dtype == np.float32
    assert x.grad.tolist() == [2.0, 4.0]


# ----------------------------------------------------------------------------- stopping gradients

def test_detach_stops_the_gradient(device):
    x = leaf([2.0], device)
    y = x * x.detach()                                # d/dx = x (the detached factor is constant)
    y.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_detach_shares_data_and_has_no_history(device):
    x = leaf([1.0, 2.0], device)
    y = (x * 2).detach()
    assert y.grad_fn is None and not y.requires_grad and y.is_leaf


def test_no_grad_records_no_graph(device):
    x = leaf([1.0], device)
    with tg.no_grad():
        y = x * 2
    assert y.grad_fn is None and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_no_grad_saves_no_buffers(device, no_gc):
    x = leaf([1.0, 2.0], device)
    t = x * 2
    y = t * x                                         # Mul saves its inputs when recording
    kept = weakref.ref(t)
    del t
    assert kept() is not None                         # control: the graph holds it for backward
    del y
    with tg.no_grad():
        t = x * 2
        y = t * x
        dropped = weakref.ref(t)
        del t
    assert dropped() is None


def test_enable_grad_inside_no_grad_records_again(device):
    x = leaf([1.0], device)
    with tg.no_grad():
        with tg.enable_grad():
            y = x * 3
        z = x * 3
    assert y.requires_grad and not z.requires_grad


def test_no_grad_and_enable_grad_work_as_decorators(device):
    x = leaf([1.0], device)

    @tg.no_grad()
    def off():
        return x * 2, tg.is_grad_enabled()

    @tg.enable_grad()
    def on():
        return x * 2

    y, flag = off()
    assert not flag and not y.requires_grad
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert on().requires_grad


def test_set_grad_enabled_false_turns_recording_off(device):
    x = leaf([1.0], device)
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()


def test_grad_mode_is_thread_local(device):
    x = leaf([1.0], device)
    inside, checked = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with tg.no_grad():
            inside.set()
            checked.wait(5)
            seen["worker"] = tg.is_grad_enabled()

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    try:
        assert tg.is_grad_enabled()                   # the other thread's no_grad is not ours
        assert (x * 2).requires_grad
    finally:
        checked.set()
        t.join()
    assert seen["worker"] is False


# ----------------------------------------------------------------------------- freed graphs, memory

def test_second_backward_through_a_freed_graph_explains_what_to_do(device):
    x = leaf([1.0, 2.0], device)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError) as e:
        y.backward()
    assert "retain_graph=True" in str(e.value) and "detach" in str(e.value)


def test_intermediate_tensor_is_freed_after_backward(device, no_gc):
    x = leaf([1.0, 2.0], device)
    t = x * x
    y = (t * t).sum()                                 # t is saved for backward
    kept = weakref.ref(t)
    del t
    assert kept() is not None
    y.backward()
    assert kept() is None                             # backward freed the saved buffers


def test_graph_has_no_reference_cycles(device, no_gc):
    x = leaf([1.0, 2.0], device)
    y = (x.exp() * x).tanh().sum()
    nodes = []
    node = y.grad_fn
    while node is not None:                           # walk the chain of nodes back to x
        nodes.append(weakref.ref(node))
        edge = next(e for e in node._edges if e is not None)
        node = edge[0] if isinstance(edge, tuple) else None
    out = weakref.ref(y)
    assert len(nodes) >= 3
    del y, node
    assert out() is None
    assert all(r() is None for r in nodes)           # freed by reference counting alone


def test_dropping_the_output_before_backward_of_a_saved_output_still_works(device):
    x = leaf([0.3], device)
    y = x.exp()                                       # Exp saves its output
    z = (y * 2).sum()
    del y
    z.backward()
    assert x.grad.item() == pytest.approx(2 * np.exp(0.3), rel=1e-12)


# ----------------------------------------------------------------------------- .grad of non-leaves

def test_non_leaf_grad_is_none_unless_retained(device):
    x = leaf([1.0, 2.0], device)
    h = x * 3
    k = x * 3
    k.retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    assert k.grad.tolist() == [3.0, 6.0]              # d/dk (h k) = h
    assert k.retains_grad and not k.is_leaf


def test_hook_can_replace_a_gradient(device):
    x = leaf([1.0, 2.0], device)
    x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    assert x.grad.tolist() == [20.0, 40.0]


def test_hook_on_an_intermediate_changes_what_flows_upstream(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    h.register_hook(lambda g: g * 0 + 1)             # pretend dL/dh = 1
    (h * h).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_hook_returning_none_observes_and_can_be_removed(device):
    x = leaf([1.0], device)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()))
    (x * 4).sum().backward()
    handle.remove()
    (x * 4).sum().backward()
    assert seen == [[4.0]]
    assert x.grad.tolist() == [8.0]


def test_implicit_gradient_needs_a_scalar_output(device):
    x = leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_integer_tensors_cannot_require_grad(device):
    with pytest.raises(TypeError, match="only floating point tensors"):
        tg.tensor([1, 2], device=device, requires_grad=True)
    with pytest.raises(TypeError, match="only floating point tensors"):
        tg.tensor([1, 2], device=device).requires_grad_()


def test_integer_results_never_require_grad(device):
    x = leaf([1.0, 2.0], device)
    assert not (x > 1).requires_grad
    assert not x.argmax().requires_grad


# ----------------------------------------------------------------------------- higher order

@pytest.mark.parametrize("name,fn,second", [
    ("x**3", lambda x: x ** 3, lambda v: 6 * v),
    ("tanh", lambda x: x.tanh(), lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
    ("sigmoid", lambda x: x.sigmoid(),
     lambda v: np.exp(-v) * (np.exp(-v) - 1) / (1 + np.exp(-v)) ** 3),
    ("exp*sin", lambda x: x.exp() * x.sin(), lambda v: 2 * np.exp(v) * np.cos(v)),
])
def test_second_derivative_matches_closed_form(name, fn, second, device):
    v = np.array([-1.3, -0.2, 0.4, 1.7])
    x = leaf(v, device)
    g, = tg.autograd.grad(fn(x).sum(), x, create_graph=True)
    gg, = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), second(v), rtol=1e-10)


def test_third_derivative_of_x_to_the_fourth(device):
    x = leaf(1.5, device)
    g1, = tg.autograd.grad(x ** 4, x, create_graph=True)
    g2, = tg.autograd.grad(g1, x, create_graph=True)
    g3, = tg.autograd.grad(g2, x)
    assert (g1.item(), g2.item(), g3.item()) == pytest.approx((4 * 1.5 ** 3, 12 * 1.5 ** 2, 24 * 1.5))


def test_second_derivative_through_a_saved_scalar_output(device):
    # regression: a 0-d output saved for backward (exp of a sum) must stay on the graph
    x = leaf([0.3, 0.4], device)
    g, = tg.autograd.grad((x * x).sum().exp(), x, create_graph=True)
    h0, = tg.autograd.grad(g[0], x)
    e = np.exp(0.25)                                  # d/dx_j [2 x_0 e^s] = 2 e^s d0j + 4 x_0 x_j e^s
    np.testing.assert_allclose(h0.numpy(), [2 * e + 4 * 0.09 * e, 4 * 0.3 * 0.4 * e], rtol=1e-12)


def test_backward_with_create_graph_gives_differentiable_grad(device):
    x = leaf([2.0], device)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    x.grad.sum().backward()                           # adds d/dx (3 x^2) = 6x = 12 to x.grad
    assert x.grad.tolist() == [24.0]


def test_autograd_grad_leaves_dot_grad_alone(device):
    x = leaf([1.0, 2.0], device)
    g, = tg.autograd.grad((x * x).sum(), x)
    assert g.tolist() == [2.0, 4.0] and x.grad is None


def test_autograd_grad_of_an_unused_input(device):
    x, unused = leaf([1.0], device), leaf([1.0], device)
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = tg.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None


def test_autograd_grad_with_respect_to_an_intermediate(device):
    x = leaf([1.0, 2.0], device)
    h = x * 3
    g, = tg.autograd.grad((h * h).sum(), h)
    assert g.tolist() == [6.0, 12.0]


# ----------------------------------------------------------------------------- custom Functions

class Cube(Function):
    """x^3 with a hand-written backward, as a user would write it (PyTorch's style)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * g * x * x


class ScaledSum(Function):
    """Several inputs of one shape, one of them not a tensor: ``sum(a * b) * k``."""

    @staticmethod
    def forward(ctx, a, b, k):
        ctx.save_for_backward(a, b)
        ctx.k = k
        return (a * b).sum() * k

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b * ctx.k, g * a * ctx.k, None


def test_custom_function_gradient_matches_finite_differences(device):
    x = leaf([-1.2, 0.3, 2.0], device)
    assert gradcheck(Cube.apply, x)
    a, b = leaf([[1.0, 2.0], [0.1, -0.3]], device), leaf([[0.5, 0.7], [-1.5, 2.5]], device)
    assert gradcheck(lambda p, q: ScaledSum.apply(p, q, 3.0), a, b)


def test_custom_function_second_derivative_with_create_graph(device):
    x = leaf([-1.2, 0.3, 2.0], device)
    assert gradgradcheck(Cube.apply, x)
    g, = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    gg, = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.numpy())


def test_custom_function_is_a_node_of_the_graph(device):
    x = leaf([2.0], device)
    y = Cube.apply(x)
    assert isinstance(y.grad_fn, Cube) and y.requires_grad
    with tg.no_grad():
        assert Cube.apply(x).grad_fn is None


# ----------------------------------------------------------------------------- leaf gradients own their memory
# The engine hands a leaf the gradient array it computed instead of copying it, but only when no
# one else holds that array: these would alias otherwise.

def _set_zero(t):
    t.grad.array[...] = 0


def test_one_gradient_array_given_to_two_leaves_is_copied(device):
    a = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = tg.tensor([3.0, 4.0], device=device, requires_grad=True)
    (a + b).backward(tg.tensor([5.0, 6.0], device=device))
    _set_zero(a)
    assert b.grad.tolist() == [5.0, 6.0]


def test_the_callers_gradient_is_never_adopted(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    g = tg.tensor([5.0, 6.0], device=device)
    x.clone().backward(g)
    _set_zero(x)
    assert g.tolist() == [5.0, 6.0]


def test_a_retained_gradient_and_a_leaf_gradient_do_not_alias(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x.clone()
    h.retain_grad()
    (h * 2).backward(tg.tensor([1.0, 1.0], device=device))
    _set_zero(x)
    assert h.grad.tolist() == [2.0, 2.0]


def test_a_gradient_a_hook_saw_is_not_adopted(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    kept = []
    h = x * 3
    h.register_hook(kept.append)
    h2 = h.clone()
    h2.backward(tg.tensor([1.0, 1.0], device=device))
    _set_zero(x)
    assert kept[0].tolist() == [1.0, 1.0]


def test_fresh_gradients_are_adopted_and_stay_correct(device):
    w = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    b = tg.tensor([0.5, -0.5], device=device, requires_grad=True)
    x = tg.tensor([[1.0, 1.0], [2.0, 0.0]], device=device)
    (x @ w + b).sum().backward()
    assert w.grad.tolist() == [[3.0, 3.0], [1.0, 1.0]] and b.grad.tolist() == [2.0, 2.0]
    _set_zero(w)                    # the grad is writable memory of its own
    assert b.grad.tolist() == [2.0, 2.0]


def test_hooks_on_intermediates_fire_even_after_the_tensor_object_is_gone():
    # h = cell(x, h) in a loop rebinds h: every step's hook must still fire (as in PyTorch)
    w = tg.tensor([0.5], requires_grad=True)
    seen = []
    h = tg.tensor([1.0])
    for t in range(4):
        h = (h * w).tanh()
        h.register_hook(lambda g, t=t: seen.append((t, round(g.item(), 6))))
    h.sum().backward()
    assert [t for t, _ in seen] == [3, 2, 1, 0]
    # d loss / d h_3 = 1; each step back multiplies by w (1 - h_t^2), so the gradients shrink
    assert seen[0][1] == 1.0 and all(a[1] > b[1] for a, b in zip(seen, seen[1:]))


def test_a_removed_hook_on_an_intermediate_does_not_fire():
    x = tg.tensor([1.0], requires_grad=True)
    y = x * 2
    handle = y.register_hook(lambda g: g * 100)
    handle.remove()
    y.sum().backward()
    assert x.grad.item() == 2.0


def test_in_backward_is_true_only_while_this_thread_runs_a_backward_pass():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    a.register_hook(lambda g: seen.append(tg.autograd.in_backward()))
    assert not tg.autograd.in_backward()
    (a * 3).sum().backward()
    assert seen == [True] and not tg.autograd.in_backward()

    def fail(g):
        raise KeyError("hook failed")
    b = tg.tensor([1.0], requires_grad=True)
    b.register_hook(fail)
    with pytest.raises(KeyError):
        (b * 2).sum().backward()
    assert not tg.autograd.in_backward()          # a failed pass leaves nothing open


# ----------------------------------------------------------------------------- backward passes in several threads

def _threads_accumulate(n_threads, n_backward, size, loss=lambda w: (w * 1.0).sum(), **kw):
    """Every thread runs ``n_backward`` backward passes of ``loss(w)`` into the shared leaf ``w``
    (zeros): with the default loss each adds 1 everywhere, so w.grad must be n_threads * n_backward
    everywhere."""
    w = tg.tensor(np.zeros(size, np.float32), requires_grad=True)
    start = threading.Barrier(n_threads)

    def work():
        start.wait()
        for _ in range(n_backward):
            loss(w).backward(**kw)
    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return w.grad.numpy()


def test_threads_sharing_a_leaf_lose_no_gradient():
    # 2M elements: large enough that NumPy releases the GIL inside `+=`, where the additions of two
    # unlocked threads overwrite each other (before the fix tens of elements ended at 58-59)
    for _ in range(3):
        g = _threads_accumulate(2, 30, 2_000_000)
        assert np.count_nonzero(g != 60.0) == 0, np.unique(g)


def test_threads_first_gradients_into_an_empty_grad_all_count():
    # each thread's first backward finds .grad None; w + 0 hands the leaf a gradient it must copy
    # (it is a broadcast view), and NumPy releases the GIL while copying: one thread's gradient
    # must not replace another's (before the fix about half of these trials lost one)
    for _ in range(10):
        g = _threads_accumulate(4, 1, 2_000_000, loss=lambda w: (w + 0.0).sum())
        assert np.count_nonzero(g != 4.0) == 0, np.unique(g)


def test_threads_accumulate_with_create_graph():
    # with create_graph .grad becomes old + new, a recorded op: the same read-add-write step
    # d/dw sum(w^2 + w) = 2 w + 1 = 1 at w = 0, so 2 threads x 20 passes give 40
    for _ in range(2):
        g = _threads_accumulate(2, 20, 1_000_000, loss=lambda w: (w * w + w).sum(),
                                create_graph=True)
        assert np.count_nonzero(g != 40.0) == 0, np.unique(g)


# ----------------------------------------------------------------------------- gradients own their memory

def test_create_graph_leaf_gradients_are_separate_tensors():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    ((a + b) ** 2).sum().backward(create_graph=True)
    assert a.grad is not b.grad
    nn.utils.clip_grad_norm_([a, b], 1.0)              # scales each once, not twice
    total = math.sqrt(2 * (8 ** 2 + 12 ** 2))
    np.testing.assert_allclose(a.grad.numpy(), np.array([8.0, 12.0]) / total, rtol=1e-5)
    a2 = tg.tensor([1.0, 2.0], requires_grad=True)
    (a2 + 1).sum().backward(create_graph=True)
    with tg.no_grad():
        a2.grad.zero_()                                # a writable tensor, not a broadcast view


def test_retained_gradients_do_not_share_memory():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a, b = w * 2, w * 3
    a.retain_grad()
    b.retain_grad()
    ((a + b) ** 2).sum().backward()
    before = b.grad.tolist()
    with tg.no_grad():
        a.grad.add_(1)
    assert b.grad.tolist() == before
    x = tg.tensor([1.0, 1.0], requires_grad=True)
    y = x * 1
    y.retain_grad()
    v = tg.tensor([1.0, 1.0])
    y.backward(v)
    v.add_(5)
    assert y.grad.tolist() == [1.0, 1.0]


def test_a_leaf_gradient_never_aliases_a_saved_array():
    class HalfSquare(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x / 2

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return x                                    # the saved input itself, as the gradient

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    HalfSquare.apply(x).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), x.numpy())


def test_a_second_backward_accumulates_into_the_same_grad_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert x.grad is g and g.tolist() == [6.0, 6.0]


# ----------------------------------------------------------------------------- more in-place cases

def test_autograd_grad_walks_only_the_part_of_the_graph_it_needs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    fired = []
    x.register_hook(lambda g: fired.append(1))
    h = x.exp()
    (gh,) = tg.autograd.grad((h * h).sum(), h)
    assert fired == [] and np.allclose(gh.numpy(), 2 * h.numpy())
    h2 = x.exp()
    (h2 * 2).sum().backward()                          # frees the part below h2
    (g2,) = tg.autograd.grad((h2 * h2).sum(), h2)      # does not need it
    assert np.allclose(g2.numpy(), 2 * h2.numpy())
