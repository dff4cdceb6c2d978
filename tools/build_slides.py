"""Build one reveal.js slide deck per lecture notebook, and its PDF handout, offline.

    tools/course slides                     # -> build/site/slides/NN_name.slides.html (+ handouts/NN_name.pdf)
    .venv/bin/python tools/build_slides.py --out DIR [--pdf] [NOTEBOOK ...]

Each deck is nbconvert's reveal template (``SlidesExporter``) made from the
notebook's STORED outputs (nothing is executed), laid out for a lecturer:

* code is hidden (a code cell tagged ``slides-show-code`` keeps its code), and so
  are the ``In [n]:`` prompts;
* prose beyond a few lines goes to reveal.js speaker notes (press S): a slide
  keeps the headings, equations, short tables and the first short paragraph of a
  markdown cell; hints and answers (``<details>``) are notes only;
* a slide that would grow past 1280x720 continues on a new (vertical) slide, and
  figures are scaled to fit; ``tests/test_slides_site.py`` checks every slide in
  Chromium;
* slider cells move without a kernel: ``optlib.slider_export.for_page`` turns each
  stored table of figures into the offline player;
* ``--pdf`` prints every deck to ``DIR/handouts/NN_name.pdf`` with reveal.js's
  print layout in the headless Chromium the tests use (offline).

Every script and style sheet is served from ``DIR/../_assets`` (reveal.js 4,
require.js, jQuery, MathJax 2.7 from tools/web/node_modules, see
``tools/course slides``), the same folder the website uses: the decks are the
website's ``slides/`` folder, and their links lead to its pages.
"""
from __future__ import annotations

import argparse
import copy
import re
import shutil
import struct
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web_prep  # noqa: E402

from optlib import slider_export  # noqa: E402  (the offline slider player)

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "tools" / "web" / "node_modules"
ASSETS = "_assets"
WIDTH, HEIGHT = 1280, 720
SHOW_CODE = "slides-show-code"

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ("<p class=\"course-widget-note\"><em>Interactive sliders: run this notebook in "
               "JupyterLab (<code>tools/course lab</code>) to move them. The figure below is the "
               "default setting.</em></p>")

# MathJax 2.7 pieces that TeX-AMS_CHTML-full,Safe loads (the rest of the npm package,
# ~70 MB of other fonts and output modes, stays behind).
MATHJAX_PARTS = ["MathJax.js", "LICENSE", "config/TeX-AMS_CHTML-full.js", "config/Safe.js", "extensions",
                 "jax/input/TeX", "jax/output/CommonHTML", "jax/element", "localization/en",
                 "fonts/HTML-CSS/TeX/woff", "fonts/HTML-CSS/TeX/otf"]
REVEAL_PARTS = ["dist", "plugin/notes", "LICENSE"]

# The course's variant of nbconvert's templates: no mermaid import from a CDN.
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""

# The deck template: the course's layout, and reveal.js set up for 1280x720, no scrolling
# slides, a print layout without one page per fragment, and `window.Reveal` for the tests.
DECK_TEMPLATE = TEMPLATE + r"""
{%- block html_head_css -%}
{{ super() }}
<style>
.reveal .slides { text-align: left; }
.reveal .slides section { font-size: 26px; line-height: 1.35; }
.reveal h1 { font-size: 1.9em; } .reveal h2 { font-size: 1.45em; } .reveal h3 { font-size: 1.15em; }
.reveal .jp-OutputArea-output img { max-height: 540px; max-width: 100%; width: auto; height: auto; }
.reveal .jp-OutputArea-output pre { font-size: 14px !important; line-height: 1.25 !important;
  width: 100% !important; white-space: pre !important; overflow: hidden; box-shadow: none; }
.reveal table { font-size: 0.78em; }
.reveal .celltag_slides-compact { font-size: 0.62em; }
.reveal .celltag_slides-compact .jp-OutputArea-output pre { font-size: 11px !important; }
.reveal .celltag_slides-compact img { max-height: 420px; }
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt { display: none; }
.reveal .course-nav { font-size: 16px; position: fixed; left: 12px; bottom: 8px; z-index: 30; }
</style>
{%- endblock html_head_css -%}
{%- block footer_js -%}
<script>
require({waitSeconds: 15},
  ["{{ resources.reveal.url_prefix }}/dist/reveal.js", "{{ resources.reveal.url_prefix }}/plugin/notes/notes.js"],
  function (Reveal, RevealNotes) {
    window.Reveal = Reveal;
    Reveal.initialize({controls: true, progress: true, history: true, center: false,
                       transition: "none", slideNumber: "c/t", plugins: [RevealNotes],
                       width: {{ resources.reveal.width }}, height: {{ resources.reveal.height }},
                       margin: 0.04, pdfSeparateFragments: false, pdfMaxPagesPerSlide: 4});
    Reveal.on("slidechanged", function () {
      if (window.MathJax && MathJax.Hub.getAllJax(Reveal.getCurrentSlide())) {
        MathJax.Hub.Rerender(Reveal.getCurrentSlide());
      }
    });
  });
</script>
{%- endblock footer_js -%}
"""

