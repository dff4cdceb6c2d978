"""Auto-checks for the course exercises (``exercises/*.ipynb``).

A student writes a function in an exercise notebook and runs its check cell::

    from optlib import checks
    checks.adam_step(adam_step)          # prints one line: a pass, or what looks wrong

Each check calls the student's function on a few fixed cases (fresh copies of
the inputs every time, so checks give the same answer in any order), compares
the result with a reference implementation, and when they differ, compares it
with known *mistaken* implementations (eps inside the square root, bias
correction missing, t off by one, ...). The first mistake whose output the
student's function reproduces is named. Messages describe the mistake; they
never print the expected numbers.

``checks.<qid>(fn, hidden=True, strict=True)`` runs more cases (other shapes,
float32, edge values) and raises ``AssertionError`` on failure: the hidden
tests of the nbgrader version of the notebooks.

The grader (``tools/grade.py``) uses the same objects without the printing:

``QUESTIONS[qid]`` is a :class:`Question` with

* ``qid``, ``function`` (the name the student defines), ``points``;
* ``cases(hidden)`` -> list of keyword-argument dicts for the student's function;
* ``reference(**case)`` -> the expected output;
* ``compare(got, expected, case)`` -> ``(ok, message)``, for outputs already
  converted to numpy (for the capstone it computes the test accuracy itself);
* ``inputs_changed(before, after)`` -> message or ``None``: whether the
  function modified its inputs in place (``before``: the case, ``after``: the
  arrays as the function left them).

``REFERENCE_FUNCTIONS[qid]`` lists the optlib callables a student must not call
instead of writing their own.
"""
from __future__ import annotations

import copy
import itertools
import linecache
import math
import sys
import traceback

import numpy as np

from . import functional as _F
from . import models as _models
from . import optimizers as _opt

__all__ = ["Question", "QUESTIONS", "REFERENCE_FUNCTIONS", "run",
           "rms", "ema_debiased", "rmsprop_step", "adam_step", "momentum_step", "adamw_step",
           "train_digits"]

PASS, FAIL = "\u2713", "\u2717"


# --------------------------------------------------------------------------
# Comparing arrays
# --------------------------------------------------------------------------
def _tolerance(dtype):
    """(rtol, atol factor) for outputs of ``dtype``: tight in float64, ~1e-5 in float32."""
    if np.dtype(dtype) == np.float32:
        return 2e-5, 2e-6
    return 1e-9, 1e-12


def _close(got, expected, dtype=np.float64):
    """Whether two arrays agree (NaN where both are NaN counts as agreeing)."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return False
    rtol, afac = _tolerance(dtype)
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    return bool(np.allclose(got, expected, rtol=rtol, atol=afac * scale, equal_nan=True))


def _as_array(x):
    """``x`` as a float ndarray, or None if it is not numeric."""
    if x is None:
        return None
    try:
        a = np.asarray(x)
    except Exception:  # noqa: BLE001 - anything that numpy cannot take is "not numeric"
        return None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        return None
    return a


def _describe_value(x):
    if x is None:
        return "None"
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"a {type(x).__name__}"


# --------------------------------------------------------------------------
# Mistakes: a mistaken implementation and the sentence that names it
# --------------------------------------------------------------------------
class Mistake:
    """A known wrong variant: ``flags`` are keyword switches of the question's model function."""

    def __init__(self, name, message, **flags):
        self.name = name
        self.message = message
        self.flags = flags

    def __repr__(self):
        return f"Mistake({self.name!r})"


def _pairs(mistakes):
    """All pairs of mistakes that switch different flags (a student can make two)."""
    out = []
    for a, b in itertools.combinations(mistakes, 2):
        if set(a.flags) & set(b.flags):
            continue
        out.append(Mistake(f"{a.name}+{b.name}", f"{a.message}; and also {b.message}",
                           **a.flags, **b.flags))
    return out


