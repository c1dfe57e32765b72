"""Write the exercise notebooks and their solutions from the cells below.

    python exercises/make_notebooks.py

Each exercise is a list of cells: markdown, plain code, a *task* (a code cell with a stub for the
exercise notebook and the answer for the solution notebook) and a *check* (a code cell whose first
line is ``# check``; it passes with the solution and fails with the stub). The notebooks are
``exercises/<name>.ipynb`` and ``exercises/solutions/<name>.ipynb``; edit this file, not them, and
run it again. tests/test_exercises.py runs every solution, checks that every stub fails its
check, and that the notebooks are what this file writes.
"""
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def md(text):
    return ("markdown", text.strip("\n"))


def code(text):
    return ("code", text.strip("\n"))


def task(stub, solution):
    return ("task", stub.strip("\n"), solution.strip("\n"))


def check(text):
    return ("code", "# check\n" + text.strip("\n"))


SETUP = code("""
import numpy as np
import tinygrad_rnn as tg
from tinygrad_rnn import nn
""")

EXERCISES = {}

EXERCISES["autodiff"] = [
    md("""
# Exercise 1: the backward of a sigmoid

Read first: [Reverse-mode autodiff](../docs/autodiff.md), sections 2 and 3 (one op = one
`Function`; the chain rule).

`sigmoid(x) = 1 / (1 + exp(-x))`. Its derivative can be written with its own output:
`d sigmoid / dx = s (1 - s)` where `s = sigmoid(x)`. Below, `forward` is written for you. Write
`backward`: it gets `g = dE/d(out)` and returns `dE/dx`. Then run the check: `gradcheck`
compares your backward with finite differences, and explains what it finds when they disagree.
"""),
    SETUP,
    code("from tinygrad_rnn.autograd import Function\nfrom tinygrad_rnn.testing import gradcheck"),
    task('''
class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(s)          # backward needs the output, not the input
        return s

    @staticmethod
    def backward(ctx, g):
        s, = ctx.saved_tensors
        return g                          # TODO: dE/dx = g * ds/dx
''', '''
class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(s)          # backward needs the output, not the input
        return s

    @staticmethod
    def backward(ctx, g):
        s, = ctx.saved_tensors
        return g * s * (1 - s)            # d sigmoid/dx = s (1 - s)
'''),
    check('''
x = tg.tensor(np.linspace(-4, 4, 12).reshape(3, 4), dtype=tg.float64, requires_grad=True)
result = gradcheck(Sigmoid.apply, x)      # raises GradcheckError with a diagnosis if backward is wrong
assert tg.allclose(Sigmoid.apply(x), x.sigmoid())
print("passed:", result.n_checked, "entries checked")
'''),
    md("""
If the check fails, read the message from the top: which input, how many entries differ, the
worst ones, and the diagnosis line. Then try a wrong backward on purpose (`g * s * (1 + s)`,
`-g * s * (1 - s)`) and read what gradcheck says about each.
"""),
]

EXERCISES["rnn"] = [
    md("""
# Exercise 2: a GRU cell

Read first: [Recurrent networks](../docs/rnn.md), section GRU.

Write one GRU step from its equations, with PyTorch's gate order (r, z, n) and weight shapes:
`w_ih (3H, I)`, `w_hh (3H, H)`, `b_ih (3H,)`, `b_hh (3H,)`:

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

`x @ w_ih.T + b_ih` computes all three input parts at once; `.chunk(3, 1)` splits them. The
check runs your cell over a sequence with `nn.GRU`'s own weights and compares outputs and
gradients with `nn.GRU(fused=False)` using `assert_grads_match`.
"""),
    SETUP,
    code("from tinygrad_rnn.testing import assert_grads_match"),
    task('''
def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """x (B, I), h (B, H) -> the next h (B, H)."""
    return h                                          # TODO
''', '''
def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """x (B, I), h (B, H) -> the next h (B, H)."""
    i_r, i_z, i_n = (x @ w_ih.T + b_ih).chunk(3, 1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, 1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * h
'''),
    check('''
tg.manual_seed(0)
gru = nn.GRU(3, 4, fused=False).double()
x = tg.randn(5, 2, 3, dtype=tg.float64, requires_grad=True)      # (T, B, I)


weights = [gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0]


def mine(x):
    h, outs = tg.zeros(2, 4, dtype=tg.float64), []
    for t in range(x.shape[0]):
        h = gru_step(x[t], h, *weights)
        outs.append(h)
    return tg.stack(outs)


def reference(x):
    return gru(x)[0]


result = assert_grads_match(reference, mine, x, names=("nn.GRU", "gru_step"))   # outputs, dL/dx
v = tg.randn(5, 2, 4, dtype=tg.float64)                                       # and dL/dweights
for a, b in zip(tg.autograd.grad((reference(x) * v).sum(), weights),
                tg.autograd.grad((mine(x) * v).sum(), weights)):
    assert tg.allclose(a, b, atol=1e-10), "the weights' gradients differ"
print("passed:", result.n_checked, "values compared")
'''),
]

