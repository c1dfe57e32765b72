"""A small conv net's training step, tinygrad_rnn beside PyTorch (CPU) when it is installed.

The net: batch 64 of 1x28x28 -> conv3x3(16, padding 1) -> ReLU -> maxpool 2 ->
conv3x3(32, no padding) -> ReLU -> maxpool 2 -> linear(32*6*6 -> 10) -> cross-entropy, one SGD step.

Each library runs in its OWN worker process (in one process PyTorch's OpenMP threads and OpenBLAS's
threads compete for the cores), both with the same thread count; the parent drives them in
alternating rounds (A B, B A, A B, ...) so that a change in machine load hits both alike, and
reports the median time per step.

    python benchmarks/bench_conv.py                # 2 threads (os.cpu_count()), 7 rounds
    python benchmarks/bench_conv.py --threads 1    # one thread each
    python benchmarks/bench_conv.py --quick        # 3 short rounds

Report the figures with the thread count (printed first).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH, CLASSES = 64, 10


def build(lib):
    """(step function) for ``lib`` in "tinygrad_rnn" or "torch": the same net, data and optimizer."""
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    if lib == "torch":
        import torch
        from torch import nn
        F = nn.functional
        torch.manual_seed(0)
        X, Y = torch.tensor(x), torch.tensor(y)
    else:
        import tinygrad_rnn as torch   # noqa: same names, on purpose
        from tinygrad_rnn import nn
        F = nn.functional
        torch.manual_seed(0)
        X, Y = torch.tensor(x), torch.tensor(y)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 6 * 6, CLASSES))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(X), Y)
        loss.backward()
        opt.step()
        return loss
    return step


def worker(lib):
    """Serve timing requests on stdin: each line "N" runs N steps and answers the seconds per step."""
    step = build(lib)
    for _ in range(3):
        step()
    print("ready", flush=True)
    for line in sys.stdin:
        n = int(line)
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        print(json.dumps((time.perf_counter() - t0) / n), flush=True)


def start(lib, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    p = subprocess.Popen([sys.executable, __file__, "--worker", lib], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
    if p.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the {lib} worker did not start")
    return p


def ask(p, steps):
    p.stdin.write(f"{steps}\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20, help="training steps per round")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    rounds, steps = (3, 5) if args.quick else (args.rounds, args.steps)
    print(f"threads: {args.threads} per library (os.cpu_count()={os.cpu_count()}); "
          f"{rounds} rounds of {steps} steps, alternating")
    libs = ["tinygrad_rnn"]
    try:
        import importlib.util
        if importlib.util.find_spec("torch") is not None:
            libs.append("torch")
    except ImportError:
        pass
    if len(libs) == 1:
        print("(PyTorch not installed: no comparison column)")
    procs = {lib: start(lib, args.threads) for lib in libs}
    times = {lib: [] for lib in libs}
    try:
        for r in range(rounds):
            for lib in (libs if r % 2 == 0 else libs[::-1]):
                times[lib].append(ask(procs[lib], steps))
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait()
    med = {lib: statistics.median(ts) for lib, ts in times.items()}
    print(f"{'library':14s} {'median ms/step':>15s} {'best ms/step':>13s}")
    for lib in libs:
        print(f"{lib:14s} {med[lib] * 1e3:15.2f} {min(times[lib]) * 1e3:13.2f}")
    if "torch" in med:
        print(f"ratio tinygrad_rnn / torch (median): {med['tinygrad_rnn'] / med['torch']:.2f}x")
    return med


if __name__ == "__main__":
    main()
