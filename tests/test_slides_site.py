"""The slide decks (tools/build_slides.py) and the website (tools/build_site.py).

The site (decks included, in its slides/ folder) is built once per session into
a temporary folder from the notebooks' stored outputs. Static checks: a page and
a deck per notebook, as many <img> in its output areas as the notebook has image
outputs, every script and style sheet a local file, no code and no prompt on a
slide unless the cell asks for it, long prose in speaker notes, no solution or
hidden-test text in the site. Browser checks (marked ``browser``): a deck renders
as reveal.js slides and ArrowRight moves on; no slide of any deck overflows
1280x720; a handout prints one PDF page per slide; the course map and a lecture
page render with MathJax and their figures; hints and answers stay closed until
clicked; every link on every page leads to a page that exists; and no request
leaves 127.0.0.1.
"""
from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest

import browser_support as bs

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9]*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9]*.ipynb"))
# The first lecture with math and figures (the browser tests look at its deck and page).
SHOWCASE = next((nb for nb in LECTURES if "$" in nb.read_text(encoding="utf-8")
                 and '"image/png"' in nb.read_text(encoding="utf-8")), LECTURES[0] if LECTURES else None)
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")

pytestmark = pytest.mark.skipif(not LECTURES, reason="no lecture notebook yet")


def _build(script, out):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / script), "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{script} failed:\n{r.stdout}\n{r.stderr}"
    return out


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    return _build("build_site.py", tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def slides(site):
    return site / "slides"


def _soup(path):
    from bs4 import BeautifulSoup
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def image_outputs(nb_path) -> int:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return sum(1 for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
               if any(m in o.get("data", {}) for m in IMAGE_MIMES))


def output_imgs(soup) -> int:
    return sum(1 for img in soup.find_all("img") if img.find_parent(class_="jp-OutputArea-output"))


def local_refs(page, soup):
    """(attribute value, resolved path) of every script/style/image a page loads that is not inline."""
    refs = []
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src")):
        for el in soup.find_all(tag):
            v = el.get(attr)
            if not v or v.startswith("data:"):
                continue
            refs.append((v, (page.parent / urllib.parse.unquote(v.split("?")[0])).resolve()))
    return refs


# ---------------------------------------------------------------------------
# Slides
# ---------------------------------------------------------------------------

def test_one_deck_per_lecture_with_its_figures(slides):
    for nb in LECTURES:
        deck = slides / f"{nb.stem}.slides.html"
        assert deck.is_file(), f"no deck for {nb.name}"
        soup = _soup(deck)
        assert soup.select(".reveal .slides section"), f"{deck.name}: no reveal.js sections"
        assert output_imgs(soup) == image_outputs(nb), f"{deck.name}: figures missing or extra"


def test_decks_load_only_local_files(slides):
    for deck in sorted(slides.glob("*.slides.html")):
        soup = _soup(deck)
        refs = local_refs(deck, soup)
        assert any("reveal.js" in v for v, _ in refs) and any("MathJax.js" in v for v, _ in refs)
        for v, path in refs:
            assert "://" not in v, f"{deck.name} loads {v} from the network"
            assert path.is_file(), f"{deck.name}: {v} is not in the build"
        modules = [s.string or "" for s in soup.find_all("script", type="module")]
        assert not any("import" in m and "://" in m for m in modules), f"{deck.name} imports from the web"


def _cells(nb_path):
    return json.loads(nb_path.read_text(encoding="utf-8"))["cells"]


def test_slides_show_no_code_and_no_prompts_unless_a_cell_asks(slides):
    for nb in LECTURES:
        soup = _soup(slides / f"{nb.stem}.slides.html")
        shown = [c for c in _cells(nb) if c["cell_type"] == "code"
                 and "slides-show-code" in c["metadata"].get("tags", [])]
        inputs = soup.select(".jp-CodeCell .jp-InputArea")
        assert len(inputs) == len(shown), f"{nb.name}: {len(inputs)} code inputs on slides, {len(shown)} asked for"
        assert not soup.select(".jp-InputPrompt, .jp-OutputPrompt") or all(
            not p.get_text(strip=True) for p in soup.select(".jp-InputPrompt, .jp-OutputPrompt")), nb.name


def test_long_prose_and_answers_go_to_speaker_notes(slides):
    for nb in LECTURES[1:]:
        soup = _soup(slides / f"{nb.stem}.slides.html")
        notes = soup.select("aside.notes")
        assert notes, f"{nb.name}: no speaker notes"
        answers = [d for d in soup.find_all("details")]
        assert all(d.find_parent("aside", class_="notes") for d in answers), f"{nb.name}: answers on a slide"


def test_build_slides_moves_prose_beyond_a_few_lines_to_the_notes():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_slides
    finally:
        sys.path.pop(0)
    long = "\n\n".join(["## A heading", "One short claim.", "$$x_t = x_{t-1}$$"]
                        + [f"Paragraph {i} " + "words " * 40 for i in range(3)]
                        + ["<details><summary>Answers</summary>\n\n1. a\n</details>"])
    shown, notes, _ = build_slides.split_markdown(long)
    assert shown == "## A heading\n\nOne short claim.\n\n$$x_t = x_{t-1}$$"
    assert notes.count("Paragraph") == 3 and "<details>" in notes


def test_a_moving_player_gets_no_note_that_sliders_need_jupyterlab():
    """A second view of a slider cell's widgets (its value, shown when ``live(...)`` ends the cell)
    is dropped where the cell has an offline player; a widget without a table keeps the note."""
    import nbformat
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_slides
    finally:
        sys.path.pop(0)
    from optlib import slider_export
    view = {build_slides.WIDGET_MIME: {"model_id": "m1", "version_major": 2, "version_minor": 0}}
    player = {"text/html": f'<div class="{slider_export.PLAYER_CLASS} tex2jax_ignore">...</div>'}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("live(...)"), nbformat.v4.new_code_cell("w")])
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data=player),
                           nbformat.v4.new_output("execute_result", data=view, execution_count=1)]
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data=view)]
    out = build_slides.without_widgets(nb)
    assert [o["data"] for o in out.cells[0].outputs] == [player]
    assert [o["data"] for o in out.cells[1].outputs] == [{"text/html": build_slides.WIDGET_NOTE}]


