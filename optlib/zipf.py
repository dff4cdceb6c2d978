r"""Heavy-tailed class imbalance: why Adam beats gradient descent on language-like data.

Kunstner, Yadav, Milligan, Schmidt & Bietti, "Heavy-Tailed Class Imbalance and
Why Adam Outperforms Gradient Descent on Language Models" (NeurIPS 2024), show
that when a few classes are frequent and most are rare (as words are), gradient
descent decreases the loss of the rare classes much more slowly than that of
the frequent ones, while Adam and sign descent do not, and that this already
happens with a *linear* softmax model. This module builds a small problem of
that kind, in numpy, that trains in a fraction of a second:

* class k (k = 1..c) appears with probability proportional to :math:`k^{-a}`
  (Zipf's law with exponent a; a = 0 is balanced) in n examples;
* the inputs are random, :math:`x_i \sim U[s, s + 1)^d` with d > n, so a
  linear model can fit every example, frequent or rare (the paper's code
  builds its linear problems the same way, with s = 0 and n = 22 528);
* ``shift`` s > 0 makes all inputs share a large common direction; at our small
  n this gives gradient descent the ill-conditioning that the paper's much
  larger problem has at s = 0 (see the lecture notebook 08).

    problem = zipf_problem()                        # 160 examples, 31 classes, a = 1
    curves = train(problem, {"GD": (SGD, dict(lr=1e-2)), "Adam": (Adam, dict(lr=3e-3))}, steps=300)
    curves["GD"].groups[-1]                         # loss of each frequency group after 300 steps
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .sweeps import softmax_runs

__all__ = ["zipf_counts", "frequency_groups", "ZipfProblem", "zipf_problem", "group_losses",
           "GroupCurves", "train"]


def zipf_counts(n_samples, n_classes, exponent=1.0):
    r"""Examples per class: about :math:`n\,k^{-a} / \sum_j j^{-a}` for class k = 1..c.

    Every class gets at least one example and the counts add up to
    ``n_samples`` (largest-remainder rounding); they never increase with k.
    """
    n, c = int(n_samples), int(n_classes)
    if c < 2 or n < c:
        raise ValueError(f"need n_classes >= 2 and n_samples >= n_classes, got {n_samples} and {n_classes}")
    if not np.isfinite(exponent) or exponent < 0:
        raise ValueError(f"exponent must be a finite number >= 0, got {exponent!r}")
    share = np.arange(1, c + 1, dtype=float) ** -float(exponent)
    ideal = (n - c) * share / share.sum()           # one example each, the rest by Zipf's law
    counts = 1 + np.floor(ideal).astype(int)
    left = n - counts.sum()
    order = np.lexsort((np.arange(c), -(ideal - np.floor(ideal))))   # largest remainders first
    counts[order[:left]] += 1
    return np.sort(counts)[::-1]


def frequency_groups(counts, n_groups=4):
    """Group of each class: classes in order of frequency, cut into groups holding about equal shares of the data.

    ``counts`` must be sorted from the most to the least frequent class (as
    :func:`zipf_counts` returns them). Group 0 holds the most frequent classes.
    """
    counts = np.asarray(counts)
    if counts.ndim != 1 or np.any(np.diff(counts) > 0):
        raise ValueError("counts must be a 1-D array sorted from the most to the least frequent class")
    G = int(n_groups)
    if not 1 <= G <= len(counts):
        raise ValueError(f"n_groups must be between 1 and the number of classes ({len(counts)}), got {n_groups}")
    middle = (np.cumsum(counts) - counts / 2) / counts.sum()     # where each class's share sits in [0, 1]
    groups = np.minimum((middle * G).astype(int), G - 1)
    if len(np.unique(groups)) != G:
        raise ValueError(f"{len(counts)} classes cannot be cut into {G} groups with data in each")
    return groups


class ZipfProblem(NamedTuple):
    """Inputs ``X`` (n, d), labels ``y``, examples per class ``counts`` and each class's frequency group."""

    X: np.ndarray
    y: np.ndarray
    counts: np.ndarray
    groups: np.ndarray

    @property
    def n_groups(self):
        return int(self.groups.max()) + 1


def zipf_problem(n_samples=160, n_classes=31, exponent=1.0, n_features=192, shift=2.0, n_groups=4, seed=0):
    """A linear classification problem with Zipf-distributed classes (see the module docstring).

    Class 0 is the most frequent. Inputs are uniform on [shift, shift + 1) in
    ``n_features`` dimensions, drawn from ``np.random.default_rng(seed)``.
    """
    counts = zipf_counts(n_samples, n_classes, exponent)
    if n_features < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features}")
    X = np.random.default_rng(seed).random((int(n_samples), int(n_features))) + float(shift)
    y = np.repeat(np.arange(len(counts)), counts)
    return ZipfProblem(X, y, counts, frequency_groups(counts, n_groups))


def group_losses(per_sample, y, groups):
    """Mean of ``per_sample`` losses (last axis: examples) over the examples of each frequency group."""
    per_sample = np.asarray(per_sample)
    g = np.asarray(groups)[np.asarray(y)]
    G = int(g.max()) + 1
    onehot = (g[:, None] == np.arange(G)).astype(float)
    return per_sample @ onehot / onehot.sum(axis=0)


class GroupCurves(NamedTuple):
    """One optimizer's run: the total training loss per step and each group's loss at ``steps``."""

    loss: np.ndarray          # (steps + 1,)
    steps: np.ndarray         # the steps at which the groups were recorded
    groups: np.ndarray        # (len(steps), n_groups)
    diverged: int             # the step at which the gradient became non-finite, or -1


def train(problem, optimizers, steps=300, record_every=10):
    """Train a linear softmax model on ``problem`` once per optimizer, full batch, from zero.

    ``optimizers`` maps a name to (class, hyperparameters including lr), e.g.
    ``{"Adam": (optlib.Adam, {"lr": 3e-3})}``. Returns a dict name -> :class:`GroupCurves`.
    """
    names = list(optimizers)
    makers = [lambda ps, cls=optimizers[k][0], kw=optimizers[k][1]: cls(ps, **kw) for k in names]
    out = softmax_runs(problem.X, problem.y, makers, steps, n_classes=len(problem.counts),
                       record_every=record_every)
    per_group = group_losses(out.per_sample, problem.y, problem.groups)      # (records, runs, groups)
    return {name: GroupCurves(out.loss[r], out.recorded, per_group[:, r, :], int(out.diverged[r]))
            for r, name in enumerate(names)}
