"""The benchmark runner (``python -m benchmarks``) works: it runs in ``--quick`` mode in a
subprocess, prints a table of the right shape whose ratios are numbers, feeds every library the
same weights and batch, runs without PyTorch, and rewrites only the generated parts of the docs.

No timing is asserted anywhere: timings belong to benchmarks/, not to the test suite.
"""
import importlib.util
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:        # benchmarks/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import runner  # noqa: E402
from benchmarks import workloads as W  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def run_bench(args, tmp_path, env=None):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, f"the runner failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout, json.loads(out.read_text())


def table_rows(stdout):
    """The printed markdown table as a list of rows of cells (header first, separator dropped)."""
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines
            if not line.startswith("|---")]


CELL = re.compile(r"^(\d+(?:\.\d+)?) \((\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\)$")     # median (min-max)


# --------------------------------------------------------------------------------------------
# the same numbers in every library, checked against NumPy by hand

def numpy_chain_sum():
    x, w, b = (a.astype(np.float64) for a in W.chain_arrays())
    for _ in range(W.CHAIN_BLOCKS):
        x = np.maximum(x * w + b, 0) ** 2
    return x.sum()


def numpy_mlp_loss(quick):
    arrays, x, y = W.mlp_data(quick)
    h = x.astype(np.float64)
    n = len(W.mlp_sizes(quick)["dims"]) - 1
    for k in range(n):
        h = h @ arrays[f"{2 * k}.weight"].T.astype(np.float64) + arrays[f"{2 * k}.bias"]
        if k < n - 1:
            h = np.maximum(h, 0)
    logp = h - h.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


def test_chain_arrays_keep_values_normal_over_the_whole_chain():
    # the chain's fixed point is near 0.15: no overflow, no underflow to denormals that would
    # make one library's timing depend on the values
    x, w, b = W.chain_arrays()
    for _ in range(W.CHAIN_BLOCKS):
        x = np.maximum(x * w + b, 0) ** 2
        assert np.all((x > 0.01) & (x < 0.4))


def test_shared_weights_depend_on_the_name_not_the_order_of_asking():
    a = W.init_state({"0.weight": (3, 4), "0.bias": (3,)})
    b = W.init_state({"0.bias": (3,), "0.weight": (3, 4)})
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(W.uniform("p", (5,), 1.0), W.uniform("q", (5,), 1.0))


def test_shared_weights_follow_pytorchs_default_bounds():
    s = W.init_state({"0.weight": (300, 64), "0.bias": (300,), "rnn.weight_ih_l0": (400, 7),
                      "embed.weight": (50, 8)}, rnn_hidden=100)
    assert 0.9 / 8 < np.abs(s["0.weight"]).max() <= 1 / 8           # 1/sqrt(fan_in = 64)
    assert 0.9 / 8 < np.abs(s["0.bias"]).max() <= 1 / 8             # the bias shares its weight's bound
    assert 0.09 < np.abs(s["rnn.weight_ih_l0"]).max() <= 0.1        # 1/sqrt(hidden = 100)
    assert np.abs(s["embed.weight"]).max() > 1.5                    # N(0, 1), not bounded
    assert all(v.dtype == np.float32 for v in s.values())


@pytest.mark.parametrize("name, truth", [("chain", numpy_chain_sum), ("mlp", lambda: numpy_mlp_loss(True))])
def test_tinygrad_rnn_builders_compute_what_numpy_computes_by_hand(name, truth):
    step = W.WORKLOADS[name].build("tinygrad_rnn", True, 1)
    assert runner.to_float(step()) == pytest.approx(truth(), rel=1e-5)


# --------------------------------------------------------------------------------------------
# the runner's pieces

def test_summarize_gives_median_and_extreme_rounds():
    s = runner.summarize([0.3, 0.1, 0.2, 0.5])
    assert (s["median"], s["min"], s["max"]) == (0.25, 0.1, 0.5)


def test_table_shows_median_range_and_ratio_of_medians():
    rows = [{"workload": "mlp", "results": {
        "tinygrad_rnn": runner.summarize([0.003, 0.002, 0.004]),
        "torch": runner.summarize([0.0025, 0.002, 0.0041]),
        "mygrad": {"blank": "cannot"}}}]
    lines = runner.table(rows, ["tinygrad_rnn", "torch", "mygrad"]).splitlines()
    assert lines[0] == "| workload | unit | tinygrad_rnn | torch | tinygrad_rnn / torch | mygrad |"
    assert lines[2] == "| mlp | ms/step | 3.00 (2.00-4.00) | 2.50 (2.00-4.10) | 1.20 |  |"


