"""Exercise 03: ``rms(x)`` and ``ema_debiased(xs, beta)``, the two pieces RMSProp and Adam are built from."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .cases import f32, rng
from .compare import as_array, close, describe_value
from .question import Mistake, Question

__all__ = ["QUESTIONS", "REFERENCES"]


# --------------------------------------------------------------------------
# rms(x) -> float
# --------------------------------------------------------------------------
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
    r = rng("rms")
    cases = [dict(x=np.array([3.0, -4.0])),
             dict(x=r.normal(0.5, 2.0, size=7)),
             dict(x=np.array([1.0, 1.0, 1.0, 1.0]) * 2.5),
             dict(x=r.normal(1.0, 1.0, size=(3, 4)))]
    if hidden:
        cases += [dict(x=np.zeros(5)),
                  dict(x=np.array([-7.0])),
                  dict(x=r.normal(0.0, 1.0, size=6).astype(np.float32)),
                  dict(x=r.normal(0.0, 1.0, size=(2, 5)))]
    return cases


class ScalarQuestion(Question):
    """A question whose answer is one float."""

    def _structure(self, got, expected, case):
        if got is None:
            return f"{self.function} returned None: did you forget the `return` statement?"
        a = as_array(got)
        if a is None:
            return f"{self.function} should return a number; it returned {describe_value(got)}"
        if a.size != 1:
            return (f"{self.function} should return a single number (the RMS of all entries); "
                    f"it returned an array of shape {a.shape}")
        return None

    def _values_match(self, got, expected, case):
        return close(np.asarray(got, dtype=np.float64).reshape(()), expected, self._dtype(case))

    def _dtype_message(self, got, case):
        return None

    def _fallback(self, got, expected, case):
        g = float(np.asarray(got, dtype=np.float64).reshape(()))
        if not math.isfinite(g):
            return "the result is nan or inf (the square root of a negative number?)"
        if expected > 0 and g > 0:
            ratio = g / expected
            return f"the result is about {ratio:.3g}x the RMS" if abs(ratio - 1) > 1e-3 else "the result is slightly off"
        return "the result is not the RMS"


_RMS_MISTAKES = [
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
]


# --------------------------------------------------------------------------
# ema_debiased(xs, beta) -> averages
# --------------------------------------------------------------------------
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
    r = rng("ema_debiased")
    cases = [dict(xs=np.full(6, 2.0), beta=0.9),
             dict(xs=r.normal(1.0, 1.0, size=12), beta=0.8),
             dict(xs=np.arange(1.0, 9.0), beta=0.5)]
    if hidden:
        cases += [dict(xs=r.normal(0.0, 1.0, size=(10, 3)), beta=0.9),
                  dict(xs=r.normal(0.0, 1.0, size=5), beta=0.0),
                  dict(xs=np.array([4.0]), beta=0.99),
                  dict(xs=r.normal(2.0, 1.0, size=8).astype(np.float32), beta=0.7)]
    return cases


_EMA_MISTAKES = [
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
]


QUESTIONS = [
    ScalarQuestion("rms", "rms", 1, model=_rms_model, make_cases=_rms_cases, outputs=("rms",),
                   inputs=("x",), mistakes=_RMS_MISTAKES),
    Question("ema_debiased", "ema_debiased", 2, model=_ema_model, make_cases=_ema_cases,
             outputs=("averages",), inputs=("xs",), updates={"averages": "xs"}, check_dtype=False,
             mistakes=_EMA_MISTAKES),
]
REFERENCES = {"rms": [F.rms], "ema_debiased": [F.ema, F.ema_update]}
