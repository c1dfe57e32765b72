"""gradcheck / gradgradcheck / check_vjp catch planted bugs, name them, and pass the correct ops.

Each planted bug is a small Function with a deliberately wrong backward; its correct twin differs
only in the bug. The independent truth is the finite-difference side of the checker, and the
closed-form derivatives the correct twins implement.
"""
import pathlib
import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.autograd import Function
from tinygrad_rnn.testing import GradcheckError, check_vjp, gradcheck, gradgradcheck


def t64(data, requires_grad=True, device="cpu"):
    return tg.tensor(np.asarray(data, dtype=np.float64), dtype=tg.float64, requires_grad=requires_grad,
                     device=device)


def rand(*shape, seed=0, device="cpu"):
    return t64(np.random.default_rng(seed).uniform(-2, 2, shape), device=device)


# ----------------------------------------------------------------------------- planted bugs

class Square(Function):
    """x * x, the input used twice: d/dx = 2 x."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 2 * x


class SquareMissedAccumulation(Square):
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x            # bug: the second use of x is not added


class Negate(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class NegateSignError(Negate):
    @staticmethod
    def backward(ctx, g):
        return g                # bug: sign dropped


class Tile4(Function):
    """Broadcast x to (4, *x.shape) inside forward: d/dx sums the upstream over the 4 copies."""
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp(x)
        return xp.broadcast_to(x, (4,) + x.shape).copy()

    @staticmethod
    def backward(ctx, g):
        return g.sum(0)


class Tile4MeanNotSum(Tile4):
    @staticmethod
    def backward(ctx, g):
        return g.mean(0)        # bug: averaged over the broadcast copies instead of summed


class Tile4WrongShape(Tile4):
    @staticmethod
    def backward(ctx, g):
        return g.permute(1, 2, 0)   # bug: an unreduced gradient the engine cannot sum to x's shape


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g @ b.mT, a.mT @ g


class MatMulTransposed(MatMul):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g @ b.mT).mT, a.mT @ g      # bug: dA transposed (shapes agree for square A)


class MatMulTransposedReshaped(MatMul):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = b @ g.mT                       # bug: this is dA^T, reshaped instead of transposed
        return da.reshape(*a.shape), a.mT @ g


class TanhDropped(Function):
    """Two paths: tanh(x) + x. The bug forgets the identity path."""
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp(x).tanh(x)
        ctx.save_for_backward(out)
        return out + x

    @staticmethod
    def backward(ctx, g):
        return g * 0.0              # bug: no path at all


class Cube(Function):
    """x^3 with backward written in Tensor ops: 3 x^2 g, differentiable again (6 x g)."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x * x


class CubeWrongSecondDerivative(Cube):
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        x_const = x.detach()
        return g * 3 * x * x_const  # right value, but d/dx sees only one factor of x: 3 x, not 6 x


class CubeOnce(Cube):
    """The same op declared once differentiable: double backward must raise, naming it."""
    once_differentiable = True
    name = "cube_fused"


def _message(fn, *inputs, check=gradcheck, **kwargs):
    with pytest.raises(GradcheckError) as info:
        check(fn, *inputs, **kwargs)
    return str(info.value)


def test_correct_ops_pass():
    x, a, b = rand(3, 4), rand(3, 3, seed=1), rand(3, 2, seed=2)
    assert gradcheck(Square.apply, x)
    assert gradcheck(Negate.apply, x)
    assert gradcheck(Tile4.apply, x)
    assert gradcheck(MatMul.apply, a, b)
    assert gradcheck(Cube.apply, x)


def test_unary_op_short_of_a_factor_two_names_both_readings():
    # x * x computed on arrays, one use's contribution lost: numerically the same as a formula
    # short of a 2, so the diagnosis names both and says how to tell them apart
    msg = _message(SquareMissedAccumulation.apply, rand(3, 4))
    assert "diagnosis: factor of two: numeric = 2 x analytic everywhere, and the input was not " \
           "broadcast" in msg
    assert "missed accumulation" in msg and "the derivative formula lost a factor 2" in msg


