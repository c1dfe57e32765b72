"""Regenerate the graph pictures of docs/autodiff.md (needs Graphviz's ``dot`` program).

    python docs/img/make_pictures.py             # rewrites docs/img/*.svg
    python docs/img/make_pictures.py OUT_DIR     # writes them somewhere else

Each picture is ``viz.draw`` of a graph built by the same lines as in docs/autodiff.md; keep the
two in step when either changes. Graphviz writes node names into the SVG, and viz names nodes by
Python object ids, which change from run to run; they are renamed in order of appearance, so an
unchanged graph gives a byte-identical file and a commit shows only real changes.
"""
import pathlib
import re
import sys

import tinygrad_rnn as tg
from tinygrad_rnn import viz

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
    return h, {"w": w, **names}


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
    return h, {"w": w, "h_3": hs[2], "h_4": hs[3]}


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
    """Rename viz's id-based node names (n123..., o123..._0, t123...) to n1, n2, ... in order."""
    seen = {}
    return re.sub(r"\b([not])(\d{6,})",
                  lambda m: m.group(1) + str(seen.setdefault(m.group(2), len(seen) + 1)), svg)


def main(out=HERE):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for file, (build, values) in PICTURES.items():
        root, names = build()
        path = out / file
        viz.draw(root, path, names=names, values=values, rankdir="TB")
        path.write_text(stable_names(path.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
