"""Auto-checks for the course exercises (``exercises/*.ipynb``).

A student writes a function in an exercise notebook and runs its check cell::

    from optlib import checks
    checks.adam_step(adam_step)     # a pass prints one line; a failure is one line (an error)

Each check calls the student's function on a few fixed cases (fresh copies of
the inputs every time, so checks give the same answer in any order), compares
the results with a reference, and when they differ, with known *mistaken*
implementations (eps inside the square root, bias correction missing, |g|
where g^2 belongs, ...). A mistake is named only when it explains the answer
to every case. Messages never print the expected numbers. A failed check
raises :class:`CheckFailed`, which IPython shows as its one line (no
traceback), so nbgrader's Validate and autograde see the failure;
``checks.<qid>(fn, hidden=True)`` runs more cases (the notebooks' hidden
tests); ``strict=False`` prints a failure instead of raising it.

The grader uses the same objects without the printing:

``QUESTIONS[qid]`` is a :class:`Question` with

* ``qid``, ``function`` (the name the student defines), ``points``;
* ``cases(hidden)`` -> list of keyword-argument dicts for the student's function
  (``hidden=True``: the visible cases first, then more);
* ``reference(**case)`` -> the expected output;
* ``judge(cases, outputs, afters=, errors=, expected=)`` -> :class:`Verdict`
  ``(ok, message, case)``: all the answers judged together (a mistake is
  named only when it explains every case);
* ``compare(got, expected, case)`` -> ``(ok, message)`` for one case alone;
* ``inputs_changed(before, after)`` -> message or ``None``;
* ``describe(case)`` -> a short label of the case.

``REFERENCE_FUNCTIONS[qid]`` lists the optlib callables a student must not call
instead of writing their own. The package's modules: ``compare`` (values),
``question`` (the judgement), ``adaptive`` (the RMSProp/Adam family and its
table of mistakes), ``student`` (running student code, the one-line output),
``registry``, and one ``exNN_*`` module per exercise notebook.
"""
from __future__ import annotations

from .question import Mistake, Question, Verdict
from .registry import EXERCISES, QUESTIONS, REFERENCE_FUNCTIONS
from .student import FAIL, PASS, CheckFailed, make_check, run

__all__ = ["Question", "Mistake", "Verdict", "QUESTIONS", "REFERENCE_FUNCTIONS", "EXERCISES",
           "CheckFailed", "run", "PASS", "FAIL", *QUESTIONS]

CAPSTONE_ACCURACY = EXERCISES["06_capstone_digits"].ACCURACY

# The student-facing checks: checks.gd_step(gd_step), checks.adam_step(adam_step), ...
for _qid in QUESTIONS:
    globals()[_qid] = make_check(_qid)
del _qid
