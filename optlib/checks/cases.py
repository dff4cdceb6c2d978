"""Helpers that make the cases of a question: a stable random stream per question, float32 copies."""
from __future__ import annotations

import numpy as np

__all__ = ["rng", "f32"]


def _stable_hash(s):
    """A stable hash of a string (Python's hash() of str changes between runs)."""
    h = 0
    for ch in s.encode():
        h = (h * 131 + ch) % 2**31
    return h


def rng(qid):
    """The random stream of question ``qid``: hidden cases continue the visible ones' stream."""
    return np.random.default_rng(_stable_hash(qid))


def f32(case, names):
    """``case`` with the arrays ``names`` converted to float32."""
    out = dict(case)
    for n in names:
        out[n] = np.asarray(case[n], dtype=np.float32)
    return out
