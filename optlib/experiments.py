"""Small, exactly specified experiments from the papers the course cites.

Each function builds the problem, runs an :mod:`optlib` optimizer on it and
returns plain numpy arrays, so a notebook can print and plot the result and a
test can check it. All of them are seeded and deterministic.

* :func:`reddi_run`: Reddi, Kale & Kumar (2018), "On the convergence of Adam
  and beyond": the online problem on which Adam converges to the *worst* point
  and AMSGrad does not (:func:`optlib.torch_bridge.reddi_run_torch` runs the same
  with torch.optim).
* :func:`wilson_data`, :func:`least_squares_fit`, :func:`sign_error`: Wilson
  et al. (2017), "The marginal value of adaptive gradient methods", section
  3.3: an over-parameterised linear classification problem on which every
  method fits the training set, but AdaGrad, RMSProp and Adam generalise badly.
* :func:`noise_decay_run`: Loshchilov & Hutter (2019), AdamW: L2 weight decay
  inside Adam is divided by sqrt(s_hat); decoupled decay is not.
* :func:`sgd_decay_run`: L2 and decoupled decay for SGD, with and without momentum.
* :func:`train_softmax`: minibatch training of softmax regression (Kingma &
  Ba 2015, Fig. 1) with an optional lr/sqrt(t) schedule.

Step-size schedules are :mod:`optlib.lr_scheduler` schedulers, as in torch:
the lr / sqrt(t) of Reddi et al.'s analysis and of Kingma & Ba's
logistic regression is ``LambdaLR(opt, inverse_sqrt)``. torch itself is
used only in :mod:`optlib.torch_bridge`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .data import batches
from .lr_scheduler import LambdaLR
from .models import softmax_regression_init, softmax_regression_loss_grad

__all__ = ["inverse_sqrt", "reddi_gradient", "reddi_run", "reddi_run_torch", "WilsonData", "wilson_data",
           "least_squares_fit", "sign_error", "noise_decay_run", "sgd_decay_run", "train_softmax"]


def inverse_sqrt(k):
    """``1 / sqrt(k + 1)``: with :class:`~optlib.lr_scheduler.LambdaLR`, step t (from 1) uses lr / sqrt(t)."""
    return 1.0 / math.sqrt(k + 1)


# --------------------------------------------------------------------------
# Reddi et al. 2018: Adam's non-convergence
# --------------------------------------------------------------------------
def reddi_gradient(t, C=3.0):
    r"""Gradient of :math:`f_t(x) = C x` if ``t % 3 == 1`` else :math:`-x` (t counts from 1).

    Over a period of three steps the losses sum to :math:`(C - 2) x`, so for
    C > 2 the best fixed point in [-1, 1] is x = -1.
    """
    return float(C) if t % 3 == 1 else -1.0


def reddi_run(optimizer, steps=10_000, C=3.0, x0=0.0, lr=0.1, decay=True, **hyper):
    """Positions ``x_0..x_steps`` of ``optimizer`` on Reddi et al.'s problem, projected on [-1, 1].

    ``optimizer`` is an optlib class (``Adam``, ``SGD``...) built with
    ``lr`` and ``**hyper`` (e.g. ``betas=(0, 1 / (1 + C**2)), amsgrad=True``).
    After each step x is clipped to [-1, 1] (the projection of the paper).
    ``decay=True`` uses the step size ``lr / sqrt(t)`` of the paper's analysis.
    """
    x = np.array([float(x0)])
    opt = optimizer([x], lr=lr, **hyper)
    schedule = LambdaLR(opt, inverse_sqrt) if decay else None
    xs = np.empty(steps + 1)
    xs[0] = x[0]
    g = np.empty(1)
    for t in range(1, steps + 1):
        g[0] = reddi_gradient(t, C)
        opt.step([g])
        np.clip(x, -1.0, 1.0, out=x)                     # projection on the feasible set
        xs[t] = x[0]
        if schedule:
            schedule.step()
    return xs


def reddi_run_torch(*args, **kwargs):
    """Moved to :func:`optlib.torch_bridge.reddi_run_torch` (torch lives there); this forwards to it."""
    from .torch_bridge import reddi_run_torch as run

    return run(*args, **kwargs)


# --------------------------------------------------------------------------
# Wilson et al. 2017: adaptive methods and generalisation
# --------------------------------------------------------------------------
class WilsonData(NamedTuple):
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _wilson_features(y, unique_offset, d):
    """Rows x with x_1 = y, x_2 = x_3 = 1, and 1 (y = +1) or 5 (y = -1) features of their own."""
    X = np.zeros((len(y), d))
    X[:, 0] = y
    X[:, 1] = X[:, 2] = 1.0
    if unique_offset is not None:
        for i, yi in enumerate(y):
            j = unique_offset + 5 * i
            X[i, j:j + (1 if yi > 0 else 5)] = 1.0
    return X


def wilson_data(n_train=50, n_test=1000, p=0.7, seed=0):
    r"""Wilson et al.'s over-parameterised classification problem (their section 3.3).

    Labels are +1 with probability ``p`` > 1/2, else -1. Example i has
    :math:`x_{i1} = y_i`, :math:`x_{i2} = x_{i3} = 1`, and features
    :math:`4 + 5(i-1), \dots, 4 + 5(i-1) + 2(1 - y_i)` (1-based) set to 1: one
    feature of its own if positive, five if negative. Training uses
    d = 3 + 5 n_train features; a test example's own features are ones no
    training example has, so they are left out of ``X_test`` (their weight
    stays 0 under every method started from 0). Feature 1 *is* the label, so
    a perfect classifier exists.
    """
    if not 0.5 < p < 1.0:
        raise ValueError(f"p must be in (0.5, 1), got {p!r}")
    rng = np.random.default_rng(seed)
    y_train = np.where(rng.random(n_train) < p, 1.0, -1.0)
    y_test = np.where(rng.random(n_test) < p, 1.0, -1.0)
    d = 3 + 5 * n_train
    return WilsonData(_wilson_features(y_train, 3, d), y_train,
                      _wilson_features(y_test, None, d), y_test)


def least_squares_fit(X, y, optimizer, steps=2000, **hyper):
    r"""Full-batch ``optimizer`` from w = 0 on :math:`\tfrac{1}{2n}\|Xw - y\|^2`; returns w.

    From w = 0, gradient descent stays in the row space of X and converges to
    the minimum-norm solution; AdaGrad, RMSProp and Adam do not.
    """
    n = len(y)
    w = np.zeros(X.shape[1])
    opt = optimizer([w], **hyper)
    for _ in range(steps):
        opt.step([X.T @ (X @ w - y) / n])
    return w


def sign_error(w, X, y):
    """Fraction of rows whose prediction sign(X w) is not the label (a score of 0 counts as wrong)."""
    return float(np.mean(np.sign(X @ w) != y))


# --------------------------------------------------------------------------
# Weight decay: L2 against decoupled
# --------------------------------------------------------------------------
def _noise(sigmas, steps, seed, dtype):
    sigmas = np.asarray(sigmas, dtype=float)
    return (np.random.default_rng(seed).standard_normal((steps, len(sigmas))) * sigmas).astype(dtype)


def noise_decay_run(optimizer, sigmas=(10.0, 1.0, 0.01), steps=3000, lr=1e-3, weight_decay=0.1,
                    w0=1.0, seed=0, dtype=np.float64, **hyper):
    r"""Weights after ``steps`` steps on a loss that is pure noise, with weight decay.

    Weight i starts at ``w0`` and sees the gradient :math:`\sigma_i \xi_{t,i}`,
    :math:`\xi \sim N(0, 1)` (the loss :math:`\sum_i \sigma_i \xi_{t,i} w_i`,
    zero on average): the only systematic force is the decay. ``optimizer`` is
    built with ``lr``, ``weight_decay`` and ``**hyper``: ``Adam`` adds
    ``weight_decay * w`` to the gradient (L2), ``AdamW`` multiplies w by
    ``1 - lr * weight_decay`` (decoupled). Every run with the same ``seed``
    sees the same noise; pass a ``np.random.Generator`` as ``seed`` to continue
    drawing from it instead. Returns the path, shape (steps + 1, len(sigmas)).
    """
    xi = _noise(sigmas, steps, seed, dtype)
    w = np.full(len(sigmas), w0, dtype=dtype)
    opt = optimizer([w], lr=lr, weight_decay=weight_decay, **hyper)
    path = np.empty((steps + 1, len(sigmas)), dtype=dtype)
    path[0] = w
    for t in range(steps):
        opt.step([xi[t]])
        path[t + 1] = w
    return path


def sgd_decay_run(decoupled, momentum=0.0, sigmas=(10.0, 1.0, 0.01), steps=3000, lr=1e-3,
                  weight_decay=0.1, w0=1.0, seed=0, dtype=np.float64):
    r"""The noise problem of :func:`noise_decay_run` with SGD and weight decay; returns the final w.

    ``decoupled=False``: L2, torch's ``SGD(weight_decay=...)`` (the decay term
    enters the gradient, hence the momentum buffer). ``decoupled=True``:
    :math:`w \leftarrow (1 - \eta\lambda) w` before a plain SGD step (SGDW),
    so the decay never enters the buffer.
    """
    from .optimizers import SGD

    xi = _noise(sigmas, steps, seed, dtype)
    w = np.full(len(sigmas), w0, dtype=dtype)
    opt = SGD([w], lr=lr, momentum=momentum, weight_decay=0.0 if decoupled else weight_decay)
    shrink = 1.0 - lr * weight_decay
    for t in range(steps):
        if decoupled:
            w *= shrink                                  # w <- (1 - eta lambda) w
        opt.step([xi[t]])
    return w


# --------------------------------------------------------------------------
# Minibatch softmax regression (Kingma & Ba 2015, Fig. 1)
# --------------------------------------------------------------------------
def train_softmax(split, make_optimizer, lr, epochs=20, batch_size=128, seed=0, decay=True, l2=0.0):
    """Train softmax regression on ``split`` with minibatches; returns (losses, params).

    ``make_optimizer(params, lr)`` builds the optimizer. ``decay=True`` sets the
    step size to ``lr / sqrt(t)`` at step t (Kingma & Ba's logistic regression
    runs) with ``LambdaLR(opt, inverse_sqrt)``. ``losses[e]`` is the full training loss after epoch e (``losses[0]``
    before training); a run whose loss is not finite stops and fills the rest
    with NaN. Batches are drawn from ``np.random.default_rng(seed)``, so two
    optimizers with the same seed see the same batches.
    """
    X, y = split.X_train, split.y_train
    params = softmax_regression_init(X.shape[1], int(y.max()) + 1, dtype=X.dtype)
    opt = make_optimizer(params, lr)
    schedule = LambdaLR(opt, inverse_sqrt) if decay else None
    rng = np.random.default_rng(seed)
    losses = np.full(epochs + 1, np.nan)
    losses[0] = softmax_regression_loss_grad(params, X, y, l2)[0]
    for e in range(1, epochs + 1):
        for idx in batches(len(y), batch_size, rng):
            _, grads = softmax_regression_loss_grad(params, X[idx], y[idx], l2)
            if not all(np.isfinite(g).all() for g in grads):
                return losses, params
            opt.step(grads)
            if schedule:
                schedule.step()                          # lr / sqrt(t + 1) for the next step
        loss = softmax_regression_loss_grad(params, X, y, l2)[0]
        if not math.isfinite(loss):
            return losses, params
        losses[e] = loss
    return losses, params
