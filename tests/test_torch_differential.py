"""Differential testing against PyTorch: random inputs through the same op in both libraries must
give the same dtype, shape, values and gradients. Skipped without torch.

Each example draws an op from a table, operand dtypes (mixed dtypes exercise type promotion) and
broadcastable shapes. `--hypothesis-profile=thorough` runs 1000 examples per test.
"""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg

torch = pytest.importorskip("torch")

FLOATS = ["float32", "float64"]
ALL = ["bool", "uint8", "int32", "int64", "float32", "float64"]

# name -> (tinygrad_rnn fn, torch fn, domain of the inputs: (low, high), differentiable)
UNARY = {
    "neg": (lambda x: -x, lambda x: -x, (-5, 5), True),
    "abs": (lambda x: x.abs(), lambda x: x.abs(), (-5, 5), True),
    "exp": (lambda x: x.exp(), lambda x: x.exp(), (-5, 5), True),
    "log": (lambda x: x.log(), lambda x: x.log(), (0.1, 5), True),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), (0.1, 5), True),
    "sin": (lambda x: x.sin(), lambda x: x.sin(), (-5, 5), True),
    "cos": (lambda x: x.cos(), lambda x: x.cos(), (-5, 5), True),
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh(), (-5, 5), True),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid(), (-5, 5), True),
    "relu": (lambda x: x.relu(), lambda x: x.relu(), (-5, 5), True),
    "log1p": (lambda x: x.log1p(), lambda x: x.log1p(), (-0.9, 5), True),
    "expm1": (lambda x: x.expm1(), lambda x: x.expm1(), (-5, 5), True),
    "square": (lambda x: x.square(), lambda x: x.square(), (-5, 5), True),
    "reciprocal": (lambda x: x.reciprocal(), lambda x: x.reciprocal(), (0.2, 5), True),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: x.rsqrt(), (0.2, 5), True),
    "erf": (lambda x: x.erf(), lambda x: x.erf(), (-3, 3), True),
    "atan": (lambda x: x.atan(), lambda x: x.atan(), (-5, 5), True),
    "asin": (lambda x: x.asin(), lambda x: x.asin(), (-0.9, 0.9), True),
    "sinh": (lambda x: x.sinh(), lambda x: x.sinh(), (-3, 3), True),
    "floor": (lambda x: x.floor(), lambda x: x.floor(), (-5, 5), True),
    "sign": (lambda x: x.sign(), lambda x: x.sign(), (-5, 5), True),
    "softplus": (lambda x: x.softplus(), lambda x: torch.nn.functional.softplus(x), (-5, 5), True),
    "gelu": (lambda x: x.gelu(), lambda x: torch.nn.functional.gelu(x), (-5, 5), True),
    "clamp": (lambda x: x.clamp(-1.0, 2.0), lambda x: x.clamp(-1.0, 2.0), (-5, 5), True),
}

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "maximum": (lambda a, b: tg.maximum(a, b), lambda a, b: torch.maximum(a, b)),
    "minimum": (lambda a, b: tg.minimum(a, b), lambda a, b: torch.minimum(a, b)),
    "lt": (lambda a, b: a < b, lambda a, b: a < b),
    "eq": (lambda a, b: a == b, lambda a, b: a == b),
    "atan2": (lambda a, b: a.atan2(b), lambda a, b: torch.atan2(a, b)),
    "hypot": (lambda a, b: a.hypot(b), lambda a, b: torch.hypot(a, b)),
}

REDUCE = {
    "sum": (lambda x, d, k: x.sum(d, keepdim=k), lambda x, d, k: x.sum(d, keepdim=k)),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), lambda x, d, k: x.mean(d, keepdim=k)),
    "prod": (lambda x, d, k: x.prod(d, keepdim=k), lambda x, d, k: x.prod(d, keepdim=k)),
    "amax": (lambda x, d, k: x.amax(d, keepdim=k), lambda x, d, k: x.amax(d, keepdim=k)),
    "var": (lambda x, d, k: x.var(d, keepdim=k), lambda x, d, k: x.var(d, keepdim=k)),
    "std": (lambda x, d, k: x.std(d, keepdim=k), lambda x, d, k: x.std(d, keepdim=k)),
    "logsumexp": (lambda x, d, k: x.logsumexp(d, keepdim=k), lambda x, d, k: x.logsumexp(d, keepdim=k)),
    "norm": (lambda x, d, k: x.norm(dim=d, keepdim=k), lambda x, d, k: x.norm(dim=d, keepdim=k)),
    "softmax": (lambda x, d, k: x.softmax(d), lambda x, d, k: x.softmax(d)),
    "log_softmax": (lambda x, d, k: x.log_softmax(d), lambda x, d, k: x.log_softmax(d)),
    "cumsum": (lambda x, d, k: x.cumsum(d), lambda x, d, k: x.cumsum(d)),
    "max_dim": (lambda x, d, k: x.max(d, keepdim=k).values, lambda x, d, k: x.max(d, keepdim=k).values),
}


