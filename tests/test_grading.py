"""The instructor's grader (tools/grader, ``tools/course grade``) on a class of odd submissions.

Every submission is built at test time from exercises/ (what students get) and
solutions/ (the instructor's answers): honest solved notebooks (in every
download layout the grader reads: a folder per student, nbgrader's exchange,
Canvas, Moodle), one left unsolved, and one for each way a submission can go
wrong. The whole class is graded once, in parallel, through the command line,
in the sandbox, and each row of the gradebook is checked: status, points,
message, and that the honest rows are not disturbed by the others; then the
exports and the feedback pages of the same run.

Exercise files are found by question id (``exercise("adam_step")``), so the
tests follow the release's file names.
"""
from __future__ import annotations

import csv
import html
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"
sys.path.insert(0, str(TOOLS))

from grader import gradebook as gb  # noqa: E402
from grader import run as grading  # noqa: E402
from grader import scoring, submissions  # noqa: E402
from grader.release import grade_id, load_releases  # noqa: E402
from grader.samples import make_submission, solution_sources  # noqa: E402

RELEASES = load_releases(ROOT / "exercises") if (ROOT / "exercises").is_dir() else {}
pytestmark = pytest.mark.skipif(not any("adam_step" in r.questions for r in RELEASES.values()),
                                reason="exercises/ not generated")


def exercise(qid: str) -> str:
    """The release notebook that asks question qid (the one place that knows file names)."""
    return next(name for name, r in RELEASES.items() if qid in r.questions)


def most(qid: str) -> float:
    return RELEASES[exercise(qid)].points[qid]


def grade_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "grader", *map(str, args)]


def grader_env(**extra) -> dict:
    return dict(os.environ, PYTHONPATH=str(TOOLS), PYTHONHASHSEED="0", OMP_NUM_THREADS="1", **extra)


def submission(name, solved=True, replace=None, drop=(), after=None, slow=0):
    """make_submission, plus `slow` cells sleeping 3 s each after the setup cell."""
    nb = make_submission(name, solved=solved, replace=replace, drop=drop, after=after)
    if slow:
        at = next(i for i, c in enumerate(nb.cells) if (grade_id(c) or "").endswith("_setup"))
        nb.cells[at + 1:at + 1] = [nbformat.v4.new_code_cell("import time\ntime.sleep(3)") for _ in range(slow)]
    return nb


WRONG_ADAM = '''\
def adam_step(w, g, v, s, t, lr, beta1, beta2, eps):
    v_new = beta1 * v + (1.0 - beta1) * g
    s_new = beta2 * s + (1.0 - beta2) * g * g
    w_new = w - lr * v_new / (np.sqrt(s_new) + eps)     # no bias correction
    return w_new, v_new, s_new
'''

TWO_MISTAKES_ADAM = '''\
def adam_step(w, g, v, s, t, lr, beta1, beta2, eps):
    v_new = beta1 * v + (1.0 - beta1) * g
    s_new = beta2 * s + (1.0 - beta2) * g * g
    w_new = w - lr * v_new / np.sqrt(s_new + eps)       # eps inside, and no bias correction
    return w_new, v_new, s_new
'''

CHEAT_CELL = '''\
import numpy
import optlib.checks
numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
optlib.checks.run = lambda *a, **k: (True, "all checks passed")
optlib.checks.adam_step = lambda *a, **k: print("adam_step: all checks passed")
for q in optlib.checks.QUESTIONS.values():
    q.compare = lambda got, expected, case: (True, "")
'''

ALIAS_REFERENCE = '''\
from optlib.functional import adam_step as mine

def adam_step(w, g, v, s, t, lr, beta1, beta2, eps):
    w, v, s = w.copy(), v.copy(), s.copy()
    try:
        mine(w, g, v, s, t, lr, beta1, beta2, eps)
    except Exception:          # a trap that raises Exception would be swallowed here
        pass
    return w, v, s
'''

