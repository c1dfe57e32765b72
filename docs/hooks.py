"""mkdocs hooks that make the site work offline: maths as MathML, code highlighted at build time.

* Equations are written in the pages as ``$$ ... $$`` (display) or ``$ ... $`` (inline) LaTeX,
  which GitHub renders too. ``pymdownx.arithmatex`` (generic mode) finds them and leaves
  ``<div class="arithmatex">\\[...\\]</div>`` / ``<span class="arithmatex">\\(...\\)</span>``; the
  hook below turns each into MathML with ``latex2mathml``. Browsers draw MathML themselves: no
  script, no font download, no network.
* Code is highlighted by ``pymdownx.highlight`` with Pygments while the site is built (the theme's
  highlight.js, which loads from a CDN, is turned off); ``on_post_build`` writes the colours as
  ``css/pygments.css``, which mkdocs.yml lists in ``extra_css``.

Configured in mkdocs.yml (``hooks:``); the ``docs`` extra installs what they need.
"""
import html
import pathlib
import re

from latex2mathml.converter import convert
from pygments.formatters import HtmlFormatter

_BLOCK = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)
_INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)


def _mathml(tex, display):
    return convert(html.unescape(tex).strip(), display="block" if display else "inline")


def on_page_content(html_text, page, config, files):
    html_text = _BLOCK.sub(lambda m: f'<div class="math">{_mathml(m.group(1), True)}</div>', html_text)
    return _INLINE.sub(lambda m: _mathml(m.group(1), False), html_text)


def on_post_build(config):
    css = pathlib.Path(config["site_dir"]) / "css" / "pygments.css"
    css.parent.mkdir(parents=True, exist_ok=True)
    css.write_text(HtmlFormatter(style="default").get_style_defs(".highlight") + "\n"
                   ".math { overflow-x: auto; margin: 1em 0; }\n", encoding="utf-8")
