"""Other frameworks' updates, transcribed into numpy from their source, for the porting exercise.

Each function runs the framework's optimizer on a sequence of gradients (or,
when ``grads`` is a function of the weights, on ``grads(w)`` for ``steps``
steps) and returns the weights after every step (shape ``(steps, *w0.shape)``). The
arguments are the framework's own names and defaults. Read from:

* Keras 3: ``keras/src/optimizers/rmsprop.py``, ``adam.py`` (``update_step``)
  and ``base_optimizer.py`` (``_apply_weight_decay``, applied before
  ``update_step``: ``w <- w - w * weight_decay * lr``);
* optax: ``optax/_src/alias.py`` (``adamw`` = ``scale_by_adam``, then
  ``add_decayed_weights``, then ``scale_by_learning_rate``),
  ``optax/_src/transform.py`` (``scale_by_adam``) and
  ``optax/transforms/_adding.py`` (``add_decayed_weights``: ``u + wd * w``).

Where they differ from torch: Keras's RMSprop adds epsilon INSIDE the root,
``lr g / sqrt(s + eps)``; Keras's Adam uses the paper's "epsilon hat",
``lr sqrt(1 - b2^t)/(1 - b1^t) * m / (sqrt(v) + eps)``; Keras's ``weight_decay``
(any optimizer) decays the weights directly, as torch's AdamW does, while
torch's Adam(weight_decay=...) adds it to the gradient (L2).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["keras_rmsprop", "keras_adam", "optax_adamw"]


def _gradients(grads, steps):
    """(t, gradient function of w) for each step, from a sequence or a function of w."""
    if callable(grads):
        return [(t, grads) for t in range(1, steps + 1)]
    return [(t, (lambda w, g=g: g)) for t, g in enumerate(grads, start=1)]


def keras_rmsprop(w0, grads, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, *,
                  steps=None):
    """keras.optimizers.RMSprop: s = rho s + (1 - rho) g^2; w -= lr g / sqrt(s + eps) (through momentum)."""
    w = np.array(w0, dtype=np.float64)
    s, m, avg = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    path = []
    for _, grad in _gradients(grads, steps):
        g = grad(w)
        s = rho * s + (1.0 - rho) * g * g
        if centered:
            avg = rho * avg + (1.0 - rho) * g
            den = s - avg * avg + epsilon
        else:
            den = s + epsilon
        increment = learning_rate * g / np.sqrt(den)       # epsilon inside the root
        if momentum > 0:
            m = momentum * m + increment                    # lr is inside Keras's momentum buffer
            w = w - m
        else:
            w = w - increment
        path.append(w)
    return np.array(path)


def keras_adam(w0, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
               weight_decay=None, *, steps=None):
    """keras.optimizers.Adam: "epsilon hat" form; weight_decay decays w directly, before the step."""
    w = np.array(w0, dtype=np.float64)
    m, v, v_hat = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    path = []
    for t, grad in _gradients(grads, steps):
        g = grad(w)
        if weight_decay is not None:
            w = w - w * weight_decay * learning_rate
        alpha = learning_rate * math.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
        m = m + (g - m) * (1.0 - beta_1)
        v = v + (g * g - v) * (1.0 - beta_2)
        if amsgrad:
            v_hat = np.maximum(v_hat, v)                     # the maximum of the raw v, like torch
            w = w - m * alpha / (np.sqrt(v_hat) + epsilon)
        else:
            w = w - m * alpha / (np.sqrt(v) + epsilon)
        path.append(w)
    return np.array(path)


def optax_adamw(w0, grads, learning_rate, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4, *, steps=None):
    """optax.adamw: u = m_hat / (sqrt(v_hat) + eps) + wd * w; w -= lr * u."""
    w = np.array(w0, dtype=np.float64)
    mu, nu = np.zeros_like(w), np.zeros_like(w)
    path = []
    for t, grad in _gradients(grads, steps):
        g = grad(w)
        mu = (1.0 - b1) * g + b1 * mu
        nu = (1.0 - b2) * g * g + b2 * nu
        u = (mu / (1.0 - b1**t)) / (np.sqrt(nu / (1.0 - b2**t)) + eps)
        u = u + weight_decay * w
        w = w - learning_rate * u
        path.append(w)
    return np.array(path)
