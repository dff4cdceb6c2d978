"""Grading a class: `tools/course grade` (tools/grader) against `nbgrader autograde`, same notebooks, one run.

    .venv/bin/python benchmarks/bench_grading.py [--students 6] [--jobs N]

Builds a class of made-up honest submissions from exercises/ and solutions/
(6 students x every exercise notebook, the capstone included; each notebook
solved, left unsolved, or with a typical mistake in one or two answers),
then grades it, each run from a cold start in a fresh process:

* nbgrader 0.9.6: a course directory in a temporary folder (nbgrader_config.py,
  source/ from solutions/, `nbgrader generate_assignment`, the notebooks in
  submitted/<student>/exercises/), timed over `nbgrader autograde exercises`;
* tools/grader on the same submitted/ folder, every notebook in its sandbox,
  with --jobs (default: all cores), and again with --jobs 1;
* tools/grader with --jobs 1 and --no-sandbox: the difference to the sandboxed
  --jobs 1 run, divided by the notebooks, is the sandbox's cost per notebook
  (under load, noise swamps it); measured alone first, side by side: making and
  tearing down one notebook's sandbox with and without namespaces.

All use a 30 s cell time limit. Prints the wall times, the ratio (target:
the sandboxed grader >= 3x faster than nbgrader), whether the runs agree on
every question's points, and a README-ready table; then, untimed, grades one
dishonest submission (a wrong answer plus a cell that replaces numpy.allclose
and optlib.checks) with both. Timings depend on the machine's load: the
ratios come from runs side by side in one invocation.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from grader.release import load_releases  # noqa: E402
from grader.samples import make_submission, solution_sources  # noqa: E402

ASSIGNMENT = "exercises"
RELEASES = load_releases(ROOT / "exercises")
NOTEBOOKS = list(RELEASES)
ADAM = next(n for n, r in RELEASES.items() if "adam_step" in r.questions)
CELL_TIMEOUT = 30

# One typical mistake per answer cell (each is diagnosed by optlib.checks).
MISTAKES = {
    "rms_impl": "def rms(x):\n    return float(np.std(x))\n",
    "ema_debiased_impl": (
        "def ema_debiased(xs, beta):\n"
        "    out, a = np.empty_like(xs, dtype=float), 0.0\n"
        "    for t, x in enumerate(xs, start=1):\n"
        "        a = beta * a + (1 - beta) * x\n"
        "        out[t - 1] = a                      # no bias correction\n"
        "    return out\n"),
    "adam_step_impl": (
        "def adam_step(w, g, v, s, t, lr, beta1, beta2, eps):\n"
        "    v_new = beta1 * v + (1.0 - beta1) * g\n"
        "    s_new = beta2 * s + (1.0 - beta2) * g * g\n"
        "    w_new = w - lr * v_new / (np.sqrt(s_new + eps))   # eps inside, no correction\n"
        "    return w_new, v_new, s_new\n"),
    "rmsprop_step_impl": (
        "def rmsprop_step(w, g, s, lr, beta, eps):\n"
        "    s_new = beta * s + (1.0 - beta) * g * g\n"
        "    return w - lr * g / np.sqrt(s_new + eps), s_new   # eps inside the root\n"),
    "train_digits_impl": (
        "def train(X, y, epochs, lr, seed):\n"
        "    params = softmax_regression_init(X.shape[1], 10)\n"
        "    return params                                # forgot to train\n"),
    "momentum_step_impl": (
        "def momentum_step(w, g, v, lr, beta):\n"
        "    v_new = beta * v + (1 - beta) * g         # the notes' EMA, not torch's buffer\n"
        "    return w - lr * v_new, v_new\n"),
}


CHEAT_CELL = (
    "import numpy, optlib.checks\n"
    "numpy.allclose = lambda *a, **k: True\n"
    "optlib.checks.adam_step = lambda *a, **k: print('adam_step: all checks passed')\n")


def build_class(submitted: Path, students: int) -> dict:
    """submitted/<student>/exercises/<nb>.ipynb; returns {(student, nb): kind}."""
    kinds = {}
    for i in range(students):
        student = f"student{i:02d}"
        for j, name in enumerate(NOTEBOOKS):
            kind = ("solved", "unsolved", "mistaken")[(i + j) % 3]
            if kind == "mistaken":
                answers = solution_sources(name)
                wrong = [gid for gid in answers if gid in MISTAKES][: 1 + (i % 2)]
                nb = make_submission(name, replace={gid: MISTAKES[gid] for gid in wrong})
            else:
                nb = make_submission(name, solved=(kind == "solved"))
            path = submitted / student / ASSIGNMENT / f"{name}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
            kinds[student, name] = kind
    return kinds


def nbgrader_course(course: Path) -> dict:
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "solutions" / f"{name}.ipynb", course / "source" / ASSIGNMENT)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
        f"c.Execute.timeout = {CELL_TIMEOUT}\n"
        "c.Execute.interrupt_on_timeout = True\n")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    return env


def run(cmd, cwd, env, log: Path) -> float:
    t0 = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n" + log.read_text()[-3000:])
    return seconds


def nbgrader_scores(course: Path, kinds: dict) -> dict:
    from nbgrader.api import Gradebook
    releases = RELEASES
    scores = {}
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        for student, name in kinds:
            for qid in releases[name].questions:
                g = gb.find_grade(f"{qid}_check", name, ASSIGNMENT, student)
                scores[student, name, qid] = float(g.score)
    return scores


def our_scores(gradebook: Path) -> tuple[dict, dict]:
    """Per (student, notebook, question) points, from the per-notebook detail beside the gradebook."""
    csv_path = gradebook.with_name(gradebook.stem + "-by-notebook.csv")
    scores, statuses = {}, {}
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            if not row["notebook"]:
                continue                    # the points-possible row
            statuses[row["student"], row["notebook"]] = row["status"]
            for key, value in row.items():
                if key not in ("student", "id", "notebook", "file", "total", "max", "status", "message") and value:
                    scores[row["student"], row["notebook"], key] = float(value)
    return scores, statuses


def sandbox_cost(rounds: int = 25) -> tuple[float, float]:
    """Median seconds to make and tear down one notebook's sandbox, and the same
    without namespaces (zygote.py's probe: the box, its init, no kernel), side by
    side: two zygotes, alternating."""
    import statistics
    from grader import sandbox
    zygotes = {}
    for mode in (True, False):
        zygotes[mode] = sandbox.Zygote(sandbox.make_spool(), sandbox=mode, warm=True).wait_ready()
    times = {True: [], False: []}
    try:
        for _ in range(rounds):
            for mode, z in zygotes.items():
                t0 = time.perf_counter()
                sandbox.probe(z, sandbox.Limits())
                times[mode].append(time.perf_counter() - t0)
    finally:
        for z in zygotes.values():
            z.close()
            shutil.rmtree(z.spool, ignore_errors=True)
    return statistics.median(times[True]), statistics.median(times[False])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=6)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--sandbox-cost-only", action="store_true",
                    help="only measure the sandbox's set-up and tear-down per notebook")
    a = ap.parse_args()
    boxed, bare = sandbox_cost()
    print(f"one notebook's sandbox, made and torn down: {boxed * 1000:.0f} ms "
          f"(without namespaces {bare * 1000:.0f} ms; median of 25 each, alternating; "
          f"load average {os.getloadavg()[0]:.1f})")
    if a.sandbox_cost_only:
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course = Path(tmp) / "course"
        env = nbgrader_course(course)
        kinds = build_class(course / "submitted", a.students)
        n = len(kinds)
        counts = {k: list(kinds.values()).count(k) for k in ("solved", "unsolved", "mistaken")}
        print(f"{n} notebooks ({a.students} students x {len(NOTEBOOKS)}): "
              + ", ".join(f"{v} {k}" for k, v in counts.items())
              + f"; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        nbg = shutil.which("nbgrader", path=env["PATH"])
        run([nbg, "generate_assignment", ASSIGNMENT, "--force"], course, env, Path(tmp) / "generate.log")

        t_nbgrader = run([nbg, "autograde", ASSIGNMENT], course, env, Path(tmp) / "autograde.log")
        print(f"nbgrader autograde:          {t_nbgrader:6.1f} s")
        genv = dict(env, PYTHONPATH=str(ROOT / "tools"))

        def ours(name, *flags):
            out = Path(tmp) / f"{name}.csv"
            t = run([sys.executable, "-m", "grader", str(course / "submitted"), "-o", str(out),
                     "--cell-timeout", str(CELL_TIMEOUT), "-q", *flags], ROOT, genv, Path(tmp) / f"{name}.log")
            print(f"tools/course grade {' '.join(flags):<10} {t:6.1f} s")
            return t, out

        t_ours, out = ours("sandbox", "--jobs", str(a.jobs))
        t_one, out1 = ours("sandbox1", "--jobs", "1")
        t_bare, out_bare = ours("bare1", "--jobs", "1", "--no-sandbox")

        theirs = nbgrader_scores(course, kinds)
        mine, statuses = our_scores(out)
        disagree = [(k, mine.get(k), v) for k, v in sorted(theirs.items()) if mine.get(k) != v]
        for other, label in ((out1, "--jobs 1"), (out_bare, "--no-sandbox")):
            if our_scores(other) != (mine, statuses):
                disagree.append((f"{label} gives another gradebook", None, None))
        not_ok = {k: s for k, s in statuses.items() if s != "ok"}
        ratio = t_nbgrader / t_ours
        cost = (t_one - t_bare) / n
        print(f"ratio: {ratio:.1f}x faster than nbgrader with the sandbox (target >= 3x); "
              f"sandbox cost {cost * 1000:.0f} ms per notebook (--jobs 1, with and without)")
        print(f"scores: {len(theirs) - len(disagree)}/{len(theirs)} questions agree"
              + ("" if not disagree else f"; differ: {disagree[:5]}")
              + ("" if not not_ok else f"; statuses not ok: {not_ok}"))
        print()
        print(f"| grader ({n} notebooks, {os.cpu_count()} cores, load {os.getloadavg()[0]:.0f}) "
              "| wall time | per notebook | scores |")
        print("|---|---|---|---|")
        print(f"| `nbgrader autograde` (nbgrader 0.9.6) | {t_nbgrader:.1f} s | {t_nbgrader / n:.2f} s | reference |")
        agree = "agree" if not disagree else f"{len(disagree)} differ"
        print(f"| `tools/course grade` (sandbox, `--jobs {a.jobs}`) | {t_ours:.1f} s | {t_ours / n:.2f} s | "
              f"{agree} ({len(theirs)} questions) |")
        print(f"| `tools/course grade` (sandbox, `--jobs 1`) | {t_one:.1f} s | {t_one / n:.2f} s | same |")
        print(f"| `tools/course grade --no-sandbox` (`--jobs 1`) | {t_bare:.1f} s | {t_bare / n:.2f} s | same |")
        print(f"| speed-up over nbgrader (`--jobs {a.jobs}` / `--jobs 1`) | {ratio:.1f}x / {t_nbgrader / t_one:.1f}x | | |")
        print(f"| sandbox cost per notebook: `--jobs 1` runs / set-up alone | {cost * 1000:.0f} ms / "
              f"{(boxed - bare) * 1000:.0f} ms | | |")

        # Not timed: one dishonest submission, a wrong adam_step plus a cell that
        # replaces numpy.allclose and optlib.checks in the kernel.
        cheat = course / "submitted" / "cheater" / ASSIGNMENT / f"{ADAM}.ipynb"
        cheat.parent.mkdir(parents=True)
        nbformat.write(make_submission(ADAM, replace={"adam_step_impl": MISTAKES["adam_step_impl"]},
                                       after={"adam_step_impl": CHEAT_CELL}), cheat)
        run([nbg, "autograde", ASSIGNMENT, "--student", "cheater"], course, env, Path(tmp) / "cheat.log")
        only = Path(tmp) / "cheater-only"
        shutil.copytree(cheat.parents[1], only / "cheater")
        run([sys.executable, "-m", "grader", str(only), "-o", str(only / "g.csv"), "-q"],
            ROOT, genv, Path(tmp) / "cheat-ours.log")
        from nbgrader.api import Gradebook
        with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
            nbg_cheat = gb.find_grade("adam_step_check", ADAM, ASSIGNMENT, "cheater").score
        ours_cheat = our_scores(only / "g.csv")[0][("cheater", ADAM, "adam_step")]
        full = RELEASES[ADAM].points["adam_step"]
        print(f"\nwrong adam_step + a cell replacing numpy.allclose and optlib.checks: "
              f"nbgrader {nbg_cheat:g}/{full:g}, tools/course grade {ours_cheat:g}/{full:g}")
        return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
