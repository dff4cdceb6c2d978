"""The exercise notebooks: solutions pass, unsolved exercises fail in one line each, nothing hidden leaks.

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

from optlib.checks import EXERCISES, QUESTIONS

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


def shown(cell):
    """What the cell shows: its printed text and its errors' traceback lines, in order (a kernel may
    split one print into several stream messages)."""
    text = ""
    for o in cell.outputs:
        if o.output_type == "stream":
            text += o.text
        elif o.output_type == "error":
            text += "".join(line + "\n" for line in o.traceback)
    return text.splitlines()


def errors_of(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


def nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def check_cells(nb):
    """Cells that run a check: the graded ones and read-only ones that call checks.<qid>(...)."""
    return [c for c in nb.cells if c.cell_type == "code"
            and (nbgrader(c).get("grade") or re.match(r"checks\.\w+\(", c.source))]


def qid_of(cell):
    return re.match(r"checks\.(\w+)\((\w+)\)", cell.source).group(1)


def test_one_exercise_per_lecture_named_by_it():
    assert NAMES == ["01_gd_step.ipynb", "02_momentum_step.ipynb", "03_rms_and_ema.ipynb",
                     "04_rmsprop_step.ipynb", "05_adam_step.ipynb", "06_capstone_digits.ipynb",
                     "07_amsgrad_adamw.ipynb", "09_port_recipe.ipynb"]
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")) == NAMES
    assert [n.removesuffix(".ipynb") for n in NAMES] == list(EXERCISES)
    for name in NAMES:      # each notebook asks exactly the questions of its checks module
        asked = [nbgrader(c)["grade_id"].removesuffix("_check") for c in read("solutions", name).cells
                 if nbgrader(c).get("grade")]
        assert asked == [q.qid for q in EXERCISES[name.removesuffix(".ipynb")].QUESTIONS]


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
                               "grade_id": f"{name.removesuffix('.ipynb')}_setup", "schema_version": 3}
    ex_cells = {nbgrader(c).get("grade_id"): c for c in ex.cells if nbgrader(c)}
    graded = [c for c in nb.cells if nbgrader(c).get("grade")]
    assert graded
    for cell in graded:
        qid = nbgrader(cell)["grade_id"].removesuffix("_check")
        q = QUESTIONS[qid]
        assert cell.source == (f"checks.{qid}({q.function})\n"
                               f"### BEGIN HIDDEN TESTS\n"
                               f"checks.{qid}({q.function}, hidden=True)\n"
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
    for marker in ("BEGIN HIDDEN TESTS", "hidden=True", "BEGIN SOLUTION"):
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
def test_unsolved_exercise_fails_each_check_in_one_line(name):
    """Each check cell of an unsolved exercise ends in one error line, "<function>: not implemented yet"
    (no traceback), so that nbgrader's Validate sees it; no other cell fails."""
    nb = execute(read("exercises", name), allow_errors=True)
    cells = check_cells(nb)
    assert cells
    for cell in cells:
        function = QUESTIONS[qid_of(cell)].function
        errors = errors_of(cell)
        assert len(errors) == 1 and errors[0].ename == "CheckFailed", cell.outputs
        assert shown(cell) == [f"{function}: not implemented yet"]
    others = [c for c in nb.cells if c.cell_type == "code" and c not in cells and errors_of(c)]
    assert others == []


@pytest.mark.parametrize("kind,name", [("solutions", "03_rms_and_ema.ipynb"),
                                       ("solutions", "07_amsgrad_adamw.ipynb"),
                                       ("exercises", "02_momentum_step.ipynb")])
def test_rerunning_checks_in_another_order_gives_the_same_output(kind, name):
    nb = read(kind, name)
    checks = check_cells(nb)
    rerun = [copy.deepcopy(c) for c in reversed(checks)] * 2
    for i, c in enumerate(rerun):
        c.id = f"rerun-{i}"
    nb.cells += rerun
    nb = execute(nb, allow_errors=True)
    originals = check_cells(nb)[: len(checks)]
    assert len({c.source for c in originals}) == len(originals)
    first_pass = {c.source: shown(c) for c in originals}
    assert all(first_pass.values())
    for c in nb.cells[len(nb.cells) - len(rerun):]:
        assert shown(c) == first_pass[c.source]


def planted(kind, name, gid, old, new):
    nb = read(kind, name)
    impl = next(c for c in nb.cells if nbgrader(c).get("grade_id") == gid)
    assert old in impl.source
    impl.source = impl.source.replace(old, new)
    return nb


