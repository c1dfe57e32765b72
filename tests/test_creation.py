"""Creation and conversion (from_numpy, as_tensor, empty, new_*, facts about a tensor), random draws
(randint's positional forms, *_like, multinomial, bernoulli, normal) and tg.cuda.

Random draws are tested statistically with fixed seeds: each test compares a chi-square statistic
(or a standardised mean) with the quantile that a correct sampler exceeds with probability 1e-6,
so a pass is not luck and a failure is not noise; and one seed must repeat exactly.
"""
import subprocess
import sys
import types

import numpy as np
import pytest

import tinygrad_rnn as tg

# chi-square quantiles with upper tail 1e-6, by degrees of freedom (scipy.stats.chi2.ppf(1 - 1e-6, df))
CHI2_1E6 = {3: 30.665, 4: 33.377, 5: 35.888, 11: 48.866}


def _chi2(counts, expected):
    counts, expected = np.asarray(counts, float), np.asarray(expected, float)
    return float(((counts - expected) ** 2 / expected).sum())


# ----------------------------------------------------------------------------- sharing and facts

def test_from_numpy_shares_memory_both_ways():
    a = np.zeros(3)
    t = tg.from_numpy(a)
    a[0] = 5.0
    t.data[1] = 7.0
    assert t.tolist() == [5.0, 7.0, 0.0] and a.tolist() == [5.0, 7.0, 0.0]
    assert t.dtype == tg.float64 and t.device == "cpu"
    assert tg.from_numpy(np.arange(3, dtype=np.int16)).dtype == tg.int16


def test_from_numpy_refuses_other_data():
    with pytest.raises(TypeError, match=r"expected np.ndarray \(got list\)"):
        tg.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type object"):
        tg.from_numpy(np.array(["a"], dtype=object))


def test_as_tensor_shares_when_it_can(device):
    t = tg.ones(2, device=device)
    assert tg.as_tensor(t) is t and tg.as_tensor(t, dtype=tg.float32, device=device) is t
    assert tg.as_tensor(t, dtype=tg.float64).dtype == tg.float64
    a = np.ones(2, dtype=np.float32)
    s = tg.as_tensor(a)
    a[0] = 3.0
    assert s.tolist() == [3.0, 1.0]                         # shared
    assert tg.as_tensor([1, 2], device=device).tolist() == [1, 2]
    assert tg.as_tensor(a, device=device).device == device


def test_empty_and_new_factories(device):
    assert tg.empty(2, 3, device=device).shape == (2, 3)
    assert tg.empty((4,), dtype=tg.int32).dtype == tg.int32
    x = tg.ones(2, dtype=tg.float64, device=device)
    assert tg.empty_like(x).shape == (2,) and tg.empty_like(x).dtype == tg.float64
    for t in (x.new_zeros(3), x.new_ones((2, 2)), x.new_empty(1, 2), x.new_full((2,), 4)):
        assert t.dtype == tg.float64 and t.device == x.device
    assert x.new_zeros(3).tolist() == [0.0] * 3 and x.new_ones(2, 2).tolist() == [[1.0, 1.0]] * 2
    assert x.new_full((2,), 4).tolist() == [4.0, 4.0]
    assert x.new_zeros(2, dtype=tg.int64).dtype == tg.int64
    src = np.array([1.0, 2.0])
    n = x.new_tensor(src)
    src[0] = 9.0
    assert n.tolist() == [1.0, 2.0] and n.device == x.device       # a copy
    assert x.new_ones(2, requires_grad=True).requires_grad


def test_facts_about_a_tensor(device):
    x = tg.zeros(2, 3, dtype=tg.float64, device=device)
    assert x.is_floating_point() and tg.is_floating_point(x)
    assert not tg.zeros(2, dtype=tg.int32).is_floating_point()
    assert tg.is_tensor(x) and not tg.is_tensor(x.numpy())
    assert x.element_size() == 8 and x.itemsize == 8 and x.nbytes == 48
    assert x.T.nbytes == 48 and tg.zeros(3, dtype=tg.int16).element_size() == 2


# ----------------------------------------------------------------------------- randint and *_like

def test_randint_positional_forms_as_pytorch(device):
    tg.manual_seed(0)
    a = tg.randint(10, (1000,), device=device)
    b = tg.randint(3, 10, (1000,))
    c = tg.randint(low=-2, high=2, size=(2, 500))
    assert a.shape == (1000,) and a.dtype == tg.int64 and a.device == device
    assert set(a.tolist()) == set(range(10)) and set(b.tolist()) == set(range(3, 10))
    assert set(c.numpy().ravel().tolist()) == {-2, -1, 0, 1}
    assert tg.randint(5, size=(3,)).shape == (3,)
    tg.manual_seed(0)
    assert tg.randint(10, (1000,), device=device).tolist() == a.tolist()   # the seed repeats


