"""What a graph holds once backward has run: nothing but its edges and output metadata.

Everything an op's backward needs goes through ``ctx.save_for_backward``, so a plain
``loss.backward()`` frees it (``node._saved = None``) and the version check covers it. Each test
builds the graph of one training step of a model, collects its nodes from the loss BEFORE
backward (through the public ``inputs``), runs backward, and then looks at every node: no saved
buffers, and no attribute holding an array (or a Tensor, which holds one), except the documented
graph API: the input edges (leaves are Tensors) and the outputs' metadata and weak references.

Second part: index tensors and targets changed in place after the forward pass either cannot
change the gradient (the op keeps a copy of its own) or make backward raise (the op saves the
tensor itself), never a silently different gradient.
"""
import importlib.util
import pathlib

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.autograd import Function
from tinygrad_rnn.nn import functional as F

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"

# the graph API a node may keep after backward: where its inputs came from, and its outputs
_GRAPH_FIELDS = {"_edges", "_outputs", "_out_meta"}


def load_example(name):
    """An example script as a module (as tests/test_sequence_examples.py loads them)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def graph_nodes(*roots):
    """Every node the roots depend on, found through the public ``inputs``."""
    seen, stack = {}, [r.grad_fn for r in roots]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(i for i in node.inputs if isinstance(i, Function))
    return list(seen.values())


def holds_array(value):
    """True for an array or a Tensor, or a tuple/list/dict/set holding one (at any depth)."""
    if isinstance(value, (np.ndarray, tg.Tensor)):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(holds_array(v) for v in value)
    return False


def backward_and_check(loss, *more_roots):
    """Collect the graph of ``loss``, run ``loss.backward()``, and check that every node let go of
    what it kept for backward. Returns the nodes (to let a test look for the ops it expects)."""
    nodes = graph_nodes(loss, *more_roots)
    saved_before = {id(n): bool(n._saved) for n in nodes}
    assert any(saved_before.values())           # the graph did keep something
    loss.backward()
    for node in nodes:
        if saved_before[id(node)]:
            assert node._saved is None, node
        else:
            assert node._saved == (), node      # nothing to free (the class default)
        assert node.saved_shapes == ()
        kept = {k for k, v in vars(node).items() if k not in _GRAPH_FIELDS and holds_array(v)}
        assert not kept, f"{node} still holds arrays in {sorted(kept)}"
    return nodes


def ops_of(nodes):
    return {n.op for n in nodes}


# ----------------------------------------------------------------------------- models

def test_mlp_with_cross_entropy_frees_everything_the_fused_loss_kept():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10))
    x, y = tg.randn(32, 20), tg.randint(0, 10, (32,))
    y[3] = -100                                 # an ignored row
    loss = F.cross_entropy(model(x), y, ignore_index=-100)
    nodes = backward_and_check(loss)
    assert "cross_entropy" in ops_of(nodes)


def test_cross_entropy_of_512_by_1000_logits_holds_no_bytes_after_backward():
    logits = tg.randn(512, 1000, requires_grad=True)
    loss = F.cross_entropy(logits, tg.randint(0, 1000, (512,)))
    node = next(n for n in graph_nodes(loss) if n.op == "cross_entropy")
    # before: the logits (input), targets, valid mask and log-probabilities (512 x 1000 float32)
    assert sum(int(np.prod(s)) * d.itemsize for s, d in node.saved_shapes) >= 512 * 1000 * 4 * 2
    loss.backward()
    assert node.saved_shapes == () and node._saved is None
    assert not any(holds_array(v) for k, v in vars(node).items() if k not in _GRAPH_FIELDS)


def test_small_cnn_with_pooling_dropout_and_batchnorm_frees_everything():
    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Conv2d(4, 6, 3, padding=1), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(6 * 2 * 2, 10))
    model.train()
    x, y = tg.randn(8, 1, 8, 8), tg.randint(0, 10, (8,))
    nodes = backward_and_check(F.cross_entropy(model(x), y))
    assert {"conv2d", "max_pool2d", "avg_pool2d"} <= ops_of(nodes)


def test_avg_pool_with_a_divisor_per_window_and_adaptive_max_pool_free_everything():
    x = tg.randn(2, 3, 7, 7, requires_grad=True)
    a = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)   # an array divisor
    b, _ = F.adaptive_max_pool2d(x, (3, 2), return_indices=True)
    c = F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2, output_size=(7, 7))
    backward_and_check(a.sum() + b.sum() + c.sum())


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_embedding_recurrent_language_model_frees_everything(cell, fused):
    tg.manual_seed(0)
    embed = nn.Embedding(30, 8, padding_idx=0)
    rnn = getattr(nn, cell)(8, 16, num_layers=2, batch_first=True, fused=fused)
    head = nn.Linear(16, 30)
    chars = tg.randint(0, 30, (4, 7))
    hs, _ = rnn(embed(chars[:, :-1]))
    loss = F.cross_entropy(head(hs).reshape(-1, 30), chars[:, 1:].reshape(-1))
    nodes = backward_and_check(loss)
    assert "embedding" in ops_of(nodes)


def test_seq2seq_dates_translator_with_packed_encoder_frees_everything():
    ex = load_example("seq2seq_dates")
    tg.manual_seed(0)
    model = ex.DateTranslator(16)
    texts, isos = ex.make_dates(6, np.random.default_rng(0))
    chars, lengths, dec_in, target = ex.encode(texts, isos)
    scores = model(chars, lengths, dec_in)
    loss = F.cross_entropy(scores.reshape(-1, len(ex.OUT_CHARS)), target.reshape(-1))
    backward_and_check(loss)


def test_captioning_model_frees_everything():
    ex = load_example("captioning")
    tg.manual_seed(0)
    model = ex.Captioner(16)
    inputs, targets = ex.captions()
    labels = np.array([1, 7, 3, 0])
    images = tg.rand(4, 1, 8, 8)
    scores = model(images, tg.tensor(inputs[labels]))
    loss = F.cross_entropy(scores.reshape(-1, len(ex.CHARS)), tg.tensor(targets[labels]).reshape(-1))
    nodes = backward_and_check(loss)       # the targets hold -100 (ignored) padding
    assert {"conv2d", "max_pool2d", "embedding", "cross_entropy"} <= ops_of(nodes)


def test_tagging_model_with_a_bidirectional_lstm_frees_everything():
    ex = load_example("tagging")
    tg.manual_seed(0)
    model = ex.Tagger(8)
    ids = tg.tensor(ex.encode("if x == 'a b':  # hi\n    y = 10\n")[None, :])
    labels = tg.tensor(np.asarray(ex.tag("if x == 'a b':  # hi\n    y = 10\n"))[None, :])
    scores = model(ids)
    backward_and_check(F.cross_entropy(scores.reshape(-1, len(ex.CLASSES)), labels.reshape(-1)))


def test_transformer_encoder_layer_frees_everything():
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.1, batch_first=True)
    layer.train()
    x = tg.randn(3, 5, 16)
    mask = tg.tensor([[False] * 5, [False] * 4 + [True], [False] * 3 + [True] * 2])
    out = layer(x, src_key_padding_mask=mask)
    nodes = backward_and_check((out * out).mean())
    assert "softmax" in ops_of(nodes) or "log_softmax" in ops_of(nodes)


def test_clamp_with_array_bounds_frees_them_and_its_gradient_follows_them():
    x = tg.tensor([-2.0, -0.5, 0.5, 2.0], requires_grad=True)
    lo = np.array([-1.0, -1.0, 0.0, -1.0], np.float32)
    hi = np.array([1.0, 1.0, 1.0, 3.0], np.float32)
    nodes = backward_and_check((x.clamp(lo, hi) * 3).sum())
    assert "clamp" in ops_of(nodes)
    # d/dx is 3 where lo <= x <= hi (-0.5, 0.5 and 2, inside [-1, 3]), 0 where clamped (-2 < -1)
    assert x.grad.tolist() == [0.0, 3.0, 3.0, 3.0]


def test_a_retained_graph_keeps_its_buffers_and_frees_them_on_the_last_backward():
    x = tg.randn(4, 1, 6, 6, requires_grad=True)
    conv = nn.Conv2d(1, 2, 3)
    loss = F.cross_entropy(F.max_pool2d(conv(x), 2).reshape(4, -1), tg.tensor([0, 1, 2, 3]))
    nodes = graph_nodes(loss)
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    assert any(n._saved for n in nodes)
    x.grad = None
    loss.backward()
    assert tg.allclose(x.grad, first)
    assert all(not n._saved for n in nodes)


# ----------------------------------------------------------------------------- in-place changes

def test_max_unpool_indices_changed_in_place_make_backward_raise():
    # before, the op kept a view of the indices outside the version check: the gradient silently
    # read the new positions. Now they are saved (as PyTorch saves them) and the change is caught.
    x = tg.randn(1, 1, 4, 4)
    pooled, indices = F.max_pool2d(x, 2, return_indices=True)
    v = pooled.detach().requires_grad_()
    out = F.max_unpool2d(v, indices, 2)
    indices.zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_max_unpool_gradient_reads_the_values_at_the_saved_positions():
    # worked by hand: value k goes to position indices[k]; d sum(w * out) / d v_k = w[indices[k]]
    v = tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], requires_grad=True)
    indices = tg.tensor([[[[0, 3], [9, 14]]]])
    out = F.max_unpool2d(v, indices, 2)                       # (1, 1, 4, 4)
    w = tg.arange(16, dtype=tg.float32).reshape(1, 1, 4, 4)
    (out * w).sum().backward()
    assert v.grad.tolist() == [[[[0.0, 3.0], [9.0, 14.0]]]]


def _grad_after_change(make, change):
    """The input's gradient when ``change`` edits an index tensor between forward and backward."""
    x = tg.tensor([3.0, 1.0, 2.0, 5.0], requires_grad=True)
    out, index = make(x)
    change(index)
    (out * tg.tensor([1.0, 10.0, 100.0, 1000.0])[:out.shape[0]]).sum().backward()
    return x.grad.tolist()


