"""The sequence-structure examples run in --quick mode and do what their docstrings
promise at that scale; their helpers are checked against values worked out by hand; the code
excerpts of docs/rnn.md still match the library.

The full-scale figures (98% digits, 100% dates, ...) come from full runs and are in docs/rnn.md;
here each example trains for seconds, so the thresholds are those a quick run must clear.
"""
import datetime
import importlib.util
import pathlib
import re
import shutil

import numpy as np
import pytest

import tinygrad_rnn as tg

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _plots_need_matplotlib():
    pytest.importorskip("matplotlib")


# ----------------------------------------------------------------------------- hello_rnn

def test_hello_rnn_learns_ello_spells_hello_and_draws_one_shared_weight_node(tmp_path):
    out = load("hello_rnn").main(["--quick", "--out", str(tmp_path / "h.png"),
                                  "--graph", str(tmp_path / "graph")])
    # measured over seeds 0-5 under every BLAS kernel family (python tests/outcome_spread.py
    # hello_rnn): "ello" and "hello" every time; last/first loss 0.016-0.033 (seed 0: 0.027),
    # the bound 0.1 is 3 times the worst
    assert out["predictions"][-1] == "ello"
    assert out["spelled"] == "hello"
    assert out["losses"][-1] < 0.1 * out["losses"][0]
    # in the DOT text, the node labelled weight_hh has one arrow into each of the 4 steps, and
    # each step is a box in the rnn module's box holding one cell: 2 matmuls, 3 adds, a tanh
    dot = (tmp_path / "graph.dot").read_text()
    keys = re.findall(r'"(t\d+)" \[label="rnn\.weight_hh_l0', dot)
    assert len(keys) == 1
    assert dot.count(f'"{keys[0]}" ->') == 4 == out["weight_hh_uses"]
    steps = re.findall(r'subgraph "cluster_step_\d+" \{\s*label="(step \d)";(.*?)\n\s*\}', dot, re.S)
    assert [s for s, _ in steps] == ["step 1", "step 2", "step 3", "step 4"]
    for _, body in steps:
        ops = sorted(re.findall(r'\[label="(\w+)\\n', body))
        assert ops == ["add", "add", "add", "matmul", "matmul", "tanh"]
    assert (tmp_path / "h.png").stat().st_size > 1000
    assert (tmp_path / "graph.svg").exists() == bool(shutil.which("dot"))


# ----------------------------------------------------------------------------- many-to-one

def test_sequence_classification_quick_run_learns_with_lstm_and_gru(tmp_path):
    pytest.importorskip("sklearn")
    histories = load("sequence_classification").main(["--quick", "--out", str(tmp_path / "s.png")])
    # measured over seeds 0-5 under every BLAS kernel family (python tests/outcome_spread.py
    # sequence_classification): last/first loss LSTM 0.22-0.27, GRU 0.18-0.25 (bound 0.5: a
    # factor 1.9); test accuracy LSTM 0.85-0.89 (seed 0: 0.878), GRU 0.88-0.92 (seed 0: 0.915),
    # at least 0.05 above the bound 0.8 (chance is 0.1)
    for kind in ("LSTM", "GRU"):
        h = histories[kind]
        assert h["loss"][-1] < 0.5 * h["loss"][0]
        assert h["test"][-1] > 0.8, kind
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_sequence_classification_reads_rows_as_time_steps():
    pytest.importorskip("sklearn")
    ex = load("sequence_classification")
    (X_train, _), (X_test, _) = ex.split_digits()
    X, _ = tg.datasets.load_digits(return_X_y=True)
    assert X_train.shape[1:] == (8, 8) and len(X_train) + len(X_test) == 1797
    # row t of an image is pixels 8t .. 8t+7 of the flat 64-pixel vector
    flat = X_test.numpy().reshape(len(X_test), 64)
    assert (np.asarray(X) == flat[0]).all(1).any()


# ----------------------------------------------------------------------------- one-to-many