def _pair(a):
    """The same values as a tinygrad_rnn tensor and a torch tensor."""
    return tg.tensor(a), torch.tensor(a)


def _values(lo, hi, dtype, shape):
    if dtype == "bool":
        return hnp.arrays(np.bool_, shape)
    if dtype in ("uint8", "int32", "int64"):
        return hnp.arrays(dtype, shape, elements=st.integers(max(int(lo), 0 if dtype == "uint8" else -9),
                                                             max(int(hi), 1)))
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi)).map(lambda a: a.astype(dtype))


def _check(ours, theirs, rtol):
    theirs_np = theirs.detach().numpy()
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs_np.astype(np.float64),
                               rtol=rtol, atol=rtol, equal_nan=True)


def _check_grads(ours_out, theirs_out, ours_in, theirs_in):
    if ours_out.dtype.kind != "f" or not ours_out.requires_grad:
        return
    w = np.linspace(0.5, 1.5, ours_out.numel()).reshape(ours_out.shape)
    (ours_out * tg.tensor(w)).sum().backward()
    (theirs_out * torch.tensor(w)).sum().backward()
    for a, b in zip(ours_in, theirs_in):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-9)


@given(st.sampled_from(sorted(UNARY)), st.sampled_from(ALL),
       hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), st.data())
def test_unary_ops_match_pytorch(name, dtype, shape, data):
    ours_fn, torch_fn, (lo, hi), _ = UNARY[name]
    a = data.draw(_values(lo, hi, dtype, shape), label="a")
    x, tx = _pair(a)
    try:
        expected = torch_fn(tx)
    except (RuntimeError, NotImplementedError):
        # PyTorch has no kernel for this dtype: we must raise too, or compute in float32 (the
        # floating functions of integer tensors); then the value must be that of the float32 input
        try:
            ours = ours_fn(x)
        except (RuntimeError, TypeError, ValueError, NotImplementedError):
            return
        assert ours.dtype == tg.float32, (name, dtype, ours.dtype)
        _check(ours, torch_fn(tx.float()), 1e-6)
        return
    _check(ours_fn(x), expected, 1e-6 if dtype != "float64" else 1e-12)
    if dtype == "float64":
        x.requires_grad_(); tx.requires_grad_()
        _check_grads(ours_fn(x), torch_fn(tx), [x], [tx])


@given(st.sampled_from(sorted(BINARY)), st.sampled_from(ALL), st.sampled_from(ALL),
       hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), st.booleans(), st.data())
def test_binary_ops_match_pytorch_with_promotion(name, da, db, shapes, scalar_b, data):
    ours_fn, torch_fn = BINARY[name]
    a = data.draw(_values(-4, 4, da, shapes.input_shapes[0]), label="a")
    if scalar_b:
        b = data.draw(st.one_of(st.integers(-4, 4), st.floats(-4, 4, width=32)), label="b")
        tb_ = b
        ours_b = b
    else:
        b = data.draw(_values(-4, 4, db, shapes.input_shapes[1]), label="b")
        ours_b, tb_ = _pair(b)
    assume(name not in ("div", "atan2", "hypot") or (np.asarray(b) != 0).all())
    assume(not (scalar_b and name in ("maximum", "minimum", "atan2", "hypot")))  # tensors only
    x, tx = _pair(a)
    try:
        expected = torch_fn(tx, tb_)
    except (RuntimeError, TypeError):
        with pytest.raises((RuntimeError, TypeError, ValueError)):
            ours_fn(x, ours_b)
        return
    _check(ours_fn(x, ours_b), expected, 1e-6)


@given(st.sampled_from(sorted(REDUCE)), hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
       st.data(), st.booleans())
def test_reductions_match_pytorch_values_and_gradients(name, shape, data, keepdim):
    ours_fn, torch_fn = REDUCE[name]
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    # no values below 1e-30 in size: there PyTorch's norm underflows (x^2 = 0) where ours, scaled
    # by the largest entry, does not; both are otherwise the same computation
    normal = st.floats(-3, 3).filter(lambda v: v == 0 or abs(v) > 1e-30)
    a = data.draw(hnp.arrays(np.float64, shape, elements=normal, unique=True), label="a")
    if name in ("var", "std"):
        assume(shape[dim] > 1)
    x, tx = _pair(a)
    x.requires_grad_(); tx.requires_grad_()
    ours, theirs = ours_fn(x, dim, keepdim), torch_fn(tx, dim, keepdim)
    _check(ours, theirs, 1e-10)
    _check_grads(ours, theirs, [x], [tx])
