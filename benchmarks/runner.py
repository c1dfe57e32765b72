"""``python -m benchmarks``: tinygrad_rnn beside PyTorch (CPU) and NumPy-based peers, side by side.

    python -m benchmarks                          # every workload, all cores, 7 rounds
    python -m benchmarks --quick                  # tiny sizes and rounds (under 30 s)
    python -m benchmarks --only chain,mlp --threads 1 --rounds 9
    python -m benchmarks --write-docs             # also rewrite docs/benchmarks.md's results and
                                                  # docs/img/benchmarks.png (needs matplotlib)

How it measures: each library runs in its OWN long-lived worker process (in one process PyTorch's
OpenMP threads and OpenBLAS's threads compete for the cores and distort BLAS-heavy timings), every
worker with the same thread count (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and
torch.set_num_threads). For each workload the workers build the same model from the same NumPy
weights and batch (benchmarks/workloads.py), warm up, and report the loss of their first step,
which the runner compares across libraries (same numbers in, same numbers out). Then the runner
drives them in alternating rounds (A B C, C B A, A B C, ...) so that a change in machine load hits
every library alike; a round times enough steps to last about ``--round-time`` seconds, and the
table gives the median over rounds, the spread (fastest-slowest round) and the ratio of medians.

Before each turn the runner pauses (``--pause``): a worker that has just finished leaves its
thread pools spinning for a while (OpenBLAS's and OpenMP's threads busy-wait for more work before
they sleep), and a turn that starts at once shares the cores with them. ``--aa`` (always on with
``--write-docs``) adds a second PyTorch worker and reports PyTorch against itself: a ratio
outside 0.9-1.1 means the set-up itself favours one side, and that workload's ratio is not
published.

Environment: TINYGRAD_RNN_BENCH_NO_TORCH=1 runs as if PyTorch were not installed. The runner
sets thread variables only in its workers' environments; library code never sets any.
"""
import argparse
import datetime
import gc
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import traceback

from benchmarks import workloads as W

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
CHART = ROOT / "docs" / "img" / "benchmarks.png"
NO_TORCH_ENV = "TINYGRAD_RNN_BENCH_NO_TORCH"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
OPENBLAS_WORKLOADS = ("gemm_128x784x256", "gemm_32x256x1024", "mlp", "lstm256")
OPENBLAS_CORETYPE = "Haswell"
SAME_LOSS_RTOL = 1e-3            # float32, different summation orders: agree to about 1e-5 in practice
AA = "torch#2"                   # the label of the second PyTorch worker of an A/A run
AA_BAND = (0.9, 1.1)             # PyTorch / PyTorch must land here for a ratio to be published


# ---------------------------------------------------------------------------------------------
# the worker process: builds a workload on request and times N steps of it

def to_float(value):
    """A step's result as one number, whatever library made it."""
    if type(value).__module__ == "numpy":                # a plain NumPy result
        return float(value.sum())
    data = getattr(value, "data", None)
    if isinstance(data, (int, float)):                   # micrograd's Value holds a float
        return float(data)
    if type(data).__module__ == "numpy":                 # DeZero, MyGrad
        return float(data.sum())
    return float(value.detach().sum())                   # PyTorch, tinygrad_rnn


def library_info(lib, threads):
    """What the worker's library is: its version and, in the tinygrad_rnn worker, NumPy's BLAS."""
    if lib == "dezero":
        module = W._dezero()
    else:
        module = __import__(lib)
    if lib == "torch":
        module.set_num_threads(threads)
        # PyTorch imports much of itself lazily on an optimizer's first step (seconds): pay that
        # here, while the other workers start, rather than in the first workload's set-up
        p = module.zeros(1, requires_grad=True)
        opt = module.optim.SGD([p], lr=0.1)
        module.nn.functional.cross_entropy(p.reshape(1, 1), module.zeros(1, dtype=module.long)).backward()
        opt.step()
    info = {"lib": lib, "version": getattr(module, "__version__", None)}
    if info["version"] is None:
        from importlib import metadata
        try:
            info["version"] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            info["version"] = "?"
    if lib == "tinygrad_rnn":
        info["blas"] = blas_info()
    return info