# A rough height budget (pixels of the 1280x720 slide) used to start a new slide in time;
# the browser test measures the real heights.
BUDGET = 600
LINE_PX = {"heading": 56, "text": 36, "equation": 70, "table": 32, "output": 18}
COMPACT = "slides-compact"      # a cell taller than a slide is drawn smaller (see DECK_TEMPLATE)


def check_web_assets():
    missing = [p for p in ("reveal.js/dist/reveal.js", "requirejs/require.js", "jquery/dist/jquery.min.js",
                           "mathjax/MathJax.js") if not (WEB / p).is_file()]
    if missing:
        sys.exit(f"tools/web/node_modules lacks {', '.join(missing)}: run `tools/course slides` "
                 "(or `npm ci` in tools/web) first")


def _copy(src: Path, dst: Path):
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def copy_assets(site: Path, reveal=True) -> Path:
    """Copy the JavaScript the pages load into ``site/_assets``; return that folder."""
    check_web_assets()
    dst = site / ASSETS
    for part in MATHJAX_PARTS:
        _copy(WEB / "mathjax" / part, dst / "mathjax" / part)
    _copy(WEB / "requirejs" / "require.js", dst / "require.js")
    _copy(WEB / "jquery" / "dist" / "jquery.min.js", dst / "jquery.min.js")
    if reveal:
        for part in REVEAL_PARTS:
            _copy(WEB / "reveal.js" / part, dst / "reveal.js" / part)
    return dst


def asset_urls(prefix: str) -> dict:
    """nbconvert settings pointing every script at the local copies (``prefix``: path to _assets)."""
    return {
        "require_js_url": f"{prefix}/require.js",
        "jquery_url": f"{prefix}/jquery.min.js",
        "mathjax_url": f"{prefix}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        "jupyter_widgets_base_url": f"{prefix}/",
    }


def without_widgets(nb):
    """A copy of ``nb`` whose widget views are replaced by a short note (and no widget state).

    In a cell that already shows an offline slider player (``slider_export.for_page``),
    another view of its widgets (the cell's value, ``widgets.live(...)`` without ``;``)
    is dropped: the player moves, so the note would be wrong there."""
    import nbformat
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        has_player = any(f'<div class="{slider_export.PLAYER_CLASS} ' in str(out.get("data", {}).get("text/html", ""))
                         for out in cell.get("outputs", []))
        outputs = []
        for out in cell.get("outputs", []):
            if WIDGET_MIME not in out.get("data", {}):
                outputs.append(out)
            elif not has_player:
                outputs.append(nbformat.v4.new_output("display_data", data={"text/html": WIDGET_NOTE}))
        cell.outputs = outputs
    return nb


def course_template_dir(extra: str = "") -> Path:
    d = Path(tempfile.mkdtemp(prefix="course-templates-"))
    (d / "course.html.j2").write_text(TEMPLATE + extra)
    (d / "deck.html.j2").write_text(DECK_TEMPLATE)
    return d


