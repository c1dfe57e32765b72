"""Matrix product with NumPy's rules: 1-D operands, batching, broadcasting of batch dims; gradient
and second derivative against finite differences, values against ``numpy.matmul``."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))


@given(data=st.data())
def test_matmul_matches_numpy(device, data):
    a, b = data.draw(tst.matmul_tensors(device=device), label="a, b")
    np.testing.assert_allclose((a @ b).numpy(), np.matmul(a.numpy(), b.numpy()), rtol=1e-12)


@given(data=st.data())
def test_matmul_gradient_matches_finite_differences(device, data):
    a, b = data.draw(tst.matmul_tensors(device=device), label="a, b")
    assert gradcheck(lambda x, y: x @ y, a, b)


@SECOND
@given(data=st.data())
def test_matmul_second_derivative_matches_finite_differences(device, data):
    a, b = data.draw(tst.matmul_tensors(device=device), label="a, b")
    assert gradgradcheck(lambda x, y: (x @ y).tanh(), a, b)


@given(data=st.data())
def test_matmul_method_and_function_agree_with_the_operator(device, data):
    a, b = data.draw(tst.matmul_tensors(device=device), label="a, b")
    expected = (a @ b).numpy()
    np.testing.assert_array_equal(a.matmul(b).numpy(), expected)
    np.testing.assert_array_equal(tg.matmul(a, b).numpy(), expected)


def test_numpy_matrix_on_the_left_gives_a_tensor_with_correct_gradient():
    # NumPy arrays are host data: this runs on the CPU.
    m = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])
    x = tg.tensor([[0.3, 0.1], [-0.7, 0.4], [1.1, 0.2]], dtype=tg.float64, requires_grad=True)
    assert isinstance(m @ x, tg.Tensor)
    np.testing.assert_allclose((m @ x).numpy(), m @ x.numpy())
    assert gradcheck(lambda t: m @ t, x)
    assert gradcheck(lambda t: t.T @ m.T, x)


def test_vector_dot_vector_is_a_scalar_with_gradient_the_other_vector(device):
    a = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    b = tg.tensor([4.0, 5.0, 6.0], device=device, requires_grad=True)
    y = a @ b
    assert y.shape == () and y.item() == 32.0
    y.backward()
    assert a.grad.tolist() == [4.0, 5.0, 6.0]
    assert b.grad.tolist() == [1.0, 2.0, 3.0]


def test_broadcast_batch_gradient_is_summed_over_the_broadcast_dims(device):
    a = tg.ones(2, 3, 4, device=device, requires_grad=True)
    w = tg.ones(4, 5, device=device, requires_grad=True)
    (a @ w).sum().backward()
    assert w.grad.shape == (4, 5)
    np.testing.assert_array_equal(w.grad.numpy(), np.full((4, 5), 6.0))   # 2 * 3 rows of ones
