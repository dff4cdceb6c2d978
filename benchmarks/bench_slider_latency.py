"""Slider latency in a real browser: key press on a slider -> new figure painted.

    tools/course bench                                   # all benchmarks
    .venv/bin/python benchmarks/bench_slider_latency.py [--moves 15] [NOTEBOOK ...]

Side by side in one run, for every lecture notebook with sliders
(``optlib.widgets.live``): the course's data widget (a move sends the moved
lines and texts, the browser paints them over the cached figure) and the PNG
renderer it replaced (the whole figure as a PNG per move, selected by
``OPTLIB_SLIDER_RENDERER=png`` in a first cell of a copy of the notebook).
Both copies run in one JupyterLab (127.0.0.1, the course's settings) in
headless Debian Chromium, one after the other per notebook; after Run All
the first slider of every slider cell is moved with the keyboard, always in
the direction with more room, so that every timed move shows a value not
shown before (nothing comes from a cache of rendered texts); a coarse slider
gives as many moves as it has positions left. One move is timed inside the
page, from the ``keydown`` event to the end of the frame that shows the new
figure (the first animation frame after it is there, then a
task posted from that frame's ``requestAnimationFrame`` callback, which runs
once the frame is painted; two animation frames would count one frame too
many). The figure is there when, for the data widget, its frame counter
changed after painting the canvas and, for the PNG renderer, the image's src
changed and ``img.decode()`` finished.
Moves are made one at a time, each after the previous one has settled.
Prints a Markdown table: median and 90th percentile per notebook and
renderer, their ratio, the in-kernel share, against the targets (median <=
40 ms, p90 <= 60 ms). Timings depend on the machine and its load: report the
load with them; the ratio is what one run measures fairly.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import browser_support as bs  # noqa: E402

TARGET_MEDIAN_MS, TARGET_P90_MS = 40.0, 60.0
PNG_CELL = 'import os\nos.environ["OPTLIB_SLIDER_RENDERER"] = "png"   # benchmark baseline: the PNG renderer'

# Boxes: a slider cell's output (controls + data figure or PNG image); returns how many.
_JS_BOXES = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const boxes = [...panel.querySelectorAll('.jp-OutputArea-output > .widget-vbox')]
    .filter(b => (b.querySelector('.optlib-figure') || b.querySelector('img.widget-image'))
                 && b.querySelector('.noUi-handle'));
  boxes.forEach((b, k) => b.setAttribute('data-bench-box', String(k)));
  return boxes.length;
}"""

_JS_ARM = """(k) => {
  const box = document.querySelector(`[data-bench-box="${k}"]`);
  const handle = box.querySelector('.noUi-handle');
  window.__lat = null;
  let t0 = null;
  handle.addEventListener('keydown', () => { if (t0 === null) t0 = performance.now(); }, {capture: true, once: true});
  const fig = box.querySelector('.optlib-figure');
  const img = () => box.querySelector('img.widget-image');
  const before = fig ? Number(fig.getAttribute('data-optlib-frame') || 0) : img().src;
  const done = () => {
    if (fig && fig._optlib) window.__parts = [fig._optlib.received - t0, fig._optlib.painted - t0];
    // the frame that shows the change: its rAF callbacks run, it is painted, then this task runs
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { window.__lat = performance.now() - t0; };
      ch.port2.postMessage(null);
    });
  };
  const obs = new MutationObserver(async () => {
    if (t0 === null) return;
    if (fig) {
      if (Number(fig.getAttribute('data-optlib-frame') || 0) <= before) return;
      obs.disconnect(); done();
    } else {
      const i = img();
      if (!i || i.src === before) return;
      obs.disconnect();
      try { await i.decode(); } catch (e) {}
      done();
    }
  });
  obs.observe(box, {subtree: true, attributes: true, attributeFilter: ['src', 'data-optlib-frame']});
}"""