def deck_link(target: str, ext: str) -> str:
    """Where a link of a lecture goes from its deck (decks sit in the site's slides/ folder)."""
    if ext == ".ipynb" and "/" not in target:
        return f"{target}.slides.html"                     # another lecture: its deck
    if target.startswith("../"):
        return f"{target}.html"                            # ../exercises/X, ../docs/Y: the site's page
    return f"../notebooks/{target}.html"


# --------------------------------------------------------------------------
# Slide layout: hidden code, speaker notes, slides that fit
# --------------------------------------------------------------------------
def _slide_type(cell):
    return cell.metadata.get("slideshow", {}).get("slide_type", "-")


def _set_type(cell, kind):
    cell.metadata.setdefault("slideshow", {})["slide_type"] = kind


def _kind(block: str) -> str:
    b = block.lstrip()
    if b.startswith("#"):
        return "heading"
    if b.startswith("$$") or b.startswith("\\begin"):
        return "equation"
    if b.startswith("|"):
        return "table"
    if b.startswith("<details"):
        return "details"
    if re.match(r"([-*+]|\d+\.)\s", b):
        return "list"
    return "text"


def split_markdown(source: str) -> tuple[str, str, int]:
    """(what the slide shows, what goes to the speaker notes, estimated height in px)."""
    blocks = [b for b in re.split(r"\n\s*\n", source.strip()) if b.strip()]
    shown, notes, height, prose = [], [], 0, 0
    for b in blocks:
        kind, lines = _kind(b), b.count("\n") + 1
        keep = (kind == "heading" or (kind == "equation" and lines <= 6) or (kind == "table" and lines <= 12)
                or (kind == "text" and prose == 0 and lines <= 4 and len(b) <= 420)
                or (kind == "list" and prose == 0 and lines <= 8 and len(b) <= 900))
        if keep:
            shown.append(b)
            width = 110 if kind == "table" else 90              # characters a line holds before it wraps
            wrapped = sum(len(line) // width + 1 for line in b.splitlines())
            height += LINE_PX.get(kind, 36) * (wrapped if kind in ("text", "list", "table") else lines)
            prose += kind in ("text", "list")
        else:
            notes.append(b)
    return "\n\n".join(shown), "\n\n".join(notes), height


def _png_height(b64: str) -> int:
    import base64
    head = base64.b64decode(b64[:64])
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return 300
    w, h = struct.unpack(">II", head[16:24])
    return min(540, int(h * min(1.0, 1180 / max(w, 1))))


def _player_height(page_html: str) -> int:
    """Height of an offline slider player (slider_export.embed_html): its figure, one row per control."""
    import json
    m = re.search(r'<script type="application/json">(.*?)</script>', page_html, re.S)
    table = json.loads(m.group(1).replace("<\\!--", "<!--"))
    return int(table["h"]) + 44 * len(table["controls"]) + 40


def _output_height(cell) -> int:
    h = 0
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "optlib-slider" in str(data.get("text/html", "")):
            h += _player_height(str(data["text/html"]))
        elif "image/png" in data:
            h += _png_height(data["image/png"]) + 10
        elif "text/html" in data:
            h += LINE_PX["output"] * (str(data["text/html"]).count("<tr") + 2)
        else:
            text = out.get("text") or data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            h += LINE_PX["output"] * (text.count("\n") + 1)
    return h


def lay_out(nb):
    """A copy of ``nb`` laid out for slides (see the module docstring)."""
    import nbformat

    nb = copy.deepcopy(nb)
    cells, height = [], 0
    for cell in nb.cells:
        kind = _slide_type(cell)
        if kind in ("skip", "notes"):
            cells.append(cell)
            continue
        note = None
        if cell.cell_type == "code":
            tags = cell.metadata.get("tags", [])
            if SHOW_CODE not in tags:
                cell.metadata.setdefault("transient", {})["remove_source"] = True
                cell.metadata["tags"] = [*tags, "slides-hide-code"]
            h = _output_height(cell) + (0 if SHOW_CODE not in tags else 24 * (cell.source.count("\n") + 1))
            if h == 0:                                     # nothing to show: not a slide of its own
                if kind in ("slide", "subslide"):
                    cell.metadata["_course_pending"] = kind
                _set_type(cell, "skip")
                cells.append(cell)
                continue
        elif cell.cell_type == "markdown":
            shown, notes, h = split_markdown(cell.source)
            cell.source = shown
            if notes:
                note = nbformat.v4.new_markdown_cell(notes, metadata={"slideshow": {"slide_type": "notes"}})
            if not shown.strip():
                _set_type(cell, "skip")
                h = 0
        else:
            h = 0
        # a slide break carried over from a cell that shows nothing
        pending = next((c.metadata.pop("_course_pending") for c in reversed(cells)
                        if "_course_pending" in c.metadata), None)
        if pending and kind in ("-", "fragment"):
            _set_type(cell, pending)
            kind = pending
        if h > BUDGET:
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), COMPACT]
            h = int(h * 0.62)
        if kind in ("slide", "subslide"):
            height = h
        elif height + h > BUDGET and h and _slide_type(cell) != "skip":
            _set_type(cell, "subslide")                        # continue on a new slide below
            height = h
        else:
            height += h
        cells.append(cell)
        if note is not None:
            cells.append(note)
    for c in cells:
        c.metadata.pop("_course_pending", None)
    nb.cells = cells
    return nb


