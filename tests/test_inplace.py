"""In-place operations, views and version counters.

Every in-place op bumps the version counter its storage shares with its views and ``detach()``;
backward refuses a saved value that changed since; in-place ops recorded in the graph get
PyTorch's gradients; a view taken before a recorded in-place op on its base follows the base (its
history is rebuilt as the same view of the new value), and the cases PyTorch refuses are refused.
Checked against numbers worked by hand, finite differences and, where PyTorch is installed,
PyTorch run on the same code.
"""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.testing import gradcheck


# ----------------------------------------------------------------------------- views follow their base through recorded in-place ops

def _getitem_add(lib):
    # v = w[:2]; loss = w0^2 + w1^2 + (w0 + w1 + w2) -> [2 w0 + 1, 2 w1 + 1, 1] = [3, 5, 1]
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(3)
    v = base[:2]
    base.add_(w)
    flag = v.requires_grad
    ((v * v).sum() + base.sum()).backward()
    return w.grad.tolist(), flag


def _getitem_copy(lib):
    # the same with copy_: base = w * 1 -> [3, 5, 1]
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(3)
    v = base[:2]
    base.copy_(w * 1)
    flag = v.requires_grad
    ((v * v).sum() + base.sum()).backward()
    return w.grad.tolist(), flag


def _getitem_mul(lib):
    # base = 1 * w: the same loss -> [3, 5, 1]
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.ones(3)
    v = base[:2]
    base.mul_(w)
    flag = v.requires_grad
    ((v * v).sum() + base.sum()).backward()
    return w.grad.tolist(), flag


def _setitem(lib):
    # base[1:2] = w: v = base[1:] = [w, 0]; loss = w^2 -> 2 w = [10]
    w = lib.tensor([5.0], requires_grad=True)
    base = lib.zeros(3)
    v = base[1:]
    base[1:2] = w
    flag = v.requires_grad
    (v * v).sum().backward()
    return w.grad.tolist(), flag


def _zero_after_add(lib):
    # zero_ cuts the history: v = 0 whatever w -> [0, 0, 0], but v is part of the graph
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(3)
    v = base.unsqueeze(0)
    base.add_(w)
    base.zero_()
    flag = v.requires_grad
    (v * 1).sum().backward()
    return w.grad.tolist(), flag


def _fill_after_add(lib):
    # fill_(2) likewise: v = [2, 2, 2], d/dw = 0; plus base.sum() * 0 keeps w in the graph
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(3)
    v = base[:]
    base.add_(w)
    base.fill_(2.0)
    flag = v.requires_grad
    (v * v).sum().backward()
    return w.grad.tolist(), flag


def _view_reshape(lib):
    # v = w.view(2, 3), r = w.reshape(3, 2); loss = sum(v * C) + sum(r) -> C.flatten() + 1
    w = lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], requires_grad=True)
    base = lib.zeros(6)
    v, r = base.view(2, 3), base.reshape(3, 2)
    base.add_(w)
    flag = v.requires_grad and r.requires_grad
    c = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    ((v * c).sum() + r.sum()).backward()
    return w.grad.tolist(), flag          # [2, 3, 4, 5, 6, 7]


def _transpose(lib):
    # v = base.T: v[i, j] = w[2 j + i]; d sum(v * C)/dw[2 j + i] = C[i, j] -> [1, 3, 2, 4]
    w = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    base = lib.zeros(2, 2)
    v = base.T
    u = base.transpose(0, 1)
    base.add_(w.reshape(2, 2))
    flag = v.requires_grad and u.requires_grad
    c = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
    ((v * c).sum() + (u * 0).sum()).backward()
    return w.grad.tolist(), flag


def _unsqueeze_squeeze(lib):
    # v = base.unsqueeze(1) (3, 1), s = base2.squeeze(0) (3,); loss = sum(v * [1,2,3]^T) + sum(s^2)
    # -> [1, 2, 3] + 2 w = [3, 6, 9]
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(1, 3)
    v = base.squeeze(0).unsqueeze(1)
    s = base.squeeze(0)
    base.add_(w)
    flag = v.requires_grad and s.requires_grad
    ((v * lib.tensor([[1.0], [2.0], [3.0]])).sum() + (s * s).sum()).backward()
    return w.grad.tolist(), flag


def _expand(lib):
    # e = base.expand(3, 2): each w_j three times; loss = sum(e^2) -> 3 * 2 w = [6, 12]
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    base = lib.zeros(2)
    e = base.expand(3, 2)
    base.add_(w)
    flag = e.requires_grad
    (e * e).sum().backward()
    return w.grad.tolist(), flag


