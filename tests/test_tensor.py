"""The Tensor API: constructor dtype rules, factories, random numbers and seeds, conversions back to
Python/NumPy, repr, dtype and device moves, in-place helpers."""
import numpy as np
import pytest

import tinygrad_rnn as tg

# ----------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("data,dtype", [
    (1.5, np.float32), ([1.0, 2.0], np.float32), ([[1, 2.5]], np.float32),
    (3, np.int64), ([1, 2], np.int64), (True, np.bool_), ([True, False], np.bool_),
    (np.array([1.0], dtype=np.float64), np.float64), (np.array([1.0], dtype=np.float16), np.float16),
    (np.array([1], dtype=np.int32), np.int32), (np.array([1], dtype=np.uint8), np.uint8),
    (np.float64(2.0), np.float64),
])
def test_constructor_dtype_follows_pytorch_rules(data, dtype, device):
    assert tg.tensor(data, device=device).dtype == np.dtype(dtype)
    assert tg.as_tensor(data, device=device).dtype == np.dtype(dtype)


def test_explicit_dtype_converts(device):
    t = tg.tensor([1, 2], dtype=tg.float64, device=device)
    assert t.dtype == np.float64 and t.tolist() == [1.0, 2.0]
    assert tg.tensor([1.7], dtype="int32", device=device).dtype == np.int32


def test_tensor_copies_but_constructor_shares_numpy_data():
    a = np.zeros(3, dtype=np.float32)
    copied, shared = tg.tensor(a), tg.Tensor(a)
    a[0] = 5.0
    assert copied.tolist()[0] == 0.0
    assert shared.tolist()[0] == 5.0


def test_tensor_from_a_tensor_is_an_independent_copy(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = tg.tensor(x)
    y.data[0] = 9.0
    assert x.tolist() == [1.0, 2.0] and not y.requires_grad


# ----------------------------------------------------------------------------- factories

def test_zeros_ones_full_give_shape_dtype_and_values(device):
    z = tg.zeros(2, 3, device=device)
    o = tg.ones((2, 3), dtype=tg.float64, device=device)
    f = tg.full((2,), 7, device=device)
    assert z.shape == (2, 3) and z.dtype == np.float32 and z.numpy().sum() == 0
    assert o.dtype == np.float64 and o.numpy().sum() == 6
    assert f.dtype == np.int64 and f.tolist() == [7, 7]
    assert tg.full((1,), 0.5, device=device).dtype == np.float32
    assert tg.full((1,), True, device=device).dtype == np.bool_


def test_like_factories_copy_shape_dtype_and_device(device):
    x = tg.tensor([[1, 2, 3]], dtype=tg.int32, device=device)
    for t, value in ((tg.zeros_like(x), 0), (tg.ones_like(x), 1), (tg.full_like(x, 4), 4)):
        assert t.shape == (1, 3) and t.dtype == np.int32 and t.device == x.device
        assert t.tolist() == [[value] * 3]
    assert tg.zeros_like(x, dtype=tg.float64).dtype == np.float64


def test_arange_matches_numpy_and_picks_dtype_from_arguments(device):
    assert tg.arange(5, device=device).tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(5, device=device).dtype == np.int64
    assert tg.arange(1, 2, 0.25, device=device).dtype == np.float32
    np.testing.assert_allclose(tg.arange(1, 2, 0.25, device=device).numpy(), [1.0, 1.25, 1.5, 1.75])
    assert tg.arange(10, 0, -3, device=device).tolist() == [10, 7, 4, 1]


def test_eye_and_linspace_match_numpy(device):
    np.testing.assert_array_equal(tg.eye(3, device=device).numpy(), np.eye(3))
    np.testing.assert_array_equal(tg.eye(2, 3, device=device).numpy(), np.eye(2, 3))
    np.testing.assert_allclose(tg.linspace(0, 1, 5, device=device).numpy(), [0, 0.25, 0.5, 0.75, 1])


def test_factories_can_require_grad(device):
    assert tg.zeros(2, requires_grad=True, device=device).requires_grad
    assert tg.randn(2, requires_grad=True, device=device).is_leaf


# ----------------------------------------------------------------------------- random numbers

def test_manual_seed_makes_draws_repeat(device):
    tg.manual_seed(123)
    a = (tg.rand(3, device=device).numpy(), tg.randn(2, 2, device=device).numpy(),
         tg.randint(0, 10, (4,), device=device).numpy(), tg.randperm(5, device=device).numpy())
    tg.manual_seed(123)
    b = (tg.rand(3, device=device).numpy(), tg.randn(2, 2, device=device).numpy(),
         tg.randint(0, 10, (4,), device=device).numpy(), tg.randperm(5, device=device).numpy())
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_a_seed_gives_the_same_numbers_on_every_device(device):
    tg.manual_seed(7)
    here = tg.randn(5, device=device).numpy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(here, tg.randn(5).numpy())


def test_different_seeds_give_different_draws():
    tg.manual_seed(1)
    a = tg.rand(8).numpy()
    tg.manual_seed(2)
    assert not np.array_equal(a, tg.rand(8).numpy())


def test_rng_state_round_trips():
    tg.manual_seed(5)
    state = tg.get_rng_state()
    a = tg.randn(4).numpy()
    tg.set_rng_state(state)
    np.testing.assert_array_equal(a, tg.randn(4).numpy())


def test_own_generator_is_independent_of_the_default():
    g = tg.Generator(3)
    tg.manual_seed(0)
    a = tg.rand(3, generator=g).numpy()
    b = tg.rand(3).numpy()
    np.testing.assert_array_equal(a, tg.rand(3, generator=tg.Generator(3)).numpy())
    tg.manual_seed(0)
    np.testing.assert_array_equal(b, tg.rand(3).numpy())


def test_random_draws_have_the_right_range_and_dtype(device):
    tg.manual_seed(0)
    u = tg.rand(1000, device=device)
    assert u.dtype == np.float32 and 0 <= u.numpy().min() and u.numpy().max() < 1
    n = tg.randn(4000, dtype=tg.float64, device=device).numpy()
    assert abs(n.mean()) < 0.1 and abs(n.std() - 1) < 0.1
    r = tg.randint(3, 6, (100,), device=device)
    assert r.dtype == np.int64 and set(r.tolist()) == {3, 4, 5}
    assert sorted(tg.randperm(6, device=device).tolist()) == list(range(6))


# ----------------------------------------------------------------------------- conversions

def test_numpy_item_tolist(device):
    x = tg.tensor([[1.5, 2.0]], device=device)
    assert isinstance(x.numpy(), np.ndarray) and x.numpy().shape == (1, 2)
    assert x.tolist() == [[1.5, 2.0]]
    assert x[0, 1].item() == 2.0 and isinstance(x[0, 1].item(), float)
    assert tg.tensor([3], device=device).item() == 3
    assert float(tg.tensor(2.5, device=device)) == 2.5 and int(tg.tensor(4, device=device)) == 4


def test_item_of_several_elements_fails(device):
    with pytest.raises(ValueError, match=r"only one-element tensors.*\(2,\)"):
        tg.tensor([1.0, 2.0], device=device).item()


def test_shape_facts(device):
    x = tg.zeros(2, 3, 4, device=device)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3 and x.numel() == 24
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and len(x) == 2


def test_iterating_gives_rows(device):
    rows = list(tg.tensor([[1, 2], [3, 4]], device=device))
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4]]


