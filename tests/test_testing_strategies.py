"""The strategies keep their promises: values away from kinks and apart, layouts that really vary,
shapes that broadcast or multiply, indices NumPy accepts, layer configurations with valid outputs."""
import itertools

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from indexing_reference import numpy_in_pytorch_layout
from tinygrad_rnn import backend
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as tst


def host(a):
    return backend.to_numpy(a)


# ----------------------------------------------------------------------------- values

@given(tst.arrays(kinks=[0.0, 1.5], min_kink_distance=0.1))
def test_values_stay_away_from_kinks(a):
    v = host(a)
    assert np.all(np.abs(v - 0.0) >= 0.1)
    assert np.all(np.abs(v - 1.5) >= 0.1)


@given(tst.arrays(dtype=np.float32, min_value=-1, max_value=1, kinks=[0.0], min_kink_distance=1e-3))
def test_float32_values_stay_away_from_kinks_after_rounding(a):
    assert a.dtype == np.float32
    assert np.all(np.abs(host(a).astype(np.float64)) >= 1e-3)


@given(tst.arrays(min_value=-0.5, max_value=2.0, kinks=[0.0, 1.0], min_gap=0.01))
def test_values_stay_in_range(a):
    v = host(a)
    assert np.all((v >= -0.5) & (v <= 2.0))


@given(tst.arrays(min_gap=0.05, kinks=[0.0], min_kink_distance=0.2, max_side=4, max_dims=3))
def test_min_gap_separates_every_pair_of_values(a):
    v = np.sort(host(a).reshape(-1))
    assert np.all(np.diff(v) >= 0.05)
    assert np.all(np.abs(v) >= 0.2)


def test_values_get_their_gap_even_when_all_draws_coincide():
    # the simplest example shrinks every draw to one value; the values must still be spread out
    a = find(tst.arrays(shape=(5,), min_gap=0.5), lambda a: True)
    assert np.all(np.diff(np.sort(host(a))) >= 0.5)


def test_impossible_min_gap_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot fit 10 values at least 1 apart"):
        find(tst.arrays(shape=(10,), min_value=0, max_value=2, min_gap=1.0), lambda a: True)


def test_kinks_covering_the_whole_range_are_a_clear_error():
    with pytest.raises(ValueError, match="no values are left"):
        find(tst.arrays(min_value=-1, max_value=1, kinks=[0.0], min_kink_distance=2.0), lambda a: True)


def test_max_with_distinct_values_has_no_ties():
    @given(tst.tensors(min_dims=1, min_gap=1e-3))
    @settings(max_examples=10)
    def check(x):
        r = gradcheck(lambda t: t.amax(0), x)
        assert r.n_masked == 0

    check()


@given(tst.arrays(dtype=np.int64, min_value=-3, max_value=3))
def test_integer_arrays_respect_the_range(a):
    assert a.dtype == np.int64 and np.all((host(a) >= -3) & (host(a) <= 3))


@given(tst.arrays(shape=(3, 4), contiguous=False))
def test_contiguous_false_gives_non_contiguous_arrays(a):
    assert not a.flags.c_contiguous


@given(tst.arrays(contiguous=True))
def test_contiguous_true_gives_contiguous_arrays(a):
    assert a.flags.c_contiguous


@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_non_contiguous_layouts_occur_by_default(layout):
    if layout == "transposed":   # a transposed view of a C array is Fortran-ordered
        def pred(a):
            return a.flags.f_contiguous and not a.flags.c_contiguous
    else:
        def pred(a):
            return not a.flags.c_contiguous and not a.flags.f_contiguous
    assert find(tst.arrays(shape=(3, 4)), pred) is not None


@given(tst.tensors(shape=(2, 3), dtype=np.float32, requires_grad=True))
def test_tensors_are_tensors_with_the_asked_dtype_and_grad(x):
    assert isinstance(x, tg.Tensor)
    assert x.shape == (2, 3) and x.dtype == np.float32 and x.requires_grad and x.is_leaf


@given(tst.tensors(dtype=np.int64))
def test_integer_tensors_do_not_require_grad(x):
    assert not x.requires_grad


def test_tensors_land_on_the_asked_device(device):
    @given(tst.tensors(device=device, contiguous=False, min_dims=2))
    @settings(max_examples=5)
    def check(x):
        assert x.device == tg.device(device)

    check()


# ----------------------------------------------------------------------------- shapes

@given(tst.broadcastable_tensors(3))
def test_broadcastable_tensors_broadcast_together(xs):
    shapes = [x.shape for x in xs]
    assert (xs[0] + xs[1] * xs[2]).shape == np.broadcast_shapes(*shapes)


def test_broadcastable_shapes_really_broadcast():
    shp = find(tst.broadcastable_shapes(2, min_dims=1),
               lambda s: s.input_shapes[0] != s.input_shapes[1])
    assert np.broadcast_shapes(*shp.input_shapes) == shp.result_shape


@given(tst.matmul_shapes())
def test_matmul_shapes_are_accepted_by_numpy(shapes):
    a, b = shapes
    np.matmul(np.zeros(a), np.zeros(b))