def _chain(lib):
    # v = base.view(2, 3).T[1:].unsqueeze(0) = [[[w1, w4], [w2, w5]]]; loss = sum(v^2)
    # -> 2 w at 1, 2, 4, 5 = [0, 4, 6, 0, 10, 12]
    w = lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], requires_grad=True)
    base = lib.zeros(6)
    v = base.view(2, 3).T[1:].unsqueeze(0)
    base.add_(w)
    flag = v.requires_grad
    (v * v).sum().backward()
    return w.grad.tolist(), flag


def _view_of_stale_view(lib):
    # u is taken from v after the in-place op: u = w[1:2]; loss = w1^2 -> [0, 4, 0]
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(3)
    v = base[:2]
    base.add_(w)
    u = v[1:]
    flag = u.requires_grad
    (u * u).sum().backward()
    return w.grad.tolist(), flag


def _base_already_in_graph(lib):
    # base = x * 1, then base.mul_(w): v = (x w)[:2]; loss = sum(x^2 w^2 over 0, 1)
    # d/dw = 2 x^2 w = [2, 4, 0] (x = 1)
    x = lib.ones(3, requires_grad=True)
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = x * 1
    v = base[:2]
    base.mul_(w)
    flag = v.requires_grad
    (v * v).sum().backward()
    return w.grad.tolist() + x.grad.tolist(), flag     # d/dx = 2 x w^2 = [2, 8, 0]


def _used_between_two_inplace_ops(lib):
    # y1 = v after add_ (w[:2]), y2 = v after mul_ (w^2 [:2]): d(sum y1 + sum y2)/dw = 1 + 2 w
    # on 0, 1 -> [3, 5, 0]
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(3)
    v = base[:2]
    base.add_(w)
    y1 = v * 1
    base.mul_(w)
    y2 = v * 1
    (y1.sum() + y2.sum()).backward()
    return w.grad.tolist(), True


def _stale_view_as_inplace_operand(lib):
    # out.add_(v) with v = w[:2]: loss = sum(out^2) = w0^2 + w1^2 -> [2, 4, 0]
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(3)
    v = base[:2]
    base.add_(w)
    out = lib.zeros(2)
    out.add_(v)
    (out * out).sum().backward()
    return w.grad.tolist(), out.requires_grad


def _backward_from_the_view(lib):
    # v = base[1] = w1 -> [0, 1, 0]
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(3)
    v = base[1]
    base.add_(w)
    v.backward()
    return w.grad.tolist(), True


def _unrecorded_inplace_leaves_no_history(lib):
    # under no_grad the in-place op is not recorded: the view has no history, as PyTorch
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = lib.zeros(3)
    v = base[:2]
    with lib.no_grad():
        base.add_(w)
    return v.tolist(), v.requires_grad or base.requires_grad


VIEW_SCENARIOS = {
    "getitem_add": (_getitem_add, [3.0, 5.0, 1.0], True),
    "getitem_copy": (_getitem_copy, [3.0, 5.0, 1.0], True),
    "getitem_mul": (_getitem_mul, [3.0, 5.0, 1.0], True),
    "setitem": (_setitem, [10.0], True),
    "zero_after_add": (_zero_after_add, [0.0, 0.0, 0.0], True),
    "fill_after_add": (_fill_after_add, [0.0, 0.0, 0.0], True),
    "view_reshape": (_view_reshape, [2.0, 3.0, 4.0, 5.0, 6.0, 7.0], True),
    "transpose": (_transpose, [1.0, 3.0, 2.0, 4.0], True),
    "unsqueeze_squeeze": (_unsqueeze_squeeze, [3.0, 6.0, 9.0], True),
    "expand": (_expand, [6.0, 12.0], True),
    "chain": (_chain, [0.0, 4.0, 6.0, 0.0, 10.0, 12.0], True),
    "view_of_stale_view": (_view_of_stale_view, [0.0, 4.0, 0.0], True),
    "base_already_in_graph": (_base_already_in_graph, [2.0, 4.0, 0.0, 2.0, 8.0, 0.0], True),
    "used_between_two_inplace_ops": (_used_between_two_inplace_ops, [3.0, 5.0, 0.0], True),
    "stale_view_as_inplace_operand": (_stale_view_as_inplace_operand, [2.0, 4.0, 0.0], True),
    "backward_from_the_view": (_backward_from_the_view, [0.0, 1.0, 0.0], True),
    "unrecorded_inplace_leaves_no_history": (_unrecorded_inplace_leaves_no_history,
                                             [1.0, 2.0], False),
}