def test_a_ratio_is_published_only_when_pytorch_against_itself_lands_within_ten_percent():
    def row(torch2):
        return {"workload": "mlp", "results": {
            "tinygrad_rnn": runner.summarize([0.003]), "torch": runner.summarize([0.002]),
            runner.AA: runner.summarize([torch2])}}
    good, bad = row(0.0021), row(0.0023)          # A/A 0.002 / 0.0021 = 0.95; 0.002 / 0.0023 = 0.87
    assert runner.publishable(good["results"]) and not runner.publishable(bad["results"])
    lines = runner.table([good, bad], ["tinygrad_rnn", "torch"]).splitlines()
    assert lines[0].endswith("| tinygrad_rnn / torch | A/A: torch / torch |")
    assert lines[2].endswith("| 1.50 | 0.95 |")
    assert lines[3].endswith("| (1.50: A/A failed) | 0.87 |")


def test_each_turn_starts_after_the_pause():
    class Clock:                                   # a stand-in worker that records when it is asked
        def __init__(self, log):
            self.log = log

        def send(self, **request):
            pass

        def receive(self):
            return {"ok": True, "first": 1.0, "estimate": 0.01}

        def ask(self, **request):
            self.log.append(time.perf_counter())
            return {"seconds": 0.01}

    log = []
    runner.measure({"a": Clock(log), "b": Clock(log)}, "mlp", True, 2, 0.01, pause=0.05)
    assert len(log) == 4 and all(t2 - t1 >= 0.05 for t1, t2 in zip(log, log[1:]))


def test_chain_is_reported_per_op_in_microseconds():
    w = W.WORKLOADS["chain"]
    assert w.unit == "us/op" and w.per == W.CHAIN_OPS == 100
    assert runner.cell(runner.summarize([0.001]), w.scale) == "10.0 (10.0-10.0)"     # 1 ms / 100 ops


def test_replace_block_rewrites_only_between_its_markers():
    begin, end = runner.BEGIN.format("results"), runner.END.format("results")
    page = f"# T\nintro\n{begin}\nold\n{end}\n## Convolution\nkept\n"
    new = runner.replace_block(page, "results", "new table\n")
    assert new == f"# T\nintro\n{begin}\nnew table\n{end}\n## Convolution\nkept\n"
    with pytest.raises(ValueError, match="markers"):
        runner.replace_block("# no markers\n", "results", "x")


def test_docs_page_has_the_markers_the_runner_writes_between():
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    for key in ("results", "openblas"):
        assert runner.replace_block(text, key, "x\n")


def test_no_torch_variable_hides_pytorch(monkeypatch):
    monkeypatch.setenv(runner.NO_TORCH_ENV, "1")
    assert "torch" not in runner.available_libraries()
    assert runner.available_libraries()[0] == "tinygrad_rnn"


def test_unknown_workload_is_refused_with_the_valid_names(capsys):
    with pytest.raises(SystemExit):
        runner.parse_args(["--only", "chain,lstm"])
    err = capsys.readouterr().err
    assert "unknown workload(s) lstm" in err and "lstm256" in err


def test_same_loss_check_tolerates_float32_rounding_only():
    assert runner.same_loss(2.367702, 2.3677025)
    assert not runner.same_loss(2.3677, 2.40)


# --------------------------------------------------------------------------------------------
# the runner end to end, in a subprocess

@pytest.fixture(scope="module")
def torch_run(tmp_path_factory):
    if not HAS_TORCH:
        pytest.skip("PyTorch is not installed: no comparison column to check")
    return run_bench(["--only", "chain,mlp,lstm128", "--libs", "tinygrad_rnn,torch"],
                     tmp_path_factory.mktemp("bench"))


def test_quick_run_prints_one_row_per_workload_with_numeric_ratios(torch_run):
    stdout, report = torch_run
    rows = table_rows(stdout)
    assert rows[0] == ["workload", "unit", "tinygrad_rnn", "torch", "tinygrad_rnn / torch"]
    assert [r[:2] for r in rows[1:]] == [["chain", "us/op"], ["mlp", "ms/step"], ["lstm128", "ms/step"]]
    for row, data in zip(rows[1:], report["rows"]):
        for cell in row[2:4]:
            median, lo, hi = map(float, CELL.match(cell).groups())
            assert lo <= median <= hi
        ratio = float(row[4])
        res = data["results"]
        assert ratio == pytest.approx(res["tinygrad_rnn"]["median"] / res["torch"]["median"], abs=0.006)
        assert math.isfinite(ratio) and ratio > 0