# ---------------------------------------------------------------------------
# Site
# ---------------------------------------------------------------------------

def test_site_has_a_page_per_notebook_with_its_figures(site):
    for folder, notebooks in (("notebooks", LECTURES), ("exercises", EXERCISES)):
        for nb in notebooks:
            page = site / folder / f"{nb.stem}.html"
            assert page.is_file(), f"no page for {folder}/{nb.name}"
            assert output_imgs(_soup(page)) == image_outputs(nb), f"{page.name}: figures missing or extra"
            for v, path in local_refs(page, _soup(page)):
                assert "://" not in v, f"{page.name} loads {v} from the network"
                assert path.is_file(), f"{page.name}: {v} is not in the build"
    assert not (site / "solutions").exists()


def test_every_page_and_deck_stays_under_3_mb(site):
    """The offline slider tables ride along in the pages and decks; each stays small enough to mail."""
    built = sorted(site.rglob("*.html"))
    assert len(built) >= 2 * len(LECTURES)
    big = {p.relative_to(site).as_posix(): p.stat().st_size for p in built if p.stat().st_size >= 3_000_000}
    assert not big, f"pages of 3 MB or more: {big}"


def test_course_map_links_every_page_deck_and_download(site):
    index = site / "index.html"
    soup = _soup(index)
    hrefs = [a["href"] for a in soup.find_all("a", href=True)]
    for href in hrefs:
        assert (site / urllib.parse.unquote(href)).is_file(), f"index links to missing {href}"
    expected = ({f"notebooks/{nb.stem}.html" for nb in LECTURES} | {f"exercises/{nb.stem}.html" for nb in EXERCISES}
                | {f"slides/{nb.stem}.slides.html" for nb in LECTURES}
                | {f"notebooks/{nb.name}" for nb in LECTURES} | {f"exercises/{nb.name}" for nb in EXERCISES})
    assert expected <= set(hrefs), sorted(expected - set(hrefs))
    # each entry: a title and a one-line summary
    for li in soup.find_all("li"):
        assert li.a.get_text(strip=True) and li.find(class_="summary").get_text(strip=True), li


def test_every_page_has_the_course_bar_and_its_download(site):
    for folder, notebooks in (("notebooks", LECTURES), ("exercises", EXERCISES)):
        for i, nb in enumerate(notebooks):
            soup = _soup(site / folder / f"{nb.stem}.html")
            nav = soup.find("nav", class_="course-nav")
            assert nav, f"{folder}/{nb.stem}: no course bar"
            hrefs = [a["href"] for a in nav.find_all("a")]
            assert "../index.html" in hrefs and nb.name in hrefs
            assert (site / folder / nb.name).read_bytes() == nb.read_bytes(), "the download is not the notebook"
            if i + 1 < len(notebooks):
                assert f"{notebooks[i + 1].stem}.html" in hrefs
            if folder == "notebooks":
                assert f"../slides/{nb.stem}.slides.html" in hrefs


