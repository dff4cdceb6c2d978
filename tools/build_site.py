"""Build the course as a static website, offline.

    tools/course site                       # -> build/site/index.html
    .venv/bin/python tools/build_site.py --out DIR

One HTML page per lecture notebook (notebooks/*.ipynb -> DIR/notebooks/) and
per exercise notebook (exercises/*.ipynb -> DIR/exercises/: the student
versions; solutions/ is never read), made by nbconvert's lab template from the
STORED outputs (nothing is executed), figures embedded in the page, MathJax 2.7
served from ``DIR/_assets`` (copied from tools/web/node_modules like the
slides). ``index.html`` is the course map: every page with its title and a
one-line summary. The build stops if an exercise notebook still holds
solution or hidden-test text. Slider cells move offline from their stored
table (``optlib.slider_export.for_page``, issue 14).
"""
from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_slides  # noqa: E402  (assets, widget notes and the no-CDN template are shared)

from optlib import slider_export  # noqa: E402  (offline slider player, issue 14)

ROOT = build_slides.ROOT

#: Text that only the instructor's versions hold (nbgrader's markers and the code they wrap).
SOLUTION_MARKERS = ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"]

SECTIONS = [("notebooks", "Lectures"), ("exercises", "Exercises")]

INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script type="text/x-mathjax-config">
MathJax.Hub.Config({{tex2jax: {{inlineMath: [["$", "$"]], processEscapes: true}},
                    messageStyle: "none"}});
</script>
<script src="_assets/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"></script>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 52rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #222; }}
h1 {{ margin-bottom: .2rem; }}
ol {{ padding-left: 1.4rem; }}
li {{ margin: .6rem 0; }}
li a {{ font-weight: 600; }}
.summary {{ display: block; color: #444; }}
footer {{ margin-top: 3rem; font-size: .9rem; color: #666; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{intro}</p>
{sections}
<footer>Built from the notebooks' stored outputs by <code>tools/course site</code>; works offline.</footer>
</body>
</html>
"""


def _markdown_text(src: str) -> str:
    """Markdown to one plain line (links, emphasis, code marks and HTML tags removed; math kept)."""
    s = re.sub(r"<[^>]+>", "", src)
    s = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", s)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = re.sub(r"(\*\*|__|\*|`)", "", s)
    return " ".join(s.split())


def title_and_summary(nb) -> tuple[str, str]:
    """The first heading, and the first sentence of the first paragraph after it."""
    title, summary = None, None
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.split(r"\n\s*\n", cell.source):
            block = block.strip()
            if not block:
                continue
            if title is None:
                m = re.match(r"#+\s*(.+)", block)
                if m:
                    title = _markdown_text(m.group(1).splitlines()[0])
                    rest = "\n".join(block.splitlines()[1:]).strip()
                    if not rest:
                        continue
                    block = rest
                else:
                    continue
            if block.startswith(("#", "|", ">", "$$", "```", "<details")) or re.match(r"([-*+]|\d+\.)\s", block):
                continue
            block = re.sub(r"^(\*\*|__)[^*_\n]{1,40}(\*\*|__)\s*", "", block)   # a bold lead-in
            text = _markdown_text(block)
            m = re.match(r"(.+?[.!?:])(\s|$)", text)
            summary = (m.group(1) if m else text)
            summary = summary[:-1] + "." if summary.endswith(":") else summary
            break
        if summary:
            break
    return title or "(untitled)", summary or ""


def check_no_solutions(path: Path, raw: str):
    found = [m for m in SOLUTION_MARKERS if m in raw]
    if found:
        sys.exit(f"{path} holds {', '.join(found)}: exercises/ must be the student versions "
                 "(tools/course exercises regenerates them); nothing was published")


def build(out: Path, sections=SECTIONS) -> list[Path]:
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    out.mkdir(parents=True, exist_ok=True)
    build_slides.copy_assets(out, reveal=False)
    c = Config()
    c.HTMLExporter.update(build_slides.asset_urls(f"../{build_slides.ASSETS}"))
    c.HTMLExporter.embed_images = True           # markdown images inside the page too
    templates = build_slides.course_template_dir()
    written, listing = [], []
    try:
        exporter = HTMLExporter(config=c, extra_template_paths=[str(templates)],
                                template_file="course.html.j2")
        exporter.mermaid_js_url = ""
        for folder, heading in sections:
            entries = []
            for path in sorted((ROOT / folder).glob("[0-9]*.ipynb")):
                raw = path.read_text(encoding="utf-8")
                if folder == "exercises":
                    check_no_solutions(path, raw)
                nb = nbformat.reads(raw, as_version=4)
                nb = slider_export.for_page(nb, out / build_slides.ASSETS, f"../{build_slides.ASSETS}")  # issue 14
                nb = build_slides.without_widgets(nb)
                title, summary = title_and_summary(nb)
                body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
                dst = out / folder / f"{path.stem}.html"
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_text(body, encoding="utf-8")
                written.append(dst)
                entries.append((f"{folder}/{dst.name}", title, summary))
            if entries:
                listing.append((heading, entries))
    finally:
        shutil.rmtree(templates, ignore_errors=True)

    parts = []
    for heading, entries in listing:
        items = "\n".join(
            f'<li><a href="{html.escape(href)}">{html.escape(title)}</a>'
            f'<span class="summary">{html.escape(summary)}</span></li>' for href, title, summary in entries)
        parts.append(f"<h2>{html.escape(heading)}</h2>\n<ol>\n{items}\n</ol>")
    index = out / "index.html"
    index.write_text(INDEX.format(
        title="From gradient descent to Adam",
        intro="A course on adaptive gradient optimizers (gradient descent, Momentum, RMSProp, Adam) "
              "built on <code>optlib</code>. Lectures in order, then the exercises.",
        sections="\n".join(parts)), encoding="utf-8")
    return [index, *written]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="output folder")
    args = ap.parse_args(argv)
    pages = build(args.out)
    print(f"wrote {len(pages)} pages; open {args.out / 'index.html'} (works offline)")


if __name__ == "__main__":
    main()