class SqrtHalved(Function):
    """sqrt(x), its derivative written 1 / (4 sqrt(x)) instead of 1 / (2 sqrt(x))."""
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp(x).sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g / (4 * out)        # bug: x0.5


def test_halved_derivative_of_a_unary_op_is_a_factor_of_two_not_a_missed_accumulation():
    msg = _message(SqrtHalved.apply, t64(np.random.default_rng(0).uniform(0.5, 2, (3, 4))))
    assert "diagnosis: factor of two" in msg
    assert "diagnosis: missed accumulation" not in msg


class Tile2Mean(Function):
    """Broadcast x to (2, *x.shape) inside forward; the bug averages the two copies' gradients."""
    @staticmethod
    def forward(ctx, x):
        return ctx.xp(x).broadcast_to(x, (2,) + x.shape).copy()

    @staticmethod
    def backward(ctx, g):
        return g.mean(0)            # bug: g.sum(0)


def test_gradient_averaged_over_two_broadcast_copies_is_a_missing_reduction():
    msg = _message(Tile2Mean.apply, rand(3, 2))
    assert "diagnosis: missing broadcast reduction: numeric = 2 x analytic everywhere, and the " \
           "input was broadcast over 2 copies" in msg


class ScaleWrong(Function):
    """3 x with backward 1.7 g: a wrong constant."""
    @staticmethod
    def forward(ctx, x):
        return 3 * x

    @staticmethod
    def backward(ctx, g):
        return 1.7 * g


def test_constant_factor_is_named_only_when_more_than_one_entry_was_compared():
    assert "diagnosis: constant factor: numeric = 1.76471 x analytic everywhere" in \
        _message(ScaleWrong.apply, rand(4))
    msg = _message(ScaleWrong.apply, t64(0.5))
    assert "1 of 1 entries differ" in msg and "diagnosis" not in msg
    assert "sign error: numeric = -1 x analytic at the only entry compared" in \
        _message(NegateSignError.apply, t64(0.5))


def test_sign_error_is_caught_and_named():
    msg = _message(NegateSignError.apply, rand(3, 4))
    assert "diagnosis: sign error" in msg


def test_gradient_averaged_over_broadcast_copies_is_named_missing_broadcast_reduction():
    msg = _message(Tile4MeanNotSum.apply, rand(3, 2))
    assert "diagnosis: missing broadcast reduction: numeric = 4 x analytic" in msg


def test_gradient_of_wrong_shape_is_named_missing_broadcast_reduction():
    msg = _message(Tile4WrongShape.apply, rand(3, 2))
    assert "diagnosis: missing broadcast reduction" in msg
    assert "(3, 2)" in msg


def test_transposed_matmul_gradient_is_caught_and_named():
    msg = _message(MatMulTransposed.apply, rand(3, 3), rand(3, 2, seed=1))
    assert "w.r.t. input 0" in msg
    assert "diagnosis: transposed matrix" in msg


def test_transposed_hint_covers_both_matrix_product_conventions():
    msg = _message(MatMulTransposed.apply, rand(3, 3), rand(3, 2, seed=1))
    assert "for y = x @ w, dx = g @ w.T and dw = x.T @ g" in msg
    assert "for y = x @ w.T (nn.Linear's weight, shape (out, in)), dx = g @ w and dw = g.T @ x" in msg


class LinearNoBias(Function):
    """y = x @ w.T with w (out, in), as nn.Linear: dx = g @ w, dw = g.T @ x."""
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x @ w.T

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g @ w, g.mT @ x


class LinearWeightGradTransposed(LinearNoBias):
    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g @ w, x.mT @ g              # bug: that is dw.T, the rule for y = x @ w


class LinearInputGradWrongOrder(LinearNoBias):
    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g @ w.mT, g.mT @ x           # bug: g @ w.T is the rule for y = x @ w


