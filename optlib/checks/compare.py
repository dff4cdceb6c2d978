"""Comparing a student's values with the expected ones, and naming values in messages.

Nothing here trusts what a student returned: every function accepts any object
and answers (None, False or a description) instead of raising.
"""
from __future__ import annotations

import numpy as np

__all__ = ["tolerance", "close", "as_array", "describe_value"]


def tolerance(dtype):
    """(rtol, atol factor) for outputs of ``dtype``: tight in float64, ~1e-5 in float32."""
    if np.dtype(dtype) == np.float32:
        return 2e-5, 2e-6
    return 1e-9, 1e-12


def close(got, expected, dtype=np.float64):
    """Whether two arrays agree to the tolerance of ``dtype`` (NaN where both are NaN agrees).

    The absolute tolerance scales with the largest finite expected value, so
    that a value that should be 0 is judged on the scale of its neighbours.
    """
    try:
        got = np.asarray(got, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return False
    if got.shape != expected.shape:
        return False
    rtol, afac = tolerance(dtype)
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    with np.errstate(all="ignore"):
        return bool(np.allclose(got, expected, rtol=rtol, atol=afac * scale, equal_nan=True))


def as_array(x):
    """``x`` as a real numeric ndarray (bool counts), or None if it is anything else."""
    if x is None or isinstance(x, (str, bytes, dict, set)):
        return None
    try:
        a = np.asarray(x)
    except Exception:  # noqa: BLE001 - anything numpy cannot take (ragged lists, odd objects)
        return None
    if a.dtype == bool or (np.issubdtype(a.dtype, np.number) and not np.iscomplexobj(a)):
        return a
    return None


def describe_value(x):
    """A few words for any value, for messages ("None", "an array of shape (3,)", "a dict", ...)."""
    try:
        if x is None:
            return "None"
        if isinstance(x, np.ndarray):
            if np.iscomplexobj(x):
                return f"a complex array of shape {x.shape}"
            if not (x.dtype == bool or np.issubdtype(x.dtype, np.number)):
                return f"an array of dtype {x.dtype}"
            return f"an array of shape {x.shape}"
        if isinstance(x, (tuple, list)):
            return f"a {type(x).__name__} of length {len(x)}"
        if isinstance(x, complex):
            return "a complex number"
        name = type(x).__name__
        article = "an" if name[:1].lower() in "aeiou" else "a"
        return f"{article} {name}"
    except Exception:  # noqa: BLE001 - a value whose len() or dtype raises
        return "a value of an unusual type"
