"""Run under ``mpiexec -n N`` by tests/test_distributed_mpi.py: every check of the MPI transport and of
DistributedDataParallel that needs real ranks. Each check is checked against an independent truth
(closed forms, or one process training on the concatenated batch); rank 0 prints ``ok <check>``
after each. A failed check raises, and the excepthook of init_process_group aborts the job.

    mpiexec -n 2 python ddp_check.py --ckpt DIR --phase write    # also writes a checkpoint
    mpiexec -n 3 python ddp_check.py --ckpt DIR --phase resume   # resumes it with another world size
"""
import argparse
import math
import os
import sys

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import distributed as dist
from tinygrad_rnn import nn
from tinygrad_rnn.data import DataLoader, DistributedSampler, TensorDataset, batchify, bptt_chunks
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.nn.parallel import DistributedDataParallel as DDP

# float64 throughout: DDP's average and one process's mean over the same samples differ only by
# the order of additions, a few ulps, which k optimizer steps do not amplify past this.
RTOL, ATOL = 1e-13, 1e-15

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def say(msg):
    if dist.get_rank() == 0:
        print(msg, flush=True)


def assert_same_on_all_ranks(model):
    """Every rank holds bit-identical parameters."""
    mine = [p.numpy().copy() for p in model.parameters()]
    every = [None] * dist.get_world_size()
    dist.all_gather_object(every, mine)
    for theirs in every:
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b)


def assert_close(model, reference):
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=RTOL, atol=ATOL, err_msg=name)


# ----------------------------------------------------------------------------- collectives

@check
def collectives_match_closed_forms():
    r, n = dist.get_rank(), dist.get_world_size()
    x = tg.tensor([1.0, -2.0], dtype=tg.float64) * (r + 1)
    w = tg.ones(2, dtype=tg.float64, requires_grad=True)
    y = (w * x).sum()                        # saves x for backward
    dist.all_reduce(x)
    s = n * (n + 1) / 2                      # 1 + 2 + ... + n
    assert x.tolist() == [s, -2 * s], x
    try:                                     # the version counter saw the in-place change
        y.backward()
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e), str(e)
    else:
        raise AssertionError("backward must refuse a tensor changed in place by all_reduce")
    for op, expect in ((dist.ReduceOp.AVG, [s / n, -2 * s / n]), (dist.ReduceOp.MAX, [n, -2.0]),
                       (dist.ReduceOp.MIN, [1.0, -2.0 * n]),
                       (dist.ReduceOp.PRODUCT, [math.factorial(n), (-2.0) ** n * math.factorial(n)])):
        y = tg.tensor([1.0, -2.0], dtype=tg.float64) * (r + 1)
        assert dist.all_reduce(y, op=op) is None
        np.testing.assert_allclose(y.numpy(), expect, rtol=1e-15)
    i = tg.tensor([r, 10 * r])
    dist.all_reduce(i)
    assert i.tolist() == [n * (n - 1) // 2, 10 * n * (n - 1) // 2] and i.dtype == tg.int64
    flags = tg.tensor([r == 0, True])
    dist.all_reduce(flags)                   # SUM of bools is "any", MIN is "all"
    assert flags.tolist() == [True, True]
    flags = tg.tensor([r == 0, True])
    dist.all_reduce(flags, op=dist.ReduceOp.MIN)
    assert flags.tolist() == [n == 1, True]


@check
def non_contiguous_and_device_tensors_reduce_in_place():
    r, n = dist.get_rank(), dist.get_world_size()
    base = tg.arange(6, dtype=tg.float64).reshape(2, 3) * (r + 1)
    view = base.T                            # a strided view: goes through one contiguous temporary
    assert not view.array.flags.c_contiguous
    dist.all_reduce(view)
    assert base.tolist() == (np.arange(6.0).reshape(2, 3) * n * (n + 1) / 2).tolist()
    from tinygrad_rnn.testing import fakecupy
    fakecupy.install()                       # CuPy-like arrays: staged through host memory
    f = tg.tensor([1.0, 2.0], device="fake") * (r + 1)
    dist.all_reduce(f, op="avg")
    assert f.device.type == "fake" and f.tolist() == [(n + 1) / 2, n + 1]
    dist.broadcast(f, src=n - 1)
    assert f.tolist() == [(n + 1) / 2, n + 1]


@check
def broadcast_all_gather_and_objects():
    r, n = dist.get_rank(), dist.get_world_size()
    x = tg.full((2, 2), float(r))
    work = dist.broadcast(x, src=n - 1, async_op=True)
    assert work.wait() and x.tolist() == [[n - 1.0] * 2] * 2
    out = [tg.zeros(3, dtype=tg.int32) for _ in range(n)]
    dist.all_gather(out, tg.tensor([r, r * r, -r], dtype=tg.int32))
    assert [o.tolist() for o in out] == [[k, k * k, -k] for k in range(n)]
    objs = [f"from rank {r}", {"r": r}]
    dist.broadcast_object_list(objs, src=0)
    assert objs == ["from rank 0", {"r": 0}]
    every = [None] * n
    dist.all_gather_object(every, (r, "x" * r))
    assert every == [(k, "x" * k) for k in range(n)]
    dist.barrier()
    assert os.environ["RANK"] == str(r) and os.environ["WORLD_SIZE"] == str(n)


@check
def bad_calls_raise_clear_errors():
    n = dist.get_world_size()
    for call, error, text in (
            (lambda: dist.all_reduce([1.0]), TypeError, "Expected parameter `tensor` of type Tensor"),
            (lambda: dist.broadcast(tg.ones(1), src=n), ValueError, f"src must be a rank in [0, {n - 1}]"),
            (lambda: dist.all_gather([tg.ones(1)] * (n + 1), tg.ones(1)), ValueError, f"world_size={n}"),
            (lambda: dist.all_reduce(tg.ones(1, dtype=tg.int64), op=dist.ReduceOp.AVG), TypeError,
             "AVG needs a floating point"),
            (lambda: dist.init_process_group("mpi"), ValueError, "initialize the default process group twice")):
        try:
            call()
        except error as e:
            assert text in str(e), (text, str(e))
        else:
            raise AssertionError(f"expected {error.__name__}: {text}")


# ----------------------------------------------------------------------------- DDP = one big batch

def mlp(seed):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)).double()


