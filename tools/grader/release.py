"""The release notebooks (exercises/) and the cells of a submission to run.

The release's locked cells are authoritative: a locked setup cell runs in its
official version; the check cells are not run at all (they are the student's
feedback, the grader's own collection replaces them). An edited locked cell
is flagged ``tampered``, a deleted one ``cells missing``; both are restored
and the rest is graded as usual.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .gradebook import Row
from .scoring import checks

_CHECK_CALLS = re.compile(r"\s*(checks\.\w+\([^\n]*\)\s*(#[^\n]*)?\n?\s*)+")
_HIDDEN_TESTS = re.compile(r"^### BEGIN HIDDEN TESTS\n.*?^### END HIDDEN TESTS\n?", re.S | re.M)


def grade_id(cell) -> str | None:
    nbg = (cell.get("metadata") or {}).get("nbgrader") or {}
    gid = nbg.get("grade_id")
    return gid if isinstance(gid, str) else None


def normalized(source: str) -> str:
    """Cell source for comparison: hidden-test blocks (the instructor's copy) and
    surrounding blank space do not count as edits."""
    return _HIDDEN_TESTS.sub("", source).strip()


def is_check_cell(cell) -> bool:
    """A graded test cell, or a locked feedback cell that only calls optlib.checks."""
    nbg = (cell.get("metadata") or {}).get("nbgrader") or {}
    gid = grade_id(cell) or ""
    if nbg.get("solution"):
        return False
    if nbg.get("grade") or gid.endswith("_check"):
        return True
    return bool(nbg.get("locked")) and bool(_CHECK_CALLS.fullmatch(normalized(cell.get("source", "")) + "\n"))


@dataclass
class Release:
    name: str                       # file stem, e.g. "05_adam_step"
    questions: list[str]            # qids in notebook order
    points: dict[str, float]
    locked: dict[str, tuple[str, bool]]   # grade_id -> (official source, is a check cell), in order
    grade_ids: set[str] = field(default_factory=set)

    @property
    def max_points(self) -> float:
        return sum(self.points.values())


def load_releases(release_dir: Path) -> dict[str, Release]:
    """Every exercise notebook of the release that has graded check cells, by name."""
    import nbformat
    questions = checks().QUESTIONS
    releases = {}
    for path in sorted(Path(release_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        qids, points, locked, gids = [], {}, {}, set()
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid is None:
                continue
            gids.add(gid)
            nbg = cell.metadata["nbgrader"]
            if cell.cell_type != "code" or nbg.get("solution"):
                continue
            if nbg.get("locked") or is_check_cell(cell):
                locked[gid] = (cell.source, is_check_cell(cell))
            qid = gid[: -len("_check")]
            if gid.endswith("_check") and nbg.get("grade") and qid in questions:
                qids.append(qid)
                points[qid] = float(nbg.get("points", questions[qid].points))
        if qids:
            releases[path.stem] = Release(path.stem, qids, points, locked, gids)
    return releases


def cell_label(index: int, cell) -> str:
    gid = grade_id(cell)
    return f"cell {index + 1}" + (f" ({gid})" if gid else "")


def plan_cells(nb, release: Release, row: Row) -> list[tuple[str, str]]:
    """The (source, label) of the cells to run, in order: the student's code
    cells, with the release's locked cells in their official version. Check
    cells are not run (the grader's collection cells replace them), so a
    deleted or edited one is restored by construction; a deleted setup cell is
    put back at the top. Edits are flagged ``tampered``, deletions ``cells missing``."""
    present = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is not None and gid not in present:
            present[gid] = cell
    missing = []
    for gid, (official, is_check) in release.locked.items():
        cell = present.get(gid)
        if cell is None:
            row.flag("cells missing", f"locked cell {gid} deleted (restored)")
            if not is_check:
                missing.append((official, f"restored {gid}"))
        elif cell.cell_type != "code" or normalized(cell.source) != normalized(official):
            row.flag("tampered", f"locked cell {gid} edited (restored)")
    plan = list(missing)
    seen = set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = grade_id(cell)
        if gid in release.locked:
            official, is_check = release.locked[gid]
            if is_check or gid in seen:
                continue
            seen.add(gid)
            plan.append((official, cell_label(i, cell)))
        elif not is_check_cell(cell):
            plan.append((cell.source, cell_label(i, cell)))
    return plan
