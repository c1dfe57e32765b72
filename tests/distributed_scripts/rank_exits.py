"""Run under ``mpiexec -n 2`` by tests/test_distributed_mpi.py: rank 1 ends its script early, with
``SystemExit``, which never reaches the excepthook that init_process_group installs.

    --how argparse      rank 1's arguments are refused by argparse (parser.error: exit status 2)
                        while rank 0 waits for it in an all_reduce
    --how exit0         rank 1 calls sys.exit(0) while rank 0 waits for it in an all_reduce
    --how exit0-late    rank 1 calls sys.exit(0); rank 0 reaches its all_reduce a second later
    --how done-early    rank 1 calls sys.exit(0) after the last collective both ranks make; rank 0
                        goes on alone for a while: a normal end, status 0, nothing reported

In the first three the job must end within seconds, non-zero, with rank 0 naming rank 1 on stderr.
"""
import argparse
import sys
import time

import tinygrad_rnn as tg
from tinygrad_rnn import distributed as dist

how = sys.argv[sys.argv.index("--how") + 1]
dist.init_process_group("mpi")
rank = dist.get_rank()
x = tg.ones(1)
if how == "done-early":
    dist.all_reduce(x)
    if rank == 1:
        sys.exit(0)
    time.sleep(1.0)                    # rank 0's own work after the last collective
    print(f"rank 0 finished alone: {x.tolist()}", flush=True)
    sys.exit(0)
if rank == 1:
    if how == "argparse":
        parser = argparse.ArgumentParser()
        parser.add_argument("--how")
        parser.add_argument("--steps", type=int, required=True)
        parser.parse_args()            # --steps is missing: "error: ..." and SystemExit(2)
    sys.exit(0)
if how == "exit0-late":
    time.sleep(1.0)                    # rank 1 is gone before this rank asks for it
dist.all_reduce(x)                     # rank 0 waits here for a rank that is gone
print("rank 0 was never released: this line must not run", flush=True)
