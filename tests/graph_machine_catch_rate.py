"""How often does ``GraphMachine`` with docs/testing.md's settings catch a sign bug in a registered op?

    python tests/graph_machine_catch_rate.py [N_SEEDS]

Not a test: a measurement, reported in docs/testing.md. For each of N seeds (default 10) it runs
the state machine of docs/testing.md (``max_examples=25, stateful_step_count=6``) with a softsign
whose backward has the wrong sign, registered alone and beside the page's two other user ops, and
prints how many seeds found the bug.
"""
import sys
import time

import numpy as np
from hypothesis import HealthCheck, settings
import hypothesis.core
from hypothesis.stateful import run_state_machine_as_test

from tinygrad_rnn.autograd import Function
from tinygrad_rnn.testing import GradcheckError
from tinygrad_rnn.testing.stateful import GraphMachine


class SoftsignSignError(Function):
    """x / (1 + |x|), backward -1 / (1 + |x|)^2: the sign is wrong."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + np.abs(x))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return -g / (1 + x.abs()) ** 2


def machine(with_others):
    class Docs(GraphMachine):
        pass

    Docs.register_op("softsign", SoftsignSignError.apply)
    if with_others:
        Docs.register_op("hypot", lambda x, y: (x * x + y * y).sqrt(), arity=2,
                         domain=lambda t: t.abs() + 0.5)
        Docs.register_op("logsumexp", lambda x, d: x.logsumexp(d, keepdim=True), kind="reduce")
    return Docs


def caught(cls, seed):
    hypothesis.core.global_force_seed = seed
    try:
        run_state_machine_as_test(cls, settings=settings(
            max_examples=25, stateful_step_count=6, deadline=None, database=None, print_blob=False,
            suppress_health_check=list(HealthCheck)))
    except GradcheckError:
        return True
    finally:
        hypothesis.core.global_force_seed = None
    return False


def main(n=10):
    for with_others in (False, True):
        t = time.perf_counter()
        hits = [caught(machine(with_others), seed) for seed in range(n)]
        what = "softsign + hypot + logsumexp" if with_others else "softsign alone"
        print(f"{what:<30} caught in {sum(hits)} of {n} seeds ({time.perf_counter() - t:.0f} s)",
              flush=True)


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