def test_sort_indices_changed_in_place_do_not_move_the_gradient():
    # before, the graph read the very array the caller got as indices: zeroing them sent every
    # value's gradient to x[0]. sorted: 1 (x1), 2 (x2), 3 (x0), 5 (x3)
    grad = _grad_after_change(lambda x: tuple(x.sort()), lambda i: i.zero_())
    assert grad == [100.0, 1.0, 10.0, 1000.0]
    grad = _grad_after_change(lambda x: tuple(x.topk(2)), lambda i: i.zero_())   # 5 (x3), 3 (x0)
    assert grad == [10.0, 0.0, 0.0, 1.0]


def test_adaptive_max_pool_indices_changed_in_place_do_not_move_the_gradient():
    x = tg.tensor([[[[1.0, 9.0], [4.0, 2.0]]]], requires_grad=True)
    y, indices = F.adaptive_max_pool2d(x, (1, 1), return_indices=True)
    assert indices.tolist() == [[[[1]]]]
    indices.zero_()
    y.sum().backward()
    assert x.grad.tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]


def test_index_tensors_changed_in_place_do_not_move_the_gradient():
    x = tg.tensor([3.0, 1.0, 2.0, 5.0], requires_grad=True)
    index = tg.tensor([3, 1])
    outs = [x[index], x.gather(0, index), x.index_select(0, index)]
    index.zero_()
    sum((o * tg.tensor([1.0, 10.0])).sum() for o in outs).backward()
    assert x.grad.tolist() == [0.0, 30.0, 0.0, 3.0]     # three times: x3 gets 1, x1 gets 10


def test_embedding_and_cross_entropy_keep_their_own_indices_and_targets():
    w = tg.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    idx = tg.tensor([2, 0])
    e = F.embedding(idx, w)
    idx.zero_()
    (e * tg.tensor([[1.0], [10.0]])).sum().backward()
    assert w.grad.tolist() == [[10.0], [0.0], [1.0]]

    logits = tg.zeros(2, 3, requires_grad=True)
    target = tg.tensor([2, 0])
    loss = F.cross_entropy(logits, target, reduction="sum")
    target.fill_(1)
    loss.backward()
    # softmax of zeros is 1/3 everywhere, minus 1 at each ORIGINAL target
    third = 1 / 3
    np.testing.assert_allclose(logits.grad.numpy(), [[third, third, third - 1],
                                                     [third - 1, third, third]], rtol=1e-6)


# ----------------------------------------------------------------------------- more in-place cases

def test_an_op_saves_only_what_its_backward_reads():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    x = a * 1
    y = x * 2                                          # saves neither x nor 2's partner for dx
    x.add_(1)
    y.sum().backward()                                 # as PyTorch: fine
    assert a.grad.tolist() == [2.0, 2.0]
