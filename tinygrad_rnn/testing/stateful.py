"""A Hypothesis state machine that builds random computation graphs and checks their gradients.

``GraphMachine`` grows a graph step by step: it adds leaves, applies unary and binary ops to nodes
already there (the same node may feed both sides, so gradients must accumulate), and reduces nodes
along drawn dims (keepdim, so results broadcast against the rest: gradients must be summed back).
After every step it replays the graph as a function of its leaves and runs :func:`gradcheck` on
it, with every op node as an output: each leaf's gradient through every path is compared with
finite differences.

Use it as it is, or extend it with your own ops::

    from tinygrad_rnn.testing.stateful import GraphMachine

    class MyGraphs(GraphMachine):
        pass

    MyGraphs.register_op("softsign", lambda x: x / (1 + x.abs()))
    MyGraphs.register_op("hypot", lambda x, y: (x * x + y * y).sqrt(), arity=2,
                         domain=lambda t: t.abs() + 0.5)

    TestMyGraphs = MyGraphs.TestCase          # collected by pytest / unittest

Registering on a subclass never changes the ops of ``GraphMachine`` itself. Tune the size with
``MyGraphs.TestCase.settings = settings(max_examples=..., stateful_step_count=...)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from ..tensor import Tensor
from .gradcheck import gradcheck, gradgradcheck
from .strategies import arrays

__all__ = ["GraphMachine", "OpSpec", "positive", "bounded"]


def positive(t):
    """Domain map onto values >= 0.5 (for log, sqrt, a divisor): ``t * t + 0.5``."""
    return t * t + 0.5


def bounded(t):
    """Domain map onto (-1, 1) (for exp and other fast growers): ``tanh(t)``."""
    return t.tanh()


@dataclass(frozen=True)
class OpSpec:
    """One op the machine may apply.

    fn: ``fn(*tensors) -> Tensor`` for kind "elementwise" (``arity`` tensors that broadcast
        together), ``fn(tensor, dim) -> Tensor`` keeping the reduced dim for kind "reduce".
    domain: None (any real input), one callable mapping any tensor into the op's domain (applied to
        every argument; :func:`positive`, :func:`bounded`), or a tuple with one (or None) per argument.
        Domain maps are part of the graph, so they must be differentiable.
    """
    name: str
    fn: Callable
    arity: int = 1
    domain: Optional[object] = None
    kind: str = "elementwise"

    def domain_of(self, arg):
        d = self.domain
        return d[arg] if isinstance(d, tuple) else d


def _builtin_ops():
    ops = [
        OpSpec("neg", lambda x: -x), OpSpec("tanh", lambda x: x.tanh()),
        OpSpec("sigmoid", lambda x: x.sigmoid()), OpSpec("sin", lambda x: x.sin()),
        OpSpec("exp", lambda x: x.exp(), domain=bounded), OpSpec("log", lambda x: x.log(), domain=positive),
        OpSpec("sqrt", lambda x: x.sqrt(), domain=positive), OpSpec("relu", lambda x: x.relu()),
        OpSpec("abs", lambda x: x.abs()), OpSpec("square", lambda x: x * x),
        OpSpec("add", lambda x, y: x + y, 2), OpSpec("sub", lambda x, y: x - y, 2),
        OpSpec("mul", lambda x, y: x * y, 2), OpSpec("div", lambda x, y: x / y, 2, (None, positive)),
        OpSpec("maximum", lambda x, y: x.maximum(y), 2),
        OpSpec("sum", lambda x, d: x.sum(d, keepdim=True), kind="reduce"),
        OpSpec("mean", lambda x, d: x.mean(d, keepdim=True), kind="reduce"),
        OpSpec("amax", lambda x, d: x.amax(d, keepdim=True), kind="reduce"),
    ]
    return {op.name: op for op in ops}


class GraphMachine(RuleBasedStateMachine):
    """Random graphs over ``ops``; every op node's gradient w.r.t. every leaf is checked.

    Class attributes to override: ``shape`` (the largest node shape; leaves take it or a shape that
    broadcasts to it), ``max_leaves``, ``max_nodes``, ``device`` (None: the default device),
    ``check_second_order`` (also run :func:`gradgradcheck`), ``gradcheck_kwargs``,
    ``favour_registered`` (True: half of the op draws pick one of the ops added with
    :meth:`register_op`; False: every op alike).
    """

    ops: dict = _builtin_ops()
    _registered = frozenset()       # names added with register_op (on this class or a parent)
    favour_registered = True        # half of the op draws go to registered ops
    shape = (2, 3)
    max_leaves = 3
    max_nodes = 8
    device = None
    check_second_order = False
    gradcheck_kwargs: dict = {}

    nodes = Bundle("nodes")

    @classmethod
    def register_op(cls, name, fn, arity=1, domain=None, kind="elementwise"):
        """Add (or replace) an op for this class and its subclasses; see :class:`OpSpec`."""
        if kind not in ("elementwise", "reduce"):
            raise ValueError(f"register_op: kind must be 'elementwise' or 'reduce', got {kind!r}")
        if kind == "reduce" and arity != 1:
            raise ValueError(f"register_op: a reduction takes one tensor, got arity {arity}")
        if "ops" not in cls.__dict__:    # copy on first write: a subclass never edits its parent's
            cls.ops = dict(cls.ops)
        if "_registered" not in cls.__dict__:
            cls._registered = frozenset(cls._registered)
        cls.ops[name] = OpSpec(name, fn, arity, domain, kind)
        cls._registered = cls._registered | {name}
        return fn

    @classmethod
    def _names(cls, arity, kind="elementwise"):
        return sorted(n for n, op in cls.ops.items() if op.arity == arity and op.kind == kind)

    def _draw_op(self, data, arity, kind="elementwise"):
        """An op name: half the time (with ``favour_registered``) one of the ops registered with
        :meth:`register_op`, when there are any of this arity and kind, else any op. The built-in
        ops are already tested by the project; a user's op is what a user's machine is for, and
        drawn uniformly among some twenty it would be tried too rarely to catch its bugs. The
        registered ops come first, so shrinking moves towards them."""
        names = self._names(arity, kind)
        mine = [n for n in names if n in self._registered]
        if mine and self.favour_registered and data.draw(st.booleans(), label="registered op"):
            return data.draw(st.sampled_from(mine), label="op")
        return data.draw(st.sampled_from(mine + [n for n in names if n not in mine]), label="op")

    def __init__(self):
        super().__init__()
        self.leaves = []     # leaf Tensors, float64
        self.steps = []      # (op name, parent node ids, dims), or (None, leaf index, None)
        self.checked = 0     # how many steps the last check covered

    # -- the graph, replayed as a function of the leaves
    def replay(self, *leaves):
        """Rebuild every node from ``leaves``; return the op nodes (the outputs to check)."""
        values, outs = [], []
        for name, args, dim in self.steps:
            if name is None:
                values.append(leaves[args])
                continue
            op = self.ops[name]
            xs = []
            for j, a in enumerate(args):
                d = op.domain_of(j)
                xs.append(values[a] if d is None else d(values[a]))
            out = op.fn(xs[0], dim) if op.kind == "reduce" else op.fn(*xs)
            values.append(out)
            outs.append(out)
        return tuple(outs)

    def _add(self, name, args, dim=None):
        self.steps.append((name, args, dim))
        return len(self.steps) - 1

    # -- rules
    @initialize(target=nodes, data=st.data())
    def first_leaf(self, data):
        return self._new_leaf(data)

    @precondition(lambda self: len(self.leaves) < self.max_leaves and len(self.steps) < self.max_nodes)
    @rule(target=nodes, data=st.data())
    def add_leaf(self, data):
        return self._new_leaf(data)

    def _new_leaf(self, data):
        shape = tuple(data.draw(st.sampled_from([1, n]), label="side") for n in self.shape)
        arr = data.draw(arrays(shape=shape, min_value=-2.0, max_value=2.0, device=self.device),
                        label="leaf")
        self.leaves.append(Tensor._from_data(arr, requires_grad=True))
        return self._add(None, len(self.leaves) - 1)

    @precondition(lambda self: len(self.steps) < self.max_nodes)
    @rule(target=nodes, x=nodes, data=st.data())
    def apply_unary(self, x, data):
        return self._add(self._draw_op(data, 1), (x,))

    @precondition(lambda self: len(self.steps) < self.max_nodes)
    @rule(target=nodes, x=nodes, y=nodes, data=st.data())
    def apply_binary(self, x, y, data):
        return self._add(self._draw_op(data, 2), (x, y))

    @precondition(lambda self: len(self.steps) < self.max_nodes and len(self.shape) > 0)
    @rule(target=nodes, x=nodes, data=st.data())
    def reduce(self, x, data):
        name = self._draw_op(data, 1, "reduce")
        ndim = len(self.shape)      # every node keeps all dims: reductions use keepdim
        dims = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True),
                         label="dims")
        return self._add(name, (x,), tuple(sorted(dims)))

    @rule(seed=st.integers(1, 2**16))
    def recheck_with_new_upstream_gradient(self, seed):
        """Always available, so a full graph still has a move: check again with another ``v``."""
        __tracebackhide__ = True
        self._check(seed)

    @invariant()
    def gradients_match_finite_differences(self):
        __tracebackhide__ = True
        if len(self.steps) != self.checked:
            self.checked = len(self.steps)
            self._check(0)

    def _check(self, seed):
        __tracebackhide__ = True
        if all(name is None for name, _, _ in self.steps):
            return
        names = ", ".join(n for n, _, _ in self.steps if n is not None)
        kwargs = dict(self.gradcheck_kwargs, seed=seed, name=f"graph[{names}]")
        gradcheck(self.replay, *self.leaves, **kwargs)
        if self.check_second_order:
            gradgradcheck(self.replay, *self.leaves, **kwargs)
