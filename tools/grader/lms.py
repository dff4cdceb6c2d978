"""Exports that Canvas and Moodle import: one grade per student, the total of what was graded.

* ``*-canvas.csv``, for Canvas's Gradebook > Import: the columns ``Student,
  ID, Section`` and one assignment column, then a ``Points Possible`` row.
  Canvas matches a student by ``ID`` (the Canvas user id, read from the
  download's file names), and the column by the title and id in its header,
  ``Title (assignment id)``, else by title (canvas-lms,
  ``app/models/gradebook_importer.rb``). Name the column with ``--lms-title``.
* ``*-moodle.csv``, for the assignment's "Upload grading worksheet" (the
  offline grading worksheet must be enabled in its feedback types): the
  columns Moodle's importer looks for, ``Identifier`` (``Participant <id>``,
  the id from the download's folder names), ``Grade`` and ``Last modified
  (grade)``, plus ``Full name``, ``Maximum Grade`` and ``Feedback comments``
  (mod/assign/feedback/offline, ``importgradeslib.php``). The grade is in
  points: set the Moodle assignment's maximum grade to the ``max`` shown.
"""
from __future__ import annotations

import datetime
from pathlib import Path

from .gradebook import Graded, StudentResult, fmt, write_csv


def default_title(graded: Graded) -> str:
    return " + ".join(graded.exercises) or "grade"


def export_paths(out: Path) -> tuple[Path, Path]:
    return (out.with_name(out.stem + "-canvas" + (out.suffix or ".csv")),
            out.with_name(out.stem + "-moodle" + (out.suffix or ".csv")))


def write_canvas(results: list[StudentResult], graded: Graded, path: Path, title: str) -> None:
    lines = [["Points Possible", "", "", fmt(graded.total)]]
    for r in results:
        lines.append([r.student.name, r.student.id if r.student.layout == "canvas" else "", "", fmt(r.total)])
    write_csv(path, ["Student", "ID", "Section", title], lines)


def write_moodle(results: list[StudentResult], graded: Graded, path: Path, now: datetime.datetime | None = None) -> None:
    stamp = (now or datetime.datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
    lines = []
    for r in results:
        ident = f"Participant {r.student.id}" if r.student.layout == "moodle" else ""
        comment = f"{fmt(r.total)} / {fmt(r.max_points)} points" + (f". {r.message}" if r.message else "")
        lines.append([ident, r.student.name, fmt(r.total), fmt(graded.total), stamp, comment])
    write_csv(path, ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)",
                     "Feedback comments"], lines)
