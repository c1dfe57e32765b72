"""Teaching tools: graph pictures (viz), step-by-step backward tracing, anomaly detection."""
import io
import re

import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import autograd, nn, viz


def _edges(dot):
    return re.findall(r'"(\w+)" -> "(\w+)"', dot)


def _labels(dot):
    return dict(re.findall(r'"(\w+)" \[label="([^"]*)"', dot))


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
