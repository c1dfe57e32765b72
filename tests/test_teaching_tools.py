"""Teaching tools: graph pictures (viz), step-by-step backward tracing, anomaly detection."""
import io
import re

import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import autograd, nn, viz


def _edges(dot):
    return re.findall(r'"(\w+)" -> "(\w+)"', dot)


def _labels(dot):
    """{node key: label} of the node declarations (edges may carry labels too)."""
    return dict(re.findall(r'^\s*"(\w+)" \[label="([^"]*)"', dot, re.M))


# ----------------------------------------------------------------------------- viz

def test_dot_of_a_small_graph_has_one_box_per_op_and_arrows_in_forward_order():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    dot = viz.to_dot(y, names={"x": x, "w": w})
    labels = _labels(dot)
    ops = sorted(v for k, v in labels.items() if k.startswith("n"))
    assert ops == ["mul", "sum"]
    name_of = {k: v.split("\\n")[0] for k, v in labels.items()}
    by_name = {v: k for k, v in name_of.items()}
    mul = next(k for k, v in labels.items() if v == "mul")
    assert (by_name["x"], mul) in _edges(dot) and (by_name["w"], mul) in _edges(dot)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")


def test_shared_weights_of_an_unrolled_rnn_are_one_node_with_one_arrow_per_step():
    W = nn.Parameter(tg.randn(3, 3))
    h = tg.zeros(1, 3)
    xs = tg.randn(4, 1, 3)
    for t in range(4):                         # h_t = tanh(h_{t-1} W + x_t)
        h = (h @ W + xs[t]).tanh()
    dot = viz.to_dot(h.sum(), names={"W": W})
    w_key = next(k for k, v in _labels(dot).items() if v.startswith("W\\n"))
    assert sum(1 for a, _ in _edges(dot) if a == w_key) == 4
    assert 'fillcolor="lightblue"' in dot          # a parameter is shaded as one


def test_gradients_and_values_show_after_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    dot = viz.to_dot(y, names={"x": x}, values=True)
    assert "grad (2,) float32\\n[2.0, 4.0]" in dot
    assert "[1.0, 2.0]" in dot


def test_draw_renders_or_says_how_to_install(monkeypatch, tmp_path):
    y = (tg.tensor([1.0], requires_grad=True) * 2).sum()
    import shutil
    if shutil.which("dot"):
        out = viz.draw(y, tmp_path / "g.png")
        assert open(out, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        assert viz.draw(y).lstrip().startswith(b"<?xml")
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt install graphviz"):
        viz.draw(y, tmp_path / "h.svg")


# ----------------------------------------------------------------------------- tracing

def test_trace_backward_prints_nodes_in_processing_order_and_leaves():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.tanh() * 3).sum()
    out = io.StringIO()
    with autograd.trace_backward(file=out, values=True):
        y.backward()
    lines = out.getvalue().splitlines()
    assert [l.split(":")[1].split()[0] for l in lines[:3]] == ["SumBackward", "MulBackward", "TanhBackward"]
    assert lines[0].startswith("backward step 1: SumBackward") and "got () 1.0;" in lines[0]
    assert lines[1].startswith("backward step 2: MulBackward") and "passes (2,) [3.0, 3.0] to input 0" in lines[1]
    assert lines[-1].startswith("leaf (2,) float32 receives (2,)")
    assert autograd.watch.node is None and autograd.watch.leaf is None    # nothing left behind


def test_trace_backward_names_leaves_and_says_where_each_node_was_created():
    w = tg.tensor(3.0, requires_grad=True)
    b = tg.tensor(1.0, requires_grad=True)
    out = io.StringIO()
    with autograd.trace_backward(file=out, names={"w": w, "b": b}):
        y = w * 2.0 + b
        line = __import__("inspect").currentframe().f_lineno - 1
        y.backward()
    lines = out.getvalue().splitlines()
    here = f"test_teaching_tools.py:{line}"
    assert lines[0] == f"backward step 1: AddBackward (generation 2, created at {here}) got (); " \
                       f"passes () to input 0, () to input 1 (b)"
    assert lines[1] == f"backward step 2: MulBackward (generation 1, created at {here}) got (); " \
                       f"passes () to input 0 (w)"
    # the leaves in the order their gradients arrived: b (from add), then w (from mul)
    assert lines[2:] == ["leaf b () float32 receives ()", "leaf w () float32 receives ()"]


