"""Regenerate the pictures in docs/img/: graphs (needs Graphviz's ``dot`` program) and diagrams.

    python docs/img/make_pictures.py                       # rewrites docs/img/*.svg
    python docs/img/make_pictures.py OUT_DIR               # writes them somewhere else
    python docs/img/make_pictures.py --diagrams [OUT_DIR]  # only the diagrams (no Graphviz needed)

Graphs: each is ``viz.draw`` of a graph built by the same lines as in docs/autodiff.md; keep the
two in step when either changes. Graphviz writes node names into the SVG, and viz names nodes by
Python object ids, which change from run to run; they are renamed in order of appearance, so an
unchanged graph gives a byte-identical file and a commit shows only real changes.

Diagrams (the LSTM and GRU cells, the four sequence structures of docs/rnn.md) are drawn with
matplotlib.
"""
import pathlib
import re
import sys

import tinygrad_rnn as tg

HERE = pathlib.Path(__file__).resolve().parent


def neuron():
    """One neuron and its squared error: loss = (w x + b - t)^2."""
    x, t = tg.tensor(2.0), tg.tensor(5.0)
    w = tg.tensor(3.0, requires_grad=True)
    b = tg.tensor(1.0, requires_grad=True)
    y = w * x + b
    loss = (y - t) ** 2
    return loss, {"w": w, "b": b, "y": y, "loss": loss}


def unrolled_rnn():
    """Three steps of h_t = tanh(w h_{t-1} + x_t): one w, used at every step."""
    w = tg.tensor(0.5, requires_grad=True)
    xs = [tg.tensor(1.0), tg.tensor(-1.0), tg.tensor(2.0)]
    h, hs = tg.tensor(0.0), []
    for x in xs:
        h = (w * h + x).tanh()
        hs.append(h)
    names = {f"h_{i + 1}": t for i, t in enumerate(hs)}
    return h, {"w": w, **names}, {"steps": hs}          # a box per step


def broadcast():
    """A bias (3,) added to every row of a (2, 3) batch: its gradient is summed back to (3,)."""
    X = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    loss = (X + b).sum()
    loss.backward()
    return loss, {"X": X, "b": b, "loss": loss}


def truncated_bptt():
    """The second chunk of two steps after ``h.detach()``: its graph starts at the chunk border."""
    w = tg.tensor(0.5, requires_grad=True)
    xs = [tg.tensor(1.0), tg.tensor(-1.0), tg.tensor(2.0), tg.tensor(0.5)]
    h, hs = tg.tensor(0.0), []
    for chunk in (xs[:2], xs[2:]):
        h = h.detach()                      # no gradient flows into the previous chunk
        for x in chunk:
            h = (w * h + x).tanh()
            hs.append(h)
        h.backward()
    return h, {"w": w, "h_3": hs[2], "h_4": hs[3]}, {"steps": hs[2:]}


def second_derivative():
    """What create_graph=True records: the graph of dy/dx = 3 x^2 for y = x^3."""
    x = tg.tensor(2.0, requires_grad=True)
    y = x ** 3
    (dy,) = tg.autograd.grad(y, x, create_graph=True)
    return dy, {"x": x, "dy/dx": dy}


PICTURES = {"neuron.svg": (neuron, True), "unrolled_rnn.svg": (unrolled_rnn, False),
            "broadcast.svg": (broadcast, True), "truncated_bptt.svg": (truncated_bptt, False),
            "second_derivative.svg": (second_derivative, True)}


def stable_names(svg: str) -> str:
    """Rename viz's id-based node names (n123..., o123..._0, t123..., c123..._1) to n1, n2, ... in
    order."""
    seen = {}
    return re.sub(r"\b([notc])(\d{6,})",
                  lambda m: m.group(1) + str(seen.setdefault(m.group(2), len(seen) + 1)), svg)


# ----------------------------------------------------------------------------- diagrams (matplotlib)
#
# The cell and sequence pictures are drawn with matplotlib (no Graphviz needed). Text stays text in
# the SVG (svg.fonttype "none"), the date is left out and ids are salted with a fixed string, so an
# unchanged picture gives a byte-identical file.