def global_batches(steps, per_rank, n, seed=7):
    g = tg.Generator(seed)
    return [(tg.randn(per_rank * n, 4, dtype=tg.float64, generator=g),
             tg.randn(per_rank * n, 2, dtype=tg.float64, generator=g)) for _ in range(steps)]


def train(model, batches, optimizer, first=0):
    for x, y in batches[first:]:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def my_share(batch, b):
    r = dist.get_rank()
    return tuple(t[r * b:(r + 1) * b] for t in batch)


def count_allreduces():
    """Wrap the process group's all_reduce to count the messages DDP sends."""
    g = dist._group
    calls = []
    inner = g.all_reduce

    def counting(array, op):
        calls.append(array.size * array.dtype.itemsize)
        inner(array, op)
    g.all_reduce = counting
    return calls


@check
def ddp_mlp_equals_one_process_on_the_concatenated_batch():
    n, b, steps = dist.get_world_size(), 3, 3
    batches = global_batches(steps, b, n)
    reference = mlp(100)                         # rank 0's initial weights, one process
    train(reference, batches, tg.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9))
    sizes = [p.numel() * 8 for p in reference.parameters()]
    for cap_mb, expected_buckets in ((None, 1), (200 / 2 ** 20, None)):
        model = DDP(mlp(100 + dist.get_rank()), bucket_cap_mb=cap_mb)   # different starts: rank 0's wins
        assert_same_on_all_ranks(model)
        opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        calls = count_allreduces()
        train(model, [my_share(batch, b) for batch in batches], opt)
        del dist._group.all_reduce               # the method again
        assert len(calls) == steps * len(model._buckets), (calls, model._buckets)
        if expected_buckets:
            assert len(model._buckets) == expected_buckets
        else:                                   # at most 200 bytes per message, unless one parameter is larger
            assert len(model._buckets) > 1
            for bucket in model._buckets:
                total = sum(sizes[i] for i in bucket)
                assert total <= 200 or len(bucket) == 1, (bucket, total)
            assert sorted(i for bk in model._buckets for i in bk) == list(range(len(sizes)))
            assert model._buckets[0][0] == len(sizes) - 1      # reverse registration order
        assert_close(model.module, reference)
        assert_same_on_all_ranks(model)


class CharNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 5)
        self.head = nn.Linear(5, 3)

    def forward(self, x, state=None):
        out, state = self.lstm(x, state)
        return self.head(out), state


def train_tbptt(model, streams, optimizer, chunk_len=4):
    state = None
    for x, y in bptt_chunks(streams, chunk_len, drop_last=True):
        optimizer.zero_grad()
        out, state = model(x, state)
        F.mse_loss(out, y).backward()
        optimizer.step()
        state = nn.utils.detach_hidden(state)


@check
def ddp_lstm_with_truncated_bptt_equals_one_process():
    r, n, B = dist.get_rank(), dist.get_world_size(), 6
    seq = tg.randn(13 * B + 5, 3, dtype=tg.float64, generator=tg.Generator(3))   # 13 steps: 3 chunks of 4
    tg.manual_seed(11)
    reference = CharNet().double()
    train_tbptt(reference, batchify(seq, B), tg.optim.Adam(reference.parameters(), lr=0.01))
    tg.manual_seed(11 + r)
    model = DDP(CharNet().double())
    mine = batchify(seq, B, num_replicas=n, rank=r)
    assert mine.shape == (len(seq) // B, B // n, 3)
    train_tbptt(model, mine, tg.optim.Adam(model.parameters(), lr=0.01))
    assert_close(model.module, reference)


@check
def no_sync_accumulation_equals_one_big_step():
    n, b, micro = dist.get_world_size(), 2, 3
    (x, y), = global_batches(1, b * micro, n, seed=5)
    reference = mlp(200)
    opt = tg.optim.SGD(reference.parameters(), lr=0.1)
    F.mse_loss(reference(x), y).backward()
    opt.step()
    model = DDP(mlp(200))
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    xs, ys = my_share((x, y), b * micro)
    calls = count_allreduces()
    for m in range(micro):                       # loss / micro: the accumulated mean over all samples
        part = slice(m * b, (m + 1) * b)
        if m < micro - 1:
            with model.no_sync():
                (F.mse_loss(model(xs[part]), ys[part]) / micro).backward()
            assert not calls, "no_sync() must not communicate"
        else:
            (F.mse_loss(model(xs[part]), ys[part]) / micro).backward()
    del dist._group.all_reduce
    assert len(calls) == 1
    opt.step()
    assert_close(model.module, reference)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 1).double()
        self.b = nn.Linear(2, 1).double()
        self.never = nn.Linear(2, 1).double()

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


@check
def unused_parameters_raise_or_count_as_zeros():
    r, n = dist.get_rank(), dist.get_world_size()
    tg.manual_seed(0)
    model = DDP(TwoHeads())
    try:
        model(tg.ones(1, 2, dtype=tg.float64), use_b=True).sum().backward()
    except RuntimeError as e:
        assert "find_unused_parameters=True" in str(e) and "never.weight" in str(e), str(e)
        assert f"did not receive grad for rank {r}: 4 5" in str(e), str(e)
    else:
        raise AssertionError("an unused parameter must raise without find_unused_parameters")
    tg.manual_seed(0)
    model = DDP(TwoHeads(), find_unused_parameters=True)
    x = tg.ones(1, 2, dtype=tg.float64) * (r + 1)
    model(x, use_b=r == 0).sum().backward()      # b is used by rank 0 only
    assert model.module.never.weight.grad is None            # unused everywhere: left alone
    np.testing.assert_allclose(model.module.b.weight.grad.numpy(), [[1 / n, 1 / n]])   # (x0 + 0s) / n
    np.testing.assert_allclose(model.module.a.weight.grad.numpy(), [[(n + 1) / 2] * 2])


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 1).double()
        self.b = nn.Linear(2, 1).double()

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


