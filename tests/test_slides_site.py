"""The slide decks (tools/build_slides.py) and the website (tools/build_site.py).

Both are built once per session into temporary folders from the notebooks'
stored outputs. Static checks: a page per notebook, as many <img> in its
output areas as the notebook has image outputs, every index link resolves,
every script and style sheet is a local file, no solution or hidden-test text
in the site. Browser checks (marked ``browser``): a deck renders as reveal.js
slides and ArrowRight moves to another slide; the course map and a lecture page
render with MathJax and their figures; and no request leaves 127.0.0.1.
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
def slides(tmp_path_factory):
    return _build("build_slides.py", tmp_path_factory.mktemp("slides"))


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    return _build("build_site.py", tmp_path_factory.mktemp("site"))


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


def test_course_map_links_every_page_and_resolves(site):
    index = site / "index.html"
    soup = _soup(index)
    hrefs = [a["href"] for a in soup.find_all("a", href=True)]
    for href in hrefs:
        assert (site / urllib.parse.unquote(href)).is_file(), f"index links to missing {href}"
    expected = {f"notebooks/{nb.stem}.html" for nb in LECTURES} | {f"exercises/{nb.stem}.html" for nb in EXERCISES}
    assert expected <= set(hrefs)
    # each entry: a title and a one-line summary
    for li in soup.find_all("li"):
        assert li.a.get_text(strip=True) and li.find(class_="summary").get_text(strip=True), li


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
    base = serve(slides)
    seen, failed = _watch_requests(page)
    deck = SHOWCASE.stem + ".slides.html"
    page.goto(f"{base}/{deck}")
    # nbconvert loads reveal.js through require.js (no global Reveal): read reveal's DOM state.
    page.wait_for_selector(".reveal.ready", timeout=60_000)
    sections = page.locator(".reveal .slides section").count()
    assert sections >= 3, f"{deck}: only {sections} slides"
    current = ("() => { const p = [...document.querySelectorAll('.reveal .slides section.present')];"
               " return p.length ? p[p.length - 1] : null; }")
    assert page.evaluate(f"() => {{ const s = ({current})(); s.setAttribute('data-seen', ''); return true; }}")
    page.locator(".reveal").click()
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
    links = page.locator("li a")
    assert links.count() == len(LECTURES) + len(EXERCISES)
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
