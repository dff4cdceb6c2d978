"""Tiny models in numpy with hand-written gradients, for optimizers to train.

``softmax_regression`` is multinomial logistic regression: the convex problem
of Kingma and Ba's Fig. 1 and of the exercises' capstone.
"""
from __future__ import annotations

import numpy as np

__all__ = ["softmax_regression_init", "softmax_regression_loss_grad", "accuracy"]


def softmax_regression_init(n_features, n_classes, dtype=np.float64):
    """Weights ``W`` (n_features x n_classes) and bias ``b``, both zero: [W, b]."""
    return [np.zeros((n_features, n_classes), dtype=dtype), np.zeros(n_classes, dtype=dtype)]


def _logits(params, X):
    W, b = params
    return X @ W + b


def softmax_regression_loss_grad(params, X, y, l2=0.0):
    """Mean cross-entropy of softmax(X W + b) against labels ``y``, and its gradients [dW, db].

    ``l2`` adds ``l2/2 * |W|^2`` to the loss.
    """
    W, b = params
    z = _logits(params, X)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.mean(np.log(p[np.arange(n), y] + 1e-300)) + 0.5 * l2 * np.sum(W * W)
    p[np.arange(n), y] -= 1.0
    p /= n
    return float(loss), [X.T @ p + l2 * W, p.sum(axis=0)]


def accuracy(params, X, y):
    """Fraction of ``X`` whose largest logit is the label."""
    return float(np.mean(_logits(params, X).argmax(axis=1) == y))