def test_captioning_targets_are_the_names_shifted_by_one_step():
    ex = load("captioning")
    inputs, targets = ex.captions()
    chars = ex.CHARS
    seven_in = "".join(chars[i] for i in inputs[7])
    seven_out = "".join(chars[i] for i in targets[7] if i != -100)
    assert seven_in == "^seven" and seven_out == "seven$"
    assert "".join(chars[i] for i in targets[1] if i != -100) == "one$"
    assert (targets[1] == -100).sum() == 2            # "one$" padded to 6 steps


def test_captioning_exact_word_accuracy_counts_only_up_to_the_end_token():
    ex = load("captioning")
    _, targets = ex.captions()
    ids = {c: k for k, c in enumerate(ex.CHARS)}
    rows = ["six$$$", "six$ee", "sixe$$", "siv$$$"]   # right, right (after $), wrong, wrong
    written = tg.tensor([[ids[c] for c in r] for r in rows])
    labels = tg.tensor([6, 6, 6, 6])
    assert ex.exact_words(written, labels, targets) == 0.5
    assert ex.text([ids[c] for c in "six$ee"]) == "six"


def test_captioning_quick_run_writes_the_right_word_for_most_test_digits(tmp_path):
    pytest.importorskip("sklearn")
    h = load("captioning").main(["--quick", "--out", str(tmp_path / "c.png")])
    # measured over seeds 0-5 under every BLAS kernel family (python tests/outcome_spread.py
    # captioning): last/first loss 0.045-0.090 (bound 0.2: a factor 2.2); exact-word accuracy
    # 0.895-0.931 (bound 0.8); digits 0-9 named right 8-10 (seed 0: 9; bound 7)
    assert h["loss"][-1] < 0.2 * h["loss"][0]
    assert h["test"][-1] > 0.8
    assert sum(w == n for w, n in zip(h["words"], load("captioning").NAMES)) >= 7
    assert (tmp_path / "c.png").stat().st_size > 1000
    assert (tmp_path / "c_samples.png").stat().st_size > 1000


# ----------------------------------------------------------------------------- tagging

def test_tagging_labels_every_character_by_its_token_class():
    ex = load("tagging")
    text = "if x == 'a b':  # hi\n    y = 10\n"
    # worked by hand: k keyword, n name, + operator, s string, # comment, N number, _ space
    expected = "kk_n_++_sssss+__####_____n_+_NN_"
    got = "".join(ex.SHORT[k] for k in ex.tag(text))
    assert got == expected
    assert len(got) == len(text)


def test_tagging_encodes_characters_as_ascii_codes():
    ex = load("tagging")
    assert ex.encode("aZ\n").tolist() == [97, 90, 10]
    assert ex.encode("é€").tolist() == [127, 127]          # beyond ASCII: one shared id


def test_tagging_quick_run_beats_the_majority_class_baseline(tmp_path):
    h = load("tagging").main(["--quick", "--out", str(tmp_path / "t.png")])
    # measured over seeds 0-5 under every BLAS kernel family (python tests/outcome_spread.py
    # tagging): last/first loss 0.29-0.35 (bound 0.5: a factor 1.4); accuracy above the
    # majority-class baseline by 0.30-0.41 (seed 0: 0.37), twice the bound 0.15
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert h["test"][-1] > h["baseline"] + 0.15
    assert (tmp_path / "t.png").stat().st_size > 1000


# ----------------------------------------------------------------------------- seq2seq

def test_seq2seq_dates_formats_one_date_every_way():
    ex = load("seq2seq_dates")
    d = datetime.date(2021, 3, 3)                 # a Wednesday
    written = [f(d, "March", "Wednesday") for f in ex.FORMATS]
    assert written == ["March 3, 2021", "3 March 2021", "Mar 3, 2021", "3 Mar 2021", "03/03/2021",
                       "3.3.2021", "Wednesday, March 3, 2021", "Wed 3 Mar 2021",
                       "the 3rd of March 2021", "2021/03/03", "20210303", "03-MAR-2021",
                       "march 3 2021"]
    assert [ex.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]
    texts, isos = ex.make_dates(200, np.random.default_rng(0))
    for text, iso in zip(texts, isos):
        day = datetime.date.fromisoformat(iso)
        assert str(day.year) in text
        assert set(text) <= set(ex.IN_CHARS)