# --------------------------------------------------------------------------
# Questions
# --------------------------------------------------------------------------
class Question:
    """One exercise question: its cases, its reference and how to judge an answer.

    ``model(**case, **flags)`` computes the correct output with no flags and a
    known mistake with some; outputs are compared in float64 and cast to the
    input's dtype. ``outputs`` names the returned values (a tuple when more
    than one). ``inputs`` names the array arguments that must not be modified.
    """

    def __init__(self, qid, function, points, *, model, make_cases, outputs, inputs=(),
                 mistakes=(), step_of=None, check_dtype=True):
        self.qid = qid
        self.function = function
        self.points = points
        self._model = model
        self._make_cases = make_cases
        self.outputs = tuple(outputs)
        self.inputs = tuple(inputs)
        self.mistakes = list(mistakes)
        self._pair_mistakes = _pairs(self.mistakes)
        self._step_of = step_of  # (input name, output index): compare step sizes w - w_new
        self.check_dtype = check_dtype  # float32 in must give float32 out

    def __repr__(self):
        return f"Question({self.qid!r}, function={self.function!r}, points={self.points})"

    # -- the interface the grader uses ------------------------------------
    def cases(self, hidden=False):
        """Keyword arguments for each check: fresh arrays on every call, always the same values."""
        return self._make_cases(bool(hidden))

    def reference(self, **case):
        return self._evaluate(case)

    def compare(self, got, expected, case):
        """``(True, "")`` when ``got`` is right for ``case``, else ``(False, diagnosis)``."""
        return self._compare(got, expected, case, mistakes=None)

    def inputs_changed(self, before, after):
        """Names the inputs that a call changed in place, or returns None."""
        changed = []
        for name in self.inputs:
            if name in before and name in after:
                a, b = np.asarray(before[name]), np.asarray(after[name])
                if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
                    changed.append(name)
        if not changed:
            return None
        names = changed[0] if len(changed) == 1 else ", ".join(changed[:-1]) + " and " + changed[-1]
        names = ("input " if len(changed) == 1 else "inputs ") + names
        return (f"your function changed its {names} in place; it must return new arrays "
                f"and leave its inputs alone (write `w_new = w - ...`, not `w -= ...`)")

    # -- internals ------------------------------------------------------------
    def _dtype(self, case):
        for name in self.inputs:
            a = case.get(name)
            if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
                return a.dtype
        return np.dtype(np.float64)

    def _evaluate(self, case, **flags):
        dtype = self._dtype(case)
        with np.errstate(all="ignore"):
            out = self._model(**copy.deepcopy(case), **flags)
        if isinstance(out, tuple):
            return tuple(np.asarray(o, dtype=np.float64).astype(dtype) for o in out)
        if np.ndim(out) == 0:
            return float(out)
        return np.asarray(out, dtype=np.float64).astype(dtype)

    def _split(self, x):
        """The outputs as a tuple (also for a single output)."""
        return x if len(self.outputs) > 1 else (x,)

    def _structure(self, got, expected, case):
        """A message when ``got`` has the wrong type, length, shape or dtype, else None."""
        fn = self.function
        if got is None:
            return f"{fn} returned None: did you forget the `return` statement?"
        n = len(self.outputs)
        if n > 1:
            names = ", ".join(self.outputs)
            if not isinstance(got, (tuple, list)):
                return f"{fn} should return a tuple ({names}); it returned {_describe_value(got)}"
            if len(got) != n:
                return (f"{fn} should return {n} values ({names}); it returned "
                        f"{len(got)}")
        gots, exps = self._split(got), self._split(expected)
        for name, g, e in zip(self.outputs, gots, exps):
            a = _as_array(g)
            if a is None:
                return f"{name} should be a number or numpy array; {fn} returned {_describe_value(g)}"
            if a.shape != np.shape(e):
                if np.shape(e) == ():
                    return f"{name} should be a single number; {fn} returned an array of shape {a.shape}"
                return (f"{name} has shape {a.shape} but should have shape {np.shape(e)} "
                        f"(the shape of the input)")
        return None

    def _values_match(self, got, expected, case):
        dtype = self._dtype(case)
        return all(_close(g, e, dtype) for g, e in zip(self._split(got), self._split(expected)))

    def _matching_mistakes(self, got, case, pool):
        out = []
        for m in pool:
            try:
                alt = self._evaluate(case, **m.flags)
            except Exception:  # noqa: BLE001 - a variant that cannot run on this case matches nothing
                continue
            if self._structure(got, alt, case) is None and self._values_match(got, alt, case):
                out.append(m)
        return out

    def _dtype_message(self, got, case):
        dtype = self._dtype(case)
        if dtype != np.float32 or not self.check_dtype:
            return None
        for name, g in zip(self.outputs, self._split(got)):
            a = np.asarray(g)
            if a.ndim > 0 and a.dtype != np.float32:
                return (f"float32 inputs gave {name} as {a.dtype}: keep the input's dtype "
                        f"(use Python floats for constants; numpy 2 turns float32 * np.float64 into float64)")
        return None

    def _fallback(self, got, expected, case):
        """No known mistake fits: say which output is wrong and, for steps, by how much."""
        dtype = self._dtype(case)
        gots, exps = self._split(got), self._split(expected)
        wrong = [n for n, g, e in zip(self.outputs, gots, exps) if not _close(g, e, dtype)]
        right = [n for n in self.outputs if n not in wrong]
        g0 = np.asarray(gots[self.outputs.index(wrong[0])], dtype=np.float64)
        if not np.all(np.isfinite(g0)) and np.all(np.isfinite(np.asarray(exps[self.outputs.index(wrong[0])]))):
            msg = f"{wrong[0]} contains nan or inf (a division by zero, or the square root of a negative number?)"
        elif len(self.outputs) == 1 and g0.ndim >= 1 and g0.shape == np.shape(exps[0]) and len(g0) > 1:
            e0 = np.asarray(exps[0], dtype=np.float64)
            bad = [i for i in range(len(g0)) if not _close(g0[i], e0[i], dtype)]
            if bad[0] > 0:
                msg = (f"the first {bad[0]} value{'s are' if bad[0] > 1 else ' is'} right, "
                       f"but value {bad[0] + 1} (t = {bad[0] + 1}) is not")
            else:
                msg = "the result is not right from the first value (t = 1) on"
        elif len(self.outputs) > 1 and right:
            msg = f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right, but {' and '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not"
        else:
            msg = f"{wrong[0]} is not right"
        if self._step_of is not None and self.outputs[self._step_of[1]] in wrong:
            name, idx = self._step_of
            w = np.asarray(case[name], dtype=np.float64)
            step_got = w - np.asarray(gots[idx], dtype=np.float64)
            step_exp = w - np.asarray(exps[idx], dtype=np.float64)
            ok = np.abs(step_exp) > 1e-12 * max(1.0, float(np.max(np.abs(w))))
            if np.any(ok) and np.all(np.isfinite(step_got)):
                ratio = step_got[ok] / step_exp[ok]
                r = float(np.median(ratio))
                if np.all(np.abs(ratio - r) <= 1e-3 * abs(r)) and abs(r - 1.0) > 1e-6:
                    if r < 0:
                        msg += f"; your step points the wrong way (it is {-r:.3g}x the right size, uphill)"
                    elif r > 1:
                        msg += f"; your step is about {r:.3g}x too large"
                    else:
                        msg += f"; your step is about {1 / r:.3g}x too small"
        return msg

    def _compare(self, got, expected, case, mistakes):
        bad = self._structure(got, expected, case)
        if bad:
            return False, bad
        if self._values_match(got, expected, case):
            bad = self._dtype_message(got, case)
            return (False, bad) if bad else (True, "")
        found = mistakes if mistakes is not None else (
            self._matching_mistakes(got, case, self.mistakes)
            or self._matching_mistakes(got, case, self._pair_mistakes))
        if found:
            return False, f"it looks like {found[0].message}"
        return False, self._fallback(got, expected, case)

    def summary(self, outputs):
        """Extra words for the pass line (None: nothing to add)."""
        return None

    def describe(self, case):
        """A short label for a case, for messages: its scalars and the shape and dtype of its arrays."""
        parts = []
        for k, v in case.items():
            if isinstance(v, np.ndarray):
                continue
            if k in ("t", "beta", "beta1", "beta2", "eps", "epochs", "seed"):
                parts.append(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}")
        arr = next((case[n] for n in self.inputs if isinstance(case.get(n), np.ndarray)), None)
        if arr is not None:
            parts.append(f"shape {arr.shape}")
            if arr.dtype != np.float64:
                parts.append(str(arr.dtype))
        return ", ".join(parts)


# --------------------------------------------------------------------------
# Running a student's function
# --------------------------------------------------------------------------
def _student_line(fn, exc):
    """'line N: source' of the deepest frame of the student's own code in ``exc``'s traceback."""
    code = getattr(fn, "__code__", None)
    filename = code.co_filename if code is not None else None
    where = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if filename is not None and frame.f_code.co_filename == filename:
            where = (frame.f_code.co_filename, lineno)
    if where is None:
        return ""
    src = linecache.getline(*where).strip()
    return f" (line {where[1]}: {src})" if src else f" (line {where[1]})"


def _is_call_error(exc):
    """Whether a TypeError was raised by the call itself (wrong parameter names or count)."""
    tb = exc.__traceback__
    depth = 0
    while tb is not None:
        depth += 1
        tb = tb.tb_next
    return depth <= 1


def _call(question, fn, case):
    """Call ``fn`` on a deep copy of ``case``: (output, copy afterwards, error message or None)."""
    kwargs = copy.deepcopy(case)
    try:
        with np.errstate(all="ignore"):
            out = fn(**kwargs)
    except NotImplementedError:
        return None, kwargs, "not implemented yet"
    except Exception as exc:  # noqa: BLE001 - any error in student code becomes one line
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
        where = _student_line(fn, exc)
        if not where and isinstance(exc, TypeError) and _is_call_error(exc):
            signature = ", ".join(case)
            return None, kwargs, (f"could not be called ({text}): the function must be defined as "
                                  f"def {question.function}({signature})")
        return None, kwargs, f"raised {text}{where}"
    return out, kwargs, None


def run(qid, fn, hidden=False):
    """Check ``fn`` against question ``qid``: ``(ok, line)``; ``line`` is what the check prints."""
    q = QUESTIONS[qid]
    name = q.function
    if not callable(fn):
        return False, f"{FAIL} {name}: expected a function, got {_describe_value(fn)}"
    for ref in REFERENCE_FUNCTIONS.get(qid, ()):
        if fn is ref:
            return False, f"{FAIL} {name}: that is optlib's own {ref.__name__}; write your own"
    cases = q.cases(hidden)
    results = [(case, *_call(q, fn, case)) for case in cases]
    if any(err == "not implemented yet" for *_, err in results):
        return False, f"{name}: not implemented yet"
    answered = [(case, out, after) for case, out, after, err in results if err is None]
    # The first failing case, in order; a mistake is named when it explains every answered case.
    for i, (case, out, after, err) in enumerate(results):
        if err:
            return False, f"{FAIL} {name}: {err} [check {i + 1}/{len(cases)}: {q.describe(case)}]"
        expected = q.reference(**case)
        ok, msg = q._compare(out, expected, case, mistakes=None)
        if ok:
            changed = q.inputs_changed(case, after)
            if changed:
                return False, f"{FAIL} {name}: {changed} [check {i + 1}/{len(cases)}: {q.describe(case)}]"
            continue
        if q.mistakes and q._structure(out, expected, case) is None \
                and not q._values_match(out, expected, case):
            found = (q._matching_mistakes(out, case, q.mistakes)
                     or q._matching_mistakes(out, case, q._pair_mistakes))
            everywhere = [m for m in found
                          if all(q._structure(o, q._evaluate(c, **m.flags), c) is None
                                 and q._values_match(o, q._evaluate(c, **m.flags), c)
                                 for c, o, _ in answered)]
            if everywhere or found:
                msg = f"it looks like {(everywhere or found)[0].message}"
        return False, f"{FAIL} {name}: {msg} [check {i + 1}/{len(cases)}: {q.describe(case)}]"
    n = len(cases)
    detail = q.summary([out for _, out, _ in answered])
    detail = f" ({detail})" if detail else ""
    return True, f"{PASS} {name}: {n} check{'s' if n != 1 else ''} passed{detail}"


def _checker(qid):
    def check(fn, hidden=False, strict=False):
        ok, line = run(qid, fn, hidden=hidden)
        print(line)
        sys.stdout.flush()
        if strict and not ok:
            raise AssertionError(line)
        return None

    q = QUESTIONS[qid]
    check.__name__ = check.__qualname__ = qid
    check.__doc__ = (f"Check your `{q.function}`: prints one line, a pass or what looks wrong.\n\n"
                     f"``hidden=True`` runs more cases; ``strict=True`` raises AssertionError on failure.")
    return check


# --------------------------------------------------------------------------
# Case helpers
# --------------------------------------------------------------------------
def _rng(qid, hidden):
    return np.random.default_rng(_stable_hash(qid))  # hidden cases continue the visible stream


def _stable_hash(s):
    """A stable hash of a string (Python's hash() of str changes between runs)."""
    h = 0
    for ch in s.encode():
        h = (h * 131 + ch) % 2**31
    return h


def _f32(case, names):
    out = dict(case)
    for n in names:
        out[n] = np.asarray(case[n], dtype=np.float32)
    return out


# ==========================================================================
# 01  rms(x), ema_debiased(xs, beta)
# ==========================================================================
def _rms_model(x, *, no_sqrt=False, no_square=False, std=False, use_sum=False, abs_mean=False,
               use_len=False):
    x = np.asarray(x, dtype=np.float64)
    if use_len:
        return float(np.sqrt(np.sum(x * x) / len(x)))
    if std:
        return float(np.std(x))
    if abs_mean:
        return float(np.mean(np.abs(x)))
    sq = x if no_square else x * x
    m = np.sum(sq) if use_sum else np.mean(sq)
    return float(m if no_sqrt else np.sqrt(m))


def _rms_cases(hidden):
    rng = _rng("rms", hidden)
    cases = [dict(x=np.array([3.0, -4.0])),
             dict(x=rng.normal(0.5, 2.0, size=7)),
             dict(x=np.array([1.0, 1.0, 1.0, 1.0]) * 2.5)]
    if hidden:
        cases += [dict(x=rng.normal(1.0, 1.0, size=(3, 4))),
                  dict(x=np.zeros(5)),
                  dict(x=np.array([-7.0])),
                  dict(x=rng.normal(0.0, 1.0, size=6).astype(np.float32))]
    return cases


class _ScalarQuestion(Question):
    """A question whose answer is one float (rms)."""

    def _structure(self, got, expected, case):
        a = _as_array(got)
        if got is None:
            return f"{self.function} returned None: did you forget the `return` statement?"
        if a is None:
            return f"{self.function} should return a number; it returned {_describe_value(got)}"
        if a.size != 1:
            return (f"{self.function} should return a single number (the RMS of all entries); "
                    f"it returned an array of shape {a.shape}")
        return None

    def _values_match(self, got, expected, case):
        return _close(np.asarray(got, dtype=np.float64).reshape(()), expected, self._dtype(case))

    def _dtype_message(self, got, case):
        return None

    def _fallback(self, got, expected, case):
        g = float(np.asarray(got, dtype=np.float64).reshape(()))
        if not math.isfinite(g):
            return "the result is nan or inf (the square root of a negative number?)"
        if expected > 0 and g > 0:
            r = g / expected
            return f"the result is about {r:.3g}x the RMS" if abs(r - 1) > 1e-3 else "the result is slightly off"
        return "the result is not the RMS"


def _ema_model(xs, beta, *, no_debias=False, beta_on_new=False, t_shift=0, init_first=False,
               debias_state=False):
    xs = np.asarray(xs, dtype=np.float64)
    out = np.empty_like(xs)
    a = np.array(xs[0]) if init_first else np.zeros_like(xs[0])
    for t, x in enumerate(xs, start=1):
        if beta_on_new:
            a = (1.0 - beta) * a + beta * x
        else:
            a = beta * a + (1.0 - beta) * x
        hat = a if no_debias else a / (1.0 - beta ** (t + t_shift))
        if debias_state:
            a = hat
        out[t - 1] = hat
    return out


def _ema_cases(hidden):
    rng = _rng("ema_debiased", hidden)
    cases = [dict(xs=np.full(6, 2.0), beta=0.9),
             dict(xs=rng.normal(1.0, 1.0, size=12), beta=0.8),
             dict(xs=np.arange(1.0, 9.0), beta=0.5)]
    if hidden:
        cases += [dict(xs=rng.normal(0.0, 1.0, size=(10, 3)), beta=0.9),
                  dict(xs=rng.normal(0.0, 1.0, size=5), beta=0.0),
                  dict(xs=np.array([4.0]), beta=0.99),
                  dict(xs=rng.normal(2.0, 1.0, size=8).astype(np.float32), beta=0.7)]
    return cases


# ==========================================================================
# 02  rmsprop_step(w, g, s, lr, beta, eps) -> (w_new, s_new)
# ==========================================================================
def _rmsprop_model(w, g, s, lr, beta, eps, *, eps_in_sqrt=False, beta_on_new=False,
                   g_not_squared=False, no_sqrt=False, old_s=False, sign=1.0,
                   eps_precedence=False, no_eps=False):
    w, g, s = (np.asarray(a, dtype=np.float64) for a in (w, g, s))
    eps = 0.0 if no_eps else eps
    if beta_on_new:
        s1 = (1.0 - beta) * s + beta * (g if g_not_squared else g * g)
    else:
        s1 = beta * s + (1.0 - beta) * (g if g_not_squared else g * g)
    d = s if old_s else s1
    if no_sqrt:
        den = d + eps
    elif eps_in_sqrt:
        den = np.sqrt(d + eps)
    else:
        den = np.sqrt(d) + eps
    if eps_precedence:
        w1 = w - sign * (lr * g / np.sqrt(d) + eps)
    else:
        w1 = w - sign * lr * g / den
    return w1, s1


_RMSPROP_MISTAKES = [
    Mistake("eps_in_sqrt", "eps is inside the square root: torch divides by sqrt(s_t) + eps, "
            "not sqrt(s_t + eps)", eps_in_sqrt=True),
    Mistake("beta_on_new", "beta weights the new value instead of the old average: "
            "s_t = beta s_{t-1} + (1 - beta) g_t^2 (beta multiplies the OLD s)", beta_on_new=True),
    Mistake("g_not_squared", "you averaged g where g squared belongs: s_t tracks g_t^2, "
            "not g_t", g_not_squared=True),
    Mistake("no_sqrt", "the square root is missing: divide g_t by sqrt(s_t) + eps, not by s_t + eps",
            no_sqrt=True),
    Mistake("old_s", "the step uses the old s_{t-1}: update s first, then divide by sqrt(s_t) + eps",
            old_s=True),
    Mistake("sign", "the step has the wrong sign: w_t = w_{t-1} MINUS the step (descent goes downhill)",
            sign=-1.0),
    Mistake("no_eps", "eps is missing: divide by sqrt(s_t) + eps (without it a zero gradient with "
            "s = 0 gives 0/0 = nan)", no_eps=True),
    Mistake("eps_precedence", "eps is added to the whole step instead of to sqrt(s_t): "
            "check your brackets, lr * g / (np.sqrt(s) + eps)", eps_precedence=True),
]


def _rmsprop_cases(hidden):
    rng = _rng("rmsprop_step", hidden)

    def case(shape, lr, beta, eps, s_scale=1.0, g_scale=1.0):
        return dict(w=rng.normal(0.0, 1.0, size=shape), g=g_scale * rng.normal(0.0, 1.0, size=shape),
                    s=s_scale * rng.uniform(0.5, 2.0, size=shape), lr=lr, beta=beta, eps=eps)

    cases = [dict(w=np.array([1.0, -2.0, 0.5]), g=np.array([0.3, -1.0, 2.0]), s=np.zeros(3),
                  lr=0.01, beta=0.99, eps=1e-8),
             case((4,), 0.05, 0.9, 1e-8),
             case((5,), 0.1, 0.8, 1e-2, s_scale=1e-2, g_scale=0.1)]
    if hidden:
        cases += [case((3, 4), 0.01, 0.99, 1e-8),
                  case((2, 3), 0.02, 0.9, 0.5, s_scale=0.1),
                  dict(w=np.ones(4), g=np.zeros(4), s=np.zeros(4), lr=0.1, beta=0.9, eps=1e-8),
                  _f32(case((6,), 0.05, 0.9, 1e-3), ("w", "g", "s"))]
    return cases


# ==========================================================================
# 03  adam_step(w, g, v, s, t, lr, beta1, beta2, eps) -> (w_new, v_new, s_new)
# 04b adamw_step(..., weight_decay) -> (w_new, v_new, s_new)
# ==========================================================================
def _adam_model(w, g, v, s, t, lr, beta1, beta2, eps, weight_decay=None, *,
                eps_in_sqrt=False, bias="both", t_shift=0, swap=False, v_on_new=False,
                s_on_new=False, g_not_squared=False, no_sqrt=False, old_moments=False, sign=1.0,
                eps_precedence=False, eps_hat=False, decay="adamw", return_hat=False, no_eps=False):
    w, g, v, s = (np.asarray(a, dtype=np.float64) for a in (w, g, v, s))
    eps = 0.0 if no_eps else eps
    if weight_decay is not None:
        if decay == "adamw":
            w = w * (1.0 - lr * weight_decay)
        elif decay == "no_lr":
            w = w * (1.0 - weight_decay)
        elif decay == "l2":
            g = g + weight_decay * w
        elif decay == "plus":
            w = w * (1.0 + lr * weight_decay)
    b1, b2 = (beta2, beta1) if swap else (beta1, beta2)
    v1 = (1.0 - b1) * v + b1 * g if v_on_new else b1 * v + (1.0 - b1) * g
    gg = g if g_not_squared else g * g
    s1 = (1.0 - b2) * s + b2 * gg if s_on_new else b2 * s + (1.0 - b2) * gg
    tt = t + t_shift
    c1 = 1.0 - b1 ** tt if bias in ("both", "v") else 1.0
    c2 = 1.0 - b2 ** tt if bias in ("both", "s") else 1.0
    vv, ss = (v, s) if old_moments else (v1, s1)
    if eps_hat:  # Keras: the correction goes into the learning rate, eps is added to sqrt(s)
        step = lr * math.sqrt(c2) / c1 * vv / (np.sqrt(ss) + eps)
    elif eps_precedence:
        step = lr * (vv / c1) / np.sqrt(ss / c2) + eps
    else:
        sh = ss / c2
        den = sh + eps if no_sqrt else (np.sqrt(sh + eps) if eps_in_sqrt else np.sqrt(sh) + eps)
        step = lr * (vv / c1) / den
    w1 = w - sign * step
    if weight_decay is not None and decay == "after":
        w1 = w1 * (1.0 - lr * weight_decay)
    if return_hat:
        return w1, v1 / c1, s1 / c2
    return w1, v1, s1


_ADAM_MISTAKES = [
    Mistake("no_bias_correction", "the bias correction is missing: use v_hat = v_t / (1 - beta1**t) and "
            "s_hat = s_t / (1 - beta2**t) (without it the step at t=1 is about 3.16x too large "
            "with the default betas)", bias="none"),
    Mistake("bias_v_only", "only v is bias-corrected: s_hat = s_t / (1 - beta2**t) is missing", bias="v"),
    Mistake("bias_s_only", "only s is bias-corrected: v_hat = v_t / (1 - beta1**t) is missing", bias="s"),
    Mistake("t_plus_one", "t is off by one (you used t + 1): the t passed in is already the "
            "current step, counting from 1", t_shift=1),
    Mistake("t_minus_one", "t is off by one (you used t - 1): the t passed in is already the "
            "current step, counting from 1", t_shift=-1),
    Mistake("eps_in_sqrt", "eps is inside the square root: torch divides by sqrt(s_hat) + eps, "
            "not sqrt(s_hat + eps)", eps_in_sqrt=True),
    Mistake("swap_betas", "beta1 and beta2 are swapped: beta1 belongs to v (the gradient), "
            "beta2 to s (the squared gradient)", swap=True),
    Mistake("v_on_new", "beta1 weights the new gradient instead of the old average: "
            "v_t = beta1 v_{t-1} + (1 - beta1) g_t", v_on_new=True),
    Mistake("s_on_new", "beta2 weights the new value instead of the old average: "
            "s_t = beta2 s_{t-1} + (1 - beta2) g_t^2", s_on_new=True),
    Mistake("g_not_squared", "you averaged g where g squared belongs: s_t tracks g_t^2, not g_t",
            g_not_squared=True),
    Mistake("no_sqrt", "the square root is missing: divide by sqrt(s_hat) + eps, not s_hat + eps",
            no_sqrt=True),
    Mistake("old_moments", "the step uses the old v_{t-1} and s_{t-1}: update both moments first",
            old_moments=True),
    Mistake("no_eps", "eps is missing: divide by sqrt(s_hat) + eps (without it a zero gradient with "
            "s = 0 gives 0/0 = nan)", no_eps=True),
    Mistake("return_hat", "you returned the bias-corrected v_hat and s_hat; return the raw v_t and s_t "
            "(the next step updates the raw averages)", return_hat=True),
    Mistake("sign", "the step has the wrong sign: w_t = w_{t-1} MINUS the step", sign=-1.0),
    Mistake("eps_precedence", "eps is added to the whole step instead of to sqrt(s_hat): check your "
            "brackets", eps_precedence=True),
    Mistake("eps_hat", "you used Keras's 'epsilon hat' form (correction folded into the learning rate, "
            "eps added to sqrt(s_t) before correcting); torch adds eps to sqrt(s_hat)", eps_hat=True),
]

_ADAMW_MISTAKES = [
    Mistake("l2", "this is Adam with L2 regularisation (weight_decay * w added to the gradient); "
            "AdamW decays the weights directly: w <- w (1 - lr * weight_decay), and the moments "
            "never see the decay", decay="l2"),
    Mistake("no_lr", "the decay is not multiplied by the learning rate: torch uses "
            "w <- w (1 - lr * weight_decay)", decay="no_lr"),
    Mistake("after", "the decay is applied after the Adam step; torch decays the weights first, "
            "then takes the Adam step from the decayed weights", decay="after"),
    Mistake("no_decay", "there is no weight decay at all: w <- w (1 - lr * weight_decay) first",
            decay="none"),
    Mistake("plus", "the decay has the wrong sign: w <- w (1 - lr * weight_decay) shrinks the weights",
            decay="plus"),
] + [m for m in _ADAM_MISTAKES if m.name in ("no_bias_correction", "eps_in_sqrt", "swap_betas",
                                               "t_plus_one", "t_minus_one", "sign", "old_moments",
                                               "return_hat")]


def _adam_cases(hidden, weight_decay=None, qid="adam_step"):
    rng = _rng(qid, hidden)

    def case(shape, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, scale=1.0):
        c = dict(w=rng.normal(0.0, 1.0, size=shape), g=scale * rng.normal(0.0, 1.0, size=shape),
                 v=scale * rng.normal(0.0, 0.3, size=shape), s=scale**2 * rng.uniform(0.2, 1.0, size=shape),
                 t=t, lr=lr, beta1=b1, beta2=b2, eps=eps)
        if weight_decay is not None:
            c["weight_decay"] = weight_decay
        return c

    first = dict(w=np.array([0.5, -1.0, 2.0]), g=np.array([0.2, -3.0, 1.0]), v=np.zeros(3), s=np.zeros(3),
                 t=1, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    if weight_decay is not None:
        first["weight_decay"] = weight_decay
    cases = [first,
             case((4,), 2, lr=0.05),
             case((5,), 10, lr=0.02, b1=0.8, b2=0.99),
             case((3,), 3, lr=0.1, b1=0.5, b2=0.9, eps=1e-2, scale=0.1)]
    if hidden:
        cases += [case((3, 4), 1, lr=1e-3),
                  case((2, 5), 50, lr=0.01, b1=0.95, b2=0.9),
                  case((4,), 7, lr=0.05, eps=0.3, scale=0.3),
                  _f32(case((6,), 4, lr=0.01), ("w", "g", "v", "s"))]
        zero = dict(case((3,), 5, lr=0.01))
        zero["g"] = np.zeros(3)
        cases.append(zero)
        fresh = dict(case((4,), 1, lr=0.01))        # a weight whose gradient has always been 0
        fresh["g"] = np.array([0.0, 1.0, 0.0, -2.0])
        fresh["v"], fresh["s"] = np.zeros(4), np.zeros(4)
        cases.append(fresh)
    return cases


# ==========================================================================
# 04a momentum_step(w, g, v, lr, beta) -> (w_new, v_new), torch's convention
# ==========================================================================
def _momentum_model(w, g, v, lr, beta, *, ema_style=False, beta_on_new=False, lr_inside=False,
                    old_v=False, sign=1.0, nesterov=False):
    w, g, v = (np.asarray(a, dtype=np.float64) for a in (w, g, v))
    if ema_style:
        v1 = beta * v + (1.0 - beta) * g
    elif beta_on_new:
        v1 = (1.0 - beta) * v + beta * g
    elif lr_inside:
        v1 = beta * v + lr * g
    else:
        v1 = beta * v + g
    if lr_inside:
        step = v1
    elif nesterov:
        step = lr * (g + beta * v1)
    else:
        step = lr * (v if old_v else v1)
    return w - sign * step, v1


_MOMENTUM_MISTAKES = [
    Mistake("ema_style", "you used the notes' moving average v_t = beta v_{t-1} + (1 - beta) g_t; "
            "torch's buffer is v_t = beta v_{t-1} + g_t (no 1 - beta factor)", ema_style=True),
    Mistake("beta_on_new", "beta weights the new gradient instead of the old buffer: "
            "v_t = beta v_{t-1} + g_t", beta_on_new=True),
    Mistake("lr_inside", "the learning rate is inside the buffer (v_t = beta v_{t-1} + lr g_t); in torch "
            "the buffer holds gradients only and the step is lr * v_t", lr_inside=True),
    Mistake("old_v", "the step uses the old buffer v_{t-1}: update v first, then step by lr * v_t",
            old_v=True),
    Mistake("sign", "the step has the wrong sign: w_t = w_{t-1} MINUS lr * v_t", sign=-1.0),
    Mistake("nesterov", "this is Nesterov momentum (step lr * (g_t + beta v_t)); the question asks for "
            "plain momentum, step lr * v_t", nesterov=True),
]


def _momentum_cases(hidden):
    rng = _rng("momentum_step", hidden)

    def case(shape, lr, beta):
        return dict(w=rng.normal(0.0, 1.0, size=shape), g=rng.normal(0.0, 1.0, size=shape),
                    v=rng.normal(0.0, 1.0, size=shape), lr=lr, beta=beta)

    cases = [dict(w=np.array([1.0, -1.0]), g=np.array([0.5, 2.0]), v=np.zeros(2), lr=0.1, beta=0.9),
             case((4,), 0.05, 0.9),
             case((3,), 0.2, 0.5)]
    if hidden:
        cases += [case((2, 3), 0.01, 0.99), case((5,), 0.1, 0.0),
                  _f32(case((4,), 0.05, 0.8), ("w", "g", "v"))]
    return cases


# ==========================================================================
# 05  train(X, y, epochs, lr, seed) -> [W, b]: the capstone
# ==========================================================================
CAPSTONE_ACCURACY = 0.93
CAPSTONE_BATCH = 64


def _capstone_reference(X, y, epochs, lr, seed):
    """Minibatch softmax regression trained with optlib's Adam (batch 64, torch's defaults)."""
    from .data import batches
    rng = np.random.default_rng(seed)
    params = _models.softmax_regression_init(X.shape[1], 10)
    opt = _opt.Adam(params, lr=lr)
    for _ in range(epochs):
        for idx in batches(len(y), CAPSTONE_BATCH, rng):
            _, grads = _models.softmax_regression_loss_grad(params, X[idx], y[idx])
            opt.step(grads)
    return params


class _CapstoneQuestion(Question):
    """Judged by the test accuracy of the returned parameters, computed here, not by the student."""

    def __init__(self):
        super().__init__("train_digits", "train", 5, model=None, make_cases=self._cases,
                         outputs=("params",), inputs=("X", "y"))

    @staticmethod
    def _cases(hidden):
        from .data import digits
        d = digits(seed=0)
        cases = [dict(X=d.X_train, y=d.y_train, epochs=10, lr=0.01, seed=0)]
        if hidden:
            cases.append(dict(X=d.X_train, y=d.y_train, epochs=10, lr=0.01, seed=1))
        return cases

    def reference(self, **case):
        return _capstone_reference(**copy.deepcopy(case))

    def _test_set(self):
        from .data import digits
        d = digits(seed=0)
        return d.X_test, d.y_test

    def _structure(self, got, expected, case):
        if got is None:
            return "train returned None: return the trained parameters [W, b]"
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return f"train should return the parameters [W, b]; it returned {_describe_value(got)}"
        n_features = np.shape(case["X"])[1]
        for name, p, shape in zip(("W", "b"), got, ((n_features, 10), (10,))):
            a = _as_array(p)
            if a is None:
                return f"{name} should be a numpy array; train returned {_describe_value(p)}"
            if a.shape != shape:
                return f"{name} has shape {a.shape} but should have shape {shape}"
        return None

    def accuracy(self, params):
        X, y = self._test_set()
        W, b = (np.asarray(p, dtype=np.float64) for p in params)
        return _models.accuracy([W, b], X, y)

    def _compare(self, got, expected, case, mistakes):
        bad = self._structure(got, expected, case)
        if bad:
            return False, bad
        W, b = (np.asarray(p, dtype=np.float64) for p in got)
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            return False, ("the parameters contain nan or inf: is the learning rate too large, "
                           "or does t start at 0 (division by 1 - beta**0 = 0)?")
        if not np.any(W):
            return False, "W is still all zeros: are the parameters updated by your adam_step?"
        acc = self.accuracy([W, b])
        if acc >= CAPSTONE_ACCURACY:
            return True, ""
        return False, (f"test accuracy {acc:.3f} is below {CAPSTONE_ACCURACY}: check that every "
                       f"parameter gets an Adam step each minibatch, that t counts steps from 1, and that "
                       f"v, s and t persist across minibatches")

    def summary(self, outputs):
        acc = min(self.accuracy(p) for p in outputs)
        return f"test accuracy {acc:.3f}, needs >= {CAPSTONE_ACCURACY}"

    def describe(self, case):
        return f"epochs={case['epochs']}, lr={case['lr']:g}, seed={case['seed']}"


# ==========================================================================
# The registry
# ==========================================================================
QUESTIONS: dict[str, Question] = {}


def _register(q):
    QUESTIONS[q.qid] = q
    return q


_register(_ScalarQuestion(
    "rms", "rms", 1, model=_rms_model, make_cases=_rms_cases, outputs=("rms",), inputs=("x",),
    mistakes=[
        Mistake("no_sqrt", "the square root is missing: RMS is the square ROOT of the mean of squares",
                no_sqrt=True),
        Mistake("no_square", "the entries are not squared: average x**2, not x", no_square=True),
        Mistake("std", "this is the standard deviation; the RMS does not subtract the mean "
                "(RMS^2 = variance + mean^2)", std=True),
        Mistake("sum", "you used the sum of squares instead of the mean: divide by the number of entries",
                use_sum=True),
        Mistake("use_len", "you divided by len(x), the length of the first axis only; the mean is over "
                "all x.size entries", use_len=True),
        Mistake("abs_mean", "this is the mean absolute value; the RMS squares, averages, then takes "
                "the square root", abs_mean=True),
    ]))

_register(Question(
    "ema_debiased", "ema_debiased", 2, model=_ema_model, make_cases=_ema_cases, outputs=("averages",),
    inputs=("xs",), check_dtype=False,
    mistakes=[
        Mistake("no_debias", "the bias correction is missing: divide a_t by 1 - beta**t", no_debias=True),
        Mistake("beta_on_new", "beta weights the new value instead of the old average: "
                "a_t = beta a_{t-1} + (1 - beta) x_t", beta_on_new=True),
        Mistake("t_plus_one", "t is off by one: the first value is t = 1, so divide by 1 - beta**1 "
                "first (did you start counting at 0 and add 1 twice?)", t_shift=1),
        Mistake("t_minus_one", "t is off by one: the first value is t = 1 (1 - beta**0 = 0 divides "
                "by zero)", t_shift=-1),
        Mistake("init_first", "the average starts at the first value; it should start at a_0 = 0 "
                "(the correction then removes the zero-start bias)", init_first=True),
        Mistake("debias_state", "the corrected value is fed back into the average: keep updating the "
                "raw a_t and only divide the value you output", debias_state=True),
    ]))

_register(Question(
    "rmsprop_step", "rmsprop_step", 3, model=_rmsprop_model, make_cases=_rmsprop_cases,
    outputs=("w_new", "s_new"), inputs=("w", "g", "s"), mistakes=_RMSPROP_MISTAKES, step_of=("w", 0)))

_register(Question(
    "adam_step", "adam_step", 4, model=_adam_model, make_cases=_adam_cases,
    outputs=("w_new", "v_new", "s_new"), inputs=("w", "g", "v", "s"), mistakes=_ADAM_MISTAKES,
    step_of=("w", 0)))

_register(Question(
    "momentum_step", "momentum_step", 2, model=_momentum_model, make_cases=_momentum_cases,
    outputs=("w_new", "v_new"), inputs=("w", "g", "v"), mistakes=_MOMENTUM_MISTAKES, step_of=("w", 0)))

_register(Question(
    "adamw_step", "adamw_step", 3, model=_adam_model,
    make_cases=lambda hidden: _adam_cases(hidden, weight_decay=0.1, qid="adamw_step"),
    outputs=("w_new", "v_new", "s_new"), inputs=("w", "g", "v", "s"), mistakes=_ADAMW_MISTAKES,
    step_of=("w", 0)))

_register(_CapstoneQuestion())

REFERENCE_FUNCTIONS: dict[str, list] = {
    "rms": [_F.rms],
    "ema_debiased": [_F.ema, _F.ema_update],
    "rmsprop_step": [_F.rmsprop_step, _opt.RMSProp],
    "adam_step": [_F.adam_step, _opt.Adam, _opt.AdamW],
    "momentum_step": [_F.momentum_step, _opt.SGD],
    "adamw_step": [_F.adam_step, _opt.Adam, _opt.AdamW],
    "train_digits": [_F.adam_step, _opt.Adam, _opt.AdamW, _opt.SGD, _opt.RMSProp, _opt.Adagrad],
}

# The student-facing checks: checks.rms(rms), checks.adam_step(adam_step), ...
rms = _checker("rms")
ema_debiased = _checker("ema_debiased")
rmsprop_step = _checker("rmsprop_step")
adam_step = _checker("adam_step")
momentum_step = _checker("momentum_step")
adamw_step = _checker("adamw_step")
train_digits = _checker("train_digits")
