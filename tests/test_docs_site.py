"""The docs site: ``mkdocs build --strict`` passes, every page is in the nav, pasted outputs are real.

``tests/test_docs.py`` runs every python block; this file checks what a reader sees around them:
that the site builds without broken links (when mkdocs is installed: ``pip install -e ".[docs]"``)
and works offline (no script or style sheet from the network, maths rendered while building), that
no page is left out of ``mkdocs.yml``'s nav, that a ```text block marked ``<!-- output -->`` right
after a python block is exactly what that block prints, and that the pictures in ``docs/img/`` are
what ``docs/img/make_pictures.py`` draws today.
"""
import contextlib
import io
import os
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


def test_the_nav_fits_on_one_row():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n")[1]
    top = re.findall(r"^  - ", nav, re.M)
    assert 2 <= len(top) <= 5, f"{len(top)} top-level nav entries: group pages into sections"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site as ``mkdocs build --strict`` writes it."""
    for module in ("mkdocs", "pymdownx", "pygments", "latex2mathml"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(out), "--config-file", str(ROOT / "mkdocs.yml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    return out


def test_mkdocs_build_strict_passes(site):
    for page in PAGES:
        assert (site / page.stem / "index.html").exists() or page.stem == "index"
    assert (site / "index.html").exists()
    assert not list(site.rglob("*.py")), "scripts in docs/ must not be published"


REMOTE = re.compile(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", re.I)


def test_the_site_loads_no_script_or_style_from_the_network(site):
    # a classroom without internet: every script, style sheet, font and picture comes with the site
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", text, re.I):
            for url in re.findall(r"(?:src|href)=[\"']([^\"']*)", tag, re.I):
                assert not REMOTE.match(url), f"{page.relative_to(site)} loads {url} ({tag})"
    for css in site.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        urls = re.findall(r"url\(\s*[\"']?([^\"')]*)", text) + \
            re.findall(r"@import\s+[\"']([^\"']*)", text)
        for url in urls:
            assert not REMOTE.match(url), f"{css.relative_to(site)} loads {url}"


def test_maths_is_rendered_and_code_highlighted_at_build_time(site):
    rnn = (site / "rnn" / "index.html").read_text(encoding="utf-8")
    assert rnn.count("<math ") >= 3 and "arithmatex" not in rnn, "equations left for a script to render"
    assert '<span class="kn">import</span>' in rnn        # Pygments' classes, styled by pygments.css
    assert (site / "css" / "pygments.css").read_text().count(".highlight .kn") == 1


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


def test_diagrams_are_what_make_pictures_draws(tmp_path):
    pytest.importorskip("matplotlib")
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, str(DOCS / "img" / "make_pictures.py"), "--diagrams",
                          str(tmp_path)], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    drawn = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert drawn == ["gru_cell.svg", "lstm_cell.svg", "sequence_structures.svg"]
    for name in drawn:
        new = (tmp_path / name).read_text(encoding="utf-8")
        old = (DOCS / "img" / name).read_text(encoding="utf-8")
        assert _svg_labels(new) == _svg_labels(old), f"docs/img/{name} is out of date: run " \
                                                     f"python docs/img/make_pictures.py --diagrams"


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
