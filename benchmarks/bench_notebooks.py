"""How long each lecture notebook takes to execute, top to bottom, in a fresh kernel.

    .venv/bin/python benchmarks/bench_notebooks.py

Copies each notebook to a temporary folder and runs it there with the same
executor that stores the outputs (tools/execute_notebooks.py), so nothing in
the repository changes. Prints a table against the limits of the course: 15 s
a notebook, 30 s for those that train networks on digits, 45 s for the
validation notebook, 90 s for the whole folder; kernel start-up included.
"""
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "tools" / "execute_notebooks.py")
ex = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ex)

LIMITS = {"05": 30, "06": 30, "09": 45}          # these train networks on digits


def main():
    rows, total = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            copy = Path(tmp) / nb.name
            shutil.copy(nb, copy)
            seconds = ex.execute(copy)
            total += seconds
            limit = LIMITS.get(nb.name[:2], 15)
            rows.append(f"| {nb.name} | {seconds:.1f} s | {limit} s | {'yes' if seconds <= limit else 'NO'} |")
    print(f"2 CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print("| notebook | execution | limit | within |\n|---|---|---|---|")
    print("\n".join(rows))
    print(f"| whole folder | {total:.1f} s | 90 s | {'yes' if total <= 90 else 'NO'} |")


if __name__ == "__main__":
    main()
