"""Exercise 06, the capstone: ``train(X, y, epochs, lr, seed) -> [W, b]`` with the student's own Adam.

Two questions: the pasted ``adam_step`` (``capstone_adam_step``, the cases of
exercise 05: a wrong Adam can still reach the accuracy target) and ``train``
(``train_digits``, judged by the test accuracy of the returned weights,
computed here on a test set the student's code never sees).
"""
from __future__ import annotations

import copy

import numpy as np

from .. import functional as F
from .. import models
from .. import optimizers as O
from .compare import as_array, describe_value
from .ex05_adam_step import adam_question
from .question import Question, Verdict

__all__ = ["QUESTIONS", "REFERENCES", "ACCURACY", "BATCH"]

ACCURACY = 0.93
BATCH = 64


def reference_train(X, y, epochs, lr, seed):
    """Minibatch softmax regression trained with optlib's Adam (batch 64, torch's defaults)."""
    from ..data import batches
    rng = np.random.default_rng(seed)
    params = models.softmax_regression_init(X.shape[1], 10)
    opt = O.Adam(params, lr=lr)
    for _ in range(epochs):
        for idx in batches(len(y), BATCH, rng):
            _, grads = models.softmax_regression_loss_grad(params, X[idx], y[idx])
            opt.step(grads)
    return params


class CapstoneQuestion(Question):
    """Judged by the test accuracy of the returned parameters, computed here, not by the student."""

    def __init__(self):
        super().__init__("train_digits", "train", 4, model=None, make_cases=self._cases,
                         outputs=("params",), inputs=("X", "y"))

    @staticmethod
    def _cases(hidden):
        from ..data import digits
        d = digits(seed=0)
        cases = [dict(X=d.X_train, y=d.y_train, epochs=10, lr=0.01, seed=0)]
        if hidden:
            cases.append(dict(X=d.X_train, y=d.y_train, epochs=10, lr=0.01, seed=1))
        return cases

    def reference(self, **case):
        return reference_train(**copy.deepcopy(case))

    def accuracy(self, params):
        from ..data import digits
        d = digits(seed=0)
        W, b = (np.asarray(p, dtype=np.float64) for p in params)
        return models.accuracy([W, b], d.X_test, d.y_test)

    def _judge(self, cases, outputs, afters, expected):
        for i, (case, got) in enumerate(zip(cases, outputs)):
            msg = self._one(case, got)
            if msg:
                return Verdict(False, msg, i)
        for i, (case, after) in enumerate(zip(cases, afters or [None] * len(cases))):
            bad = self.inputs_changed(case, after) if after is not None else None
            if bad:
                return Verdict(False, bad, i)
        return Verdict(True)

    def _one(self, case, got):
        if got is None:
            return "train returned None: return the trained parameters [W, b]"
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return f"train should return the parameters [W, b]; it returned {describe_value(got)}"
        n_features = np.shape(case["X"])[1]
        arrays = []
        for name, p, shape in zip(("W", "b"), got, ((n_features, 10), (10,))):
            a = as_array(p)
            if a is None:
                return f"{name} should be a numpy array; train returned {describe_value(p)}"
            if a.shape != shape:
                return f"{name} has shape {a.shape} but should have shape {shape}"
            arrays.append(np.asarray(a, dtype=np.float64))
        W, b = arrays
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            return ("the parameters contain nan or inf: is the learning rate too large, "
                    "or does t start at 0 (division by 1 - beta**0 = 0)?")
        if not np.any(W):
            return "W is still all zeros: are the parameters updated by your adam_step?"
        acc = self.accuracy([W, b])
        if acc < ACCURACY:
            return (f"test accuracy {acc:.3f} is below {ACCURACY}: check that every parameter gets an "
                    f"Adam step each minibatch, that t counts steps from 1, and that v, s and t persist "
                    f"across minibatches")
        return None

    def inputs_changed(self, before, after):
        msg = super().inputs_changed(before, after)
        return msg and msg.replace("(write `w_new = w - ...`, not `w -= ...`)", "(X and y are the data)")

    def summary(self, outputs):
        acc = min(self.accuracy(p) for p in outputs)
        return f"test accuracy {acc:.3f}, needs >= {ACCURACY}"

    def describe(self, case):
        return f"epochs={case['epochs']}, lr={case['lr']:g}, seed={case['seed']}"


QUESTIONS = [adam_question("capstone_adam_step", 2), CapstoneQuestion()]
_ALL = [F.adam_step, O.Adam, O.AdamW, O.SGD, O.RMSProp, O.Adagrad]
REFERENCES = {"capstone_adam_step": [F.adam_step, O.Adam, O.AdamW], "train_digits": _ALL}