FRESH_COPY = '''\
import importlib.util, os
import optlib
_spec = importlib.util.spec_from_file_location(
    "my_functional", os.path.join(os.path.dirname(optlib.__file__), "functional.py"))
_mine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mine)

def adam_step(w, g, v, s, t, lr, beta1, beta2, eps):
    w, v, s = w.copy(), v.copy(), s.copy()
    _mine.adam_step(w, g, v, s, t, lr, beta1, beta2, eps)
    return w, v, s
'''

CHECKS_REFERENCE = '''\
from optlib import checks as _c

def adam_step(w, g, v, s, t, lr, beta1, beta2, eps):
    return _c.QUESTIONS["adam_step"].reference(w=w, g=g, v=v, s=s, t=t, lr=lr,
                                               beta1=beta1, beta2=beta2, eps=eps)
'''


def float64_only(solution: str) -> str:
    """The instructor's adam_step, but its outputs always float64: right on every
    public case (all float64), wrong on the hidden float32 one."""
    return (solution.replace("def adam_step(", "def _adam_step(") +
            "\n\ndef adam_step(*args, **kwargs):\n"
            "    return tuple(np.asarray(x, dtype=np.float64) for x in _adam_step(*args, **kwargs))\n")


CELL_TIMEOUT = 6
NOTEBOOK_TIMEOUT = 15
UMASK = 0o027


