"""Slider latency in a real browser: key press on a slider -> new figure on screen.

    tools/course bench                                   # all benchmarks
    .venv/bin/python benchmarks/bench_slider_latency.py [--moves 15] [NOTEBOOK ...]

For every lecture notebook with sliders (``optlib.widgets.live``) this opens
JupyterLab (127.0.0.1, the course's settings) in headless Debian Chromium,
runs all cells, then moves the first slider of every slider cell with the
keyboard (ArrowRight, ArrowLeft, ... so it stays near its default). One move
is timed inside the page, from the ``keydown`` event to the first animation
frame after the new figure has been decoded (a MutationObserver sees the
figure's image change; ``img.decode()`` then two ``requestAnimationFrame``
callbacks: the frame that shows it has been painted). Moves are made one at a
time, each after the previous redraw has settled. Prints a Markdown table of
the median and 90th percentile per notebook against the course's target of
150 ms. Timings depend on the machine and its load: report them with both.
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

TARGET_MS = 150.0

_JS_ARM = """([k, n]) => {""" + bs._JS_HELPERS + """
  const box = courseBox(k);
  const handle = box.querySelector(`[data-course-control="${n}"] .noUi-handle`);
  window.__lat = null;
  let t0 = null;
  const onKey = (e) => { if (t0 === null) t0 = performance.now(); };
  handle.addEventListener('keydown', onKey, {capture: true, once: true});
  const before = courseFig(box).src;
  const obs = new MutationObserver(async () => {
    const img = courseFig(box);
    if (!img || img.src === before || t0 === null) return;
    obs.disconnect();
    try { await img.decode(); } catch (e) {}
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__lat = performance.now() - t0; }));
  });
  obs.observe(box, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
}"""


def measure_notebook(page, lab, name, moves):
    nb = bs.LabNotebook(page, lab, name)
    nb.open()
    nb.run_all()
    boxes = nb.live_boxes(bs.live_cells(lab.root_dir / name))
    nb.wait_first_figures(len(boxes))
    samples = []
    for k, box in enumerate(boxes):
        sliders = [c for c in box["controls"] if c["kind"] == "slider"]
        if not sliders:
            continue
        n = sliders[0]["index"]
        for i in range(moves + 1):                     # the first move warms up, not counted
            nb.watch(k)
            page.evaluate(_JS_ARM, [k, n])
            nb.key_move(k, n, "slider", key="ArrowRight" if i % 2 == 0 else "ArrowLeft")
            page.wait_for_function("() => window.__lat !== null", timeout=60_000)
            ms = page.evaluate("() => window.__lat")
            nb.wait_redrawn(k)
            if i:
                samples.append(ms)
    lab.shutdown_sessions()
    return samples


_KERNEL_PROBE = r"""
import time as _t, statistics as _st, ipywidgets as _W
def _course_probe(moves):
    out = []
    for box in [w for w in list(_W.Widget.widgets.values()) if isinstance(w, _W.VBox)]:
        kids = list(box.children)
        if len(kids) < 2 or not isinstance(kids[0], _W.VBox) or not isinstance(kids[1], _W.Image):
            continue
        sliders = [c for c in kids[0].children if isinstance(c, (_W.FloatSlider, _W.FloatLogSlider))]
        if not sliders:
            continue
        s = sliders[0]
        v0, ts = s.value, []
        for i in range(moves + 1):
            step = s.step if isinstance(s, _W.FloatSlider) else None
            new = (v0 + s.step if i % 2 == 0 else v0) if step else (v0 * s.base ** s.step if i % 2 == 0 else v0)
            t0 = _t.perf_counter(); s.value = new; ts.append((_t.perf_counter() - t0) * 1e3)
        out.append(_st.median(ts[1:]))
    return out
print("COURSE_PROBE", _course_probe(MOVES))
"""


def kernel_times(path: Path, moves: int) -> list[float]:
    """In-kernel cost of one move (update + savefig) per slider cell: the notebook run headless by
    nbclient, then each slider cell's first slider set from Python (its observer redraws synchronously)."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_KERNEL_PROBE.replace("MOVES", str(int(moves)))))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for o in nb.cells[-1].outputs:
        if o.get("output_type") == "stream" and "COURSE_PROBE" in o.get("text", ""):
            return json.loads(o["text"].split("COURSE_PROBE", 1)[1].strip())
    return []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moves", type=int, default=15, help="timed moves per slider cell (default 15)")
    ap.add_argument("--json", type=Path, help="also write the raw samples here")
    ap.add_argument("--no-kernel", action="store_true",
                    help="skip the in-kernel column (each notebook run once more, headless)")
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb with sliders")
    args = ap.parse_args(argv)
    notebooks = [Path(p) for p in args.notebooks] or bs.slider_notebooks()
    if not notebooks:
        print("no notebook with sliders: nothing to measure")
        return
    root = Path(tempfile.mkdtemp(prefix="course-bench-"))
    for p in notebooks:
        shutil.copy(p, root / Path(p).name)
    results = {}
    t_start = time.monotonic()
    try:
        with bs.JupyterLab(root) as lab, bs.Browser() as browser:
            page = browser.new_page()
            for p in notebooks:
                results[Path(p).name] = measure_notebook(page, lab, Path(p).name, args.moves)
                s = results[Path(p).name]
                print(f"  {Path(p).name}: median {statistics.median(s):.0f} ms over {len(s)} moves",
                      file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    kernel = {}
    if not args.no_kernel:
        for p in notebooks:
            try:
                kernel[Path(p).name] = kernel_times(Path(p).resolve(), args.moves)
            except Exception as e:                  # the browser numbers stand on their own
                print(f"  {Path(p).name}: in-kernel timing failed: {e}", file=sys.stderr)

    load = os.getloadavg()[0]
    print(f"\nSlider latency: key press -> new figure painted (headless Chromium, JupyterLab, "
          f"{os.cpu_count()} CPUs, load average {load:.1f}; {time.monotonic() - t_start:.0f} s)\n")
    print("| notebook | moves | median (ms) | p90 (ms) | max (ms) | of which in the kernel (ms) "
          "| target <= 150 ms |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, s in results.items():
        q = statistics.quantiles(s, n=10, method="inclusive")[-1] if len(s) >= 2 else s[0]
        med = statistics.median(s)
        k = kernel.get(name)
        kcol = " / ".join(f"{x:.0f}" for x in k) if k else "n/a"
        print(f"| {name} | {len(s)} | {med:.0f} | {q:.0f} | {max(s):.0f} | {kcol} | "
              f"{'yes' if med <= TARGET_MS else 'NO'} |")
    print("\n(in the kernel: update() + savefig of one move, per slider cell, median; "
          "the rest is messaging, decoding and painting)")
    if args.json:
        args.json.write_text(json.dumps({"browser_ms": results, "kernel_ms": kernel}, indent=1))


if __name__ == "__main__":
    main()