EXERCISES["bptt"] = [
    md("""
# Exercise 3: truncated BPTT, and a gradient that vanishes

Read first: [BPTT and truncated BPTT](../docs/bptt.md), and
[Reverse-mode autodiff](../docs/autodiff.md) section 10.

## Part 1: forget `detach` and read the error

Truncated BPTT trains on chunks of a long sequence and carries the state from chunk to chunk.
Run this loop; it carries the state as it is. Read the error it raises: what does it say
happened, and what does it tell you to do?
"""),
    SETUP,
    code('''
tg.manual_seed(0)
rnn, head = nn.RNN(1, 8), nn.Linear(8, 1)
wave = tg.tensor(np.sin(np.arange(60) * 0.3).astype(np.float32)[:, None, None])   # (L, B=1, 1)
try:
    state = None
    for start in range(0, 60, 20):                    # three chunks of T = 20 steps
        out, state = rnn(wave[start:start + 20], state)
        ((head(out) - 1) ** 2).mean().backward()
except RuntimeError as e:
    print("RuntimeError:", e)
'''),
    md("""
Now write the loop that works: the same three chunks, the state carried from chunk to chunk
without its graph. It returns the loss of each chunk and leaves in `rnn`'s `.grad` the sum of
the three chunks' gradients.
"""),
    task('''
def train_in_chunks(rnn, head, sequence, T):
    losses, state = [], None
    for start in range(0, len(sequence), T):
        out, state = rnn(sequence[start:start + T], state)      # TODO: carry the state correctly
        loss = ((head(out) - 1) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
    return losses
''', '''
def train_in_chunks(rnn, head, sequence, T):
    losses, state = [], None
    for start in range(0, len(sequence), T):
        out, state = rnn(sequence[start:start + T], state)
        loss = ((head(out) - 1) ** 2).mean()
        loss.backward()
        state = state.detach()                                  # keep the values, drop the graph
        losses.append(loss.item())
    return losses
'''),
    check('''
rnn.zero_grad()
losses = train_in_chunks(rnn, head, wave, 20)
assert len(losses) == 3

# the truth: each chunk on its own, started from the state the chunks before it reached
expected = np.zeros(rnn.weight_hh_l0.shape)
state = None
for start in range(0, 60, 20):
    start_state = None if state is None else state.detach()
    out, state = rnn(wave[start:start + 20], start_state)
    (g,) = tg.autograd.grad(((head(out) - 1) ** 2).mean(), rnn.weight_hh_l0)
    expected += g.numpy()
assert np.allclose(rnn.weight_hh_l0.grad.numpy(), expected, atol=1e-6), \
    "the gradient is not the sum of the three chunks' own gradients"
print("passed: three chunks, no gradient across their borders")
'''),
    md("""
## Part 2: watch the gradient vanish

`h.register_hook(fn)` calls `fn(grad)` when the gradient of `h` is computed. Run a vanilla RNN
cell over 30 steps, register a hook on every state `h_t`, back-propagate the last state's sum,
and return `||dL/dh_t||` for t = 1 ... 30. With small recurrent weights the gradient that
reaches the early steps is much smaller than at the end: the long-term dependency problem that
LSTM and GRU were made for.
"""),
    task('''
def gradient_norms(cell, xs):
    """xs (T, B, I) -> [||dL/dh_1||, ..., ||dL/dh_T||] for L = h_T.sum()."""
    norms = [0.0] * len(xs)
    h = tg.zeros(xs.shape[1], cell.hidden_size)
    for t in range(len(xs)):
        h = cell(xs[t], h)
        # TODO: register a hook on h that stores the norm of its gradient in norms[t]
    h.sum().backward()
    return norms
''', '''
def gradient_norms(cell, xs):
    """xs (T, B, I) -> [||dL/dh_1||, ..., ||dL/dh_T||] for L = h_T.sum()."""
    norms = [0.0] * len(xs)
    h = tg.zeros(xs.shape[1], cell.hidden_size)
    for t in range(len(xs)):
        h = cell(xs[t], h)
        h.register_hook(lambda g, t=t: norms.__setitem__(t, float(np.linalg.norm(g.numpy()))))
    h.sum().backward()
    return norms
'''),
    check('''
tg.manual_seed(0)
cell = nn.RNNCell(2, 16)
with tg.no_grad():
    cell.weight_hh.mul_(0.5)                      # small recurrent weights: the gradient shrinks
xs = tg.randn(30, 4, 2)
norms = gradient_norms(cell, xs)

# the truth: the same gradients asked for directly
h, hs = tg.zeros(4, 16), []
for t in range(30):
    h = cell(xs[t], h)
    hs.append(h)
grads = tg.autograd.grad(h.sum(), hs)
assert np.allclose(norms, [np.linalg.norm(g.numpy()) for g in grads], rtol=1e-5), \
    "the norms the hooks saw differ from the gradients asked for directly"
assert norms[0] < 1e-3 * norms[-1], "the gradient at the first step should be far smaller"
print("||dL/dh_t|| at t = 1, 10, 20, 30:", ", ".join(f"{norms[t]:.1e}" for t in (0, 9, 19, 29)))
'''),
]

