"""A question: its cases, its reference, its known mistakes, and the judgement of an answer.

The judgement (:meth:`Question.judge`) looks at the answers to *all* the cases
at once, in this order:

1. a case whose call raised: its one-line error ("not implemented yet" first);
2. a case whose result has the wrong type, length or shape: what was expected;
3. every value right: a pass, unless float32 inputs came back as float64 or
   the function changed its inputs in place;
4. a known mistake (alone, then two together) whose model reproduces the
   answer to EVERY case: named ("it looks like ..."). A mistake that explains
   only some cases is never named;
5. outputs returned in the wrong order, or returned unchanged from the inputs;
6. otherwise what is wrong in the first wrong case: which output, from which
   step of a sequence, a NaN, or a step of the wrong size or direction.

Messages describe the mistake; they never print the expected numbers.
"""
from __future__ import annotations

import copy
import itertools
import string
from dataclasses import dataclass

import numpy as np

from .compare import as_array, close, describe_value

__all__ = ["NOT_IMPLEMENTED", "Verdict", "Mistake", "Question", "join_names"]

NOT_IMPLEMENTED = "not implemented yet"


@dataclass(frozen=True)
class Verdict:
    """The judgement of one function's answers: ``case`` is the index the message is about."""
    ok: bool
    message: str = ""
    case: int | None = None


class Mistake:
    """A known wrong variant: ``flags`` are keyword switches of the question's model.

    ``message`` may hold ``$name`` placeholders, filled per question by
    :meth:`for_question` (so one table serves RMSProp, Adam, AdamW, AMSGrad).
    """

    def __init__(self, name, message, **flags):
        self.name = name
        self.message = message
        self.flags = flags

    def for_question(self, **symbols):
        return Mistake(self.name, string.Template(self.message).substitute(symbols), **self.flags)

    def __repr__(self):
        return f"Mistake({self.name!r})"


def pairs(mistakes):
    """Every pair of mistakes that switch different flags (a student can make two)."""
    out = []
    for a, b in itertools.combinations(mistakes, 2):
        if set(a.flags) & set(b.flags):
            continue
        out.append(Mistake(f"{a.name}+{b.name}", f"{a.message}; and also {b.message}",
                           **a.flags, **b.flags))
    return out


def join_names(names):
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _is_are(names):
    return "is" if len(names) == 1 else "are"