def test_trace_backward_takes_names_from_a_module():
    lin = nn.Linear(2, 1)
    out = io.StringIO()
    loss = lin(tg.ones(1, 2)).sum()
    with autograd.trace_backward(file=out, names=lin.named_parameters()):
        loss.backward()
    text = out.getvalue()
    assert "(weight)" in text and "leaf weight (1, 2) float32" in text and "leaf bias (1,)" in text
    assert "created at" not in text       # made before the block: no site was recorded


def test_creation_sites_are_recorded_only_while_a_tool_is_on():
    from tinygrad_rnn import debug
    x = tg.tensor([1.0], requires_grad=True)
    before = x * 2
    with autograd.detect_anomaly(check_nan=False):
        during = x * 2
        line = __import__("inspect").currentframe().f_lineno - 1
    after = x * 2
    assert debug.creation_site(before.grad_fn) is None and debug.creation_site(after.grad_fn) is None
    assert debug.creation_site(during.grad_fn, short=True) == f"test_teaching_tools.py:{line}"
    assert debug.creation_site(during.grad_fn).endswith(
        f"test_teaching_tools.py:{line} in test_creation_sites_are_recorded_only_while_a_tool_is_on")
    assert autograd.watch.forward is None and autograd.watch.node is None


def test_tracing_and_anomaly_detection_work_together():
    x = tg.tensor([4.0, 0.0], requires_grad=True)
    out = io.StringIO()
    with autograd.trace_backward(file=out), autograd.detect_anomaly():
        y = x.sqrt().sum()
        with pytest.raises(RuntimeError, match="sqrt backward returned non-finite"):
            y.backward()
    assert out.getvalue().startswith("backward step 1: SumBackward")
    assert autograd.watch.forward is None and not autograd.is_anomaly_enabled()


# ----------------------------------------------------------------------------- anomaly detection

def test_anomaly_in_forward_names_the_op_and_the_calling_line():
    x = tg.tensor([1.0, 0.0], requires_grad=True)
    with autograd.detect_anomaly():
        with pytest.raises(RuntimeError) as e:
            x.log().sum()
    msg = str(e.value)
    assert msg.startswith("detect_anomaly: log produced non-finite values in its forward output 0 "
                          "(inf at 1 of 2 entries)")
    assert "test_teaching_tools.py:" in msg and "(2,) float32" in msg


def test_anomaly_in_backward_names_the_op_and_where_it_was_created():
    x = tg.tensor([4.0, 0.0], requires_grad=True)
    with autograd.detect_anomaly():
        y = x.sqrt().sum()                     # finite forward; d sqrt / dx = inf at 0
        line = __import__("inspect").currentframe().f_lineno - 1
        with pytest.raises(RuntimeError) as e:
            y.backward()
    msg = str(e.value)
    assert msg.startswith("detect_anomaly: sqrt backward returned non-finite values in the gradient "
                          "of its input 0 (inf at 1 of 2 entries)")
    assert f"test_teaching_tools.py:{line}" in msg


def test_anomaly_detection_is_off_by_default_and_restored_after_the_block():
    assert autograd.watch.forward is None and not autograd.is_anomaly_enabled()
    tg.tensor([0.0]).log()                     # no error outside the block
    with autograd.detect_anomaly():
        assert autograd.is_anomaly_enabled()
    assert autograd.watch.forward is None
    autograd.set_detect_anomaly(True)
    try:
        with pytest.raises(RuntimeError, match="detect_anomaly"):
            tg.tensor([-1.0]).sqrt()
    finally:
        autograd.set_detect_anomaly(False)
    assert autograd.watch.forward is None