def blas_info():
    """NumPy's BLAS as ``numpy.show_config()`` reports it, and the kernels OpenBLAS chose at run time
    (threadpoolctl's ``architecture``, when threadpoolctl is installed)."""
    import numpy as np
    out = {"numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out["name"], out["version"] = blas.get("name"), blas.get("version")
        out["config"] = " ".join(str(blas.get("openblas configuration", "")).split())
    except Exception:            # older NumPy: no dict mode; the name is then unknown
        out["name"] = out["version"] = None
    try:
        import threadpoolctl
        for pool in threadpoolctl.threadpool_info():
            if pool.get("user_api") == "blas":
                out["runtime"] = {k: pool.get(k) for k in ("internal_api", "version", "architecture",
                                                           "num_threads", "threading_layer")}
                break
    except ImportError:
        pass
    return out


def serve(lib, threads, clock="wall"):
    """The worker loop: one JSON request per line on stdin, one JSON answer per line on stdout."""
    proto = sys.stdout
    sys.stdout = sys.stderr            # whatever the libraries print must not corrupt the answers

    def answer(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    # "cpu": this process's CPU time, all threads together; with one thread it leaves out the time
    # the worker waited for a core that other jobs held, so it is the steadier clock on a busy machine
    now = time.process_time if clock == "cpu" else time.perf_counter
    step = None
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "info":
            try:
                answer(library_info(lib, threads))
            except Exception as e:
                answer({"lib": lib, "error": f"{type(e).__name__}: {e}"})
        elif req["op"] == "build":
            step = None
            gc.collect()               # the previous workload's model and graph go before timing
            try:
                step = W.find(req["workload"]).build(lib, req["quick"], threads)
                first = to_float(step())
                t0, n = time.perf_counter(), 0
                while n < 3 or (time.perf_counter() - t0 < req["warmup"] and n < 1000):
                    step()
                    n += 1
                answer({"ok": True, "first": first, "estimate": (time.perf_counter() - t0) / n})
            except W.NotExpressible as e:
                answer({"ok": False, "blank": str(e)})
            except Exception as e:
                answer({"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()})
        elif req["op"] == "time":
            n = req["steps"]
            t0 = now()
            for _ in range(n):
                step()
            answer({"seconds": (now() - t0) / n})


# ---------------------------------------------------------------------------------------------
# the parent: workers, rounds, statistics

class Worker:
    """One library in its own process, with ``threads`` threads and optional extra environment."""

    def __init__(self, lib, threads, label=None, env=None, clock="wall"):
        self.lib, self.label = lib, label or lib
        environ = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
        for key, value in (env or {}).items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        # the workers import this package and tinygrad_rnn from this checkout
        environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks", "--worker", lib, "--threads",
                                      str(threads), "--clock", clock], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=environ)

    def send(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def receive(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} worker stopped (exit code {self.proc.wait()}); "
                               f"its error is above")
        return json.loads(line)

    def ask(self, **request):
        self.send(**request)
        return self.receive()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def summarize(times):
    """Seconds per step of each round -> median, fastest and slowest round."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "rounds": list(times)}


def measure(workers, name, quick, rounds, round_time, warmup=None, pause=0.0):
    """Time workload ``name`` on every worker in alternating rounds, ``pause`` seconds of quiet
    before each turn.

    Returns ``{label: result}``; a result has median/min/max/rounds (seconds per step) and
    ``first`` (the first step's loss), or ``blank`` (the library cannot express the workload), or
    ``error``."""
    for w in workers.values():                       # build everywhere at once: only set-up overlaps
        w.send(op="build", workload=name, quick=quick, warmup=3 * round_time if warmup is None else warmup)
    built, results = {}, {}
    for label, w in workers.items():
        reply = w.receive()
        if reply["ok"]:
            built[label] = reply
        else:
            results[label] = {k: reply[k] for k in ("blank", "error", "trace") if k in reply}
    steps = {label: max(1, min(100_000, round(round_time / max(r["estimate"], 1e-9))))
             for label, r in built.items()}
    times = {label: [] for label in built}
    order = list(built)
    for r in range(rounds):
        for label in (order if r % 2 == 0 else order[::-1]):
            if pause:
                time.sleep(pause)           # let the last worker's spinning threads go to sleep
            times[label].append(workers[label].ask(op="time", steps=steps[label])["seconds"])
    for label in built:
        results[label] = dict(summarize(times[label]), first=built[label]["first"], steps=steps[label])
    return results


def same_loss(a, b):
    return math.isclose(a, b, rel_tol=SAME_LOSS_RTOL, abs_tol=1e-9)


def available_libraries(requested=None):
    """The libraries to time: tinygrad_rnn always, PyTorch unless absent or hidden by
    TINYGRAD_RNN_BENCH_NO_TORCH=1, each peer when it can be found (a worker that then fails to
    import its library is dropped with a note)."""
    import importlib.util
    libs = []
    for lib in W.LIBRARIES:
        if requested is not None and lib not in requested:
            continue
        if lib == "torch" and os.environ.get(NO_TORCH_ENV, "") not in ("", "0"):
            continue
        if lib == "tinygrad_rnn" or importlib.util.find_spec(lib) is not None:
            libs.append(lib)
    if "tinygrad_rnn" not in libs:
        libs.insert(0, "tinygrad_rnn")
    return libs


def start_workers(libs, threads, clock="wall", aa=False):
    """``{lib: Worker}`` for the libraries whose worker starts and imports its library, and
    ``{lib: info}`` (version, BLAS, or the import error). ``aa``: a second PyTorch worker, ``AA``."""
    workers = {lib: Worker(lib, threads, clock=clock) for lib in libs}
    if aa and "torch" in workers:
        workers[AA] = Worker("torch", threads, label=AA, clock=clock)
    for w in workers.values():
        w.send(op="info")
    infos = {lib: w.receive() for lib, w in workers.items()}
    for lib, info in infos.items():
        if "error" in info:
            workers.pop(lib).close()
    if "tinygrad_rnn" not in workers:
        raise RuntimeError(f"the tinygrad_rnn worker could not import it: {infos['tinygrad_rnn']['error']}")
    return workers, infos


def run_bptt_memory(quick):
    """benchmarks/bench_bptt_memory.py's measurement: peak bytes that one pass of full and of
    truncated BPTT adds, one fresh subprocess per (L, method)."""
    from benchmarks import bench_bptt_memory as bm
    if quick:
        lengths, T, batch, hidden, inputs = [32, 64], 8, 4, 16, 8
    else:
        lengths, T, batch, hidden, inputs = bm.FULL_LENGTHS, 32, 32, 128, 8
    # each measurement is its own process, so peaks do not mix; quick runs two at a time (its
    # timings are not reported), a full run one at a time (they are, in the JSON)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=2 if quick else 1) as pool:
        jobs = [(pool.submit(bm.run_subprocess, L, L, batch, hidden, inputs, True),
                 pool.submit(bm.run_subprocess, L, T, batch, hidden, inputs, True)) for L in lengths]
        rows = []
        for L, (full_job, trunc_job) in zip(lengths, jobs):
            (full, full_s), (trunc, trunc_s) = full_job.result(), trunc_job.result()
            rows.append({"L": L, "full_bytes": full, "truncated_bytes": trunc, "full_seconds": full_s,
                         "truncated_seconds": trunc_s})
    return {"T": T, "batch": batch, "hidden": hidden, "inputs": inputs, "rows": rows}


def run_openblas(threads, quick, rounds, round_time, blas, clock="wall", pause=0.0):
    """tinygrad_rnn with OpenBLAS's own kernel choice beside OPENBLAS_CORETYPE=Haswell, in two
    workers driven in alternating rounds, on the GEMM-bound workloads."""
    if (blas.get("name") or "").lower().find("openblas") < 0 and \
            (blas.get("runtime") or {}).get("internal_api") != "openblas":
        return {"skipped": f"NumPy's BLAS is {blas.get('name')}, not OpenBLAS"}
    variants = {"default": {"OPENBLAS_CORETYPE": None},           # None: unset, whatever the caller had
                OPENBLAS_CORETYPE: {"OPENBLAS_CORETYPE": OPENBLAS_CORETYPE}}
    workers = {label: Worker("tinygrad_rnn", threads, label=label, env=env, clock=clock)
               for label, env in variants.items()}
    try:
        kernels = {}
        for label, w in workers.items():
            info = w.ask(op="info")
            kernels[label] = ((info.get("blas") or {}).get("runtime") or {}).get("architecture")
        out = {"kernels": kernels, "workloads": {}}
        for name in OPENBLAS_WORKLOADS:
            res = measure(workers, name, quick, rounds, round_time, pause=pause)
            for label, r in res.items():
                if "error" in r:
                    raise RuntimeError(f"openblas / {name} / {label}: {r['error']}\n{r.get('trace', '')}")
            out["workloads"][name] = res
        return out
    finally:
        for w in workers.values():
            w.close()


# ---------------------------------------------------------------------------------------------
# machine facts, the table, the docs

def cpu_model():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts(threads, infos, load_before):
    blas = infos["tinygrad_rnn"].get("blas", {})
    runtime = blas.get("runtime") or {}
    facts = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": blas.get("numpy"),
        "blas": " ".join(str(x) for x in (blas.get("name"), blas.get("version")) if x) or "unknown",
        "blas_config": blas.get("config"),
        "blas_kernels": runtime.get("architecture"),
        "load_before": load_before,
        "versions": {lib: info.get("version") for lib, info in infos.items() if "error" not in info},
        "missing": {lib: info["error"] for lib, info in infos.items() if "error" in info},
    }
    return facts


def sizes_text(sizes):
    return ", ".join(f"{k} {v}" for k, v in (sizes or {}).items())


def threads_text(n):
    return f"{n} thread" + ("s" if n != 1 else "")


def busy(facts):
    return facts["load_before"] is not None and facts["load_before"] > max(0.5, 0.25 * facts["cores"])


def fmt(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 1 else f"{x:.3f}"


def cell(result, scale):
    if result is None or "blank" in result:
        return ""
    if "error" in result:
        return "error"
    return f"{fmt(result['median'] * scale)} ({fmt(result['min'] * scale)}-{fmt(result['max'] * scale)})"


def ratio(results, lib="tinygrad_rnn", base="torch"):
    a, b = results.get(lib) or {}, results.get(base) or {}
    if "median" in a and "median" in b:
        return a["median"] / b["median"]
    return None


def aa_ratio(results):
    """PyTorch / PyTorch (the A/A check), or None when the run had no second PyTorch worker."""
    return ratio(results, "torch", AA)


def publishable(results):
    """A ratio to PyTorch may be published when the run's A/A check landed in AA_BAND (or when the
    run had no A/A worker: then the table says so)."""
    r = aa_ratio(results)
    return r is None or AA_BAND[0] <= r <= AA_BAND[1]


def table(rows, libs):
    """Markdown table: one row per timed workload; a cell is "median (fastest-slowest round)"."""
    peers = [lib for lib in libs if lib in W.PEERS]
    has_torch = "torch" in libs
    has_aa = any(aa_ratio(row["results"]) is not None for row in rows)
    head = (["workload", "unit", "tinygrad_rnn"] + (["torch", "tinygrad_rnn / torch"] if has_torch else [])
            + (["A/A: torch / torch"] if has_aa else []) + peers)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        w, res = W.WORKLOADS[row["workload"]], row["results"]
        cells = [w.name, w.unit, cell(res.get("tinygrad_rnn"), w.scale)]
        if has_torch:
            r = ratio(res)
            shown = "" if r is None else f"{r:.2f}" if publishable(res) else f"({r:.2f}: A/A failed)"
            cells += [cell(res.get("torch"), w.scale), shown]
        if has_aa:
            a = aa_ratio(res)
            cells.append("" if a is None else f"{a:.2f}")
        cells += [cell(res.get(lib), w.scale) for lib in peers]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def consistency_notes(rows):
    """Libraries whose first-step loss differs from tinygrad_rnn's: not the same computation."""
    notes = []
    for row in rows:
        ref = (row["results"].get("tinygrad_rnn") or {}).get("first")
        for lib, r in row["results"].items():
            if ref is not None and "first" in r and not same_loss(r["first"], ref):
                notes.append(f"{row['workload']}: {lib}'s first loss {r['first']:.6g} differs from "
                             f"tinygrad_rnn's {ref:.6g}")
    return notes


def bptt_table(mem):
    lines = [f"| L | full BPTT (MiB) | truncated BPTT, T = {mem['T']} (MiB) | full / truncated |",
             "|---|---|---|---|"]
    for r in mem["rows"]:
        lines.append(f"| {r['L']} | {r['full_bytes'] / 2 ** 20:.2f} | {r['truncated_bytes'] / 2 ** 20:.2f} | "
                     f"{r['full_bytes'] / r['truncated_bytes']:.1f} |")
    return "\n".join(lines)


def openblas_table(ob):
    kernels = ob["kernels"]
    head = (f"| workload | unit | OpenBLAS's choice ({kernels.get('default') or '?'} kernels) | "
            f"OPENBLAS_CORETYPE={OPENBLAS_CORETYPE} ({kernels.get(OPENBLAS_CORETYPE) or '?'} kernels) | "
            f"speed-up |")
    lines = [head, "|---|---|---|---|---|"]
    for name, res in ob["workloads"].items():
        w, d, h = W.find(name), res["default"], res[OPENBLAS_CORETYPE]
        lines.append(f"| {name} | {w.unit} | {cell(d, w.scale)} | {cell(h, w.scale)} | "
                     f"{d['median'] / h['median']:.2f}x |")
    return "\n".join(lines)


def facts_lines(facts, libs, quick, rounds):
    v = facts["versions"]
    others = ", ".join(f"{lib} {v[lib]}" for lib in libs if lib not in ("tinygrad_rnn",) and lib in v)
    lines = [
        f"- Date {facts['date']}; CPU: {facts['cpu']}, {facts['cores']} cores (`os.cpu_count()`); "
        f"**{threads_text(facts['threads'])} per library** (OMP/OPENBLAS/MKL_NUM_THREADS, "
        f"`torch.set_num_threads`).",
        f"- Python {facts['python']}, NumPy {facts['numpy']} with {facts['blas']}"
        + (f" (`{facts['blas_config']}`)" if facts.get("blas_config") else "")
        + (f"; kernels chosen at run time: {facts['blas_kernels']}" if facts.get("blas_kernels") else "")
        + ".",
        f"- Compared with: {others or 'nothing (PyTorch not installed)'}"
        + "".join(f"; {lib} not usable ({err})" for lib, err in facts["missing"].items()) + ".",
        f"- {'`--quick` run (tiny sizes: not figures to quote); ' if quick else ''}median of {rounds} "
        f"alternating rounds, {facts.get('pause', 0):g} s of quiet before each turn; a cell is median "
        f"(fastest-slowest round)"
        + ("; **CPU time** of each worker (`--clock cpu`), not wall time"
           if facts.get("clock") == "cpu" else "")
        + ".",
    ]
    if facts["load_before"] is not None:
        lines.append(f"- Load average (1 min) before the run: {facts['load_before']:.2f} on "
                     f"{facts['cores']} cores"
                     + (" — **the machine was busy with other jobs: these figures were taken under load "
                        "and are rough**." if busy(facts) else "."))
    return lines


def results_markdown(report):
    facts, libs = report["machine"], report["libraries"]
    out = ["Generated by `python -m benchmarks --write-docs" + (" --quick" if report["quick"] else "")
           + (f" --threads {facts['threads']}" if facts["threads"] != facts["cores"] else "")
           + (" --clock cpu" if facts.get("clock") == "cpu" else "") + "`.", ""]
    out += facts_lines(facts, libs, report["quick"], report["rounds"])
    if report["rows"]:
        out += ["", table(report["rows"], libs), ""]
        for r in report["rows"]:
            w = W.WORKLOADS[r["workload"]]
            quick = f" (quick sizes: {sizes_text(r['sizes'])})" if report["quick"] else ""
            out += [f"- `{w.name}`: {w.title}{quick}."]
        if report["blank_reasons"]:
            out += ["- A blank cell: the library cannot express the workload (" +
                    "; ".join(sorted(report["blank_reasons"])) + ")."]
        rate = char_rates(report["rows"])
        if rate:
            out += ["- char_lstm in steps per second: "
                    + ", ".join(f"{lib} {r:.2f}" for lib, r in rate.items()) + "."]
        if report["warnings"]:
            out += ["- Warning: " + "; ".join(report["warnings"]) + "."]
        if report.get("chart"):
            out += ["", f"![Time per step relative to {report['chart_base']} (lower is faster)]"
                        f"(img/{report['chart']})"]
    mem = report.get("bptt_memory")
    if mem:
        out += ["", f"Peak memory that one training pass adds (`tracemalloc`), LSTM({mem['inputs']}, "
                f"{mem['hidden']}), batch {mem['batch']}, tinygrad_rnn only "
                f"(benchmarks/bench_bptt_memory.py's measurement):", "", bptt_table(mem)]
    return "\n".join(line for line in out if line is not None).strip() + "\n"


def openblas_markdown(report):
    ob, facts = report["openblas"], report["machine"]
    if "skipped" in ob:
        return f"Not measured: {ob['skipped']}.\n"
    lines = [f"Measured by `python -m benchmarks --write-docs` on {facts['date']}, {facts['cpu']}, "
             f"{threads_text(facts['threads'])}, tinygrad_rnn in two workers (one with the variable, one "
             f"without) in alternating rounds"
             + (", **under load** (rough figures)" if busy(facts) else "") + "; speed-up = time with "
             "OpenBLAS's choice / time with the variable:", "", openblas_table(ob), ""]
    lines += [f"- `{name}`: {W.find(name).title}." for name in ob["workloads"]]
    return "\n".join(lines) + "\n"


def char_rates(rows):
    for row in rows:
        if row["workload"] == "char_lstm":
            return {lib: 1 / r["median"] for lib, r in row["results"].items() if "median" in r}
    return {}


BEGIN = "<!-- benchmarks:{}:begin (written by python -m benchmarks --write-docs) -->"
END = "<!-- benchmarks:{}:end -->"


def replace_block(text, key, body):
    """Replace what lies between the ``key`` markers of ``text`` by ``body`` (everything else stays
    as it is); raise if the markers are missing."""
    begin, end = BEGIN.format(key), END.format(key)
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"the markers {begin!r} ... {end!r} are missing from the page: put them "
                         f"where the generated {key} belong")
    return text[:i + len(begin)] + "\n" + body + text[j:]


def chart(report, path):
    """Bar chart of each library's median time per step relative to PyTorch (or to tinygrad_rnn
    without PyTorch), one group of bars per workload, on a log scale. Needs matplotlib."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rows = [r for r in report["rows"] if "median" in (r["results"].get("tinygrad_rnn") or {})
            and publishable(r["results"])]
    base = "torch" if "torch" in report["libraries"] else "tinygrad_rnn"
    libs = [lib for lib in report["libraries"] if lib != base or base == "tinygrad_rnn"]
    libs = [lib for lib in libs if any("median" in (r["results"].get(lib) or {}) for r in rows)]
    height = 0.8 / max(len(libs), 1)
    fig, ax = plt.subplots(figsize=(8, 0.16 * len(rows) * max(len(libs), 2) + 1.6))
    for k, lib in enumerate(libs):
        ys, xs = [], []
        for i, r in enumerate(rows):
            v = ratio(r["results"], lib, base)
            if v is not None:
                ys.append(i + (k - (len(libs) - 1) / 2) * height)
                xs.append(v)
        bars = ax.barh(ys, xs, height=height, label=lib)
        if lib == "tinygrad_rnn":
            ax.bar_label(bars, labels=[f"{x:.2f}" for x in xs], fontsize=7, padding=2)
    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
             if lo <= t <= hi]
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda t, _: f"{t:g}x"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [r["workload"] for r in rows])
    ax.invert_yaxis()
    name = {"torch": "PyTorch"}.get(base, base)
    ax.set_xlabel(f"time per step / {name}'s (log scale; < 1x is faster than {name})")
    facts = report["machine"]
    ax.set_title(f"Time per step relative to {name}: {facts['cpu']}, "
                 f"{threads_text(facts['threads'])} per library"
                 + (" (under load)" if busy(facts) else ""), fontsize=9)
    ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=len(libs), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.4 / fig.get_figheight(), 1, 1))       # room for the legend below
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return base


def write_docs(report, page, chart_path):
    text = page.read_text(encoding="utf-8")
    if report["rows"]:
        report["chart_base"] = chart(report, chart_path)
        report["chart"] = chart_path.name
    text = replace_block(text, "results", results_markdown(report))
    if report.get("openblas"):
        text = replace_block(text, "openblas", openblas_markdown(report))
    page.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# the command line

def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes and 3 short rounds (proves it works)")
    p.add_argument("--only", default=None, help=f"comma-separated workloads: {','.join(W.WORKLOADS)}")
    p.add_argument("--threads", type=int, default=None,
                   help="threads per library (default: all cores; with --quick, 1)")
    p.add_argument("--rounds", type=int, default=None,
                   help="alternating rounds per workload (default 7, quick 3)")
    p.add_argument("--round-time", type=float, default=None,
                   help="seconds each library runs per round (default 0.3, quick 0.01)")
    p.add_argument("--pause", type=float, default=None,
                   help="seconds of quiet before each library's turn, for the last worker's spinning "
                        "thread pools to go to sleep (default 1, quick 0)")
    p.add_argument("--aa", action="store_true",
                   help="also time PyTorch against a second PyTorch worker (the A/A check; always "
                        "on with --write-docs)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall time (default), or each worker's CPU time: steadier on a busy machine "
                        "with --threads 1 (with more threads it adds up the threads' times)")
    p.add_argument("--libs", default=None, help=f"comma-separated libraries to time (default: every "
                                                 f"installed one of {','.join(W.LIBRARIES)})")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--from-json", default=None, metavar="PATH",
                   help="measure nothing: print (and with --write-docs, write) the results that "
                        "--json saved in PATH")
    p.add_argument("--write-docs", action="store_true",
                   help="rewrite the generated parts of docs/benchmarks.md and docs/img/benchmarks.png")
    p.add_argument("--docs", default=str(DOCS), help=argparse.SUPPRESS)
    p.add_argument("--chart", default=str(CHART), help=argparse.SUPPRESS)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    names = list(W.WORKLOADS) if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in W.WORKLOADS]
    if unknown:
        p.error(f"--only: unknown workload(s) {', '.join(unknown)}; choose from {', '.join(W.WORKLOADS)}")
    if args.threads is None:
        # quick proves that everything runs: one thread keeps it fast even on busy cores, where
        # OpenMP's and OpenBLAS's threads wait for cores other jobs hold
        args.threads = 1 if args.quick else os.cpu_count()
    if args.threads < 1:
        p.error(f"--threads must be at least 1, got {args.threads}")
    if args.libs is not None:
        args.libs = [s.strip() for s in args.libs.split(",") if s.strip()]
        bad = [lib for lib in args.libs if lib not in W.LIBRARIES]
        if bad:
            p.error(f"--libs: unknown library {', '.join(bad)}; choose from {', '.join(W.LIBRARIES)}")
    args.names = names
    args.rounds = args.rounds or (3 if args.quick else 7)
    args.round_time = args.round_time or (0.01 if args.quick else 0.3)
    if args.pause is None:
        args.pause = 0.0 if args.quick else 1.0
    args.aa = args.aa or args.write_docs
    return args


def show(report):
    """Print the machine facts and the tables of a run."""
    print()
    for line in facts_lines(report["machine"], report["libraries"], report["quick"], report["rounds"]):
        print(line)
    if report["rows"]:
        print()
        print(table(report["rows"], report["libraries"]))
        for lib, r in char_rates(report["rows"]).items():
            print(f"char_lstm: {lib} {r:.2f} steps/s")
    if report.get("bptt_memory"):
        print()
        print(bptt_table(report["bptt_memory"]))
    if report.get("openblas"):
        print()
        ob = report["openblas"]
        print(f"OpenBLAS: {ob['skipped']}" if "skipped" in ob else openblas_table(ob))
    for note in report["warnings"]:
        print(f"warning: {note}")


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return serve(args.worker, args.threads, args.clock)
    if args.from_json:
        report = json.loads(pathlib.Path(args.from_json).read_text())
        show(report)
        if args.write_docs:
            write_docs(report, pathlib.Path(args.docs), pathlib.Path(args.chart))
            print(f"wrote {args.docs}" + (f" and {args.chart}" if report["rows"] else ""))
        return report
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    libs = available_libraries(args.libs)
    print(f"threads: {args.threads} per library (os.cpu_count()={os.cpu_count()}); "
          f"{'quick: tiny sizes, ' if args.quick else ''}{args.rounds} alternating rounds of about "
          f"{args.round_time:g} s per library, {args.clock} clock; libraries: {', '.join(libs)}", flush=True)
    t_start = time.perf_counter()
    workers, infos = start_workers(libs, args.threads, args.clock, args.aa)
    print(f"  workers started [{time.perf_counter() - t_start:.1f} s]", flush=True)
    libs = [lib for lib in libs if lib in workers]
    for lib, info in infos.items():
        if "error" in info:
            print(f"({lib} left out: {info['error']})")
    if "torch" not in libs:
        print("(PyTorch not installed or hidden: no comparison column)")
    facts = machine_facts(args.threads, infos, load_before)
    facts["clock"], facts["pause"] = args.clock, args.pause
    report = {"machine": facts, "libraries": libs, "quick": args.quick, "rounds": args.rounds, "rows": [],
              "blank_reasons": set(), "notes": [], "warnings": [], "errors": []}
    try:
        for name in args.names:
            w, t_workload = W.WORKLOADS[name], time.perf_counter()
            if w.kind == "time":
                res = measure(workers, name, args.quick, args.rounds, args.round_time, pause=args.pause)
                report["rows"].append({"workload": name, "unit": w.unit, "sizes": w.sizes(args.quick),
                                       "results": res})
                for lib, r in res.items():
                    core = lib in ("tinygrad_rnn", "torch")
                    if "blank" in r and core and name != "char_lstm":
                        r["error"] = r.pop("blank")
                    if "error" in r and not core:          # a peer's failure leaves its cell blank
                        report["warnings"].append(f"{name} / {lib} failed: {r['error']}")
                        r = res[lib] = {"blank": f"failed: {r['error']}"}
                    if "blank" in r:
                        report["blank_reasons"].add(r["blank"])
                    if "error" in r:
                        report["errors"].append(f"{name} / {lib}: {r['error']}\n{r.get('trace', '')}")
                print(f"  {name}: " + ", ".join(f"{lib} {cell(r, w.scale) or '-'}" for lib, r in res.items())
                      + f" [{w.unit}; {time.perf_counter() - t_workload:.1f} s]", flush=True)
            elif w.kind == "memory":
                report["bptt_memory"] = run_bptt_memory(args.quick)
                print(f"  bptt_memory: done [{time.perf_counter() - t_workload:.1f} s]", flush=True)
            elif w.kind == "openblas":
                report["openblas"] = run_openblas(args.threads, args.quick, args.rounds, args.round_time,
                                                  infos["tinygrad_rnn"].get("blas", {}), args.clock,
                                                  args.pause)
                print(f"  openblas: done [{time.perf_counter() - t_workload:.1f} s]", flush=True)
    finally:
        for wk in workers.values():
            wk.close()
    report["notes"] = consistency_notes(report["rows"])
    report["warnings"] += [f"{row['workload']}: A/A (PyTorch / PyTorch) {aa_ratio(row['results']):.2f} is "
                           f"outside {AA_BAND[0]}-{AA_BAND[1]}: its ratio is not published"
                           for row in report["rows"] if not publishable(row["results"])]
    # tinygrad_rnn and PyTorch must compute the same loss; a peer that does not only gets a warning
    report["errors"] += [n for n in report["notes"] if n.split(": ", 1)[1].startswith("torch'")]
    report["warnings"] += [n for n in report["notes"] if n not in report["errors"]]
    show(report)
    print(f"\n(total {time.perf_counter() - t_start:.1f} s)")
    report["blank_reasons"] = sorted(report["blank_reasons"])
    if args.write_docs:
        if args.only is not None:
            print("note: with --only, the docs' results list only this run's workloads")
        write_docs(report, pathlib.Path(args.docs), pathlib.Path(args.chart))
        print(f"wrote {args.docs}" + (f" and {args.chart}" if report["rows"] else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=list)
    if report["errors"]:
        for e in report["errors"]:
            print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    return report
