r"""Per-coordinate step sizes on a turned valley: what RMSProp and Adam can and cannot scale.

RMSProp, Adam and Adagrad divide each *coordinate* of the gradient by its own
number. On an axis-aligned valley that is exactly the right kind of
correction; on a valley turned by 45 degrees no per-coordinate scaling can
help at all. :func:`best_diagonal_condition` gives the exact number: the
smallest condition number that any scaling :math:`D^{1/2} H D^{1/2}` with a
positive diagonal :math:`D` reaches for a 2x2 Hessian :math:`H`.
:func:`steps_to_tolerance` and :func:`fewest_steps` measure what the
optimizers actually do.
"""
from __future__ import annotations

import math

import numpy as np

from .trajectory import trajectory

__all__ = ["best_diagonal_condition", "steps_to_tolerance", "fewest_steps"]


def best_diagonal_condition(h11, h12, h22):
    r"""Smallest condition number of :math:`D^{1/2} H D^{1/2}` over positive diagonal :math:`D`.

    For a 2x2 positive definite :math:`H` the best :math:`D` makes the
    diagonal equal (``D = diag(1/h11, 1/h22)``), which leaves
    :math:`\begin{pmatrix}1&\rho\\\rho&1\end{pmatrix}` with
    :math:`\rho = h_{12}/\sqrt{h_{11}h_{22}}`, so the answer is
    :math:`(1+|\rho|)/(1-|\rho|)`: 1 for an axis-aligned valley, the full
    condition number when the diagonal is already equal (45 degrees).
    ``tests/test_noise_rotation.py`` checks it against a search over all scalings.
    """
    if not (h11 > 0 and h22 > 0 and h11 * h22 > h12 * h12):
        raise ValueError(f"H must be positive definite, got h11={h11}, h12={h12}, h22={h22}")
    rho = abs(h12) / math.sqrt(h11 * h22)
    return (1.0 + rho) / (1.0 - rho)


def steps_to_tolerance(traj, tol):
    """First step at which ``traj.loss`` is at most ``tol``, or ``None`` if it never is."""
    hit = np.flatnonzero(traj.loss <= tol)
    return int(hit[0]) if hit.size else None


def fewest_steps(fn, optimizer, lrs, tol, max_steps, **hyper):
    """``(steps, lr)``: the fewest steps to reach loss ``tol`` over the step sizes ``lrs``.

    Each lr is a fresh run of ``optimizer(**hyper, lr=lr)`` on ``fn`` for at
    most ``max_steps`` steps; ties go to the smaller lr. Returns
    ``(None, None)`` if no lr gets there.
    """
    best = (None, None)
    for lr in lrs:
        s = steps_to_tolerance(trajectory(fn, optimizer, steps=max_steps, lr=float(lr), **hyper), tol)
        if s is not None and (best[0] is None or s < best[0]):
            best = (s, float(lr))
    return best
