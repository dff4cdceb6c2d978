"""Build the course as a static website, offline: pages, decks, handouts and downloads.

    tools/course site                       # -> build/site/index.html
    .venv/bin/python tools/build_site.py --out DIR [--pdf]

DIR/
  index.html                 the course map: every lecture (page, slides, handout, notebook, exercise)
  notebooks/NN_x.html        one page per lecture, and NN_x.ipynb to download
  exercises/NN_x.html        one page per exercise (the student versions; solutions/ is never read)
  docs/NAME.html             docs/*.md: the one-page summary, the lecturer's claims table
  slides/NN_x.slides.html    the reveal.js decks (tools/build_slides.py); slides/handouts/ with --pdf
  _assets/                   MathJax 2.7, reveal.js, require.js, jQuery (from tools/web/node_modules)

Pages are nbconvert's lab template made from the STORED outputs (nothing is
executed), figures embedded. Every page has a bar with the course map, the
previous and next page, the lecture's deck and exercise, and a download of its
notebook; links between notebooks and docs lead to these pages; hints and answers
(``<details>``) stay closed until clicked; slider cells move offline from their
stored tables (``optlib.slider_export.for_page``). The build stops if an exercise
notebook still holds solution or hidden-test text.
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
import web_prep  # noqa: E402

from optlib import slider_export  # noqa: E402  (the offline slider player)

ROOT = build_slides.ROOT

#: Text that only the instructor's versions hold (nbgrader's markers and the code they wrap).
SOLUTION_MARKERS = ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"]

SECTIONS = [("notebooks", "Lectures"), ("exercises", "Exercises")]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5; color: #222; }
.course-page { max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
h1 { margin-bottom: .2rem; }
ol { padding-left: 1.4rem; }
li { margin: .6rem 0; }
li > a:first-child { font-weight: 600; }
.summary { display: block; color: #444; }
.more a { margin-right: .8rem; font-size: .92rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .25rem .5rem; vertical-align: top; }
footer { margin-top: 3rem; font-size: .9rem; color: #666; }
nav.course-nav { font: 14px/1.4 system-ui, sans-serif; background: #f4f4f4; border-bottom: 1px solid #ddd;
                 padding: .45rem 1rem; position: sticky; top: 0; z-index: 100; }
nav.course-nav a { margin-right: 1.1rem; }
details.course-details { border: 1px solid #ddd; border-radius: 4px; padding: .3rem .7rem; margin: .6rem 0; }
details.course-details > summary { cursor: pointer; font-weight: 600; }
a.anchor-link { visibility: hidden; text-decoration: none; margin-left: .3rem; }
h1:hover > a.anchor-link, h2:hover > a.anchor-link, h3:hover > a.anchor-link { visibility: visible; }
@media print { nav.course-nav, a.anchor-link { display: none; } .course-page { max-width: none; margin: 0; } }
"""

MATHJAX = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({{tex2jax: {{inlineMath: [["$", "$"]], displayMath: [["$$", "$$"]], processEscapes: true}},
                    messageStyle: "none"}});
</script>
<script src="{prefix}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"></script>"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{mathjax}
<style>{style}</style>
</head>
<body>
{nav}
<main class="course-page">
{body}
<footer>Built from the course's stored notebooks by <code>tools/course site</code>; works offline.</footer>
</main>
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


def page_link(target: str, ext: str) -> str:
    """Where a link inside a page goes: the built page of the notebook or markdown file."""
    return f"{target}.html"


def exercise_of(nb) -> str | None:
    """The exercise a lecture links to (its ``../exercises/NN_x.ipynb`` link), as a stem."""
    for cell in reversed(nb.cells):
        if cell.cell_type == "markdown":
            m = re.search(r"\.\./exercises/([0-9][^)\"#\s/]*?)\.ipynb", cell.source)
            if m:
                return m.group(1)
    return None


def nav_bar(prefix: str, entries: list, i: int, kind: str, exercise: str | None, decks: set) -> str:
    """The bar at the top of a page: map, previous, next, deck, exercise, download."""
    stem, title = entries[i][0], entries[i][1]
    links = [f'<a href="{prefix}index.html">Course map</a>']
    if i > 0:
        links.append(f'<a href="{entries[i - 1][0]}.html" rel="prev">&larr; {html.escape(entries[i - 1][1])}</a>')
    if i + 1 < len(entries):
        links.append(f'<a href="{entries[i + 1][0]}.html" rel="next">{html.escape(entries[i + 1][1])} &rarr;</a>')
    if kind == "notebooks" and stem in decks:
        links.append(f'<a href="{prefix}slides/{stem}.slides.html">Slides</a>')
    if exercise:
        links.append(f'<a href="{prefix}exercises/{exercise}.html">Exercise</a>')
    if kind in ("notebooks", "exercises"):
        links.append(f'<a href="{stem}.ipynb" download>Download {stem}.ipynb</a>')
    return f'<nav class="course-nav" aria-label="course">{" ".join(links)}</nav>'


def insert_nav(page_html: str, nav: str) -> str:
    page_html = page_html.replace("</head>", f"<style>{STYLE}</style>\n</head>", 1)
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + nav, page_html, count=1)