def test_detect_anomaly_as_a_decorator():
    @autograd.detect_anomaly()
    def f(x):
        return x / 0

    with pytest.raises(RuntimeError, match="div produced non-finite"):
        f(tg.tensor([1.0]))


# ----------------------------------------------------------------------------- viz: larger graphs

def _clusters(dot):
    """{node key: [labels of the clusters it is declared in, outermost first]}."""
    where, path = {}, []
    for line in dot.splitlines():
        s = line.strip()
        if s.startswith("subgraph"):
            path.append(None)
        elif s.startswith("label=") and path and path[-1] is None:
            path[-1] = re.match(r'label="([^"]*)"', s).group(1)
        elif s == "}" and path:
            path.pop()
        else:
            m = re.match(r'"(\w+)" \[label=', s)
            if m:
                where[m.group(1)] = list(path)
    return where


def _lstm_graph(steps=3):
    tg.manual_seed(0)
    lstm = nn.LSTM(2, 3, fused=False)
    out, _ = lstm(tg.randn(steps, 1, 2))
    return lstm, out.sum()


def test_an_unrolled_lstm_is_drawn_one_box_per_time_step_inside_its_module():
    lstm, loss = _lstm_graph()
    dot = viz.to_dot(loss, names=lstm, views=False)
    where, labels = _clusters(dot), _labels(dot)
    ops = {k: v.split("\\n")[0] for k, v in labels.items() if k.startswith("n")}
    per_step = {s: sorted(ops[k] for k, p in where.items() if k in ops and p == ["LSTM", s])
                for s in ("step 1", "step 2", "step 3")}
    # one LSTM cell (lstm_cell in nn/recurrent.py), counted by hand: two matmuls, adding the two
    # products and the two biases (3 adds), the split into gates, 3 sigmoids and tanh(g),
    # c = f c + i g (2 muls, 1 add), h = o tanh(c) (1 tanh, 1 mul)
    cell = sorted(["matmul"] * 2 + ["add"] * 4 + ["split"] + ["sigmoid"] * 3 + ["tanh"] * 2 + ["mul"] * 3)
    assert per_step == {"step 1": cell, "step 2": cell, "step 3": cell}
    # the parameters sit in the module's box, outside the steps
    w_hh = next(k for k, v in labels.items() if v.startswith("weight_hh_l0\\n"))
    assert where[w_hh] == ["LSTM"]
    # cat, reshape, sum: after the loop, outside every box
    outside = sorted(v for k, v in ops.items() if where[k] == [])
    assert outside == ["cat", "sum"]          # the reshape is a view, hidden


def test_hidden_views_leave_a_shared_weight_one_node_with_an_arrow_into_every_step():
    lstm, loss = _lstm_graph()
    shown = viz.to_dot(loss, names=lstm)
    hidden = viz.to_dot(loss, names=lstm, views=False)
    ops_shown = [v for k, v in _labels(shown).items() if k.startswith("n")]
    ops_hidden = [v for k, v in _labels(hidden).items() if k.startswith("n")]
    # one .mT (permute) per weight per step, and the final reshape: 2 * 3 + 1 view ops
    assert ops_shown.count("permute") == 6 and "permute" not in ops_hidden
    assert len(ops_shown) - len(ops_hidden) == 7
    w_hh = next(k for k, v in _labels(hidden).items() if v.startswith("weight_hh_l0\\n"))
    into = [b for a, b in _edges(hidden) if a == w_hh]
    assert len(into) == 3 and all(_labels(hidden)[b] == "matmul" for b in into)
    assert len(re.findall(rf'"{w_hh}" -> "\w+" \[label="permute"', hidden)) == 3