def _direction(handle, moves):
    """ArrowRight if the slider has more room to the right, else ArrowLeft."""
    now, lo, hi = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
    return "ArrowRight" if (hi - now) >= (now - lo) else "ArrowLeft"


def _at_end(handle, direction):
    """Whether the slider can move no further in ``direction`` (a coarse slider has few positions)."""
    now, lo, hi = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
    return now >= hi - 1e-12 if direction == "ArrowRight" else now <= lo + 1e-12


def measure_notebook(page, lab, name, moves, parts=False):
    nb = bs.LabNotebook(page, lab, name)
    nb.open()
    nb.run_all()
    expected = bs.live_cells(lab.root_dir / name)
    page.wait_for_function(f"() => ({_JS_BOXES})() >= {expected}", timeout=60_000)
    n_boxes = page.evaluate(_JS_BOXES)
    page.wait_for_timeout(1000)
    samples = []
    for k in range(n_boxes):
        handle = page.locator(f'[data-bench-box="{k}"] .noUi-handle').first
        direction = "ArrowRight"
        for i in range(moves + 1):                     # the first move warms up, not counted
            if i == 1:        # every timed move goes to a value not shown before (no cached texts)
                direction = _direction(handle, moves)
            if _at_end(handle, direction):
                break         # a coarse slider (08's: 7 and 13 positions) gives fewer moves
            page.evaluate(_JS_ARM, k)
            handle.scroll_into_view_if_needed()
            handle.evaluate("e => e.focus()")
            page.keyboard.press(direction)
            page.wait_for_function("() => window.__lat !== null", timeout=60_000)
            ms = page.evaluate("() => window.__lat")
            if parts:
                print(f"    {name} box {k}: scene received / painted / frame shown at "
                      f"{page.evaluate('() => window.__parts')} / {ms:.1f} ms", file=sys.stderr)
            deadline = time.monotonic() + 30
            while not nb.kernel_idle() and time.monotonic() < deadline:
                time.sleep(0.02)
            page.wait_for_timeout(150)
            if i:
                samples.append(ms)
    lab.shutdown_sessions()
    return samples


_KERNEL_PROBE = r"""
import math as _m, time as _t, statistics as _st, ipywidgets as _W
def _course_probe(moves):
    out = []
    for box in [w for w in list(_W.Widget.widgets.values()) if isinstance(w, _W.VBox)]:
        kids = list(box.children)
        if len(kids) < 2 or not isinstance(kids[0], _W.VBox) or not (isinstance(kids[1], _W.Image) or hasattr(kids[1], "scene")):
            continue
        sliders = [c for c in kids[0].children if isinstance(c, (_W.FloatSlider, _W.FloatLogSlider))]
        if not sliders:
            continue
        s = sliders[0]
        v0, ts = s.value, []
        log = not isinstance(s, _W.FloatSlider)
        up = (s.max - _m.log(v0, s.base) if log else s.max - v0) >= (_m.log(v0, s.base) - s.min if log else v0 - s.min)
        sign = 1 if up else -1
        for i in range(1, moves + 2):     # every move to a new value (no cached texts)
            e = (_m.log(v0, s.base) + sign * i * s.step) if log else v0 + sign * i * s.step
            if not s.min - 1e-9 <= e <= s.max + 1e-9:
                break                     # a coarse slider has fewer positions
            t0 = _t.perf_counter(); s.value = s.base ** e if log else e; ts.append((_t.perf_counter() - t0) * 1e3)
        out.append(_st.median(ts[1:] or ts))
    return out
print("COURSE_PROBE", _course_probe(MOVES))
"""


def with_png_renderer(src: Path, dst: Path):
    """A copy of notebook ``src`` whose kernel uses the PNG renderer (one cell after the first)."""
    import nbformat
    nb = nbformat.read(src, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell(PNG_CELL))
    nbformat.write(nb, dst)
    return dst


