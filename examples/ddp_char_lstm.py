"""The main job (examples/char_lstm.py) trained data-parallel on several processes or machines.

    mpiexec -n 2 python examples/ddp_char_lstm.py             # 2 ranks on this machine
    mpiexec -n 2 python examples/ddp_char_lstm.py --quick     # a few seconds (the tests run this)
    mpiexec -n 8 -ppn 4 -hosts a,b python examples/ddp_char_lstm.py   # 4 ranks on each of 2 machines
    python examples/ddp_char_lstm.py                          # one process: same as char_lstm.py

What it teaches: data parallelism. The B parallel streams of truncated BPTT are shared out, B / N
to each of the N ranks (``batchify(..., num_replicas=N, rank=r)``). Every rank holds the whole
model; ``DistributedDataParallel`` copies rank 0's weights to all at the start and averages the
gradients over the ranks after every backward, so every rank takes the same optimizer step, the
step one process would take on all B streams. The validation loss therefore matches
char_lstm.py's at the same total batch B (up to float rounding), while each rank computes only
B / N streams. Each rank carries the hidden state of its own streams from chunk to chunk.

The model, its evaluation and sampling are char_lstm.py's own (imported from it), and so is the
checkpoint format: rank 0 writes it (atomically) with the hidden state of all B streams, so a run
resumes with any number of ranks that divides B, or on one process with
``char_lstm.py --resume --checkpoint ddp_char_lstm.ckpt``. Validation is shared out the same way
(each rank scores its share of the validation streams, one allreduce adds up the sums) whenever
the number of ranks divides the validation's 64 streams. Only rank 0 prints, samples and plots.
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # char_lstm.py sits next to this file

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import distributed as dist, nn  # noqa: E402
from tinygrad_rnn.data import batchify, bptt_chunks  # noqa: E402
from tinygrad_rnn.datasets import load_char_corpus  # noqa: E402
from tinygrad_rnn.nn import functional as F  # noqa: E402
from tinygrad_rnn.nn.parallel import DistributedDataParallel  # noqa: E402
from tinygrad_rnn.progress import progress  # noqa: E402

from char_lstm import DEFAULTS, QUICK, TRAINING, build_model, sample, save_plot  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, kind, text in (("text", str, "train on this UTF-8 file instead of the stdlib's sources"),
                             ("max-chars", int, "use only the first N characters of the corpus"),
                             ("embed", int, "embedding size"), ("hidden", int, "LSTM hidden size"),
                             ("layers", int, "LSTM layers"),
                             ("batch-size", int, "parallel streams B in total, shared by the ranks"),
                             ("bptt", int, "chunk length T"), ("lr", float, "Adam's starting learning rate"),
                             ("min-lr", float, "the learning rate the cosine ends at"),
                             ("steps", int, "training steps"), ("seed", int, "seed of every random choice"),
                             ("eval-every", int, "validate and sample every N steps"),
                             ("checkpoint-every", int, "save a checkpoint every N steps"),
                             ("sample-len", int, "characters per sample")):
        p.add_argument("--" + name, type=kind, help=text + " (default: char_lstm.py's)")
    p.add_argument("--checkpoint", default="ddp_char_lstm.ckpt", help="checkpoint path (ddp_char_lstm.ckpt)")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint (any number of ranks)")
    p.add_argument("--stop-after", type=int, help="stop after N steps as if interrupted (the checkpoint "
                   "of step N is written first)")
    p.add_argument("--prime", default="def ", help='text the samples start from ("def ")')
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0.8)")
    p.add_argument("--device", default="cpu", help='"cpu", or "cuda": rank r uses GPU LOCAL_RANK '
                   "with the NCCL transport (needs CuPy with NCCL)")
    p.add_argument("--out", default="ddp_char_lstm.png", help="where rank 0 saves the loss plot")
    p.add_argument("--quick", action="store_true", help="char_lstm.py's tiny run (for tests)")
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return p, args


def evaluate(model, ids, batch_size=64, chunk_len=256):
    """char_lstm.evaluate's figure (mean nats per character over ``ids[1:]``, read as the same
    streams), with the streams shared out over the ranks when their number divides them."""
    rank, world = dist.get_rank(), dist.get_world_size()
    batch_size = max(1, min(batch_size, (len(ids) - 1) // 2))
    shared = batch_size % world == 0
    streams = batchify(ids, batch_size, num_replicas=world if shared else None,
                       rank=rank if shared else None)
    total, count, state = 0.0, 0, None
    model.eval()
    with tg.no_grad():
        for x, y in bptt_chunks(streams, chunk_len):
            logits, state = model(x, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                     reduction="sum").item()
            count += y.numel()
    model.train()
    if shared:
        sums = tg.tensor([total, float(count)], dtype=tg.float64)
        dist.all_reduce(sums)
        total, count = sums.tolist()
    return total / count


def gather_state(state, world):
    """Every rank's ``(h, c)`` of its B / N streams -> ``(h, c)`` of all B streams (in stream order)."""
    if state is None:
        return None
    full = []
    for t in state:
        parts = [tg.zeros_like(t) for _ in range(world)]
        dist.all_gather(parts, t)
        full.append(tg.cat(parts, dim=1))               # (layers, B / N, H) x N -> (layers, B, H)
    return full


