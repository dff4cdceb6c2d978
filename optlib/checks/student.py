"""Running a student's function on the cases, and the one line a check shows.

``run(qid, fn)`` calls ``fn`` on a deep copy of each case (so checks give the
same answer in any order and cannot be changed by a function that scribbles
on its inputs), turns any exception in the student's code into one line that
names the student's line, and asks the question to judge the answers.

``check(fn)`` (one per question, ``checks.<qid>``) prints the line of a pass
and raises :class:`CheckFailed` on anything else. IPython shows an exception
that has ``_render_traceback_`` as the lines that method returns: a failed
check ends its cell with its one line, no traceback, and nbgrader's Validate
and autograde see an error in the cell, as for a failed ``assert``.
"""
from __future__ import annotations

import copy
import linecache
import sys
import traceback

import numpy as np

from .compare import describe_value
from .question import NOT_IMPLEMENTED
from .registry import QUESTIONS, REFERENCE_FUNCTIONS

__all__ = ["PASS", "FAIL", "CheckFailed", "call", "run", "make_check"]

PASS, FAIL = "\u2713", "\u2717"


class CheckFailed(AssertionError):
    """A check that did not pass. In IPython and Jupyter it shows as its one line."""

    def _render_traceback_(self):
        return [str(self)]


# Known error texts in a student's code, with a hint; ``line`` must contain ``where`` (if given).
_HINTS = [
    ("unsupported operand type(s) for ^", None, "in Python ^ is bitwise xor; a power is **"),
    ("only integer scalar arrays can be converted to a scalar index", "max(",
     "np.max(a, b) reads b as an axis: the elementwise maximum is np.maximum(a, b)"),
    ("only integer scalar arrays can be converted to a scalar index", "min(",
     "np.min(a, b) reads b as an axis: the elementwise minimum is np.minimum(a, b)"),
    ("truth value of an array with more than one element is ambiguous", None,
     "Python's max, min, `if` and `and` need one True/False; for arrays use np.maximum, "
     "np.minimum or np.where"),
    ("float division by zero", None, "a division by zero: is t counted from 1?"),
]


def _student_frame(fn, exc):
    """(line number, source) of the deepest frame of the student's own code in ``exc``'s traceback."""
    code = getattr(fn, "__code__", None)
    filename = code.co_filename if code is not None else None
    where = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if filename is not None and frame.f_code.co_filename == filename:
            where = (frame.f_code.co_filename, lineno)
    if where is None:
        return None, ""
    return where[1], linecache.getline(*where).strip()


def _is_call_error(exc):
    """Whether a TypeError was raised by the call itself (wrong parameter names or count)."""
    tb = exc.__traceback__
    depth = 0
    while tb is not None:
        depth += 1
        tb = tb.tb_next
    return depth <= 1


def _error_line(question, fn, case, exc):
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    lineno, src = _student_frame(fn, exc)
    if lineno is None and isinstance(exc, TypeError) and _is_call_error(exc):
        return (f"could not be called ({what}): the function must be defined as "
                f"def {question.function}({', '.join(case)})")
    where = "" if lineno is None else (f" (line {lineno}: {src})" if src else f" (line {lineno})")
    hint = next((h for pattern, need, h in _HINTS
                 if pattern in text and (need is None or need in src)), None)
    return f"raised {what}{where}" + (f"; {hint}" if hint else "")


def call(question, fn, case):
    """Call ``fn`` on a deep copy of ``case``: (output, the copy afterwards, one-line error or None)."""
    kwargs = copy.deepcopy(case)
    try:
        with np.errstate(all="ignore"):
            out = fn(**kwargs)
    except NotImplementedError:
        return None, kwargs, NOT_IMPLEMENTED
    except Exception as exc:  # noqa: BLE001 - any error in student code becomes one line
        return None, kwargs, _error_line(question, fn, case, exc)
    return out, kwargs, None


def run(qid, fn, hidden=False):
    """Check ``fn`` against question ``qid``: ``(ok, line)``; ``line`` is what the check shows."""
    q = QUESTIONS[qid]
    name = q.function
    if not callable(fn):
        return False, f"{FAIL} {name}: expected a function, got {describe_value(fn)}"
    for ref in REFERENCE_FUNCTIONS.get(qid, ()):
        if fn is ref:
            return False, f"{FAIL} {name}: that is optlib's own {ref.__name__}; write your own"
    cases = q.cases(hidden)
    outputs, afters, errors = [], [], []
    for case in cases:
        out, after, err = call(q, fn, case)
        outputs.append(out)
        afters.append(after)
        errors.append(err)
        if err:                         # the first error is what the student sees: stop calling
            break
    n = len(cases)
    verdict = q.judge(cases[:len(outputs)], outputs, afters=afters, errors=errors)
    if verdict.message == NOT_IMPLEMENTED:
        return False, f"{name}: {NOT_IMPLEMENTED}"
    if not verdict.ok:
        where = "" if verdict.case is None else f" [check {verdict.case + 1}/{n}: {q.describe(cases[verdict.case])}]"
        return False, f"{FAIL} {name}: {verdict.message}{where}"
    try:
        detail = q.summary(outputs)
    except Exception:  # noqa: BLE001 - the pass stands; the extra words are optional
        detail = None
    detail = f" ({detail})" if detail else ""
    return True, f"{PASS} {name}: {n} check{'s' if n != 1 else ''} passed{detail}"


def make_check(qid):
    """The student-facing check of question ``qid`` (``checks.<qid>(fn)``)."""
    def check(fn, hidden=False, strict=True):
        ok, line = run(qid, fn, hidden=hidden)
        if ok or not strict:
            sys.stdout.write(line + "\n")       # one write: one stream message
            sys.stdout.flush()
            return None
        raise CheckFailed(line)

    q = QUESTIONS[qid]
    check.__name__ = check.__qualname__ = qid
    check.__doc__ = (f"Check your `{q.function}`: prints one line when it passes; otherwise raises "
                     f"CheckFailed, shown as one line saying what looks wrong.\n\n"
                     f"``hidden=True`` runs more cases; ``strict=False`` prints the failure instead "
                     f"of raising it.")
    return check
