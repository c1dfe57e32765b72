"""Training steps on a device never copy arrays back to the host (no `.get()` in hot paths).

Counted on the CuPy stand-in ("fake"): every `.get()` / `asnumpy`, and every read of a device value
on the host (`bool()`, `float()`, `.item()`), is a synchronising round trip on a GPU. The one
allowed per step: `cross_entropy`/`nll_loss` check that the class targets are in range (PyTorch
raises on the CPU; on a GPU it asserts on the device, which CuPy cannot).
"""
import pytest

from tinygrad_rnn.testing import fakecupy

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.testing.fakecupy import count_transfers

F = nn.functional
fakecupy.install()


def _steps(model, make_batch, opt_cls=optim.Adam, n=2, clip=True):
    opt = opt_cls(model.parameters(), lr=1e-3)
    x, y, loss_fn = make_batch()
    with count_transfers() as c:
        for _ in range(n):
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    return c


def test_mlp_step_stays_on_the_device():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3)).to("fake")
    c = _steps(model, lambda: (tg.randn(4, 8, device="fake"), tg.tensor([0, 1, 2, 1], device="fake"),
                               F.cross_entropy))
    assert c.to_host == 2                      # the target check of each of the 2 steps' losses


def test_conv_step_stays_on_the_device():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 3)).to("fake")
    c = _steps(model, lambda: (tg.randn(2, 1, 8, 8, device="fake"), tg.randn(2, 3, device="fake"),
                               F.mse_loss), opt_cls=optim.SGD)
    assert c.to_host == 0


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_recurrent_step_stays_on_the_device(cls):
    tg.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, cls)(5, 7, num_layers=2, batch_first=True)
            self.head = nn.Linear(7, 3)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    model = Net().to("fake")
    c = _steps(model, lambda: (tg.randn(2, 4, 5, device="fake"), tg.randn(2, 3, device="fake"),
                               F.mse_loss))
    assert c.to_host == 0


def test_the_counter_sees_a_copy_to_the_host():
    x = tg.ones(3, device="fake")
    with count_transfers() as c:
        x.numpy()
    assert c.to_host == 1
