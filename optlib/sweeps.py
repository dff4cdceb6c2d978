"""Step-size sweeps: the same problem trained by many optimizers at many step sizes.

    sweep = sweep_function(Rosenbrock(), OPTIMIZERS, lrs=10.0 ** np.arange(-5, 1.1, 0.5), steps=500)
    sweep.final("Adam")               # loss after the last step, one per lr (NaN: diverged)
    sweep.window("Adam", target=1e-2) # the lrs whose run ends at or below the target
    sweep.steps_to(1e-2)              # first step at which each run reaches the target

``OPTIMIZERS`` names the five optimizers of the course with torch's
hyperparameters (momentum 0.9, RMSProp's alpha 0.99, Adam's betas (0.9, 0.999))
and ``DEFAULT_LR`` their torch default step sizes.

:func:`softmax_runs` trains many softmax regressions at once on the same data,
one optimizer each: the runs' weights sit side by side in one array, so one
matrix product computes every run's logits (each run only ever sees its own
columns), and each run's optimizer steps its own views of that array. The
result is the same as training the runs one by one (``tests/test_sweeps.py``
checks it), only a few times faster.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .optimizers import SGD, Adagrad, Adam, NonFiniteGradientError, RMSProp
from .trajectory import trajectory

__all__ = ["OPTIMIZERS", "DEFAULT_LR", "Sweep", "SoftmaxRuns", "softmax_runs", "softmax_minimum",
           "sweep_softmax", "sweep_function", "decades"]

#: The course's five optimizers: name -> (class, hyperparameters other than lr), torch's defaults.
OPTIMIZERS = {
    "GD": (SGD, {}),
    "Momentum": (SGD, {"momentum": 0.9}),
    "Adagrad": (Adagrad, {}),
    "RMSProp": (RMSProp, {}),
    "Adam": (Adam, {}),
}

#: torch.optim's default learning rate of each (torch 2.13: SGD 1e-3, Adagrad and RMSprop 1e-2, Adam 1e-3).
DEFAULT_LR = {"GD": 1e-3, "Momentum": 1e-3, "Adagrad": 1e-2, "RMSProp": 1e-2, "Adam": 1e-3}


def decades(lo, hi):
    """Width of the step-size range [lo, hi] in powers of ten (0 for a single step size)."""
    return float(np.log10(hi / lo))


class Sweep(NamedTuple):
    """Losses of every (optimizer, lr) run: ``loss[i, j, t]`` for ``names[i]``, ``lrs[j]``, step t.

    ``loss[..., 0]`` is the loss at the start; a run that diverged is NaN from
    the step where it did.
    """

    names: tuple
    lrs: np.ndarray
    loss: np.ndarray
    max_step: np.ndarray      # largest change of any single weight in one step, per run

    def step_ratio(self, name):
        """Largest one-step change of any weight divided by lr, one per lr (inf once diverged)."""
        return self.max_step[self._row(name)] / self.lrs

    def _row(self, name):
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"no optimizer {name!r} in this sweep; it has {list(self.names)}") from None

    def final(self, name):
        """Loss after the last step, one per lr (NaN where the run diverged)."""
        return self.loss[self._row(name), :, -1]

    def diverged(self, name):
        """True for each lr whose run ended in NaN or inf."""
        return ~np.isfinite(self.final(name))

    def best(self, name):
        """(lr, final loss) of the run that ends lowest, or (nan, nan) if every run diverged."""
        final = self.final(name)
        if not np.isfinite(final).any():
            return float("nan"), float("nan")
        j = int(np.nanargmin(final))
        return float(self.lrs[j]), float(final[j])

    def window(self, name, target, last=0):
        """The lrs whose run is at or below ``target`` at each of its last ``last`` + 1 steps.

        ``last`` > 0 asks a run to have *settled* below the target, so that a
        run that oscillates and happens to dip below it at the final step does
        not count. Returns an array of lrs (empty if none).
        """
        tail = self.loss[self._row(name), :, -1 - int(last):]
        with np.errstate(invalid="ignore"):
            good = np.isfinite(tail).all(axis=1) & (tail <= target).all(axis=1)
        return self.lrs[good]

    def steps_to(self, target):
        """First step t at which each run's loss is at or below ``target``: shape (optimizers, lrs); -1 if never."""
        with np.errstate(invalid="ignore"):
            hit = self.loss <= target
        first = np.argmax(hit, axis=-1)
        return np.where(hit.any(axis=-1), first, -1)


