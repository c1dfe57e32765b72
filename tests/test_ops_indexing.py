"""Indexing: every NumPy basic and advanced form (ints, slices with steps, None, Ellipsis, boolean
masks, integer arrays with repeated entries), the values against NumPy and the gradient (a scatter
that must add repeated indices up) against finite differences.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from indexing_reference import numpy_in_pytorch_layout
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))


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
