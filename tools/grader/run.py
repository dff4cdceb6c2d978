"""Grading a class: one notebook (``grade_one``) and a folder of them (``grade_class``).

Submissions are graded in parallel by a process pool (``jobs``). Kernels are
forked from one warm zygote (see zygote.py) that every worker shares, and the
cases and expected outputs are computed once, before the workers fork. A
notebook's failure, or its worker's death, costs only its own row.
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import multiprocessing
import pickle
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import kernels, scoring
from .sandbox import KernelBox, Limits, Zygote, make_spool, probe
from .gradebook import Graded, Row, StudentResult, by_notebook_path, clip, write_gradebook
from .release import Release, load_releases, plan_cells
from .submissions import exercise_of, find_submissions, read_notebook, student_of

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RELEASE = ROOT / "exercises"


@dataclass(frozen=True)
class Options:
    cell_timeout: float = 30.0
    timeout: float = 120.0
    release: Path = DEFAULT_RELEASE
    sandbox: bool = True
    warm: bool = True                      # fork kernels from a warm zygote
    limits: Limits = field(default_factory=Limits)


class Run:
    """What every worker process inherits: the releases, the zygote and its spool."""
    releases: dict[str, Release] = {}
    zygote: Zygote | None = None
    spool: Path | None = None


def releases(options: Options) -> dict[str, Release]:
    if not Run.releases:
        Run.releases = load_releases(options.release)
    return Run.releases


def _zygote(options: Options) -> Zygote:
    """The run's zygote (or, if it died, a new one for this process)."""
    if Run.zygote is None or not Run.zygote.alive():
        if Run.spool is None:
            Run.spool = make_spool()
        Run.zygote = Zygote(Run.spool, sandbox=options.sandbox, warm=options.warm).wait_ready()
    return Run.zygote


# ---------------------------------------------------------------------------
# One notebook (runs in a worker process)
# ---------------------------------------------------------------------------
def grade_one(path: str, root: str, options: Options) -> Row:
    """Grade one submitted notebook. Never raises: every failure becomes the row."""
    start = time.monotonic()
    p, r = Path(path), Path(root)
    rel = releases(options)
    grade_ids = {n: x.grade_ids for n, x in rel.items()}
    name = exercise_of(p, rel)
    row = Row(student=student_of(p, r, name), notebook=name or p.stem, path=str(p.relative_to(r)))
    try:
        try:
            nb = read_notebook(p)
        except (ValueError, OSError) as e:
            if name:
                row.points = {q: 0.0 for q in rel[name].questions}
                row.max_points = rel[name].max_points
            row.flag("unreadable", str(e))
            return row
        name = name or exercise_of(p, rel, nb, grade_ids)
        if name is None:
            row.flag("unreadable", "matches no exercise notebook")
            return row
        release = rel[name]
        row.student, row.notebook = student_of(p, r, name), name
        row.max_points = release.max_points
        row.points = {q: 0.0 for q in release.questions}
        _grade_cells(nb, release, row, options, start + options.timeout)
    except Exception as e:      # a bug or an oddity in the grader: this row only
        row.flag("error", f"grader failed: {type(e).__name__}: {clip(e, 100)}")
        traceback.print_exc(file=sys.stderr)
    finally:
        row.seconds = time.monotonic() - start
    return row


def _grade_cells(nb, release: Release, row: Row, options: Options, deadline: float) -> None:
    import nbformat
    box = KernelBox(_zygote(options), options.limits)
    try:
        inputs = box.write("inputs.pkl", pickle.dumps(scoring.kernel_inputs(release.questions)))
        cells = [nbformat.v4.new_code_cell(kernels.pre_cell(inputs))]
        labels = ["grader setup"]
        for source, label in plan_cells(nb, release, row):
            cells.append(nbformat.v4.new_code_cell(source))
            labels.append(label)
        collect = {}
        for q in release.questions:
            collect[len(cells)] = q
            cells.append(nbformat.v4.new_code_cell(kernels.collect_cell(q)))
            labels.append(q)
        sent = asyncio.run(kernels.run_kernel(cells, labels, box, collect, options.cell_timeout, deadline,
                                              options.timeout, row))
        by_qid = {q: sent.get(i) for i, q in collect.items()}
        for q in release.questions:
            scoring.score_question(q, release.points[q], by_qid[q], row)
    finally:
        box.kill()
        end = time.monotonic() + 10
        while box.alive() and time.monotonic() < end:
            time.sleep(0.01)
        box.remove()


# ---------------------------------------------------------------------------
# The class
# ---------------------------------------------------------------------------
class UsageError(ValueError):
    """A command-line choice that does not fit the release (e.g. an unknown exercise)."""


