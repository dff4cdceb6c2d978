"""Rows and the gradebook CSVs.

``Row`` is one graded notebook: its student, points per question, status and
message. ``write_gradebook`` writes two CSVs, each replaced atomically
(temporary file + ``os.replace``, with the permissions any new file of the
user gets, umask respected):

* ``gradebook.csv``: one row per student, every graded question's points, the
  total, the maximum (of the exercises graded in this run), the most serious
  status and a message naming each notebook's problem and any graded exercise
  not submitted. Its first row, ``(points possible)``, holds every question's
  maximum.
* ``gradebook-by-notebook.csv`` beside it: one row per submitted notebook.
"""
from __future__ import annotations

import csv
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Statuses, least serious first: a row shows its most serious one, the message lists all.
STATUSES = ["ok", "error", "cells missing", "tampered", "disk limit", "timeout", "cpu limit",
            "memory limit", "process limit", "kernel died", "unreadable"]
SEVERITY = {s: i for i, s in enumerate(STATUSES)}
STATUS_MEANING = {
    "ok": "graded normally (wrong or unsolved answers just score 0)",
    "error": "a cell raised an error (not counting an unsolved stub's NotImplementedError), "
             "or a question's function is missing, e.g. renamed",
    "cells missing": "a locked cell was deleted: it was restored and the rest graded",
    "tampered": "a locked cell was edited (restored, the rest graded), or an answer calls optlib's own "
                "implementation: that question scores 0",
    "disk limit": "the notebook wrote a file larger than allowed, or filled its folder",
    "timeout": "a cell ran past the time limit per cell (interrupted, the run went on) or the notebook past "
               "its time limit",
    "cpu limit": "a process used more CPU time than allowed and was stopped",
    "memory limit": "the notebook used more memory than allowed",
    "process limit": "the notebook started more processes or threads than allowed",
    "kernel died": "the kernel process exited (e.g. os._exit)",
    "unreadable": "empty file, corrupt JSON, not a notebook, or no exercise matches it",
}
POINTS_POSSIBLE = "(points possible)"   # the first row of both CSVs: each question's maximum
MAX_ISSUES = 12                         # a message lists at most this many problems
TEXT_CHARS = 200                        # text a student controls (an exception's message) is cut to this


@dataclass
class Student:
    """Who handed a notebook in, as the download's layout names them."""
    id: str                  # unique in the class: nbgrader's student id, Canvas's user id, Moodle's participant id
    name: str                # as the LMS spells it (nbgrader: the id)
    layout: str = "folder"   # folder | nbgrader | canvas | moodle | file
    prefix: str = ""         # the LMS's file-name prefix for this student (feedback files reuse it)

    @property
    def key(self) -> tuple[str, str]:
        return self.layout, self.id


@dataclass
class QuestionResult:
    """How one question went: for the feedback page."""
    points: float
    max_points: float
    message: str = ""        # the one-line diagnosis (empty when full marks)
    case: int | None = None  # 1-based index of the failing case
    public: bool = True      # whether that case is one the student's check cell runs
    n_public: int = 0
    described: str = ""     # the failing case's scalars and shapes (never its expected values)


@dataclass
class Row:
    student: Student
    notebook: str
    path: str
    points: dict[str, float] = field(default_factory=dict)
    max_points: float = 0.0
    status: str = "ok"
    issues: list[str] = field(default_factory=list)
    results: dict[str, QuestionResult] = field(default_factory=dict)
    seconds: float = 0.0

    def flag(self, status: str, message: str) -> None:
        if SEVERITY[status] > SEVERITY[self.status]:
            self.status = status
        self.issues.append(message)

    @property
    def total(self) -> float:
        return sum(self.points.values())

    @property
    def message(self) -> str:
        return join_issues(self.issues)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text) -> str:
    """Text on one line, without control characters (a NUL in a CSV breaks its readers)."""
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def join_issues(issues: list[str]) -> str:
    issues = list(dict.fromkeys(one_line(i) for i in issues))
    if len(issues) > MAX_ISSUES:
        issues = issues[:MAX_ISSUES] + [f"and {len(issues) - MAX_ISSUES} more"]
    return "; ".join(issues)


