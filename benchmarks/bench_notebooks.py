"""How long each lecture notebook takes to execute at each CPU level, and whether the outputs agree.

    .venv/bin/python benchmarks/bench_notebooks.py [--levels native,avx2,baseline]

Copies each notebook to a temporary folder and runs it there with the same
executor that stores the outputs (tools/execute_notebooks.py), once per CPU
level of tools/cpu_levels.py, so nothing in the repository changes. Prints a
Markdown table (kernel start-up included) and, per level, whether the text
outputs equal the stored ones (figures are not compared, as in nbval).
"""
import argparse
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "tools" / "execute_notebooks.py")
ex = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ex)


def text_outputs(path):
    """Every code cell's outputs without figures, ids, counts or metadata: what strict nbval compares."""
    cells = json.loads(Path(path).read_text())["cells"]
    keep = []
    for c in cells:
        if c["cell_type"] != "code" or "nbval-ignore-output" in c["metadata"].get("tags", []):
            continue
        for o in c.get("outputs", []):
            data = {k: v for k, v in o.get("data", {}).items() if not k.startswith("image/")}
            keep.append((o.get("name"), o.get("text"), json.dumps(data, sort_keys=True)))
    return keep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--levels", default="native,avx2,baseline")
    levels = ap.parse_args().levels.split(",")
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    times = {lv: {} for lv in levels}
    same = {lv: {} for lv in levels}
    with tempfile.TemporaryDirectory() as tmp:
        for level in levels:
            for nb in notebooks:
                copy = Path(tmp) / nb.name
                shutil.copy(nb, copy)
                times[level][nb.name] = ex.execute(copy, level=level)
                same[level][nb.name] = text_outputs(copy) == text_outputs(nb)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| notebook | " + " | ".join(levels) + " |\n|---|" + "---:|" * len(levels))
    for nb in notebooks:
        row = [f"{times[lv][nb.name]:.1f} s{'' if same[lv][nb.name] else ' (outputs differ)'}" for lv in levels]
        print(f"| {nb.name} | " + " | ".join(row) + " |")
    print("| whole folder | " + " | ".join(f"{sum(times[lv].values()):.1f} s" for lv in levels) + " |")


if __name__ == "__main__":
    main()
