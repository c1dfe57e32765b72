"""Run under ``mpiexec -n 2`` by tests/test_distributed_mpi.py: rank 1 raises while rank 0 waits in a
barrier that rank 1 never reaches. Without the excepthook that init_process_group installs, rank 0
would wait forever; with it, the job ends at once, non-zero, with rank 1's traceback on stderr."""
import tinygrad_rnn as tg
from tinygrad_rnn import distributed as dist

dist.init_process_group("mpi")
if dist.get_rank() == 1:
    raise ValueError("rank 1 fails on purpose")
x = tg.ones(1)
dist.all_reduce(x)        # rank 0 waits here for a rank that is gone
dist.barrier()
print("rank 0 was never released: this line must not run", flush=True)
