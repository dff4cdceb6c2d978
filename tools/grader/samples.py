"""Made-up submissions built from the release and the solutions (for the tests and the benchmark)."""
from __future__ import annotations

import re
from pathlib import Path

from .release import grade_id

ROOT = Path(__file__).resolve().parents[2]
_SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)", re.M)


def solution_sources(name: str, solutions_dir: Path = ROOT / "solutions") -> dict[str, str]:
    """grade_id -> the instructor's answer, solution markers removed, for solutions/<name>.ipynb."""
    import nbformat
    nb = nbformat.read(solutions_dir / f"{name}.ipynb", as_version=4)
    return {grade_id(c): _SOLUTION_MARKERS.sub("", c.source) for c in nb.cells
            if ((c.metadata.get("nbgrader") or {}).get("solution") and grade_id(c))}


def make_submission(name: str, solved: bool = True, replace=None, drop=(), after=None,
                    release_dir: Path = ROOT / "exercises"):
    """exercises/<name> as a student could hand it in.

    solved: every answer cell holds the instructor's answer (else the stub);
    replace: {grade_id: new source}; drop: grade ids of cells to delete;
    after: {grade_id: source of a new code cell inserted after that cell}."""
    import nbformat
    nb = nbformat.read(release_dir / f"{name}.ipynb", as_version=4)
    answers = solution_sources(name) if solved else {}
    answers.update(replace or {})
    cells = []
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in drop:
            continue
        if gid in answers:
            cell.source = answers[gid]
        cells.append(cell)
        if gid in (after or {}):
            cells.append(nbformat.v4.new_code_cell(after[gid]))
    nb.cells = cells
    return nb