class MatMulInputGradWrongOrder(MatMul):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g @ b, a.mT @ g              # bug: dA = g @ b.T


def test_transposed_weight_gradient_of_a_linear_layer_is_named():
    assert gradcheck(LinearNoBias.apply, rand(5, 3), rand(3, 3, seed=1))
    msg = _message(LinearWeightGradTransposed.apply, rand(5, 3), rand(3, 3, seed=1))
    assert "w.r.t. input 1" in msg and "diagnosis: transposed matrix" in msg


@pytest.mark.parametrize("op", [LinearInputGradWrongOrder, MatMulInputGradWrongOrder],
                         ids=["x @ w.T", "x @ w"])
def test_weight_used_where_its_transpose_belongs_is_named(op):
    msg = _message(op.apply, rand(5, 3), rand(3, 3, seed=1))
    assert "w.r.t. input 0" in msg
    assert "diagnosis: matrix product order" in msg
    assert "for y = x @ w, dx = g @ w.T, not g @ w; for y = x @ w.T (nn.Linear's weight), " \
           "dx = g @ w, not g @ w.T" in msg


def test_a_matrix_product_that_does_not_fit_in_backward_gets_the_transpose_rules():
    # nn.Linear's convention with a non-square weight: g @ w.T cannot even be computed
    msg = _message(LinearInputGradWrongOrder.apply, rand(5, 3), rand(4, 3, seed=1))
    assert "backward raised\n  matmul: shapes (5, 4) and (3, 4) cannot be multiplied" in msg
    assert "diagnosis: matrix product order" in msg and "dx = g @ w and dw = g.T @ x" in msg


class SigmoidWrong(Function):
    """sigmoid with the derivative s (1 + s) instead of s (1 - s)."""
    @staticmethod
    def forward(ctx, a):
        s = 1 / (1 + ctx.xp(a).exp(-a))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, g):
        s, = ctx.saved_tensors
        return g * s * (1 + s)      # bug: 1 - s


def lstm_step_with_bad_forget_gate(x, h, c, w_ih, w_hh, b):
    i, f, g, o = (x @ w_ih.T + h @ w_hh.T + b).chunk(4, 1)
    c = SigmoidWrong.apply(f) * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh()


def test_every_failing_input_is_listed_in_one_table():
    # a bug in the forget gate's derivative: every input whose gradient passes through the gate's
    # pre-activation is wrong, the cell state c (multiplied by f's value, not its derivative) is not
    H = 2
    inputs = [rand(3, 2), rand(3, H, seed=1), rand(3, H, seed=2), rand(4 * H, 2, seed=3),
              rand(4 * H, H, seed=4), rand(4 * H, seed=5)]
    msg = _message(lstm_step_with_bad_forget_gate, *inputs)
    assert msg.splitlines()[0].endswith("output 0 w.r.t. input 0 (and 4 more pair(s): see the "
                                        "table at the end)")
    table = msg[msg.index("every gradient checked:"):].splitlines()[2:]
    assert len(table) == 6
    cols = [re.split(r"\s{2,}", row.strip()) for row in table]
    status = {int(col[1]): col[5] for col in cols}
    assert status[2] == "ok"
    assert all(status[i].startswith("no simple pattern") for i in (0, 1, 3, 4, 5))
    for row, what in zip(table[3:], ("rows", "rows", "entries")):
        # w_ih, w_hh, b: only the forget gate's block (rows H to 2H) is wrong
        assert row.endswith(f"; wrong {what} 2, 3 of 8"), row