def build_docs(out: Path, decks: set) -> list[tuple[str, str, str]]:
    """docs/*.md -> out/docs/*.html (MathJax, printable); returns (href, title, summary)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    entries = []
    for md in sorted((ROOT / "docs").glob("*.md")):
        text = md.read_text(encoding="utf-8")
        text = web_prep.LINK.sub(lambda m: m.group(1) + page_link(m.group("target"), m.group("ext"))
                                 + (m.group("anchor") or ""), text)
        m = re.search(r"^#\s+(.+)$", text, re.M)
        title = _markdown_text(m.group(1)) if m else md.stem
        first = next((b for b in re.split(r"\n\s*\n", text) if b.strip() and not b.lstrip().startswith(("#", "|"))), "")
        body = markdown2html_mistune(text)
        nav = f'<nav class="course-nav" aria-label="course"><a href="../index.html">Course map</a></nav>'
        dst = out / "docs" / f"{md.stem}.html"
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(PAGE.format(title=html.escape(title), mathjax=MATHJAX.format(prefix=f"../{build_slides.ASSETS}"),
                                   style=STYLE, nav=nav, body=body), encoding="utf-8")
        entries.append((f"docs/{dst.name}", title, _markdown_text(first)[:200]))
    return entries


def build(out: Path, sections=SECTIONS, pdf=False, slides=True) -> list[Path]:
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    out.mkdir(parents=True, exist_ok=True)
    build_slides.copy_assets(out, reveal=slides)
    decks = set()
    written = []
    if slides and any(name == "notebooks" for name, _ in sections):
        lectures = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
        written += build_slides.build(lectures, out / "slides", pdf=pdf)
        decks = {p.stem for p in lectures}
    c = Config()
    c.HTMLExporter.update(build_slides.asset_urls(f"../{build_slides.ASSETS}"))
    c.HTMLExporter.embed_images = True           # markdown images inside the page too
    templates = build_slides.course_template_dir()
    listing = []
    try:
        exporter = HTMLExporter(config=c, extra_template_paths=[str(templates)], template_file="course.html.j2")
        exporter.mermaid_js_url = ""
        for folder, heading in sections:
            paths = sorted((ROOT / folder).glob("[0-9]*.ipynb"))
            notebooks = []
            for path in paths:
                raw = path.read_text(encoding="utf-8")
                if folder == "exercises":
                    check_no_solutions(path, raw)
                nb = nbformat.reads(raw, as_version=4)
                title, summary = title_and_summary(nb)
                notebooks.append((path, raw, nb, title, summary))
            entries = [(p.stem, t) for p, _, _, t, _ in notebooks]
            rows = []
            for i, (path, raw, nb, title, summary) in enumerate(notebooks):
                exercise = exercise_of(nb) if folder == "notebooks" else None
                page_nb = slider_export.for_page(nb, out / build_slides.ASSETS, f"../{build_slides.ASSETS}")
                page_nb = web_prep.render_details(web_prep.rewrite_links(build_slides.without_widgets(page_nb),
                                                                         page_link))
                body, _ = exporter.from_notebook_node(page_nb, resources={"metadata": {"name": title}})
                body = insert_nav(body, nav_bar("../", entries, i, folder, exercise, decks))
                dst = out / folder / f"{path.stem}.html"
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_text(body, encoding="utf-8")
                (out / folder / path.name).write_text(raw, encoding="utf-8")      # the download
                written.append(dst)
                rows.append((path.stem, title, summary, exercise))
            if rows:
                listing.append((folder, heading, rows))
        docs = build_docs(out, decks) if (ROOT / "docs").is_dir() else []
    finally:
        shutil.rmtree(templates, ignore_errors=True)
    if pdf and docs:                                  # printable reference pages (A4)
        import print_pdf
        written += print_pdf.print_pages(out, [(href, out / href.replace(".html", ".pdf")) for href, _, _ in docs],
                                         format="A4", margin={"top": "12mm", "bottom": "12mm",
                                                              "left": "10mm", "right": "10mm"})

    parts = []
    for folder, heading, rows in listing:
        items = []
        for stem, title, summary, exercise in rows:
            more = [f'<a href="{folder}/{stem}.ipynb" download>notebook</a>']
            if stem in decks and folder == "notebooks":
                more.insert(0, f'<a href="slides/{stem}.slides.html">slides</a>')
                if pdf:
                    more.insert(1, f'<a href="slides/handouts/{stem}.pdf">handout (PDF)</a>')
            if exercise:
                more.append(f'<a href="exercises/{exercise}.html">exercise</a>')
            items.append(f'<li><a href="{folder}/{stem}.html">{html.escape(title)}</a>'
                         f'<span class="summary">{html.escape(summary)}</span>'
                         f'<span class="more">{" ".join(more)}</span></li>')
        parts.append(f"<h2>{html.escape(heading)}</h2>\n<ol>\n" + "\n".join(items) + "\n</ol>")
    if docs:
        pdf_link = (lambda href: f'<span class="more"><a href="{href.replace(".html", ".pdf")}">PDF</a></span>'
                    if pdf else "")
        items = "\n".join(f'<li><a href="{href}">{html.escape(t)}</a><span class="summary">{html.escape(s)}</span>'
                          f'{pdf_link(href)}</li>' for href, t, s in docs)
        parts.append(f"<h2>Reference</h2>\n<ul>\n{items}\n</ul>")
    index = out / "index.html"
    body = ("<h1>From gradient descent to Adam</h1>\n<p>A course on adaptive gradient optimizers (gradient "
            "descent, Momentum, RMSProp, Adam) built on <code>optlib</code>. Lectures in order, each with its "
            "slides and exercise; then the exercises and the reference pages.</p>\n" + "\n".join(parts))
    index.write_text(PAGE.format(title="From gradient descent to Adam",
                                 mathjax=MATHJAX.format(prefix=build_slides.ASSETS), style=STYLE, nav="",
                                 body=body), encoding="utf-8")
    return [index, *written]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="output folder")
    ap.add_argument("--pdf", action="store_true", help="also print every deck to slides/handouts/*.pdf")
    args = ap.parse_args(argv)
    pages = build(args.out, pdf=args.pdf)
    print(f"wrote {len(pages)} files; open {args.out / 'index.html'} (works offline)")


if __name__ == "__main__":
    main()