def _code(nb_path):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"]]


def test_site_holds_no_solutions(site):
    pages = sorted(site.rglob("*.html"))
    raw = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in raw
    # No line that exists only inside a solution block (in no exercise notebook) is on the exercise's page.
    all_exercises = "\n".join(src for ex in EXERCISES for src in _code(ex))
    checked = 0
    for sol in SOLUTIONS:
        page = site / "exercises" / f"{sol.stem}.html"
        text = _soup(page).get_text() if page.exists() else ""
        ex_src = all_exercises
        for src in _code(sol):
            for block in src.split("### BEGIN SOLUTION")[1:]:
                for line in block.split("### END SOLUTION")[0].splitlines():
                    line = line.strip()
                    if len(line) > 20 and line not in ex_src:
                        checked += 1
                        assert line not in text, f"solution line of {sol.name} published: {line!r}"
    assert checked or not SOLUTIONS, "no solution line found to check"


def test_site_refuses_an_exercise_with_solutions(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_site
    finally:
        sys.path.pop(0)
    leaked = tmp_path / "exercises" / "01_leak.ipynb"
    leaked.parent.mkdir()
    leaked.write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                             "execution_count": None,
                                             "source": "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"}],
                                  "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    monkeypatch.setattr(build_site, "ROOT", tmp_path)
    with pytest.raises(SystemExit, match="BEGIN SOLUTION"):
        build_site.build(tmp_path / "out", sections=[("exercises", "Exercises")])


# ---------------------------------------------------------------------------
# In the browser
# ---------------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(folder) -> base URL of a static HTTP server on 127.0.0.1 (stopped after the test)."""
    servers = []

    def start(folder):
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def page(chromium):
    p = chromium.new_page()
    try:
        yield p
    finally:
        p.close()


def _watch_requests(page):
    """All requested URLs, and the failed ones (network errors, HTTP >= 400)."""
    seen, failed = [], []
    page.on("request", lambda r: seen.append(r.url))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
            and failed.append(f"{r.url} (HTTP {r.status})"))
    return seen, failed


def _wait_mathjax(page):
    """Until the local MathJax has typeset the page and its web fonts are loaded."""
    page.wait_for_function("() => window.MathJax && MathJax.Hub && document.querySelector('.MathJax_CHTML')"
                           " && MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running", timeout=60_000)
    page.evaluate("async () => { await document.fonts.ready; }")
    fonts = page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded')"
                          ".map(f => f.family).filter(f => f.startsWith('MJX'))")
    assert fonts, "MathJax's TeX fonts were not loaded"


def _assert_local(seen, failed, base):
    outside = [u for u in seen if not (u.startswith(base) or u.startswith(("data:", "blob:", "about:")))]
    assert not outside, f"requests leaving 127.0.0.1: {outside[:5]}"
    assert not failed, f"failed requests: {failed[:5]}"


@pytest.mark.browser
def test_deck_renders_as_slides_offline(slides, serve, page):
    base = serve(slides.parent)
    seen, failed = _watch_requests(page)
    deck = SHOWCASE.stem + ".slides.html"
    page.goto(f"{base}/slides/{deck}")
    # nbconvert loads reveal.js through require.js (no global Reveal): read reveal's DOM state.
    page.wait_for_selector(".reveal.ready", timeout=60_000)
    sections = page.locator(".reveal .slides section").count()
    assert sections >= 3, f"{deck}: only {sections} slides"
    current = ("() => { const p = [...document.querySelectorAll('.reveal .slides section.present')];"
               " return p.length ? p[p.length - 1] : null; }")
    assert page.evaluate(f"() => {{ const s = ({current})(); s.setAttribute('data-seen', ''); return true; }}")
    page.locator(".reveal .slides").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => {{ const s = ({current})(); return s && !s.hasAttribute('data-seen'); }}",
                           timeout=10_000)
    # MathJax (local copy) typeset the math of the deck
    _wait_mathjax(page)
    page.wait_for_timeout(500)       # let the transition finish before the screenshot
    bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(bs.ARTIFACTS / "slides-second.png"))
    _assert_local(seen, failed, base)