def test_toolkit_frames_are_hidden_from_pytest_tracebacks(tmp_path):
    test = tmp_path / "test_planted.py"
    test.write_text(
        "import numpy as np\n"
        "import tinygrad_rnn as tg\n"
        "from tinygrad_rnn.testing import gradcheck\n\n"
        "def test_planted():\n"
        "    x = tg.tensor(np.arange(3.0), dtype=tg.float64, requires_grad=True)\n"
        "    gradcheck(lambda t: t.sin() + tg.tensor(np.cos(t.numpy())) * 0 + t.detach(), x)\n")
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__).resolve().parent.parent))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert run.returncode == 1
    out = run.stdout
    assert "gradcheck(lambda t:" in out                 # the caller's line is shown
    assert "GradcheckError: gradcheck failed" in out
    for ours in ("def _fail", "def _compare", "def _run", "def gradcheck", "raise GradcheckError"):
        assert ours not in out, f"toolkit source shown in the traceback: {ours}"


def test_transposed_gradient_of_non_square_matrix_is_named():
    msg = _message(MatMulTransposedReshaped.apply, rand(2, 3), rand(3, 4, seed=1))
    assert "diagnosis: transposed matrix" in msg


def test_dropped_path_is_caught_and_named():
    msg = _message(TanhDropped.apply, rand(2, 3))
    assert "diagnosis: dropped path" in msg


def test_output_computed_from_detached_input_is_a_dropped_path():
    msg = _message(lambda x: x.detach() * 2 + x.sum() * 0, rand(2, 3))
    assert "diagnosis: dropped path" in msg


def test_wrong_second_derivative_is_caught_by_gradgradcheck_only():
    x = rand(5)
    assert gradcheck(CubeWrongSecondDerivative.apply, x)
    msg = _message(CubeWrongSecondDerivative.apply, x, check=gradgradcheck)
    assert "gradient of CubeWrongSecondDerivative.apply" in msg
    assert "diagnosis: factor of two" in msg and "missed accumulation" in msg


def test_gradgradcheck_passes_correct_second_derivative():
    assert gradgradcheck(Cube.apply, rand(5))
    assert gradgradcheck(lambda a, b: (a @ b).tanh(), rand(2, 3), rand(3, 2, seed=1))


def test_gradgradcheck_of_once_differentiable_op_raises_its_own_error():
    x = rand(4)
    assert gradcheck(CubeOnce.apply, x)
    with pytest.raises(RuntimeError, match="cube_fused: double backward is not supported"):
        gradgradcheck(CubeOnce.apply, x)


# ----------------------------------------------------------------------------- the message

def test_failure_message_names_everything_needed_to_reproduce():
    def my_op(x, y):
        return NegateSignError.apply(y) * 1.0 + x.sum()

    msg = _message(my_op, rand(2), rand(3, 2, seed=1), seed=7)
    assert msg.startswith("gradcheck failed for test_failure_message_names_everything_needed_to_"
                          "reproduce.<locals>.my_op: output 0 w.r.t. input 1")
    assert "output 0: shape (3, 2), float64; input 1: shape (3, 2), float64" in msg
    for part in ("mode=full", "eps=1e-06", "atol=1e-05", "rtol=0.0001", "seed=7",
                 "6 of 6 entries differ (0 masked as kinks)"):
        assert part in msg
    rows = re.findall(r"^\s+\((\d), (\d)\)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", msg, re.M)
    assert len(rows) == 5
    for *_, a, n, abs_err, rel_err in rows:     # sign error: numeric = -analytic, rel err 2
        assert float(n) == pytest.approx(-float(a), rel=1e-6)
        assert float(rel_err) == pytest.approx(2.0, rel=1e-3)


def test_name_argument_replaces_function_name():
    assert "for my custom op:" in _message(NegateSignError.apply, rand(2), name="my custom op")


def test_multiple_outputs_failure_names_the_wrong_output():
    msg = _message(lambda x: (Negate.apply(x), NegateSignError.apply(x)), rand(3))
    assert "output 1 w.r.t. input 0" in msg


# ----------------------------------------------------------------------------- kinks

def test_relu_at_exactly_zero_is_masked_not_failed():
    r = gradcheck(lambda x: x.relu(), t64([0.0, -1.0, 0.0, 2.0]))
    assert r.n_masked == 2
    assert r.n_checked == 2


