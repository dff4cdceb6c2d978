"""Build one reveal.js slide deck per lecture notebook, offline.

    tools/course slides                     # -> build/slides/NN_name.slides.html
    .venv/bin/python tools/build_slides.py --out DIR [NOTEBOOK ...]

Each deck is nbconvert's reveal template (``SlidesExporter``, what ``jupyter
nbconvert --to slides`` runs) made from the notebook's STORED outputs (nothing
is executed) with every script and style sheet served from the build folder:
reveal.js 4, require.js, jQuery and MathJax 2.7 (nbconvert's default MathJax
configuration, TeX-AMS_CHTML-full,Safe) are copied from tools/web/node_modules
(``npm ci`` in tools/web, which ``tools/course slides`` runs) into
``DIR/_assets``. nbconvert's reveal template also imports mermaid from a CDN on
every page; the course's template drops that block (no notebook uses mermaid).
Slider cells move without a kernel: their stored table of figures is drawn by
the offline player (``optlib.slider_export.for_page``, issue 14); a slider
output stored without a table shows a short note instead, and the static
default figure in the next cell shows the picture.

Slide breaks come from each cell's ``metadata.slideshow.slide_type``.
"""
from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
from pathlib import Path

from optlib import slider_export  # offline slider player (issue 14)

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "tools" / "web" / "node_modules"
ASSETS = "_assets"

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


def copy_assets(out: Path, reveal=True) -> Path:
    """Copy the JavaScript the pages load into ``out/_assets``; return that folder."""
    check_web_assets()
    dst = out / ASSETS
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
    """A copy of ``nb`` whose widget views are replaced by a short note (and no widget state)."""
    import nbformat
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            if WIDGET_MIME in out.get("data", {}):
                outputs.append(nbformat.v4.new_output("display_data", data={"text/html": WIDGET_NOTE}))
            else:
                outputs.append(out)
        cell.outputs = outputs
    return nb


def course_template_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="course-templates-"))
    (d / "course.html.j2").write_text(TEMPLATE)
    return d


def build(notebooks, out: Path) -> list[Path]:
    import nbformat
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    c = Config()
    c.SlidesExporter.update(asset_urls(ASSETS))
    c.SlidesExporter.reveal_url_prefix = f"{ASSETS}/reveal.js"
    c.SlidesExporter.reveal_theme = "white"        # "simple" imports web fonts from the internet
    c.SlidesExporter.reveal_scroll = True          # tall code cells scroll inside their slide
    templates = course_template_dir()
    try:
        exporter = SlidesExporter(config=c, extra_template_paths=[str(templates)],
                                  template_file="course.html.j2")
        exporter.mermaid_js_url = ""
        written = []
        for path in notebooks:
            path = Path(path)
            nb = nbformat.read(path, as_version=4)
            nb = slider_export.for_page(nb, out / ASSETS, ASSETS)   # sliders move offline (issue 14)
            nb = without_widgets(nb)
            body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
            dst = out / f"{path.stem}.slides.html"
            dst.write_text(body, encoding="utf-8")
            written.append(dst)
    finally:
        shutil.rmtree(templates, ignore_errors=True)
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "slides", help="output folder")
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb")
    args = ap.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if not notebooks:
        sys.exit("no notebooks to build")
    for dst in build(notebooks, args.out):
        print(f"wrote {dst.relative_to(args.out.parent) if dst.is_relative_to(args.out.parent) else dst}")
    print(f"open {args.out / (Path(notebooks[0]).stem + '.slides.html')} (works offline)")


if __name__ == "__main__":
    main()
