"""Devices: the CuPy stand-in behaves like CuPy at the NumPy boundary, tensors stay on their device
through every op, and moves between devices carry values and gradients."""
import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import backend
from tinygrad_rnn.testing import fakecupy
from tinygrad_rnn.testing.fakecupy import xp


@pytest.fixture
def fa():
    return xp.asarray(np.arange(6.0).reshape(2, 3))


# ----------------------------------------------------------------------------- the test double itself

def test_fake_array_refuses_implicit_conversion_to_numpy(fa):
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(fa)
    with pytest.raises(TypeError):
        np.array([fa, fa])


@pytest.mark.parametrize("name,fn", [
    ("operator", lambda a, h: a + h), ("reflected operator", lambda a, h: h * a),
    ("ufunc", lambda a, h: np.maximum(a, h)), ("function", lambda a, h: np.concatenate([a, h])),
    ("module function", lambda a, h: xp.where(a > 0, a, h)), ("in place", lambda a, h: a.__iadd__(h)),
    ("setitem", lambda a, h: a.__setitem__(0, h[0])), ("index", lambda a, h: a[np.array([0])]),
    ("method", lambda a, h: a.dot(h.T)),
])
def test_fake_array_does_not_mix_with_numpy_arrays(name, fn, fa):
    with pytest.raises(TypeError):
        fn(fa, np.ones((2, 3)))


def test_fake_array_operations_among_fakes_and_scalars_stay_fake(fa):
    for out in (fa + 1, 2.0 * fa, fa @ fa.T, np.exp(fa), np.concatenate([fa, fa]), xp.tanh(fa),
                fa.reshape(3, 2), fa.transpose(), fa.astype(np.float32), fa[0], fa[fa > 2],
                fa.copy(), xp.where(fa > 2, fa, 0.0)):
        assert isinstance(out, xp.ndarray)
    np.testing.assert_array_equal((fa * 2 + 1).get(), np.arange(6.0).reshape(2, 3) * 2 + 1)


def test_fake_array_scalar_results_are_zero_dim_arrays(fa):
    for out in (fa.sum(), fa[1, 2], np.max(fa), xp.mean(fa)):
        assert isinstance(out, xp.ndarray) and out.shape == ()
    assert float(fa.sum()) == 15.0 and fa[1, 2].item() == 5.0


def test_fake_array_get_copies_to_the_host(fa):
    host = fa.get()
    assert type(host) is np.ndarray
    host[0, 0] = 99.0
    assert fa[0, 0].item() == 0.0


def test_fake_module_copies_host_arrays_in_only_through_asarray_and_array():
    a = np.ones(3)
    d = xp.asarray(a)
    a[0] = 5.0
    assert isinstance(d, xp.ndarray) and d.get().tolist() == [1.0, 1.0, 1.0]
    assert isinstance(xp.array([1, 2]), xp.ndarray)
    with pytest.raises(TypeError):
        xp.exp(np.ones(2))
    with pytest.raises(TypeError):
        xp.concatenate([xp.ones(2), np.ones(2)])


def test_fake_module_mirrors_numpy(fa):
    assert xp.float32 is np.float32 and xp.pi == np.pi
    assert isinstance(xp.zeros((2, 2)), xp.ndarray)
    parts = xp.split(fa, [1], axis=0)
    assert all(isinstance(p, xp.ndarray) for p in parts)
    view = xp.lib.stride_tricks.as_strided(fa, shape=(2, 2), strides=fa.strides)
    assert isinstance(view, xp.ndarray)
    assert isinstance(xp.random.default_rng(0).standard_normal(3), xp.ndarray)
    assert isinstance(xp.pad(fa, 1), xp.ndarray) and isinstance(xp.broadcast_to(fa, (4, 2, 3)), xp.ndarray)


def test_fake_module_lacks_what_cupy_lacks():
    with pytest.raises(AttributeError):
        xp.errstate