def test_like_factories_keep_shape_dtype_and_device(device):
    x = tg.zeros(3, 4, dtype=tg.float64, device=device)
    for t in (tg.rand_like(x), tg.randn_like(x), tg.randint_like(x, 5), tg.randint_like(x, 2, 5)):
        assert t.shape == (3, 4) and t.dtype == tg.float64 and t.device == x.device
    r = tg.randint_like(x, 2, 5).numpy()
    assert ((r >= 2) & (r < 5)).all() and (r == np.round(r)).all()
    assert tg.rand_like(x, dtype=tg.float32).dtype == tg.float32
    u = tg.rand_like(tg.zeros(10000)).numpy()
    assert 0 <= u.min() and u.max() < 1


# ----------------------------------------------------------------------------- multinomial

P = np.array([0.1, 0.2, 0.3, 0.4, 0.0])


def test_multinomial_with_replacement_follows_the_weights(device):
    tg.manual_seed(1)
    n = 20000
    draws = tg.multinomial(tg.tensor(P * 7, device=device), n, replacement=True)   # unnormalised
    assert draws.shape == (n,) and draws.dtype == tg.int64 and draws.device == device
    counts = np.bincount(draws.numpy(), minlength=5)
    assert counts[4] == 0                                 # zero weight: never drawn
    assert _chi2(counts[:4], n * P[:4]) < CHI2_1E6[3]


def test_multinomial_rows_are_independent_distributions(device):
    tg.manual_seed(2)
    w = tg.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 3.0]], device=device)
    d = w.multinomial(4000, replacement=True).numpy()
    assert (d[0] == 0).all()
    counts = np.bincount(d[1], minlength=3)
    assert counts[0] == 0 and _chi2(counts[1:], [1000, 3000]) < 23.93   # df 1, tail 1e-6


def test_multinomial_without_replacement_draws_distinct_categories_in_sequence(device):
    # P(first = i, second = j) = p_i p_j / (1 - p_i): successive draws without the ones taken
    tg.manual_seed(3)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    n = 20000
    w = tg.tensor(np.tile(p, (n, 1)), device=device)
    d = tg.multinomial(w, 2).numpy()
    assert (d[:, 0] != d[:, 1]).all()
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j]
    counts = [np.sum((d[:, 0] == i) & (d[:, 1] == j)) for i, j in pairs]
    expected = [n * p[i] * p[j] / (1 - p[i]) for i, j in pairs]
    assert _chi2(counts, expected) < CHI2_1E6[11]


def test_multinomial_without_replacement_takes_everything_and_skips_zero_weights(device):
    tg.manual_seed(4)
    d = tg.tensor([[0.5, 0.0, 0.2, 0.3]] * 50, device=device).multinomial(3).numpy()
    assert (np.sort(d, axis=1) == [0, 2, 3]).all()


def test_multinomial_repeats_with_the_seed():
    w = tg.tensor([0.3, 0.3, 0.4])
    tg.manual_seed(5)
    a = tg.multinomial(w, 10, True).tolist()
    tg.manual_seed(5)
    assert tg.multinomial(w, 10, True).tolist() == a
    g = tg.Generator(5)
    assert tg.multinomial(w, 10, True, generator=g).tolist() == a


def test_multinomial_errors():
    cases = [(lambda: tg.multinomial(tg.tensor([0.5, -0.1]), 1), "element < 0"),
             (lambda: tg.multinomial(tg.tensor([0.0, 0.0]), 1), "sum of probabilities <= 0"),
             (lambda: tg.multinomial(tg.tensor([0.5, 0.5]), 3), "cannot sample n_sample > prob_dist"),
             (lambda: tg.multinomial(tg.tensor([0.5, 0.0]), 2), "not enough non-negative category"),
             (lambda: tg.multinomial(tg.ones(2, 2, 2), 1), "prob_dist must be 1 or 2 dim"),
             (lambda: tg.multinomial(tg.tensor([1, 2]), 1), "floating-point dtypes"),
             (lambda: tg.multinomial(tg.tensor([1.0, float("nan")]), 1), "`inf`, `nan` or element < 0")]
    for fn, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fn()


# ----------------------------------------------------------------------------- bernoulli and normal

