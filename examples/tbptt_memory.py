"""Memory of back-propagation through time: full BPTT grows with the sequence, truncated BPTT does not.

What it teaches (lectures 000 and 001, BPTT and truncated BPTT): to back-propagate through time the
network is unrolled over the whole sequence, and every step keeps what its backward pass needs
(the LSTM's gates, states and cell states), so a batch of B sequences of length L (``B x L x I``)
needs memory L times that of one step. Truncated BPTT cuts the sequence into chunks of T steps
(``B x T x I``), runs forward and backward on one chunk at a time, and carries the hidden and
cell state into the next chunk after ``detach()``: the values go on, the graph does not. Memory
is then bounded by T, whatever L is; the price is that no gradient crosses a chunk boundary, so
dependencies longer than T steps cannot be learned (docs/bptt.md).

For each L from 256 to 4096 the script runs one forward and backward pass of an LSTM (batch 8,
16 inputs, 64 hidden units) over the whole sequence, and one pass in chunks of T = 32, and records
the peak memory the arrays take (``tracemalloc``, which NumPy reports its allocations to). In a
full run (about 10 seconds) full BPTT's peak grows in proportion to L, from 6.4 MiB at L = 256 to
100 MiB at L = 4096 (25 KiB per step), while truncated BPTT stays flat at 1.0 to 1.1 MiB; it saves
the plot.

    python examples/tbptt_memory.py            # L = 256 ... 4096, saves tbptt_memory.png
    python examples/tbptt_memory.py --quick    # L = 64 ... 256
"""
import argparse
import time
import tracemalloc

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import bptt_chunks
from tinygrad_rnn.nn.utils import detach_hidden
from tinygrad_rnn.plotting import figure


class Predictor(nn.Module):
    """Predict the next input vector: ``(L, B, I)`` and a state -> ``(L, B, I)`` and the new state."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size)
        self.fc = nn.Linear(hidden_size, input_size)

    def forward(self, x, state=None):
        out, state = self.lstm(x, state)
        return self.fc(out), state


def full_bptt(model, seq):
    """One graph over all L steps, one backward through all of them."""
    pred, _ = model(seq[:-1])
    nn.functional.mse_loss(pred, seq[1:]).backward()


def truncated_bptt(model, seq, chunk_len):
    """Chunks of T steps; the state goes on to the next chunk, detached from this chunk's graph."""
    state = None
    for x, y in bptt_chunks(seq, chunk_len):
        pred, state = model(x, state)
        nn.functional.mse_loss(pred, y).backward()
        state = detach_hidden(state)       # keep the values, drop the graph behind them


def peak_memory(fn, *args):
    """Peak bytes allocated while ``fn(*args)`` runs, beyond what was allocated before, and seconds."""
    tracemalloc.start()
    start = time.perf_counter()
    fn(*args)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    parser.add_argument("--chunk", type=int, default=32, help="T, the truncation length")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--input", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--out", default="tbptt_memory.png", help="where to save the plot")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    lengths = [64, 128, 256] if args.quick else args.lengths

    tg.manual_seed(0)
    model = Predictor(args.input, args.hidden)
    result = {"lengths": lengths, "full": [], "truncated": [], "chunk": args.chunk}
    print(f"LSTM, batch {args.batch_size}, {args.input} inputs, {args.hidden} hidden units; "
          f"peak memory of one forward + backward pass:")
    for L in lengths:
        seq = tg.randn(L + 1, args.batch_size, args.input)     # made before measuring: not counted
        full, t_full = peak_memory(full_bptt, model, seq)
        model.zero_grad()
        trunc, t_trunc = peak_memory(truncated_bptt, model, seq, args.chunk)
        model.zero_grad()
        result["full"].append(full)
        result["truncated"].append(trunc)
        print(f"  L = {L:5d}: full BPTT {full / 2**20:7.1f} MiB ({t_full:.2f} s), "
              f"truncated (T = {args.chunk}) {trunc / 2**20:5.1f} MiB ({t_trunc:.2f} s)")
    save_plot(result, args.out)
    return result


def save_plot(result, path):
    mib = 2 ** 20
    with figure(path, figsize=(6, 4)) as (fig, ax):
        ax.plot(result["lengths"], [b / mib for b in result["full"]], "o-", label="full BPTT")
        ax.plot(result["lengths"], [b / mib for b in result["truncated"]], "s-",
                label=f"truncated BPTT, T = {result['chunk']}")
        ax.set(xlabel="sequence length L", ylabel="peak memory (MiB)",
               title="Memory of one forward + backward pass (LSTM)")
        ax.legend()


if __name__ == "__main__":
    main()