def test_fake_array_forwards_methods_and_attributes(fa):
    assert fa.shape == (2, 3) and fa.dtype == np.float64 and fa.ndim == 2 and fa.size == 6
    assert fa.flags.c_contiguous and not fa.T.flags.c_contiguous
    assert fa.max(axis=0).get().tolist() == [3.0, 4.0, 5.0]
    assert fa.sum(axis=1, keepdims=True).shape == (2, 1)


def test_fake_array_setitem_and_in_place_operators_write_through(fa):
    view = fa[0]
    view[1] = 10.0
    fa += 1
    fa[1] = xp.zeros(3)
    assert fa.get().tolist() == [[1.0, 11.0, 3.0], [0.0, 0.0, 0.0]]


def test_fake_scatter_add_accumulates_repeated_indices():
    target = xp.zeros(3)
    xp._scatter_add(target, (xp.asarray(np.array([0, 2, 0])),), xp.asarray(np.array([1.0, 2.0, 3.0])))
    assert target.get().tolist() == [4.0, 0.0, 2.0]


def test_fake_array_copies_and_pickles(fa):
    for other in (copy.deepcopy(fa), pickle.loads(pickle.dumps(fa))):
        assert isinstance(other, xp.ndarray)
        np.testing.assert_array_equal(other.get(), fa.get())


def test_install_is_idempotent():
    fakecupy.install()
    d = tg.device("fake")
    fakecupy.install()
    assert tg.device("fake") is d


# ----------------------------------------------------------------------------- tensors on devices

def test_tensor_data_lives_on_its_device(device):
    x = tg.ones(2, 3, device=device)
    y = (x * 2).exp().sum(0)
    assert y.device == tg.device(device)
    assert backend.device_of(y.array) == tg.device(device)
    assert isinstance(y.numpy(), np.ndarray)


def test_fake_tensor_data_is_not_a_numpy_array():
    assert not isinstance(tg.ones(2, device="fake").array, np.ndarray)


def test_device_names_compare_equal(device):
    d = tg.device(device)
    assert d == device and d == tg.device(str(d)) and hash(d) == hash(tg.device(str(d)))
    assert tg.device("fake") == "fake:0" and tg.device("cpu") != "fake"


def test_moving_between_devices_keeps_values_and_carries_gradients_back(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True)          # on the CPU
    y = x.to(device)
    assert y.device == tg.device(device)
    (y * y).sum().backward()
    assert x.grad.device == tg.device("cpu") and x.grad.tolist() == [2.0, 4.0]


def test_gradients_are_on_the_leaf_device(device):
    w = tg.randn(3, 2, device=device, requires_grad=True)
    (tg.ones(4, 3, device=device) @ w).tanh().sum().backward()
    assert w.grad.device == w.device and w.grad.shape == w.shape


def test_tensor_built_from_a_device_array_stays_on_that_device():
    t = tg.Tensor(xp.ones(2))
    assert t.device == tg.device("fake")


def test_default_device_can_be_set_in_code(monkeypatch):
    monkeypatch.setattr(backend, "_default", None)
    tg.set_default_device("fake")
    assert tg.zeros(2).device == tg.device("fake")
    assert tg.randn(2).device == tg.device("fake")
    tg.set_default_device(None)
    assert tg.zeros(2).device == tg.device("cpu")


def test_default_device_can_be_set_by_environment_variable(monkeypatch):
    monkeypatch.setattr(backend, "_default", None)
    monkeypatch.setenv(backend.DEFAULT_DEVICE_ENV, "fake")
    assert tg.ones(1).device == tg.device("fake")


def test_to_numpy_and_is_array_know_every_device(device):
    a = tg.ones(2, device=device).array
    assert backend.is_array(a) and not backend.is_array([1.0, 2.0])
    assert type(backend.to_numpy(a)) is np.ndarray


def test_a_fresh_process_can_start_on_a_non_cpu_device():
    # regression: host arrays were not recognised until some code had asked for device "cpu"
    code = ("import tinygrad_rnn as tg; from tinygrad_rnn.testing import fakecupy; fakecupy.install(); "
            "print(tg.tensor([1.0, 2.0], device='fake').sum().item())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3.0"
