"""Error messages: bad input names the op and the expected and actual shapes, dtypes or devices,
and says what to do."""
import math
import sys
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import backend
from tinygrad_rnn.autograd import OpError


def message(excinfo):
    return str(excinfo.value)


def test_matmul_shape_mismatch_names_both_shapes(device):
    with pytest.raises(OpError) as e:
        tg.ones(2, 3, device=device) @ tg.ones(4, 5, device=device)
    assert "matmul" in message(e) and "(2, 3)" in message(e) and "(4, 5)" in message(e)


def test_matmul_of_mismatched_vectors_names_both_shapes(device):
    with pytest.raises(OpError, match=r"matmul.*\(3,\).*\(4,\)"):
        tg.ones(3, device=device) @ tg.ones(4, device=device)


@pytest.mark.parametrize("op,fn", [("add", lambda a, b: a + b), ("mul", lambda a, b: a * b),
                                   ("sub", lambda a, b: a - b), ("maximum", lambda a, b: a.maximum(b))])
def test_broadcast_mismatch_names_the_op_and_both_shapes(op, fn, device):
    with pytest.raises(OpError) as e:
        fn(tg.ones(2, 3, device=device), tg.ones(4, device=device))
    assert message(e).startswith(op + ":")
    assert "(2, 3)" in message(e) and "(4,)" in message(e)


def test_mixed_devices_name_both_devices():
    with pytest.raises(OpError) as e:
        tg.ones(2) + tg.ones(2, device="fake")
    assert "add" in message(e) and "cpu" in message(e) and "fake" in message(e)
    assert ".to(device)" in message(e)


def test_numpy_array_with_a_non_cpu_tensor_is_a_device_mismatch():
    with pytest.raises(OpError, match="fake.*cpu"):
        tg.ones(2, device="fake") * np.ones(2)


@pytest.mark.parametrize("data", [[1j, 2.0], np.array([1 + 2j]), ["a", "b"], [object()]])
def test_unsupported_data_names_its_dtype(data, device):
    with pytest.raises(TypeError) as e:
        tg.tensor(data, device=device)
    assert "dtype" in message(e) and str(np.asarray(data).dtype) in message(e)


@pytest.mark.parametrize("dtype", [np.complex64, object, "U3"])
def test_unsupported_dtype_argument_is_refused(dtype, device):
    with pytest.raises(TypeError, match="unsupported dtype"):
        tg.zeros(2, dtype=dtype, device=device)


def test_unknown_dtype_or_device_in_to_says_which_were_expected():
    with pytest.raises(TypeError, match=r"'tpu' is neither a device .* nor a dtype"):
        tg.ones(2).to("tpu")


@pytest.mark.parametrize("seed", [float("nan"), float("inf"), -float("inf"), 1.5])
def test_non_finite_or_fractional_seed_is_refused(seed):
    with pytest.raises(ValueError, match="finite integer"):
        tg.manual_seed(seed)


def test_non_number_seed_is_refused():
    with pytest.raises(TypeError, match="seed must be an integer, got str"):
        tg.manual_seed("42")


def test_integer_requires_grad_names_the_dtype_and_the_fix(device):
    with pytest.raises(TypeError) as e:
        tg.arange(3, device=device).requires_grad_()
    assert "int64" in message(e) and ".float()" in message(e)


@pytest.mark.parametrize("op,fn", [
    ("sum", lambda x: x.sum(2)), ("mean", lambda x: x.mean(-3)), ("softmax", lambda x: x.softmax(5)),
    ("log_softmax", lambda x: x.log_softmax(2)), ("transpose", lambda x: x.transpose(0, 2)),
    ("unsqueeze", lambda x: x.unsqueeze(4)), ("cat", lambda x: tg.cat([x, x], 2)),
    ("amax", lambda x: x.amax(7)), ("logsumexp", lambda x: x.logsumexp(2)),
])
def test_bad_dim_names_the_op_the_dim_and_the_rank(op, fn, device):
    with pytest.raises(OpError) as e:
        fn(tg.ones(2, 3, device=device))
    assert message(e).startswith(op + ":") and "out of range" in message(e)
    assert "2 dimension" in message(e) or "3 dimension" in message(e)