def test_max_with_ties_is_masked_not_failed():
    r = gradcheck(lambda x: x.amax(1), t64([[1.0, 1.0, 0.5], [3.0, -1.0, 3.0]]))
    assert r.n_masked == 4


class ReluWrongAtZero(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp(x).maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        # bug: -1 at 0, outside the one-sided derivatives [0, 1]
        return g * tg.tensor(np.where(x.array > 0, 1.0, np.where(x.array == 0, -1.0, 0.0)))


def test_kink_gradient_outside_one_sided_derivatives_fails():
    msg = _message(ReluWrongAtZero.apply, t64([0.0, 1.0, -1.0]))
    assert "1 masked as kinks" in msg
    assert "outside the one-sided differences" in msg


def test_value_closer_to_a_kink_than_the_step_is_checked_with_smaller_steps():
    r = gradcheck(lambda x: x.relu(), t64([1e-8, -1e-8, 0.5]))
    assert r.n_masked == 0
    assert r.n_checked == 3


def test_ties_in_a_broadcast_input_within_one_step_are_resolved():
    # y meets x's first row exactly and its second row 2.4e-7 away: both kinks lie inside one step
    x = t64([[-1.99999976], [-2.0]])
    y = t64([[-2.0]])
    for seed in range(5):
        assert gradcheck(lambda a, b: a.maximum(b), x, y, seed=seed)


def test_jump_in_fn_is_masked_as_there_is_no_derivative():
    r = gradcheck(lambda x: x + (x > 0).double(), t64([0.0, 1.0, -0.5]))
    assert (r.n_checked, r.n_masked) == (2, 1)


def test_second_derivative_of_max_at_a_tie_is_masked():
    # the gradient of max jumps at a tie: from (1/2, 1/2) to (1, 0) or (0, 1)
    r = gradgradcheck(lambda x: x.amax(0), t64([[-2.0], [-2.0]]))
    assert r.n_masked == 2


def test_wrong_gradient_of_a_constant_is_not_mistaken_for_a_jump():
    class Constant(Function):
        @staticmethod
        def forward(ctx, x):
            return ctx.xp(x).zeros_like(x)

        @staticmethod
        def backward(ctx, g):
            return g * 1.0      # bug: the derivative of a constant is 0

    msg = _message(Constant.apply, t64([0.0, 1.0]))
    assert "2 of 2 entries differ (0 masked as kinks)" in msg


# ----------------------------------------------------------------------------- fast mode

def test_auto_mode_is_full_for_small_inputs_and_fast_for_large():
    fn = lambda x: (x * x).sin()   # noqa: E731
    assert gradcheck(fn, rand(4, 4), fast_threshold=16).mode == "full"
    assert gradcheck(fn, rand(4, 5), fast_threshold=16).mode == "fast"


def test_fast_mode_checks_n_directions_per_input():
    r = gradcheck(MatMul.apply, rand(20, 20), rand(20, 3, seed=1), mode="fast", n_directions=4)
    assert (r.mode, r.n_checked) == ("fast", 8)
    assert r.n_evals == 1 + 2 * (2 * 4)     # f(x) once, then +-step per direction


def test_fast_mode_catches_planted_bug_and_diagnoses_it():
    msg = _message(NegateSignError.apply, rand(30, 30), mode="fast")
    assert "random directions differ" in msg
    assert "diagnosis: sign error" in msg


def test_fast_mode_catches_a_bug_in_a_single_element():
    class OneWrong(Square):
        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            factor = np.full(x.shape, 2.0)
            factor[7, 3] = 2.5
            return g * x * tg.tensor(factor)

    with pytest.raises(GradcheckError, match="rerun with mode='full'"):
        gradcheck(OneWrong.apply, rand(20, 20), mode="fast")


def test_check_vjp_passes_correct_and_fails_transposed():
    a, b = rand(6, 6), rand(6, 5, seed=1)
    r = check_vjp(MatMul.apply, a, b, n_directions=2)
    assert (r.mode, r.n_checked) == ("fast", 4)
    with pytest.raises(GradcheckError, match="w.r.t. input 0"):
        check_vjp(MatMulTransposed.apply, a, b)


# ----------------------------------------------------------------------------- the result

def test_result_is_truthy_and_reports_what_was_checked():
    r = gradcheck(lambda x, y: x * y, rand(3, 4), rand(4, seed=1))
    assert bool(r) is True
    assert r.mode == "full"
    assert r.n_checked == 16
    assert r.n_masked == 0
    assert r.n_evals == 1 + 2 * 12 + 2 * 4   # f(x) once, then +-step per element
    assert 0 <= r.max_abs_err < r.atol
    assert (r.eps, r.atol, r.rtol, r.seed) == (1e-6, 1e-5, 1e-4, 0)


def test_float32_inputs_get_float32_tolerances():
    x = tg.tensor(np.random.default_rng(0).uniform(-1, 1, (3, 2)), dtype=tg.float32, requires_grad=True)
    r = gradcheck(lambda t: t.tanh() * t, x)
    assert (r.atol, r.rtol) == (1e-2, 1e-2)


def test_float32_computation_inside_fn_raises_the_step_and_tolerances():
    x = rand(4)
    w = tg.tensor([0.5, -1.0, 2.0, 1.5], dtype=tg.float32)
    r = gradcheck(lambda t: (t.float() * w).sin(), x)
    assert (r.eps, r.atol, r.rtol) == (1e-3, 1e-2, 1e-2)


def test_explicit_grad_outputs_are_used():
    x = rand(3)
    assert gradcheck(lambda t: t * t, x, grad_outputs=[t64([1.0, 0.0, -2.0], False)])


# ----------------------------------------------------------------------------- the other checks

def test_no_input_requiring_grad_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, t64([1.0], requires_grad=False))