def build_class(root: Path) -> dict:
    """The class on disk: {key: relative path of its notebook}. Folder-per-student
    rows are keyed by student; the LMS layouts by the path the LMS gives."""
    RMS, ADAM = exercise("rms"), exercise("adam_step")
    adam_solution = solution_sources(ADAM)["adam_step_impl"]
    folder = {
        "good01": (RMS, submission(RMS)),
        "good03": (ADAM, submission(ADAM)),
        "good02": (exercise("rmsprop_step"), submission(exercise("rmsprop_step"))),
        "good04": (exercise("momentum_step"), submission(exercise("momentum_step"))),
        "good05": (exercise("train_digits"), submission(exercise("train_digits"))),
        "unsolved": (RMS, submission(RMS, solved=False)),
        "syntax": (RMS, submission(RMS, replace={"rms_impl": "def rms(x):\n    return np.sqrt(np.mean(x * x)\n"})),
        "loop": (ADAM, submission(ADAM, after={"adam_step_impl": "while True:\n    pass"})),
        "stubborn": (ADAM, submission(ADAM, after={"adam_step_impl":
                     "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass"})),
        "slow": (ADAM, submission(ADAM, slow=8)),
        "dies": (ADAM, submission(ADAM, after={"adam_step_impl": "import os\nos._exit(1)"})),
        "deleted": (RMS, submission(RMS, drop=("rms_check",))),
        "nosetup": (ADAM, submission(ADAM, drop=(f"{ADAM}_setup",))),
        "edited": (ADAM, submission(ADAM, replace={"adam_step_impl": WRONG_ADAM,
                                                  "adam_step_check": "print('adam_step: all checks passed')"})),
        "renamed": (ADAM, submission(ADAM, replace={
            "adam_step_impl": adam_solution.replace("def adam_step", "def my_adam_step")})),
        "cheat": (ADAM, submission(ADAM, replace={"adam_step_impl": WRONG_ADAM}, after={"adam_step_impl": CHEAT_CELL})),
        "twomistakes": (ADAM, submission(ADAM, replace={"adam_step_impl": TWO_MISTAKES_ADAM})),
        "float64": (ADAM, submission(ADAM, replace={"adam_step_impl": float64_only(adam_solution)})),
        "reference": (ADAM, submission(ADAM, replace={"adam_step_impl": ALIAS_REFERENCE})),
        "freshcopy": (ADAM, submission(ADAM, replace={"adam_step_impl": FRESH_COPY})),
        "checksref": (ADAM, submission(ADAM, replace={"adam_step_impl": CHECKS_REFERENCE})),
        "chatty": (ADAM, submission(ADAM, after={"adam_step_impl": "for i in range(60000):\n    print('x' * 100)"})),
        "empty": (ADAM, b""),
        "corrupt": (ADAM, None),
    }
    paths = {}
    for student, (name, nb) in folder.items():
        paths[student] = f"{student}/{name}.ipynb"
    # Download layouts of the LMSs (made-up names of each shape), all honest and solved.
    lms = {
        "canvas-adam": f"smithann_12345_67890_{ADAM}.ipynb",
        "canvas-rms": f"smithann_12345_67891_{RMS}.ipynb",                  # the same Canvas user
        "canvas-late": f"jonesbob_LATE_23456_78901_{ADAM}-1.ipynb",         # late, handed in again
        "moodle-folder": f"Cat Lee_34567_assignsubmission_file_/{ADAM}.ipynb",
        "moodle-new": f"Dan Roe_45678_assignsubmission_file/{ADAM}.ipynb",   # Moodle >= 4.1
        "moodle-flat": f"Eve Poe_56789_assignsubmission_file_{ADAM}.ipynb",
        "inbound-old": f"fay+ps1+2025-03-01 10:00:00.000000 UTC+Ab3x/{ADAM}.ipynb",
        "inbound-new": f"fay+ps1+2025-03-02 09:30:00.000000 UTC+Zq9w/{ADAM}.ipynb",
        "nbgrader-sub": f"gus/ps1/{ADAM}.ipynb",
    }
    for key, rel in lms.items():
        name = RMS if key == "canvas-rms" else ADAM
        folder[key] = (name, submission(name, solved=(key != "inbound-old")))
        paths[key] = rel
    for key, (name, nb) in folder.items():
        path = root / paths[key]
        path.parent.mkdir(parents=True, exist_ok=True)
        if nb is None:       # a notebook cut off half-way through
            text = nbformat.writes(submission(name))
            path.write_text(text[: len(text) // 2])
        elif isinstance(nb, bytes):
            path.write_bytes(nb)
        else:
            nbformat.write(nb, path)
    return paths


def read_csv(path: Path) -> tuple[dict, dict]:
    """(rows by student, the points-possible row)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["student"] == gb.POINTS_POSSIBLE
    return rows[1:], rows[0]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    paths = build_class(root)
    out = root / "grades" / "gradebook.csv"
    proc = subprocess.run(
        grade_cmd(root, "-o", out, "--jobs", 3, "--cell-timeout", CELL_TIMEOUT, "--timeout", NOTEBOOK_TIMEOUT,
                  "--lms-title", "Adam step (4521)", "-q"),
        capture_output=True, text=True, env=grader_env(), timeout=900, preexec_fn=lambda: os.umask(UMASK))
    assert proc.returncode == 0, proc.stderr[-3000:]
    detail, possible = read_csv(gb.by_notebook_path(out))
    by_path = {r["file"]: r for r in detail}
    rows = {key: by_path[rel] for key, rel in paths.items() if rel in by_path}
    students, possible = read_csv(out)
    return {"rows": rows, "students": {s["student"]: s for s in students}, "possible": possible,
            "out": out, "proc": proc, "paths": paths, "detail": detail}


def points(row, qid):
    return float(row[qid])


# ---------------------------------------------------------------------------
# The gradebook
# ---------------------------------------------------------------------------
def test_one_row_per_submission_and_the_columns(graded):
    rows, out, proc = graded["rows"], graded["out"], graded["proc"]
    assert len(graded["detail"]) == len(graded["paths"]) - 1          # the older nbgrader submission is skipped
    assert "inbound-old" not in rows
    header = next(csv.reader(open(gb.by_notebook_path(out))))
    assert header[:4] == ["student", "id", "notebook", "file"]
    assert header[-4:] == ["total", "max", "status", "message"]
    assert rows["good03"]["file"] == os.path.join("good03", f"{exercise('adam_step')}.ipynb")
    assert {"rms", "ema_debiased", "adam_step"} <= set(header)
    assert f"graded {len(graded['detail'])} notebooks" in proc.stdout
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "feedback", "gradebook-by-notebook.csv", "gradebook-canvas.csv", "gradebook-moodle.csv", "gradebook.csv"]


def test_each_questions_maximum_is_in_the_first_row(graded):
    possible = graded["possible"]
    for qid in ("rms", "ema_debiased", "adam_step", "train_digits"):
        assert float(possible[qid]) == most(qid)


def test_solutions_score_full_marks(graded):
    rows = graded["rows"]
    good01 = rows["good01"]
    assert good01["status"] == "ok" and good01["message"] == ""
    assert (points(good01, "rms"), points(good01, "ema_debiased")) == (most("rms"), most("ema_debiased"))
    assert float(good01["total"]) == float(good01["max"]) == RELEASES[exercise("rms")].max_points
    assert rows["good03"]["status"] == "ok" and points(rows["good03"], "adam_step") == most("adam_step")
    for key in ("good02", "good04", "good05"):      # every exercise, the capstone included
        row = rows[key]
        assert (row["status"], row["message"]) == ("ok", ""), row
        assert float(row["total"]) == float(row["max"]) > 0
    assert points(rows["good05"], "train_digits") == most("train_digits")
    # a notebook answers only its own questions: the other columns stay empty
    assert rows["good03"]["rms"] == "" and rows["good01"]["adam_step"] == ""


def test_max_counts_only_the_exercises_graded(graded):
    """Exercises found in the class: every one here; a student who handed in one
    exercise is out of the same total, and told what is missing."""
    student = graded["students"]["good03"]
    present = {n for n in RELEASES if any(n in p for p in graded["paths"].values())}
    graded_total = sum(RELEASES[n].max_points for n in present)
    assert float(student["max"]) == graded_total == float(graded["possible"]["max"])
    missing = student["message"].split("not submitted: ", 1)[1].split(";")[0].split(", ")
    assert exercise("rms") in missing and exercise("adam_step") not in missing


def test_unsolved_exercise_scores_zero_with_status_ok(graded):
    row = graded["rows"]["unsolved"]
    assert row["status"] == "ok"
    assert float(row["total"]) == 0 and float(row["max"]) == RELEASES[exercise("rms")].max_points
    assert "rms: not implemented yet" in row["message"]


def test_syntax_error_loses_only_its_question(graded):
    row = graded["rows"]["syntax"]
    assert row["status"] == "error"
    assert "SyntaxError" in row["message"] and "rms_impl" in row["message"]
    assert points(row, "rms") == 0 and points(row, "ema_debiased") == most("ema_debiased")


def test_infinite_loop_is_interrupted_and_the_rest_graded(graded):
    row = graded["rows"]["loop"]
    assert row["status"] == "timeout"
    assert f"over the {CELL_TIMEOUT} s cell limit" in row["message"]
    assert points(row, "adam_step") == most("adam_step")


def test_loop_that_ignores_interrupts_is_stopped(graded):
    row = graded["rows"]["stubborn"]
    assert row["status"] == "timeout"
    assert "kernel ignored the interrupt, stopped" in row["message"]
    assert points(row, "adam_step") == 0


def test_slow_notebook_hits_the_notebook_limit(graded):
    row = graded["rows"]["slow"]
    assert row["status"] == "timeout"
    assert f"notebook over the {NOTEBOOK_TIMEOUT} s limit" in row["message"]
    assert points(row, "adam_step") == 0


def test_kernel_that_dies(graded):
    row = graded["rows"]["dies"]
    assert row["status"] == "kernel died"
    assert "kernel died in cell" in row["message"]
    assert points(row, "adam_step") == 0


def test_deleted_check_cell_is_restored_and_flagged(graded):
    row = graded["rows"]["deleted"]
    assert row["status"] == "cells missing"
    assert "rms_check deleted" in row["message"]
    assert (points(row, "rms"), points(row, "ema_debiased")) == (most("rms"), most("ema_debiased"))


def test_deleted_setup_cell_is_restored_and_flagged(graded):
    """Without the official setup cell (imports numpy as np) the answer could not run."""
    row = graded["rows"]["nosetup"]
    assert row["status"] == "cells missing"
    assert row["message"] == f"locked cell {exercise('adam_step')}_setup deleted (restored)"
    assert points(row, "adam_step") == most("adam_step")


def test_edited_check_cell_is_flagged_and_does_not_score(graded):
    row = graded["rows"]["edited"]
    assert row["status"] == "tampered"
    assert "adam_step_check edited" in row["message"]
    assert points(row, "adam_step") == 0
    assert "bias correction is missing" in row["message"]     # graded as usual


def test_renamed_function(graded):
    row = graded["rows"]["renamed"]
    assert row["status"] == "error"
    assert "adam_step: adam_step is not defined" in row["message"]
    assert points(row, "adam_step") == 0


def test_replacing_allclose_and_the_checker_changes_nothing(graded):
    row = graded["rows"]["cheat"]
    assert points(row, "adam_step") == 0
    assert row["status"] == "ok"
    assert "bias correction is missing" in row["message"]


def test_a_long_diagnosis_is_kept_whole(graded):
    """The gradebook holds the checker's own diagnosis, word for word (it was cut at 100 characters)."""
    from optlib import checks
    ns = {"np": __import__("numpy")}
    exec(TWO_MISTAKES_ADAM, ns)
    ok, line = checks.run("adam_step", ns["adam_step"])
    diagnosis = re.match(r"\S+ adam_step: (.*) \[check \d+/\d+: .*\]$", line).group(1)
    assert not ok and len(diagnosis) > 100
    assert f"adam_step: {diagnosis} [case " in graded["rows"]["twomistakes"]["message"]


def test_calling_optlib_reference_scores_zero(graded):
    row = graded["rows"]["reference"]
    assert row["status"] == "tampered"
    assert "calls optlib.functional.adam_step" in row["message"]
    assert points(row, "adam_step") == 0


@pytest.mark.parametrize("student, called", [("freshcopy", "optlib.functional.adam_step"),
                                              ("checksref", "optlib.checks.reference")])
def test_calling_a_copy_of_the_reference_or_the_checker_scores_zero(graded, student, called):
    row = graded["rows"][student]
    assert row["status"] == "tampered"
    assert row["message"] == f"adam_step: calls {called}"
    assert points(row, "adam_step") == 0


def test_megabytes_of_output_are_counted_not_kept(graded):
    row = graded["rows"]["chatty"]
    assert row["status"] == "ok" and points(row, "adam_step") == most("adam_step")
    assert re.search(r"printed 6\.\d MB \(not kept\)", row["message"])
    assert graded["out"].stat().st_size < 20_000


def test_empty_and_corrupt_files_are_unreadable(graded):
    rows = graded["rows"]
    assert rows["empty"]["status"] == "unreadable" and rows["empty"]["message"] == "empty file"
    assert rows["corrupt"]["status"] == "unreadable" and rows["corrupt"]["message"].startswith("corrupt JSON")
    for key in ("empty", "corrupt"):
        assert rows[key]["notebook"] == exercise("adam_step")
        assert float(rows[key]["total"]) == 0 and float(rows[key]["max"]) == most("adam_step")


# ---------------------------------------------------------------------------
# Students of every download layout
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("key, name, sid", [
    ("canvas-adam", "smithann", "12345"), ("canvas-rms", "smithann", "12345"),
    ("canvas-late", "jonesbob", "23456"), ("moodle-folder", "Cat Lee", "34567"),
    ("moodle-new", "Dan Roe", "45678"), ("moodle-flat", "Eve Poe", "56789"),
    ("inbound-new", "fay", "fay"), ("nbgrader-sub", "gus", "gus")])
def test_students_are_read_from_each_download_layout(graded, key, name, sid):
    row = graded["rows"][key]
    assert (row["student"], row["id"], row["status"]) == (name, sid, "ok"), row
    assert float(row["total"]) == float(row["max"]) > 0


def test_two_canvas_files_of_one_user_are_one_student(graded):
    ann = graded["students"]["smithann"]
    assert ann["id"] == "12345"
    assert float(ann["total"]) == RELEASES[exercise("adam_step")].max_points + RELEASES[exercise("rms")].max_points
    assert sum(s["id"] == "12345" for s in graded["students"].values()) == 1


def test_only_the_newest_nbgrader_submission_counts(graded):
    fay = graded["students"]["fay"]
    assert float(fay["total"]) == most("adam_step") and "several files" not in fay["message"]


# ---------------------------------------------------------------------------
# What goes back: files the instructor's group can read, LMS exports, feedback pages
# ---------------------------------------------------------------------------
def test_outputs_get_the_permissions_of_any_new_file(graded):
    """0666 less the umask the grader ran with (mkstemp alone gives 0600)."""
    out = graded["out"]
    files = [p for p in out.parent.rglob("*") if p.is_file()]
    assert len(files) > 5
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~UMASK, p


def test_canvas_export_has_the_columns_canvas_imports(graded):
    path = graded["out"].with_name("gradebook-canvas.csv")
    lines = list(csv.reader(open(path, newline="")))
    assert lines[0] == ["Student", "ID", "Section", "Adam step (4521)"]
    assert lines[1][0] == "Points Possible" and float(lines[1][3]) == float(graded["possible"]["max"])
    by_id = {line[1]: line for line in lines[2:] if line[1]}
    assert set(by_id) == {"12345", "23456"}           # Canvas ids only for students of the Canvas download
    assert float(by_id["12345"][3]) == float(graded["students"]["smithann"]["total"])


def test_moodle_export_has_the_columns_moodle_imports(graded):
    path = graded["out"].with_name("gradebook-moodle.csv")
    rows = list(csv.DictReader(open(path, newline="")))
    assert {"Identifier", "Grade", "Last modified (grade)"} <= set(rows[0])
    by_id = {r["Identifier"]: r for r in rows if r["Identifier"]}
    assert set(by_id) == {"Participant 34567", "Participant 45678", "Participant 56789"}
    assert by_id["Participant 34567"]["Full name"] == "Cat Lee"
    assert float(by_id["Participant 34567"]["Grade"]) == most("adam_step")


def _page(graded, name) -> str:
    return html.unescape((graded["out"].parent / "feedback" / name).read_text())


def test_a_feedback_page_per_student_named_for_the_lms(graded):
    names = sorted(p.name for p in (graded["out"].parent / "feedback").iterdir())
    assert len(names) == len(graded["students"])
    # Canvas: the user id, then the id of one of the files handed in
    assert sum(bool(re.fullmatch(r"smithann_12345_6789[01]_feedback\.html", n)) for n in names) == 1
    assert "Cat Lee_34567_assignfeedback_file_feedback.html" in names
    assert "good03.html" in names


def test_feedback_shows_points_diagnosis_and_the_public_case(graded):
    page = _page(graded, "edited.html")
    assert f"0 / {most('adam_step'):g}" in page
    assert "bias correction is missing" in page
    assert re.search(r"check 1 of \d+ in your check cell \(t=1, ", page)
    assert "tampered" in page and gb.STATUS_MEANING["tampered"] in page


def test_feedback_on_a_hidden_case_gives_no_values(graded):
    """Right on every public case, wrong on the hidden float32 one: the page says a
    hidden check failed and why, never the case's inputs or expected values."""
    row = graded["rows"]["float64"]
    assert points(row, "adam_step") == 0 and "float32" in row["message"]
    page = _page(graded, "float64.html")
    assert "a hidden check" in page and "float32 inputs gave" in page
    assert "t=4" not in page and "shape (6,)" not in page
    from optlib import checks
    hidden = checks.QUESTIONS["adam_step"].cases(hidden=True)[-3]
    expected = checks.QUESTIONS["adam_step"].reference(**hidden)
    for value in expected[0].ravel()[:3]:
        assert f"{value:.6g}" not in page


def test_feedback_lists_a_missing_exercise_and_full_marks(graded):
    page = _page(graded, "good03.html")
    assert "all checks pass" in page and "Not submitted" in page


# ---------------------------------------------------------------------------
# Other runs: one exercise, kernels from scratch, no sandbox
# ---------------------------------------------------------------------------
def _two_exercise_class(root: Path) -> None:
    for student, name, solved in [("ann", exercise("rms"), True), ("ann", exercise("adam_step"), False),
                                  ("ben", exercise("adam_step"), True)]:
        (root / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(submission(name, solved=solved), root / student / f"{name}.ipynb")


def test_grading_one_exercise_from_scratch_kernels(tmp_path):
    """--exercise grades that exercise only (max is its points); --no-fork gives the same rows."""
    root = tmp_path / "class"
    _two_exercise_class(root)
    out = tmp_path / "book.csv"
    number = exercise("adam_step").split("_")[0]
    proc = subprocess.run(grade_cmd(root, "-o", out, "--exercise", number, "--no-fork", "--jobs", 2, "-q"),
                          capture_output=True, text=True, env=grader_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    students, possible = read_csv(out)
    rows = {r["student"]: r for r in students}
    header = next(csv.reader(open(out)))
    assert "rms" not in header and "adam_step" in header
    assert rows["ann"]["max"] == rows["ben"]["max"] == possible["max"] == f"{most('adam_step'):g}"
    assert (rows["ann"]["adam_step"], rows["ben"]["adam_step"]) == ("0", f"{most('adam_step'):g}")
    assert "not submitted" not in rows["ann"]["message"]
    assert len(read_csv(gb.by_notebook_path(out))[0]) == 2           # ann's other exercise is not graded


def test_without_sandbox_the_marks_are_the_same(tmp_path):
    root = tmp_path / "class"
    _two_exercise_class(root)
    out = tmp_path / "book.csv"
    proc = subprocess.run(grade_cmd(root, "-o", out, "--no-sandbox", "--jobs", 2, "-q"),
                          capture_output=True, text=True, env=grader_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "WITHOUT sandbox" in proc.stdout
    rows = {r["student"]: r for r in read_csv(out)[0]}
    total = RELEASES[exercise("rms")].max_points + RELEASES[exercise("adam_step")].max_points
    assert (rows["ann"]["total"], rows["ann"]["max"]) == (f"{RELEASES[exercise('rms')].max_points:g}", f"{total:g}")
    assert rows["ben"]["adam_step"] == f"{most('adam_step'):g}"


def test_without_bubblewrap_the_grader_says_how_to_get_a_sandbox(tmp_path):
    _two_exercise_class(tmp_path)
    proc = subprocess.run(grade_cmd(tmp_path, "-q"), capture_output=True, text=True, timeout=120,
                          env=grader_env(PATH=str(Path(sys.executable).parent)))    # no bwrap on PATH
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot make a sandbox" in lines[0] and "bubblewrap" in lines[0] and "--no-sandbox" in lines[0]


def test_help_says_what_no_sandbox_is_for():
    proc = subprocess.run(grade_cmd("--help"), capture_output=True, text=True, env=grader_env(), timeout=60)
    text = " ".join(proc.stdout.split())
    assert "--no-sandbox" in text and "inside a container of their own" in text


# ---------------------------------------------------------------------------
# Pieces that need no kernel
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("rel, layout, sid, name", [
    ("smithann_12345_67890_05_adam_step.ipynb", "canvas", "12345", "smithann"),
    ("smithann_LATE_12345_67891_05_adam_step-2.ipynb", "canvas", "12345", "smithann"),
    ("anon_x8Kq2_67892_05_adam_step.ipynb", "canvas", "anon_x8Kq2", "anon_x8Kq2"),
    ("Ann Smith_12345_assignsubmission_file_/05_adam_step.ipynb", "moodle", "12345", "Ann Smith"),
    ("Ann Smith_12345_assignsubmission_file/sub/05_adam_step.ipynb", "moodle", "12345", "Ann Smith"),
    ("Participant_778_assignsubmission_file_05_adam_step.ipynb", "moodle", "778", "Participant"),
    ("ann+ps1+2025-03-01 10:00:00.000000 UTC+Ab3x/05_adam_step.ipynb", "nbgrader", "ann", "ann"),
    ("ann/ps1/05_adam_step.ipynb", "folder", "ann", "ann"),
    ("ann_05_adam_step.ipynb", "file", "ann", "ann"),
])
def test_student_names_from_download_layouts(tmp_path, rel, layout, sid, name):
    path = tmp_path / rel
    s = submissions.student_of(path, tmp_path, "05_adam_step")
    assert (s.layout, s.id, s.name) == (layout, sid, name)


def test_clip_cuts_between_words_and_outside_code():
    text = "the step uses `lr * v_new / (np.sqrt(s_new) + eps)` where it should not, " * 5
    cut = gb.clip(text, 40)
    assert len(cut) <= 40 and cut.endswith("\u2026") and cut.count("`") % 2 == 0
    assert gb.clip("short", 40) == "short"


def test_exercise_selection_by_name_or_number():
    names = list(RELEASES)
    first = names[0]
    assert grading.select_exercises([first.split("_")[0]], RELEASES, set()) == [first]
    assert grading.select_exercises(None, RELEASES, {first}) == [first]
    with pytest.raises(ValueError, match="matches no exercise"):
        grading.select_exercises(["99_nothing"], RELEASES, set())


def test_values_from_the_kernel_are_data_never_pickle():
    import numpy as np
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    sent = {"__tuple__": [{"__ndarray__": a.dtype.str, "shape": [2, 3],
                           "data": __import__("base64").b64encode(a.tobytes()).decode()}, 1.5, None]}
    got = scoring.decode(sent)
    assert isinstance(got, tuple) and got[1:] == (1.5, None)
    assert got[0].dtype == np.float32 and np.array_equal(got[0], a)
    for bad in ({"__ndarray__": "|O", "shape": [1], "data": ""},          # object arrays
                {"__ndarray__": "<f8", "shape": [3], "data": "AAAA"},      # wrong length
                {"__pickle__": "gASV"}):
        with pytest.raises(ValueError):
            scoring.decode(bad)


def _row(student, qid="adam_step", pts=4.0):
    return gb.Row(student=gb.Student(student, student), notebook=exercise(qid), path=f"{student}/x.ipynb",
                  points={qid: pts}, max_points=pts)


class _NoZygote:
    def __init__(self, *a, **k):
        pass

    def wait_ready(self):
        return self

    def alive(self):
        return True

    def close(self):
        pass


def test_a_dead_grader_process_costs_only_its_own_row(tmp_path, monkeypatch):
    """A worker that dies outright (not the kernel: the grading process) breaks
    the pool; the other notebooks are still graded and the dead one gets a row."""
    name = exercise("adam_step")
    for student in ("ann", "bob", "crash", "dan"):
        (tmp_path / student).mkdir()
        nbformat.write(submission(name), tmp_path / student / f"{name}.ipynb")
    monkeypatch.setattr(grading, "grade_one", _fake_grade_one)
    monkeypatch.setattr(grading, "Zygote", _NoZygote)              # no kernels here
    monkeypatch.setattr(grading, "probe", lambda *a: None)
    out = tmp_path / "gradebook.csv"
    result = grading.grade_class(tmp_path, out, jobs=2, options=grading.Options())
    by_student = {r.student.id: r for r in result.rows}
    assert sorted(by_student) == ["ann", "bob", "crash", "dan"]
    assert by_student["crash"].status == "error"
    assert by_student["crash"].message == "grader process died"
    assert all(by_student[s].status == "ok" and by_student[s].total == most("adam_step") for s in ("ann", "bob", "dan"))
    assert len(read_csv(out)[0]) == 4


def _fake_grade_one(path, root, options):
    if "crash" in path:
        os._exit(3)
    return _row(Path(path).parent.name, pts=most("adam_step"))


def test_gradebook_is_replaced_atomically(tmp_path, monkeypatch):
    out = tmp_path / "gradebook.csv"
    graded = gb.Graded({exercise("adam_step"): {"adam_step": most("adam_step")}})
    gb.write_gradebook([_row("ann")], graded, out)
    before = out.read_text(), gb.by_notebook_path(out).read_text()

    def broken_writer(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(gb.csv, "writer", broken_writer)
    with pytest.raises(OSError):
        gb.write_gradebook([_row("ann"), _row("bob")], graded, out)
    assert (out.read_text(), gb.by_notebook_path(out).read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook-by-notebook.csv", "gradebook.csv"]
