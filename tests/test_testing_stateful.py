"""Random graphs built by GraphMachine: every leaf gradient of every op node matches finite
differences. A subclass with a deliberately broken op shows the machine finds it."""
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tinygrad_rnn.autograd import Function
from tinygrad_rnn.testing import GradcheckError
from tinygrad_rnn.testing.stateful import GraphMachine, positive

# the active profile sets max_examples (ci: 25, thorough: 1000); graphs stay small
SMALL = settings(settings.default, stateful_step_count=6, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])

TestGraphMachine = GraphMachine.TestCase
TestGraphMachine.settings = SMALL


class WithUserOps(GraphMachine):
    check_second_order = True
    max_nodes = 5


WithUserOps.register_op("softsign", lambda x: x / (1 + x.abs()))
WithUserOps.register_op("hypot", lambda x, y: (x * x + y * y).sqrt(), arity=2,
                        domain=lambda t: t.abs() + 0.5)
WithUserOps.register_op("logsumexp", lambda x, d: x.logsumexp(d, keepdim=True), kind="reduce")

TestWithUserOps = WithUserOps.TestCase
TestWithUserOps.settings = settings(SMALL, max_examples=max(SMALL.max_examples // 3, 5))


def test_register_op_on_a_subclass_leaves_the_base_unchanged():
    assert "softsign" in WithUserOps.ops and "softsign" not in GraphMachine.ops
    assert set(GraphMachine.ops) < set(WithUserOps.ops)


def test_register_op_rejects_unknown_kind():
    class M(GraphMachine):
        pass

    with pytest.raises(ValueError, match="kind must be"):
        M.register_op("bad", lambda x: x, kind="scan")


class LogWrongGradient(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (x * x)      # bug: d/dx log x is 1/x


def test_machine_finds_a_broken_user_op():
    class OnlyBroken(GraphMachine):
        ops = {}

    OnlyBroken.register_op("badlog", LogWrongGradient.apply, domain=positive)
    OnlyBroken.register_op("add", lambda x, y: x + y, arity=2)
    OnlyBroken.register_op("sum", lambda x, d: x.sum(d, keepdim=True), kind="reduce")
    with pytest.raises(GradcheckError, match="badlog"):
        run_state_machine_as_test(OnlyBroken, settings=settings(SMALL, max_examples=30,
                                                                derandomize=True, print_blob=False))


def test_registered_ops_are_drawn_half_the_time():
    # among all the built-in ops, a registered op is still picked for about half of the op draws
    from hypothesis import given, strategies as st

    class Mine(GraphMachine):
        pass

    Mine.register_op("mine", lambda x: x * 1.0)
    machine = Mine.__new__(Mine)
    picks = []

    @settings(max_examples=20, derandomize=True, database=None)
    @given(st.data())
    def draw(data):
        picks.extend(machine._draw_op(data, 1) for _ in range(50))   # one graph draws many ops

    draw()
    share = picks.count("mine") / len(picks)
    assert 0.35 < share < 0.75, share
    Mine.favour_registered = False
    picks.clear()
    draw()
    assert picks.count("mine") / len(picks) < 0.25       # drawn like any of the unary ops
