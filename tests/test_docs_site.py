"""The docs site: ``mkdocs build --strict`` passes, every page is in the nav, pasted outputs are real.

``tests/test_docs.py`` runs every python block; this file checks what a reader sees around them:
that the site builds without broken links (when mkdocs is installed: ``pip install -e ".[docs]"``),
that no page is left out of ``mkdocs.yml``'s nav, that a ```text block marked ``<!-- output -->``
right after a python block is exactly what that block prints, and that the graph pictures in
``docs/img/`` are what ``docs/img/make_pictures.py`` draws today.
"""
import contextlib
import io
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*\n", re.S | re.M)      # as tests/test_docs.py
OUTPUT = re.compile(r"\s*<!-- output -->[ \t]*\n```text[^\n]*\n(.*?)^```", re.S | re.M)
SKIP = re.compile(r"^#\s*doc-test:\s*skip\s*\(")


def test_every_page_is_in_the_nav():
    nav = set(re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.md)\s*$",
                         (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M))
    missing = sorted(p.name for p in PAGES if p.name not in nav)
    assert not missing, f"docs pages missing from mkdocs.yml's nav: {missing}; add them there"
    gone = sorted(n for n in nav if not (DOCS / n).exists())
    assert not gone, f"mkdocs.yml's nav lists pages that do not exist: {gone}"


def test_mkdocs_build_strict_passes(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(tmp_path / "site"), "--config-file", str(ROOT / "mkdocs.yml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    for page in PAGES:
        assert (tmp_path / "site" / page.stem / "index.html").exists() or page.stem == "index"
    assert (tmp_path / "site" / "index.html").exists()
    assert not list((tmp_path / "site").rglob("*.py")), "scripts in docs/ must not be published"


def page_outputs(page):
    """Run a page's python blocks in order in one namespace; return [(printed, pasted)] for each
    block followed by a ``<!-- output -->`` text block."""
    text = page.read_text(encoding="utf-8")
    namespace = {"__name__": f"doc_{page.stem}"}
    pairs = []
    import tinygrad_rnn as tg
    try:
        for i, m in enumerate(BLOCK.finditer(text)):
            code = m.group(1)
            if SKIP.match(code):
                continue
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{page.name} block {i + 1}", "exec"), namespace)
            pasted = OUTPUT.match(text, m.end())
            if pasted:
                pairs.append((out.getvalue(), pasted.group(1)))
    finally:
        tg.set_default_device(None)
    return pairs


def _lines(text):
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.mark.parametrize("page", [p for p in PAGES if "<!-- output -->" in p.read_text(encoding="utf-8")],
                         ids=lambda p: p.name)
def test_pasted_outputs_are_what_the_code_prints(page, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    pairs = page_outputs(page)
    assert pairs, f"{page.name}: an <!-- output --> marker is not right after a python block"
    assert len(pairs) == page.read_text(encoding="utf-8").count("<!-- output -->")
    for printed, pasted in pairs:
        assert _lines(printed) == _lines(pasted), (
            f"{page.name}: the pasted output differs from what the block prints now:\n"
            f"--- printed\n{printed}--- pasted\n{pasted}")


def _svg_labels(svg):
    return sorted(re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def test_pictures_are_what_make_pictures_draws(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    run = subprocess.run([sys.executable, str(DOCS / "img" / "make_pictures.py"), str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    drawn = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert drawn == sorted(p.name for p in (DOCS / "img").glob("*.svg"))
    for name in drawn:
        new = (tmp_path / name).read_text(encoding="utf-8")
        old = (DOCS / "img" / name).read_text(encoding="utf-8")
        # compare what the picture says, not Graphviz's coordinates (they vary between versions)
        assert _svg_labels(new) == _svg_labels(old), f"docs/img/{name} is out of date: run " \
                                                     f"python docs/img/make_pictures.py"
        assert len(re.findall(r'class="edge"', new)) == len(re.findall(r'class="edge"', old))


def test_every_picture_is_shown_and_every_shown_picture_exists():
    shown = set()
    for page in PAGES:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            assert (DOCS / target).exists(), f"{page.name} shows a missing picture {target}"
            shown.add(pathlib.Path(target).name)
    unused = sorted(p.name for p in (DOCS / "img").glob("*.svg") if p.name not in shown)
    assert not unused, f"pictures in docs/img/ that no page shows: {unused}"
