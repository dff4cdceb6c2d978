"""Exercise 02: one momentum step in torch's convention, ``momentum_step(w, g, v, lr, beta) -> (w_new, v_new)``.

torch's SGD buffer (``torch/optim/sgd.py``): v_t = beta v_{t-1} + g_t, w_t = w_{t-1} - lr v_t.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import optimizers as O
from .cases import f32, rng
from .question import Mistake, Question

__all__ = ["QUESTIONS", "REFERENCES"]


def _model(w, g, v, lr, beta, *, ema_style=False, beta_on_new=False, lr_inside=False,
           old_v=False, sign=1.0, nesterov=False, keras=False):
    w, g, v = (np.asarray(a, dtype=np.float64) for a in (w, g, v))
    if keras:                       # Keras: velocity = beta velocity - lr g; w += velocity
        v1 = beta * v - lr * g
        return w + v1, v1
    if ema_style:
        v1 = beta * v + (1.0 - beta) * g
    elif beta_on_new:
        v1 = (1.0 - beta) * v + beta * g
    elif lr_inside:
        v1 = beta * v + lr * g
    else:
        v1 = beta * v + g
    if lr_inside:
        step = v1
    elif nesterov:
        step = lr * (g + beta * v1)
    else:
        step = lr * (v if old_v else v1)
    return w - sign * step, v1


_MISTAKES = [
    Mistake("ema_style", "you used the notes' moving average v_t = beta v_{t-1} + (1 - beta) g_t; "
            "torch's buffer is v_t = beta v_{t-1} + g_t (no 1 - beta factor)", ema_style=True),
    Mistake("beta_on_new", "beta weights the new gradient instead of the old buffer: "
            "v_t = beta v_{t-1} + g_t", beta_on_new=True),
    Mistake("lr_inside", "the learning rate is inside the buffer (v_t = beta v_{t-1} + lr g_t); in torch "
            "the buffer holds gradients only and the step is lr * v_t", lr_inside=True),
    Mistake("keras_velocity", "this is Keras's velocity (v_t = beta v_{t-1} - lr g_t, w_t = w_{t-1} + v_t); "
            "torch's buffer holds gradients: v_t = beta v_{t-1} + g_t, w_t = w_{t-1} - lr v_t", keras=True),
    Mistake("old_v", "the step uses the old buffer v_{t-1}: update v first, then step by lr * v_t",
            old_v=True),
    Mistake("sign", "the step has the wrong sign: w_t = w_{t-1} MINUS lr * v_t", sign=-1.0),
    Mistake("nesterov", "this is Nesterov momentum (step lr * (g_t + beta v_t)); the question asks for "
            "plain momentum, step lr * v_t", nesterov=True),
]


def _cases(hidden):
    r = rng("momentum_step")

    def case(shape, lr, beta):
        return dict(w=r.normal(0.0, 1.0, size=shape), g=r.normal(0.0, 1.0, size=shape),
                    v=r.normal(0.0, 1.0, size=shape), lr=lr, beta=beta)

    cases = [dict(w=np.array([1.0, -1.0]), g=np.array([0.5, 2.0]), v=np.zeros(2), lr=0.1, beta=0.9),
             case((4,), 0.05, 0.9),
             case((3,), 0.2, 0.5)]
    if hidden:
        cases += [case((2, 3), 0.01, 0.99), case((5,), 0.1, 0.0),
                  f32(case((4,), 0.05, 0.8), ("w", "g", "v"))]
    return cases


QUESTIONS = [
    Question("momentum_step", "momentum_step", 2, model=_model, make_cases=_cases, outputs=("w_new", "v_new"),
             inputs=("w", "g", "v"), updates={"w_new": "w", "v_new": "v"}, mistakes=_MISTAKES,
             step_of=("w", 0)),
]
REFERENCES = {"momentum_step": [F.momentum_step, O.SGD]}
