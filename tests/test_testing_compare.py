"""assert_grads_match: a fused op against the same maths from primitives, and CPU against another
device. The composed version is checked against finite differences first, so it is a real truth."""
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.autograd import Function
from tinygrad_rnn.testing import GradcheckError, assert_grads_match, gradcheck


class FusedLogSumExp(Function):
    """log(sum(exp(x), dim=-1)) with a hand-written backward: g * softmax(x)."""
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp(x)
        m = x.max(axis=-1, keepdims=True)
        out = m + xp.log(xp.exp(x - m).sum(axis=-1, keepdims=True))
        ctx.save_for_backward(xp.exp(x - out))
        return out[..., 0]

    @staticmethod
    def backward(ctx, g):
        p, = ctx.saved_tensors
        return g.unsqueeze(-1) * p


class FusedLogSumExpSignError(FusedLogSumExp):
    @staticmethod
    def backward(ctx, g):
        p, = ctx.saved_tensors
        return -(g.unsqueeze(-1) * p)


def composed(x):
    return x.exp().sum(-1).log()


def x64(shape=(3, 4), seed=0, device="cpu"):
    data = np.random.default_rng(seed).uniform(-2, 2, shape)
    return tg.tensor(data, dtype=tg.float64, requires_grad=True, device=device)


def test_composed_reference_is_itself_correct():
    assert gradcheck(composed, x64())


def test_fused_and_composed_gradients_match():
    r = assert_grads_match(composed, FusedLogSumExp.apply, x64())
    assert r.mode == "match"
    assert r.n_checked == 3 + 12            # 3 outputs, 12 gradient entries


def test_wrong_fused_gradient_is_reported_with_diagnosis():
    with pytest.raises(GradcheckError) as info:
        assert_grads_match(composed, FusedLogSumExpSignError.apply, x64())
    msg = str(info.value)
    assert msg.startswith("assert_grads_match: FusedLogSumExpSignError.apply against composed: "
                          "gradient of input 0 (shape (3, 4), float64) differs in 12 of 12 entries")
    assert "diagnosis: sign error: composed = -1 x FusedLogSumExpSignError.apply" in msg


def test_different_outputs_are_reported():
    with pytest.raises(GradcheckError, match="output 0 .* differs"):
        assert_grads_match(composed, lambda x: composed(x) + 1e-3, x64())


def test_every_mismatch_is_listed_in_one_table():
    # the same small LSTM-style gate, once with the derivative of the forget gate's sigmoid wrong
    def gate(x, w, c):
        i, f = (x @ w).chunk(2, 1)
        return i.sigmoid() * f.sigmoid() * c

    class SigmoidSignError(Function):
        @staticmethod
        def forward(ctx, a):
            s = 1 / (1 + np.exp(-a))
            ctx.save_for_backward(s)
            return s

        @staticmethod
        def backward(ctx, g):
            s, = ctx.saved_tensors
            return -g * s * (1 - s)         # bug: the sign

    def gate_bad_forget(x, w, c):
        i, f = (x @ w).chunk(2, 1)
        return i.sigmoid() * SigmoidSignError.apply(f) * c

    x, w, c = x64((3, 2)), x64((2, 4), seed=1), x64((3, 2), seed=2)
    with pytest.raises(GradcheckError) as info:
        assert_grads_match(gate, gate_bad_forget, x, w, c, check_outputs=False)
    msg = str(info.value)
    assert "(and 1 more: see the table at the end)" in msg
    rows = msg[msg.index("everything compared:"):].splitlines()[1:]
    assert [r.split()[:4] for r in rows] == [["gradient", "of", "input", str(i)] for i in range(3)]
    assert rows[2].endswith(" ok")              # c's gradient does not pass through the gate's slope
    assert "6 of 6 differ" in rows[0] and "4 of 8 differ" in rows[1]     # x; w: the f half only


def test_cpu_and_device_gradients_match(device):
    x, w = x64((2, 3)), x64((3, 2), seed=1)

    def on_device(a, b):
        return (a.to(device) @ b.to(device)).tanh().cpu()

    assert assert_grads_match(lambda a, b: (a @ b).tanh(), on_device, x, w)


def test_testing_imports_without_hypothesis():
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import tinygrad_rnn.testing as t\n"
            "assert t.gradcheck and t.assert_grads_match and t.check_vjp\n"
            "try:\n    import tinygrad_rnn.testing.strategies\nexcept ImportError:\n    print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
