"""Re-execute lecture notebooks in place, top to bottom in a fresh kernel, and store them clean.

    .venv/bin/python tools/execute_notebooks.py [--level LEVEL] [NOTEBOOK ...]   (default: notebooks/*.ipynb)

This is how the stored outputs that strict nbval compares against are made.
The stored notebook keeps no widget state and no execution timestamps (both
change on every run and say nothing), and its first code cell must select the
inline backend, so figures appear whatever MPLBACKEND says.

Stored outputs are portable: `tools/course test` checks them on this CPU and at
the emulated CPU levels of tools/cpu_levels.py, so a notebook executed on any
machine (or here with ``--level avx2`` / ``--level baseline``) must pass on all
of them. A notebook that prints a digit that changes between CPUs fails there.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import cpu_levels  # noqa: E402


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def clean(nb):
    """No widget state, no timestamps, and a cell's stdout/stderr as one output each: how a
    kernel chunks a stream depends on timing, so unmerged chunks differ from run to run.
    A widget view's model id (random every run; without stored state no view can show it)
    becomes a fixed name, so that two executions store the same notebook."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    nb.metadata.pop("widgets", None)
    merge = CoalesceStreamsPreprocessor()
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        if cell.cell_type == "code":
            merge.preprocess_cell(cell, {}, i)
            for k, out in enumerate(o for o in cell.get("outputs", []) if WIDGET_VIEW in o.get("data", {})):
                out["data"][WIDGET_VIEW]["model_id"] = f"cell{i}-view{k}"
    return nb


def execute(path, timeout=180, level="native"):
    """Execute ``path`` in place in a fresh kernel at CPU ``level``; returns the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    if "%matplotlib inline" not in first.source:
        raise SystemExit(f"{path}: the first code cell must start with %matplotlib inline")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(cpu_levels.env_for(level, saved))      # the kernel inherits the level's switches
    try:
        t0 = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - t0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    nbformat.write(clean(nb), path)
    return seconds


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--level", default="native", choices=list(cpu_levels.LEVELS),
                    help="CPU level to execute at (tools/cpu_levels.py); the outputs must not depend on it")
    ap.add_argument("notebooks", nargs="*", type=Path)
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for p in paths:
        s = execute(p.resolve(), level=args.level)
        print(f"{p.name}: executed in {s:.1f} s at level {args.level}, {p.stat().st_size / 1e3:.0f} kB", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