def test_quick_run_feeds_both_libraries_the_same_weights_and_batch(torch_run):
    _, report = torch_run
    firsts = {r["workload"]: {lib: v["first"] for lib, v in r["results"].items()} for r in report["rows"]}
    assert firsts["chain"]["tinygrad_rnn"] == pytest.approx(numpy_chain_sum(), rel=1e-5)
    assert firsts["mlp"]["tinygrad_rnn"] == pytest.approx(numpy_mlp_loss(True), rel=1e-5)
    for row in firsts.values():
        assert row["torch"] == pytest.approx(row["tinygrad_rnn"], rel=1e-4)


def test_quick_run_states_threads_and_alternates_rounds(torch_run):
    stdout, report = torch_run
    assert stdout.startswith("threads: 1 per library (os.cpu_count()=")
    assert report["machine"]["threads"] == 1 and report["rounds"] == 3
    for row in report["rows"]:
        assert all(len(v["rounds"]) == 3 for v in row["results"].values())


@pytest.fixture(scope="module")
def no_torch_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench_no_torch")
    docs = tmp / "benchmarks.md"
    docs.write_text((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"), encoding="utf-8")
    args = ["--only", "chain,gru128", "--libs", "tinygrad_rnn,torch"]
    if HAS_MPL:
        args += ["--write-docs", "--docs", str(docs), "--chart", str(tmp / "img" / "benchmarks.png")]
    stdout, report = run_bench(args, tmp, env={runner.NO_TORCH_ENV: "1"})
    return stdout, report, tmp


def test_runs_without_torch_and_leaves_out_its_columns(no_torch_run):
    stdout, report, _ = no_torch_run
    rows = table_rows(stdout)
    assert rows[0] == ["workload", "unit", "tinygrad_rnn"]
    assert [r[0] for r in rows[1:]] == ["chain", "gru128"]
    assert all(CELL.match(r[2]) for r in rows[1:])
    assert report["libraries"] == ["tinygrad_rnn"]
    assert "no comparison column" in stdout


def test_write_docs_fills_the_markers_and_keeps_the_hand_written_sections(no_torch_run):
    if not HAS_MPL:
        pytest.skip("matplotlib is not installed: --write-docs draws a chart")
    _, _, tmp = no_torch_run
    old = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    new = (tmp / "benchmarks.md").read_text(encoding="utf-8")
    begin, end = runner.BEGIN.format("results"), runner.END.format("results")
    generated = new[new.index(begin):new.index(end)]
    assert "| chain | us/op |" in generated and "| gru128 | ms/step |" in generated
    assert "![" in generated and "img/benchmarks.png" in generated
    # everything outside the results block is as it was (the openblas block was not run)
    assert new[:new.index(begin)] == old[:old.index(begin)]
    assert new[new.index(end):] == old[old.index(end):]
    assert "## Convolution" in new[new.index(end):]
    assert (tmp / "img" / "benchmarks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_peers_get_the_same_numbers_and_blank_what_they_cannot_express(tmp_path):
    peers = [p for p in W.PEERS if importlib.util.find_spec(p) is not None]
    if not peers:
        pytest.skip("none of DeZero, MyGrad, micrograd is installed")
    stdout, report = run_bench(["--only", "chain,chain_double", "--libs", ",".join(["tinygrad_rnn"] + peers)],
                               tmp_path, env={runner.NO_TORCH_ENV: "1"})
    rows = table_rows(stdout)
    header = rows[0]
    by_name = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    for peer in report["libraries"][1:]:
        assert header.index(peer) > header.index("tinygrad_rnn")
        first = report["rows"][0]["results"][peer]["first"]
        assert first == pytest.approx(numpy_chain_sum(), rel=1e-4)
    if "micrograd" in report["libraries"]:
        assert CELL.match(by_name["chain"]["micrograd"]) and by_name["chain_double"]["micrograd"] == ""
    if "mygrad" in report["libraries"]:
        assert by_name["chain_double"]["mygrad"] == ""
    if "dezero" in report["libraries"]:
        assert CELL.match(by_name["chain_double"]["dezero"])


def test_from_json_prints_the_saved_results_without_measuring(no_torch_run, tmp_path):
    stdout, report, _ = no_torch_run
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(report))
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--from-json", str(saved)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert table_rows(proc.stdout) == table_rows(stdout)
    assert "threads:" not in proc.stdout          # no workers were started