def kernel_times(path: Path, moves: int) -> list[float]:
    """In-kernel cost of one move (update + what the renderer sends) per slider cell: the notebook
    run headless by nbclient, then each slider cell's first slider set from Python (its observer
    redraws synchronously)."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_KERNEL_PROBE.replace("MOVES", str(int(moves)))))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for o in nb.cells[-1].outputs:
        if o.get("output_type") == "stream" and "COURSE_PROBE" in o.get("text", ""):
            return json.loads(o["text"].split("COURSE_PROBE", 1)[1].strip())
    return []


def _stats(s):
    if not s:
        return float("nan"), float("nan")
    q = statistics.quantiles(s, n=10, method="inclusive")[-1] if len(s) >= 2 else s[0]
    return statistics.median(s), q


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moves", type=int, default=15, help="timed moves per slider cell (default 15)")
    ap.add_argument("--json", type=Path, help="also write the raw samples here")
    ap.add_argument("--no-kernel", action="store_true",
                    help="skip the in-kernel column (each notebook run twice more, headless)")
    ap.add_argument("--parts", action="store_true",
                    help="print per move when the data widget received its scene and painted it")
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb with sliders")
    args = ap.parse_args(argv)
    notebooks = [Path(p) for p in args.notebooks] or bs.slider_notebooks()
    if not notebooks:
        print("no notebook with sliders: nothing to measure")
        return
    root = Path(tempfile.mkdtemp(prefix="course-bench-"))
    for p in notebooks:
        shutil.copy(p, root / Path(p).name)
        with_png_renderer(Path(p), root / f"png-{Path(p).name}")
    results = {}
    t_start = time.monotonic()
    loads = [os.getloadavg()[0]]
    try:
        with bs.JupyterLab(root) as lab, bs.Browser() as browser:
            page = browser.new_page()
            for p in notebooks:
                name = Path(p).name
                for variant, file in (("data", name), ("png", f"png-{name}")):
                    s = measure_notebook(page, lab, file, args.moves, args.parts)
                    results.setdefault(name, {})[variant] = s
                    loads.append(os.getloadavg()[0])
                    print(f"  {name} [{variant}]: median {statistics.median(s):.0f} ms over {len(s)} moves",
                          file=sys.stderr)
        kernel = {}
        if not args.no_kernel:
            for p in notebooks:
                name = Path(p).name
                for variant, file in (("data", root / name), ("png", root / f"png-{name}")):
                    try:
                        kernel.setdefault(name, {})[variant] = kernel_times(file.resolve(), args.moves)
                    except Exception as e:              # the browser numbers stand on their own
                        print(f"  {name} [{variant}]: in-kernel timing failed: {e}", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"\nSlider latency: key press -> new figure painted (headless Chromium, JupyterLab, "
          f"{os.cpu_count()} CPUs, load average {min(loads):.1f}-{max(loads):.1f}; "
          f"{time.monotonic() - t_start:.0f} s)\n")
    print("| notebook | moves | data: median / p90 (ms) | PNG: median / p90 (ms) | PNG / data (median) "
          "| in the kernel, data / PNG (ms) | target median <= 40, p90 <= 60 |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, r in results.items():
        dm, dq = _stats(r["data"])
        pm, pq = _stats(r["png"])
        k = kernel.get(name, {})
        kcol = " / ".join(" ".join(f"{x:.0f}" for x in k[v]) if k.get(v) else "n/a" for v in ("data", "png"))
        ok = dm <= TARGET_MEDIAN_MS and dq <= TARGET_P90_MS
        print(f"| {name} | {len(r['data'])} | {dm:.0f} / {dq:.0f} | {pm:.0f} / {pq:.0f} | {pm / dm:.2f} | "
              f"{kcol} | {'yes' if ok else 'NO'} |")
    print("\n(in the kernel: update() + what the renderer prepares per move, per slider cell, median; "
          "the rest is messaging, decoding and painting)")
    if args.json:
        args.json.write_text(json.dumps({"browser_ms": results, "kernel_ms": kernel}, indent=1))


if __name__ == "__main__":
    main()