def test_seq2seq_dates_decoder_reads_the_target_one_step_behind():
    ex = load("seq2seq_dates")
    chars, lengths, dec_in, target = ex.encode(["3 Mar 2021", "20210303"], ["2021-03-03"] * 2)
    assert lengths.tolist() == [10, 8] and chars.shape == (2, 10)
    assert chars[1, 8:].tolist() == [0, 0]                                # padding
    out = "".join(ex.OUT_CHARS[i] for i in target[0].tolist())
    inp = "".join(ex.OUT_CHARS[i] for i in dec_in[0].tolist())
    assert out == "2021-03-03$" and inp == "^2021-03-03"


def test_seq2seq_dates_packed_encoder_ignores_the_padding():
    ex = load("seq2seq_dates")
    tg.manual_seed(0)
    model = ex.DateTranslator(16)
    chars, lengths, _, _ = ex.encode(["3 Mar 2021", "20210303"], ["2021-03-03"] * 2)
    h, c = model.encode(chars, lengths)
    alone, alone_len, _, _ = ex.encode(["20210303"], ["2021-03-03"])
    h1, c1 = model.encode(alone, alone_len)
    assert tg.allclose(h[:, 1], h1[:, 0], atol=1e-6) and tg.allclose(c[:, 1], c1[:, 0], atol=1e-6)


def test_seq2seq_dates_quick_run_learns_most_characters(tmp_path):
    h = load("seq2seq_dates").main(["--quick", "--out", str(tmp_path / "d.png")])
    # measured over seeds 0-5 under every BLAS kernel family (python tests/outcome_spread.py
    # seq2seq_dates): last/first loss 0.375-0.398 (bound 0.6: a factor 1.5); character accuracy
    # 0.67-0.69 (bound 0.5; a random digit would be right 1 time in 10)
    assert h["loss"][-1] < 0.6 * h["loss"][0]
    assert h["chars"][-1] > 0.5
    assert (tmp_path / "d.png").stat().st_size > 1000


# ----------------------------------------------------------------------------- adding problem

def test_adding_batch_marks_one_value_in_each_half_and_sums_them():
    ex = load("adding_problem")
    x, y = ex.adding_batch(500, 20, np.random.default_rng(0))
    values, markers = x.numpy()[..., 0], x.numpy()[..., 1]
    assert (markers.sum(0) == 2).all()
    assert (markers[:10].sum(0) == 1).all() and (markers[10:].sum(0) == 1).all()
    np.testing.assert_allclose(y.numpy()[:, 0], (values * markers).sum(0), rtol=1e-6)
    # always answering 1 costs Var(u1 + u2) = 1/6
    _, y = ex.adding_batch(100_000, 20, np.random.default_rng(1))
    assert abs(((y.numpy() - 1) ** 2).mean() - ex.BASELINE) < 0.005


def test_adding_problem_hooks_see_the_gradient_at_the_last_step():
    ex = load("adding_problem")
    tg.manual_seed(0)
    model = ex.Adder("GRU", 8)
    x, y = ex.adding_batch(16, 6, np.random.default_rng(0))
    norms = ex.state_gradients(model, x, y)
    # dL/dh_T for L = mean((h_T w^T + b - y)^2) is 2 / B * (prediction - y) w, by hand
    with tg.no_grad():
        pred = model(x)
    g = 2 / 16 * (pred - y).numpy() * model.fc.weight.numpy()
    assert norms[-1] == pytest.approx(np.linalg.norm(g, axis=1).mean(), rel=1e-4)
    assert all(n > 0 for n in norms)