GATE, STATE, OP, GRAD = "#dbe9f6", "#fde9c9", "#ffffff", "#c0392b"


def _canvas(width, height, left=0.7, right=0.5):
    """A blank figure whose data units are inches, x from ``-left`` to ``width + right``."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width + left + right, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(-left, width + right), ylim=(0, height))
    ax.axis("off")
    return fig, ax


def _box(ax, x, y, text, w=0.9, h=0.5, color=GATE, size=10):
    from matplotlib.patches import FancyBboxPatch
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=color, edgecolor="black", linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=size)


def _op(ax, x, y, text):
    from matplotlib.patches import Circle
    ax.add_patch(Circle((x, y), 0.2, facecolor=OP, edgecolor="black", linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=11)


def _arrow(ax, start, end, color="black", style="-|>", lw=1.2, ls="-", rad=0.0):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle=style, color=color, lw=lw, linestyle=ls,
                                shrinkA=0, shrinkB=0, connectionstyle=f"arc3,rad={rad}"))


def _path(ax, points, color="black", lw=1.2, ls="-", arrow=True):
    """Straight segments through ``points``, with an arrow head on the last one."""
    for a, b in zip(points[:-2], points[1:-1]):
        ax.plot([a[0], b[0]], [a[1], b[1]], color=color, lw=lw, linestyle=ls)
    if arrow:
        _arrow(ax, points[-2], points[-1], color=color, lw=lw, ls=ls)
    else:
        ax.plot([points[-2][0], points[-1][0]], [points[-2][1], points[-1][1]], color=color, lw=lw,
                linestyle=ls)


def lstm_cell():
    """One LSTM step: the gates, the cell-state path, and the gradient along it."""
    fig, ax = _canvas(9.0, 5.2)
    top, gates_y, bottom = 4.2, 2.0, 0.7
    ax.text(0.25, top, "$c_{t-1}$", ha="right", va="center", fontsize=12)
    ax.text(8.85, top, "$c_t$", ha="left", va="center", fontsize=12)
    # the cell state: one straight line, changed only by an elementwise x f and + i g
    _path(ax, [(0.3, top), (2.3, top)])
    _op(ax, 2.5, top, "×")
    _path(ax, [(2.7, top), (4.8, top)])
    _op(ax, 5.0, top, "+")
    _path(ax, [(5.2, top), (8.8, top)])
    ax.text(1.2, top + 0.22, "cell state", ha="center", fontsize=9)
    # the gates read [h_{t-1}, x_t]
    ax.text(0.25, bottom, "$h_{t-1}$", ha="right", va="center", fontsize=12)
    ax.text(1.5, 0.1, "$x_t$", ha="center", va="center", fontsize=12)
    _path(ax, [(0.3, bottom), (6.6, bottom)], arrow=False)
    _path(ax, [(1.5, 0.3), (1.5, bottom)], arrow=False)
    xs = {"f": 2.5, "i": 3.7, "g": 4.8, "o": 6.6}
    labels = {"f": "σ  forget f", "i": "σ  input i", "g": "tanh  g", "o": "σ  output o"}
    for k, x in xs.items():
        _path(ax, [(x, bottom), (x, gates_y - 0.25)])
        _box(ax, x, gates_y, labels[k], w=1.05, size=9)
    _path(ax, [(2.5, gates_y + 0.25), (2.5, top - 0.2)])                       # f -> x c_{t-1}
    _op(ax, 4.25, 3.1, "×")                                                    # i * g
    _path(ax, [(3.7, gates_y + 0.25), (3.7, 3.1), (4.05, 3.1)])
    _path(ax, [(4.8, gates_y + 0.25), (4.8, 2.75), (4.25, 2.75), (4.25, 2.9)])
    _path(ax, [(4.45, 3.1), (5.0, 3.1), (5.0, top - 0.2)])
    # h_t = o * tanh(c_t)
    _box(ax, 7.5, 3.3, "tanh", w=0.7, h=0.4, color=STATE, size=9)
    _path(ax, [(7.5, top), (7.5, 3.5)])
    _op(ax, 7.5, 2.0, "×")
    _path(ax, [(7.5, 3.1), (7.5, 2.2)])
    _path(ax, [(6.6 + 0.525, gates_y), (7.3, 2.0)])
    _path(ax, [(7.7, 2.0), (8.8, 2.0)])
    ax.text(8.85, 2.0, "$h_t$", ha="left", va="center", fontsize=12)
    # the gradient's path back along the cell state
    _path(ax, [(8.6, top + 0.55), (0.4, top + 0.55)], color=GRAD, ls="--")
    ax.text(4.5, top + 0.72, "gradient: $\\partial L/\\partial c_{t-1} = \\partial L/\\partial c_t \\odot f$ "
            "(+ the path through $h_{t-1}$): multiplied by the forget gate, no weight matrix, no tanh'",
            ha="center", fontsize=8.5, color=GRAD)
    ax.text(4.75, 2.9, "$i \\odot g$", ha="center", fontsize=9)
    ax.text(2.75, top - 0.45, "$f \\odot c_{t-1}$", ha="left", fontsize=9)
    ax.text(8.2, 2.2, "$o \\odot \\tanh(c_t)$", ha="center", fontsize=9)
    return fig


def gru_cell():
    """One GRU step: reset and update gates; the new state mixes old state and candidate."""
    fig, ax = _canvas(9.0, 5.0)
    top, bottom = 4.1, 0.7
    ax.text(0.25, top, "$h_{t-1}$", ha="right", va="center", fontsize=12)
    ax.text(8.85, top, "$h_t$", ha="left", va="center", fontsize=12)
    _path(ax, [(0.3, top), (2.2, top)])
    _op(ax, 2.4, top, "×")
    _path(ax, [(2.6, top), (7.3, top)])
    _op(ax, 7.5, top, "+")
    _path(ax, [(7.7, top), (8.8, top)])
    ax.text(4.8, top + 0.15, "$z \\odot h_{t-1}$", ha="center", fontsize=9)
    ax.text(0.25, bottom, "$h_{t-1}$", ha="right", va="center", fontsize=12)
    ax.text(1.5, 0.1, "$x_t$", ha="center", va="center", fontsize=12)
    _path(ax, [(0.3, bottom), (5.4, bottom)], arrow=False)
    _path(ax, [(1.5, 0.3), (1.5, bottom)], arrow=False)
    for x, text in ((2.4, "σ  update z"), (3.6, "σ  reset r")):
        _path(ax, [(x, bottom), (x, 1.75)])
        _box(ax, x, 2.0, text, w=1.05, size=9)
    _box(ax, 5.4, 2.0, "tanh  candidate n", w=1.5, size=9)
    _path(ax, [(5.4, bottom), (5.4, 1.75)])
    ax.text(5.5, 1.2, "$n = \\tanh(W_{in} x_t + r \\odot (W_{hn} h_{t-1}))$", ha="left", fontsize=8)
    _path(ax, [(4.125, 2.0), (4.65, 2.0)])                               # r into n
    _path(ax, [(2.4, 2.25), (2.4, top - 0.2)])                           # z -> x h_{t-1}
    _path(ax, [(2.4, 3.0), (4.05, 3.0)])                                 # z -> 1 - z
    _box(ax, 4.4, 3.0, "1 - z", w=0.7, h=0.4, color=STATE, size=9)
    _op(ax, 5.4, 3.0, "×")
    _path(ax, [(4.75, 3.0), (5.2, 3.0)])
    _path(ax, [(5.4, 2.25), (5.4, 2.8)])
    _path(ax, [(5.6, 3.0), (7.5, 3.0), (7.5, top - 0.2)])
    ax.text(6.5, 3.15, "$(1 - z) \\odot n$", ha="center", fontsize=9)
    _path(ax, [(8.6, top + 0.5), (0.4, top + 0.5)], color=GRAD, ls="--")
    ax.text(4.5, top + 0.65, "gradient: $\\partial L/\\partial h_{t-1}$ gets "
            "$\\partial L/\\partial h_t \\odot z$ directly (+ the paths through the gates and n)",
            ha="center", fontsize=8.5, color=GRAD)
    return fig


def sequence_structures():
    """The four sequence structures, each unrolled over time with one cell shared by every step."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(12, 4.0))
    panels = [("one-to-many", "captioning: image -> words\nexamples/captioning.py",
               [1, 0, 0, 0], [1, 1, 1, 1]),
              ("many-to-one", "sentiment: sentence -> label\nexamples/sequence_classification.py",
               [1, 1, 1, 1], [0, 0, 0, 1]),
              ("many-to-many, synchronised", "a label at every step\nexamples/tagging.py",
               [1, 1, 1, 1], [1, 1, 1, 1]),
              ("many-to-many, delayed", "translation: read all, then write\nexamples/seq2seq_dates.py",
               [1, 1, 1, 0, 0], [0, 0, 0, 1, 1])]
    for k, (title, sub, ins, outs) in enumerate(panels):
        ax = fig.add_axes((k / 4 + 0.01, 0.0, 0.23, 0.9))
        n = len(ins)
        ax.set(xlim=(-0.6, n - 0.4), ylim=(-1.3, 3.6))
        ax.axis("off")
        ax.text((n - 1) / 2, 3.35, title, ha="center", fontsize=11, weight="bold")
        ax.text((n - 1) / 2, -0.8, sub, ha="center", va="center", fontsize=8)
        delayed = k == 3                    # an encoder reads, a decoder (its own cell) writes
        for t in range(n):
            name = ("enc" if ins[t] else "dec") if delayed else "RNN"
            _box(ax, t, 1.3, name, w=0.62, h=0.5, color="#c8e6f0" if name == "dec" else "#d5f0d5",
                 size=8)
            if ins[t]:
                _box(ax, t, 0.2, f"$x_{t + 1}$", w=0.55, h=0.4, color="#f6d5d5", size=9)
                _arrow(ax, (t, 0.4), (t, 1.05))
            if outs[t]:
                _box(ax, t, 2.45, f"$y_{t + 1}$", w=0.55, h=0.4, color=GATE, size=9)
                _arrow(ax, (t, 1.55), (t, 2.25))
            if t:
                _arrow(ax, (t - 0.69, 1.3), (t - 0.31, 1.3))
        if k == 0:
            ax.text(0.5, 1.6, "$h$", ha="center", fontsize=8)
    fig.text(0.5, 0.985, "boxes with one name are one cell: the same weights at every step; the "
             "arrows between them carry the state h", ha="center", va="top", fontsize=8.5, color="#444")
    return fig


DIAGRAMS = {"lstm_cell.svg": lstm_cell, "gru_cell.svg": gru_cell,
            "sequence_structures.svg": sequence_structures}


def draw_diagrams(out=HERE):
    """Write the matplotlib diagrams to ``out`` (no Graphviz needed)."""
    import matplotlib
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tinygrad_rnn",
                                "font.family": "DejaVu Sans"}):
        for file, build in DIAGRAMS.items():
            path = out / file
            build().savefig(path, format="svg", metadata={"Date": None})
            print(f"wrote {path}")


def draw_graphs(out=HERE):
    """Write the graph pictures to ``out`` (needs Graphviz's ``dot``)."""
    from tinygrad_rnn import viz
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for file, (build, values) in PICTURES.items():
        root, names, *options = build()
        path = out / file
        viz.draw(root, path, names=names, values=values, rankdir="TB", **(options[0] if options else {}))
        path.write_text(stable_names(path.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"wrote {path}")


def main(*args):
    if args[:1] == ("--diagrams",):
        draw_diagrams(*args[1:])
    else:
        draw_diagrams(*args)
        draw_graphs(*args)


if __name__ == "__main__":
    main(*sys.argv[1:])
