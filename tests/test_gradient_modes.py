"""One formula per gradient, run in two modes, and the few second bodies held to it.

A plain ``loss.backward()`` runs backward in array mode (raw arrays, nothing recorded);
``autograd.grad(..., create_graph=True)`` runs it in Tensor mode (recorded, differentiable again).
Ops with ``array_backward = True`` write one ``backward`` for both; an op may add a second, faster
body for array mode, ``backward_arrays``. These tests find every such op in the package (walking
``Function``'s subclasses after importing every module) and check, on a sample call of each:

* both modes give the same input gradients, and the array-mode gradient matches finite
  differences (``gradcheck``);
* an op with a second body also passes ``gradgradcheck`` (its Tensor-mode body differentiated
  again), and has a sample registered here: a new second body without one fails the suite.
"""
import importlib
import pkgutil

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import ops
from tinygrad_rnn.autograd import Function
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.ops.nn_ops import EmbeddingLookup, Linear, SoftmaxCrossEntropy
from tinygrad_rnn.testing import gradcheck, gradgradcheck


def _all_functions():
    """Every Function subclass in the package, after importing all of its modules."""
    for m in pkgutil.walk_packages(tg.__path__, tg.__name__ + "."):
        importlib.import_module(m.name)
    found, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found and sub.__module__.startswith(tg.__name__ + "."):
                found.add(sub)
                stack.append(sub)
    return found


FUNCTIONS = _all_functions()
SECOND_BODY = sorted((c for c in FUNCTIONS if c.backward_arrays is not None), key=lambda c: c.__name__)
ARRAY_BACKWARD = sorted((c for c in FUNCTIONS if c.array_backward), key=lambda c: c.__name__)


def _rand(*shape, low=None, seed=0):
    """Float64 sample values; ``low``: uniform in [low, low + 1] (positive divisors, logs)."""
    rng = np.random.default_rng(seed + len(shape) + sum(shape))
    return rng.standard_normal(shape) if low is None else low + rng.random(shape)


_MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
_TARGETS = np.array([2, 0, 3, 1, 2])

# op -> (function of the differentiable inputs, their sample values); several samples per op where
# the op's backward has cases (1-D matmul operands, batch broadcasting, an ignored target). A third
# item marks a gradient that is by definition not the derivative (finite differences skip it).
SAMPLES = {
    ops.Add: [(lambda a, b: a + b, [_rand(3, 4), _rand(4)])],
    ops.Sub: [(lambda a, b: a - b, [_rand(3, 4), _rand(3, 1)])],
    ops.Mul: [(lambda a, b: a * b, [_rand(3, 4), _rand(4)])],
    ops.Div: [(lambda a, b: a / b, [_rand(3, 4), _rand(3, 4, low=0.5)])],
    ops.Neg: [(lambda a: -a, [_rand(3, 4)])],
    ops.Exp: [(lambda a: a.exp(), [_rand(3, 4)])],
    ops.Log: [(lambda a: a.log(), [_rand(3, 4, low=0.5)])],
    ops.Sqrt: [(lambda a: a.sqrt(), [_rand(3, 4, low=0.5)])],
    ops.Tanh: [(lambda a: a.tanh(), [_rand(3, 4)])],
    ops.Sigmoid: [(lambda a: a.sigmoid(), [_rand(3, 4)])],
    ops.Relu: [(lambda a: a.relu(), [_rand(3, 4)])],
    ops.Where: [(lambda a, b: tg.where(tg.tensor(_MASK), a, b), [_rand(3, 4), _rand(4)])],
    ops.Sum: [(lambda a: a.sum(1), [_rand(3, 4)]),
              (lambda a: a.sum((0, 2), keepdim=True), [_rand(2, 3, 4)])],
    ops.SumTo: [(lambda a: a.sum_to_size(1, 4), [_rand(3, 4)])],
    ops.Softmax: [(lambda a: a.softmax(1), [_rand(3, 4)])],
    ops.LogSoftmax: [(lambda a: a.log_softmax(0), [_rand(3, 4)])],
    ops.Reshape: [(lambda a: a.reshape(4, 3), [_rand(3, 4)])],
    ops.Permute: [(lambda a: a.permute(2, 0, 1), [_rand(2, 3, 4)])],
    ops.Expand: [(lambda a: a.expand(2, 3, 4), [_rand(3, 1)])],
    ops.Getitem: [(lambda a: a[tg.tensor([0, 2, 0]), 1:], [_rand(3, 4)]),
                  (lambda a: a[1, ::2], [_rand(3, 4)])],
    ops.Cat: [(lambda a, b: tg.cat([a, b, a], 1), [_rand(3, 2), _rand(3, 4)])],
    ops.Split: [(lambda a: a.split([1, 3], 1), [_rand(3, 4)])],
    ops.Cast: [(lambda a: a.to(tg.float32), [_rand(3, 4)])],
    ops.Clone: [(lambda a: a.clone(), [_rand(3, 4)])],
    ops.Matmul: [(lambda a, b: a @ b, [_rand(2, 3, 4), _rand(4, 5)]),
                 (lambda a, b: a @ b, [_rand(4), _rand(2, 4, 5)]),
                 (lambda a, b: a @ b, [_rand(3, 4), _rand(4)]),
                 (lambda a, b: a @ b, [_rand(4), _rand(4)])],
    Linear: [(lambda x, w, b: F.linear(x, w, b), [_rand(5, 3), _rand(4, 3), _rand(4)])],
    EmbeddingLookup: [(lambda w: F.embedding(tg.tensor([[0, 2], [1, 2], [2, 2]]), w), [_rand(3, 4)]),
                      # padding_idx: the row gets no gradient by definition (not the derivative)
                      (lambda w: F.embedding(tg.tensor([[0, 2], [1, 2]]), w, padding_idx=1),
                       [_rand(3, 4)], "not a derivative")],
    SoftmaxCrossEntropy: [
        (lambda x: F.cross_entropy(x, tg.tensor(_TARGETS)), [_rand(5, 4)]),
        (lambda x: F.cross_entropy(x, tg.tensor([2, -100, 3, 1, -100]), reduction="none"),
         [_rand(5, 4)]),
    ],
}