def main(argv=None):
    parser, args = parse_args(argv)
    device = tg.device(args.device)
    if device.type == "cuda":                          # one GPU per rank, gradients over NVLink/IB
        dist.init_process_group("nccl")
        device = tg.device(f"cuda:{int(os.environ['LOCAL_RANK']) % tg.cuda.device_count()}")
    else:
        dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    config = {k: getattr(args, k) for k in TRAINING}
    B, T, steps = config["batch_size"], config["bptt"], config["steps"]
    if B % world:
        parser.error(f"--batch-size {B} must be divisible by the number of ranks ({world})")
    lead = rank == 0
    say = print if lead else (lambda *a, **k: None)

    corpus = load_char_corpus(config["text"], config["valid_fraction"], config["max_chars"])
    vocab, V = corpus.vocab, len(corpus.vocab)
    tg.manual_seed(config["seed"])
    model = DistributedDataParallel(build_model(config, V, device))   # rank 0's weights everywhere
    optimizer = tg.optim.Adam(model.parameters(), lr=config["lr"])
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=config["min_lr"])
    sample_gen = tg.Generator(config["seed"] + 1)

    lo, hi = rank * (B // world), (rank + 1) * (B // world)       # this rank's streams
    streams = batchify(tg.tensor(corpus.train, device=device), B, num_replicas=world, rank=rank)
    chunks = list(bptt_chunks(streams, T, drop_last=True))        # (T, B / N) each
    valid = tg.tensor(corpus.valid, device=device)
    valid_head = valid if config["eval_chars"] is None else valid[:config["eval_chars"]]
    step, state, since = 0, None, []
    history = {"step": [], "train": [], "valid_step": [], "valid": []}

    if args.resume:
        ck = tg.load(args.checkpoint, map_location=device)
        changed = [k for k in TRAINING if ck["config"][k] != config[k]]
        if changed or ck["fingerprint"] != corpus.fingerprint:
            parser.error(f"--resume: {args.checkpoint} was trained with other options ({changed}) or text")
        model.module.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optim"])
        scheduler.load_state_dict(ck["sched"])
        tg.set_rng_state(ck["rng"])
        sample_gen.set_state(ck["sample_rng"])
        step, history, since = ck["step"], ck["history"], ck["since"]
        state = None if ck["state"] is None else tuple(s[:, lo:hi].contiguous() for s in ck["state"])
        say(f"resuming from {args.checkpoint} at step {step} on {world} rank(s)")

    def checkpoint():
        full = gather_state(state, world)              # collective: every rank takes part
        if lead:                                       # one writer; tg.save replaces the file atomically
            tg.save({"config": config, "vocab": vocab.chars, "fingerprint": corpus.fingerprint,
                     "step": step, "model": model.module.state_dict(), "optim": optimizer.state_dict(),
                     "sched": scheduler.state_dict(), "rng": tg.get_rng_state(),
                     "sample_rng": sample_gen.get_state(), "state": full, "history": history,
                     "since": since}, args.checkpoint)

    n_params = sum(p.numel() for p in model.parameters())
    say(f"corpus: {corpus.source}: {len(corpus.train):,} training characters, {V} distinct")
    say(f"{world} rank(s) x {B // world} streams = {B} streams x {T} characters per step; "
        f"{n_params:,} parameters ({n_params * 4 / 2 ** 20:.2f} MiB of float32 gradients averaged "
        f"per step in {len(model._buckets)} allreduce(s))")
    bar = progress(range(step, steps), desc="training") if lead else range(step, steps)
    out = getattr(bar, "write", say)
    start, start_step = time.perf_counter(), step
    for _ in bar:
        k = step % len(chunks)
        if k == 0:
            state = None
        x, y = chunks[k]
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))   # mean over this rank's B / N streams
        optimizer.zero_grad()
        loss.backward()                                # ... and DDP averages the gradients over ranks
        nn.utils.clip_grad_norm_(model.parameters(), config["clip"])   # same averaged norm everywhere
        optimizer.step()
        scheduler.step()
        state = nn.utils.detach_hidden(state)
        step += 1
        since.append(loss.item())
        if lead:
            bar.set_postfix(loss=since[-1])
        if step % config["eval_every"] == 0 or step == steps:
            mean = tg.tensor([sum(since) / len(since)], dtype=tg.float64)
            dist.all_reduce(mean, op=dist.ReduceOp.AVG)            # the loss on all B streams
            history["step"].append(step)
            history["train"].append(mean.item())
            since = []
            if step < steps:
                v = evaluate(model, valid_head)
                history["valid_step"].append(step)
                history["valid"].append(v)
                rate = (step - start_step) / (time.perf_counter() - start)
                out(f"step {step}/{steps}: train {history['train'][-1]:.3f}, valid {v:.3f} nats/char, "
                    f"{rate:.2f} steps/s, {rate * B * T:,.0f} characters/s on {world} rank(s)")
                if lead:
                    out(sample(model.module, vocab, args.prime, args.sample_len, args.temperature, sample_gen))
        if step % args.checkpoint_every == 0 or step == args.stop_after:
            checkpoint()
        if step == args.stop_after:
            break
    if lead:
        bar.close()
    elapsed = time.perf_counter() - start
    if step < steps:
        say(f"stopped at step {step}; continue with --resume (on any number of ranks dividing {B})")
        dist.destroy_process_group()
        return {"history": history, "step": step}
    final = evaluate(model, valid)
    if history["valid_step"][-1:] != [step]:
        history["valid_step"].append(step)
        history["valid"].append(final)
    checkpoint()
    if lead:
        if step > start_step:
            rate = (step - start_step) / elapsed
            print(f"trained {step - start_step} steps in {elapsed:.1f} s: {rate:.2f} steps/s, "
                  f"{rate * B * T:,.0f} characters/s on {world} rank(s)")
        print(sample(model.module, vocab, args.prime, args.sample_len, args.temperature, sample_gen))
        save_plot(history, args.out)
        print(f"checkpoint: {args.checkpoint}")
        print(f"validation loss: {final:.3f} nats/char ({final / math.log(2):.2f} bits/char)")
    dist.destroy_process_group()
    return {"history": history, "step": step, "valid": final}


if __name__ == "__main__":
    main()