@pytest.mark.parametrize("name", VIEW_SCENARIOS)
def test_view_taken_before_inplace_on_its_base_follows_the_base(name):
    scenario, grad, requires_grad = VIEW_SCENARIOS[name]
    assert scenario(tg) == (grad, requires_grad)


@pytest.mark.parametrize("name", VIEW_SCENARIOS)
def test_view_taken_before_inplace_on_its_base_matches_torch(name):
    torch = pytest.importorskip("torch")
    scenario = VIEW_SCENARIOS[name][0]
    assert scenario(tg) == scenario(torch)


def test_refreshed_view_is_a_graph_tensor_with_a_view_node(device):
    w = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    base = tg.zeros(3, device=device)
    v = base[:2]
    assert not v.requires_grad and v.is_leaf
    base.add_(w)
    assert v.requires_grad and not v.is_leaf
    assert type(v.grad_fn).__name__ == "Getitem"      # the same view op, on the base's new node
    assert v.grad_fn._edges[0] == (base.grad_fn, 0)
    assert v.tolist() == [1.0, 2.0]            # the data was shared all along
    (v * v).sum().backward()                  # d(w0^2 + w1^2)/dw = [2, 4, 0]
    assert w.grad.tolist() == [2.0, 4.0, 0.0]


def test_refreshed_view_keeps_retain_grad():
    # as PyTorch: retain_grad() set before the in-place op still gives v.grad = 2 v = [2, 4]
    x = tg.ones(3, requires_grad=True)
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = x * 1
    v = base[:2]
    v.retain_grad()
    base.mul_(w)
    (v * v).sum().backward()
    assert v.grad.tolist() == [2.0, 4.0]


def test_autograd_grad_through_a_refreshed_view():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = tg.zeros(3)
    v = base[:2]
    base.add_(w)
    g, = tg.autograd.grad((v * v).sum(), w)   # 2 w on the first two -> [2, 4, 0]
    assert g.tolist() == [2.0, 4.0, 0.0]


def test_view_created_in_no_grad_raises_when_used_after_a_recorded_inplace_op():
    # PyTorch refuses this case: it is unclear whether the view should follow the base
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = tg.zeros(3)
    with tg.no_grad():
        v = base[:2]
    base.add_(w)
    assert v.requires_grad                   # as PyTorch, which raises only on use
    with pytest.raises(RuntimeError, match="^mul: this view was created in no_grad mode"):
        v * v
    with pytest.raises(RuntimeError, match="created in no_grad mode"):
        v.grad_fn
    assert "grad_fn=<Invalid>" in repr(v)
    with tg.no_grad():                       # without grad mode it is plain data
        assert (v * 2).tolist() == [2.0, 4.0]


def test_views_from_split_raise_when_used_after_a_recorded_inplace_op():
    w = tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    base = tg.zeros(4)
    a, b = base.split(2)
    rows = tg.zeros(2, 2).unbind(0)
    base.add_(w)
    with pytest.raises(RuntimeError, match="^mul: this view is one of several returned by one op"):
        a * 2
    with pytest.raises(RuntimeError, match="one of several"):
        b.grad_fn
    x = rows[0]._base
    x.add_(w.reshape(2, 2))
    with pytest.raises(RuntimeError, match="one of several"):
        rows[1] + 1


def test_inplace_change_of_a_refreshed_view_is_refused_not_silent():
    # changing a graph view in place is a documented deviation: it must raise, never skip the graph
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = tg.zeros(3)
    v = base[:2]
    base.add_(w)
    with pytest.raises(RuntimeError, match="view of a tensor that is part of the graph"):
        v.mul_(2)
    with pytest.raises(RuntimeError, match="view of a tensor that is part of the graph"):
        v[0] = 5.0


def test_detach_in_place_of_a_view_raises():
    # as PyTorch, for every view: detached in place, it would get its history back from its base
    # after an in-place op there
    with pytest.raises(RuntimeError, match="can't detach a view in place"):
        tg.zeros(3)[:2].detach_()
    y = tg.zeros(3)
    assert y.detach_() is y                  # a tensor that is not a view: fine


def test_views_of_a_detached_twin_keep_no_history():
    # d shares base's memory but is not its view: base gets no history, so neither do base's views
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = tg.zeros(3)
    v = base[:2]
    d = base.detach()
    d.add_(w)
    assert d.requires_grad and not base.requires_grad and not v.requires_grad
    assert v.tolist() == [1.0, 2.0]