def test_repr_shows_values_and_only_non_default_facts():
    assert repr(tg.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tg.tensor([1.0], dtype=tg.float64)) == "tensor([1.], dtype=float64)"
    assert repr(tg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(tg.tensor([1.0], requires_grad=True) * 2)


def test_repr_names_a_non_cpu_device():
    assert "device='fake:0'" in repr(tg.tensor([1.0], device="fake"))


def test_to_dtype_and_shortcuts(device):
    x = tg.tensor([1.7, -2.2], device=device)
    assert x.to(tg.float64).dtype == np.float64
    assert x.double().dtype == np.float64 and x.half().dtype == np.float16
    assert x.long().tolist() == [1, -2] and x.int().dtype == np.int32
    assert x.bool().tolist() == [True, True]
    assert x.to(x) is x
    assert x.to("float64").dtype == np.float64


def test_to_device_and_cpu_move_data_and_keep_values(device):
    x = tg.tensor([1.0, 2.0])
    y = x.to(device)
    assert y.device == tg.device(device) and y.tolist() == [1.0, 2.0]
    assert y.cpu().device == tg.device("cpu")
    z = x.to(device, tg.float64)
    assert z.device == tg.device(device) and z.dtype == np.float64


def test_cast_passes_the_gradient_back_in_the_input_dtype(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]


def test_detach_in_place_cuts_history(device):
    x = tg.tensor([1.0], device=device, requires_grad=True)
    y = x * 2
    assert y.detach_() is y
    assert y.grad_fn is None and not y.requires_grad


def test_requires_grad_in_place_returns_the_tensor(device):
    x = tg.tensor([1.0], device=device)
    assert x.requires_grad_() is x and x.requires_grad
    assert not x.requires_grad_(False).requires_grad


def test_requires_grad_of_a_non_leaf_cannot_be_switched_off(device):
    y = tg.tensor([1.0], device=device, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


# ----------------------------------------------------------------------------- in-place updates

def test_in_place_updates_change_data_without_history(device):
    x = tg.tensor([1.0, 2.0], device=device)
    x += 1
    x.mul_(2).sub_(tg.tensor([1.0, 1.0], device=device), alpha=2)
    assert x.tolist() == [2.0, 4.0]
    x.zero_()
    assert x.tolist() == [0.0, 0.0]
    x.fill_(3).clamp_(max=2.5)
    assert x.tolist() == [2.5, 2.5]


def test_in_place_update_of_a_leaf_that_requires_grad_needs_no_grad(device):
    w = tg.tensor([1.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    with tg.no_grad():
        w.add_(1.0)
    assert w.tolist() == [2.0]


def test_comparisons_give_bool_tensors(device):
    x = tg.tensor([1.0, 2.0, 3.0], device=device)
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x == 2).dtype == np.bool_
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert (~(x > 1)).tolist() == [True, False, False]


def test_bool_of_a_single_element(device):
    assert bool(tg.tensor([1.0], device=device)) and not bool(tg.tensor(0.0, device=device))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tg.tensor([1.0, 2.0], device=device))
