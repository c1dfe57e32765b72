"""Every ```python block in docs/*.md and README.md runs, so no page can show code that does not.

Blocks of one page run in order in one namespace (a page reads top to bottom, later blocks use
earlier names), in a temporary working directory. A block may opt out only with a first line
``# doc-test: skip (<reason>)`` naming what it needs that the suite cannot assume (a GPU, an
optional program); the reason is reported as the skip reason.
"""
import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
SKIP = re.compile(r"^#\s*doc-test:\s*skip\s*\((.+)\)")


def blocks(page):
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=lambda p: p.name)
def test_every_python_block_of_the_page_runs(page, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    import matplotlib
    matplotlib.use("Agg")
    import tinygrad_rnn as tg
    namespace = {"__name__": f"doc_{page.stem}"}
    skipped = []
    for i, code in enumerate(blocks(page)):
        m = SKIP.match(code)
        if m:
            skipped.append(m.group(1))
            continue
        try:
            exec(compile(code, f"{page.name} block {i + 1}", "exec"), namespace)
        except Exception as e:
            raise AssertionError(f"{page.name}, python block {i + 1} fails: {type(e).__name__}: {e}\n"
                                 f"---\n{code}---") from e
        finally:
            tg.set_default_device(None)
    if skipped:
        pytest.skip(f"{page.name}: {len(skipped)} block(s) skipped: " + "; ".join(skipped))


def test_skip_markers_name_a_reason():
    for page in PAGES:
        for code in blocks(page):
            if "doc-test" in code.splitlines()[0]:
                assert SKIP.match(code), f"{page.name}: malformed doc-test marker: {code.splitlines()[0]}"


def test_pages_exist():
    assert (ROOT / "docs").is_dir() and os.path.exists(ROOT / "README.md")


def test_the_docs_front_page_shows_the_readmes_two_commands():
    bash = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
    readme = [b.strip() for b in bash.findall((ROOT / "README.md").read_text()) if "pip install" in b]
    index = (ROOT / "docs" / "index.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert len(readme) >= 2
    for command in readme[:2]:
        assert command in index
    assert readme[1] in ci                      # .ci/run runs the README's test command verbatim


EXCERPT = re.compile(r"^```py\n(.*?)^```", re.S | re.M)


def excerpts(page):
    """``py`` blocks whose first line names a file of the repository: ``# path/to/file.py, where``."""
    for block in EXCERPT.findall(page.read_text(encoding="utf-8")):
        head, *lines = block.splitlines()
        m = re.match(r"#\s*(\S+\.py)", head)
        if m:
            yield m.group(1), [line.strip() for line in lines if line.strip()]


@pytest.mark.parametrize("page", [p for p in PAGES if list(excerpts(p))], ids=lambda p: p.name)
def test_code_quoted_from_the_library_is_in_the_file_it_names(page):
    for path, lines in excerpts(page):
        source = [line.strip() for line in (ROOT / path).read_text(encoding="utf-8").splitlines()]
        at = 0
        for line in lines:                                 # each line, in order, in the file
            assert line in source[at:], (f"{page.name} quotes a line that {path} no longer has "
                                         f"(after line {at}): {line!r}")
            at = source.index(line, at) + 1


def test_the_autodiff_page_quotes_the_code_that_runs():
    quoted = [path for path, _ in excerpts(ROOT / "docs" / "autodiff.md")]
    assert quoted.count("tinygrad_rnn/autograd.py") >= 3        # apply, deliver, call_backward
    assert "tinygrad_rnn/ops/elementwise.py" in quoted and "tinygrad_rnn/ops/nn_ops.py" in quoted
    page = (ROOT / "docs" / "autodiff.md").read_text(encoding="utf-8")
    assert "backward_raw" not in page                       # the old second body is gone
    assert "`ctx.saved_arrays`" in page                     # the array body's name is explained