def expect_error(fn, *texts):
    try:
        fn()
    except RuntimeError as e:
        for text in texts:
            assert text in str(e), (text, str(e))
        return str(e)
    raise AssertionError(f"expected a RuntimeError with {texts}")


@check
def a_branch_skipped_on_one_rank_raises_on_every_rank_and_keeps_them_in_step():
    r, n = dist.get_rank(), dist.get_world_size()
    tg.manual_seed(0)
    model = DDP(Branchy())
    x = tg.ones(1, 2, dtype=tg.float64)
    # rank 0 uses b, the others do not: every rank raises (none waits in an allreduce for the others)
    msg = expect_error(lambda: model(x, use_b=r == 0).sum().backward(),
                       "find_unused_parameters=True", "every rank raises this error",
                       *[f"did not receive grad for rank {k}: 2 3 (b.weight, b.bias)" for k in range(1, n)])
    assert "for rank 0:" not in msg, msg
    for p in model.parameters():                 # nothing averaged: each rank keeps its own gradient
        p.grad = None
    model(x * (r + 1), use_b=True).sum().backward()      # the ranks are still in step
    np.testing.assert_allclose(model.module.a.weight.grad.numpy(), [[(n + 1) / 2] * 2])   # mean of r + 1


@check
def a_rank_that_skips_backward_is_an_error_on_every_rank_not_a_wrong_average():
    r, n = dist.get_rank(), dist.get_world_size()
    tg.manual_seed(0)
    model = DDP(nn.Linear(2, 1).double())
    x = tg.ones(1, 2, dtype=tg.float64)
    # Rank n-1 skips the backward of step 1 (an empty batch, say) and runs that of step 2: without the
    # check, its step-2 gradient would be averaged with the others' step-1 gradient.
    last = n - 1
    if r == last:
        model(x)
        expect_error(lambda: model(x).sum().backward(), "the ranks are out of step",
                     f"rank {last}: forward 2, backward 1", "rank 0: forward 1, backward 1")
    else:
        expect_error(lambda: model(x).sum().backward(), "the ranks are out of step",
                     f"rank {last}: forward 2, backward 1")


@check
def two_backwards_through_one_forward_are_each_averaged():
    n, b = dist.get_world_size(), 3
    (x, y), = global_batches(1, b, n, seed=13)
    reference = mlp(400)                         # one process, the concatenated batch
    out = reference(x)
    F.mse_loss(out, y).backward(retain_graph=True)
    after_first = [p.grad.numpy().copy() for p in reference.parameters()]
    (out ** 2).mean().backward()                 # adds the second loss's gradient: g1 + g2
    model = DDP(mlp(400), bucket_cap_mb=200 / 2 ** 20)   # several buckets
    xs, ys = my_share((x, y), b)
    calls = count_allreduces()
    out = model(xs)
    F.mse_loss(out, ys).backward(retain_graph=True)
    assert len(calls) == len(model._buckets)
    for p, g in zip(model.module.parameters(), after_first):   # averaged after the first backward...
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=RTOL, atol=ATOL)
    (out ** 2).mean().backward()
    del dist._group.all_reduce
    assert len(calls) == 2 * len(model._buckets)     # ...and again after the second
    for p, q in zip(model.module.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=RTOL, atol=ATOL)
    assert_same_on_all_ranks(model)


