"""Data-parallel throughput of the main job's model (examples/char_lstm.py's defaults) on 1 and 2 ranks.

    python benchmarks/bench_ddp.py                 # 20 timed steps per run, 3 rounds
    python benchmarks/bench_ddp.py --steps 5 --rounds 1

Each configuration runs as its own ``mpiexec -n N`` job with one BLAS thread per rank
(``OMP_NUM_THREADS=1``), and the rounds alternate the order of the configurations, so a machine
that gets busier or quieter during the run biases no configuration. The total batch is the same
for every N (B = 32 streams x T = 64 characters per step; each rank computes B / N streams), so
steps/s compare the same work. Each rank also times the gradient averaging (copy into the
bucket, allreduce, copy back; it includes waiting for the slowest rank) per step, and, after
training, one allreduce of the same size alone with the ranks released together by a barrier.
Medians over the rounds are printed with the thread count.
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def worker(steps, warmup):
    sys.path.insert(0, str(ROOT / "examples"))
    import tinygrad_rnn as tg
    from tinygrad_rnn import distributed as dist
    from tinygrad_rnn.data import batchify, bptt_chunks
    from tinygrad_rnn.datasets import load_char_corpus
    from tinygrad_rnn.nn import functional as F
    from tinygrad_rnn.nn.parallel import DistributedDataParallel
    from char_lstm import DEFAULTS, build_model

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    corpus = load_char_corpus(max_chars=2_000_000)
    V, B, T = 166, DEFAULTS["batch_size"], DEFAULTS["bptt"]    # 166: the full stdlib corpus's vocabulary
    tg.manual_seed(0)
    model = DistributedDataParallel(build_model(DEFAULTS, V, "cpu"))
    spent = []
    inner = model._average_gradients

    def timed(used):
        t = time.perf_counter()
        inner(used)
        spent.append(time.perf_counter() - t)
    model._average_gradients = timed
    opt = tg.optim.Adam(model.parameters(), lr=1e-3)
    ids = tg.tensor(corpus.train % V)
    chunks = list(bptt_chunks(batchify(ids, B, num_replicas=world, rank=rank), T, drop_last=True))
    state = None
    for i in range(warmup + steps):
        if i == warmup:
            dist.barrier()
            start, spent[:] = time.perf_counter(), []
        x, y = chunks[i % len(chunks)]
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        state = tuple(s.detach() for s in state)
    dist.barrier()
    elapsed = time.perf_counter() - start
    n = sum(p.numel() for p in model.parameters())
    flat, bare = tg.zeros(n), []           # the allreduce alone, ranks released together
    for _ in range(10):
        dist.barrier()
        t = time.perf_counter()
        dist.all_reduce(flat)
        bare.append(time.perf_counter() - t)
    if rank == 0:
        print(json.dumps({"ranks": world, "step_s": elapsed / steps, "allreduce_s": sum(spent) / steps,
                          "bare_s": statistics.median(bare), "params": n, "buckets": len(model._buckets),
                          "chars_s": steps * B * T / elapsed}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.steps, args.warmup)
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("mpiexec not found: pip install -e '.[distributed]'")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(ROOT))
    print(f"machine: os.cpu_count()={os.cpu_count()}, 1 BLAS thread per rank; char-LSTM defaults "
          f"(embed 64, 2 x LSTM 256, B=32 streams x T=64 per step in total); {args.steps} steps per run")
    results = {n: [] for n in args.ranks}
    for r in range(args.rounds):
        order = args.ranks if r % 2 == 0 else list(reversed(args.ranks))
        for n in order:
            out = subprocess.run([mpiexec, "-n", str(n), sys.executable, __file__, "--worker", "--steps",
                                  str(args.steps), "--warmup", str(args.warmup)], env=env,
                                 capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            results[n].append(res)
            print(f"  round {r + 1}, {n} rank(s): {res['step_s'] * 1e3:.0f} ms/step", flush=True)
    base = None
    print("| ranks | ms / step | characters / s | speed-up | averaging ms / step | allreduce alone, ms |")
    print("|---|---|---|---|---|---|")
    for n in args.ranks:
        step = statistics.median(x["step_s"] for x in results[n])
        red = statistics.median(x["allreduce_s"] for x in results[n])
        bare = statistics.median(x["bare_s"] for x in results[n])
        base = base or step
        print(f"| {n} | {step * 1e3:.0f} | {32 * 64 / step:,.0f} | {base / step:.2f}x | {red * 1e3:.1f} | "
              f"{bare * 1e3:.1f} |")
    res = results[args.ranks[0]][0]
    print(f"{res['params']:,} parameters = {res['params'] * 4 / 1e6:.2f} MB of float32 gradients "
          f"in {res['buckets']} bucket(s)")


if __name__ == "__main__":
    main()
