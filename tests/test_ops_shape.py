"""Shape ops: reshape, view, flatten, permute, transpose, T, mT, squeeze, unsqueeze, expand, joining
and splitting (cat, stack, split, chunk, pad), and the functions composed from them: repeat, tile,
repeat_interleave, flip, roll, tril, triu, diag, diagonal, movedim, swapaxes, unflatten, unbind,
narrow, meshgrid, hstack, vstack, concat / concatenate, broadcast_to, view_as, type_as.

Values against NumPy's equivalents over Hypothesis-drawn shapes; gradients and second derivatives
against finite differences (the primitives' results are multiplied by ``sin`` of themselves
first, so the second derivative of a linear shape op is not trivially zero); small cases worked
by hand; PyTorch's values when it is installed.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))
FAMILY = settings(max_examples=max(8, settings.default.max_examples // 3))


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


# ----------------------------------------------------------------------------- functions composed from them

def _dim(data, x):
    return data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")


def _case_repeat(data, x):
    reps = data.draw(st.lists(st.integers(0, 3), min_size=x.ndim, max_size=x.ndim + 1), label="repeats")
    return lambda t: t.repeat(*reps), lambda a: np.tile(a, reps)


def _case_tile(data, x):
    reps = data.draw(st.lists(st.integers(1, 3), max_size=x.ndim + 1), label="dims")
    return lambda t: t.tile(tuple(reps)), lambda a: np.tile(a, reps)


def _case_repeat_interleave(data, x):
    d = _dim(data, x)
    r = data.draw(st.integers(0, 3), label="repeats")
    return lambda t: t.repeat_interleave(r, d), lambda a: np.repeat(a, r, axis=d)


def _case_repeat_interleave_counts(data, x):
    d = _dim(data, x)
    counts = data.draw(st.lists(st.integers(0, 3), min_size=x.shape[d], max_size=x.shape[d]))
    c = tg.tensor(counts, device=x.device)
    return lambda t: t.repeat_interleave(c, dim=d), lambda a: np.repeat(a, counts, axis=d)


def _case_flip(data, x):
    dims = tuple(data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1)))
    return lambda t: t.flip(dims), lambda a: np.flip(a, dims)


def _case_roll(data, x):
    d = _dim(data, x)
    s = data.draw(st.integers(-5, 5), label="shift")
    return lambda t: tg.roll(t, s, d), lambda a: np.roll(a, s, axis=d)


def _case_roll_flat(data, x):
    s = data.draw(st.integers(-5, 5), label="shift")
    return lambda t: t.roll(s), lambda a: np.roll(a, s)


def _case_tri(data, x):
    k = data.draw(st.integers(-3, 3), label="diagonal")
    lower = data.draw(st.booleans(), label="lower")
    return ((lambda t: t.tril(k)), (lambda a: np.tril(a, k))) if lower else \
        ((lambda t: tg.triu(t, k)), (lambda a: np.triu(a, k)))


def _case_diagonal(data, x):
    a, b = data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=2, max_size=2))
    k = data.draw(st.integers(-3, 3), label="offset")
    return lambda t: t.diagonal(k, a, b), lambda arr: np.diagonal(arr, k, a, b)


def _case_movedim(data, x):
    src = data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1))
    dst = data.draw(st.permutations(range(x.ndim)))[:len(src)]
    return lambda t: t.movedim(tuple(src), tuple(dst)), lambda a: np.moveaxis(a, src, dst)


def _case_swapaxes(data, x):
    a, b = _dim(data, x), _dim(data, x)
    return lambda t: t.swapaxes(a, b), lambda arr: np.swapaxes(arr, a, b)


def _case_narrow(data, x):
    d = _dim(data, x)
    n = x.shape[d]
    start = data.draw(st.integers(-n, n - 1), label="start")
    length = data.draw(st.integers(0, n - start % n), label="length")
    s = start % n
    return lambda t: t.narrow(d, start, length), lambda a: np.take(a, range(s, s + length), axis=d)


def _case_unflatten(data, x):
    d = _dim(data, x)
    n = x.shape[d]
    f = data.draw(st.sampled_from([k for k in range(1, n + 1) if n % k == 0]), label="factor")
    shape = x.shape[:d % x.ndim] + (f, n // f) + x.shape[d % x.ndim + 1:]
    return lambda t: t.unflatten(d, (f, -1)), lambda a: a.reshape(shape)


def _case_unbind(data, x):
    d = _dim(data, x)
    return lambda t: tg.stack(t.unbind(d), 0), lambda a: np.moveaxis(a, d, 0)


def _case_broadcast_to(data, x):
    shape = tuple(data.draw(st.integers(1, 3)) if n == 1 else n for n in x.shape)
    shape = (data.draw(st.integers(1, 2)),) + shape
    return lambda t: t.broadcast_to(shape), lambda a: np.broadcast_to(a, shape)


def _case_stacks(data, x):
    which = data.draw(st.sampled_from(["hstack", "vstack", "concat", "concatenate"]))
    d = _dim(data, x)
    fns = {"hstack": (lambda t: tg.hstack([t, t * 2]), lambda a: np.hstack([a, a * 2])),
           "vstack": (lambda t: tg.vstack([t * 2, t]), lambda a: np.vstack([a * 2, a])),
           "concat": (lambda t: tg.concat([t, t], d), lambda a: np.concatenate([a, a], d)),
           "concatenate": (lambda t: tg.concatenate([t, -t], axis=d),
                           lambda a: np.concatenate([a, -a], d))}
    return fns[which]


CASES = {
    "repeat": (_case_repeat, 0), "tile": (_case_tile, 0),
    "repeat_interleave": (_case_repeat_interleave, 1),
    "repeat_interleave_counts": (_case_repeat_interleave_counts, 1), "flip": (_case_flip, 1),
    "roll": (_case_roll, 1), "roll_flat": (_case_roll_flat, 0), "tril_triu": (_case_tri, 2),
    "diagonal": (_case_diagonal, 2), "movedim": (_case_movedim, 1), "swapaxes": (_case_swapaxes, 1),
    "narrow": (_case_narrow, 1), "unflatten": (_case_unflatten, 1), "unbind": (_case_unbind, 1),
    "broadcast_to": (_case_broadcast_to, 0), "stacks": (_case_stacks, 1),
}


def _draw(name, data, device):
    make, min_dims = CASES[name]
    x = data.draw(tst.tensors(min_dims=min_dims, device=device), label="x")
    fn, numpy_fn = make(data, x)
    return x, fn, numpy_fn


@pytest.mark.parametrize("name", list(CASES))
@FAMILY
@given(data=st.data())
def test_values_match_numpy_and_gradient_matches_finite_differences(name, device, data):
    x, fn, numpy_fn = _draw(name, data, device)
    np.testing.assert_array_equal(fn(x).numpy(), numpy_fn(x.numpy()))
    assert gradcheck(fn, x)


@pytest.mark.parametrize("name", ["repeat", "repeat_interleave_counts", "roll", "diagonal", "tril_triu"])
@SECOND
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name, device, data):
    x, fn, _ = _draw(name, data, device)
    assert gradgradcheck(lambda t: fn(t) ** 2, x)


@SECOND
@given(data=st.data())
def test_diag_of_vectors_and_matrices_matches_numpy_and_finite_differences(device, data):
    x = data.draw(tst.tensors(min_dims=1, max_dims=2, device=device), label="x")
    k = data.draw(st.integers(-3, 3), label="diagonal")
    np.testing.assert_array_equal(x.diag(k).numpy(), np.diag(x.numpy(), k))
    assert gradcheck(lambda t: tg.diag(t, k), x)


# ----------------------------------------------------------------------------- by hand

def test_repeat_and_repeat_interleave_by_hand(device):
    x = tg.tensor([[1, 2]], device=device)
    assert x.repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert x.repeat(2, 1, 1).shape == (2, 1, 2)
    assert x.repeat_interleave(2).tolist() == [1, 1, 2, 2]
    assert tg.tensor([[1, 2], [3, 4]], device=device).repeat_interleave(
        tg.tensor([1, 2], device=device), dim=0).tolist() == [[1, 2], [3, 4], [3, 4]]
    assert tg.repeat_interleave(tg.tensor([2, 0, 1], device=device)).tolist() == [0, 0, 2]
    assert x.tile((2,)).tolist() == [[1, 2, 1, 2]]


def test_repeat_gradient_sums_the_copies(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    x.repeat(3).backward(tg.tensor([1.0, 10.0, 100.0, 1000.0, 1e4, 1e5], device=device))
    assert x.grad.tolist() == [1.0 + 100.0 + 1e4, 10.0 + 1000.0 + 1e5]


def test_flip_roll_triangles_and_diagonals_by_hand(device):
    x = tg.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    assert x.flip(0).tolist() == [[4, 5, 6], [1, 2, 3]]
    assert x.flip(0, 1).tolist() == [[6, 5, 4], [3, 2, 1]]
    assert x.roll(1).tolist() == [[6, 1, 2], [3, 4, 5]]
    assert x.roll((1, -1), (0, 1)).tolist() == [[5, 6, 4], [2, 3, 1]]
    assert x.tril().tolist() == [[1, 0, 0], [4, 5, 0]] and x.triu(1).tolist() == [[0, 2, 3], [0, 0, 6]]
    assert x.tril().dtype == tg.int64
    assert tg.ones(2, 2, dtype=tg.bool, device=device).triu().dtype == tg.bool
    assert x.diag().tolist() == [1, 5] and x.diag(1).tolist() == [2, 6] and x.diag(-1).tolist() == [4]
    assert tg.tensor([1, 2], device=device).diag(-1).tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    assert x.diagonal().tolist() == [1, 5]


def test_tril_keeps_infinities_out_of_the_zeroed_part(device):
    # zeroing is a selection, not a multiplication by 0 (inf * 0 would be nan)
    x = tg.tensor([[1.0, float("inf")], [2.0, 3.0]], device=device)
    assert x.tril().tolist() == [[1.0, 0.0], [2.0, 3.0]]


def test_unbind_narrow_unflatten_movedim_by_hand(device):
    x = tg.arange(6, device=device).reshape(2, 3)
    rows = x.unbind()
    assert len(rows) == 2 and rows[1].tolist() == [3, 4, 5]
    assert [c.tolist() for c in x.unbind(1)] == [[0, 3], [1, 4], [2, 5]]
    assert x.narrow(1, 1, 2).tolist() == [[1, 2], [4, 5]] == x.narrow(1, -2, 2).tolist()
    assert tg.arange(12, device=device).unflatten(0, (3, -1)).shape == (3, 4)
    assert tg.zeros(2, 3, 4, device=device).movedim(0, -1).shape == (3, 4, 2)
    assert tg.zeros(2, 3, 4, device=device).moveaxis((0, 1), (2, 0)).shape == (3, 4, 2)
    assert tg.zeros(0, 2, device=device).unbind() == ()


def test_meshgrid_both_indexings(device):
    a, b = tg.tensor([1, 2], device=device), tg.tensor([3, 4, 5], device=device)
    X, Y = tg.meshgrid(a, b, indexing="ij")
    assert X.tolist() == [[1, 1, 1], [2, 2, 2]] and Y.tolist() == [[3, 4, 5], [3, 4, 5]]
    X, Y = tg.meshgrid([a, b], indexing="xy")
    assert X.tolist() == [[1, 2], [1, 2], [1, 2]] and Y.tolist() == [[3, 3], [4, 4], [5, 5]]
    for got, want in zip(tg.meshgrid(a, b, a, indexing="xy"),
                         np.meshgrid(a.numpy(), b.numpy(), a.numpy(), indexing="xy")):
        np.testing.assert_array_equal(got.numpy(), want)


def test_meshgrid_gradient_sums_along_the_copies(device):
    a = tg.tensor([1.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor([3.0, 4.0, 5.0], dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda p, q: tg.stack(tg.meshgrid(p, q), 0) ** 2, a, b)


def test_stacks_aliases_and_conversions(device):
    a, b = tg.tensor([1.0, 2.0], device=device), tg.tensor([3.0], device=device)
    assert tg.hstack([a, b]).tolist() == [1.0, 2.0, 3.0]
    assert tg.hstack([tg.tensor(0.0, device=device), a]).tolist() == [0.0, 1.0, 2.0]
    assert tg.vstack([a, a]).shape == (2, 2)
    assert tg.vstack([a[:1], tg.ones(2, 1, device=device)]).shape == (3, 1)
    assert tg.concat([a, b]).tolist() == tg.concatenate([a, b], axis=0).tolist() == [1.0, 2.0, 3.0]
    x = tg.zeros(2, 3, device=device)
    assert tg.arange(6, device=device).view_as(x).shape == (2, 3)
    assert tg.arange(3, device=device).type_as(x).dtype == tg.float32
    assert tg.broadcast_to(b, (2, 3)).tolist() == [[3.0] * 3] * 2


def test_shape_errors_use_pytorch_wording(device):
    x = tg.zeros(2, 3, device=device)
    cases = [(lambda: x.repeat(2), "Number of dimensions of repeat dims can not be smaller"),
             (lambda: tg.zeros(3, device=device).tril(),
              "tril: input tensor must have at least 2 dimensions"),
             (lambda: tg.zeros(2, 2, 2, device=device).diag(),
              r"diag\(\): Supports 1D or 2D tensors. Got 3D"),
             (lambda: x.narrow(1, 2, 3), r"start \(2\) \+ length \(3\) exceeds dimension size \(3\)"),
             (lambda: x.unflatten(1, (2, 2)),
              r"Provided sizes \[2, 2\] don't multiply up to the size of dim 1"),
             (lambda: x.roll((1, 2), (0,)), "shifts and dimensions must align"),
             (lambda: x.diagonal(0, 1, 1), "diagonal: dimensions cannot be identical"),
             (lambda: x.movedim((0, 1), (0,)), "same number of dims as destination"),
             (lambda: tg.meshgrid(x, indexing="ab"), "indexing must be one of 'xy' or 'ij'")]
    for fn, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fn()


# ----------------------------------------------------------------------------- against PyTorch

def test_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4))
    cases = [lambda L, t: t.repeat(2, 1, 1, 2), lambda L, t: t.tile((2,)),
             lambda L, t: t.repeat_interleave(2, dim=1),
             lambda L, t: t.repeat_interleave(L.tensor([1, 0, 2]), dim=1), lambda L, t: t.flip(0, 2),
             lambda L, t: t.roll(2, 2), lambda L, t: t.roll(-1), lambda L, t: t.tril(1),
             lambda L, t: t.triu(-1), lambda L, t: t[0].diag(1), lambda L, t: t[0, 0].diag(-2),
             lambda L, t: t.diagonal(1, 2, 0), lambda L, t: t.movedim((0, 2), (1, 0)),
             lambda L, t: t.swapaxes(0, 2), lambda L, t: t.unflatten(2, (2, 2)),
             lambda L, t: L.stack(t.unbind(1), 2), lambda L, t: t.narrow(2, -3, 2),
             lambda L, t: L.hstack([t, t]), lambda L, t: L.vstack([t[0, 0], t[1, 1]]),
             lambda L, t: L.stack(L.meshgrid(t[0, 0], t[1, 1, :2], indexing="xy"))]
    for k, fn in enumerate(cases):
        x, xt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, yt = fn(tg, x), fn(torch, xt)
        np.testing.assert_array_equal(y.numpy(), yt.detach().numpy(), err_msg=f"case {k}")
        g = rng.standard_normal(y.shape)
        y.backward(tg.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-14, err_msg=f"case {k}")
