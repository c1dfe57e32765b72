"""tinygrad_rnn.datasets: the bundled digits and the seeded synthetic generators."""
import importlib.util
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.data import TensorDataset
from tinygrad_rnn.datasets import digits, load_digits, make_moons, make_spirals

needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                   reason="scikit-learn not installed")

# The first digit of the set (a 0), as printed in scikit-learn's documentation.
FIRST_IMAGE = [[0, 0, 5, 13, 9, 1, 0, 0], [0, 0, 13, 15, 10, 15, 5, 0], [0, 3, 15, 2, 0, 11, 8, 0],
               [0, 4, 12, 0, 0, 8, 8, 0], [0, 5, 8, 0, 0, 9, 8, 0], [0, 4, 11, 0, 1, 12, 7, 0],
               [0, 2, 14, 5, 10, 12, 0, 0], [0, 0, 6, 13, 10, 0, 0, 0]]
CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture
def fresh_digits_cache():
    digits._raw.cache_clear()
    yield
    digits._raw.cache_clear()


# ----------------------------------------------------------------------------- digits

@needs_sklearn
def test_digits_shapes_dtypes_and_class_counts():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == CLASS_COUNTS


@needs_sklearn
def test_digits_are_scaled_to_unit_interval_by_default():
    X, _ = load_digits()
    raw, _ = load_digits(scale=False)
    assert X.min() == 0.0 and X.max() == 1.0
    assert raw.max() == 16.0 and np.all(raw == np.round(raw))
    np.testing.assert_array_equal(X * 16, raw)


@needs_sklearn
def test_first_digit_matches_the_published_image():
    X, y = load_digits(scale=False)
    assert y[0] == 0
    assert X[0].reshape(8, 8).tolist() == FIRST_IMAGE


@needs_sklearn
def test_digits_match_scikit_learns_loader():
    sk = pytest.importorskip("sklearn.datasets")
    X_sk, y_sk = sk.load_digits(return_X_y=True)
    X, y = load_digits(scale=False, dtype=np.float64)
    np.testing.assert_array_equal(X, X_sk)
    np.testing.assert_array_equal(y, y_sk)


@needs_sklearn
def test_digits_fall_back_to_scikit_learns_loader_when_the_file_moves(monkeypatch, fresh_digits_cache):
    monkeypatch.setattr(digits.os.path, "exists", lambda p: False)
    X, y = load_digits(scale=False)
    assert X[0].reshape(8, 8).tolist() == FIRST_IMAGE and len(y) == 1797


@needs_sklearn
def test_digits_as_images_are_nchw():
    X, _ = load_digits()
    img, _ = load_digits(as_images=True)
    assert img.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(img[5, 0, 2], X[5, 16:24])      # row 2 of image 5


@needs_sklearn
def test_digits_as_dataset_is_a_tensor_dataset(device):
    ds = load_digits(as_dataset=True, device=device)
    assert isinstance(ds, TensorDataset) and len(ds) == 1797
    x, y = ds[0]
    assert x.shape == (64,) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.device == tg.device(device)


@needs_sklearn
def test_digits_dict_form_has_images_and_target_names():
    d = load_digits(return_X_y=False)
    assert d["images"].shape == (1797, 8, 8) and d["data"].shape == (1797, 64)
    assert d["target_names"].tolist() == list(range(10))


@needs_sklearn
def test_digits_callers_cannot_corrupt_the_cached_copy():
    X, y = load_digits()
    X[:] = -1
    y[:] = -1
    X2, y2 = load_digits()
    assert X2.min() == 0.0 and y2.min() == 0


def test_digits_without_scikit_learn_names_the_extra(monkeypatch, fresh_digits_cache):
    monkeypatch.setitem(sys.modules, "sklearn", None)           # makes `import sklearn` fail
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'tinygrad-rnn\[examples\]'"):
        load_digits()


# ----------------------------------------------------------------------------- moons

def test_moons_without_noise_lie_on_their_half_circles():
    X, y = make_moons(101, generator=tg.Generator(0))
    assert X.shape == (101, 2) and X.dtype == np.float32 and y.dtype == np.int64
    X = X.astype(np.float64)
    assert (y == 0).sum() == 50 and (y == 1).sum() == 51
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert upper[:, 1].min() >= -1e-6 and lower[:, 1].max() <= 0.5 + 1e-6


def test_moons_repeat_under_a_seed_and_noise_moves_points():
    tg.manual_seed(4)
    a = make_moons(50, noise=0.1)
    tg.manual_seed(4)
    b = make_moons(50, noise=0.1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    clean = make_moons(50, shuffle=False)[0]
    noisy = make_moons(50, noise=0.1, shuffle=False)[0]
    assert 0.05 < np.std(noisy - clean) < 0.2


def test_moons_as_dataset(device):
    ds = make_moons(10, as_dataset=True, device=device)
    assert isinstance(ds, TensorDataset) and ds.tensors[0].shape == (10, 2)
    assert ds.tensors[1].device == tg.device(device)


# ----------------------------------------------------------------------------- spirals

def test_spirals_without_noise_follow_radius_t_and_angle_four_k_plus_t():
    X, y = make_spirals(30, n_classes=3, noise=0.0, shuffle=False)
    X = X.astype(np.float64)
    t = np.tile(np.linspace(0, 1, 10), 3)
    np.testing.assert_allclose(np.hypot(*X.T), t, atol=1e-6)
    theta = 4 * (y + t)
    np.testing.assert_allclose(X, np.stack([t * np.sin(theta), t * np.cos(theta)], 1), atol=1e-6)


def test_spirals_spread_leftover_samples_over_the_first_classes():
    _, y = make_spirals(11, n_classes=3)
    assert np.bincount(y).tolist() == [4, 4, 3]


def test_spirals_repeat_with_the_same_generator():
    a = make_spirals(40, generator=tg.Generator(2))
    b = make_spirals(40, generator=tg.Generator(2))
    np.testing.assert_array_equal(a[0], b[0])


def test_spirals_reject_fewer_samples_than_classes():
    with pytest.raises(ValueError, match="make_spirals: n_samples"):
        make_spirals(2, n_classes=3)