@pytest.mark.parametrize("case", ["dot", "vec_a", "vec_b", "batched_broadcast"])
def test_every_matmul_case_occurs(case):
    preds = {"dot": lambda s: len(s[0]) == len(s[1]) == 1,
             "vec_a": lambda s: len(s[0]) == 1 and len(s[1]) >= 2,
             "vec_b": lambda s: len(s[0]) >= 2 and len(s[1]) == 1,
             "batched_broadcast": lambda s: len(s[0]) >= 3 and len(s[1]) >= 3 and s[0][:-2] != s[1][:-2]}
    assert find(tst.matmul_shapes(), preds[case]) is not None


@given(tst.matmul_tensors())
def test_matmul_tensors_gradcheck(ab):
    assert gradcheck(lambda a, b: a @ b, *ab)


@given(st.integers(0, 4).flatmap(lambda n: st.tuples(st.just(n), tst.axes(n, with_keepdim=True))))
def test_axes_are_valid_reduction_dims(case):
    ndim, (dim, keepdim) = case
    x = np.zeros((2,) * ndim)
    # dim=() reduces over every dim (PyTorch), where NumPy's axis=() reduces over none
    expected = x.sum(axis=None if dim == () else dim, keepdims=keepdim)
    assert tg.tensor(x).sum(dim, keepdim=keepdim).shape == expected.shape


def test_axes_draw_ints_tuples_and_none():
    kinds = {int: lambda d: isinstance(d, int), tuple: lambda d: isinstance(d, tuple),
             None: lambda d: d is None}
    for pred in kinds.values():
        find(tst.axes(3), pred)             # raises NoSuchExample if it never occurs
    find(tst.axes(3), lambda d: isinstance(d, int) and d < 0)


# ----------------------------------------------------------------------------- indices

@given(st.data())
def test_indices_select_what_numpy_selects_and_gradcheck(data):
    shape = data.draw(tst.shapes(min_dims=1, max_dims=3), label="shape")
    index = data.draw(tst.indices(shape), label="index")
    x = data.draw(tst.tensors(shape=shape), label="x")
    np.testing.assert_array_equal(x[index].numpy(), numpy_in_pytorch_layout(x.numpy(), index))
    assert gradcheck(lambda t: t[index], x)


@pytest.mark.parametrize("what", ["duplicate int array", "bool mask", "ellipsis", "newaxis",
                                  "step > 1"])
def test_every_kind_of_index_occurs(what):
    preds = {
        "duplicate int array": lambda ix: any(isinstance(p, np.ndarray) and p.dtype.kind == "i"
                                              and len(np.unique(p % 4)) < p.size for p in ix),
        "bool mask": lambda ix: any(isinstance(p, np.ndarray) and p.dtype == bool for p in ix),
        "ellipsis": lambda ix: any(p is Ellipsis for p in ix),
        "newaxis": lambda ix: any(p is None for p in ix),
        "step > 1": lambda ix: any(isinstance(p, slice) and (p.step or 1) > 1 for p in ix),
    }
    assert find(tst.indices((4, 3)), preds[what]) is not None


@given(tst.indices((3, 4, 2)))
def test_indices_without_allow_empty_select_something(index):
    assert np.zeros((3, 4, 2))[index].size > 0


# ----------------------------------------------------------------------------- layers

def _windows(size, k, s, p, d, ceil_mode=False):
    """Count output positions by walking the window over the padded input, one start at a time.
    With ceil_mode one last partial window counts if the previous one did not reach the end and it
    starts inside the input or its left padding."""
    n, span, padded = 0, d * (k - 1) + 1, size + 2 * p
    for start in itertools.count(0, s):
        if start + span <= padded:
            n += 1
        else:
            if ceil_mode and start - s + span < padded and start < size + p:
                n += 1
            return n