EXERCISES["testing"] = [
    md("""
# Exercise 4: let Hypothesis find the bug

Read first: [Testing gradients](../docs/testing.md), "Test your own op in under 20 lines" and
"Reading a failed check".

`Softplus` below computes `log(1 + exp(x))`; its backward has a bug. The property test draws
tensors of many shapes and values and gradchecks the op on each. Run the check, read the failure
(which input, the worst entries, the diagnosis), and fix `backward`.
"""),
    SETUP,
    code('''
from hypothesis import given, settings, strategies as st

from tinygrad_rnn.autograd import Function
from tinygrad_rnn.testing import gradcheck, strategies as tst
'''),
    task('''
class Softplus(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)                 # log(1 + exp(x)), without overflow

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (1 - x.sigmoid())              # TODO: find the bug with the check below
''', '''
class Softplus(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)                 # log(1 + exp(x)), without overflow

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x.sigmoid()                    # d/dx log(1 + e^x) = e^x / (1 + e^x)
'''),
    check('''
@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.data())
def test_softplus_gradients(data):
    x = data.draw(tst.tensors(), label="x")
    gradcheck(Softplus.apply, x)


test_softplus_gradients()
print("passed: 30 drawn tensors")
'''),
]

EXERCISES["debugging"] = [
    md("""
# Exercise 5: find the NaN

Read first: [Reverse-mode autodiff](../docs/autodiff.md), section 12 (`detect_anomaly`).

`entropy(logits)` below is the entropy of the softmax of each row. On ordinary logits it works;
on large ones its loss is `nan`. Run it under `tg.autograd.detect_anomaly()`: the error names
the first operation whose output was not finite, and the line that called it. Then fix
`entropy` so that it stays finite (hint: softmax does not change when the same number is
subtracted from every logit of a row).
"""),
    SETUP,
    task('''
def entropy(logits):
    """(N, C) logits -> (N,) entropy of softmax(logits) in nats."""
    e = logits.exp()
    p = e / e.sum(1, keepdim=True)
    return -(p * p.log()).sum(1)
''', '''
def entropy(logits):
    """(N, C) logits -> (N,) entropy of softmax(logits) in nats."""
    shifted = logits - logits.amax(1, keepdim=True).detach()     # the largest logit becomes 0
    log_p = shifted - shifted.exp().sum(1, keepdim=True).log()   # log softmax, no exp overflow
    return -(log_p.exp() * log_p).sum(1)
'''),
    code('''
logits = tg.tensor([[1.0, 2.0, 3.0], [100.0, 0.0, -100.0]], requires_grad=True)
print("entropy:", entropy(logits))
try:
    with tg.autograd.detect_anomaly():
        entropy(logits).sum().backward()
    print("no anomaly")
except RuntimeError as e:
    print(e)
'''),
    check('''
logits = tg.tensor([[1.0, 2.0, 3.0], [100.0, 0.0, -100.0], [0.0, 0.0, 0.0]], requires_grad=True)
with tg.autograd.detect_anomaly():
    h = entropy(logits)
    h.sum().backward()
p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
assert np.allclose(h.numpy(), [-(p * np.log(p)).sum(), 0.0, np.log(3)], atol=1e-5)
assert np.isfinite(logits.grad.numpy()).all()
print("passed: finite entropies and gradients")
'''),
]


def notebook(cells, solution):
    out = []
    for cell in cells:
        kind, text = cell[0], cell[1]
        if kind == "task":
            text = cell[2] if solution else cell[1]
            kind = "code"
        lines = text.split("\n")
        source = [line + "\n" for line in lines[:-1]] + [lines[-1]]
        if kind == "markdown":
            out.append({"cell_type": "markdown", "metadata": {}, "source": source})
        else:
            out.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                        "source": source})
    return {"cells": out,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 4}


def render(name, solution):
    text = json.dumps(notebook(EXERCISES[name], solution), indent=1, ensure_ascii=False) + "\n"
    if solution:                     # a solution sits one folder deeper: its links go one more up
        text = text.replace("](../docs/", "](../../docs/")
    return text


def main():
    (HERE / "solutions").mkdir(exist_ok=True)
    for name in EXERCISES:
        for solution, path in ((False, HERE / f"{name}.ipynb"), (True, HERE / "solutions" / f"{name}.ipynb")):
            path.write_text(render(name, solution), encoding="utf-8")
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
