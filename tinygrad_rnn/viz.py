"""Pictures of the recorded graph, for teaching: ``to_dot`` gives Graphviz DOT text, ``draw`` renders it.

    import tinygrad_rnn as tg
    from tinygrad_rnn import viz
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    print(viz.to_dot(y, names={"x": x}))      # DOT text: always works
    viz.draw(y, "graph.svg", names={"x": x})   # needs Graphviz (the program or the Python package)

Tensors are ellipses (shape and dtype; values with ``values=True``), ops are boxes, arrows follow
the forward pass. Leaves that require grad are shaded (parameters of a module blue, other leaves
yellow), the tensors drawn from are green, and after ``backward()`` each leaf shows its gradient's
shape (and values with ``values=True``). A tensor used at several places (the shared weights of an
unrolled RNN) is ONE node with several arrows leaving it.
"""
from __future__ import annotations

import shutil
import subprocess

from . import backend
from .autograd import op_name
from .tensor import Tensor


def _fmt(data, values):
    text = f"{tuple(data.shape)} {data.dtype}"
    if values:
        arr = backend.to_numpy(data)
        if arr.size <= 6:
            text += "\\n" + str(backend.rounded(arr)).replace('"', "'")
    return text


def _escape(text):
    return text.replace('"', '\\"')


def to_dot(tensors, names=None, values=False, rankdir="LR"):
    """Graphviz DOT text of the graph that produced ``tensors`` (a Tensor or a list of them).

    ``names``: a dict ``{name: tensor}`` (e.g. ``dict(model.named_parameters())``) to label leaves
    and outputs. ``values``: also print values of tensors with at most 6 entries.
    """
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    label_of = {id(t): n for n, t in (names or {}).items()}
    try:
        from .nn.parameter import Parameter
    except ImportError:     # pragma: no cover - nn is always there; viz does not depend on it
        Parameter = ()
    lines = [f'digraph graph_ {{\n  rankdir={rankdir};\n  node [fontname="Helvetica", fontsize=10];']
    seen_nodes, seen_leaves = set(), set()

    def tensor_node(key, label, style):
        lines.append(f'  "{key}" [label="{_escape(label)}", shape=ellipse{style}];')

    def leaf_key(t):
        key = f"t{id(t)}"
        if id(t) not in seen_leaves:
            seen_leaves.add(id(t))
            head = label_of.get(id(t), "")
            label = (head + "\\n" if head else "") + _fmt(t.array, values)
            if t.grad is not None:
                label += "\\ngrad " + _fmt(t.grad.array, values)
            color = "lightblue" if isinstance(t, Parameter) else "lightyellow"
            tensor_node(key, label, f', style=filled, fillcolor="{color}"')
        return key

    def output_key(node, i):
        return f"o{id(node)}_{i}"

    stack = []
    for r in roots:
        if r.grad_fn is None:
            key = leaf_key(r)
            lines.append(f'  "{key}" [penwidth=2, color="darkgreen"];')
        else:
            stack.append(r.grad_fn)
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        lines.append(f'  "n{id(node)}" [label="{_escape(op_name(type(node)))}", shape=box, '
                     f'style="rounded,filled", fillcolor="gray92"];')
        for i, (shape, dtype) in enumerate(node._out_meta):
            t = node._outputs[i]() if i < len(node._outputs) else None
            head = label_of.get(id(t), "") if t is not None else ""
            if t is not None:
                label = _fmt(t.array, values)
                if t.grad is not None:
                    label += "\\ngrad " + _fmt(t.grad.array, values)
            else:
                label = f"{tuple(shape) if shape is not None else '?'} {dtype}"
            is_root = any(r is t for r in roots)
            style = ', style=filled, fillcolor="palegreen"' if is_root else ""
            tensor_node(output_key(node, i), (head + "\\n" if head else "") + label, style)
            lines.append(f'  "n{id(node)}" -> "{output_key(node, i)}";')
        for edge in node._edges:
            if edge is None:
                continue
            if type(edge) is tuple:
                src, i = edge
                lines.append(f'  "{output_key(src, i)}" -> "n{id(node)}";')
                stack.append(src)
            else:
                lines.append(f'  "{leaf_key(edge)}" -> "n{id(node)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


_INSTALL = ("draw: rendering needs Graphviz. Install the program (Debian/Ubuntu: apt install graphviz; "
            "macOS: brew install graphviz; conda: conda install graphviz) and optionally the Python "
            "package (pip install 'tinygrad-rnn[viz]'). Without it, viz.to_dot(...) still gives the "
            "DOT text, which any Graphviz viewer (or https://dreampuf.github.io/GraphvizOnline) shows.")


def draw(tensors, path=None, format=None, names=None, values=False, rankdir="LR"):
    """Render the graph with Graphviz. With ``path`` the picture is written there (format from its
    extension: .svg, .png, .pdf) and the path is returned; without, the rendered bytes (SVG by
    default). Raises RuntimeError with install instructions when Graphviz is missing."""
    dot = to_dot(tensors, names=names, values=values, rankdir=rankdir)
    fmt = format or (str(path).rsplit(".", 1)[-1] if path and "." in str(path) else "svg")
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(_INSTALL)
    rendered = subprocess.run([program, f"-T{fmt}"], input=dot.encode(), capture_output=True,
                              check=True).stdout
    if path is None:
        return rendered
    with open(path, "wb") as f:
        f.write(rendered)
    return str(path)
