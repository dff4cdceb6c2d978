"""Run an optimizer on a 2-D test function and record where it goes.

    path = trajectory(Rosenbrock(), Adam, steps=500, lr=0.05)
    path.xy        # (steps + 1, 2) positions, path.xy[0] is the start
    path.loss      # (steps + 1,) values f(xy)
    path.diverged  # step at which the run left the finite world, or None

A run that diverges stops there (the rest of ``xy`` and ``loss`` is NaN) and
says so in ``path.diverged``, so a slider can show "diverged at step 12"
instead of an empty plot. With optlib's optimizers on optlib's test functions
the run takes a float path (:mod:`optlib._trajectory2d`: the same arithmetic
on two Python floats, the same bits, 3-5x faster): 500 Adam steps take about a
millisecond (``benchmarks/bench_trajectory.py``), fast enough to recompute on
every slider move.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _trajectory2d
from .optimizers import Optimizer

__all__ = ["Trajectory", "trajectory"]

#: A position this far from the origin counts as diverged.
BLOWUP = 1e8


class Trajectory(NamedTuple):
    xy: np.ndarray
    loss: np.ndarray
    diverged: int | None
    label: str = ""

    @property
    def final_loss(self):
        return self.loss[-1]

    def summary(self):
        """One line for a slider's readout: "loss after 100 steps: 0.0057" or "diverged at step 56"."""
        if self.diverged is not None:
            return f"diverged at step {self.diverged}"
        return f"loss after {len(self.loss) - 1} steps: {self.loss[-1]:.3g}"

    def distance_to(self, point):
        """Euclidean distance from each position to ``point``."""
        return np.hypot(*(self.xy - np.asarray(point, dtype=float)).T)


def trajectory(fn, optimizer, x0=None, steps=200, *, label="", dtype=np.float64, **hyper):
    """Positions and losses of ``optimizer`` on ``fn`` over ``steps`` steps.

    ``optimizer`` is an optimizer class (``Adam``) built here with ``**hyper``
    (``lr=0.1, betas=(0.9, 0.999)``), or a function ``params -> optimizer``.
    ``x0`` defaults to ``fn.start``. Stochastic functions are reset first, so
    a run is reproducible.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    w = np.array(fn.start if x0 is None else x0, dtype=dtype)
    if w.shape != (2,):
        raise ValueError(f"x0 must be a point (x, y), got shape {w.shape}")
    if hasattr(fn, "reset"):
        fn.reset()
    params = [w]
    opt = optimizer(params, **hyper) if isinstance(optimizer, type) else optimizer(params)
    if not isinstance(opt, Optimizer):
        raise TypeError(f"optimizer must build an optlib optimizer, got {type(opt).__name__}")
    xy = np.full((steps + 1, 2), np.nan)
    loss = np.full(steps + 1, np.nan)
    fast = _trajectory2d.run(fn, opt, w, steps, BLOWUP)   # the same run on Python floats, where it applies
    if fast is not None:
        rows, losses, diverged = fast
        xy[:len(rows)], loss[:len(losses)] = rows, losses
        return Trajectory(xy, loss, diverged, label)
    xy[0], loss[0] = w, fn.value(w)
    diverged = None
    value, gradient = fn.value, fn.gradient
    # The loop watches the loss itself (a divergence ends the run), so it takes the
    # optimizer's fast path: step(grads) without the per-step scan for NaN and inf.
    opt.check_finite = False
    step = opt.step
    for t in range(1, steps + 1):
        step([gradient(w).astype(dtype, copy=False)])
        f = float(value(w))
        if not (abs(f) < np.inf and abs(w[0]) < BLOWUP and abs(w[1]) < BLOWUP):
            diverged = t
            break
        xy[t], loss[t] = w, f
    return Trajectory(xy, loss, diverged, label)