INPLACE = "modified by an inplace operation"

def _raises_inplace(fn, now, then, op=None):
    with pytest.raises(RuntimeError, match=INPLACE) as e:
        fn()
    msg = str(e.value)
    assert f"is at version {now}; expected version {then}" in msg
    if op:
        assert msg.startswith(op + ":"), msg


# ----------------------------------------------------------------------------- version counters

def test_optimizer_step_between_forward_and_backward_raises(device):
    w = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    x = tg.tensor([4.0, 5.0, 6.0], device=device)
    y = (w * w * x).sum()                    # d/dw needs w's value: the first Mul saved it
    opt = optim.SGD([w], lr=0.1)
    w.grad = tg.ones(3, device=device)
    opt.step()                               # changes w after it was saved
    _raises_inplace(y.backward, 1, 0, op="mul")


def test_a_step_that_changes_nothing_backward_reads_is_fine(device):
    # as PyTorch: w * x saves only x (d/dw = x), so changing w afterwards is harmless
    w = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    x = tg.tensor([4.0, 5.0, 6.0], device=device)
    y = (w * x).sum()
    with tg.no_grad():
        w.mul_(10)
    y.backward()
    assert w.grad.tolist() == [4.0, 5.0, 6.0]


@pytest.mark.parametrize("change", [
    lambda x: x.mul_(2), lambda x: x.add_(1), lambda x: x.sub_(1), lambda x: x.div_(2),
    lambda x: x.clamp_(0, 1), lambda x: x.zero_(), lambda x: x.fill_(3.0),
    lambda x: x.copy_(tg.ones(3)), lambda x: x.__setitem__(0, 5.0), lambda x: x.__iadd__(1.0),
])
def test_every_inplace_op_on_a_saved_tensor_raises_at_backward(change):
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = tg.tensor([0.5, 0.25, 2.0])
    y = (w * x).sum()
    change(x)
    _raises_inplace(y.backward, 1, 0)


def test_unchanged_saved_tensor_gives_the_gradient():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = tg.tensor([4.0, 5.0, 6.0])
    (w * x).sum().backward()
    assert w.grad.tolist() == [4.0, 5.0, 6.0]


def test_views_share_the_version_counter():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = (x @ w).sum()
    row = x[1]                               # a view: writing it writes x
    row.mul_(10)
    assert x.tolist() == [[1.0, 2.0], [30.0, 40.0]] and x._version == 1
    _raises_inplace(y.backward, 1, 0, op="matmul")


def test_detach_shares_memory_and_version():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w.detach().add_(1)                       # the classic truncated-BPTT slip
    assert w.tolist() == [2.0, 3.0]
    _raises_inplace(y.backward, 1, 0)


def test_changed_saved_output_raises():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    e = x.exp()                              # exp saves its output for backward
    e.add_(1)
    _raises_inplace(lambda: e.sum().backward(), 1, 0, op="exp")


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an "
                                           "in-place operation"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being "
                                           "used in an in-place operation"):
        w[0].add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable"):
        w[0] = 3.0
    with tg.no_grad():                       # as optimizers do: allowed, and counted
        w[0].add_(1)
        w.mul_(2)
    assert w.tolist() == [4.0, 4.0] and w._version == 2


def test_recorded_inplace_ops_on_non_leaves_have_pytorch_gradients():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = w * 1
    a.add_(1)          # a = w + 1
    a.mul_(w)          # a = (w + 1) w  -> da/dw = 2w + 1
    a.sum().backward()
    assert w.grad.tolist() == [3.0, 5.0, 7.0]
    assert a.grad_fn is not None and a.requires_grad


def test_recorded_inplace_matches_finite_differences():
    def f(w):
        a = w * 2.0
        a.sub_(w * w, alpha=0.5)
        a.clamp_(-1.5, 3.0)
        a.div_(w + 3.0)
        return a
    w = tg.tensor([0.3, -0.7, 1.9, 2.6], dtype=tg.float64, requires_grad=True)
    assert gradcheck(f, w)


def test_fill_and_zero_cut_the_gradient_of_the_old_values():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    a = w * 3
    a.fill_(7.0)
    (a * w).sum().backward()                 # d/dw (7 w) = 7; nothing through the old a
    assert w.grad.tolist() == [7.0, 7.0]


