"""Print pages of a built site to PDF in the headless Chromium the tests use, offline.

The site is served on 127.0.0.1 for the time of the printing (a page loaded from a
file cannot fetch its local scripts in every browser); nothing leaves the machine.
"""
from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_DONE = ("() => !window.MathJax || (MathJax.Hub && MathJax.Hub.queue.pending === 0"
                " && !MathJax.Hub.queue.running)")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def print_pages(site: Path, jobs, ready: str = MATHJAX_DONE, pages_js: str | None = None, **pdf) -> list[Path]:
    """Print each ``(path relative to site, PDF path)`` of ``jobs``; returns the PDFs written.

    ``ready`` is a JavaScript predicate awaited before printing (MathJax done by default);
    ``pages_js``, if given, returns how many pages to keep (Chrome may add a blank last one).
    """
    sys.path.insert(0, str(ROOT / "tests"))
    import browser_support as bs

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    browser = bs.acquire_browser()
    written = []
    try:
        page = browser.new_page()
        for rel, dst in jobs:
            page.goto(f"{base}/{rel}", wait_until="load")
            page.wait_for_function(ready, timeout=60_000)
            page.wait_for_function(MATHJAX_DONE, timeout=60_000)
            page.evaluate("async () => { await document.fonts.ready; }")
            options = dict(print_background=True, **pdf)
            if pages_js:
                options["page_ranges"] = f"1-{page.evaluate(pages_js)}"
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(dst), **options)
            written.append(Path(dst))
        page.close()
    finally:
        bs.release_browser()
        httpd.shutdown()
        httpd.server_close()
    return written
