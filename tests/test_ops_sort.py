"""Orderings (ops/sort.py): sort, argsort, topk, kthvalue, median.

Values against NumPy over Hypothesis-drawn shapes and dims; gradients against finite differences on
inputs without ties (``min_gap``: a finite-difference step can then not reorder them); ties, NaN and
the lower median against orders worked by hand; PyTorch's values and indices when it is installed.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))
# One test per member of a family of ops that share their code path: fewer examples for each.
FAMILY = settings(max_examples=max(8, settings.default.max_examples // 3))


def _case(data, device, **kwargs):
    x = data.draw(tst.tensors(min_dims=1, device=device, **kwargs), label="x")
    d = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    return x, d


def _distinct(data, device):
    # every two values 0.05 apart (min_gap): no ties, so the order is the same for x +- eps
    return _case(data, device, min_gap=0.05, max_side=3, min_value=-3.0, max_value=3.0)


ORDERED = {
    "sort": lambda x, d: x.sort(d).values,
    "sort_descending": lambda x, d: x.sort(d, descending=True).values,
    "topk": lambda x, d: x.topk(max(1, x.shape[d] // 2), d).values,
    "topk_smallest": lambda x, d: x.topk(1, d, largest=False).values,
    "kthvalue": lambda x, d: x.kthvalue(x.shape[d], d, keepdim=True).values,
    "median": lambda x, d: x.median(d).values,
    "median_all": lambda x, d: x.median(),
}


@pytest.mark.parametrize("name", list(ORDERED))
@FAMILY
@given(data=st.data())
def test_gradient_matches_finite_differences(name, device, data):
    x, d = _distinct(data, device)
    assert gradcheck(lambda t: ORDERED[name](t, d) * t.sum(), x)


@pytest.mark.parametrize("name", ["sort", "topk", "median"])
@SECOND
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name, device, data):
    x, d = _distinct(data, device)
    assert gradgradcheck(lambda t: ORDERED[name](t, d) ** 2, x)


@given(data=st.data())
def test_values_and_indices_match_numpy(device, data):
    x, d = _case(data, device)
    a = x.numpy()
    order = np.argsort(a, axis=d, kind="stable")
    values, indices = x.sort(d)
    np.testing.assert_array_equal(values.numpy(), np.sort(a, axis=d))
    np.testing.assert_array_equal(indices.numpy(), order)
    np.testing.assert_array_equal(x.argsort(d).numpy(), order)
    np.testing.assert_array_equal(x.gather(d, indices).numpy(), values.numpy())
    k = data.draw(st.integers(1, x.shape[d]), label="k")
    np.testing.assert_array_equal(x.topk(k, d).values.numpy(),
                                  np.take(np.flip(np.sort(a, axis=d), d), range(k), axis=d))
    np.testing.assert_array_equal(x.kthvalue(k, d).values.numpy(),
                                  np.take(np.sort(a, axis=d), k - 1, axis=d))
    n = x.shape[d]
    np.testing.assert_array_equal(x.median(d).values.numpy(),
                                  np.take(np.sort(a, axis=d), (n - 1) // 2, axis=d))


def _stable_order(a, axis, descending):
    """The stable order by brute force (lexsort on (value key, index)); NaN is the largest value."""
    a = np.moveaxis(a, axis, -1)
    nan = np.isnan(a)
    key = np.where(nan, -np.inf, -a) if descending else np.where(nan, np.inf, a)
    idx = np.broadcast_to(np.arange(a.shape[-1]), a.shape)
    flat_key, flat_idx = key.reshape(-1, a.shape[-1]), idx.reshape(-1, a.shape[-1])
    order = np.stack([np.lexsort((i, k)) for i, k in zip(flat_idx, flat_key)]) if flat_key.size else \
        flat_idx.copy()
    return np.moveaxis(order.reshape(a.shape), -1, axis)


@given(data=st.data())
def test_partial_selection_picks_what_the_stable_sort_picks(device, data):
    # few distinct values (many ties) and some NaN: sort re-sorts tied slices stably, topk, kthvalue
    # and median find their answer by partitioning; all must name the elements, at the indices,
    # that a brute-force stable sort names
    shape = data.draw(tst.shapes(min_dims=1, max_side=12), label="shape")
    a = data.draw(tst.arrays(shape=shape, dtype=np.int64, min_value=-2, max_value=3), label="a")
    a = np.where(a == 3, np.nan, a.astype(np.float64))
    x = tg.tensor(a, device=device)
    d = data.draw(st.integers(0, a.ndim - 1), label="dim")
    n = a.shape[d]
    k = data.draw(st.integers(1, n), label="k")
    for largest in (True, False):
        order = _stable_order(a, d, largest)
        np.testing.assert_array_equal(x.sort(d, descending=largest).indices.numpy(), order)
        np.testing.assert_array_equal(x.topk(k, d, largest=largest).indices.numpy(),
                                      np.take(order, range(k), axis=d))
    asc = _stable_order(a, d, False)
    np.testing.assert_array_equal(x.kthvalue(k, d).indices.numpy(), np.take(asc, k - 1, axis=d))
    first_nan = np.argmax(np.isnan(a), axis=d)
    np.testing.assert_array_equal(x.median(d).indices.numpy(),
                                  np.where(np.isnan(a).any(axis=d), first_nan, np.take(asc, (n - 1) // 2, axis=d)))


def test_ties_keep_index_order_both_ways(device):
    x = tg.tensor([1.0, 3.0, 3.0, 2.0, 3.0, 1.0], device=device)
    assert x.sort().indices.tolist() == [0, 5, 3, 1, 2, 4]
    assert x.sort(descending=True).indices.tolist() == [1, 2, 4, 3, 0, 5]
    assert x.argsort(descending=True, stable=True).tolist() == [1, 2, 4, 3, 0, 5]
    assert x.topk(3).values.tolist() == [3.0, 3.0, 3.0] and x.topk(3).indices.tolist() == [1, 2, 4]
    assert x.topk(2, largest=False).indices.tolist() == [0, 5]
    assert x.kthvalue(2).values.item() == 1.0 and x.kthvalue(2).indices.item() == 5
    assert x.kthvalue(4).indices.item() == 1
    two = tg.tensor([[3.0, 1.0, 2.0], [1.0, 1.0, 0.0]], device=device)    # one row tied, one not
    assert two.sort(1).indices.tolist() == [[1, 2, 0], [2, 0, 1]]
    assert two.sort(1, descending=True).indices.tolist() == [[0, 2, 1], [0, 1, 2]]
    assert two.sort(0).indices.tolist() == [[1, 0, 1], [0, 1, 0]]


def test_descending_sort_of_unsigned_and_bool_tensors(device):
    u = tg.tensor([3, 0, 255, 7], dtype=tg.uint8, device=device)
    assert u.sort(descending=True).values.tolist() == [255, 7, 3, 0]
    b = tg.tensor([False, True, False, True], device=device)
    assert b.sort(descending=True).indices.tolist() == [1, 3, 0, 2]


def test_nan_counts_as_the_largest_value(device):
    x = tg.tensor([1.0, math.nan, 3.0, math.nan], device=device)
    s = x.sort()
    assert s.indices.tolist() == [0, 2, 1, 3] and math.isnan(s.values[-1].item())
    assert x.sort(descending=True).indices.tolist() == [1, 3, 2, 0]
    assert x.topk(1).indices.tolist() == [1]
    m = x.median(0)                  # a slice holding NaN has median NaN, at its first NaN
    assert math.isnan(m.values.item()) and m.indices.item() == 1
    assert math.isnan(x.median().item())


def test_median_is_the_lower_middle_value(device):
    x = tg.tensor([[4.0, 1.0, 3.0, 2.0], [5.0, 5.0, 1.0, 9.0]], device=device, requires_grad=True)
    m = x.median(1)
    assert m.values.tolist() == [2.0, 5.0] and m.indices.tolist() == [3, 0]
    assert x.median().item() == 3.0          # sorted 1 1 2 3 4 5 5 9: the lower of 3 and 4
    assert x.median(1, keepdim=True).values.shape == (2, 1)
    m.values.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]]


def test_sort_gradient_goes_back_to_where_each_value_came_from(device):
    x = tg.tensor([3.0, 1.0, 2.0], device=device, requires_grad=True)
    v = x.sort(descending=True).values           # [3, 2, 1] from positions [0, 2, 1]
    v.backward(tg.tensor([10.0, 20.0, 30.0], device=device))
    assert x.grad.tolist() == [10.0, 30.0, 20.0]


def test_results_are_named_tuples_with_int64_indices(device):
    x = tg.tensor([[2.0, 1.0]], device=device)
    for r, name in ((x.sort(), "sort"), (x.topk(1), "topk"), (x.kthvalue(1), "kthvalue"),
                    (x.median(1), "median")):
        assert type(r).__name__ == name and r.indices.dtype == tg.int64
        values, indices = r
        assert values is r.values
    assert tg.sort(x, dim=1).values.tolist() == [[1.0, 2.0]]


def test_zero_dim_tensors(device):
    x = tg.tensor(4.0, device=device)
    for r in (x.sort(), x.topk(1), x.kthvalue(1), x.median(0)):
        assert r.values.item() == 4.0 and r.indices.item() == 0 and r.values.shape == ()
    assert x.median().item() == 4.0


def test_k_out_of_range_is_an_error(device):
    x = tg.ones(2, 3, device=device)
    with pytest.raises(ValueError, match="topk.*selected index k out of range"):
        x.topk(4)
    with pytest.raises(ValueError, match="kthvalue.*selected number k out of range"):
        x.kthvalue(0)
    with pytest.raises(ValueError, match="sort: dim 2 is out of range"):
        x.sort(2)


# ----------------------------------------------------------------------------- against PyTorch

def test_values_indices_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.permutation(60).reshape(3, 4, 5).astype(np.float64)    # distinct: every order is unique
    cases = [lambda t: t.sort(1), lambda t: t.sort(-1, descending=True), lambda t: t.topk(3, 2),
             lambda t: t.topk(2, 0, largest=False), lambda t: t.kthvalue(2, 1),
             lambda t: t.median(2), lambda t: t.median(0, keepdim=True)]
    for fn in cases:
        x, xt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        (v, i), (vt, it) = fn(x), fn(xt)
        np.testing.assert_array_equal(v.numpy(), vt.detach().numpy())
        np.testing.assert_array_equal(i.numpy(), it.numpy())
        g = rng.standard_normal(v.shape)
        v.backward(tg.tensor(g))
        vt.backward(torch.tensor(g))
        np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    assert tg.tensor(a).median().item() == torch.tensor(a).median().item()


def test_stable_sort_ties_and_nan_match_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 1.0], [np.nan, 2.0, 2.0, np.nan, 0.0, 5.0]])
    for desc in (False, True):
        s, st_ = tg.tensor(a).sort(1, descending=desc), torch.tensor(a).sort(dim=1, descending=desc,
                                                                            stable=True)
        np.testing.assert_array_equal(s.values.numpy(), st_.values.numpy())
        np.testing.assert_array_equal(s.indices.numpy(), st_.indices.numpy())
    m, mt = tg.tensor(a).median(1), torch.tensor(a).median(1)
    np.testing.assert_array_equal(m.values.numpy(), mt.values.numpy())
    np.testing.assert_array_equal(m.indices.numpy(), mt.indices.numpy())
