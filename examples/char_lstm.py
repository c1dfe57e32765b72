"""The main job: a character-level LSTM language model trained with truncated BPTT on the Python
standard library's own source code, then asked to write some Python.

What it teaches (lectures on recurrent networks and BPTT): a language model predicts the next
character from the ones before it (embedding -> 2-layer LSTM -> linear -> softmax). The corpus is
one long sequence, read as B parallel streams (``batchify``) in chunks of T steps
(``bptt_chunks``); the hidden state (h, c) is carried from chunk to chunk and detached
(``detach_hidden``), so the model sees the whole stream while gradients flow back at most T steps
and memory stays bounded by T. Gradients are clipped (exploding gradients), the learning rate
follows a cosine schedule, and the loss is reported in nats and bits per character.

    python examples/char_lstm.py                       # about 5 minutes on 2 CPU cores
    python examples/char_lstm.py --quick               # a few seconds (the tests run this)
    python examples/char_lstm.py --resume              # continue from char_lstm.ckpt after a stop
    python examples/char_lstm.py --resume --steps 2000 # train a finished run 500 steps more
    python examples/char_lstm.py --sample-only char_lstm.ckpt --prime "class " --temperature 1
    python examples/char_lstm.py --text FILE           # any UTF-8 text instead of the stdlib
    python examples/char_lstm.py --device cuda         # on a GPU (needs CuPy)
    python examples/char_lstm.py --jit                 # the step recorded once, then replayed

Defaults: embedding 64, 2 LSTM layers of 256, batch 32 streams x 64 steps, Adam at 3e-3 following
a cosine down to 1e-4, gradient norm clipped at 1.0, the top-level stdlib ``.py`` files with the last
5% held out for validation. Measured on Python 3.11.7's stdlib (4.46M training characters, 166
distinct): validation loss 1.569 nats/char at step 500, 1.387 at 1,000 and 1.292 (1.86 bits/char)
at the end, step 1,500; the whole run took 261 s of CPU time with one BLAS thread (2-core machine,
``os.cpu_count() = 2``; one training step 131 ms with 2 threads, PyTorch's 86 ms). docs/rnn.md has
the details and a sample of the text.

Checkpoints (model, optimizer, scheduler, RNG, data position and the carried hidden state) are
written atomically every ``--checkpoint-every`` steps and at the end; ``--resume`` continues from
one and ends bit-identical to a run that was never interrupted. ``--resume`` with a larger
``--steps`` than the run was planned for extends it: once the planned steps are done, the extra
steps follow a new cosine from ``--lr`` down to ``--min-lr`` (a warm restart, as in SGDR), with
Adam's moments carried on. The run ends by printing one line:
``validation loss: X.XXX nats/char (Y.YY bits/char)``.
"""
import argparse
import math
import os
import time

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import batchify, bptt_chunks
from tinygrad_rnn.datasets import CharVocab, load_char_corpus
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.plotting import figure
from tinygrad_rnn.progress import progress

# Everything that decides what training computes: a run resumes only with the same values.
TRAINING = ("text", "max_chars", "valid_fraction", "embed", "hidden", "layers", "dropout",
            "batch_size", "bptt", "lr", "min_lr", "clip", "steps", "seed", "eval_every", "eval_chars")
DEFAULTS = dict(text=None, max_chars=None, valid_fraction=0.05, embed=64, hidden=256, layers=2,
                dropout=0.0, batch_size=32, bptt=64, lr=3e-3, min_lr=1e-4, clip=1.0, steps=1500,
                seed=0, eval_every=500, eval_chars=None, checkpoint_every=100, sample_len=300)
QUICK = dict(DEFAULTS, max_chars=200_000, embed=16, hidden=64, batch_size=16, bptt=32, lr=1e-2,
             min_lr=1e-3, steps=60, eval_every=30, eval_chars=None, checkpoint_every=20, sample_len=80)


class CharLSTM(nn.Module):
    """Character ids ``(T, B)`` -> next-character logits ``(T, B, V)`` and the final ``(h, c)``."""

    def __init__(self, vocab_size, embed=64, hidden=256, layers=2, dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, dropout=dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)      # out: (T, B, H), state: (h, c) (L, B, H)
        return self.head(out), state


