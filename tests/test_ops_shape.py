"""Shape ops (reshape, view, flatten, permute, transpose, T, mT, squeeze, unsqueeze, expand) and
joining/splitting (cat, stack, split, chunk, pad): gradients and second derivatives against finite
differences, results against NumPy. Each test multiplies the result by ``sin`` of itself before
checking, so the second derivative is not trivially zero.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))


def _curved(fn):
    """fn followed by y * sin(y): keeps second derivatives of linear shape ops non-trivial."""
    def f(*xs):
        y = fn(*xs)
        if isinstance(y, (tuple, list)):
            return tuple(t * t.sin() for t in y)
        return y * y.sin()
    return f


@st.composite
def _reshape_case(draw, device):
    x = draw(tst.tensors(device=device))
    n = x.numel()
    # a target shape: a factorisation of n, with one side possibly left as -1
    sides, rest = [], n
    for _ in range(draw(st.integers(0, 2))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divisors))
        sides.append(d)
        rest //= d
    sides.append(rest)
    if draw(st.booleans()):
        sides[draw(st.integers(0, len(sides) - 1))] = -1
    return x, tuple(sides)


@st.composite
def _permutation_case(draw, device):
    x = draw(tst.tensors(min_dims=1, device=device))
    return x, tuple(draw(st.permutations(range(x.ndim))))


@st.composite
def _two_dims_case(draw, device):
    x = draw(tst.tensors(min_dims=1, device=device))
    return x, (draw(st.integers(-x.ndim, x.ndim - 1)), draw(st.integers(-x.ndim, x.ndim - 1)))


@st.composite
def _matrix_case(draw, device):
    return draw(tst.tensors(min_dims=2, device=device)), None


@st.composite
def _squeeze_case(draw, device):
    x = draw(tst.tensors(min_side=1, max_side=2, device=device))
    dims = [i for i, s in enumerate(x.shape) if s == 1]
    dim = draw(st.sampled_from([None] + dims + list(range(x.ndim)))) if x.ndim else None
    return x, dim


@st.composite
def _unsqueeze_case(draw, device):
    x = draw(tst.tensors(max_dims=2, device=device))
    return x, draw(st.integers(-x.ndim - 1, x.ndim))


@st.composite
def _expand_case(draw, device):
    shapes = draw(tst.broadcastable_shapes(2))
    x = draw(tst.tensors(shape=shapes.input_shapes[0], device=device))
    target = list(np.broadcast_shapes(x.shape, shapes.input_shapes[1]))
    if target and draw(st.booleans()):     # -1 keeps an existing size
        lead = len(target) - x.ndim
        keep = [i for i in range(lead, len(target))]
        if keep:
            target[draw(st.sampled_from(keep))] = -1
    return x, tuple(target)


@st.composite
def _flatten_case(draw, device):
    x = draw(tst.tensors(min_dims=1, device=device))
    a, b = sorted(draw(st.integers(0, x.ndim - 1)) for _ in range(2))
    return x, (a - x.ndim if draw(st.booleans()) else a, b)


SHAPE_OPS = {
    "reshape": (lambda x, a: x.reshape(*a), _reshape_case),
    "reshape_tuple": (lambda x, a: x.reshape(a), _reshape_case),
    "view": (lambda x, a: x.contiguous().view(a), _reshape_case),   # view needs a viewable layout
    "flatten": (lambda x, a: x.flatten(*a), _flatten_case),
    "flatten_all": (lambda x, a: x.flatten(), _flatten_case),
    "permute": (lambda x, a: x.permute(*a), _permutation_case),
    "transpose": (lambda x, a: x.transpose(*a), _two_dims_case),
    "T": (lambda x, a: x.T, _permutation_case),
    "mT": (lambda x, a: x.mT, _matrix_case),
    "squeeze": (lambda x, a: x.squeeze(a), _squeeze_case),
    "unsqueeze": (lambda x, a: x.unsqueeze(a), _unsqueeze_case),
    "expand": (lambda x, a: x.expand(*a), _expand_case),
}

NUMPY_SHAPE = {
    "reshape": lambda a, arg: a.reshape(arg),
    "flatten": lambda a, arg: a.reshape(a.shape[:arg[0] % a.ndim] + (-1,) + a.shape[arg[1] + 1:]),
    "permute": lambda a, arg: a.transpose(arg),
    "transpose": lambda a, arg: np.swapaxes(a, *arg),
    "T": lambda a, arg: a.transpose(tuple(reversed(range(a.ndim)))),
    "mT": lambda a, arg: np.swapaxes(a, -1, -2),
    "squeeze": lambda a, arg: np.squeeze(a) if arg is None else (np.squeeze(a, arg) if a.shape[arg] == 1 else a),
    "unsqueeze": lambda a, arg: np.expand_dims(a, arg),
    "expand": lambda a, arg: np.broadcast_to(a, tuple(a.shape[i - (len(arg) - a.ndim)] if s == -1 else s
                                                      for i, s in enumerate(arg))),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
@given(data=st.data())
def test_shape_op_gradient_matches_finite_differences(name, device, data):
    fn, case = SHAPE_OPS[name]
    x, arg = data.draw(case(device), label="x, arg")
    assert gradcheck(_curved(lambda t: fn(t, arg)), x)


@pytest.mark.parametrize("name", list(SHAPE_OPS))
@SECOND
@given(data=st.data())
def test_shape_op_second_derivative_matches_finite_differences(name, device, data):
    fn, case = SHAPE_OPS[name]
    x, arg = data.draw(case(device), label="x, arg")
    assert gradgradcheck(_curved(lambda t: fn(t, arg)), x)


@pytest.mark.parametrize("name", list(NUMPY_SHAPE))
@given(data=st.data())
def test_shape_op_matches_numpy(name, device, data):
    fn, case = SHAPE_OPS[name]
    x, arg = data.draw(case(device), label="x, arg")
    np.testing.assert_array_equal(fn(x, arg).numpy(), NUMPY_SHAPE[name](x.numpy(), arg))


# ----------------------------------------------------------------------------- joining and splitting

@st.composite
def _cat_case(draw, device):
    base = list(draw(tst.shapes(min_dims=1)))
    dim = draw(st.integers(-len(base), len(base) - 1))
    xs = []
    for _ in range(draw(st.integers(1, 3))):
        base[dim] = draw(st.integers(1, 3))
        xs.append(draw(tst.tensors(shape=tuple(base), device=device)))
    return xs, dim


@st.composite
def _stack_case(draw, device):
    shape = draw(tst.shapes(max_dims=2))
    xs = [draw(tst.tensors(shape=shape, device=device)) for _ in range(draw(st.integers(1, 3)))]
    return xs, draw(st.integers(-len(shape) - 1, len(shape)))


@st.composite
def _split_case(draw, device):
    x = draw(tst.tensors(min_dims=1, device=device))
    dim = draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[dim]
    if draw(st.booleans()):
        return x, (draw(st.integers(1, n + 1)), dim)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
    sizes = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    return x, (sizes, dim)


@st.composite
def _chunk_case(draw, device):
    x = draw(tst.tensors(min_dims=1, device=device))
    return x, (draw(st.integers(1, 4)), draw(st.integers(-x.ndim, x.ndim - 1)))


@st.composite
def _pad_case(draw, device):
    x = draw(tst.tensors(min_dims=1, device=device))
    pairs = draw(st.integers(1, x.ndim))
    widths = draw(st.lists(st.integers(0, 2), min_size=2 * pairs, max_size=2 * pairs))
    return x, (tuple(widths), draw(st.sampled_from([0.0, -1.5])))


@pytest.mark.parametrize("name,fn,case", [
    ("cat", lambda xs, dim: tg.cat(xs, dim), _cat_case),
    ("cat_keyword", lambda xs, dim: tg.cat(xs, dim=dim), _cat_case),
    ("stack", lambda xs, dim: tg.stack(xs, dim), _stack_case),
])
@given(data=st.data())
def test_join_gradient_matches_finite_differences(name, fn, case, device, data):
    xs, dim = data.draw(case(device), label="tensors, dim")
    assert gradcheck(_curved(lambda *ts: fn(list(ts), dim)), *xs)


@pytest.mark.parametrize("name,fn,case", [
    ("cat", lambda xs, dim: tg.cat(xs, dim), _cat_case),
    ("stack", lambda xs, dim: tg.stack(xs, dim), _stack_case),
])
@SECOND
@given(data=st.data())
def test_join_second_derivative_matches_finite_differences(name, fn, case, device, data):
    xs, dim = data.draw(case(device), label="tensors, dim")
    assert gradgradcheck(_curved(lambda *ts: fn(list(ts), dim)), *xs)


@given(data=st.data())
def test_cat_matches_numpy_concatenate(device, data):
    xs, dim = data.draw(_cat_case(device), label="tensors, dim")
    np.testing.assert_array_equal(tg.cat(xs, dim).numpy(), np.concatenate([x.numpy() for x in xs], dim))


@given(data=st.data())
def test_stack_matches_numpy_stack(device, data):
    xs, dim = data.draw(_stack_case(device), label="tensors, dim")
    np.testing.assert_array_equal(tg.stack(xs, dim).numpy(), np.stack([x.numpy() for x in xs], dim))


PIECES = {
    "split": (lambda x, a: x.split(*a), _split_case),
    "function_split": (lambda x, a: tg.split(x, *a), _split_case),
    "chunk": (lambda x, a: x.chunk(*a), _chunk_case),
    "pad": (lambda x, a: x.pad(*a), _pad_case),
    "function_pad": (lambda x, a: tg.pad(x, a[0], value=a[1]), _pad_case),
}


@pytest.mark.parametrize("name", list(PIECES))
@given(data=st.data())
def test_split_and_pad_gradient_matches_finite_differences(name, device, data):
    fn, case = PIECES[name]
    x, arg = data.draw(case(device), label="x, arg")
    assert gradcheck(_curved(lambda t: fn(t, arg)), x)


@pytest.mark.parametrize("name", ["split", "chunk", "pad"])
@SECOND
@given(data=st.data())
def test_split_and_pad_second_derivative_matches_finite_differences(name, device, data):
    fn, case = PIECES[name]
    x, arg = data.draw(case(device), label="x, arg")
    assert gradgradcheck(_curved(lambda t: fn(t, arg)), x)


def test_squeeze_and_transpose_of_a_zero_dim_tensor_keep_it(device):
    x = tg.tensor(2.0, device=device)
    assert x.squeeze(0).shape == () and x.transpose(0, -1).shape == () and x.T.shape == ()
    assert x.squeeze(0).item() == 2.0


def test_gradient_of_an_unused_split_piece_is_zero(device):
    x = tg.arange(6.0, device=device).requires_grad_()
    a, b, c = x.split(2)
    (b * 3).sum().backward()
    assert x.grad.tolist() == [0, 0, 3, 3, 0, 0]


@given(data=st.data())
def test_split_pieces_match_numpy(device, data):
    x, (size, dim) = data.draw(_split_case(device), label="x, (size, dim)")
    a = x.numpy()
    n = a.shape[dim]
    bounds = list(range(size, n, size)) if isinstance(size, int) else np.cumsum(size)[:-1].tolist()
    expected = np.split(a, bounds, axis=dim)
    pieces = x.split(size, dim)
    assert len(pieces) == len(expected)
    for p, e in zip(pieces, expected):
        np.testing.assert_array_equal(p.numpy(), e)


def test_chunk_sizes_follow_pytorch(device):
    x = tg.arange(10, device=device)
    assert [len(c) for c in x.chunk(3)] == [4, 4, 2]
    assert [len(c) for c in x.chunk(4)] == [3, 3, 3, 1]


def test_pad_follows_pytorch_order_last_dim_first(device):
    x = tg.ones(1, 2, device=device)
    y = x.pad((1, 2, 3, 0), value=7.0)      # last dim: 1 left, 2 right; dim -2: 3 before
    assert y.shape == (4, 5)
    expected = np.full((4, 5), 7.0)
    expected[3, 1:3] = 1.0
    np.testing.assert_array_equal(y.numpy(), expected)


def test_expand_shares_memory_and_sums_the_gradient_back(device):
    x = tg.tensor([[1.0], [2.0]], device=device, requires_grad=True)
    y = x.expand(3, 2, 4)
    assert y.shape == (3, 2, 4)
    y.sum().backward()
    assert x.grad.tolist() == [[12.0], [12.0]]


def test_view_of_transposed_tensor_gives_numpy_order(device):
    x = tg.arange(6, device=device).reshape(2, 3)
    np.testing.assert_array_equal(x.T.reshape(-1).numpy(), np.arange(6).reshape(2, 3).T.reshape(-1))


def test_contiguous_copies_only_non_contiguous_tensors(device):
    x = tg.arange(6.0, device=device).reshape(2, 3)
    assert x.contiguous() is x
    t = x.T.contiguous()
    assert t.array.flags.c_contiguous
    np.testing.assert_array_equal(t.numpy(), x.numpy().T)
