"""The exercise notebooks: solutions pass, unsolved exercises run, nothing hidden leaks.

solutions/*.ipynb are the instructor's source (nbgrader markup); exercises/*.ipynb are
generated from them by tools/make_exercises.py and committed.
"""
from __future__ import annotations

import copy
import functools
import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from optlib.checks import QUESTIONS

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
NAMES = [p.name for p in SOLUTIONS]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


def _make_exercises():
    spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "tools" / "make_exercises.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def read(kind, name):
    return nbformat.read(ROOT / kind / name, as_version=4)


def execute(nb, allow_errors=False):
    nb = copy.deepcopy(nb)
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=allow_errors,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


@functools.cache
def executed(kind, name):
    return execute(read(kind, name))


def text_of(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def check_cells(nb):
    """Cells that run a check: the graded ones and read-only ones that call checks.<qid>(...)."""
    return [c for c in nb.cells if c.cell_type == "code"
            and (nbgrader(c).get("grade") or re.match(r"checks\.\w+\(", c.source))]


def qid_of(cell):
    return re.match(r"checks\.(\w+)\((\w+)\)", cell.source).group(1)


def test_there_are_at_least_five_exercises():
    assert len(SOLUTIONS) >= 5
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")) == NAMES


def test_every_question_is_asked_exactly_once():
    asked = [nbgrader(c)["grade_id"][: -len("_check")] for n in NAMES for c in read("solutions", n).cells
             if nbgrader(c).get("grade")]
    assert sorted(asked) == sorted(QUESTIONS)


@pytest.mark.parametrize("name", NAMES)
def test_check_cells_follow_the_nbgrader_template(name):
    nb = read("solutions", name)
    ex = read("exercises", name)
    assert nb.metadata.kernelspec.name == "python3"
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "from optlib import checks" in first.source
    assert nbgrader(first) == {"grade": False, "solution": False, "locked": True,
                               "grade_id": nbgrader(first)["grade_id"], "schema_version": 3}
    ex_cells = {nbgrader(c).get("grade_id"): c for c in ex.cells if nbgrader(c)}
    graded = [c for c in nb.cells if nbgrader(c).get("grade")]
    assert graded
    for cell in graded:
        qid = nbgrader(cell)["grade_id"].removesuffix("_check")
        q = QUESTIONS[qid]
        assert cell.source == (f"checks.{qid}({q.function})\n"
                               f"### BEGIN HIDDEN TESTS\n"
                               f"checks.{qid}({q.function}, hidden=True, strict=True)\n"
                               f"### END HIDDEN TESTS")
        assert nbgrader(cell) == {"grade": True, "solution": False, "locked": True,
                                  "grade_id": f"{qid}_check", "points": q.points, "schema_version": 3}
        # the exercise's check cell is the solution's visible part, locked
        visible = HIDDEN.sub("", cell.source).rstrip("\n")
        ex_cell = ex_cells[f"{qid}_check"]
        assert ex_cell.source == visible == f"checks.{qid}({q.function})"
        assert ex_cell.metadata["editable"] is False and ex_cell.metadata["deletable"] is False
        # the solution cell comes before its check and defines the function
        impl = next(c for c in nb.cells if nbgrader(c).get("grade_id") == f"{qid}_impl")
        assert nb.cells.index(impl) < nb.cells.index(cell)
        assert nbgrader(impl) == {"grade": False, "solution": True, "locked": False,
                                  "grade_id": f"{qid}_impl", "schema_version": 3}
        assert re.search(rf"^def {q.function}\(", impl.source, re.M)
        assert "### BEGIN SOLUTION" in impl.source and "### END SOLUTION" in impl.source
        stub = ex_cells[f"{qid}_impl"].source
        assert "raise NotImplementedError()" in stub and "BEGIN SOLUTION" not in stub
        assert re.search(rf"^def {q.function}\(", stub, re.M)   # signature and docstring stay


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_and_solutions_are_absent_from_exercises(name):
    solution = (ROOT / "solutions" / name).read_text(encoding="utf-8")
    exercise = (ROOT / "exercises" / name).read_text(encoding="utf-8")
    for marker in ("BEGIN HIDDEN TESTS", "hidden=True", "strict=True", "BEGIN SOLUTION"):
        assert marker in solution          # so the next line tests something
        assert marker not in exercise
    # no solution line survives in any code cell of the exercise
    code = "\n".join(c.source for c in read("exercises", name).cells if c.cell_type == "code")
    for cell in read("solutions", name).cells:
        if nbgrader(cell).get("solution"):
            body = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            lines = [line.strip() for line in body.strip().splitlines()]
            assert lines
            for line in lines:
                assert line not in code, line


def test_committed_exercises_are_what_the_generator_makes():
    assert _make_exercises().main(["--check"]) == 0


def test_check_mode_notices_a_stale_exercise(tmp_path, capsys):
    mod = _make_exercises()
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    mod.EXERCISES = tmp_path / "exercises"
    assert mod.main(["--check"]) == 0
    stale = tmp_path / "exercises" / NAMES[0]
    stale.write_text(stale.read_text(encoding="utf-8").replace("not", "nor", 1), encoding="utf-8")
    assert mod.main(["--check"]) == 1
    assert f"out of date: exercises/{NAMES[0]}" in capsys.readouterr().err
    # writing mode repairs it, and a second generation writes the same bytes
    assert mod.main([]) == 0
    first = {p.name: p.read_bytes() for p in (tmp_path / "exercises").glob("*.ipynb")}
    assert mod.main(["--check"]) == 0
    assert first == {p.name: p.read_bytes() for p in (ROOT / "exercises").glob("*.ipynb")}


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes_every_check(name):
    nb = executed("solutions", name)
    cells = check_cells(nb)
    assert cells
    for cell in cells:
        lines = text_of(cell).splitlines()
        expected = 2 if nbgrader(cell).get("grade") else 1       # visible + hidden
        assert len(lines) == expected, (cell.source, lines)
        assert all(line.startswith("\u2713 ") for line in lines), lines
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


@pytest.mark.parametrize("name", NAMES)
def test_unsolved_exercise_runs_and_says_not_implemented(name):
    nb = executed("exercises", name)      # raises if any cell errors
    cells = check_cells(nb)
    assert cells
    for cell in cells:
        function = QUESTIONS[qid_of(cell)].function
        assert text_of(cell) == f"{function}: not implemented yet\n"
        assert [o.output_type for o in cell.outputs] == ["stream"]
    whole = "".join(text_of(c) for c in nb.cells if c.cell_type == "code")
    assert whole.count("not implemented yet") == len(cells)


@pytest.mark.parametrize("kind,name", [("solutions", "01_rms_and_ema.ipynb"),
                                       ("solutions", "04_momentum_adamw.ipynb"),
                                       ("exercises", "04_momentum_adamw.ipynb")])
def test_rerunning_checks_in_another_order_gives_the_same_output(kind, name):
    nb = read(kind, name)
    checks = check_cells(nb)
    rerun = [copy.deepcopy(c) for c in reversed(checks)] * 2
    for i, c in enumerate(rerun):
        c.id = f"rerun-{i}"
    nb.cells += rerun
    nb = execute(nb)
    originals = check_cells(nb)[: len(checks)]
    assert len({c.source for c in originals}) == len(originals)
    first_pass = {c.source: text_of(c) for c in originals}
    assert all(first_pass.values())
    for c in nb.cells[len(nb.cells) - len(rerun):]:
        assert text_of(c) == first_pass[c.source]


def test_a_planted_mistake_in_the_notebook_fails_visibly_and_in_the_hidden_tests():
    nb = read("solutions", "03_adam_step.ipynb")
    impl = next(c for c in nb.cells if nbgrader(c).get("grade_id") == "adam_step_impl")
    impl.source = impl.source.replace("v_hat = v_new / (1.0 - beta1**t)", "v_hat = v_new") \
                             .replace("s_hat = s_new / (1.0 - beta2**t)", "s_hat = s_new")
    assert "beta1**t" not in impl.source
    nb = execute(nb, allow_errors=True)
    check = next(c for c in nb.cells if nbgrader(c).get("grade_id") == "adam_step_check")
    lines = text_of(check).splitlines()
    assert len(lines) == 2 and all("bias correction is missing" in line for line in lines)
    errors = [o for o in check.outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "AssertionError"
    assert "bias correction is missing" in errors[0].evalue


def test_an_error_in_student_code_is_one_line_naming_the_line():
    nb = read("exercises", "02_rmsprop_step.ipynb")
    impl = next(c for c in nb.cells if nbgrader(c).get("grade_id") == "rmsprop_step_impl")
    impl.source = impl.source.replace("raise NotImplementedError()", "s_new = beta * s + (1 - beta) * g**2\n"
                                      "    return w - lr * g / np.sqrt(s_nwe), s_new")
    nb = execute(nb)
    check = next(c for c in nb.cells if nbgrader(c).get("grade_id") == "rmsprop_step_check")
    assert [o.output_type for o in check.outputs] == ["stream"]
    line = text_of(check)
    assert line.count("\n") == 1
    assert line.startswith("\u2717 rmsprop_step: raised NameError: name 's_nwe' is not defined (line 5: "
                           "return w - lr * g / np.sqrt(s_nwe), s_new)"), line


@pytest.mark.slow
def test_nbgrader_generate_assignment_makes_the_same_exercises(tmp_path):
    """An instructor with nbgrader gets exactly our exercises from solutions/ (no grader code involved)."""
    import os
    import subprocess
    import sys

    source = tmp_path / "source" / "ex"
    source.mkdir(parents=True)
    for p in SOLUTIONS:
        shutil.copy(p, source / p.name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "ex", "--force",
                    f"--CourseDirectory.root={tmp_path}"], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=300)
    for p in SOLUTIONS:
        released = (tmp_path / "release" / "ex" / p.name).read_bytes()
        assert released == (ROOT / "exercises" / p.name).read_bytes(), p.name