@pytest.mark.browser
def test_site_renders_offline(site, serve, page):
    base = serve(site)
    seen, failed = _watch_requests(page)
    page.goto(f"{base}/index.html")
    links = page.locator("li > a:first-child")
    assert links.count() >= len(LECTURES) + len(EXERCISES)
    # Let the index finish typesetting (and fetching its fonts) before leaving it: a click
    # during that aborts the font requests, which would read as failed requests below.
    _wait_mathjax(page)
    page.wait_for_load_state("networkidle")
    page.locator(f'li a[href="notebooks/{SHOWCASE.stem}.html"]').click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"notebooks/{SHOWCASE.stem}.html")
    _wait_mathjax(page)
    imgs = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output img')]"
                         ".map(i => i.complete && i.naturalWidth > 0)")
    assert imgs and all(imgs), "figures not shown"
    bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(bs.ARTIFACTS / "site-lecture.png"))
    _assert_local(seen, failed, base)


@pytest.mark.browser
def test_no_slide_overflows_1280x720(slides, serve, chromium):
    """Every slide of every deck, at reveal.js's 1280x720, holds its content (MathJax typeset)."""
    base = serve(slides.parent)
    page = chromium.new_page()
    page.set_viewport_size({"width": 1280, "height": 720})
    over = []
    try:
        for nb in LECTURES:
            page.goto(f"{base}/slides/{nb.stem}.slides.html")
            page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=60_000)
            page.wait_for_function("() => !window.MathJax || (MathJax.Hub && MathJax.Hub.queue.pending === 0"
                                   " && !MathJax.Hub.queue.running)", timeout=60_000)
            found = page.evaluate("""() => {
                const H = Reveal.getConfig().height, out = [];
                for (const s of Reveal.getSlides()) {
                    const i = Reveal.getIndices(s); Reveal.slide(i.h, i.v);
                    if (s.scrollHeight > H + 2) out.push(`${i.h}/${i.v}: ${s.scrollHeight}px`);
                }
                return out; }""")
            over += [f"{nb.stem} slide {f}" for f in found]
    finally:
        page.close()
    assert not over, f"slides taller than 720 px: {over}"


@pytest.mark.browser
def test_handout_prints_one_page_per_slide(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_slides
    finally:
        sys.path.pop(0)
    out = tmp_path / "site" / "slides"
    decks = build_slides.build([SHOWCASE], out, pdf=True)
    pdf = out / "handouts" / f"{SHOWCASE.stem}.pdf"
    assert pdf in decks and pdf.read_bytes().startswith(b"%PDF")
    import re
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    sections = _soup(out / f"{SHOWCASE.stem}.slides.html").select(".reveal .slides section")
    slides = sum(1 for s in sections if not s.find("section"))          # reveal's slides are the leaves
    assert pages == slides, f"{pages} PDF pages for {slides} slides (a slide overflowed onto a second page?)"


@pytest.mark.browser
def test_hints_and_answers_stay_closed_until_clicked(site, serve, page):
    base = serve(site)
    page.goto(f"{base}/notebooks/{SHOWCASE.stem}.html")
    details = page.locator("details")
    assert details.count() >= 1
    for i in range(details.count()):
        d = details.nth(i)
        assert d.evaluate("d => !d.open"), f"details {i} renders open"
        inner = d.evaluate("d => [...d.children].filter(c => c.tagName !== 'SUMMARY').length")
        assert inner >= 1, f"details {i} holds nothing: its answers were rendered outside it"
        hidden = d.evaluate("d => [...d.children].filter(c => c.tagName !== 'SUMMARY')"
                            ".every(c => !c.checkVisibility())")
        assert hidden, f"details {i}: answers visible while closed"
    first = details.nth(0)
    first.locator("summary").click()
    assert first.evaluate("d => d.open && [...d.children].some(c => c.tagName !== 'SUMMARY' && c.checkVisibility())")


@pytest.mark.browser
def test_every_link_on_every_page_leads_somewhere(site, serve, page):
    """Visit every page of the site from the index; follow every link; none may be missing."""
    base = serve(site)
    todo, seen, missing = [f"{base}/index.html"], set(), []
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        resp = page.goto(url)
        if resp is None or resp.status >= 400:
            missing.append(url)
            continue
        if not url.endswith(".html"):
            continue
        hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        for h in hrefs:
            h = h.split("#")[0]
            if not h.startswith(base):
                assert h.startswith(("mailto:", "javascript:")) or not h, f"{url} links outside: {h}"
                continue
            if h.endswith((".ipynb", ".pdf")):
                if h not in seen:
                    seen.add(h)
                    r = page.request.get(h)
                    if r.status >= 400:
                        missing.append(f"{h} (from {url})")
            elif h not in seen:
                todo.append(h)
    assert not missing, f"links to missing pages: {missing}"
    pages = [u for u in seen if u.endswith(".html")]
    assert len(pages) >= 2 * len(LECTURES) + len(EXERCISES), f"only {len(pages)} pages reached"