# --------------------------------------------------------------------------
# Softmax regression, many runs at once
# --------------------------------------------------------------------------
class SoftmaxRuns(NamedTuple):
    """What :func:`softmax_runs` records.

    ``loss[r, t]``: full-batch training loss of run r after t steps (L2 term
    included), NaN after the run diverged. ``per_sample[k, r, i]``: the
    cross-entropy of example i under run r at step ``recorded[k]``.
    ``diverged[r]``: the step at which run r's gradient became non-finite, or -1.
    ``max_step[r]``: the largest change of any single parameter in one step.
    """

    loss: np.ndarray
    per_sample: np.ndarray
    recorded: np.ndarray
    diverged: np.ndarray
    max_step: np.ndarray


def softmax_runs(X, y, make_optimizers, steps, *, l2=0.0, n_classes=None, record_every=0):
    r"""Train one softmax regression per optimizer factory, full batch, side by side.

    Each run r minimises the mean cross-entropy of :math:`\mathrm{softmax}(x W_r + b_r)`
    plus :math:`\tfrac{\lambda}{2}\lVert W_r\rVert^2` (``l2`` = :math:`\lambda`)
    from :math:`W_r = 0, b_r = 0`. ``make_optimizers[r]([theta_r])`` builds run
    r's optimizer for its one parameter array :math:`\theta_r`, the weights
    :math:`W_r` with the bias :math:`b_r` as a last row (shape (d + 1, classes)),
    which it steps once per full-batch gradient. ``record_every=k`` keeps the
    per-example losses every k steps (and at the end).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"X must be (n, d) and y (n,), got X {X.shape} and y {y.shape}")
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    n, d = X.shape
    c = int(y.max()) + 1 if n_classes is None else int(n_classes)
    R = len(make_optimizers)
    X1 = np.hstack([X, np.ones((n, 1))])          # a column of ones: the bias is the last row of theta
    X1T = np.ascontiguousarray(X1.T)
    # Run r's parameters are the view theta[:, :, r]. With the runs on the last
    # axis, the softmax's reductions over the classes run along contiguous rows.
    theta = np.zeros((d + 1, c, R))
    W = theta[:d]
    opts = [make([theta[:, :, r]]) for r, make in enumerate(make_optimizers)]
    rows = np.arange(n)
    loss = np.full((R, steps + 1), np.nan)
    diverged = np.full(R, -1)
    alive = np.ones(R, dtype=bool)
    max_step = np.zeros(R)
    previous = np.empty_like(theta)
    marks = set(range(0, steps + 1, record_every)) | {steps} if record_every else set()
    recorded, per_sample = [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            Z = (X1 @ theta.reshape(d + 1, c * R)).reshape(n, c, R)      # logits of every run
            Z -= Z.max(axis=1, keepdims=True)           # log-sum-exp, shifted: no overflow
            ce = -Z[rows, y, :]                         # (n, R): -log p(y_i | x_i) = log S - z_y
            np.exp(Z, out=Z)
            S = Z.sum(axis=1)
            ce += np.log(S)
            loss[:, t] = ce.mean(axis=0)
            if l2:
                loss[:, t] += 0.5 * l2 * np.einsum("dcr,dcr->r", W, W)
            loss[~alive, t] = np.nan
            if t in marks:
                recorded.append(t)
                per_sample.append(np.where(alive[:, None], ce.T, np.nan))
            if t == steps:
                break
            Z *= (1.0 / S)[:, None, :]                  # p
            Z[rows, y, :] -= 1.0                        # p - onehot(y)
            G = (X1T @ Z.reshape(n, c * R)).reshape(d + 1, c, R)
            G *= 1.0 / n                                # gradient of the mean cross-entropy
            if l2:
                G[:d] += l2 * W                         # + lambda W (the bias is not decayed)
            previous[...] = theta
            for r in np.flatnonzero(alive):
                try:
                    opts[r].step([G[:, :, r]])
                except NonFiniteGradientError:
                    alive[r] = False
                    diverged[r] = t + 1
                    max_step[r] = np.inf
            step = np.abs(theta - previous).max(axis=(0, 1))
            np.maximum(max_step, np.where(np.isfinite(step), step, np.inf), out=max_step)
    return SoftmaxRuns(loss, np.array(per_sample), np.array(recorded, dtype=int), diverged, max_step)


def softmax_minimum(X, y, l2):
    r"""The minimum of L2-regularised softmax regression (``l2`` > 0), by L-BFGS to machine precision.

    Returns the loss :math:`f^*` that every run of :func:`sweep_softmax` with the
    same ``l2`` approaches; with ``l2`` > 0 the problem is strongly convex, so
    :math:`f^*` is unique.
    """
    from scipy.optimize import minimize

    if not l2 > 0:
        raise ValueError(f"l2 must be > 0 (without it separable data have no minimum), got {l2!r}")
    X1 = np.hstack([np.asarray(X, dtype=float), np.ones((len(X), 1))])
    y = np.asarray(y)
    n, d1 = X1.shape
    c = int(y.max()) + 1
    rows = np.arange(n)

    def loss_grad(flat):
        theta = flat.reshape(d1, c)
        z = X1 @ theta
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        s = p.sum(axis=1)
        loss = np.mean(np.log(s) - z[rows, y]) + 0.5 * l2 * np.sum(theta[:-1] ** 2)
        p /= s[:, None]
        p[rows, y] -= 1.0
        g = X1.T @ p / n
        g[:-1] += l2 * theta[:-1]
        return loss, g.ravel()

    res = minimize(loss_grad, np.zeros(d1 * c), jac=True, method="L-BFGS-B",
                   options=dict(maxiter=10_000, gtol=1e-10, ftol=1e-15))
    if np.abs(res.jac).max() > 1e-6:
        raise RuntimeError(f"L-BFGS did not converge: largest gradient {np.abs(res.jac).max():.1e}")
    return float(res.fun)


def _runs(optimizers, lrs):
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or not len(lrs) or not np.all(lrs > 0):
        raise ValueError(f"lrs must be a non-empty 1-D array of positive step sizes, got {lrs!r}")
    unknown = [n for n, spec in optimizers.items() if not (isinstance(spec, tuple) and len(spec) == 2)]
    if unknown:
        raise TypeError(f"optimizers must map a name to (class, hyperparameters); bad entries: {unknown}")
    return lrs, [(name, float(lr)) for name in optimizers for lr in lrs]


def sweep_softmax(X, y, optimizers, lrs, steps, *, l2=0.0):
    """Every optimizer of ``optimizers`` (name -> (class, kwargs)) at every lr, on softmax regression."""
    lrs, runs = _runs(optimizers, lrs)
    makers = [lambda ps, cls=optimizers[name][0], kw=optimizers[name][1], lr=lr: cls(ps, lr=lr, **kw)
              for name, lr in runs]
    out = softmax_runs(X, y, makers, steps, l2=l2)
    shape = (len(optimizers), len(lrs))
    return Sweep(tuple(optimizers), lrs, out.loss.reshape(*shape, steps + 1), out.max_step.reshape(shape))


def sweep_function(fn, optimizers, lrs, steps):
    """Every optimizer at every lr on a 2-D test function from ``fn.start`` (see :func:`optlib.trajectory`)."""
    lrs, runs = _runs(optimizers, lrs)
    paths = [trajectory(fn, optimizers[name][0], steps=steps, lr=lr, **optimizers[name][1]) for name, lr in runs]
    loss = np.array([p.loss for p in paths])
    max_step = np.array([np.inf if p.diverged else np.abs(np.diff(p.xy, axis=0)).max() for p in paths])
    shape = (len(optimizers), len(lrs))
    return Sweep(tuple(optimizers), lrs, loss.reshape(*shape, steps + 1), max_step.reshape(shape))