def prepare(nb):
    """The notebook a deck is made from: widget notes, collapsible answers, site links, slide layout."""
    nb = without_widgets(nb)
    nb = web_prep.rewrite_links(nb, deck_link)
    nb = web_prep.render_details(nb)
    return lay_out(nb)


def build(notebooks, out: Path, pdf=False) -> list[Path]:
    """Decks for ``notebooks`` in ``out`` (the site's slides/ folder; assets go to out/../_assets)."""
    import nbformat
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out.parent)
    prefix = f"../{ASSETS}"
    c = Config()
    c.SlidesExporter.update(asset_urls(prefix))
    c.SlidesExporter.reveal_url_prefix = f"{prefix}/reveal.js"
    c.SlidesExporter.reveal_theme = "white"        # "simple" imports web fonts from the internet
    c.SlidesExporter.reveal_scroll = False
    c.SlidesExporter.reveal_width = str(WIDTH)
    c.SlidesExporter.reveal_height = str(HEIGHT)
    c.SlidesExporter.exclude_input_prompt = True
    c.SlidesExporter.exclude_output_prompt = True
    templates = course_template_dir()
    try:
        exporter = SlidesExporter(config=c, extra_template_paths=[str(templates)], template_file="deck.html.j2")
        exporter.mermaid_js_url = ""
        written = []
        for path in notebooks:
            path = Path(path)
            nb = nbformat.read(path, as_version=4)
            nb = prepare(slider_export.for_page(nb, out.parent / ASSETS, prefix))   # sliders move offline
            body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
            dst = out / f"{path.stem}.slides.html"
            dst.write_text(body, encoding="utf-8")
            written.append(dst)
    finally:
        shutil.rmtree(templates, ignore_errors=True)
    if pdf:
        written += print_handouts(written, out / "handouts")
    return written


def print_handouts(decks, folder: Path) -> list[Path]:
    """Each deck printed to PDF through reveal.js's print layout (one page per slide, more if one overflows)."""
    import print_pdf

    site = Path(decks[0]).parent.parent
    jobs = [(f"slides/{Path(d).name}?print-pdf", folder / Path(d).name.replace(".slides.html", ".pdf")) for d in decks]
    return print_pdf.print_pages(
        site, jobs, ready="() => window.Reveal && Reveal.isReady() && document.querySelector('.pdf-page')",
        pages_js="() => document.querySelectorAll('.pdf-page').length", prefer_css_page_size=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "site" / "slides", help="output folder")
    ap.add_argument("--pdf", action="store_true", help="also print each deck to handouts/NN_name.pdf")
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb")
    args = ap.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if not notebooks:
        sys.exit("no notebooks to build")
    for dst in build(notebooks, args.out, pdf=args.pdf):
        print(f"wrote {dst}")
    print(f"open {args.out / (Path(notebooks[0]).stem + '.slides.html')} (works offline)")


if __name__ == "__main__":
    main()
