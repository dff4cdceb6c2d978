"""The command line: ``tools/course grade SUBMISSIONS [options]``."""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from . import feedback, lms
from .gradebook import STATUSES, by_notebook_path, fmt
from .run import DEFAULT_RELEASE, Options, UsageError, grade_class
from .sandbox import GB, INSTALL_HINT, MB, Limits, SandboxUnavailable

DESCRIPTION = """\
Grade a folder of submitted exercise notebooks: every notebook runs in a sandbox
of its own (bubblewrap: read-only system, private folder, no network, no view of
other files or processes, limits on memory, processes, disk and CPU time), the
grader computes the expected values itself, and writes a gradebook, exports for
Canvas and Moodle, and one feedback page per student."""

EPILOG = """\
output, beside GRADEBOOK.csv (default SUBMISSIONS/gradebook.csv):
  GRADEBOOK.csv              one row per student (first row: each question's maximum)
  GRADEBOOK-by-notebook.csv  one row per notebook
  GRADEBOOK-canvas.csv       for Canvas: Grades > Import
  GRADEBOOK-moodle.csv       for Moodle: the assignment's "Upload grading worksheet"
  feedback/                  one HTML page per student, to hand back

student names are read from the download's layout: a folder per student
(nbgrader's submitted/), nbgrader's exchange inbound, Canvas's and Moodle's
"download all submissions" (see README, "Grading a class")."""


def size(text: str) -> int:
    """'2G', '512M', '1.5GB' or a number of bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kKmMgG]?)[bB]?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected a size such as 2G or 512M, got {text!r}")
    return int(float(m[1]) * {"": 1, "k": 2**10, "m": MB, "g": GB}[m[2].lower()])


def positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value
    return parse


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tools/course grade", description=DESCRIPTION, epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("submissions", type=Path,
                    help="folder of submitted notebooks (e.g. SUBMISSIONS/<student>/05_adam_step.ipynb, "
                         "or an unzipped Canvas or Moodle download)")
    ap.add_argument("-o", "--output", type=Path,
                    help="gradebook CSV (default: SUBMISSIONS/gradebook.csv); the other outputs go beside it")
    ap.add_argument("--exercise", action="append", metavar="NAME",
                    help="grade only this exercise (a name such as 05_adam_step, or its number, 05); "
                         "repeat for several; default: every exercise found among the submissions")
    ap.add_argument("--jobs", type=positive(int), default=os.cpu_count() or 1,
                    help="notebooks graded at once (default: all cores)")
    ap.add_argument("--cell-timeout", type=positive(float), default=30.0, help="seconds per cell (default 30)")
    ap.add_argument("--timeout", type=positive(float), default=120.0, help="seconds per notebook (default 120)")
    ap.add_argument("--memory", type=size, default=Limits.memory,
                    help="memory of one notebook, all its processes together (default 2G)")
    ap.add_argument("--max-processes", type=positive(int), default=Limits.processes,
                    help=f"processes and threads of one notebook (default {Limits.processes})")
    ap.add_argument("--disk", type=size, default=Limits.disk,
                    help="size of a notebook's private folder and /tmp, and of any file it writes (default 512M)")
    ap.add_argument("--cpu-time", type=positive(int),
                    help="CPU seconds of any one process (default: --timeout)")
    ap.add_argument("--release", type=Path, default=DEFAULT_RELEASE, help="release notebooks (default: exercises/)")
    ap.add_argument("--lms-title", metavar="TITLE",
                    help="the grade column of the Canvas export, as the Canvas assignment is called, "
                         "e.g. 'Adam step (4521)' (title and id from its URL); default: the exercises graded")
    ap.add_argument("--no-sandbox", action="store_true",
                    help="run student code WITHOUT the sandbox, as your own user: only for graders who "
                         "run this inside a container of their own (memory, disk and CPU limits still apply)")
    ap.add_argument("--no-fork", action="store_true",
                    help="start every kernel from scratch instead of forking a warm one (slower)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no line per graded notebook")
    return ap


def main(argv=None) -> int:
    ap = parser()
    a = ap.parse_args(argv)
    if not a.submissions.is_dir():
        ap.error(f"SUBMISSIONS: {a.submissions} is not a folder")
    if not a.release.is_dir():
        ap.error(f"--release: {a.release} is not a folder")
    out = a.output or a.submissions / "gradebook.csv"
    limits = Limits(memory=a.memory, processes=a.max_processes, disk=a.disk,
                    cpu=a.cpu_time or int(a.timeout) + 10)
    options = Options(cell_timeout=a.cell_timeout, timeout=a.timeout, release=a.release,
                      sandbox=not a.no_sandbox, warm=not a.no_fork, limits=limits)
    os.environ.setdefault("MPLBACKEND", "Agg")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    t0 = time.monotonic()

    def progress(row, done, total):
        if not a.quiet:
            print(f"[{done}/{total}] {time.monotonic() - t0:5.1f}s {row.seconds:5.1f}s {row.student.name:<16.16} "
                  f"{row.notebook:<20} {fmt(row.total):>5}/{fmt(row.max_points):<5} {row.status:<13} "
                  f"{row.message[:70]}", file=sys.stderr)

    try:
        result = grade_class(a.submissions, out, a.jobs, options, a.exercise, progress)
    except SandboxUnavailable as e:
        print(f"tools/course grade: cannot make a sandbox ({e}): {INSTALL_HINT}", file=sys.stderr)
        return 2
    except UsageError as e:
        ap.error(str(e))
    canvas, moodle = lms.export_paths(out)
    lms.write_canvas(result.students, result.graded, canvas, a.lms_title or lms.default_title(result.graded))
    lms.write_moodle(result.students, result.graded, moodle)
    pages = feedback.write_feedback(result.students, result.graded, out.parent / "feedback")
    counts = {s: sum(r.status == s for r in result.rows) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to grade"
    print(f"graded {len(result.rows)} notebooks of {len(result.students)} students in "
          f"{time.monotonic() - t0:.1f} s ({summary}), out of {fmt(result.graded.total)} points "
          f"({', '.join(result.graded.exercises) or 'no exercise'})"
          + ("" if options.sandbox else ", WITHOUT sandbox"))
    print(f"  gradebook:  {out}\n  per notebook: {by_notebook_path(out)}\n"
          f"  for Canvas: {canvas}\n  for Moodle: {moodle}\n  feedback:   {len(pages)} pages in {out.parent / 'feedback'}")
    return 0
