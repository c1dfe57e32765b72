"""Measure how far the quantities that outcome tests assert on move across CPUs and seeds.

A seeded training run ends at a point that depends on how the BLAS kernels round: OpenBLAS picks
another family of GEMM kernels on another CPU (Haswell, SkylakeX, ...) or thread count, and a few
hundred float32 steps turn a few ulps into a different end point. A test that asserts where such a
run ends must leave a margin that this spread cannot reach. This script measures the spread: it
runs every probe (the quantities one outcome test asserts on, computed the way the test computes
them) with several seeds, once per OpenBLAS kernel family this CPU can run and once with one
thread, each in a fresh process, and prints per quantity the range seen, the test's bound and the
margin left (how far the worst value stays from the bound, as a factor).

    python tests/outcome_spread.py                          # every probe, seeds 0-5, every family
    python tests/outcome_spread.py adding_problem --seeds 0 1 2 3 4 5 6 7

It is not collected by pytest (it takes minutes); the comments beside the assertions quote it.
"""
import argparse
import contextlib
import importlib.util
import io
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def load(name, folder=EXAMPLES):
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quick(name, seed, *extra, plot=True):
    """``examples/NAME.py --quick --seed SEED`` in this process, quietly; returns what main returns."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        out = ["--out", f"{tmp}/out.png"] if plot else []
        return load(name).main(["--quick", "--seed", str(seed), *out, *extra])


# Each probe: seed -> {quantity: (value, "<" or ">", bound)}, as its test asserts it.

def probe_quickstart(seed):
    losses = quick("quickstart", seed, plot=False)
    return {"last/first loss": (losses[-1] / losses[0], "<", 0.7)}


def probe_mlp_digits(seed):
    h = quick("mlp_digits", seed)
    return {"last/first loss": (h["loss"][-1] / h["loss"][0], "<", 1.0),
            "test accuracy": (h["test"][-1], ">", 0.8)}


def probe_cnn_digits(seed):
    h = quick("cnn_digits", seed)
    return {"last/first loss": (h["loss"][-1] / h["loss"][0], "<", 0.7),
            "test accuracy": (h["test"][-1], ">", 0.8)}


def probe_vanishing_gradients(seed):
    n = quick("vanishing_gradients", seed)
    return {"sigmoid first/last layer": (n["sigmoid"][0] / n["sigmoid"][-1], "<", 1e-2),
            "relu first/last layer": (n["relu"][0] / n["relu"][-1], ">", 0.1)}


def probe_learning_rate(seed):
    small, good, big = quick("learning_rate", seed).values()
    return {"small lr last/first": (small[-1] / small[0], ">", 0.97),
            "good lr last/first": (good[-1] / good[0], "<", 0.7),
            "big lr max/first": (max(big) / big[0], ">", 10)}


def probe_hello_rnn(seed):
    with tempfile.TemporaryDirectory() as tmp:
        out = quick("hello_rnn", seed, "--graph", f"{tmp}/graph")
    return {"last/first loss": (out["losses"][-1] / out["losses"][0], "<", 0.1),
            "predicts 'ello' (1 = yes)": (float(out["predictions"][-1] == "ello"), ">", 0.5),
            "spells 'hello' (1 = yes)": (float(out["spelled"] == "hello"), ">", 0.5)}


def probe_sequence_classification(seed):
    hs = quick("sequence_classification", seed)
    result = {}
    for kind, h in hs.items():
        result[f"{kind} last/first loss"] = (h["loss"][-1] / h["loss"][0], "<", 0.5)
        result[f"{kind} test accuracy"] = (h["test"][-1], ">", 0.8)
    return result


def probe_captioning(seed):
    h = quick("captioning", seed)
    names = load("captioning").NAMES
    return {"last/first loss": (h["loss"][-1] / h["loss"][0], "<", 0.2),
            "exact-word accuracy": (h["test"][-1], ">", 0.8),
            "digits 0-9 named right": (sum(w == n for w, n in zip(h["words"], names)), ">", 6.5)}


def probe_tagging(seed):
    h = quick("tagging", seed)
    return {"last/first loss": (h["loss"][-1] / h["loss"][0], "<", 0.5),
            "accuracy - baseline": (h["test"][-1] - h["baseline"], ">", 0.15)}


def probe_seq2seq_dates(seed):
    h = quick("seq2seq_dates", seed)
    return {"last/first loss": (h["loss"][-1] / h["loss"][0], "<", 0.6),
            "character accuracy": (h["chars"][-1], ">", 0.5)}


def probe_adding_problem(seed):
    out = quick("adding_problem", seed)
    final = {kind: curve[-1][1] / out["baseline"] for (kind, _), curve in out["curves"].items()}
    g = {kind: gs[0] / gs[-1] for kind, gs in out["gradients"].items()}
    return {"RNN MSE/baseline": (final["RNN"], ">", 0.7),
            "LSTM MSE/baseline": (final["LSTM"], "<", 0.5),
            "GRU MSE/baseline": (final["GRU"], "<", 0.1),
            "LSTM dL/dh_1 / dL/dh_L": (g["LSTM"], ">", 1e-2),
            "GRU dL/dh_1 / dL/dh_L": (g["GRU"], ">", 1e-2)}


def probe_adding_rnn_at_start(seed):
    ratio = load("test_sequence_examples", ROOT / "tests").rnn_gradient_ratio_at_start(seed)
    return {"RNN dL/dh_1 / dL/dh_L": (ratio, "<", 1e-3)}


def probe_char_lstm(seed):
    char_lstm = load("char_lstm")
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        result = char_lstm.main(["--quick", "--steps", "40", "--seed", str(seed),
                                 "--checkpoint", f"{tmp}/c.ckpt", "--out", f"{tmp}/c.png"])
        V = len(char_lstm.tg.load(f"{tmp}/c.ckpt")["vocab"])
    return {"validation loss / ln V": (result["valid"] / math.log(V), "<", 0.7)}


def probe_small_cnn(seed):
    losses = load("test_conv", ROOT / "tests").train_small_cnn(seed)
    return {"last/first loss": (losses[-1] / losses[0], "<", 0.2)}


def probe_truncated_recipe(seed):
    losses = load("test_rnn_bptt", ROOT / "tests").train_sine_with_truncated_bptt(seed)
    return {"last 10 / first 5 mean loss": (sum(losses[-10:]) / 10 / (sum(losses[:5]) / 5), "<", 0.05)}


PROBES = {name[len("probe_"):]: fn for name, fn in globals().items() if name.startswith("probe_")}


def configurations():
    """(OPENBLAS_CORETYPE, threads) pairs this CPU can run, as ../shared/tools/blas-matrix picks them."""
    flags = pathlib.Path("/proc/cpuinfo").read_text() if pathlib.Path("/proc/cpuinfo").exists() else ""
    runs = [("Prescott", 2), ("Nehalem", 2), ("Sandybridge", 2)]
    if " avx2" in flags:
        runs += [("Haswell", 2), ("Haswell", 1)]
    if " avx512f" in flags:
        runs += [("SkylakeX", 2)]
    return runs


def child(probes, seeds):
    for name in probes:
        for seed in seeds:
            values = PROBES[name](seed)
            print(json.dumps({"probe": name, "seed": seed, "values": values}), flush=True)


def margin(value, op, bound):
    """How far the value stays on the right side of the bound, as a factor (>1: passes)."""
    if bound == 0 or value == 0 or (value < 0) != (bound < 0):
        return (value - bound) if op == ">" else (bound - value)
    return value / bound if op == ">" else bound / value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probes", nargs="*", help=f"default: all of {', '.join(PROBES)}")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--blas", nargs="+", metavar="CORE/THREADS",
                        help="only these configurations, e.g. Haswell/1 SkylakeX/2")
    parser.add_argument("--json", help="also write every measured value to this file")
    args = parser.parse_args(argv)
    probes = args.probes or list(PROBES)
    if args.child:
        return child(probes, args.seeds)

    configs = configurations()
    if args.blas:
        configs = [(b.split("/")[0], int(b.split("/")[1])) for b in args.blas]
    rows = []
    for core, threads in configs:
        env = dict(os.environ, OPENBLAS_CORETYPE=core, OPENBLAS_NUM_THREADS=str(threads),
                   OMP_NUM_THREADS=str(threads), MPLBACKEND="Agg")
        cmd = [sys.executable, __file__, "--child", *probes, "--seeds", *map(str, args.seeds)]
        print(f"{core} kernels, {threads} thread(s) ...", file=sys.stderr, flush=True)
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        if run.returncode:
            sys.exit(f"{core}/{threads}: the probes failed:\n{run.stderr[-3000:]}")
        for line in run.stdout.splitlines():
            if line.startswith("{"):
                rows.append(dict(json.loads(line), core=core, threads=threads))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))

    print(f"seeds {args.seeds}; BLAS: {', '.join(f'{c}/{t}' for c, t in configs)}")
    print(f"{'probe':26s} {'quantity':30s} {'seed 0 range':>19s} {'all seeds range':>19s} "
          f"{'test':>9s} {'margin':>7s}")
    for name in probes:
        mine = [r for r in rows if r["probe"] == name]
        for quantity in mine[0]["values"]:
            values = [r["values"][quantity][0] for r in mine]
            seed0 = [r["values"][quantity][0] for r in mine if r["seed"] == args.seeds[0]]
            _, op, bound = mine[0]["values"][quantity]
            worst = min(margin(v, op, bound) for v in values)
            print(f"{name:26s} {quantity:30s} {min(seed0):9.3g}-{max(seed0):<9.3g} "
                  f"{min(values):9.3g}-{max(values):<9.3g} {op} {bound:<7.3g} {worst:7.2f}"
                  + ("" if worst > 1 else "  FAILS"))


if __name__ == "__main__":
    main()
