r"""Gradient noise: what the moving averages do to it, and why Adam's step measures a signal-to-noise ratio.

A stream of stochastic gradients :math:`g_t = \mu + \sigma\,\xi_t`,
:math:`\xi_t \sim N(0, 1)`, with mean :math:`\mu` (the signal) and standard
deviation :math:`\sigma` (the noise). Two exact facts for such a stream:

* an exponential moving average with decay :math:`\beta` (momentum's and
  Adam's :math:`v_t`) keeps the mean and shrinks the noise's standard
  deviation by :func:`ema_noise_ratio` :math:`= \sqrt{(1-\beta)/(1+\beta)}`
  (0.229 for :math:`\beta = 0.9`), once the start has been forgotten;
* with a long memory :math:`\beta_2`, Adam's :math:`\hat s_t` settles at
  :math:`\mathbb E[g^2] = \mu^2 + \sigma^2`, so its step
  :math:`\eta\,\hat v_t/\sqrt{\hat s_t}` has mean
  :math:`\eta\,\mu/\sqrt{\mu^2+\sigma^2} = \eta\, r/\sqrt{1+r^2}`
  (:func:`snr_step`), where :math:`r = |\mu|/\sigma` is the signal-to-noise
  ratio: about :math:`\eta` when the signal dominates, about :math:`\eta r`
  when the noise does.

:func:`steps_on_stream` measures the step of any optlib optimizer on such a
stream, so both facts can be checked against the real update.
"""
from __future__ import annotations

import math

import numpy as np

from . import _trajectory2d

__all__ = ["gradient_stream", "steps_on_stream", "snr_step", "ema_noise_ratio"]


def gradient_stream(mu, sigma, steps, seed=0):
    r"""``steps`` gradients :math:`g_t = \mu + \sigma \xi_t`, the noise from ``np.random.default_rng(seed)``.

    The same ``seed`` gives the same :math:`\xi_t` for every ``mu`` and
    ``sigma``, so streams with different noise levels differ only in scale.
    """
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    return float(mu) + float(sigma) * np.random.default_rng(seed).standard_normal(steps)


def steps_on_stream(optimizer, grads, **hyper):
    """Each step of ``optimizer`` divided by its learning rate, one per gradient in ``grads``.

    ``grads`` has shape ``(steps,)`` (one weight) or ``(steps, k)`` (k
    independent weights, e.g. k noise levels at once: the update is
    elementwise, so the weights do not interact). The weights are reset to 0
    before every step (the stream does not depend on where they are), so
    ``-w`` after step t is exactly step t of the update rule: for SGD it is
    ``g_t``, for Adam ``v_hat_t / (sqrt(s_hat_t) + eps)``. ``optimizer`` is
    an optlib class built with ``lr=1.0`` and ``**hyper``.
    """
    grads = np.asarray(grads, dtype=float)
    if grads.ndim not in (1, 2) or len(grads) == 0:
        raise ValueError(f"grads must have shape (steps,) or (steps, k), got shape {grads.shape}")
    w, g = np.zeros(grads.shape[1:] or (1,)), np.zeros(grads.shape[1:] or (1,))
    opt = optimizer([w], lr=1.0, **hyper)
    if grads.ndim == 1:
        fast = _trajectory2d.stream(opt, grads)        # the same steps on a Python float, where it applies
        if fast is not None:
            return np.array(fast)
    out = np.empty((len(grads), w.size))
    for t, gt in enumerate(grads):
        w[...] = 0.0
        g[...] = gt
        opt.step([g])
        out[t] = -w
    return out[:, 0] if grads.ndim == 1 else out


def snr_step(r):
    r"""Adam's mean step over :math:`\eta` for signal-to-noise ratio ``r``: :math:`r/\sqrt{1+r^2}`."""
    r = np.asarray(r, dtype=float)
    return r / np.sqrt(1.0 + r * r)


def ema_noise_ratio(beta):
    r"""Standard deviation of an EMA of white noise over that of the noise: :math:`\sqrt{(1-\beta)/(1+\beta)}`."""
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    return math.sqrt((1.0 - beta) / (1.0 + beta))
