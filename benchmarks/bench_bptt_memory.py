"""Peak memory of full BPTT against truncated BPTT (chunks of T = 32 steps), for sequence lengths
L = 256 ... 4096: the lecture's memory argument, measured.

    python benchmarks/bench_bptt_memory.py              # L = 256, 512, 1024, 2048, 4096
    python benchmarks/bench_bptt_memory.py --quick      # L = 256, 512, 1024, smaller model
    python benchmarks/bench_bptt_memory.py --out docs/bptt_memory.png --json results.json

One training pass over a sequence of L steps (an LSTM, a linear head, mean squared error to the
next value): full BPTT runs all L steps and one backward; truncated BPTT runs chunks of T steps,
calls backward after each and carries the state on with ``nn.utils.detach_hidden``. Peak memory
is measured with ``tracemalloc`` (NumPy reports its allocations to it) in a fresh subprocess per
(L, method), above what the process holds before the pass: the data, the model and the
optimizer's state are not counted, only what training adds. Full BPTT keeps every step's
activations until the backward, so its peak grows linearly with L; truncated BPTT keeps one chunk's,
so its peak stays flat. The subprocesses use one BLAS thread (timings are a side note here).
Prints the machine's thread count first.
"""
import argparse
import json
import os
import subprocess
import sys
import time

FULL_LENGTHS = [256, 512, 1024, 2048, 4096]
QUICK_LENGTHS = [256, 512, 1024]


def measure(L, T, batch, hidden, inputs, fused):
    """In this process: peak bytes above the starting point of one pass over L steps in chunks of
    T (T >= L: full BPTT), and the seconds it took."""
    import tracemalloc

    import tinygrad_rnn as tg
    from tinygrad_rnn import nn

    tg.manual_seed(0)
    model, head = nn.LSTM(inputs, hidden, fused=fused), nn.Linear(hidden, inputs)
    params = list(model.parameters()) + list(head.parameters())
    opt = tg.optim.SGD(params, lr=0.01)
    stream = tg.randn(L + 1, batch, inputs)       # the data: made before measuring

    def train(length, chunk):
        state = None
        for k in range(0, length, chunk):
            n = min(chunk, length - k)
            out, state = model(stream[k:k + n], state)
            loss = ((head(out) - stream[k + 1:k + 1 + n]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            state = nn.utils.detach_hidden(state)

    # warm-up: gradient buffers exist and Python's allocator has filled its free lists (a few
    # hundred KiB that would otherwise show up as growth with the number of chunks)
    train(min(L, 1024), T)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    train(L, T)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, seconds


def run_subprocess(L, T, batch, hidden, inputs, fused):
    # one BLAS thread: memory is the point here, and the timings then do not depend on how busy
    # the other core is
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--measure", str(L), str(T), str(batch), str(hidden),
                          str(inputs), str(int(fused))], check=True, capture_output=True, text=True, env=env)
    peak, seconds = out.stdout.split()
    return int(peak), float(seconds)


def plot(results, path, T):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    Ls = [r["L"] for r in results]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(Ls, [r["full_bytes"] / 2 ** 20 for r in results], "o-", label="full BPTT")
    ax.plot(Ls, [r["truncated_bytes"] / 2 ** 20 for r in results], "s-", label=f"truncated BPTT, T = {T}")
    ax.set_xticks(Ls, [str(L) for L in Ls])     # linear axes: a straight line is linear growth
    ax.set_xlabel("sequence length L (steps)")
    ax.set_ylabel("peak training memory (MiB)")
    ax.set_title("Full BPTT grows linearly with L; truncated BPTT stays flat")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="L = 256, 512, 1024 and a smaller model")
    p.add_argument("--chunk", type=int, default=32, help="T, the truncation length")
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--hidden", type=int, default=None)
    p.add_argument("--inputs", type=int, default=8)
    p.add_argument("--reference", action="store_true", help="use the reference path (fused=False)")
    p.add_argument("--out", default=None, help="save the plot here (PNG; needs matplotlib)")
    p.add_argument("--json", default=None, help="save the numbers here")
    p.add_argument("--measure", nargs=6, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure:
        L, T, batch, hidden, inputs, fused = map(int, args.measure)
        peak, seconds = measure(L, T, batch, hidden, inputs, bool(fused))
        print(peak, seconds)
        return None
    lengths = QUICK_LENGTHS if args.quick else FULL_LENGTHS
    batch = args.batch or (16 if args.quick else 32)
    hidden = args.hidden or (64 if args.quick else 128)
    T = args.chunk
    print(f"threads: os.cpu_count()={os.cpu_count()}; LSTM({args.inputs}, {hidden}), batch {batch}, "
          f"T = {T}, {'reference' if args.reference else 'fused'} path; peak tracemalloc bytes above "
          f"the start of the pass, one subprocess per measurement", flush=True)
    print(f"{'L':>6s} {'full (MiB)':>12s} {'truncated (MiB)':>16s} {'full/truncated':>15s} "
          f"{'full (s)':>9s} {'trunc (s)':>10s}", flush=True)
    results = []
    for L in lengths:
        full, tf = run_subprocess(L, L, batch, hidden, args.inputs, not args.reference)
        trunc, tt = run_subprocess(L, T, batch, hidden, args.inputs, not args.reference)
        results.append({"L": L, "full_bytes": full, "truncated_bytes": trunc, "full_seconds": tf,
                        "truncated_seconds": tt})
        print(f"{L:6d} {full / 2 ** 20:12.2f} {trunc / 2 ** 20:16.2f} {full / trunc:15.1f} {tf:9.2f} "
              f"{tt:10.2f}", flush=True)
    flat = max(r["truncated_bytes"] for r in results) / min(r["truncated_bytes"] for r in results) - 1
    growth = results[-1]["full_bytes"] / results[0]["full_bytes"]
    print(f"truncated: largest / smallest peak - 1 = {flat:.1%}; full: peak grew {growth:.1f}x while L "
          f"grew {lengths[-1] // lengths[0]}x")
    if args.out:
        plot(results, args.out, T)
        print(f"plot saved to {args.out}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu_count": os.cpu_count(), "batch": batch, "hidden": hidden, "inputs": args.inputs,
                       "T": T, "results": results}, f, indent=1)
    return results


if __name__ == "__main__":
    main()