def test_compact_drawing_puts_intermediate_shapes_into_the_op_boxes():
    lstm, loss = _lstm_graph()
    dot = viz.to_dot(loss, names=lstm, views=False, compact=True)
    labels = _labels(dot)
    ellipses = [k for k in labels if re.search(rf'"{k}" \[label="[^"]*", shape=ellipse', dot)]
    assert len(ellipses) == 4 + 1                 # the 4 parameters and the loss
    assert labels[next(k for k, v in labels.items() if v.startswith("matmul"))] == "matmul\\n(1, 12)"
    assert any(v == "split\\n4 x (1, 3)" for v in labels.values())


def test_constants_of_elementwise_ops_are_small_nodes():
    x, t = tg.tensor(2.0), tg.tensor(5.0)
    w = tg.tensor(3.0, requires_grad=True)
    b = tg.tensor(1.0, requires_grad=True)
    loss = (w * x + b - t) ** 2
    dot = viz.to_dot(loss, names={"w": w, "b": b})
    labels = _labels(dot)
    into = {}
    for a, b_ in _edges(dot):
        if b_.startswith("n"):
            into.setdefault(labels[b_], []).append(labels[a].split("\\n")[0])
    # mul takes w and the constant x, sub the sum and the constant t, pow its input and 2
    assert sorted(into["mul"]) == ["const", "w"]
    assert into["sub"].count("const") == 1 and len(into["sub"]) == 2
    assert into["pow"].count("const") == 1 and len(into["pow"]) == 2
    assert into["add"].count("const") == 0 and len(into["add"]) == 2


def test_a_view_or_a_dim_is_not_drawn_as_a_constant():
    x = tg.randn(2, 3, requires_grad=True)
    dot = viz.to_dot(x.reshape(3, 2).sum(0))   # reshape's shape and sum's dim are not operands
    assert "const" not in dot


def test_steps_of_a_loop_of_your_own_and_a_grouping_function():
    W = nn.Parameter(tg.randn(3, 3))
    h, hs = tg.zeros(1, 3), []
    for t in range(3):
        h = (h @ W).tanh()
        hs.append(h)
    loss = h.sum()
    where = _clusters(viz.to_dot(loss, names={"W": W}, steps=hs))
    labels = _labels(viz.to_dot(loss, names={"W": W}, steps=hs))
    for k in where:
        if k in labels and labels[k] in ("matmul", "tanh"):
            assert where[k][0].startswith("step ")
    per_step = sorted(p[0] for k, p in where.items() if p and labels.get(k) == "tanh")
    assert per_step == ["step 1", "step 2", "step 3"]
    assert not any(p for p in _clusters(viz.to_dot(loss, steps=False)).values())
    by_op = viz.to_dot(loss, steps=lambda node: node.op if node.op != "sum" else None)
    assert {tuple(p) for p in _clusters(by_op).values() if p} == {("matmul",), ("tanh",)}


def test_modules_come_from_dotted_parameter_names():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    loss = model(tg.randn(5, 3)).sum()
    dot = viz.to_dot(loss, names=model.named_parameters())
    where, labels = _clusters(dot), _labels(dot)
    boxes = {labels[k].split("\\n")[0]: p for k, p in where.items()}
    assert boxes["0.weight"] == ["0"] and boxes["2.bias"] == ["2"]
    linear_boxes = sorted(p[0] for k, p in where.items() if labels[k] == "linear")
    assert linear_boxes == ["0", "2"]
    assert [p for k, p in where.items() if labels[k] in ("tanh", "sum")] == [[], []]
    assert not any(_clusters(viz.to_dot(loss, names=model.named_parameters(), modules=False)).values())


def test_the_picture_is_scaled_to_a_page_width_unless_asked_not_to():
    y = (tg.tensor([1.0], requires_grad=True) * 2).sum()
    assert f'size="{viz.MAX_WIDTH:g},1000";' in viz.to_dot(y)
    assert 'size="5,1000";' in viz.to_dot(y, max_width=5)
    assert "  size=" not in viz.to_dot(y, max_width=None)
