"""Module hooks: forward pre-hooks and forward hooks (replacing inputs and outputs), backward
pre-hooks and full backward hooks (seeing and replacing gradients), handles that remove them.
Gradients are worked out by hand; where PyTorch is installed the same module and hooks run there."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


class Product(nn.Module):
    """(x, y, scale) -> (x * y * scale, x + y): two tensor inputs, a number, two outputs."""

    def forward(self, x, y, scale=3.0):
        return x * y * scale, x + y


def test_forward_pre_hook_replaces_the_arguments_and_forward_hook_the_output():
    lin = nn.Linear(2, 1, bias=False)
    with tg.no_grad():
        lin.weight.copy_(tg.tensor([[1.0, 10.0]]))
    lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    lin.register_forward_hook(lambda m, args, out: out + 100)
    assert lin(tg.tensor([[1.0, 1.0]])).tolist() == [[122.0]]


def test_forward_pre_hook_returning_a_single_value_wraps_it():
    lin = nn.Linear(2, 1, bias=False)
    lin.register_forward_pre_hook(lambda m, args: args[0] * 0)          # not a tuple: (value,)
    assert lin(tg.ones(1, 2)).tolist() == [[0.0]]
    m = Product()
    m.register_forward_pre_hook(lambda mod, args: args[0])
    with pytest.raises(TypeError):
        m(tg.tensor([2.0]), tg.tensor([5.0]))          # forward(x) alone: y is missing


def test_forward_pre_hook_may_return_all_the_arguments():
    m = Product()
    m.register_forward_pre_hook(lambda mod, args: (args[0], args[0]))
    a, b = m(tg.tensor([2.0]), tg.tensor([5.0]))
    assert a.tolist() == [12.0] and b.tolist() == [4.0]


def test_forward_hooks_see_args_and_kwargs_when_asked():
    seen = []
    m = Product()
    m.register_forward_pre_hook(lambda mod, args, kwargs: seen.append(("pre", len(args), dict(kwargs))),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(("post", len(args), dict(kwargs))),
                            with_kwargs=True)
    m(tg.ones(1), tg.ones(1), scale=2.0)
    assert seen == [("pre", 2, {"scale": 2.0}), ("post", 2, {"scale": 2.0})]


def test_pre_hook_with_kwargs_may_replace_both():
    m = Product()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": 10.0}), with_kwargs=True)
    assert m(tg.ones(1), tg.ones(1), scale=2.0)[0].tolist() == [10.0]


def test_hooks_run_in_order_and_prepend_puts_one_first():
    order = []
    lin = nn.Linear(1, 1)
    lin.register_forward_hook(lambda *a: order.append("a"))
    lin.register_forward_hook(lambda *a: order.append("b"))
    lin.register_forward_hook(lambda *a: order.append("first"), prepend=True)
    lin(tg.ones(1, 1))
    assert order == ["first", "a", "b"]


def test_handle_remove_and_context_manager():
    calls = []
    lin = nn.Linear(1, 1)
    h = lin.register_forward_hook(lambda *a: calls.append(1))
    lin(tg.ones(1, 1))
    h.remove()
    lin(tg.ones(1, 1))
    with lin.register_forward_pre_hook(lambda *a: calls.append(2)):
        lin(tg.ones(1, 1))
    lin(tg.ones(1, 1))
    assert calls == [1, 2]
    assert isinstance(h, tg.utils.hooks.RemovableHandle)


def test_full_backward_hook_sees_input_and_output_gradients():
    log = []
    m = Product()
    m.register_full_backward_hook(lambda mod, gi, go: log.append((gi, go)))
    x, y = tg.tensor([1.0, 2.0], requires_grad=True), tg.tensor([3.0, 4.0])
    a, b = m(x, y, 5.0)
    (a.sum() + 2 * b.sum()).backward()
    (gi, go), = log
    # a = 5 x y, b = x + y: d/dx = 5 y + 2 = (17, 22); y needs no gradient; 5.0 is no tensor
    assert gi[0].tolist() == [17.0, 22.0] and gi[1] is None and gi[2] is None and len(gi) == 3
    assert go[0].tolist() == [1.0, 1.0] and go[1].tolist() == [2.0, 2.0]
    assert x.grad.tolist() == [17.0, 22.0]


def test_full_backward_hook_can_replace_grad_input():
    lin = nn.Linear(2, 1)
    lin.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 10,))
    z = tg.ones(1, 2, requires_grad=True)
    lin(z).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), 10 * lin.weight.detach().numpy(), rtol=1e-6)
    assert lin.weight.grad.tolist() == [[1.0, 1.0]]          # parameters are not inputs


def test_backward_pre_hook_can_replace_grad_output():
    lin = nn.Linear(2, 1, bias=False)
    lin.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
    lin(tg.tensor([[1.0, 2.0]])).sum().backward()
    assert lin.weight.grad.tolist() == [[3.0, 6.0]]


def test_backward_hook_runs_with_none_inputs_when_no_input_requires_grad():
    log = []
    lin = nn.Linear(2, 1)
    lin.register_full_backward_hook(lambda mod, gi, go: log.append((gi, [g.tolist() for g in go])))
    lin(tg.ones(1, 2)).sum().backward()
    assert log == [((None,), [[[1.0]]])]


def test_backward_hook_must_not_invent_gradients_for_inputs_without_any():
    lin = nn.Linear(2, 1)
    lin.register_full_backward_hook(lambda mod, gi, go: (tg.ones(1, 2),))
    with pytest.raises(RuntimeError, match="no input requires gradient"):
        lin(tg.ones(1, 2)).sum().backward()


def test_backward_hook_returning_the_wrong_number_of_gradients_raises():
    lin = nn.Linear(2, 1)
    lin.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        lin(tg.ones(1, 2, requires_grad=True)).sum().backward()


def test_no_backward_hook_machinery_under_no_grad():
    log = []
    lin = nn.Linear(2, 1)
    lin.register_full_backward_hook(lambda *a: log.append(a))
    with tg.no_grad():
        out = lin(tg.ones(1, 2, requires_grad=True))
    assert out.grad_fn is None and log == []


def test_a_module_without_hooks_is_called_directly():
    lin = nn.Linear(2, 1)
    assert not lin._has_hooks and lin(tg.ones(1, 2)).grad_fn is not None
    lin.register_forward_hook(lambda *a: None).remove()
    assert lin(tg.ones(1, 2)).shape == (1, 1)                 # empty hook dicts: plain forward


def test_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    w0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
    x0 = np.array([[0.1, 0.2, 0.3], [-0.1, 0.05, 0.2]])        # tanh far from saturation
    results = []
    for lib in (torch, tg):
        lin = lib.nn.Linear(3, 2, bias=False).double()
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(w0))
        log = []
        lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        lin.register_forward_hook(lambda m, args, out: out.tanh())
        lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
        lin.register_full_backward_hook(lambda m, gi, go: log.append((gi[0].tolist(), go[0].tolist())))
        x = lib.tensor(x0, requires_grad=True)
        out = lin(x)
        (out * out).sum().backward()
        results.append((out.tolist(), x.grad.tolist(), lin.weight.grad.tolist(), log))
    np.testing.assert_allclose(np.array(results[1][0]), results[0][0], rtol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)
    np.testing.assert_allclose(results[1][2], results[0][2], rtol=1e-12)
    (gi_t, go_t), = results[0][3]
    (gi, go), = results[1][3]
    np.testing.assert_allclose(gi, gi_t, rtol=1e-12)
    np.testing.assert_allclose(go, go_t, rtol=1e-12)


def test_backward_hooks_keep_a_named_tuple_output_and_nested_outputs_pass_through():
    from tinygrad_rnn.nn.utils.rnn import PackedSequence, pack_sequence

    class Pack(nn.Module):
        def forward(self, x):
            return pack_sequence([x * 2, x[:1] * 3])

    log = []
    m = Pack()
    m.register_full_backward_hook(lambda mod, gi, go: log.append([g is None for g in go]))
    x = tg.ones(2, 3, requires_grad=True)
    packed = m(x)
    assert isinstance(packed, PackedSequence)
    packed.data.sum().backward()
    # x * 2 (rows 0, 1) and x[:1] * 3 (row 0): row 0 gets 2 + 3, row 1 gets 2
    assert x.grad.tolist() == [[5.0] * 3, [2.0] * 3]
    assert log == [[False, True, True, True]]        # data, then the int64 index tensors

    lstm = nn.LSTM(2, 3)
    lstm.register_full_backward_hook(lambda mod, gi, go: log.append(len(go)))
    out, (h, c) = lstm(tg.ones(4, 1, 2, requires_grad=True))
    (out.sum() + h.sum()).backward()                 # (h, c) is one nested, non-tensor entry
    assert log[-1] == 2