def clip(text: str, n: int = TEXT_CHARS) -> str:
    """``text`` on one line, at most ``n`` characters, cut between words and never inside a `code span`."""
    text = one_line(text)
    if len(text) <= n:
        return text
    cut = text[: n - 1]
    if cut.count("`") % 2:                         # inside a code span: cut before it
        cut = cut[: cut.rindex("`")]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "\u2026"


def fmt(x: float) -> str:
    return f"{x:g}"


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def _umask() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)            # (not thread-safe; only where /proc is missing)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write) -> None:
    """Replace ``path`` atomically by what ``write(file)`` writes; the file gets the
    permissions of any new file (0666 less the umask), not mkstemp's 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: Path, header: list[str], lines) -> None:
    def write(f):
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(lines)
    atomic_write(path, write)


def by_notebook_path(out: Path) -> Path:
    """Where the per-notebook detail goes: gradebook.csv -> gradebook-by-notebook.csv."""
    return out.with_name(out.stem + "-by-notebook" + (out.suffix or ".csv"))


@dataclass
class Graded:
    """What a run grades: the exercises, in order, and their questions' maxima."""
    exercises: dict[str, dict[str, float]]       # exercise -> {qid: points}

    @property
    def qids(self) -> list[str]:
        return [q for points in self.exercises.values() for q in points]

    @property
    def maxima(self) -> dict[str, float]:
        return {q: p for points in self.exercises.values() for q, p in points.items()}

    @property
    def total(self) -> float:
        return sum(self.maxima.values())


@dataclass
class StudentResult:
    """One student's line of the gradebook."""
    student: Student
    points: dict[str, float]
    total: float
    max_points: float
    status: str
    message: str
    rows: list[Row]
    missing: list[str]


def student_results(rows: list[Row], graded: Graded) -> list[StudentResult]:
    """One result per student: every graded question's points, total, out of what was graded, worst status."""
    by_student: dict[tuple, list[Row]] = {}
    for row in rows:
        by_student.setdefault(row.student.key, []).append(row)
    out = []
    for key in sorted(by_student, key=lambda k: (by_student[k][0].student.name.lower(), k)):
        mine = sorted(by_student[key], key=lambda r: (r.notebook, r.path))
        points: dict[str, float] = {}
        status, notes = "ok", []
        for r in mine:
            for q, v in r.points.items():
                points[q] = max(v, points.get(q, v))          # the better of two copies
            if SEVERITY[r.status] > SEVERITY[status]:
                status = r.status
            if r.message:
                notes.append(f"{r.notebook}: {r.message}")
        seen = {r.notebook for r in mine}
        if len(mine) > len(seen):
            notes.append("several files for one exercise: the better score counts")
        missing = [n for n in graded.exercises if n not in seen]
        if missing:
            notes.append("not submitted: " + ", ".join(missing))
        out.append(StudentResult(mine[0].student, points, sum(points.values()), graded.total, status,
                                 "; ".join(notes), mine, missing))
    return out


def write_gradebook(rows: list[Row], graded: Graded, out: Path) -> list[StudentResult]:
    """The two CSVs (see the module's docstring); returns the per-student results."""
    qids, maxima = graded.qids, graded.maxima
    possible = [fmt(maxima[q]) for q in qids]
    write_csv(by_notebook_path(out),
              ["student", "id", "notebook", "file", *qids, "total", "max", "status", "message"],
              [[POINTS_POSSIBLE, "", "", "", *possible, "", "", "", ""]]
              + [[row.student.name, row.student.id, row.notebook, row.path,
                  *[fmt(row.points[q]) if q in row.points else "" for q in qids],
                  fmt(row.total), fmt(row.max_points), row.status, row.message]
                 for row in sorted(rows, key=lambda r: (r.student.name.lower(), r.student.id, r.notebook, r.path))])
    results = student_results(rows, graded)
    write_csv(out, ["student", "id", *qids, "total", "max", "status", "message"],
              [[POINTS_POSSIBLE, "", *possible, fmt(graded.total), fmt(graded.total), "", ""]]
              + [[s.student.name, s.student.id, *[fmt(s.points[q]) if q in s.points else "" for q in qids],
                  fmt(s.total), fmt(s.max_points), s.status, s.message] for s in results])
    return results


def safe_file_name(text: str) -> str:
    return re.sub(r"[^\w.@+-]+", "_", text).strip("._") or "student"