def test_setitem_is_differentiable_for_the_value_and_the_rest():
    p = tg.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    s = tg.tensor(2.0, requires_grad=True)
    a = p * 1
    a[1:] = s * 3                            # broadcast: s's gradient sums the slice's
    c = tg.tensor([1.0, 2.0, 3.0, 4.0])
    (a * c).sum().backward()
    assert p.grad.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert s.grad.item() == 3 * (2 + 3 + 4)


def test_setitem_into_a_plain_tensor_connects_the_graph():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    out = tg.zeros(3)
    out[1:] = w * w
    assert out.requires_grad and not out.is_leaf
    out.sum().backward()
    assert w.grad.tolist() == [2.0, 4.0]


def test_setitem_gradient_matches_finite_differences():
    def f(x, v):
        y = x * 1.0
        y[[0, 2], 1:] = v.exp()
        return y * y
    x = tg.tensor(np.arange(12.0).reshape(3, 4) / 7, requires_grad=True)
    v = tg.tensor([0.1, -0.2, 0.3], dtype=tg.float64, requires_grad=True)
    assert gradcheck(f, x, v)


def test_view_taken_before_recorded_inplace_follows_the_base():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    a = w * 1
    v = a[0:1]
    a.mul_(3)
    (v * 2).sum().backward()             # v = (3 w)[0:1]: d(6 w0)/dw = [6, 0], as PyTorch
    assert w.grad.tolist() == [6.0, 0.0]


def test_inplace_on_view_of_graph_tensor_is_refused():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    a = w * 1
    with pytest.raises(RuntimeError, match="view of a tensor that is part of the graph"):
        a[0:1].add_(1)


def test_inplace_float_into_int_tensor_raises():
    x = tg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output "
                                           "type Long"):
        x += 1.5
    x += 2                                   # same category: fine
    assert x.tolist() == [3, 4]


# ----------------------------------------------------------------------------- more in-place cases

def test_retain_grad_after_an_inplace_op_counts_the_new_value_only():
    a = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    x = a * 1
    x.mul_(2)
    x.retain_grad()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 3.0] and a.grad.tolist() == [6.0, 6.0, 6.0]
    b = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    z = b * 1
    z[0] = 0.0
    z.retain_grad()
    (z * 3).sum().backward()
    assert z.grad.tolist() == [3.0, 3.0, 3.0] and b.grad.tolist() == [0.0, 3.0, 3.0]


def test_a_tensor_or_parameter_built_on_another_shares_its_version():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    t = tg.tensor([1.0, 1.0, 1.0])
    y = (w * t).sum()
    p = nn.Parameter(t)
    with tg.no_grad():
        p.add_(1)                                      # the same memory as t, which mul saved
    _raises_inplace(y.backward, 1, 0)


def test_changing_a_max_output_in_place_is_caught():
    x = tg.tensor([[1.0, 3.0], [4.0, 2.0]], requires_grad=True)
    v = (x * 1).amax(1)
    v.add_(100)
    with pytest.raises(RuntimeError, match=INPLACE):
        v.sum().backward()


def test_changing_index_tensors_after_the_forward_does_not_move_gradients():
    x = tg.tensor([[1.0, 3.0], [4.0, 2.0]], requires_grad=True)
    v, i = x.max(1)
    i[0] = 0
    v.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    w = tg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    idx = tg.tensor([0, 1])
    y = nn.functional.embedding(idx, w)
    idx[0] = 2
    y.sum().backward()
    assert w.grad.tolist() == [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]


# ----------------------------------------------------------------------------- changing views PyTorch refuses to change

def test_inplace_change_of_a_view_taken_before_requires_grad_raises():
    x = tg.ones(3)
    v = x[:2]
    x.requires_grad_()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        v.add_(1)
    assert x.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("change", [lambda v: v.add_(1), lambda v: v.mul_(2),
                                    lambda v: v.__setitem__(0, 5.0), lambda v: v.fill_(0.0)])
def test_inplace_change_of_a_view_taken_in_no_grad_mode_raises(change):
    x = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        v = x[:2]
    with pytest.raises(RuntimeError, match="view of a leaf Variable that requires grad"):
        change(v)
    assert x.tolist() == [1.0, 1.0, 1.0]
    y = x * 2
    with tg.no_grad():
        w = y[:2]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        change(w)


def test_inplace_changes_of_views_that_pytorch_allows_still_work():
    x = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        x[:2].add_(1)                   # view and change both without grad mode
    v = x.detach()[1:]
    v.mul_(3)                           # a view of a detached tensor: nothing requires grad
    assert x.tolist() == [2.0, 6.0, 3.0]