def evaluate(model, ids, batch_size=64, chunk_len=256):
    """Mean cross-entropy in nats per character of predicting each of ``ids[1:]`` from the characters
    before it in its stream (``ids`` a 1-D int64 tensor, read as ``batch_size`` parallel streams)."""
    batch_size = max(1, min(batch_size, (len(ids) - 1) // 2))
    streams = batchify(ids, batch_size)
    total, count, state = 0.0, 0, None
    was_training = model.training
    model.eval()
    with tg.no_grad():
        for x, y in bptt_chunks(streams, chunk_len):
            logits, state = model(x, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                     reduction="sum").item()
            count += y.numel()
    model.train(was_training)
    return total / count


def sample(model, vocab, prime="\n", length=300, temperature=0.8, generator=None):
    """Continue ``prime`` by ``length`` characters, each drawn from softmax(logits / temperature)
    (``temperature=0``: always the most likely character). Returns the prime and the continuation."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    with tg.no_grad():
        x = tg.tensor(vocab.encode(prime).reshape(-1, 1), device=device)     # (P, 1): the prime at once
        logits, state = model(x)
        for _ in range(length):
            last = logits[-1, 0]
            if temperature == 0:
                nxt = last.argmax().reshape(1)
            else:
                nxt = (last / temperature).softmax(-1).multinomial(1, generator=generator)
            out.append(nxt.item())
            logits, state = model(nxt.reshape(1, 1), state)
    model.train(was_training)
    return prime + vocab.decode(out)


def parse_args(argv):
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--text", help="train on this UTF-8 file instead of the Python stdlib's sources")
    p.add_argument("--max-chars", type=int, help="use only the first N characters of the corpus")
    p.add_argument("--valid-fraction", type=float, help="the last fraction held out (default 0.05)")
    p.add_argument("--embed", type=int, help="embedding size (64)")
    p.add_argument("--hidden", type=int, help="LSTM hidden size (256)")
    p.add_argument("--layers", type=int, help="LSTM layers (2)")
    p.add_argument("--dropout", type=float, help="dropout between LSTM layers (0)")
    p.add_argument("--batch-size", type=int, help="parallel streams B (32)")
    p.add_argument("--bptt", type=int, help="chunk length T: steps gradients flow back (64)")
    p.add_argument("--lr", type=float, help="Adam's starting learning rate (3e-3)")
    p.add_argument("--min-lr", type=float, help="the learning rate the cosine ends at (1e-4)")
    p.add_argument("--clip", type=float, help="gradient norm clipping (1.0)")
    p.add_argument("--steps", type=int, help=f"training steps ({DEFAULTS['steps']}); with --resume, "
                   "more than the checkpoint was planned for extends it by a new cosine")
    p.add_argument("--seed", type=int, help="seed of every random choice (0)")
    p.add_argument("--eval-every", type=int, help="validate and sample every N steps (500)")
    p.add_argument("--eval-chars", type=int, help="validate on the first N characters of the "
                   "validation text only, except at the end (default: all of it)")
    p.add_argument("--checkpoint", help="checkpoint path (default: --out's name with .ckpt, "
                   "char_lstm.ckpt)")
    p.add_argument("--checkpoint-every", type=int, help="save a checkpoint every N steps (100)")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint (a larger "
                   "--steps extends a finished run)")
    p.add_argument("--stop-after", type=int, help="stop after N steps as if interrupted (the "
                   "checkpoint of step N is written first; resume with --resume)")
    p.add_argument("--sample-only", metavar="CHECKPOINT", help="load CHECKPOINT and print samples")
    p.add_argument("--num-samples", type=int, default=1, help="samples to print with --sample-only")
    p.add_argument("--sample-len", type=int, help="characters per sample (300)")
    p.add_argument("--temperature", type=float, default=0.6, help="sampling temperature (0.6; "
                   "0 picks the most likely character)")
    p.add_argument("--prime", default="def ", help='text the samples start from ("def ")')
    p.add_argument("--device", default="cpu", help='"cpu" or "cuda" (needs CuPy)')
    p.add_argument("--out", default="char_lstm.png", help="where to save the loss plot")
    p.add_argument("--quick", action="store_true", help="a tiny run of a few seconds (for tests)")
    p.add_argument("--jit", action="store_true", help="record the training step once with tg.jit "
                   "and replay it (the same numbers, less Python per step; docs/jit.md)")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else DEFAULTS
    for key, value in preset.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.checkpoint is None:
        args.checkpoint = os.path.splitext(args.out)[0] + ".ckpt"
    if args.temperature < 0:
        p.error(f"--temperature must be >= 0, got {args.temperature}")
    for key in ("steps", "batch_size", "bptt", "eval_every", "checkpoint_every", "sample_len"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be a positive integer, got {getattr(args, key)}")
    return p, args


def build_model(config, vocab_size, device):
    return CharLSTM(vocab_size, config["embed"], config["hidden"], config["layers"],
                    config["dropout"]).to(device)


def sample_only(parser, args):
    ck = tg.load(args.sample_only, map_location=args.device)
    vocab = CharVocab(ck["vocab"])
    try:
        vocab.encode(args.prime)
    except ValueError as e:
        parser.error(f"--prime: {e}")
    model = build_model(ck["config"], len(vocab), args.device)
    model.load_state_dict(ck["model"])
    gen = tg.Generator(args.seed)
    print(f"{args.sample_only}: step {ck['step']}, {len(vocab)} characters, temperature "
          f"{args.temperature}")
    texts = []
    for k in range(args.num_samples):
        texts.append(sample(model, vocab, args.prime, args.sample_len, args.temperature, gen))
        print(f"----- sample {k + 1}\n{texts[-1]}")
    return texts


def save_plot(history, path):
    try:
        with figure(path, figsize=(6, 3.5)) as (fig, ax):
            ax.plot(history["step"], history["train"], label="training (mean over the last steps)")
            ax.plot(history["valid_step"], history["valid"], "o-", label="validation")
            ax.set(xlabel="step", ylabel="nats / character", title="Character LSTM: loss per character")
            ax.legend()
    except ImportError as e:                       # matplotlib is optional: train without the plot
        print(f"no plot: {e}")


def make_scheduler(optimizer, config, start, end):
    """One segment of the schedule: a cosine from ``--lr`` down to ``--min-lr`` over steps
    ``start`` to ``end``. A run is one segment; each extension (``--resume`` with a larger
    ``--steps``) adds one, a warm restart."""
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] = config["lr"]
    return tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=end - start, eta_min=config["min_lr"])


def segment_of(step, ends):
    """``(start, end)`` of the schedule segment that the step after ``step`` belongs to (the last
    segment once the run is finished); ``ends`` are the segments' last steps, increasing."""
    starts = [0] + ends[:-1]
    for start, end in zip(starts, ends):
        if step < end:
            return start, end
    return starts[-1], ends[-1]


def main(argv=None):
    parser, args = parse_args(argv)
    if args.sample_only:
        return sample_only(parser, args)
    config = {k: getattr(args, k) for k in TRAINING}
    corpus = load_char_corpus(config["text"], config["valid_fraction"], config["max_chars"])
    vocab, device = corpus.vocab, tg.device(args.device)
    try:
        vocab.encode(args.prime)
    except ValueError as e:
        parser.error(f"--prime: {e}")
    V, B, T, steps = len(vocab), config["batch_size"], config["bptt"], config["steps"]

    ck, ends = None, [steps]           # ends: the last step of each cosine segment of the schedule
    if args.resume:
        ck = tg.load(args.checkpoint, map_location=device)
        changed = [f"{k}={ck['config'][k]!r} (this run: {config[k]!r})" for k in TRAINING
                   if k != "steps" and ck["config"][k] != config[k]]
        if changed:
            parser.error(f"--resume: {args.checkpoint} was trained with " + ", ".join(changed) +
                         "; pass the same options to continue it")
        if ck["fingerprint"] != corpus.fingerprint:
            parser.error(f"--resume: {args.checkpoint} was trained on another text than "
                         f"{corpus.source}")
        ends = list(ck.get("segments", [ck["config"]["steps"]]))
        if steps < ends[-1]:
            parser.error(f"--resume: {args.checkpoint} is planned for {ends[-1]} steps; pass "
                         f"--steps {ends[-1]} to finish it, or more to extend it")
        if steps > ends[-1]:
            print(f"extending the run from {ends[-1]} to {steps} steps: steps {ends[-1] + 1} to "
                  f"{steps} follow a new cosine from lr {config['lr']:g} to {config['min_lr']:g}")
            ends.append(steps)

    tg.manual_seed(config["seed"])
    model = build_model(config, V, device)
    optimizer = tg.optim.Adam(model.parameters(), lr=config["lr"])
    # large steps while the loss falls fast, small ones at the end to settle into a minimum
    first, last = segment_of(0 if ck is None else ck["step"], ends)
    scheduler = make_scheduler(optimizer, config, first, last)
    sample_gen = tg.Generator(config["seed"] + 1)      # samples never disturb training's random numbers

    streams = batchify(tg.tensor(corpus.train, device=device), B)          # (L / B, B)
    chunks = list(bptt_chunks(streams, T, drop_last=True))                 # views, (T, B) each
    valid = tg.tensor(corpus.valid, device=device)
    valid_head = valid if config["eval_chars"] is None else valid[:config["eval_chars"]]
    log_every = max(1, config["eval_every"] // 10)      # points of the training curve
    step, state, since = 0, None, []         # since: training losses since the last point
    history = {"step": [], "train": [], "valid_step": [], "valid": []}

    if ck is not None:
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optim"])
        if ck["step"] == first > 0:                    # an extension starts: a new cosine
            scheduler = make_scheduler(optimizer, config, first, last)
        else:
            scheduler.load_state_dict(ck["sched"])
        tg.set_rng_state(ck["rng"])
        sample_gen.set_state(ck["sample_rng"])
        step, history, since = ck["step"], ck["history"], ck["since"]
        state = None if ck["state"] is None else tuple(ck["state"])
        print(f"resuming from {args.checkpoint} at step {step}")

    def checkpoint():
        tg.save({"config": config, "vocab": vocab.chars, "fingerprint": corpus.fingerprint,
                 "step": step,            # also the data position: the next chunk is step % len(chunks)
                 "model": model.state_dict(), "optim": optimizer.state_dict(),
                 "sched": scheduler.state_dict(), "segments": ends, "rng": tg.get_rng_state(),
                 "sample_rng": sample_gen.get_state(),
                 "state": None if state is None else list(state), "history": history,
                 "since": since},
                args.checkpoint)

    n_params = sum(p.numel() for p in model.parameters())
    print(f"corpus: {corpus.source}: {len(corpus.train):,} training and {len(corpus.valid):,} "
          f"validation characters, {V} distinct")
    print(f"model: embedding {config['embed']} -> LSTM {config['layers']} x {config['hidden']} -> "
          f"linear {V} ({n_params:,} parameters) on {device}; {steps} steps of {B} x {T} characters "
          f"({len(chunks)} chunks per pass over the text)")

    def train_step(x, y, h, c):
        """One update on one chunk; the state comes in and goes out (as tg.jit needs: a replayed
        step runs no Python, so it cannot keep the state in a variable)."""
        logits, (h, c) = model(x, (h, c))
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config["clip"])
        optimizer.step()
        return loss, h.detach(), c.detach()      # carry the values, cut the graph

    fast_step = tg.jit(train_step) if args.jit else None
    model.train()
    bar = progress(range(step, steps), desc="training")
    say = getattr(bar, "write", print)                 # print without breaking a tqdm bar
    start, start_step = time.perf_counter(), step
    for _ in bar:
        k = step % len(chunks)
        if k == 0:
            state = None                               # a new pass starts every stream afresh
        x, y = chunks[k]
        if fast_step is None:
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config["clip"])
            optimizer.step()
            state = nn.utils.detach_hidden(state)      # carry the values, cut the graph
        else:                                          # the same step, recorded once and replayed
            if state is None:
                zeros = tg.zeros(config["layers"], B, config["hidden"], device=device)
                state = (zeros, zeros.clone())
            loss, *state = fast_step(x, y, *state)
            state = tuple(state)
        scheduler.step()
        step += 1
        if step in ends[:-1]:                          # a segment ends: the next one starts afresh
            scheduler = make_scheduler(optimizer, config, *segment_of(step, ends))
        since.append(loss.item())
        bar.set_postfix(loss=since[-1])
        if step % log_every == 0 or step == steps:
            history["step"].append(step)
            history["train"].append(sum(since) / len(since))
            since = []
        if step % config["eval_every"] == 0 and step < steps:     # the last step is validated below
            v = evaluate(model, valid_head)
            history["valid_step"].append(step)
            history["valid"].append(v)
            rate = (step - start_step) / (time.perf_counter() - start)
            say(f"step {step}/{steps}: train {history['train'][-1]:.3f}, valid {v:.3f} nats/char "
                f"({v / math.log(2):.2f} bits), lr {scheduler.get_last_lr()[0]:.2g}, {rate:.2f} steps/s")
            say(sample(model, vocab, args.prime, args.sample_len, args.temperature, sample_gen))
        if step % args.checkpoint_every == 0 or step == args.stop_after:
            checkpoint()
        if step == args.stop_after:
            break
    bar.close()
    elapsed = time.perf_counter() - start
    if step < steps:
        print(f"stopped at step {step} ({elapsed:.0f} s); continue with --resume")
        return {"history": history, "step": step}

    final = evaluate(model, valid)
    if history["valid_step"][-1:] != [step]:            # (resuming a finished run adds nothing)
        history["valid_step"].append(step)
        history["valid"].append(final)
    checkpoint()
    if step > start_step:
        print(f"trained {step - start_step} steps in {elapsed:.0f} s "
              f"({(step - start_step) / elapsed:.2f} steps/s on {os.cpu_count()} CPU cores)")
    print(sample(model, vocab, args.prime, args.sample_len, args.temperature, sample_gen))
    save_plot(history, args.out)
    print(f"checkpoint: {args.checkpoint} (print samples with --sample-only {args.checkpoint})")
    print(f"validation loss: {final:.3f} nats/char ({final / math.log(2):.2f} bits/char)")
    return {"history": history, "step": step, "valid": final}


if __name__ == "__main__":
    main()
