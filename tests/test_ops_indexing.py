"""Indexing. ``x[index]`` in every NumPy basic and advanced form (ints, slices with steps, None,
Ellipsis, boolean masks, integer arrays with repeated entries): values against NumPy (in PyTorch's
layout where the two differ) and the gradient (a scatter that must add repeated indices up)
against finite differences. Indexing by index tensors: gather, scatter, scatter_add, index_select,
index_add, masked_fill, masked_select, take_along_dim, nonzero, where(condition), and the in-place
forms scatter_ / scatter_add_ / index_add_ / masked_fill_: gradients against finite differences
over Hypothesis-drawn shapes, dims and indices (repeated indices included where the op adds them
up); values against NumPy and results worked by hand; errors with PyTorch's wording; values and
gradients against PyTorch when it is installed.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

from indexing_reference import numpy_in_pytorch_layout

SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))


# ----------------------------------------------------------------------------- x[index]

def _case(data, device):
    x = data.draw(tst.tensors(device=device), label="x")
    return x, data.draw(tst.indices(x.shape), label="index")


@given(data=st.data())
def test_indexing_matches_numpy(device, data):
    # NumPy moves an advanced index that an int separates from another index to the front;
    # PyTorch takes ints as plain indices and keeps it in place: compare in PyTorch's layout
    x, index = _case(data, device)
    np.testing.assert_array_equal(x[index].numpy(), numpy_in_pytorch_layout(x.numpy(), index))


@given(data=st.data())
def test_indexing_gradient_matches_finite_differences(device, data):
    x, index = _case(data, device)
    assert gradcheck(lambda t: t[index] * t[index].cos(), x)


@SECOND
@given(data=st.data())
def test_indexing_second_derivative_matches_finite_differences(device, data):
    x, index = _case(data, device)
    assert gradgradcheck(lambda t: t[index] * t[index].cos(), x)


@given(data=st.data())
def test_index_given_as_tensor_or_list_selects_the_same(device, data):
    x = data.draw(tst.tensors(min_dims=1, device=device), label="x")
    idx = data.draw(st.lists(st.integers(-x.shape[0], x.shape[0] - 1), min_size=1, max_size=5))
    expected = x.numpy()[np.array(idx)]
    np.testing.assert_array_equal(x[idx].numpy(), expected)
    np.testing.assert_array_equal(x[tg.tensor(idx, device=device)].numpy(), expected)
    np.testing.assert_array_equal(x[tg.tensor(idx)].numpy(), expected)   # index on the CPU


def test_repeated_integer_indices_accumulate_their_gradients(device):
    x = tg.tensor([10.0, 20.0, 30.0], device=device, requires_grad=True)
    y = x[[0, 2, 0, 0]] * tg.tensor([1.0, 2.0, 3.0, 4.0], device=device)
    y.sum().backward()
    assert x.grad.tolist() == [8.0, 0.0, 2.0]      # 1 + 3 + 4 at index 0, 2 at index 2


def test_repeated_rows_of_a_matrix_accumulate(device):
    x = tg.ones(3, 2, device=device, requires_grad=True)
    x[tg.tensor([1, 1, 2], device=device)].sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [2.0, 2.0], [1.0, 1.0]]


def test_boolean_mask_gradient_goes_to_selected_elements(device):
    x = tg.tensor([[1.0, -2.0], [-3.0, 4.0]], device=device, requires_grad=True)
    (x[x > 0] * 5).sum().backward()
    assert x.grad.tolist() == [[5.0, 0.0], [0.0, 5.0]]


def test_integer_index_of_a_vector_gives_a_zero_dim_tensor(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x[1]
    assert y.shape == () and y.item() == 2.0
    y.backward()
    assert x.grad.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("index", [(Ellipsis, None), (None, 0, Ellipsis), (slice(None, None, 2), 1),
                                   (slice(1, None, 2),)])
def test_basic_index_forms_match_numpy(index, device):
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(tg.tensor(a, device=device)[index].numpy(), a[index])


def test_setitem_writes_values_from_a_tensor_a_number_or_a_numpy_array(device):
    x = tg.zeros(2, 3, device=device)
    x[0] = tg.tensor([1.0, 2.0, 3.0], device=device)
    x[1, 1:] = 7.0
    x[1, 0] = np.float32(5.0)
    x[:, 2] = np.array([8.0, 9.0])
    assert x.tolist() == [[1.0, 2.0, 8.0], [5.0, 7.0, 9.0]]


# ----------------------------------------------------------------------------- index tensors

def _x_dim(data, device):
    x = data.draw(tst.tensors(min_dims=1, device=device), label="x")
    return x, data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")


def _index_shape(data, x, d):
    """No larger than x in every dim but d, any size (1..4) along d."""
    d %= x.ndim
    return tuple(data.draw(st.integers(1, 4)) if k == d else data.draw(st.integers(1, n))
                 for k, n in enumerate(x.shape))


def _index(data, x, d, device, unique=False):
    """An int64 index into x along d: repeats allowed, or (``unique``) distinct along d."""
    shape = _index_shape(data, x, d)
    n = x.shape[d]
    if unique:
        shape = shape[:d % x.ndim] + (min(shape[d], n),) + shape[d % x.ndim + 1:]
        seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
        keys = np.random.default_rng(seed).random(shape[:d % x.ndim] + (n,) + shape[d % x.ndim + 1:])
        idx = np.take(np.argsort(keys, axis=d), range(shape[d]), axis=d)
    else:
        idx = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(0, n - 1)), label="index")
    return tg.tensor(idx, device=device)


def _slices(data, x, d, device):
    n = x.shape[d]
    idx = data.draw(hnp.arrays(np.int64, data.draw(st.integers(1, 5)), elements=st.integers(0, n - 1)),
                    label="index")
    return tg.tensor(idx, device=device)


# ----------------------------------------------------------------------------- index tensors: gradients

@given(data=st.data())
def test_gather_gradient_matches_finite_differences(device, data):
    x, d = _x_dim(data, device)
    index = _index(data, x, d, device)
    assert gradcheck(lambda t: t.gather(d, index), x)


@given(data=st.data())
def test_scatter_gradient_matches_finite_differences(device, data):
    x, d = _x_dim(data, device)
    index = _index(data, x, d, device, unique=True)   # one write per place: no write is lost
    src = data.draw(tst.tensors(shape=index.shape, device=device), label="src")
    assert gradcheck(lambda a, b: a.scatter(d, index, b), x, src)
    assert gradcheck(lambda a: tg.scatter(a, d, index, value=2.5), x)


@given(data=st.data())
def test_scatter_add_gradient_matches_finite_differences(device, data):
    x, d = _x_dim(data, device)
    index = _index(data, x, d, device)                 # repeats add up
    src = data.draw(tst.tensors(shape=index.shape, device=device), label="src")
    assert gradcheck(lambda a, b: a.scatter_add(d, index, b), x, src)


@given(data=st.data())
def test_index_select_and_index_add_gradients_match_finite_differences(device, data):
    x, d = _x_dim(data, device)
    index = _slices(data, x, d, device)
    shape = list(x.shape)
    shape[d] = index.shape[0]
    source = data.draw(tst.tensors(shape=tuple(shape), device=device), label="source")
    assert gradcheck(lambda a: a.index_select(d, index), x)
    assert gradcheck(lambda a, b: a.index_add(d, index, b, alpha=-1.5), x, source)


@given(data=st.data())
def test_masked_fill_and_masked_select_gradients_match_finite_differences(device, data):
    shapes = data.draw(tst.broadcastable_shapes(2), label="shapes").input_shapes
    x = data.draw(tst.tensors(shape=shapes[0], device=device), label="x")
    mask = tg.as_tensor(data.draw(tst.arrays(shape=shapes[1], dtype=np.bool_, device=device), label="mask"),
                        device=device)
    value = tg.tensor(0.5, dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda a: a.masked_select(mask), x)
    if np.broadcast_shapes(shapes[0], shapes[1]) == tuple(x.shape):
        assert gradcheck(lambda a, v: a.masked_fill(mask, v) * a, x, value)


@given(data=st.data())
def test_take_along_dim_gradient_matches_finite_differences(device, data):
    x, d = _x_dim(data, device)
    # x's size or 1 (broadcast against x) in the other dims, any size along d
    shape = [data.draw(st.integers(1, 4)) if k == d % x.ndim else data.draw(st.sampled_from([1, n]))
             for k, n in enumerate(x.shape)]
    idx = data.draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(0, x.shape[d] - 1)))
    index = tg.tensor(idx, device=device)
    assert gradcheck(lambda a: a.take_along_dim(index, d), x)
    assert gradcheck(lambda a: tg.take_along_dim(a, index), x)        # flattened


@SECOND
@given(data=st.data())
def test_second_derivatives_match_finite_differences(device, data):
    x, d = _x_dim(data, device)
    index = _index(data, x, d, device)
    src = data.draw(tst.tensors(shape=index.shape, device=device), label="src")
    assert gradgradcheck(lambda a: a.gather(d, index) ** 2, x)
    assert gradgradcheck(lambda a, b: a.scatter_add(d, index, b * b) * a, x, src)


# ----------------------------------------------------------------------------- index tensors: values

@given(data=st.data())
def test_gather_matches_numpy_take_along_axis(device, data):
    x, d = _x_dim(data, device)
    index = _index(data, x, d, device)
    sub = x.numpy()[tuple(slice(0, n) if k != d % x.ndim else slice(None)
                          for k, n in enumerate(index.shape))]
    np.testing.assert_array_equal(x.gather(d, index).numpy(),
                                  np.take_along_axis(sub, index.numpy(), axis=d))


def test_gather_and_scatter_by_hand(device):
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    idx = tg.tensor([[2, 0], [1, 1]], device=device)
    assert x.gather(1, idx).tolist() == [[3.0, 1.0], [5.0, 5.0]]
    assert x.gather(0, tg.tensor([[1, 0, 1]], device=device)).tolist() == [[4.0, 2.0, 6.0]]
    src = tg.tensor([[10.0, 20.0], [30.0, 40.0]], device=device)
    out = tg.zeros(2, 3, device=device).scatter(1, tg.tensor([[2, 0], [1, 0]], device=device), src)
    assert out.tolist() == [[20.0, 0.0, 10.0], [40.0, 30.0, 0.0]]
    out = x.scatter(0, tg.tensor([[1, 0]], device=device), -1.0)
    assert out.tolist() == [[1.0, -1.0, 3.0], [-1.0, 5.0, 6.0]]
    # scatter_add: repeated indices add up
    assert tg.zeros(2, 3, device=device).scatter_add(1, idx, src).tolist() == [[20.0, 0.0, 10.0],
                                                                               [0.0, 70.0, 0.0]]


def test_scatter_gradients_by_hand(device):
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    src = tg.tensor([10.0, 20.0], device=device, requires_grad=True)
    out = x.scatter(0, tg.tensor([2, 0], device=device), src)
    out.backward(tg.tensor([1.0, 2.0, 3.0], device=device))
    assert x.grad.tolist() == [0.0, 2.0, 0.0]          # overwritten places get nothing
    assert src.grad.tolist() == [3.0, 1.0]             # each src element: the gradient where it went


def test_index_select_and_index_add_by_hand(device):
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device=device, requires_grad=True)
    idx = tg.tensor([2, 0, 2], device=device)
    assert x.index_select(0, idx).tolist() == [[5.0, 6.0], [1.0, 2.0], [5.0, 6.0]]
    x.index_select(0, idx).sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]
    out = tg.zeros(3, 2, device=device).index_add(0, idx, tg.ones(3, 2, device=device), alpha=2)
    assert out.tolist() == [[2.0, 2.0], [0.0, 0.0], [4.0, 4.0]]
    assert x.index_select(1, tg.tensor([1], device=device)).tolist() == [[2.0], [4.0], [6.0]]
    assert tg.tensor(7.0, device=device).index_select(0, tg.tensor([0], device=device)).shape == ()


def test_masked_fill_and_masked_select_by_hand(device):
    x = tg.tensor([[1.0, -2.0], [-3.0, 4.0]], device=device, requires_grad=True)
    mask = x < 0
    assert x.masked_fill(mask, 0.0).tolist() == [[1.0, 0.0], [0.0, 4.0]]
    assert x.masked_select(mask).tolist() == [-2.0, -3.0]
    assert x.masked_select(tg.tensor([True, False], device=device)).tolist() == [1.0, -3.0]  # broadcast
    x.masked_fill(mask, 0.0).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    i = tg.tensor([1, 2], device=device).masked_fill(tg.tensor([True, False], device=device), 2.7)
    assert i.tolist() == [2, 2] and i.dtype == tg.int64   # the number is cast to the tensor's dtype


def test_nonzero_and_where_with_one_argument(device):
    x = tg.tensor([[0, 3], [5, 0], [0, 0]], device=device)
    nz = x.nonzero()
    assert nz.tolist() == [[0, 1], [1, 0]] and nz.dtype == tg.int64
    rows, cols = tg.where(x)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert [t.tolist() for t in x.nonzero(as_tuple=True)] == [[0, 1], [1, 0]]
    assert tg.nonzero(tg.zeros(2, 2, device=device)).shape == (0, 2)
    assert tg.tensor(3.0, device=device).nonzero().shape == (1, 0)
    assert tg.where(x > 0, 1.0, -1.0).tolist() == [[-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]


@given(data=st.data())
def test_nonzero_matches_numpy(device, data):
    a = data.draw(tst.arrays(dtype=np.int64, min_value=-1, max_value=1, min_dims=1), label="a")
    np.testing.assert_array_equal(tg.tensor(a, device=device).nonzero().numpy(), np.argwhere(a))


# ----------------------------------------------------------------------------- in place

def test_in_place_forms_change_the_tensor(device):
    x = tg.zeros(2, 3, device=device)
    idx = tg.tensor([[0, 2]], device=device)
    assert x.scatter_(1, idx, tg.tensor([[1.0, 2.0]], device=device)) is x
    assert x.tolist() == [[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
    x.scatter_(1, idx, value=7.0)
    assert x.tolist() == [[7.0, 0.0, 7.0], [0.0, 0.0, 0.0]]
    x.scatter_add_(0, tg.tensor([[1, 1, 1]], device=device), tg.ones(1, 3, device=device))
    x.index_add_(1, tg.tensor([1, 1], device=device), tg.ones(2, 2, device=device))
    assert x.tolist() == [[7.0, 2.0, 7.0], [1.0, 3.0, 1.0]]
    x.masked_fill_(x > 2, -1.0)
    assert x.tolist() == [[-1.0, 2.0, -1.0], [1.0, -1.0, 1.0]]


def test_in_place_forms_record_the_gradient(device):
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tg.float64, device=device, requires_grad=True)
    v = tg.tensor(5.0, dtype=tg.float64, device=device, requires_grad=True)
    y = x * 1.0
    y.masked_fill_(x > 2.5, v)
    y.index_add_(0, tg.tensor([0], device=device), x[:1] * 2)
    (y * y).sum().backward()
    # y = [[3 x00, 3 x01], [v, v]]: d/dx = 2 y * 3 on row 0, d/dv = 2 (v + v)
    assert x.grad.tolist() == [[18.0, 36.0], [0.0, 0.0]] and v.grad.item() == 20.0


# ----------------------------------------------------------------------------- errors

def test_bad_indices_are_errors_with_pytorch_wording(device):
    x = tg.zeros(2, 3, device=device)
    with pytest.raises(ValueError, match=r"gather\(\): Expected dtype int32/int64 for index"):
        x.gather(1, tg.tensor([[0.0]], device=device))
    with pytest.raises(ValueError, match=r"gather\(\): index 3 is out of bounds for dimension 1 with "
                                         r"size 3"):
        x.gather(1, tg.tensor([[3]], device=device))
    with pytest.raises(ValueError, match=r"gather\(\): index -1 is out of bounds"):
        x.gather(1, tg.tensor([[-1]], device=device))
    with pytest.raises(ValueError, match="Index tensor must have the same number of dimensions"):
        x.gather(1, tg.tensor([0, 1], device=device))
    with pytest.raises(ValueError, match=r"Expected index \[3, 1\] to be no larger than self \[2, 3\]"):
        x.gather(1, tg.zeros(3, 1, dtype=tg.int64, device=device))
    with pytest.raises(ValueError, match="no larger size than src"):
        x.scatter(0, tg.zeros(2, 2, dtype=tg.int64, device=device), tg.ones(1, 1, device=device))
    with pytest.raises(ValueError, match="Expected self.dtype to be equal to src.dtype"):
        x.scatter_add(0, tg.zeros(1, 1, dtype=tg.int64, device=device), tg.ones(1, 1, dtype=tg.float64,
                                                                                 device=device))
    with pytest.raises(ValueError, match="Index is supposed to be a vector"):
        x.index_select(0, tg.zeros(1, 1, dtype=tg.int64, device=device))
    with pytest.raises(ValueError, match="index out of range in self"):
        x.index_select(0, tg.tensor([2], device=device))
    with pytest.raises(ValueError, match="source tensor shape must match self tensor shape"):
        x.index_add(0, tg.tensor([0], device=device), tg.ones(1, 2, device=device))
    with pytest.raises(ValueError, match="only supports boolean masks"):
        x.masked_fill(tg.ones(2, 3, device=device), 1.0)
    with pytest.raises(ValueError, match="only supports a 0-dimensional value tensor"):
        x.masked_fill(x > 0, tg.ones(3, device=device))
    with pytest.raises(ValueError, match="must match the size of tensor b"):
        x.masked_select(tg.ones(2, dtype=tg.bool, device=device))


def test_index_on_another_device_is_an_error():
    with pytest.raises(ValueError, match="same device"):
        tg.zeros(2, 2, device="fake").gather(0, tg.zeros(1, 1, dtype=tg.int64))


# ----------------------------------------------------------------------------- against PyTorch

def test_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, s = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    idx = np.array([[0, 2], [1, 1], [3, 0]])
    uniq = np.array([[2, 0, 1, 2], [0, 1, 2, 0]])
    sel = np.array([3, 0, 3])
    m = a > 0
    cases = [
        lambda t, u, I: t.gather(1, I(idx)),
        lambda t, u, I: t.scatter(0, I(uniq), u[:2]),    # PyTorch's backward needs src shaped as index
        lambda t, u, I: t.scatter(1, I(idx), 2.5),
        lambda t, u, I: t.scatter_add(1, I(idx), u[:, :2]),
        lambda t, u, I: t.index_select(1, I(sel)),
        lambda t, u, I: t.index_add(1, I(sel), u[:, :3], alpha=2.0),
        lambda t, u, I: t.masked_fill(I(m), -1.0),
        lambda t, u, I: t.masked_select(I(m)) * u.masked_select(I(m)),
        lambda t, u, I: t.take_along_dim(I(idx[:, :1]), 1),
        lambda t, u, I: t.take_along_dim(I(idx)),
    ]
    for k, fn in enumerate(cases):
        x, u = tg.tensor(a, requires_grad=True), tg.tensor(s, requires_grad=True)
        xt, ut = torch.tensor(a, requires_grad=True), torch.tensor(s, requires_grad=True)
        y, yt = fn(x, u, tg.tensor), fn(xt, ut, torch.tensor)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-15, err_msg=f"case {k}")
        g = rng.standard_normal(y.shape)
        y.backward(tg.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-15, err_msg=f"case {k}")
        if ut.grad is not None:
            np.testing.assert_allclose(u.grad.numpy(), ut.grad.numpy(), rtol=1e-15, err_msg=f"case {k}")
    b = (a > 0.5).astype(np.int64)
    np.testing.assert_array_equal(tg.tensor(b).nonzero().numpy(), torch.tensor(b).nonzero().numpy())


# ----------------------------------------------------------------------------- operators and reductions

def test_boolean_mask_of_the_wrong_length_raises_index_error():
    msg = (r"The shape of the mask \[3\] at index 0 does not match the shape of the indexed tensor "
           r"\[4\] at index 0")
    with pytest.raises(IndexError, match=msg):
        tg.ones(4)[tg.tensor([True, False, True])]
    with pytest.raises(IndexError, match="mask"):
        tg.ones(4)[tg.tensor([True, False, True])] = 0.0
    with pytest.raises(IndexError, match=r"mask \[2\] at index 0 .* tensor \[2, 3\] at index 1"):
        tg.ones(2, 3)[:, tg.tensor([True, False])]


# ----------------------------------------------------------------------------- integers mixed with index tensors (PyTorch's layout)

def test_int_slice_index_tensor_keeps_the_indexed_dim_in_place():
    # PyTorch applies x[1] first (a view), then [:, idx]: (3, 2), not NumPy's (2, 3)
    x = tg.arange(24).reshape(2, 3, 4)
    out = x[1, :, tg.tensor([0, 2])]
    assert out.shape == (3, 2)
    assert out.tolist() == [[12, 14], [16, 18], [20, 22]]


def test_int_then_index_tensor_matches_numpy_applied_in_two_steps():
    # PyTorch: integers are basic indices (applied first), the rest follows NumPy's rules
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    idx = np.array([[0, 1], [1, 0]])
    cases = [((1, slice(None), idx), a[1][:, idx]),
             ((slice(None), 1, slice(None), idx), a[:, 1][:, :, idx]),
             ((-1, Ellipsis, idx), a[-1][..., idx]),
             ((1, None, idx), a[1][None, idx]),
             ((idx, slice(None), 2), a[:, :, 2][idx, :]),
             ((1, slice(None), 0, [3, 1]), a[1, :, 0][:, [3, 1]]),
             ((0, np.array([True, False, True]), slice(1, 3)), a[0][[0, 2], 1:3])]
    x = tg.tensor(a)
    for index, expected in cases:
        tindex = tuple(tg.tensor(p) if isinstance(p, np.ndarray) else p for p in index)
        np.testing.assert_array_equal(x[tindex].numpy(), expected)


def test_zero_dim_integer_tensor_indexes_as_an_int():
    # PyTorch: x[tensor(1)] selects (a view), and counts as an int next to index tensors
    x = tg.arange(24.0).reshape(2, 3, 4)
    row = x[tg.tensor(1)]
    row[0, 0] = -1.0
    assert x[1, 0, 0].item() == -1.0
    assert x[tg.tensor(1), :, tg.tensor([0, 2])].shape == (3, 2)


def test_bool_scalars_take_no_dim():
    # PyTorch: True adds a dim of size 1 and consumes none, so the mask indexes dim 0
    x = tg.arange(6.0).reshape(2, 3)
    out = x[True, tg.tensor([False, True])]
    assert out.shape == (1, 3) and out.tolist() == [[3.0, 4.0, 5.0]]
    assert x[1, :, True].shape == (3, 1)
    assert x[False, 1].shape == (0, 3)


def test_setitem_through_int_slice_index_tensor():
    # PyTorch: the value has the getitem's shape (3, 2) and lands in x[1][:, [0, 2]]
    x = tg.zeros(2, 3, 4)
    x[1, :, tg.tensor([0, 2])] = tg.arange(6.0).reshape(3, 2)
    expected = np.zeros((2, 3, 4), np.float32)
    expected[1, :, 0] = [0, 2, 4]
    expected[1, :, 2] = [1, 3, 5]
    np.testing.assert_array_equal(x.numpy(), expected)


def test_gradients_through_int_slice_index_tensor():
    # PyTorch: the gradient lands where the elements came from; the value's has the (3, 2) layout
    x = tg.zeros(2, 3, 4, requires_grad=True)
    w = tg.arange(6.0).reshape(3, 2)
    (x[1, :, tg.tensor([0, 2])] * w).sum().backward()
    expected = np.zeros((2, 3, 4), np.float32)
    expected[1, :, 0] = [0, 2, 4]
    expected[1, :, 2] = [1, 3, 5]
    np.testing.assert_array_equal(x.grad.numpy(), expected)

    v = tg.ones(3, 2, requires_grad=True)
    y = tg.zeros(2, 3, 4) * 1
    y[1, :, tg.tensor([0, 2])] = v
    (y * tg.arange(24.0).reshape(2, 3, 4)).sum().backward()
    assert v.grad.tolist() == [[12.0, 14.0], [16.0, 18.0], [20.0, 22.0]]


_INDEX_PARTS = {
    "int": lambda m: 1, "neg": lambda m: -1, "npint": lambda m: np.int64(1), "int0d": lambda m: m.tensor(1),
    "all": lambda m: slice(None), "part": lambda m: slice(1, 3), "None": lambda m: None,
    "...": lambda m: Ellipsis, "idx": lambda m: m.tensor([0, 1]), "idx2d": lambda m: m.tensor([[0, 1], [1, 1]]),
    "list": lambda m: [1, 0], "mask": lambda m: m.tensor([True, False]),
    "mask3": lambda m: m.tensor([True, False, True]), "mask2d": lambda m: m.tensor([[True, False, True, False]] * 3),
    "True": lambda m: True, "False": lambda m: False, "bool0d": lambda m: m.tensor(True),
}


def _index_mixes():
    """Indices for a (2, 3, 4, 5) tensor: every pair of parts with an integer, and every triple with
    a plain int and an index tensor, mask or bool (the ones PyTorch rejects are skipped)."""
    ints = {"int", "neg", "npint", "int0d"}
    arrays = {"idx", "idx2d", "list", "mask", "mask3", "mask2d", "True", "False", "bool0d"}
    for n in (2, 3):
        for keys in itertools.product(sorted(_INDEX_PARTS), repeat=n):
            if set(keys) & ints and keys.count("...") <= 1 and (n == 2 or set(keys) & arrays):
                if n == 2 or not set(keys) & {"neg", "npint", "int0d", "part", "list"}:
                    yield keys


def test_index_mixes_match_pytorch():
    # PyTorch: values, shapes, setitem and both gradients for every mix of index kinds
    torch = pytest.importorskip("torch")
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    checked = 0
    for keys in _index_mixes():
        index = tuple(_INDEX_PARTS[k](tg) for k in keys)
        tindex = tuple(_INDEX_PARTS[k](torch) for k in keys)
        try:
            expected = torch.tensor(a)[tindex]
        except (IndexError, RuntimeError, TypeError):
            continue
        x = tg.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        out, tout = x[index], tx[tindex]
        np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy(), err_msg=str(keys))
        w = np.linspace(0.5, 1.5, out.numel()).reshape(out.shape)
        (out * tg.tensor(w)).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        # repeated positions add up, in an order that may differ in the last bit
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15, err_msg=str(keys))
        if "idx2d" not in keys:         # repeated positions: which write wins is unspecified
            v = tg.tensor(w + 1000, requires_grad=True)
            tv = torch.tensor(w + 1000, requires_grad=True)
            y, ty = tg.tensor(a) * 1, torch.tensor(a) * 1
            y[index], ty[tindex] = v, tv
            np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy(), err_msg=str(keys))
            (y * tg.tensor(a)).sum().backward()
            (ty * torch.tensor(a)).sum().backward()
            np.testing.assert_array_equal(v.grad.numpy(), tv.grad.numpy(), err_msg=str(keys))
        checked += 1
    assert checked > 300