class Question:
    """One exercise question: its cases, its reference and how to judge an answer.

    ``model(**case, **flags)`` computes the correct output with no flags and a
    known mistake with some; outputs are computed in float64 and cast to the
    input's dtype. ``outputs`` names the returned values (a tuple when more
    than one). ``inputs`` names the array arguments that must not be modified;
    ``updates`` maps an output to the input it replaces (``w_new`` -> ``w``),
    for the diagnosis "returned unchanged". ``step_of = (input, output index)``
    lets a message compare step sizes ``w - w_new``.
    """

    def __init__(self, qid, function, points, *, model, make_cases, outputs, inputs=(), updates=None,
                 mistakes=(), step_of=None, check_dtype=True):
        self.qid = qid
        self.function = function
        self.points = points
        self._model = model
        self._make_cases = make_cases
        self.outputs = tuple(outputs)
        self.inputs = tuple(inputs)
        self.updates = dict(updates or {})
        self.mistakes = list(mistakes)
        self.pair_mistakes = pairs(self.mistakes)
        self._step_of = step_of
        self.check_dtype = check_dtype  # float32 in must give float32 out

    def __repr__(self):
        return f"{type(self).__name__}({self.qid!r}, function={self.function!r}, points={self.points})"

    # -- the interface the grader uses -----------------------------------------
    def cases(self, hidden=False):
        """Keyword arguments for each check: fresh arrays on every call, always the same values.

        ``hidden=True`` gives the visible cases first, then more."""
        return self._make_cases(bool(hidden))

    def reference(self, **case):
        """The expected output for ``case``."""
        return self._evaluate(case)

    def judge(self, cases, outputs, *, afters=None, errors=None, expected=None):
        """Judge the answers ``outputs[i]`` to ``cases[i]`` together: a :class:`Verdict`.

        ``errors[i]`` is the one-line error of a call that raised (else None),
        ``afters[i]`` the case's inputs as the call left them (None: unknown),
        ``expected[i]`` the reference (computed when not given). Never raises.
        """
        cases = list(cases)
        n = len(cases)
        outputs = list(outputs) + [None] * (n - len(outputs))
        errors = list(errors) if errors is not None else [None] * n
        if any(e == NOT_IMPLEMENTED for e in errors):
            return Verdict(False, NOT_IMPLEMENTED)
        for i, e in enumerate(errors):
            if e:
                return Verdict(False, e, i)
        try:
            return self._judge(cases, outputs, afters, expected)
        except Exception as exc:  # noqa: BLE001 - a check must never crash on an odd answer
            return Verdict(False, f"the check could not read what {self.function} returned "
                                  f"({type(exc).__name__}: {exc})")

    def compare(self, got, expected, case):
        """``(True, "")`` when ``got`` is right for the single ``case``, else ``(False, diagnosis)``."""
        v = self.judge([case], [got], expected=[expected])
        return v.ok, v.message

    def inputs_changed(self, before, after):
        """Names the inputs that a call changed in place, or returns None."""
        changed = []
        if not isinstance(after, dict):
            return None
        for name in self.inputs:
            if name in before and name in after:
                a, b = as_array(before[name]), as_array(after[name])
                if a is None or b is None or a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
                    changed.append(name)
        if not changed:
            return None
        names = ("input " if len(changed) == 1 else "inputs ") + join_names(changed)
        return (f"your function changed its {names} in place; it must return new arrays "
                f"and leave its inputs alone (write `w_new = w - ...`, not `w -= ...`)")

    def describe(self, case):
        """A short label for a case: its scalars and the shape and dtype of its arrays."""
        parts = []
        for k, v in case.items():
            if k in ("t", "beta", "beta1", "beta2", "eps", "lr", "epochs", "seed", "weight_decay") \
                    and not isinstance(v, np.ndarray):
                parts.append(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}")
        arr = next((case[n] for n in self.inputs if isinstance(case.get(n), np.ndarray)), None)
        if arr is not None:
            parts.append(f"shape {arr.shape}")
            if arr.dtype != np.float64:
                parts.append(str(arr.dtype))
        return ", ".join(parts)

    def summary(self, outputs):
        """Extra words for the pass line (None: nothing to add)."""
        return None

    # -- judging ------------------------------------------------------------------
    def _judge(self, cases, outputs, afters, expected):
        if expected is None:
            expected = [self.reference(**c) for c in cases]
        for i, (c, o, e) in enumerate(zip(cases, outputs, expected)):
            bad = self._structure(o, e, c)
            if bad:
                return Verdict(False, bad, i)
        wrong = [i for i, (c, o, e) in enumerate(zip(cases, outputs, expected))
                 if not self._values_match(o, e, c)]
        if not wrong:
            for i, (c, o) in enumerate(zip(cases, outputs)):
                bad = self._dtype_message(o, c)
                if bad:
                    return Verdict(False, bad, i)
            for i, c in enumerate(cases):
                after = afters[i] if afters is not None else None
                bad = self.inputs_changed(c, after) if after is not None else None
                if bad:
                    return Verdict(False, bad, i)
            return Verdict(True)
        first = wrong[0]
        msg = self._explain(cases, outputs, expected)
        if msg is None:
            msg = self._fallback(outputs[first], expected[first], cases[first])
        return Verdict(False, msg, first)

    def _explain(self, cases, outputs, expected):
        """The diagnosis that explains every case, or None."""
        for m in self.mistakes:
            if self._explains(m.flags, cases, outputs):
                return f"it looks like {m.message}"
        msg = self._permuted(cases, outputs, expected) or self._unchanged(cases, outputs, expected)
        if msg:
            return msg
        for m in self.pair_mistakes:
            if self._explains(m.flags, cases, outputs):
                return f"it looks like {m.message}"
        return None

    def _explains(self, flags, cases, outputs):
        for c, o in zip(cases, outputs):
            try:
                alt = self._evaluate(c, **flags)
            except Exception:  # noqa: BLE001 - a variant that cannot run on a case explains nothing
                return False
            if self._structure(o, alt, c) is not None or not self._values_match(o, alt, c):
                return False
        return True

    def _permuted(self, cases, outputs, expected):
        n = len(self.outputs)
        if n < 2:
            return None
        for perm in itertools.permutations(range(n)):
            if perm == tuple(range(n)):
                continue
            if all(self._values_match(tuple(self._split(o)[p] for p in perm), e, c)
                   for c, o, e in zip(cases, outputs, expected)):
                return (f"the values are right but in the wrong order: return "
                        f"({', '.join(self.outputs)}) in that order")
        return None

    def _unchanged(self, cases, outputs, expected):
        """Outputs that are, in every case, the input they should replace."""
        if not self.updates:
            return None
        wrong = [name for k, name in enumerate(self.outputs)
                 if any(not close(self._split(o)[k], self._split(e)[k], self._dtype(c))
                        for c, o, e in zip(cases, outputs, expected))]
        same = [name for k, name in enumerate(self.outputs)
                if name in wrong and name in self.updates
                and all(close(self._split(o)[k], c[self.updates[name]], self._dtype(c))
                        for c, o in zip(cases, outputs))]
        if not same:
            return None
        if len(same) == len(self.outputs):
            names = ", ".join(self.updates[name] for name in self.outputs)
            return (f"{self.function} returns its inputs unchanged ({names}): replace the "
                    f"placeholder `return` with the update")
        parts = []
        for name in same:
            what = "the step is never applied" if name.startswith("w") else "it is never updated"
            parts.append(f"{name} is the {self.updates[name]} you were given, unchanged: {what}")
        msg = "; ".join(parts)
        rest = [n for n in wrong if n not in same]
        right = [n for n in self.outputs if n not in wrong]
        if rest:
            nan = [n for n in rest if any(not np.all(np.isfinite(np.asarray(self._split(o)[self.outputs.index(n)],
                                                                              dtype=np.float64)))
                                          for o in outputs)]
            msg += f" ({join_names(rest)} {_is_are(rest)} not right either"
            msg += f"{': it contains nan or inf' if nan == rest and len(rest) == 1 else ''})"
        elif right:
            msg += f" ({join_names(right)} {_is_are(right)} right)"
        return msg

    # -- pieces subclasses may replace --------------------------------------------
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
        return tuple(x) if len(self.outputs) > 1 else (x,)

    def _structure(self, got, expected, case):
        """A message when ``got`` has the wrong type, length or shape, else None."""
        fn = self.function
        if got is None:
            return f"{fn} returned None: did you forget the `return` statement?"
        n = len(self.outputs)
        if n > 1:
            names = ", ".join(self.outputs)
            if not isinstance(got, (tuple, list)):
                return f"{fn} should return a tuple ({names}); it returned {describe_value(got)}"
            if len(got) != n:
                return f"{fn} should return {n} values ({names}); it returned {len(got)}"
        for name, g, e in zip(self.outputs, self._split(got), self._split(expected)):
            a = as_array(g)
            if a is None:
                return f"{name} should be a number or numpy array; {fn} returned {describe_value(g)}"
            if a.shape != np.shape(e):
                if np.shape(e) == ():
                    return f"{name} should be a single number; {fn} returned an array of shape {a.shape}"
                return f"{name} has shape {a.shape} but should have shape {np.shape(e)} (the shape of the input)"
        return None

    def _values_match(self, got, expected, case):
        dtype = self._dtype(case)
        return all(close(g, e, dtype) for g, e in zip(self._split(got), self._split(expected)))

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
        wrong = [n for n, g, e in zip(self.outputs, gots, exps) if not close(g, e, dtype)]
        right = [n for n in self.outputs if n not in wrong]
        k = self.outputs.index(wrong[0])
        g0 = np.asarray(gots[k], dtype=np.float64)
        e0 = np.asarray(exps[k], dtype=np.float64)
        if not np.all(np.isfinite(g0)) and np.all(np.isfinite(e0)):
            msg = f"{wrong[0]} contains nan or inf (a division by zero, or the square root of a negative number?)"
        elif len(self.outputs) == 1 and g0.ndim >= 1 and len(g0) > 1:
            bad = [i for i in range(len(g0)) if not close(g0[i], e0[i], dtype)]
            if bad[0] > 0:
                msg = (f"the first {bad[0]} value{'s are' if bad[0] > 1 else ' is'} right, "
                       f"but value {bad[0] + 1} (t = {bad[0] + 1}) is not")
            else:
                msg = "the result is not right from the first value (t = 1) on"
        elif len(self.outputs) > 1 and right:
            msg = f"{join_names(right)} {_is_are(right)} right, but {join_names(wrong)} {_is_are(wrong)} not"
        else:
            msg = f"{wrong[0]} is not right"
        if self._step_of is not None and self.outputs[self._step_of[1]] in wrong:
            msg += self._step_ratio(gots, exps, case)
        return msg

    def _step_ratio(self, gots, exps, case):
        """'; your step is about 2x too large' when the step is a constant multiple of the right one."""
        name, idx = self._step_of
        with np.errstate(all="ignore"):
            w = np.asarray(case[name], dtype=np.float64)
            step_got = w - np.asarray(gots[idx], dtype=np.float64)
            step_exp = w - np.asarray(exps[idx], dtype=np.float64)
            ok = np.abs(step_exp) > 1e-12 * max(1.0, float(np.max(np.abs(w))))
            if not np.any(ok) or not np.all(np.isfinite(step_got)):
                return ""
            ratio = step_got[ok] / step_exp[ok]
            r = float(np.median(ratio))
        if not np.all(np.abs(ratio - r) <= 1e-3 * abs(r)) or abs(r - 1.0) <= 1e-6:
            return ""
        if r == 0.0:
            return f"; {self.outputs[idx]} equals {name}: no step was taken"
        if r < 0:
            return f"; your step points the wrong way (it is {-r:.3g}x the right size, uphill)"
        if r > 1:
            return f"; your step is about {r:.3g}x too large"
        return f"; your step is about {1 / r:.3g}x too small"