def test_bernoulli_draws_ones_with_the_given_probabilities(device):
    tg.manual_seed(6)
    n = 20000
    p = tg.tensor([[0.0, 0.25, 0.5, 1.0]] * n, device=device)
    b = tg.bernoulli(p)
    assert b.dtype == tg.float32 and b.device == device
    a = b.numpy()
    assert set(np.unique(a)) <= {0.0, 1.0} and (a[:, 0] == 0).all() and (a[:, 3] == 1).all()
    for k, q in ((1, 0.25), (2, 0.5)):     # |mean - q| < 5.3 standard errors (tail ~1e-7)
        assert abs(a[:, k].mean() - q) < 5.3 * np.sqrt(q * (1 - q) / n)
    c = tg.zeros(n, dtype=tg.float64, device=device).bernoulli(0.3)
    assert c.dtype == tg.float64 and abs(c.numpy().mean() - 0.3) < 5.3 * np.sqrt(0.21 / n)
    with pytest.raises(ValueError, match="p_in >= 0 && p_in <= 1"):
        tg.bernoulli(tg.tensor([1.5]))


def test_normal_with_tensor_and_number_arguments(device):
    tg.manual_seed(7)
    n = 20000
    mean = tg.tensor([[-2.0], [3.0]], device=device)
    std = tg.tensor([0.5] * n, device=device)
    z = tg.normal(mean, std)
    assert z.shape == (2, n) and z.dtype == tg.float32 and z.device == device
    a = z.numpy().astype(np.float64)
    for row, m in ((0, -2.0), (1, 3.0)):     # sample mean within 5.3 standard errors
        assert abs(a[row].mean() - m) < 5.3 * 0.5 / np.sqrt(n)
        # sample variance: standard error sqrt(2 / (n - 1)) sigma^2
        assert abs(a[row].var(ddof=1) - 0.25) < 5.3 * 0.25 * np.sqrt(2 / (n - 1))
    assert tg.normal(0.0, 2.0, size=(3, 4)).shape == (3, 4)
    assert tg.normal(mean, 1.0).shape == (2, 1) and tg.normal(1.0, std[:3]).shape == (3,)
    with pytest.raises(ValueError, match="normal expects std >= 0.0"):
        tg.normal(mean, -1.0)
    tg.manual_seed(8)
    first = tg.normal(0.0, 1.0, size=(5,)).tolist()
    tg.manual_seed(8)
    assert tg.normal(0.0, 1.0, size=(5,)).tolist() == first


# ----------------------------------------------------------------------------- tg.cuda

def test_importing_the_package_does_not_import_cupy():
    code = "import sys, tinygrad_rnn as tg; tg.cuda; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cuda_is_unavailable_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)       # `import cupy` raises ImportError
    assert tg.cuda.is_available() is False and tg.cuda.device_count() == 0


def _fake_cupy(get_count):
    runtime = types.SimpleNamespace(getDeviceCount=get_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime))


def test_cuda_is_unavailable_when_cupy_finds_no_driver(monkeypatch):
    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver")
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(no_driver))
    assert tg.cuda.is_available() is False and tg.cuda.device_count() == 0


def test_cuda_counts_the_gpus_cupy_sees(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(lambda: 2))
    assert tg.cuda.is_available() is True and tg.cuda.device_count() == 2
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(lambda: 0))
    assert tg.cuda.is_available() is False


# ----------------------------------------------------------------------------- against PyTorch

def test_factory_dtypes_and_shapes_match_pytorch():
    torch = pytest.importorskip("torch")
    x, xt = tg.zeros(2, 3, dtype=tg.float64), torch.zeros(2, 3, dtype=torch.float64)
    pairs = [(tg.randint(10, (3,)), torch.randint(10, (3,))),
             (tg.randint(3, 10, (3,)), torch.randint(3, 10, (3,))),
             (tg.randint_like(x, 5), torch.randint_like(xt, 5)), (tg.rand_like(x), torch.rand_like(xt)),
             (x.new_full((2,), 3), xt.new_full((2,), 3)), (x.new_zeros(4), xt.new_zeros(4)),
             (tg.empty(2, 2), torch.empty(2, 2)), (tg.bernoulli(x), torch.bernoulli(xt)),
             (tg.multinomial(tg.ones(2, 3), 2), torch.multinomial(torch.ones(2, 3), 2)),
             (tg.normal(x, 1.0), torch.normal(xt, 1.0)),
             (tg.normal(0.0, 1.0, size=(2,)), torch.normal(0.0, 1.0, size=(2,)))]
    for k, (a, b) in enumerate(pairs):
        assert tuple(a.shape) == tuple(b.shape), k
        assert str(a.dtype) == str(b.dtype).replace("torch.", ""), k
    assert (x.element_size(), x.nbytes, x.is_floating_point()) == (xt.element_size(), xt.nbytes, True)
