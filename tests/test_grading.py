"""The instructor's grader, tools/grade.py, on a small class of odd submissions.

Every submission is built at test time from exercises/ (what students get) and
solutions/ (the instructor's answers): one honest solved notebook, one left
unsolved, and one for each way a submission can go wrong. The whole class is
graded once, in parallel, through the command line, and each row of the
gradebook is checked: status, points, message, and that the honest rows are
not disturbed by the others.
"""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GRADE = ROOT / "tools" / "grade.py"

pytestmark = pytest.mark.skipif(
    not (ROOT / "exercises" / "03_adam_step.ipynb").exists(), reason="exercises/ not generated")


def _load_grade_module():
    spec = importlib.util.spec_from_file_location("course_grade", GRADE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["course_grade"] = mod
    spec.loader.exec_module(mod)
    return mod


grade = _load_grade_module()


# ---------------------------------------------------------------------------
# Building submissions from the release
# ---------------------------------------------------------------------------
solution_sources = grade.solution_sources


def submission(name, solved=True, replace=None, drop=(), after=None, slow=0):
    """grade.make_submission, plus `slow` cells sleeping 3 s each after the setup cell."""
    nb = grade.make_submission(name, solved=solved, replace=replace, drop=drop, after=after)
    if slow:
        at = next(i for i, c in enumerate(nb.cells) if (grade.grade_id(c) or "").endswith("_setup"))
        nb.cells[at + 1:at + 1] = [nbformat.v4.new_code_cell("import time\ntime.sleep(3)") for _ in range(slow)]
    return nb


WRONG_ADAM = '''\
def adam_step(w, g, v, s, t, lr, beta1, beta2, eps):
    v_new = beta1 * v + (1.0 - beta1) * g
    s_new = beta2 * s + (1.0 - beta2) * g * g
    w_new = w - lr * v_new / (np.sqrt(s_new) + eps)     # no bias correction
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

CELL_TIMEOUT = 6
NOTEBOOK_TIMEOUT = 15


def build_class(root: Path):
    """The class: student -> (notebook name, notebook or raw bytes)."""
    s01, s03 = "01_rms_and_ema", "03_adam_step"
    subs = {
        "good01": (s01, submission(s01)),
        "good03": (s03, submission(s03)),
        "good02": ("02_rmsprop_step", submission("02_rmsprop_step")),
        "good04": ("04_momentum_adamw", submission("04_momentum_adamw")),
        "good05": ("05_capstone_digits", submission("05_capstone_digits")),
        "unsolved": (s01, submission(s01, solved=False)),
        "syntax": (s01, submission(s01, replace={"rms_impl": "def rms(x):\n    return np.sqrt(np.mean(x * x)\n"})),
        "loop": (s03, submission(s03, after={"adam_step_impl": "while True:\n    pass"})),
        "stubborn": (s03, submission(s03, after={"adam_step_impl":
                     "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass"})),
        "slow": (s03, submission(s03, slow=8)),
        "dies": (s03, submission(s03, after={"adam_step_impl": "import os\nos._exit(1)"})),
        "deleted": (s01, submission(s01, drop=("rms_check",))),
        "nosetup": (s03, submission(s03, drop=("03_adam_step_setup",))),
        "edited": (s03, submission(s03, replace={"adam_step_impl": WRONG_ADAM,
                                                  "adam_step_check": "print('adam_step: all checks passed')"})),
        "renamed": (s03, submission(s03, replace={
            "adam_step_impl": solution_sources(s03)["adam_step_impl"].replace("def adam_step", "def my_adam_step")})),
        "cheat": (s03, submission(s03, replace={"adam_step_impl": WRONG_ADAM}, after={"adam_step_impl": CHEAT_CELL})),
        "reference": (s03, submission(s03, replace={"adam_step_impl": ALIAS_REFERENCE})),
        "freshcopy": (s03, submission(s03, replace={"adam_step_impl": FRESH_COPY})),
        "checksref": (s03, submission(s03, replace={"adam_step_impl": CHECKS_REFERENCE})),
        "chatty": (s03, submission(s03, after={"adam_step_impl": "for i in range(60000):\n    print('x' * 100)"})),
        "empty": (s03, b""),
        "corrupt": (s03, None),
    }
    for student, (name, nb) in subs.items():
        path = root / student / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        if nb is None:       # a notebook cut off half-way through
            text = nbformat.writes(submission(name))
            path.write_text(text[: len(text) // 2])
        elif isinstance(nb, bytes):
            path.write_bytes(nb)
        else:
            nbformat.write(nb, path)
    return subs


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    build_class(root)
    out = root / "grades" / "gradebook.csv"
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(GRADE), str(root), "-o", str(out), "--jobs", "3",
         "--cell-timeout", str(CELL_TIMEOUT), "--timeout", str(NOTEBOOK_TIMEOUT), "-q"],
        capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out.with_name("gradebook-by-notebook.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["student"]: r for r in rows}, out.with_name("gradebook-by-notebook.csv"), proc


def points(row, qid):
    return float(row[qid])


def test_one_row_per_submission_and_the_columns(gradebook):
    rows, out, proc = gradebook
    assert len(rows) == 22
    header = next(csv.reader(open(out)))
    assert header[:3] == ["student", "notebook", "file"]
    assert rows["good03"]["file"] == os.path.join("good03", "03_adam_step.ipynb")
    assert header[-4:] == ["total", "max", "status", "message"]
    assert {"rms", "ema_debiased", "adam_step"} <= set(header)
    assert "graded 22 notebooks" in proc.stdout
    # only the two gradebooks are left (atomic writes: no temporary file)
    assert sorted(p.name for p in out.parent.iterdir()) == ["gradebook-by-notebook.csv", "gradebook.csv"]


def test_solutions_score_full_marks(gradebook):
    rows, _, _ = gradebook
    assert rows["good01"]["status"] == "ok" and rows["good01"]["message"] == ""
    assert (points(rows["good01"], "rms"), points(rows["good01"], "ema_debiased")) == (1, 2)
    assert float(rows["good01"]["total"]) == float(rows["good01"]["max"]) == 3
    assert rows["good03"]["status"] == "ok" and points(rows["good03"], "adam_step") == 4
    for student in ("good02", "good04", "good05"):      # every exercise, the capstone included
        row = rows[student]
        assert (row["status"], row["message"]) == ("ok", ""), row
        assert float(row["total"]) == float(row["max"]) > 0
    assert float(rows["good05"]["train_digits"]) == 5
    # a notebook answers only its own questions: the other columns stay empty
    assert rows["good03"]["rms"] == "" and rows["good01"]["adam_step"] == ""


def test_unsolved_exercise_scores_zero_with_status_ok(gradebook):
    row = gradebook[0]["unsolved"]
    assert row["status"] == "ok"
    assert float(row["total"]) == 0 and float(row["max"]) == 3
    assert "rms: not implemented yet" in row["message"]


def test_syntax_error_loses_only_its_question(gradebook):
    row = gradebook[0]["syntax"]
    assert row["status"] == "error"
    assert "SyntaxError" in row["message"] and "rms_impl" in row["message"]
    assert points(row, "rms") == 0 and points(row, "ema_debiased") == 2


def test_infinite_loop_is_interrupted_and_the_rest_graded(gradebook):
    row = gradebook[0]["loop"]
    assert row["status"] == "timeout"
    assert f"over the {CELL_TIMEOUT} s cell limit" in row["message"]
    assert points(row, "adam_step") == 4


def test_loop_that_ignores_interrupts_is_stopped(gradebook):
    row = gradebook[0]["stubborn"]
    assert row["status"] == "timeout"
    assert "kernel ignored the interrupt, stopped" in row["message"]
    assert points(row, "adam_step") == 0


def test_slow_notebook_hits_the_notebook_limit(gradebook):
    row = gradebook[0]["slow"]
    assert row["status"] == "timeout"
    assert f"notebook over the {NOTEBOOK_TIMEOUT} s limit" in row["message"]
    assert points(row, "adam_step") == 0


def test_kernel_that_dies(gradebook):
    row = gradebook[0]["dies"]
    assert row["status"] == "kernel died"
    assert "kernel died in cell" in row["message"]
    assert points(row, "adam_step") == 0


def test_deleted_check_cell_is_restored_and_flagged(gradebook):
    row = gradebook[0]["deleted"]
    assert row["status"] == "cells missing"
    assert "rms_check deleted" in row["message"]
    assert (points(row, "rms"), points(row, "ema_debiased")) == (1, 2)


def test_deleted_setup_cell_is_restored_and_flagged(gradebook):
    """Without the official setup cell (imports numpy as np) the answer could not run."""
    row = gradebook[0]["nosetup"]
    assert row["status"] == "cells missing"
    assert row["message"] == "locked cell 03_adam_step_setup deleted (restored)"
    assert points(row, "adam_step") == 4


def test_edited_check_cell_is_flagged_and_does_not_score(gradebook):
    row = gradebook[0]["edited"]
    assert row["status"] == "tampered"
    assert "adam_step_check edited" in row["message"]
    assert points(row, "adam_step") == 0
    assert "bias correction is missing" in row["message"]     # graded as usual


def test_renamed_function(gradebook):
    row = gradebook[0]["renamed"]
    assert row["status"] == "error"
    assert "adam_step: adam_step is not defined" in row["message"]
    assert points(row, "adam_step") == 0


def test_replacing_allclose_and_the_checker_changes_nothing(gradebook):
    row = gradebook[0]["cheat"]
    assert points(row, "adam_step") == 0
    assert row["status"] == "ok"
    assert "bias correction is missing" in row["message"]


def test_calling_optlib_reference_scores_zero(gradebook):
    row = gradebook[0]["reference"]
    assert row["status"] == "tampered"
    assert "calls optlib.functional.adam_step" in row["message"]
    assert points(row, "adam_step") == 0


@pytest.mark.parametrize("student, called", [("freshcopy", "optlib.functional.adam_step"),
                                              ("checksref", "optlib.checks.reference")])
def test_calling_a_copy_of_the_reference_or_the_checker_scores_zero(gradebook, student, called):
    row = gradebook[0][student]
    assert row["status"] == "tampered"
    assert row["message"] == f"adam_step: calls {called}"
    assert points(row, "adam_step") == 0


def test_megabytes_of_output_are_counted_not_kept(gradebook):
    rows, out, _ = gradebook
    row = rows["chatty"]
    assert row["status"] == "ok" and points(row, "adam_step") == 4
    assert re.search(r"printed 6\.\d MB \(not kept\)", row["message"])
    assert out.stat().st_size < 20_000
    assert all(len(r["message"]) <= grade.MESSAGE_CHARS for r in rows.values())


def test_empty_and_corrupt_files_are_unreadable(gradebook):
    rows = gradebook[0]
    assert rows["empty"]["status"] == "unreadable" and rows["empty"]["message"] == "empty file"
    assert rows["corrupt"]["status"] == "unreadable" and rows["corrupt"]["message"].startswith("corrupt JSON")
    for student in ("empty", "corrupt"):
        assert rows[student]["notebook"] == "03_adam_step"
        assert float(rows[student]["total"]) == 0 and float(rows[student]["max"]) == 4


# ---------------------------------------------------------------------------
# Pieces that need no kernel
# ---------------------------------------------------------------------------
def test_values_from_the_kernel_are_data_never_pickle():
    import numpy as np
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    sent = {"__tuple__": [{"__ndarray__": a.dtype.str, "shape": [2, 3],
                           "data": __import__("base64").b64encode(a.tobytes()).decode()}, 1.5, None]}
    got = grade.decode(json.loads(json.dumps(sent)))
    assert isinstance(got, tuple) and got[1:] == (1.5, None)
    assert got[0].dtype == np.float32 and np.array_equal(got[0], a)
    for bad in ({"__ndarray__": "|O", "shape": [1], "data": ""},          # object arrays
                {"__ndarray__": "<f8", "shape": [3], "data": "AAAA"},      # wrong length
                {"__pickle__": "gASV"}):
        with pytest.raises(ValueError):
            grade.decode(bad)


def test_a_dead_grader_process_costs_only_its_own_row(tmp_path, monkeypatch):
    """A worker that dies outright (not the kernel: the grading process) breaks
    the pool; the other notebooks are still graded and the dead one gets a row."""
    for student in ("ann", "bob", "crash", "dan"):
        (tmp_path / student).mkdir()
        nbformat.write(submission("03_adam_step"), tmp_path / student / "03_adam_step.ipynb")
    monkeypatch.setattr(grade, "grade_one", _fake_grade_one)
    monkeypatch.setattr(grade, "FORK_KERNELS", False)      # no kernels here: no zygote needed
    out = tmp_path / "gradebook.csv"
    rows = grade.grade_class(tmp_path, out, jobs=2, cell_timeout=5, timeout=10)
    by_student = {r.student: r for r in rows}
    assert sorted(by_student) == ["ann", "bob", "crash", "dan"]
    assert by_student["crash"].status == "error"
    assert by_student["crash"].message == "grader process died"
    assert all(by_student[s].status == "ok" and by_student[s].total == 4 for s in ("ann", "bob", "dan"))
    with open(out, newline="") as f:
        assert len(list(csv.DictReader(f))) == 4


def _fake_grade_one(path, root, release_dir, cell_timeout, timeout):
    if "crash" in path:
        os._exit(3)
    row = grade.Row(student=Path(path).parent.name, notebook="03_adam_step", path=path,
                    points={"adam_step": 4.0}, max_points=4.0)
    return row


def test_gradebook_is_replaced_atomically(tmp_path, monkeypatch):
    out = tmp_path / "gradebook.csv"
    row = grade.Row(student="ann", notebook="03_adam_step", path="ann/03_adam_step.ipynb",
                    points={"adam_step": 4.0}, max_points=4.0)
    releases = grade.load_releases(ROOT / "exercises")
    grade.write_gradebook([row], ["adam_step"], out, releases)
    before = out.read_text(), grade.by_notebook_path(out).read_text()

    def broken_writer(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(grade.csv, "writer", broken_writer)
    with pytest.raises(OSError):
        grade.write_gradebook([row, row], ["adam_step"], out, releases)
    assert (out.read_text(), grade.by_notebook_path(out).read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook-by-notebook.csv", "gradebook.csv"]


def test_kernels_started_from_scratch_grade_alike(tmp_path):
    """--no-fork (every kernel a fresh process, no warm zygote) gives the same rows."""
    for student, nb in (("good", submission("03_adam_step")),
                        ("reference", submission("03_adam_step", replace={"adam_step_impl": ALIAS_REFERENCE}))):
        (tmp_path / student).mkdir()
        nbformat.write(nb, tmp_path / student / "03_adam_step.ipynb")
    out = tmp_path / "gradebook.csv"
    proc = subprocess.run([sys.executable, str(GRADE), str(tmp_path), "--no-fork", "--jobs", "2", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert (rows["good"]["status"], rows["good"]["adam_step"]) == ("ok", "4")
    assert (rows["reference"]["status"], rows["reference"]["adam_step"]) == ("tampered", "0")
    assert "calls optlib.functional.adam_step" in rows["reference"]["message"]


def test_the_gradebook_has_one_row_per_student_across_notebooks(tmp_path):
    """Two students, one with two notebooks (one solved, one not), one with a single notebook."""
    root = tmp_path / "class"
    for student, name, solved in [("ann", "01_rms_and_ema", True), ("ann", "03_adam_step", False),
                                  ("ben", "03_adam_step", True)]:
        (root / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(submission(name, solved=solved), root / student / f"{name}.ipynb")
    out = tmp_path / "book.csv"
    proc = subprocess.run([sys.executable, str(GRADE), str(root), "-o", str(out), "--jobs", "2", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["student"]: r for r in csv.DictReader(open(out, newline=""))}
    assert sorted(rows) == ["ann", "ben"]
    assert "notebook" not in next(csv.reader(open(out)))
    ann, ben = rows["ann"], rows["ben"]
    assert (ann["rms"], ann["ema_debiased"], ann["adam_step"], ann["total"]) == ("1", "2", "0", "3")
    assert (ben["adam_step"], ben["total"], ben["rms"]) == ("4", "4", "")
    assert ann["max"] == ben["max"] == "20"                      # every exercise counts
    assert ann["status"] == ben["status"] == "ok"
    assert "03_adam_step: adam_step: not implemented yet" in ann["message"]
    assert "not submitted: 02_rmsprop_step" in ann["message"]
    detail = list(csv.DictReader(open(tmp_path / "book-by-notebook.csv", newline="")))
    assert len(detail) == 3