class WithBuffer(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.lin = nn.Linear(1, 1)
        self.register_buffer("count", tg.tensor([float(value)]))

    def forward(self, x):
        return self.lin(x) * self.count


@check
def buffers_come_from_rank_0():
    r = dist.get_rank()
    model = DDP(WithBuffer(r + 5))
    assert model.module.count.tolist() == [5.0]             # at construction
    model.module.count.data[...] = r + 7                     # ranks drift apart...
    model(tg.ones(1, 1))                                     # ...and forward re-syncs them
    assert model.module.count.tolist() == [7.0]
    model.module.count.data[...] = r + 9
    with tg.no_grad():
        model(tg.ones(1, 1))                                 # evaluation: no communication
    assert model.module.count.tolist() == [r + 9.0]


@check
def different_models_are_refused_on_every_rank():
    r = dist.get_rank()
    try:
        DDP(nn.Linear(2, 2 + (r == dist.get_world_size() - 1)))
    except RuntimeError as e:
        assert "DDP expects same model across all ranks" in str(e), str(e)
    else:
        if dist.get_world_size() > 1:
            raise AssertionError("different parameter shapes must raise")


@check
def distributed_sampler_shards_are_disjoint_and_cover():
    r, n = dist.get_rank(), dist.get_world_size()
    data = TensorDataset(tg.arange(11))
    sampler = DistributedSampler(data, seed=3)               # rank and world size from the group
    assert (sampler.rank, sampler.num_replicas, len(sampler)) == (r, n, math.ceil(11 / n))
    orders = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        mine = [int(i) for (batch,) in DataLoader(data, batch_size=2, sampler=sampler) for i in batch.tolist()]
        every = [None] * n
        dist.all_gather_object(every, mine)
        flat = [i for shard in every for i in shard]
        assert all(len(s) == len(sampler) for s in every)
        assert sorted(set(flat)) == list(range(11))          # cover
        assert len(flat) - len(set(flat)) == n * len(sampler) - 11   # only the padding repeats
        orders.append(every)
    assert orders[0] != orders[1], "set_epoch must reshuffle"


# ----------------------------------------------------------------------------- checkpoints

def checkpoint_run(ckpt, phase):
    """Global batch of 6 per step for 4 steps, split over 2 ranks (b=3) while writing the checkpoint
    after step 2, and over 3 ranks (b=2) when resuming it for steps 3 and 4."""
    n = dist.get_world_size()
    batches = global_batches(4, 6 // n, n, seed=9)
    path = os.path.join(ckpt, "ddp.ckpt")
    model = DDP(mlp(300 + dist.get_rank()))
    opt = tg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    if phase == "write":
        train(model, [my_share(batch, 6 // n) for batch in batches[:2]], opt)
        if dist.get_rank() == 0:                 # one writer; tg.save replaces the file atomically
            tg.save({"model": model.module.state_dict(), "optim": opt.state_dict(), "step": 2}, path)
        dist.barrier()                           # nobody reads before it is complete
        assert os.listdir(ckpt) == ["ddp.ckpt"], os.listdir(ckpt)     # no temporary left behind
        assert all(k.startswith("module.") for k in model.state_dict())
        assert not any(k.startswith("module.") for k in model.module.state_dict())
        return
    ck = tg.load(path)
    model.module.load_state_dict(ck["model"])    # the bare module's keys: loads without a prefix
    opt.load_state_dict(ck["optim"])
    train(model, [my_share(batch, 6 // n) for batch in batches], opt, first=ck["step"])
    reference = mlp(300)
    opt = tg.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9)
    train(reference, global_batches(4, 3, 2, seed=9), opt)              # the same 6 samples per step
    assert_close(model.module, reference)
    assert_same_on_all_ranks(model)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ckpt", required=True)
    p.add_argument("--phase", choices=["write", "resume"], required=True)
    args = p.parse_args()
    dist.init_process_group("mpi")
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    for fn in CHECKS:
        fn()
        dist.barrier()
        say(f"ok {fn.__name__}")
    checkpoint_run(args.ckpt, args.phase)
    say(f"ok checkpoint_{args.phase}")
    dist.destroy_process_group()
    assert not dist.is_initialized() and sys.excepthook is sys.__excepthook__


if __name__ == "__main__":
    main()
