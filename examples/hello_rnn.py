"""The lecture's character-level language model: an RNN learns that "hell" continues as "ello".

What it teaches (lectures 001 and 004, recurrent networks): each character is a one-hot vector over
the vocabulary {h, e, l, o} (h = [1, 0, 0, 0], e = [0, 1, 0, 0], ...); at every step the RNN reads
one character, updates its hidden state ``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)`` and predicts the
next character with ``softmax(W_hy h_t)``; the loss is the sum of every step's loss. The two l's
show why the state matters: after the first "l" the answer is "l", after the second it is "o",
and only the hidden state (what came before) tells them apart.

The same weights serve every time step. The script draws the unrolled graph of the last training
step, one box per time step inside the ``rnn`` module's box: ``rnn.weight_hh_l0`` is ONE node with
an arrow into every step, which is why back-propagation through time adds the steps' gradients up.
The DOT text is always saved; an SVG picture is rendered too when Graphviz's ``dot`` program is
installed.

It prints the prediction at each of the four steps whenever it changes as training goes on: for
a while ``h->e e->l l->l l->l`` ("elll": both l's look alike until the state learns to count),
then ``h->e e->l l->l l->o`` ("ello", after about 25 updates); then the next-character
probabilities, and the trained model spelling the word on its own from "h": "hello".

    python examples/hello_rnn.py            # 200 updates, saves hello_rnn.png, hello_rnn_graph.dot (.svg)
    python examples/hello_rnn.py --quick    # 80 updates
"""
import argparse
import pathlib
import shutil

import tinygrad_rnn as tg
from tinygrad_rnn import nn, viz
from tinygrad_rnn.plotting import figure

VOCAB = "helo"                      # the lecture's order: h, e, l, o


def one_hot(text):
    """A string -> ``(T, 1, 4)`` one-hot vectors, time first (a batch of one sequence)."""
    index = tg.tensor([VOCAB.index(c) for c in text])
    return nn.functional.one_hot(index, len(VOCAB)).float().unsqueeze(1)


class CharRNN(nn.Module):
    """one-hot ``(T, B, 4)`` -> scores for the next character ``(T, B, 4)``, and the last state."""

    def __init__(self, hidden_size):
        super().__init__()
        # fused=False: every time step is its own cell in the graph, so the unrolled network can
        # be drawn (the fused kernel computes the same numbers as one graph node)
        self.rnn = nn.RNN(len(VOCAB), hidden_size, fused=False)     # W_xh, W_hh, b
        self.out = nn.Linear(hidden_size, len(VOCAB))               # W_hy

    def forward(self, x, h=None):
        hs, h = self.rnn(x, h)
        return self.out(hs), h


def spell(model, first, length):
    """Feed the model its own most likely next character, starting from ``first``."""
    text, h = first, None
    with tg.no_grad():
        for _ in range(length - 1):
            scores, h = model(one_hot(text[-1]), h)
            text += VOCAB[scores[-1, 0].argmax().item()]
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="parameter updates")
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--out", default="hello_rnn.png", help="where to save the loss plot")
    parser.add_argument("--graph", default="hello_rnn_graph",
                        help="path stem of the unrolled graph: STEM.dot, and STEM.svg with Graphviz")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    steps = 80 if args.quick else args.steps

    tg.manual_seed(args.seed)
    word = "hello"
    x = one_hot(word[:-1])                                   # "hell": (4, 1, 4)
    target = tg.tensor([VOCAB.index(c) for c in word[1:]])   # "ello": what comes next at each step
    model = CharRNN(args.hidden)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)

    losses, predictions = [], []
    for step in range(steps):
        scores, _ = model(x)
        # the loss of the sequence is the sum of every step's loss
        loss = nn.functional.cross_entropy(scores[:, 0], target, reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        guess = "".join(VOCAB[i] for i in scores[:, 0].argmax(1).tolist())
        losses.append(loss.item())
        predictions.append(guess)
        if step % 20 == 0 or step == steps - 1 or guess != predictions[-2]:
            pairs = " ".join(f"{a}->{b}" for a, b in zip(word[:-1], guess))
            print(f"update {step:3d}  loss {losses[-1]:.3f}  {pairs}  '{guess}'")

    probs = scores[:, 0].softmax(1).tolist()
    print("probability of each next character, at the last update:")
    print(" " * 20 + " ".join(f"{c:>5s}" for c in VOCAB))
    for t, (c, row) in enumerate(zip(word[:-1], probs)):
        print(f"  step {t}, after '{c}' " + " ".join(f"{p:5.2f}" for p in row))
    spelled = spell(model, "h", len(word))
    print(f"from 'h' on its own: '{spelled}'")

    # the last update's graph: weight_hh is one node; count the arrows leaving it
    dot = viz.to_dot(loss, names=model, **GRAPH)
    uses = dot.count(f'"t{id(model.rnn.weight_hh_l0)}" ->')
    print(f"unrolled graph: weight_hh is one node used at {uses} time steps")
    graph = save_graph(loss, model, args.graph)
    save_plot(losses, args.out)
    return {"losses": losses, "predictions": predictions, "spelled": spelled,
            "weight_hh_uses": uses, "graph": graph}


# how the graph is drawn: parameters named by module ("rnn.weight_hh_l0"), a box per time step,
# no node for transposing a weight (.mT) or for each step's row of x, shapes inside the op boxes,
# top to bottom so that the four steps stack up on a page
GRAPH = dict(views=False, compact=True, rankdir="TB")


def save_graph(loss, model, stem):
    """Write the graph's DOT text to STEM.dot; render STEM.svg when Graphviz is installed."""
    stem = pathlib.Path(stem)
    paths = [stem.with_suffix(".dot")]
    paths[0].write_text(viz.to_dot(loss, names=model, **GRAPH))
    if shutil.which("dot"):                      # Graphviz is optional: the DOT text is enough
        paths.append(pathlib.Path(viz.draw(loss, stem.with_suffix(".svg"), names=model, **GRAPH)))
    for p in paths:
        print(f"saved {p}")
    return [str(p) for p in paths]


def save_plot(losses, path):
    with figure(path, figsize=(6, 3.5)) as (fig, ax):
        ax.plot(losses)
        ax.set(xlabel="update", ylabel="loss (sum over the 4 steps)", yscale="log",
               title='"hell" -> "ello": a character RNN')


if __name__ == "__main__":
    tg.threads.one_thread_for_small_matrices()     # small matrices: one BLAS thread is faster
    main()
