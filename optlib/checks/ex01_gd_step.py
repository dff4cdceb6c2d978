"""Exercise 01: one gradient-descent step, ``gd_step(w, g, lr) -> w_new``."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import optimizers as O
from .cases import f32, rng
from .question import Mistake, Question

__all__ = ["QUESTIONS", "REFERENCES"]


def _model(w, g, lr, *, sign=1.0, no_lr=False, step_only=False, divide=False, use_w=False):
    w, g = (np.asarray(a, dtype=np.float64) for a in (w, g))
    d = w if use_w else g
    step = d if no_lr else (d / lr if divide else lr * d)
    return sign * step if step_only else w - sign * step


_MISTAKES = [
    Mistake("sign", "the step has the wrong sign: w_t = w_{t-1} - lr g_t moves against the gradient "
            "(downhill)", sign=-1.0),
    Mistake("no_lr", "the learning rate is missing: the step is lr * g_t, not g_t", no_lr=True),
    Mistake("divide", "you divided the gradient by the learning rate: the step is lr * g_t", divide=True),
    Mistake("step_only", "you returned the step lr * g_t; return the new weights w_t = w_{t-1} - lr g_t",
            step_only=True),
    Mistake("use_w", "the step uses w instead of the gradient g: w_t = w_{t-1} - lr g_t", use_w=True),
]


def _cases(hidden):
    r = rng("gd_step")

    def case(shape, lr):
        return dict(w=r.normal(0.0, 1.0, size=shape), g=r.normal(0.0, 1.0, size=shape), lr=lr)

    cases = [dict(w=np.array([1.0, -2.0, 0.5]), g=np.array([0.5, 1.0, -4.0]), lr=0.1),
             case((4,), 0.3),
             case((5,), 0.02)]
    if hidden:
        cases += [case((3, 4), 0.05), case((2,), 2.5), dict(case((3,), 0.1), g=np.zeros(3)),
                  f32(case((6,), 0.01), ("w", "g"))]
    return cases


QUESTIONS = [
    Question("gd_step", "gd_step", 1, model=_model, make_cases=_cases, outputs=("w_new",),
             inputs=("w", "g"), updates={"w_new": "w"}, mistakes=_MISTAKES, step_of=("w", 0)),
]
REFERENCES = {"gd_step": [F.gd_step, O.SGD]}