def test_repeated_dim_is_refused(device):
    with pytest.raises(OpError, match="sum: dim .* repeats"):
        tg.ones(2, 3, device=device).sum((1, -1))


def test_reshape_to_a_wrong_size_names_op_and_shapes(device):
    with pytest.raises(OpError) as e:
        tg.ones(2, 3, device=device).reshape(4)
    assert message(e) == "reshape: shape '[4]' is invalid for input of size 6 (a tensor of shape (2, 3))"


def test_expand_to_an_incompatible_shape_names_both_shapes(device):
    with pytest.raises(OpError, match=r"expand: cannot expand shape \(2, 3\) to \(4, 3\)"):
        tg.ones(2, 3, device=device).expand(4, 3)


def test_stack_of_unequal_shapes_names_both(device):
    with pytest.raises(OpError, match=r"stack.*\(2, 3\).*\(3,\)"):
        tg.stack([tg.ones(2, 3, device=device), tg.ones(3, device=device)])


def test_index_out_of_range_names_getitem(device):
    with pytest.raises(OpError, match="getitem: index 5 is out of bounds"):
        tg.ones(2, 3, device=device)[5]


def test_backward_gradient_of_the_wrong_shape_names_both_shapes(device):
    x = tg.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\) but the output has shape \(2,\)"):
        (x * 2).backward(gradient=tg.ones(3, device=device))


def test_cuda_without_cupy_says_which_extra_to_install(monkeypatch):
    # Pretend CuPy is not installed, whatever this machine has.
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(backend._TYPES["cuda"], "_module", None)
    monkeypatch.setattr(backend, "_CACHE", {})
    with pytest.raises(backend.DeviceError) as e:
        tg.ones(2, device="cuda")
    assert "CuPy" in message(e) and "cuda12" in message(e) and "cuda13" in message(e)
    assert "pip install" in message(e)


def test_unknown_device_lists_the_known_ones():
    with pytest.raises(backend.DeviceError, match=r"unknown device type 'tpu'.*'cpu'"):
        tg.device("tpu")


def test_bad_device_index_is_refused():
    with pytest.raises(backend.DeviceError, match="index after ':' must be a number"):
        tg.device("fake:x")


# ----------------------------------------------------------------------------- errors instead of crashes

def test_raw_python_errors_became_pytorch_errors():
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0, got: 0"):
        tg.ones(4).chunk(0)
    with pytest.raises(ValueError, match="step must be greater than zero"):
        tg.ones(4)[::-1]
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions, but self is 3D"):
        tg.ones(2, 3, 4).t()
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
        tg.ones(4, 3).t().view(12)
    assert tg.ones(4, 3).t().reshape(12).shape == (12,)
    with pytest.raises(ValueError, match=r"expected sequence of length 3 at dim 1 \(got 2\)"):
        tg.tensor([[1, 2, 3], [1, 2]])
    with pytest.raises(RuntimeError, match=r"shape '\[4, -1\]' is invalid for input of size 10"):
        tg.ones(10).view(4, -1)


def test_view_shares_memory_and_reshape_may_copy():
    x = tg.arange(6.0)
    v = x.view(2, 3)
    v[0, 0] = 10.0
    assert x[0].item() == 10.0 and x._version == 1


def test_size_zero_softmax_and_logsumexp_behave_as_pytorch():
    assert tg.zeros(3, 0).softmax(1).shape == (3, 0)
    assert tg.zeros(0, 3).log_softmax(0).shape == (0, 3)
    assert tg.zeros(3, 0).logsumexp(1).tolist() == [-math.inf] * 3


def test_no_numpy_warnings_leak_from_ops():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.tensor([0.0]).log().item() == -math.inf
        assert math.isnan((tg.tensor([0.0]) / 0).item())
        assert tg.tensor([1000.0]).exp().item() == math.inf
        x = tg.tensor([0.0], requires_grad=True)
        x.log().sum().backward()
        assert x.grad.item() == math.inf


def test_custom_function_forward_explains_that_it_receives_arrays():
    class Double(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.exp()                   # a Tensor method on a NumPy array

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(AttributeError, match="receives raw arrays"):
        Double.apply(tg.ones(2))
