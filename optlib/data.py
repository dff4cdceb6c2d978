"""Small real data that ships with scikit-learn: nothing is downloaded.

``digits()`` is scikit-learn's ``load_digits``: 1797 images of 8x8 pixels,
ten classes, pixel values scaled to [0, 1], split once with a fixed seed.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Split", "digits", "batches"]


class Split(NamedTuple):
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def digits(test_fraction=0.25, seed=0, dtype=np.float64):
    """Digits, pixels in [0, 1], shuffled with ``seed`` and split into train and test."""
    from sklearn.datasets import load_digits

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(dtype)
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order], y[order]
    n_test = int(round(test_fraction * len(y)))
    return Split(X[n_test:], y[n_test:], X[:n_test], y[:n_test])


def batches(n, batch_size, rng):
    """Index arrays of a shuffled pass over ``n`` examples (the last batch may be smaller)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
