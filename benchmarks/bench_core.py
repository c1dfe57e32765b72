"""Core timings: per-op overhead on tiny tensors and an MLP training step, beside PyTorch if installed.

    python benchmarks/bench_core.py            # prints a table
    python benchmarks/bench_core.py --quick    # fewer repeats

Report the figures with the machine's thread count (printed first).
"""
import argparse
import os
import time

import numpy as np

import tinygrad_rnn as tg


def timeit(fn, repeat, number):
    fn()  # warm up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def cases(lib, xp_tensor, requires_grad):
    """(name, callable) pairs built with the given library's tensor constructor."""
    a = xp_tensor(np.random.rand(4, 4).astype(np.float32), requires_grad)
    b = xp_tensor(np.random.rand(4, 4).astype(np.float32), requires_grad)

    def add_fwd():
        return a + b

    def small_fwd_bwd():
        (a * b + a).tanh().sum().backward()

    x = xp_tensor(np.random.rand(256, 784).astype(np.float32), False)
    w1 = xp_tensor((np.random.randn(784, 256) * 0.05).astype(np.float32), True)
    w2 = xp_tensor((np.random.randn(256, 10) * 0.05).astype(np.float32), True)

    def mlp_step():
        h = (x @ w1).relu()
        loss = (h @ w2).log_softmax(1).mean() if lib == "tinygrad_rnn" else \
            (h @ w2).log_softmax(1).mean()
        loss.backward()
        w1.grad = w2.grad = None

    return [("add 4x4 (forward, grad on)", add_fwd),
            ("(a*b+a).tanh().sum() fwd+bwd 4x4", small_fwd_bwd),
            ("MLP 256x784->256->10 fwd+bwd", mlp_step)]


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    repeat, number = (3, 50) if args.quick else (5, 300)
    print(f"threads: os.cpu_count()={os.cpu_count()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    libs = [("tinygrad_rnn", lambda a, rg: tg.Tensor(a, requires_grad=rg))]
    try:
        import torch
        libs.append(("torch", lambda a, rg: torch.tensor(a, requires_grad=rg)))
    except ImportError:
        print("(PyTorch not installed: no comparison column)")
    results = {}
    for lib, make in libs:
        for name, fn in cases(lib, make, True):
            n = number if "MLP" not in name else max(number // 30, 5)
            results.setdefault(name, {})[lib] = timeit(fn, repeat, n)
    header = f"{'case':40s}" + "".join(f"{lib:>16s}" for lib, _ in libs)
    print(header)
    for name, row in results.items():
        print(f"{name:40s}" + "".join(f"{row[lib] * 1e6:13.1f} us" for lib, _ in libs))


if __name__ == "__main__":
    main()