def test_inputs_without_requires_grad_and_non_tensor_arguments_are_allowed():
    c = t64([1.0, 2.0, 3.0], requires_grad=False)
    idx = tg.tensor([2, 0])
    r = gradcheck(lambda x, c, k, i: (x * c * k)[i], rand(3), c, 3.0, idx)
    assert r.n_checked == 3


def test_backward_that_is_not_linear_in_the_upstream_gradient_fails():
    class Affine(Negate):
        @staticmethod
        def backward(ctx, g):
            return -g + 1e-3

    with pytest.raises(GradcheckError, match="zero upstream gradient gave a non-zero gradient"):
        gradcheck(Affine.apply, rand(3))


def test_backward_that_changes_between_calls_fails():
    calls = []

    class Drifting(Negate):
        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return -g * (1.0 + 0.1 * len(calls))

    with pytest.raises(GradcheckError, match="second backward over the same graph"):
        gradcheck(Drifting.apply, rand(3))


def test_forward_that_writes_to_its_input_fails():
    class Clobber(Square):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            out = x * x
            x += 1.0
            return out

    with pytest.raises(GradcheckError, match="input 0 was changed in place"):
        gradcheck(Clobber.apply, rand(3))


def test_gradcheck_leaves_callers_grad_untouched():
    x = rand(3)
    gradcheck(lambda t: t * t, x)
    assert x.grad is None


def test_gradcheck_on_non_contiguous_input(device):
    base = rand(4, 3, device=device)
    x = tg.as_tensor(base.array.T).requires_grad_()
    assert not x.array.flags.c_contiguous
    assert gradcheck(lambda t: (t @ t.T).sin(), x)


def test_gradcheck_on_device(device):
    x, y = rand(3, 2, device=device), rand(2, seed=1, device=device)
    assert gradcheck(lambda a, b: (a * b).tanh().sum(0), x, y)
    assert gradgradcheck(lambda a, b: (a * b).tanh().sum(0), x, y)
