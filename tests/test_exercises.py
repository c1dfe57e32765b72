"""The exercise notebooks check themselves: every solution passes, every stub fails its checks.

A tiny executor stands in for Jupyter (no kernel, nothing to install): it reads the ``.ipynb``
JSON and runs the code cells in order in one namespace, as a notebook's kernel would. A cell whose
first line is ``# check`` is a check; in a solution every cell must run, in an exercise every
check must fail (the stub is not the answer yet) and every other cell must run. The notebooks are
written by ``exercises/make_notebooks.py``; the last test checks they are what it writes now.
"""
import contextlib
import importlib.util
import io
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
NAMES = ["autodiff", "rnn", "bptt", "testing", "debugging"]


def code_cells(path):
    """``[(index, source)]`` of the notebook's code cells, in order."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def run(path, tmp_path, monkeypatch):
    """Run every code cell; return ``{cell index: exception or None}`` for the check cells."""
    pytest.importorskip("hypothesis")
    monkeypatch.chdir(tmp_path)
    import tinygrad_rnn as tg
    namespace = {"__name__": "__main__"}
    checks = {}
    try:
        for i, source in code_cells(path):
            is_check = source.startswith("# check")
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(source, f"{path.name} cell {i}", "exec"), namespace)
            except Exception as e:      # noqa: BLE001 - a check may fail any way a student's code can
                if not is_check:
                    raise AssertionError(f"{path.relative_to(ROOT)}: cell {i} is not a check and "
                                         f"fails: {type(e).__name__}: {e}") from e
                checks[i] = e
            else:
                if is_check:
                    checks[i] = None
    finally:
        tg.set_default_device(None)
    assert checks, f"{path.name} has no check cell"
    return checks


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_passes_its_checks(name, tmp_path, monkeypatch):
    checks = run(EXERCISES / "solutions" / f"{name}.ipynb", tmp_path, monkeypatch)
    failed = {i: f"{type(e).__name__}: {e}" for i, e in checks.items() if e is not None}
    assert not failed, f"solutions/{name}.ipynb: checks fail: {failed}"


@pytest.mark.parametrize("name", NAMES)
def test_the_exercise_stub_fails_every_check(name, tmp_path, monkeypatch):
    checks = run(EXERCISES / f"{name}.ipynb", tmp_path, monkeypatch)
    passed = [i for i, e in checks.items() if e is None]
    assert not passed, f"{name}.ipynb: the stub already passes the checks in cells {passed}"


def test_exercise_and_solution_differ_only_in_the_tasks():
    for name in NAMES:
        ex = code_cells(EXERCISES / f"{name}.ipynb")
        sol = code_cells(EXERCISES / "solutions" / f"{name}.ipynb")
        assert [i for i, _ in ex] == [i for i, _ in sol]
        assert sum(a != b for (_, a), (_, b) in zip(ex, sol)) >= 1
        assert [s for _, s in ex if s.startswith("# check")] == [s for _, s in sol if s.startswith("# check")]


def test_the_notebooks_are_what_make_notebooks_writes():
    spec = importlib.util.spec_from_file_location("make_notebooks", EXERCISES / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module.EXERCISES) == sorted(NAMES)
    for name in NAMES:
        for solution, path in ((False, EXERCISES / f"{name}.ipynb"),
                               (True, EXERCISES / "solutions" / f"{name}.ipynb")):
            assert path.read_text(encoding="utf-8") == module.render(name, solution), \
                f"{path.relative_to(ROOT)} is out of date: run python exercises/make_notebooks.py"