def _outputs(out):
    return [o for o in (out if isinstance(out, tuple) else (out,)) if o.dtype.kind == "f"]


def _loss(fn, arrays, seed=1):
    """(inputs, the weighted sum of fn's outputs); the same weights for the same sample."""
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    outs = _outputs(fn(*xs))
    rng = np.random.default_rng(seed)
    loss = sum((o * tg.tensor(rng.uniform(0.5, 1.5, o.shape), dtype=o.dtype)).sum() for o in outs)
    return xs, loss


def _graph_ops(loss):
    seen, stack = set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(i for i in node.inputs if isinstance(i, Function))
    return {type(n) for n in seen}


def _both_modes(cls, fn, arrays):
    """The input gradients from array mode and from Tensor mode, after checking that the sample
    really runs ``cls``."""
    xs, loss = _loss(fn, arrays)
    assert cls in _graph_ops(loss), f"the sample does not run {cls.__name__}"
    loss.backward()
    by_arrays = [x.grad.numpy() for x in xs]
    xs, loss = _loss(fn, arrays)
    by_tensors = tg.autograd.grad(loss, xs, create_graph=True)
    return by_arrays, [g.numpy() for g in by_tensors]


def _cases(table, classes, derivatives_only=False):
    return [pytest.param(cls, s[0], s[1], id=f"{cls.__name__}-{k}")
            for cls in classes for k, s in enumerate(table.get(cls, ()))
            if not (derivatives_only and len(s) > 2)]


# ----------------------------------------------------------------------------- second bodies

def test_only_softmax_cross_entropy_keeps_a_second_body_for_array_mode():
    # each second body must say why (speed) and be held to backward by the tests below
    assert [c.__name__ for c in SECOND_BODY] == ["SoftmaxCrossEntropy"]


@pytest.mark.parametrize("cls", SECOND_BODY, ids=lambda c: c.__name__)
def test_every_op_with_a_second_body_has_a_sample_registered(cls):
    assert SAMPLES.get(cls), (f"{cls.__name__} defines backward_arrays: register a sample call in "
                              f"SAMPLES so both of its bodies are checked")


@pytest.mark.parametrize("cls, fn, arrays", _cases(SAMPLES, SECOND_BODY))
def test_second_body_gives_the_gradient_backward_gives(cls, fn, arrays):
    by_arrays, by_tensors = _both_modes(cls, fn, arrays)
    for a, t in zip(by_arrays, by_tensors):
        np.testing.assert_allclose(a, t, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls, fn, arrays", _cases(SAMPLES, SECOND_BODY, derivatives_only=True))
def test_second_body_op_passes_gradcheck_and_gradgradcheck(cls, fn, arrays):
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    gradcheck(fn, *xs)          # array mode: the second body, against finite differences
    gradgradcheck(fn, *xs)      # Tensor mode: backward, differentiated again


# ----------------------------------------------------------------------------- one body, two modes

def test_the_sample_table_covers_every_op_with_array_backward():
    missing = [c.__name__ for c in ARRAY_BACKWARD if not SAMPLES.get(c)]
    assert not missing, f"ops with array_backward = True and no sample call in SAMPLES: {missing}"


@pytest.mark.parametrize("cls, fn, arrays", _cases(SAMPLES, ARRAY_BACKWARD))
def test_array_mode_and_tensor_mode_agree(cls, fn, arrays):
    by_arrays, by_tensors = _both_modes(cls, fn, arrays)
    assert len(by_arrays) == len(by_tensors) == len(arrays)
    for a, t in zip(by_arrays, by_tensors):
        assert a.dtype == t.dtype and a.shape == t.shape
        np.testing.assert_allclose(a, t, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls, fn, arrays", _cases(SAMPLES, ARRAY_BACKWARD, derivatives_only=True))
def test_array_mode_gradient_matches_finite_differences(cls, fn, arrays):
    gradcheck(fn, *[tg.tensor(a, requires_grad=True) for a in arrays])