def test_adding_problem_quick_run_lstm_and_gru_learn_what_the_rnn_cannot(tmp_path):
    out = load("adding_problem").main(["--quick", "--out", str(tmp_path / "a.png")])
    # L = 20, 300 updates. Final test MSE / baseline measured over seeds 0-5 and every BLAS kernel
    # family (python tests/outcome_spread.py adding_problem): RNN 0.89-1.03 (seed 0: 0.98),
    # LSTM 0.017-0.21 (seed 0: 0.039-0.068 by kernel family), GRU 0.0046-0.027 (seed 0: 0.0061).
    # The bounds leave factors of 1.27, 2.3 and 3.7 to the worst value seen; an LSTM that stopped
    # learning stays near 1, as the RNN does.
    final = {kind: curve[-1][1] / out["baseline"] for (kind, _), curve in out["curves"].items()}
    assert final["RNN"] > 0.7                              # the RNN stays at the baseline
    assert final["LSTM"] < 0.5 and final["GRU"] < 0.1      # the gated cells learn
    # after training, the gradient reaching step 1 is a sizeable part of that at step 20 in the
    # gated cells (measured: LSTM 0.19-0.38, GRU 0.27-0.53; the bound is 19 times below)
    g = out["gradients"]
    assert g["LSTM"][0] > 1e-2 * g["LSTM"][-1] and g["GRU"][0] > 1e-2 * g["GRU"][-1]
    assert (tmp_path / "a.png").stat().st_size > 1000


def rnn_gradient_ratio_at_start(seed, length=20):
    """||dL/dh_1|| / ||dL/dh_L|| of an untrained RNN: a fixed point, no training path."""
    ex = load("adding_problem")
    tg.manual_seed(seed)
    model = ex.Adder("RNN", 32)
    norms = ex.state_gradients(model, *ex.adding_batch(256, length, np.random.default_rng(1)))
    return norms[0] / norms[-1]


def test_adding_problem_rnn_gradient_vanishes_on_the_way_back():
    # tanh' <= 1 times |W_hh| < 1 per step: over 19 steps back the gradient shrinks by orders of
    # magnitude. Measured over seeds 0-5 and every BLAS kernel family (python
    # tests/outcome_spread.py adding_rnn_at_start): 6.9e-6-1.4e-4 (seed 0: 1.5e-5); the bound
    # 1e-3 is 7 times the worst.
    assert rnn_gradient_ratio_at_start(seed=0) < 1e-3


# ----------------------------------------------------------------------------- truncated BPTT memory

def test_tbptt_memory_full_grows_with_length_truncated_stays_flat(tmp_path):
    out = load("tbptt_memory").main(["--quick", "--out", str(tmp_path / "m.png")])
    full, trunc = out["full"], out["truncated"]
    assert out["lengths"] == [64, 128, 256]
    assert 3 < full[-1] / full[0] < 5                      # L four times as long: ~4x the memory
    assert trunc[-1] < 1.2 * trunc[0]                      # the same for every L
    assert trunc[-1] < full[-1] / 4
    assert (tmp_path / "m.png").stat().st_size > 1000


# ----------------------------------------------------------------------------- docs/rnn.md

def excerpts(page):
    """``py`` blocks whose first line names a file: ``# path/to/file.py, where``."""
    for block in re.findall(r"^```py\n(.*?)^```", page, re.S | re.M):
        head, *lines = block.splitlines()
        m = re.match(r"#\s*(\S+\.py)", head)
        if m:
            yield m.group(1), [line.strip() for line in lines if line.strip()]


def test_rnn_doc_code_excerpts_match_the_library():
    page = (ROOT / "docs" / "rnn.md").read_text(encoding="utf-8")
    found = list(excerpts(page))
    assert len(found) >= 4
    for path, lines in found:
        source = [line.strip() for line in (ROOT / path).read_text(encoding="utf-8").splitlines()]
        at = 0
        for line in lines:                                 # each line, in order, in the file
            assert line in source[at:], (f"docs/rnn.md quotes a line that {path} no longer has "
                                         f"(after line {at}): {line!r}")
            at = source.index(line, at) + 1


def test_rnn_doc_keeps_the_main_job_section():
    page = (ROOT / "docs" / "rnn.md").read_text(encoding="utf-8")
    assert "## The main job: a character LSTM" in page