def test_a_planted_mistake_fails_its_cell_with_one_line():
    nb = planted("solutions", "05_adam_step.ipynb", "adam_step_impl",
                 "    v_hat = v_new / (1.0 - beta1**t)\n    s_hat = s_new / (1.0 - beta2**t)\n",
                 "    v_hat, s_hat = v_new, s_new\n")
    nb = execute(nb, allow_errors=True)
    check = next(c for c in nb.cells if nbgrader(c).get("grade_id") == "adam_step_check")
    lines = shown(check)
    assert len(lines) == 1 and lines[0].startswith("\u2717 adam_step: it looks like the bias correction is missing")
    assert [o.output_type for o in check.outputs] == ["error"] and check.outputs[0].ename == "CheckFailed"


def test_the_capstone_grades_its_pasted_adam_step():
    """A wrong Adam (eps inside the root) still trains to the target; its own question fails."""
    nb = planted("solutions", "06_capstone_digits.ipynb", "capstone_adam_step_impl",
                 "(np.sqrt(s_hat) + eps)", "np.sqrt(s_hat + eps)")
    nb = execute(nb, allow_errors=True)
    by_id = {nbgrader(c).get("grade_id"): c for c in nb.cells}
    assert shown(by_id["capstone_adam_step_check"])[0].startswith(
        "\u2717 adam_step: it looks like eps is inside the square root")
    train = shown(by_id["train_digits_check"])
    assert len(train) == 2 and all(line.startswith("\u2713 train: ") for line in train), train


def test_an_error_in_student_code_is_one_line_naming_the_line():
    nb = planted("exercises", "04_rmsprop_step.ipynb", "rmsprop_step_impl", "raise NotImplementedError()",
                 "s_new = beta * s + (1 - beta) * g**2\n    return w - lr * g / np.sqrt(s_nwe), s_new")
    nb = execute(nb, allow_errors=True)
    check = next(c for c in nb.cells if nbgrader(c).get("grade_id") == "rmsprop_step_check")
    assert [o.output_type for o in check.outputs] == ["error"]
    assert shown(check) == ["\u2717 rmsprop_step: raised NameError: name 's_nwe' is not defined (line 5: "
                            "return w - lr * g / np.sqrt(s_nwe), s_new) [check 1/3: lr=0.01, beta=0.99, "
                            "eps=1e-08, shape (3,)]"]


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


def solved(name, replace=None):
    """The exercise notebook as a student who solved it hands it in (their answers in the stubs)."""
    nb = read("exercises", name)
    answers = {nbgrader(c)["grade_id"]: c.source for c in read("solutions", name).cells
               if nbgrader(c).get("solution")}
    for cell in nb.cells:
        gid = nbgrader(cell).get("grade_id")
        if gid in answers:
            cell.source = re.sub(r"\n *### (BEGIN|END) SOLUTION", "", answers[gid])
            for old, new in (replace or {}).get(gid, []):
                assert old in cell.source
                cell.source = cell.source.replace(old, new)
    return nb


@pytest.mark.slow
def test_nbgrader_validate_agrees_with_the_checks(tmp_path):
    """nbgrader's own Validate: a solved notebook passes; an unsolved one and a wrong one fail, and the
    error it reports for each check cell is the check's one line (no traceback)."""
    import os
    import subprocess
    import sys

    name = "05_adam_step.ipynb"
    wrong = {"adam_step_impl": [("v_new / (1.0 - beta1**t)", "v_new"), ("s_new / (1.0 - beta2**t)", "s_new")]}
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    reports = {}
    for kind, nb in (("solved", solved(name)), ("unsolved", read("exercises", name)),
                     ("wrong", solved(name, wrong))):
        (tmp_path / kind).mkdir()
        nbformat.write(nb, tmp_path / kind / name)
        run = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(tmp_path / kind / name)],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        reports[kind] = run.stdout + run.stderr
    assert "Success! Your notebook passes all the tests." in reports["solved"], reports["solved"]
    assert "VALIDATION FAILED ON 1 CELL(S)!" in reports["unsolved"], reports["unsolved"]
    assert "    adam_step: not implemented yet\n" in reports["unsolved"]
    assert "VALIDATION FAILED ON 1 CELL(S)!" in reports["wrong"], reports["wrong"]
    assert "    \u2717 adam_step: it looks like the bias correction is missing" in reports["wrong"]
    for kind in ("unsolved", "wrong"):
        assert "Traceback" not in reports[kind] and "CheckFailed" not in reports[kind], reports[kind]
