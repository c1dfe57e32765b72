"""Recurrent layers: time of one training step (forward, loss, backward) of a one-layer LSTM / GRU,
beside PyTorch's ``torch.nn.LSTM`` / ``torch.nn.GRU`` on the CPU when PyTorch is installed.

    python benchmarks/bench_rnn.py                 # LSTM and GRU, hidden 128, 256, 512
    python benchmarks/bench_rnn.py --quick         # fewer rounds, shorter
    python benchmarks/bench_rnn.py --modes LSTM --hidden 256 --rounds 9

The step: batch 32, input 64, sequence 64, ``loss = (output ** 2).mean()``, ``zero_grad`` and
``backward``. Each library runs in its OWN worker process (in one process PyTorch's OpenMP threads
and OpenBLAS's threads fight over the cores), both with the same thread count (``--threads``,
default: all cores). The workers are driven in alternating rounds, so a burst of load on the
machine hits both; a round times ``--steps`` steps and the figures reported are the median and
the best round. Prints the machine's thread count first; quote figures together with it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH, INPUT, SEQ = 32, 64, 64


def build(lib, mode, hidden, threads):
    """One training step of ``lib``'s LSTM / GRU: "torch", or tinygrad_rnn ("reference": its
    fused=False path). The two share names, so one function builds both."""
    if lib == "torch":
        import torch as T
        T.set_num_threads(threads)
        options = {}
    else:
        import tinygrad_rnn as T
        options = {"fused": lib != "reference"}
    T.manual_seed(0)
    model = getattr(T.nn, mode)(INPUT, hidden, **options)
    x = T.randn(SEQ, BATCH, INPUT)

    def step():
        out, _ = model(x)
        loss = (out * out).mean()
        model.zero_grad()
        loss.backward()
    return step


def worker(lib, mode, hidden, threads, clock):
    """Build the model, warm up, then answer each line "N" on stdin with the seconds per step of N
    steps, until stdin closes. ``clock``: "wall" (perf_counter) or "cpu" (process_time: the CPU
    time of this process, all its threads; with one thread it ignores time spent descheduled)."""
    step = build(lib, mode, hidden, threads)
    now = time.process_time if clock == "cpu" else time.perf_counter
    for _ in range(2):
        step()
    print("ready", flush=True)
    for line in sys.stdin:
        n = int(line)
        t0 = now()
        for _ in range(n):
            step()
        print((now() - t0) / n, flush=True)


class Worker:
    def __init__(self, lib, mode, hidden, threads, clock):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", lib, mode, str(hidden),
                                      str(threads), clock], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"worker {lib} failed to start")

    def time(self, steps):
        self.proc.stdin.write(f"{steps}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def measure(libs, mode, hidden, threads, rounds, steps, clock="wall"):
    """(median, best) seconds per step over rounds for each library, rounds alternating which one
    goes first."""
    workers = {lib: Worker(lib, mode, hidden, threads, clock) for lib in libs}
    times = {lib: [] for lib in libs}
    try:
        for r in range(rounds):
            order = libs if r % 2 == 0 else libs[::-1]
            for lib in order:
                times[lib].append(workers[lib].time(steps))
    finally:
        for w in workers.values():
            w.close()
    return {lib: (statistics.median(ts), min(ts)) for lib, ts in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds and steps")
    p.add_argument("--modes", default="LSTM,GRU")
    p.add_argument("--hidden", default="128,256,512")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--steps", type=int, default=None, help="steps per round")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall time, or the workers' CPU time (robust on a busy machine with --threads 1)")
    p.add_argument("--reference", action="store_true", help="also time the reference path (fused=False)")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        lib, mode, hidden, threads, clock = args.worker
        return worker(lib, mode, int(hidden), int(threads), clock)
    rounds = args.rounds or (3 if args.quick else 7)
    steps = args.steps or (2 if args.quick else 5)
    print(f"threads: os.cpu_count()={os.cpu_count()}, workers use {args.threads} "
          f"(torch.set_num_threads, OPENBLAS/OMP_NUM_THREADS); batch {BATCH}, input {INPUT}, "
          f"sequence {SEQ}; {args.clock} clock; {rounds} alternating rounds of {steps} steps; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    libs = ["tinygrad_rnn"] + (["reference"] if args.reference else [])
    try:
        import torch  # noqa: F401
        libs.append("torch")
    except ImportError:
        print("(PyTorch not installed: no comparison column)")
    print("median (best) ms per step")
    print(f"{'layer':6s} {'hidden':>6s}" + "".join(f"{lib:>22s}" for lib in libs)
          + ("   ratio median (best)" if "torch" in libs else ""), flush=True)
    results = []
    for mode in args.modes.split(","):
        for hidden in (int(h) for h in args.hidden.split(",")):
            t = measure(libs, mode, hidden, args.threads, rounds, steps, args.clock)
            row = f"{mode:6s} {hidden:6d}" + "".join(f"{t[lib][0] * 1e3:13.1f} ({t[lib][1] * 1e3:6.1f})"
                                                       for lib in libs)
            if "torch" in t:
                ours, theirs = t["tinygrad_rnn"], t["torch"]
                row += f"   {ours[0] / theirs[0]:6.2f}x ({ours[1] / theirs[1]:.2f}x)"
            print(row, flush=True)
            results.append({"mode": mode, "hidden": hidden,
                            **{lib: {"median": t[lib][0], "best": t[lib][1]} for lib in libs}})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "cpu_count": os.cpu_count(), "clock": args.clock,
                       "results": results}, f, indent=1)
    return results


if __name__ == "__main__":
    main()
