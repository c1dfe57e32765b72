"""F.pad: PyTorch's pad-tuple order, constant/reflect/replicate/circular modes, negative widths,
gradients. Expected values are written out by hand; PyTorch cross-checks where installed."""
import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn.autograd import OpError
from tinygrad_rnn.testing import gradcheck, gradgradcheck

ROW = [[[0.0, 1.0, 2.0]]]         # (1, 1, 3)


@pytest.mark.parametrize("mode,pad,expect", [
    ("constant", (1, 2), [0, 0, 1, 2, 0, 0]),
    ("reflect", (2, 2), [2, 1, 0, 1, 2, 1, 0]),
    ("replicate", (1, 2), [0, 0, 1, 2, 2, 2]),
    ("circular", (3, 3), [0, 1, 2, 0, 1, 2, 0, 1, 2]),
    ("constant", (-1, 1), [1, 2, 0]),               # negative widths cut
    ("reflect", (-1, 1), [1, 2, 1]),                # cut first, then pad what is left
    ("circular", (-1, 2), [1, 2, 1, 2]),
    ("replicate", (-1, -1), [1]),
])
def test_pad_last_dim_by_hand(mode, pad, expect, device):
    out = F.pad(tg.tensor(ROW, device=device), pad, mode=mode)
    assert out.tolist() == [[expect]] and out.device == tg.device(device)


def test_pad_pairs_count_from_the_last_dim_backwards():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = F.pad(x, (1, 0, 0, 1), value=9.0)             # last dim: left 1; first dim: bottom 1
    assert out.tolist() == [[9, 1, 2], [9, 3, 4], [9, 9, 9]]


def test_pad_2d_reflect_on_an_image():
    x = tg.arange(6.0).reshape(1, 1, 2, 3)
    out = F.pad(x, (1, 1, 1, 1), mode="reflect")
    assert out.tolist() == [[[[4, 3, 4, 5, 4], [1, 0, 1, 2, 1], [4, 3, 4, 5, 4], [1, 0, 1, 2, 1]]]]


def test_constant_pad_keeps_an_integer_dtype():
    out = F.pad(tg.tensor([[1, 2]]), (1, 1), value=7)
    assert out.dtype == np.int64 and out.tolist() == [[7, 1, 2, 7]]


# (1, 2) around [a, b, c]: constant [0, a, b, c, 0, 0], reflect [b, a, b, c, b, a],
# replicate [a, a, b, c, c, c], circular [c, a, b, c, a, b]; each copy's weight flows back to it
@pytest.mark.parametrize("mode,expect", [
    ("constant", [10, 100, 1000]),
    ("reflect", [10 + 100000, 1 + 100 + 10000, 1000]),
    ("replicate", [1 + 10, 100, 1000 + 10000 + 100000]),
    ("circular", [10 + 10000, 100 + 100000, 1 + 1000])])
def test_pad_gradient_adds_every_copy_back(mode, expect, device):
    x = tg.tensor(ROW, device=device, requires_grad=True)
    w = tg.tensor([[[1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0]]], device=device)
    (F.pad(x, (1, 2), mode=mode) * w).sum().backward()
    assert x.grad.tolist() == [[expect]]


@pytest.mark.parametrize("mode,pad", [("reflect", (1, 2, 2, 1)), ("replicate", (2, 0, 1, 1)),
                                      ("circular", (1, 1, 0, 2)), ("constant", (1, -1, 2, 0))])
def test_pad_passes_gradcheck_twice(mode, pad):
    x = tg.randn(1, 2, 3, 3, dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda t: F.pad(t, pad, mode=mode), x)
    assert gradgradcheck(lambda t: F.pad(t, pad, mode=mode).square(), x)


def test_pad_errors_follow_pytorch():
    x = tg.ones(1, 2, 3)
    with pytest.raises(OpError, match="divisible by 2"):
        F.pad(x, (1,))
    with pytest.raises(OpError, match="padding length 8 and input of dimension 3"):
        F.pad(x, (1,) * 8)
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode foo"):
        F.pad(x, (1, 1), mode="foo")
    with pytest.raises(OpError, match="doesn't take in value argument"):
        F.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D input"):
        F.pad(tg.ones(3), (1, 1), mode="reflect")
    with pytest.raises(OpError, match="Padding size should be less than the corresponding input"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(OpError, match="wrapping around more than once"):
        F.pad(x, (4, 0), mode="circular")


def test_pad_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    cases = [((2, 3, 4), (1, 2), "reflect"), ((2, 3, 4), (2, 1, 1, 2), "replicate"),
             ((1, 2, 3, 4), (3, 1, 2, 0), "circular"), ((1, 1, 2, 3, 4), (1, 1, 1, 1, 1, 1), "reflect"),
             ((2, 3, 4), (1, -2, 0, 1, 2, 2), "constant"), ((3, 4), (-1, 2), "circular")]
    for shape, pad, mode in cases:
        x0 = rng.standard_normal(shape)
        xt = torch.tensor(x0, requires_grad=True)
        xg = tg.tensor(x0, requires_grad=True)
        ot, og = torch.nn.functional.pad(xt, pad, mode=mode), F.pad(xg, pad, mode=mode)
        w0 = rng.standard_normal(tuple(ot.shape))
        (ot * torch.tensor(w0)).sum().backward()
        (og * tg.tensor(w0)).sum().backward()
        np.testing.assert_array_equal(og.numpy(), ot.detach().numpy())
        np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
