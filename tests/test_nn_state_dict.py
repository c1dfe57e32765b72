"""state_dict / load_state_dict: names, sharing, round trips, casting and the error messages."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


def make():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_state_dict_keys_are_dotted_names_in_order():
    assert list(make().state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "3.weight", "3.bias"]


def test_state_dict_values_are_detached_and_share_memory():
    m = make()
    sd = m.state_dict()
    w = sd["0.weight"]
    assert type(w) is tg.Tensor and not w.requires_grad and w.grad_fn is None
    w.data[0, 0] = 123.0    # same memory as the parameter, as in PyTorch
    assert m[0].weight.data[0, 0] == 123.0


def test_state_dict_keep_vars_returns_the_parameters_themselves():
    m = make()
    assert m.state_dict(keep_vars=True)["0.weight"] is m[0].weight


def test_state_dict_lists_a_shared_parameter_under_each_name():
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    m[1].weight = m[0].weight
    sd = m.state_dict()
    assert "0.weight" in sd and "1.weight" in sd


def test_round_trip_makes_two_models_compute_the_same():
    a, b = make(), make()
    a[1].running_mean.data[...] = [0.1, 0.2, 0.3, 0.4]
    x = tg.randn(6, 3)
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va.numpy(), vb.numpy())


def test_load_accepts_numpy_arrays():
    a, b = make(), make()
    b.load_state_dict({k: v.numpy().copy() for k, v in a.state_dict().items()})
    np.testing.assert_array_equal(b[3].bias.numpy(), a[3].bias.numpy())


def test_load_copies_in_place_keeping_parameter_objects():
    m = nn.Linear(2, 2)
    w, arr = m.weight, m.weight.array
    m.load_state_dict({"weight": np.full((2, 2), 3.0, np.float32), "bias": np.zeros(2, np.float32)})
    assert m.weight is w and m.weight.array is arr
    np.testing.assert_array_equal(w.numpy(), np.full((2, 2), 3.0))


def test_load_casts_values_to_the_parameter_dtype():
    m = nn.Linear(2, 1)
    m.load_state_dict({"weight": np.array([[0.5, 1.5]], np.float64), "bias": np.array([2], np.int64)})
    assert m.weight.dtype == np.float32 and m.bias.dtype == np.float32
    np.testing.assert_array_equal(m.bias.numpy(), [2.0])


def test_load_casts_into_integer_buffers():
    bn = nn.BatchNorm1d(2)
    sd = bn.state_dict()
    sd["num_batches_tracked"] = np.array(7.0)
    bn.load_state_dict(sd)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 7


def test_load_moves_values_to_the_parameter_device(device):
    m = nn.Linear(2, 2).to(device)
    m.load_state_dict({"weight": np.eye(2, dtype=np.float32), "bias": np.ones(2, np.float32)})
    assert m.weight.device == device
    np.testing.assert_array_equal(m.weight.numpy(), np.eye(2))


def test_shape_mismatch_names_the_key_and_both_shapes():
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    sd["weight"] = np.zeros((3, 2), np.float32)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    msg = str(e.value)
    assert "size mismatch for weight" in msg and "(3, 2)" in msg and "(2, 3)" in msg


def test_shape_mismatch_raises_even_when_not_strict():
    m = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="size mismatch for bias"):
        m.load_state_dict({"bias": np.zeros(5, np.float32)}, strict=False)


def test_strict_load_lists_missing_keys():
    m = make()
    sd = m.state_dict()
    del sd["1.running_var"], sd["3.bias"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "1.running_var", "3.bias"'):
        m.load_state_dict(sd)


def test_strict_load_lists_unexpected_keys():
    m = make()
    sd = m.state_dict()
    sd["9.weight"] = np.zeros(1)
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "9.weight"'):
        m.load_state_dict(sd)


def test_non_strict_load_returns_missing_and_unexpected_keys():
    m = nn.Linear(2, 2)
    result = m.load_state_dict({"weight": np.zeros((2, 2), np.float32), "extra": np.zeros(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    missing, unexpected = result
    assert (missing, unexpected) == (["bias"], ["extra"])
    np.testing.assert_array_equal(m.weight.numpy(), np.zeros((2, 2)))


def test_matching_load_returns_empty_key_lists():
    m = make()
    assert tuple(m.load_state_dict(m.state_dict())) == ([], [])


def test_failed_load_changes_nothing():
    m = nn.Linear(2, 2)
    before = m.weight.numpy().copy()
    with pytest.raises(RuntimeError):
        m.load_state_dict({"weight": np.zeros((2, 2), np.float32), "bias": np.zeros(3, np.float32)})
    np.testing.assert_array_equal(m.weight.numpy(), before)


def test_non_tensor_value_raises_naming_the_key():
    m = nn.Linear(1, 1)
    with pytest.raises(RuntimeError, match='parameter named "bias"'):
        m.load_state_dict({"weight": np.zeros((1, 1), np.float32), "bias": "oops"})


def test_disabled_bias_is_neither_saved_nor_expected():
    m = nn.Linear(2, 2, bias=False)
    assert list(m.state_dict()) == ["weight"]
    m.load_state_dict({"weight": np.zeros((2, 2), np.float32)})
