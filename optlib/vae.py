"""A small variational autoencoder in numpy with hand-written gradients.

The model of Kingma and Ba's bias-correction experiment (their Fig. 4),
scaled to scikit-learn's 8x8 digits: 64 pixels -> 100 ReLU units ->
a 10-dimensional Gaussian latent z -> 100 ReLU units -> 64 Bernoulli
logits (the paper used softplus units; ReLU is cheaper in numpy and trains
the same way). Its loss is the negative evidence lower bound per image (in nats)::

    loss = mean over images of [ BCE(x, decoder(z)) + KL(q(z|x) || N(0, I)) ],
    z = mu + exp(logvar / 2) * noise

The noise is an argument, so a gradient check or a repeated evaluation sees
the same z. Parameters are a list of eight numpy arrays that any optlib
optimizer updates in place::

    params = vae.init(rng=np.random.default_rng(0))
    opt = Adam(params, lr=1e-3)
    loss, grads = vae.loss_grad(params, X, vae.noise(len(X), rng))
    opt.step(grads)
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .data import batches
from .optimizers import NonFiniteGradientError

__all__ = ["PARAM_NAMES", "init", "noise", "loss_grad", "loss", "TrainResult", "train"]

#: The eight parameter arrays, in order: encoder (W1, b1), latent mean and
#: log-variance (W2, b2, 2*n_latent columns), decoder (W3, b3, W4, b4).
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4")


def init(n_in=64, n_hidden=100, n_latent=10, *, rng, dtype=np.float64):
    """Random weights (normal, std sqrt(2/fan_in)) and zero biases, as a list of arrays."""
    def w(fan_in, fan_out):
        return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(dtype)

    return [w(n_in, n_hidden), np.zeros(n_hidden, dtype),
            w(n_hidden, 2 * n_latent), np.zeros(2 * n_latent, dtype),
            w(n_latent, n_hidden), np.zeros(n_hidden, dtype),
            w(n_hidden, n_in), np.zeros(n_in, dtype)]


def noise(n, rng, n_latent=10, dtype=np.float64):
    """Standard normal noise for the reparameterisation, one row per image."""
    return rng.standard_normal((n, n_latent)).astype(dtype)


def _bernoulli(logits, X):
    """Summed cross-entropy -log p(X | logits) and the probabilities sigmoid(logits).

    With e = exp(-|l|) (never overflows): softplus(l) = max(l, 0) + log1p(e)
    and sigmoid(l) = 1/(1+e) for l >= 0, e/(1+e) otherwise.
    """
    e = np.exp(-np.abs(logits))
    bce = np.sum(np.maximum(logits, 0.0) + np.log1p(e) - X * logits)
    p = np.where(logits >= 0.0, 1.0, e) / (1.0 + e)
    return bce, p


def loss_grad(params, X, eps, *, grad=True):
    """Negative ELBO per image (mean over the rows of ``X``) and its gradients.

    ``X`` holds images with pixels in [0, 1] (rows); ``eps`` the noise, shape
    (rows, n_latent). Returns ``(loss, [dW1, db1, ..., db4])``, gradients in
    the order of :data:`PARAM_NAMES`, or ``(loss, None)`` with ``grad=False``.
    """
    W1, b1, W2, b2, W3, b3, W4, b4 = params
    n, k = len(X), W3.shape[0]
    # forward
    a1 = X @ W1 + b1
    h1 = np.maximum(a1, 0.0)
    a2 = h1 @ W2 + b2
    mu, logvar = a2[:, :k], a2[:, k:]
    std = np.exp(0.5 * logvar)
    z = mu + std * eps
    a3 = z @ W3 + b3
    h3 = np.maximum(a3, 0.0)
    logits = h3 @ W4 + b4
    bce, prob = _bernoulli(logits, X)                               # -log p(x|z), Bernoulli
    kl = -0.5 * np.sum(1.0 + logvar - mu * mu - std * std)          # KL(N(mu, std^2) || N(0, 1))
    value = float((bce + kl) / n)
    if not grad:
        return value, None
    # backward
    d_logits = (prob - X) / n
    dW4, db4 = h3.T @ d_logits, d_logits.sum(axis=0)
    d_a3 = (d_logits @ W4.T) * (a3 > 0.0)
    dW3, db3 = z.T @ d_a3, d_a3.sum(axis=0)
    d_z = d_a3 @ W3.T
    d_a2 = np.empty_like(a2)
    d_a2[:, :k] = d_z + mu / n                                      # d/dmu of BCE and of KL
    d_a2[:, k:] = 0.5 * d_z * std * eps + 0.5 * (std * std - 1.0) / n
    dW2, db2 = h1.T @ d_a2, d_a2.sum(axis=0)
    d_a1 = (d_a2 @ W2.T) * (a1 > 0.0)
    dW1, db1 = X.T @ d_a1, d_a1.sum(axis=0)
    return value, [dW1, db1, dW2, db2, dW3, db3, dW4, db4]


def loss(params, X, seed=0):
    """The loss on all of ``X`` with fixed noise (``seed``): a reproducible evaluation."""
    k = params[4].shape[0]
    with np.errstate(all="ignore"):
        return loss_grad(params, X, noise(len(X), np.random.default_rng(seed), k, X.dtype), grad=False)[0]


class TrainResult(NamedTuple):
    epoch_loss: np.ndarray      # mean minibatch loss of each epoch (NaN from the divergence on)
    final_loss: float           # loss on all of X after training, fixed noise (NaN if diverged)
    diverged: int | None        # the step whose loss or gradient was not finite, else None
    steps: int                  # optimizer steps taken


def train(params, X, optimizer, *, epochs=10, batch_size=128, seed=0):
    """Train ``params`` in place on ``X`` with ``optimizer`` (built on ``params``).

    Minibatches and noise come from ``np.random.default_rng(seed)``. A run whose
    loss or gradient becomes NaN or inf stops there and reports the step
    (``diverged``) instead of raising, so a grid of settings can include
    learning rates that blow up.
    """
    rng = np.random.default_rng(seed)
    k = params[4].shape[0]
    epoch_loss = np.full(epochs, np.nan)
    t = 0
    for epoch in range(epochs):
        total = 0.0
        for idx in batches(len(X), batch_size, rng):
            t += 1
            with np.errstate(all="ignore"):
                value, grads = loss_grad(params, X[idx], noise(len(idx), rng, k, X.dtype))
            if not np.isfinite(value):
                return TrainResult(epoch_loss, float("nan"), t, t - 1)
            try:
                optimizer.step(grads)
            except NonFiniteGradientError:
                return TrainResult(epoch_loss, float("nan"), t, t - 1)
            total += value * len(idx)
        epoch_loss[epoch] = total / len(X)
    final = loss(params, X)
    return TrainResult(epoch_loss, final, None if np.isfinite(final) else t, t)
