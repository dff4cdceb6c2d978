"""Re-execute lecture notebooks in place, top to bottom in a fresh kernel, and store them clean.

    .venv/bin/python tools/execute_notebooks.py [NOTEBOOK ...]     (default: notebooks/*.ipynb)

This is how the stored outputs that strict nbval compares against are made.
The stored notebook keeps no widget state and no execution timestamps (both
change on every run and say nothing), and its first code cell must select the
inline backend, so figures appear whatever MPLBACKEND says.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def clean(nb):
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
    return nb


def execute(path, timeout=180):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    if "%matplotlib inline" not in first.source:
        raise SystemExit(f"{path}: the first code cell must start with %matplotlib inline")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    nbformat.write(clean(nb), path)
    return seconds


def main(argv):
    paths = [Path(p) for p in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for p in paths:
        s = execute(p.resolve())
        print(f"{p.name}: executed in {s:.1f} s, {p.stat().st_size / 1e3:.0f} kB", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