@dataclass
class ClassResult:
    rows: list[Row]
    students: list[StudentResult]
    graded: Graded


def select_exercises(names: list[str] | None, rel: dict[str, Release], present: set[str]) -> list[str]:
    """The exercises to grade: those named (a full name or a unique prefix such as
    ``05``), else every exercise a submission answers."""
    if not names:
        return [n for n in rel if n in present]
    chosen = []
    for want in names:
        hits = [n for n in rel if n == want] or [n for n in rel if n.startswith(want)]
        if len(hits) != 1:
            known = ", ".join(rel)
            raise UsageError(f"--exercise {want!r} matches {'no' if not hits else 'more than one'} "
                             f"exercise (there are: {known})")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return chosen


def grade_class(root: Path, out: Path, jobs: int, options: Options, exercises: list[str] | None = None,
                progress=None) -> ClassResult:
    root = root.resolve()
    rel = releases(options)
    if not rel:
        raise SystemExit(f"no exercise notebooks with check cells in {options.release}")
    paths = find_submissions(root)
    found = {p: exercise_of(p, rel) for p in paths}
    chosen = select_exercises(exercises, rel, {n for n in found.values() if n})
    if exercises:       # a notebook of another exercise is not graded (one whose name says nothing still is)
        paths = [p for p in paths if found[p] is None or found[p] in chosen]
    graded = Graded({n: dict(rel[n].points) for n in chosen})
    write_gradebook([], graded, out)
    ctx = multiprocessing.get_context("fork")
    # Work done here once is inherited by every worker (they are forks of this
    # process): the kernel zygote, the imports, the cases and expected outputs.
    try:
        if paths:
            Run.spool = make_spool()
            Run.zygote = Zygote(Run.spool, sandbox=options.sandbox, warm=options.warm)
        import nbclient  # noqa: F401
        from jupyter_client.manager import AsyncKernelManager  # noqa: F401
        scoring.warm_up(graded.qids or [q for r in rel.values() for q in r.questions])
        if Run.zygote is not None:
            Run.zygote.wait_ready()
            if options.sandbox:
                probe(Run.zygote, options.limits)
        rows = _grade_all(paths, root, out, graded, options, ctx, jobs, progress)
    finally:
        if Run.zygote is not None:
            Run.zygote.close()
            Run.zygote = None
        if Run.spool is not None:
            import shutil
            shutil.rmtree(Run.spool, ignore_errors=True)
            Run.spool = None
    if not exercises:       # a notebook recognised by its cells only may add an exercise
        found_now = {r.notebook for r in rows} | set(chosen)
        graded = Graded({n: dict(rel[n].points) for n in rel if n in found_now})
    rows = [r for r in rows if r.notebook in graded.exercises or r.status == "unreadable"]
    students = write_gradebook(rows, graded, out)
    return ClassResult(rows, students, graded)


def _grade_all(paths, root, out, graded, options, ctx, jobs, progress) -> list[Row]:
    rows: list[Row] = []

    def done(row):
        rows.append(row)
        write_gradebook(rows, graded, out)
        if progress:
            progress(row, len(rows), len(paths))

    # A worker process that dies (it should not: student code runs in kernels,
    # never in the workers) breaks the pool and fails every notebook in flight.
    # Those are then graded again one by one, each in a pool of its own, so only
    # the notebook that kills its worker ends up with an error row.
    suspects = []
    with cf.ProcessPoolExecutor(max_workers=max(1, min(jobs, len(paths) or 1)), mp_context=ctx) as pool:
        futures = {pool.submit(grade_one, str(p), str(root), options): p for p in paths}
        for fut in cf.as_completed(futures):
            try:
                row = fut.result()
            except cf.process.BrokenProcessPool:
                suspects.append(futures[fut])
                continue
            except Exception as e:
                row = crashed_row(futures[fut], root, options, f"grader failed: {type(e).__name__}: {e}")
            done(row)
    for path in sorted(suspects):
        with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            try:
                row = pool.submit(grade_one, str(path), str(root), options).result()
            except cf.process.BrokenProcessPool:
                row = crashed_row(path, root, options, "grader process died")
            except Exception as e:
                row = crashed_row(path, root, options, f"grader failed: {type(e).__name__}: {e}")
        done(row)
    return rows


def crashed_row(path: Path, root: Path, options: Options, message: str) -> Row:
    rel = releases(options)
    name = exercise_of(path, rel)
    row = Row(student=student_of(path, root, name), notebook=name or path.stem, path=str(path.relative_to(root)))
    if name:
        row.points = {q: 0.0 for q in rel[name].questions}
        row.max_points = rel[name].max_points
    row.flag("error", message)
    return row


__all__ = ["Options", "grade_one", "grade_class", "ClassResult", "by_notebook_path", "select_exercises"]
