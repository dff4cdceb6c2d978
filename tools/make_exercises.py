#!/usr/bin/env python
"""Generate the student notebooks exercises/*.ipynb from the instructor's solutions/*.ipynb.

    tools/course exercises            rewrite exercises/ from solutions/
    tools/course exercises --check    exit 1 if the committed exercises/ differ from what
                                      would be generated (or a notebook is missing or extra)

The solutions carry nbgrader's markup (``### BEGIN SOLUTION`` regions in solution
cells, ``### BEGIN HIDDEN TESTS`` regions in check cells, nbgrader cell metadata),
so an instructor with nbgrader can use them as an assignment source as they are.
This script runs nbgrader's own preprocessors through nbconvert, in the order
``nbgrader generate_assignment`` runs them, minus the steps that need a course
directory or a database (IncludeHeaderFooter, InstantiateTests, SaveCells):

    LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
    ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata

The output is byte-identical on every run (no timestamps, cell ids kept), which
is what makes ``--check`` meaningful.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def _preprocessors():
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme,
                                        ClearOutput, ClearSolutions, ComputeChecksums, LockCells)
    return [LockCells(), ClearSolutions(), ClearOutput(), CheckCellMetadata(), ComputeChecksums(),
            ClearHiddenTests(), ClearMarkScheme(), ComputeChecksums(), CheckCellMetadata()]


def generate(solution: Path) -> str:
    """The exercise notebook for one solution notebook, as the exact text to write."""
    nb = nbformat.read(solution, as_version=4)
    resources = {"metadata": {"name": solution.stem, "path": str(solution.parent)}}
    for pre in _preprocessors():
        nb, resources = pre.preprocess(nb, resources)
    # Execution metadata that nbclient or JupyterLab may leave in a solution.
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def expected() -> dict[str, str]:
    return {p.name: generate(p) for p in sorted(SOLUTIONS.glob("*.ipynb"))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if exercises/ differs from what would be generated")
    args = ap.parse_args(argv)

    want = expected()
    if not want:
        print(f"no solution notebooks in {SOLUTIONS}", file=sys.stderr)
        return 1
    have = {p.name for p in EXERCISES.glob("*.ipynb")}
    if args.check:
        problems = []
        for name, text in want.items():
            path = EXERCISES / name
            if not path.exists():
                problems.append(f"missing: exercises/{name}")
            elif path.read_text(encoding="utf-8") != text:
                problems.append(f"out of date: exercises/{name}")
        problems += [f"no solution for: exercises/{name}" for name in sorted(have - set(want))]
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("run `tools/course exercises` to regenerate exercises/ from solutions/",
                  file=sys.stderr)
            return 1
        print(f"exercises/ is up to date ({len(want)} notebooks)")
        return 0

    EXERCISES.mkdir(exist_ok=True)
    for name, text in want.items():
        path = EXERCISES / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote exercises/{name}")
    for name in sorted(have - set(want)):
        (EXERCISES / name).unlink()
        print(f"removed exercises/{name} (no solution)")
    print(f"exercises/ is up to date ({len(want)} notebooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
