"""Retired: its cases (per-op overhead on tiny tensors, an MLP training step) are the ``chain``,
``chain_nograd`` and ``mlp`` workloads of the benchmark runner, which times each library in its
own worker process with the same weights. This script runs those:

    python benchmarks/bench_core.py [--quick] [--threads N]
    # the same as: python -m benchmarks --only chain,chain_nograd,mlp [--quick] [--threads N]
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks.runner import main  # noqa: E402

if __name__ == "__main__":
    main(["--only", "chain,chain_nograd,mlp"] + sys.argv[1:])
