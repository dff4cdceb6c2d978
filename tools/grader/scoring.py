"""Cases and scoring: what each question is asked, and how its answers are judged.

The cases come from ``optlib.checks`` (public then hidden, as the check cell
runs them). The grader process computes the expected outputs itself
(``Question.reference``) and judges what the kernel sent back
(``Question.compare``, then ``Question.inputs_changed``): a question scores its
points when every case passes, else 0, with the first failing case's
diagnosis in the message. So a submission that replaces ``numpy.allclose`` or
``optlib.checks`` in its kernel changes nothing.
"""
from __future__ import annotations

import base64
import copy
import importlib
import inspect
import math
import os

from .gradebook import QuestionResult, Row, clip

_SPECS: dict = {}
_REFERENCES: dict = {}


def checks():
    """The question registry: ``QUESTIONS``, ``REFERENCE_FUNCTIONS``."""
    return importlib.import_module("optlib.checks")


def qualified_name(obj) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def question_spec(qid: str) -> dict:
    """What the kernel needs for question qid: the function's name, the cases
    (the public ones first: ``cases(hidden=True)`` repeats them, then adds the
    hidden ones), the inputs that must not change, and the optlib callables it
    must not call."""
    if qid not in _SPECS:
        c = checks()
        q = c.QUESTIONS[qid]
        public, hidden = list(q.cases(hidden=False)), list(q.cases(hidden=True))
        if not (len(hidden) >= len(public) and all(_same(a, b) for a, b in zip(public, hidden))):
            hidden = public + hidden                  # the hidden cases did not repeat the public ones
        _SPECS[qid] = {"function": q.function, "cases": hidden, "n_public": len(public),
                       "forbidden": [qualified_name(f) for f in c.REFERENCE_FUNCTIONS.get(qid, [])],
                       "inputs": list(getattr(q, "inputs", ()))}
    return _SPECS[qid]


def _same(a: dict, b: dict) -> bool:
    import numpy as np
    try:
        return a.keys() == b.keys() and all(
            type(a[k]) is type(b[k]) and (np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k])
            for k in a)
    except Exception:
        return False


def kernel_inputs(qids) -> dict:
    """The pickle the grader's code in the kernel reads (in_kernel.setup)."""
    module = checks()
    path = inspect.getfile(module)
    is_package = os.path.basename(path) == "__init__.py"
    return {"questions": {q: question_spec(q) for q in qids},
            "checks_file": path,
            "checks_dir": os.path.dirname(path) + os.sep if is_package else path + os.sep}


def reference(qid: str, i: int, case: dict):
    """Question.reference for case i of qid, computed once per process."""
    key = (qid, i)
    if key not in _REFERENCES:
        _REFERENCES[key] = checks().QUESTIONS[qid].reference(**copy.deepcopy(case))
    return copy.deepcopy(_REFERENCES[key])


def warm_up(qids) -> None:
    """Compute every case and expected output once (before the workers fork)."""
    for qid in qids:
        for i, case in enumerate(question_spec(qid)["cases"]):
            try:
                reference(qid, i, case)
            except Exception:
                pass


# ---------------------------------------------------------------------------
# What the kernel sent
# ---------------------------------------------------------------------------
class Unsupported:
    """A returned value the kernel could not send (e.g. a custom object)."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"<unsupported {self.what}>"


def decode(x, depth=0):
    """Validate and rebuild a value sent by the kernel (JSON; arrays as base64)."""
    import numpy as np
    if depth > 20:
        raise ValueError("nested too deep")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, list):
        return [decode(v, depth + 1) for v in x]
    if isinstance(x, dict):
        if "__ndarray__" in x or "__scalar__" in x:
            dtype = np.dtype(str(x.get("__ndarray__", x.get("__scalar__"))))
            if dtype.kind not in "biufc":
                raise ValueError(f"dtype {dtype}")
            buf = base64.b64decode(str(x["data"]), validate=True)
            if "__scalar__" in x:
                if len(buf) != dtype.itemsize:
                    raise ValueError("bad scalar")
                return np.frombuffer(buf, dtype=dtype)[0]
            shape = tuple(int(s) for s in x["shape"])
            if math.prod(shape) * dtype.itemsize != len(buf) or any(s < 0 for s in shape):
                raise ValueError("bad array")
            return np.frombuffer(buf, dtype=dtype).reshape(shape).copy()
        if "__tuple__" in x:
            return tuple(decode(v, depth + 1) for v in x["__tuple__"])
        if "__dict__" in x:
            return {str(k): decode(v, depth + 1) for k, v in x["__dict__"]}
        if "__unsupported__" in x:
            return Unsupported(str(x["__unsupported__"])[:100])
    raise ValueError(f"unexpected {type(x).__name__}")


def describe(question, case) -> str:
    try:
        return question.describe(case)
    except Exception:
        return "?"


def score_question(qid: str, points: float, sent, row: Row) -> None:
    """Judge what the kernel sent for qid (None: nothing) and record it on row."""
    question = checks().QUESTIONS[qid]
    spec = question_spec(qid)
    cases, n_public = spec["cases"], spec["n_public"]
    row.points[qid] = 0.0
    result = row.results[qid] = QuestionResult(0.0, points, n_public=n_public)

    def fail(message: str, i: int | None = None, status: str | None = None) -> None:
        result.message = message
        if i is not None:
            result.case, result.public, result.described = i + 1, i < n_public, describe(question, cases[i])
            message += f" [case {i + 1}/{len(cases)}: {result.described}]"
        if status:
            row.flag(status, f"{qid}: {message}")
        else:
            row.issues.append(f"{qid}: {message}")

    if sent is None:
        result.message = "no result from the kernel"
        if row.status in ("ok", "error", "tampered", "cells missing"):
            row.flag("error", f"{qid}: no result from the kernel")
        return
    try:
        results = sent["results"]
        defined = bool(sent["defined"])
        if not isinstance(results, list):
            raise ValueError("results is not a list")
    except Exception as e:
        return fail(f"unreadable result from the kernel ({clip(e, 60)})", status="tampered")
    if not defined:
        return fail(f"{question.function} is not defined", status="error")
    if len(results) != len(cases):
        return fail(f"{len(results)} results for {len(cases)} cases", status="tampered")
    calls = list(dict.fromkeys(str(c) for r in results if isinstance(r, dict) for c in (r.get("calls") or [])))
    if calls:
        return fail(clip(f"calls {calls[0]}", 100), status="tampered")
    for i, (case, res) in enumerate(zip(cases, results)):
        if not isinstance(res, dict):
            return fail("unreadable result from the kernel", status="tampered")
        if "error" in res:
            error = clip(res["error"])
            if error == "not implemented yet":
                return fail(error)
            return fail(error, i, status="memory limit" if error.startswith("raised MemoryError") else None)
        try:
            got = decode(res.get("value"))
            odd = [x for x in (got if isinstance(got, (tuple, list)) else [got]) if isinstance(x, Unsupported)]
            if odd:
                return fail(f"{question.function} returned {odd[0].what}, not numbers or arrays", i)
            ok, message = question.compare(got, reference(qid, i, case), copy.deepcopy(case))
            if ok:
                after = decode(res.get("after"))
                changed = question.inputs_changed(case, after) if isinstance(after, dict) else "inputs not sent back"
                ok, message = changed is None, changed
        except Exception as e:
            ok, message = False, f"wrong result ({type(e).__name__}: {clip(e, 80)})"
        if not ok:
            return fail(" ".join(str(message).split()), i)
    row.points[qid] = result.points = points