@given(tst.conv_configs())
def test_conv_configs_fit(cfg):
    assert cfg.C_in % cfg.groups == 0 and cfg.C_out % cfg.groups == 0
    assert cfg.weight_shape == (cfg.C_out, cfg.C_in // cfg.groups) + cfg.kernel_size
    expected = tuple(_windows(*a) for a in zip(cfg.size, cfg.kernel_size, cfg.stride, cfg.padding,
                                               cfg.dilation))
    assert cfg.output_size == expected
    assert min(expected) >= 1


@given(st.data(), st.sampled_from([1, 2]))
def test_transposable_conv_configs_map_the_output_back_to_the_whole_input(data, dims):
    cfg = data.draw(tst.conv_configs(spatial_dims=dims, transposable=True))
    # a transposed convolution of n inputs gives (n - 1) * stride - 2 * padding + dilation * (k - 1) + 1
    back = tuple((n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                 zip(cfg.output_size, cfg.stride, cfg.padding, cfg.dilation, cfg.kernel_size))
    assert back == cfg.size and min(back) >= 1
    assert min(cfg.output_size) >= 1


def test_untransposable_configs_exist_so_the_option_matters():
    # input 1, kernel 2, stride 2, padding 1: forward output 1, transposed output 0
    assert tst.ConvConfig(1, 1, 1, (1,), (2,), (2,), (1,), (1,), 1).output_size == (1,)
    cfg = find(tst.conv_configs(spatial_dims=1, transposable=True, max_kernel=2, max_padding=1),
               lambda c: c.kernel_size == (2,) and c.stride == (2,) and c.padding == (1,)
               and c.dilation == (1,))
    assert cfg.size == (2,)                           # grown from 1 so the windows end on it


@given(tst.conv_configs(spatial_dims=1))
def test_conv1d_configs_have_one_spatial_dim(cfg):
    assert len(cfg.input_shape) == 3 and len(cfg.output_shape) == 3


@given(tst.pool_configs())
def test_pool_configs_fit(cfg):
    assert all(p <= k // 2 for p, k in zip(cfg.padding, cfg.kernel_size))
    expected = tuple(_windows(*a, cfg.ceil_mode) for a in zip(cfg.size, cfg.kernel_size, cfg.stride,
                                                               cfg.padding, cfg.dilation))
    assert cfg.output_size == expected
    assert min(expected) >= 1
    for n, k, s, p, d, out in zip(cfg.size, cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation,
                                  expected):                 # every window holds an input element
        for j in range(out):
            assert any(0 <= j * s - p + i * d < n for i in range(k)), (j, n, k, s, p, d)


def test_conv_and_pool_output_sizes_match_pytorch():
    torch = pytest.importorskip("torch")

    @given(tst.conv_configs(), tst.pool_configs())
    @settings(max_examples=20)
    def check(c, p):
        w = torch.zeros(c.weight_shape, dtype=torch.float64)
        out = torch.nn.functional.conv2d(torch.zeros(c.input_shape, dtype=torch.float64), w,
                                         stride=c.stride, padding=c.padding, dilation=c.dilation,
                                         groups=c.groups)
        assert tuple(out.shape) == c.output_shape
        out = torch.nn.functional.max_pool2d(torch.zeros(p.input_shape), **p.kwargs())
        assert tuple(out.shape) == p.output_shape

    check()


@given(tst.rnn_configs(max_layers=2))
def test_rnn_config_weights_have_pytorch_names_and_shapes(cfg):
    w = cfg.weights("gru")
    H = cfg.hidden_size
    assert w["weight_ih_l0"].shape == (3 * H, cfg.input_size)
    assert w["weight_hh_l0"].shape == (3 * H, H)
    assert (f"bias_ih_l{cfg.num_layers - 1}" in w) == cfg.bias
    assert (f"weight_ih_l{cfg.num_layers - 1}" in w)
    # every gate block of weight_hh has all singular values equal to scale
    for block in np.split(w["weight_hh_l0"].numpy(), 3):
        np.testing.assert_allclose(np.linalg.svd(block, compute_uv=False), cfg.scale, rtol=1e-10)
    assert cfg.input().shape == cfg.input_shape
    assert cfg.hidden().shape == (cfg.num_layers, cfg.batch, H)


def _tanh_rnn(cfg, x, h, w_ih, w_hh):
    steps = x.shape[1] if cfg.batch_first else x.shape[0]
    for t in range(steps):
        xt = x[:, t] if cfg.batch_first else x[t]
        h = (xt @ w_ih.T + h @ w_hh.T).tanh()
    return h


@given(tst.rnn_configs(bias=False))
@settings(max_examples=10)
def test_rnn_configs_give_gradients_that_reach_the_first_step(cfg):
    w = cfg.weights("rnn")
    x, h0 = cfg.input(), cfg.hidden()[0]
    h = _tanh_rnn(cfg, x, h0, w["weight_ih_l0"], w["weight_hh_l0"])
    h.sum().backward()
    first = x.grad.numpy()[:, 0] if cfg.batch_first else x.grad.numpy()[0]
    assert np.abs(first).max() > 1e-3
    assert gradcheck(lambda x, a, b: _tanh_rnn(cfg, x, h0.detach(), a, b), x, w["weight_ih_l0"],
                     w["weight_hh_l0"])


def test_rnn_config_values_are_reproducible():
    cfg = tst.RNNConfig(T=2, batch=1, input_size=2, hidden_size=3, seed=5)
    a, b = cfg.weights("lstm"), cfg.weights("lstm")
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert a["weight_hh_l0"].shape == (12, 3)


@given(tst.tensors(shape=()))
def test_tensors_of_shape_empty_tuple_are_zero_dimensional(t):
    assert t.shape == ()


def test_rnn_config_hidden_takes_which_state_as_docs_testing_md_writes_it():
    cfg = tst.RNNConfig(T=2, batch=2, input_size=2, hidden_size=3, seed=1)
    h0, c0 = cfg.hidden(which="h0"), cfg.hidden("c0")
    assert h0.shape == c0.shape == (1, 2, 3)
    assert np.array_equal(cfg.hidden().numpy(), h0.numpy())         # "h0" is the default
    assert not np.array_equal(h0.numpy(), c0.numpy())                # two different draws
    assert cfg.hidden("h0", dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="which must be 'h0' or 'c0', got 'h1'"):
        cfg.hidden("h1")
