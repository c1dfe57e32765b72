"""Regression tests for results a differential fuzz against PyTorch 2.13 found silently different.

One section per fix. Each behaviour is checked against numbers worked out by hand, a closed form or
NumPy computed independently; a torch-gated test per section compares with PyTorch live.
"""
import itertools
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn

nan, inf = math.nan, math.inf


def _grad(fn, *values, dtype=np.float32):
    """Gradients of ``fn(*tensors).sum()`` with respect to each input (None where none flows)."""
    xs = [tg.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [None if x.grad is None else x.grad.numpy() for x in xs]


def _torch_grad(torch, fn, *values, dtype=np.float32):
    xs = [torch.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [None if x.grad is None else x.grad.numpy() for x in xs]


def _same(ours, theirs):
    """Equal values, NaN where the other has NaN, and the same dtype and shape."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours, theirs)
    np.testing.assert_array_equal(ours, theirs)


# ----------------------------------------------------------------------------- 1. integer + index tensor

def test_int_slice_index_tensor_keeps_the_indexed_dim_in_place():
    # PyTorch applies x[1] first (a view), then [:, idx]: (3, 2), not NumPy's (2, 3)
    x = tg.arange(24).reshape(2, 3, 4)
    out = x[1, :, tg.tensor([0, 2])]
    assert out.shape == (3, 2)
    assert out.tolist() == [[12, 14], [16, 18], [20, 22]]


def test_int_then_index_tensor_matches_numpy_applied_in_two_steps():
    # PyTorch: integers are basic indices (applied first), the rest follows NumPy's rules
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    idx = np.array([[0, 1], [1, 0]])
    cases = [((1, slice(None), idx), a[1][:, idx]),
             ((slice(None), 1, slice(None), idx), a[:, 1][:, :, idx]),
             ((-1, Ellipsis, idx), a[-1][..., idx]),
             ((1, None, idx), a[1][None, idx]),
             ((idx, slice(None), 2), a[:, :, 2][idx, :]),
             ((1, slice(None), 0, [3, 1]), a[1, :, 0][:, [3, 1]]),
             ((0, np.array([True, False, True]), slice(1, 3)), a[0][[0, 2], 1:3])]
    x = tg.tensor(a)
    for index, expected in cases:
        tindex = tuple(tg.tensor(p) if isinstance(p, np.ndarray) else p for p in index)
        np.testing.assert_array_equal(x[tindex].numpy(), expected)


def test_zero_dim_integer_tensor_indexes_as_an_int():
    # PyTorch: x[tensor(1)] selects (a view), and counts as an int next to index tensors
    x = tg.arange(24.0).reshape(2, 3, 4)
    row = x[tg.tensor(1)]
    row[0, 0] = -1.0
    assert x[1, 0, 0].item() == -1.0
    assert x[tg.tensor(1), :, tg.tensor([0, 2])].shape == (3, 2)


def test_bool_scalars_take_no_dim():
    # PyTorch: True adds a dim of size 1 and consumes none, so the mask indexes dim 0
    x = tg.arange(6.0).reshape(2, 3)
    out = x[True, tg.tensor([False, True])]
    assert out.shape == (1, 3) and out.tolist() == [[3.0, 4.0, 5.0]]
    assert x[1, :, True].shape == (3, 1)
    assert x[False, 1].shape == (0, 3)


def test_setitem_through_int_slice_index_tensor():
    # PyTorch: the value has the getitem's shape (3, 2) and lands in x[1][:, [0, 2]]
    x = tg.zeros(2, 3, 4)
    x[1, :, tg.tensor([0, 2])] = tg.arange(6.0).reshape(3, 2)
    expected = np.zeros((2, 3, 4), np.float32)
    expected[1, :, 0] = [0, 2, 4]
    expected[1, :, 2] = [1, 3, 5]
    np.testing.assert_array_equal(x.numpy(), expected)


def test_gradients_through_int_slice_index_tensor():
    # PyTorch: the gradient lands where the elements came from; the value's has the (3, 2) layout
    x = tg.zeros(2, 3, 4, requires_grad=True)
    w = tg.arange(6.0).reshape(3, 2)
    (x[1, :, tg.tensor([0, 2])] * w).sum().backward()
    expected = np.zeros((2, 3, 4), np.float32)
    expected[1, :, 0] = [0, 2, 4]
    expected[1, :, 2] = [1, 3, 5]
    np.testing.assert_array_equal(x.grad.numpy(), expected)

    v = tg.ones(3, 2, requires_grad=True)
    y = tg.zeros(2, 3, 4) * 1
    y[1, :, tg.tensor([0, 2])] = v
    (y * tg.arange(24.0).reshape(2, 3, 4)).sum().backward()
    assert v.grad.tolist() == [[12.0, 14.0], [16.0, 18.0], [20.0, 22.0]]


_INDEX_PARTS = {
    "int": lambda m: 1, "neg": lambda m: -1, "npint": lambda m: np.int64(1), "int0d": lambda m: m.tensor(1),
    "all": lambda m: slice(None), "part": lambda m: slice(1, 3), "None": lambda m: None,
    "...": lambda m: Ellipsis, "idx": lambda m: m.tensor([0, 1]), "idx2d": lambda m: m.tensor([[0, 1], [1, 1]]),
    "list": lambda m: [1, 0], "mask": lambda m: m.tensor([True, False]),
    "mask3": lambda m: m.tensor([True, False, True]), "mask2d": lambda m: m.tensor([[True, False, True, False]] * 3),
    "True": lambda m: True, "False": lambda m: False, "bool0d": lambda m: m.tensor(True),
}


def _index_mixes():
    """Indices for a (2, 3, 4, 5) tensor: every pair of parts with an integer, and every triple with
    an integer and an index tensor, mask or bool (the ones PyTorch rejects are skipped)."""
    ints = {"int", "neg", "npint", "int0d"}
    arrays = {"idx", "idx2d", "list", "mask", "mask3", "mask2d", "True", "False", "bool0d"}
    for n in (2, 3):
        for keys in itertools.product(sorted(_INDEX_PARTS), repeat=n):
            if set(keys) & ints and keys.count("...") <= 1 and (n == 2 or set(keys) & arrays):
                if n == 2 or not set(keys) & {"neg", "npint", "int0d"}:
                    yield keys


def test_index_mixes_match_pytorch():
    # PyTorch: values, shapes, setitem and both gradients for every mix of index kinds
    torch = pytest.importorskip("torch")
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    checked = 0
    for keys in _index_mixes():
        index = tuple(_INDEX_PARTS[k](tg) for k in keys)
        tindex = tuple(_INDEX_PARTS[k](torch) for k in keys)
        try:
            expected = torch.tensor(a)[tindex]
        except (IndexError, RuntimeError, TypeError):
            continue
        x = tg.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        out, tout = x[index], tx[tindex]
        np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy(), err_msg=str(keys))
        w = np.linspace(0.5, 1.5, out.numel()).reshape(out.shape)
        (out * tg.tensor(w)).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        # repeated positions add up, in an order that may differ in the last bit
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15, err_msg=str(keys))
        if "idx2d" not in keys:         # repeated positions: which write wins is unspecified
            v = tg.tensor(w + 1000, requires_grad=True)
            tv = torch.tensor(w + 1000, requires_grad=True)
            y, ty = tg.tensor(a) * 1, torch.tensor(a) * 1
            y[index], ty[tindex] = v, tv
            np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy(), err_msg=str(keys))
            (y * tg.tensor(a)).sum().backward()
            (ty * torch.tensor(a)).sum().backward()
            np.testing.assert_array_equal(v.grad.numpy(), tv.grad.numpy(), err_msg=str(keys))
        checked += 1
    assert checked > 300
