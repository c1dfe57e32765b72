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
unrolled RNN) is ONE node with several arrows leaving it. An input of an elementwise op that needs
no gradient (a number, or a tensor without ``requires_grad``) is a small ``const`` node.

Larger graphs (an unrolled RNN or LSTM) read better with these options:

- ``names=model`` (or ``model.named_parameters()``): parameters are labelled ``rnn.weight_hh_l0``
  and grouped into one box per module (``rnn``; a Module's own parameters under its class name),
  with the ops that take them.
- time steps: a recurrent layer unrolled in Python joins its steps' outputs into one tensor
  (``cat``/``stack``, as ``nn.RNN(fused=False)`` does). When each of the joined tensors depends
  on the one before (a recurrence), its ``k``-th one is step ``k``'s output, and step ``k`` holds
  the nodes that this output depends on and no earlier one does; nodes that feed several steps
  (the input sequence, prepared once) stay outside. ``steps=[h_1, h_2, ...]`` names the outputs
  of a loop of your own, ``steps=fn`` groups by ``fn(node)`` (a label or None), ``steps=False``
  draws no steps. Steps are drawn in time order, inside the box of the module whose parameters
  they use.
- ``views=False`` hides ops that only view their input (reshape, permute / ``.mT``, expand,
  basic indexing such as ``x[t]``): their input's arrow goes straight to the op that uses the
  view, labelled with the hidden op, so a weight transposed at every step is still ONE node.
- ``compact=True`` draws no node for an unnamed intermediate tensor: its shape is written in the
  box of the op that made it.
- ``rankdir="TB"`` draws top to bottom, which suits an unrolled network; ``max_width`` (inches,
  default 8) scales a wider picture down to fit a page; SVG (the default format of ``draw``)
  stays sharp at any size.

The graph is read through its public API only (``node.op``, ``inputs``, ``input_slots``,
``outputs``, ``output_meta``, ``generation``).
"""
from __future__ import annotations

import shutil
import subprocess

from . import backend
from .tensor import Tensor

MAX_WIDTH = 8.0         # inches: a page, or a docs column, at 96 dpi is about 770 px


# ============================================================================= reading the graph
# Only the public graph API: node.op, inputs, input_slots, outputs, output_meta, generation.

def _is_node(src):
    return src is not None and not isinstance(src, Tensor)


def _walk(roots):
    """Every node the roots came from, each once, producers before consumers."""
    seen, order = set(), []
    stack = [r.grad_fn for r in roots if r.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        stack.extend(src for src in node.inputs if _is_node(src) and src not in seen)
    return sorted(order, key=lambda n: n.generation)       # stable: the same graph, the same text


def _names_of(names):
    """``names`` as a dict ``{id(tensor): name}``: from a dict, (name, tensor) pairs
    (``named_parameters()``), or a Module (its named parameters)."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = names.named_parameters()
    pairs = names.items() if isinstance(names, dict) else names
    return {id(t): n for n, t in pairs}


def _is_view(node):
    """An op that only views its input (``view = True`` in its class) with one output."""
    return (getattr(type(node), "view", False) and len(node.output_meta) == 1
            and bool(node.inputs) and node.inputs[0] is not None)


def _through_views(src, slot):
    """Follow ``src`` down through view ops to what they view: (source, slot, [op names])."""
    via = []
    while _is_node(src) and _is_view(src):
        via.append(src.op)
        src, slot = src.inputs[0], src.input_slots[0]
    return src, slot, via


def _takes_operands(node):
    """True for ops whose every positional input is an operand (a tensor or a number): the
    elementwise and math ops. There a None input is a constant worth drawing; elsewhere it may be
    a shape or a dim. (The public graph API does not say which None inputs were tensors.)"""
    module = type(node).__module__
    return module.endswith(".elementwise") or module.endswith(".math")


# ============================================================================= time steps

def _consumers(nodes):
    used_by = {n: [] for n in nodes}
    for n in nodes:
        for src in n.inputs:
            if _is_node(src) and src in used_by:
                used_by[src].append(n)
    return used_by


def _step_outputs(nodes, used_by):
    """The joins of an unrolled recurrence, ``[(step outputs, backwards)]``: the ``cat`` nodes
    (``stack`` is a cat of views) of the most inputs, at least 2, each of which depends on the one
    before (or, for a layer run backwards in time, on the one after), first layer first."""
    def depends(a, b):             # is b among the nodes a came from?
        seen, stack = set(), [a]
        while stack:
            n = stack.pop()
            if n is b:
                return True
            if n not in seen:
                seen.add(n)
                stack.extend(s for s in n.inputs if _is_node(s))
        return False

    joins = [n for n in nodes if n.op == "cat" and len(n.inputs) >= 2     # stack: cat of views
             and all(_is_node(s) for s in n.inputs)
             and len({m[0] for m in n.output_meta}) == 1]
    found = []
    for n in joins:
        under = [_through_views(s, k)[0] for s, k in zip(n.inputs, n.input_slots)]
        if len(set(under)) != len(under) or not all(_is_node(u) for u in under):
            continue
        if all(depends(b, a) for a, b in zip(under, under[1:])):
            found.append((len(under), list(n.inputs), False))
        elif all(depends(a, b) for a, b in zip(under, under[1:])):
            found.append((len(under), list(n.inputs), True))
    if not found:
        return []
    widest = max(f[0] for f in found)
    return [(outs, backwards) for width, outs, backwards in found if width == widest]


def _steps(nodes, steps):
    """``{node: step label}`` by the rule in the module docstring."""
    if steps is False:
        return {}
    if callable(steps):
        labels = {}
        for n in nodes:
            label = steps(n)
            if label is not None:
                labels[n] = label
        return labels
    used_by = _consumers(nodes)
    if steps is None:
        runs = _step_outputs(nodes, used_by)
    else:
        runs = [([t.grad_fn for t in steps if t.grad_fn is not None], False)]
    step = {}
    for outs, backwards in runs:
        order = range(len(outs) - 1, -1, -1) if backwards else range(len(outs))
        for k in order:                 # step k: what its output needs that no earlier step has
            stack = [outs[k]]
            while stack:
                n = stack.pop()
                if n in step or n not in used_by:
                    continue
                step[n] = k + 1
                stack.extend(s for s in n.inputs if _is_node(s))
    # nodes that feed several steps (the input sequence, prepared once) stay outside, and so does
    # what only feeds them; consumers come after producers, so look at consumers first
    outside = set()
    for n in sorted(step, key=lambda n: -n.generation):
        others = {step.get(c) for c in used_by[n] if c not in outside} - {step[n], None}
        if len(others) >= 2 or (used_by[n] and all(c in outside for c in used_by[n])):
            outside.add(n)
    return {n: f"step {k}" for n, k in step.items() if n not in outside}


# ============================================================================= modules

def _modules(nodes, name_of, leaves, top):
    """``{id(leaf) or node: module name}``: a parameter named ``rnn.weight_hh_l0`` is in module
    ``rnn`` (one without a dot in ``top``, the class name of a Module given as ``names``); an op
    is in the module whose parameters it takes (directly or through views), if just one."""
    module = {}
    for t in leaves:
        name = name_of.get(id(t))
        if name is not None and ("." in name or top):
            module[id(t)] = name.rsplit(".", 1)[0] if "." in name else top
    for n in nodes:
        found = set()
        for src, slot in zip(n.inputs, n.input_slots):
            under = _through_views(src, slot)[0] if src is not None else None
            if isinstance(under, Tensor) and id(under) in module:
                found.add(module[id(under)])
        if len(found) == 1:
            module[n] = found.pop()
    return module


# ============================================================================= DOT text

def _fmt(data, values):
    text = f"{tuple(data.shape)} {data.dtype}"
    if values:
        arr = backend.to_numpy(data)
        if arr.size <= 6:
            text += "\\n" + str(backend.rounded(arr)).replace('"', "'")
    return text


def _escape(text):
    return text.replace('"', '\\"')


def _shape_text(meta):
    shapes = [tuple(shape) if shape is not None else "?" for shape, _ in meta]
    if len(set(shapes)) == 1 and len(shapes) > 1:
        return f"{len(shapes)} x {shapes[0]}"
    return ", ".join(str(s) for s in shapes)


def to_dot(tensors, names=None, values=False, rankdir="LR", *, views=True, steps=None,
           modules=True, compact=False, max_width=MAX_WIDTH):
    """Graphviz DOT text of the graph that produced ``tensors`` (a Tensor or a list of them).

    ``names``: ``{name: tensor}``, ``(name, tensor)`` pairs (``model.named_parameters()``) or a
    Module, to label leaves and outputs; with ``modules``, parameters and the ops that take them
    are boxed by module. ``values``: also print values of tensors with at most 6 entries.
    ``views``, ``steps``, ``compact``, ``rankdir``, ``max_width`` (inches; None: no limit): see the
    module docstring.
    """
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    name_of = _names_of(names)
    nodes = _walk(roots)
    root_ids = {id(r) for r in roots}

    def shown(t):           # an output tensor drawn as its own node even in compact mode
        return t is not None and (id(t) in root_ids or id(t) in name_of)

    hidden = set()
    if not views:
        hidden = {n for n in nodes if _is_view(n) and not any(shown(t) for t in n.outputs)}
    leaves = {}
    for n in nodes:
        for src in n.inputs:
            if isinstance(src, Tensor):
                leaves.setdefault(id(src), src)
    for r in roots:
        if r.grad_fn is None:
            leaves.setdefault(id(r), r)
    step_of = _steps(nodes, steps)
    top = type(names).__name__ if hasattr(names, "named_parameters") else None
    module_of = _modules(nodes, name_of, leaves.values(), top) if modules else {}
    in_steps = {module_of[n] for n in step_of if n in module_of and n not in hidden}
    step_module = next(iter(in_steps)) if len(in_steps) == 1 else None

    dot = _Dot(compact, shown)
    for t in leaves.values():
        dot.leaf(t, name_of.get(id(t), ""), values, id(t) in root_ids, module_of.get(id(t)))
    for node in nodes:
        if node in hidden:
            continue
        box = (step_module, step_of[node]) if node in step_of else (module_of.get(node), None)
        dot.op(node, box, name_of, root_ids, values)
        for j, (src, slot) in enumerate(zip(node.inputs, node.input_slots)):
            if src is None:
                if _takes_operands(node):
                    dot.constant(node, j, box)
                continue
            via = []
            if not views:
                src, slot, via = _through_views(src, slot)
            dot.edge(src, slot, node, via)
    dot.order_steps(nodes, step_of, hidden)
    return dot.text(rankdir, max_width, step_module)


class _Dot:
    """The DOT text being written: node declarations grouped by the box (module, step) they are
    drawn in, and the edges, which come last."""

    def __init__(self, compact, shown):
        self.compact, self.shown = compact, shown
        self.boxes = {}                 # (module or None, step or None) -> declarations
        self.edges = []

    def place(self, line, box=(None, None)):
        self.boxes.setdefault(box, []).append(line)

    def leaf(self, t, name, values, is_root, module):
        label = (name + "\\n" if name else "") + _fmt(t.array, values)
        if t.grad is not None:
            label += "\\ngrad " + _fmt(t.grad.array, values)
        color = "lightblue" if _is_parameter(t) else "lightyellow"
        extra = ', penwidth=2, color="darkgreen"' if is_root else ""
        self.place(f'"t{id(t)}" [label="{_escape(label)}", shape=ellipse, style=filled, '
                   f'fillcolor="{color}"{extra}];', (module, None))

    def out_key(self, node, i):
        """The DOT name of output ``i`` of ``node``: its ellipse, or in compact mode its box."""
        if self.compact and not self.shown(_output(node, i)):
            return f"n{id(node)}"
        return f"o{id(node)}_{i}"

    def op(self, node, box, name_of, root_ids, values):
        """The op's box and, unless compact, an ellipse per output."""
        label = node.op
        inner = [m for i, m in enumerate(node.output_meta) if not self.shown(_output(node, i))]
        if self.compact and inner:
            label += "\\n" + _shape_text(inner)
        self.place(f'"n{id(node)}" [label="{_escape(label)}", shape=box, style="rounded,filled", '
                   f'fillcolor="gray92"];', box)
        for i, (shape, dtype) in enumerate(node.output_meta):
            t = _output(node, i)
            if self.compact and not self.shown(t):
                continue
            head = name_of.get(id(t), "") if t is not None else ""
            if t is not None:
                text = _fmt(t.array, values)
                if t.grad is not None:
                    text += "\\ngrad " + _fmt(t.grad.array, values)
            else:
                text = f"{tuple(shape) if shape is not None else '?'} {dtype}"
            label = (head + "\\n" if head else "") + text
            key = self.out_key(node, i)
            root = t is not None and id(t) in root_ids
            style = ', style=filled, fillcolor="palegreen"' if root else ""
            self.place(f'"{key}" [label="{_escape(label)}", shape=ellipse{style}];', box)
            self.edges.append(f'"n{id(node)}" -> "{key}";')

    def constant(self, node, j, box):
        key = f"c{id(node)}_{j}"
        self.place(f'"{key}" [label="const", shape=box, style="rounded,dashed", fontsize=8, '
                   f'fontcolor="gray30", width=0.45, height=0.22, margin="0.03,0.02"];', box)
        self.edges.append(f'"{key}" -> "n{id(node)}";')

    def edge(self, src, slot, node, via):
        """An arrow from input ``src`` (a leaf or output ``slot`` of a node) into ``node``,
        labelled with the view ops it stands for, or in compact mode with the output it is."""
        tail = f"t{id(src)}" if isinstance(src, Tensor) else self.out_key(src, slot)
        label = " ".join(op for k, op in enumerate(reversed(via)) if k == 0 or op != via[-k])
        if not label and self.compact and _is_node(src) and len(src.output_meta) > 1 \
                and not self.shown(_output(src, slot)):
            label = str(slot)
        attrs = f' [label="{_escape(label)}", fontsize=8, fontcolor="gray40"]' if label else ""
        self.edges.append(f'"{tail}" -> "n{id(node)}"{attrs};')

    def order_steps(self, nodes, step_of, hidden):
        """Invisible arrows from each step's last node to the next step's first ones, so the
        steps are drawn one after the other, in time order."""
        members = {}
        for n in nodes:
            if n in step_of and n not in hidden:
                members.setdefault(step_of[n], []).append(n)
        labels = list(members)
        for before, after in zip(labels, labels[1:]):
            last = members[before][-1]
            inside = set(members[after])
            for n in members[after]:
                if not any(s in inside or _through_views(s, k)[0] in inside
                           for s, k in zip(n.inputs, n.input_slots) if _is_node(s)):
                    self.edges.append(f'"n{id(last)}" -> "n{id(n)}" [style=invis];')

    def text(self, rankdir, max_width, step_module):
        lines = ["digraph graph_ {", f"  rankdir={rankdir};"]
        if max_width is not None:
            lines.append(f'  size="{max_width:g},1000";')
        lines.append('  node [fontname="Helvetica", fontsize=10];')
        lines.append('  edge [fontname="Helvetica"];')
        lines += ["  " + line for line in self.boxes.get((None, None), [])]
        steps = list(dict.fromkeys(s for _, s in self.boxes if s is not None))

        def step_boxes(module, indent):
            out = []
            for k, s in enumerate(steps):
                if (module, s) in self.boxes:
                    out.append(f'{indent}subgraph "cluster_step_{k}" {{')
                    out.append(f'{indent}  label="{_escape(str(s))}"; style="rounded,dashed"; '
                               f'color="gray50";')
                    out += [f"{indent}  {line}" for line in self.boxes[(module, s)]]
                    out.append(indent + "}")
            return out

        modules = dict.fromkeys(m for m, _ in self.boxes if m is not None)
        for k, m in enumerate(modules):
            lines.append(f'  subgraph "cluster_module_{k}" {{')
            lines.append(f'    label="{_escape(m)}"; style="rounded,filled"; fillcolor="aliceblue"; '
                         f'color="steelblue";')
            lines += ["    " + line for line in self.boxes.get((m, None), [])]
            if m == step_module:
                lines += step_boxes(m, "    ")
            lines.append("  }")
        if step_module is None:
            lines += step_boxes(None, "  ")
        lines += ["  " + e for e in self.edges]
        lines.append("}")
        return "\n".join(lines) + "\n"


def _is_parameter(t):
    try:
        from .nn.parameter import Parameter
    except ImportError:     # pragma: no cover - nn is always there; viz does not depend on it
        return False
    return isinstance(t, Parameter)


def _output(node, i):
    outs = node.outputs
    return outs[i] if i < len(outs) else None


_INSTALL = ("draw: rendering needs Graphviz. Install the program (Debian/Ubuntu: apt install graphviz; "
            "macOS: brew install graphviz; conda: conda install graphviz) and optionally the Python "
            "package (pip install 'tinygrad-rnn[viz]'). Without it, viz.to_dot(...) still gives the "
            "DOT text, which any Graphviz viewer (or https://dreampuf.github.io/GraphvizOnline) shows.")


def draw(tensors, path=None, format=None, names=None, values=False, rankdir="LR", **options):
    """Render the graph with Graphviz. With ``path`` the picture is written there (format from its
    extension: .svg, .png, .pdf) and the path is returned; without, the rendered bytes (SVG by
    default: it stays sharp however large the graph). ``options`` are ``to_dot``'s. Raises
    RuntimeError with install instructions when Graphviz is missing."""
    dot = to_dot(tensors, names=names, values=values, rankdir=rankdir, **options)
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
