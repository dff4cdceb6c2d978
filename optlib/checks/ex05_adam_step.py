"""Exercise 05: one Adam step, ``adam_step(w, g, v, s, t, lr, beta1, beta2, eps) -> (w_new, v_new, s_new)``.

torch's convention (``torch/optim/adam.py``): eps added to sqrt(s_hat), t counts from 1.
The capstone (exercise 06) grades its pasted copy of ``adam_step`` with the same cases.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import optimizers as O
from . import adaptive
from .cases import f32, rng
from .question import Question

__all__ = ["QUESTIONS", "REFERENCES", "adam_question", "adam_cases", "adam_model"]


def adam_model(w, g, v, s, t, lr, beta1, beta2, eps, weight_decay=None, **flags):
    out = adaptive.model(w, g, s, lr, beta2, eps, v=v, beta1=beta1, t=t, weight_decay=weight_decay, **flags)
    return out["w_new"], out["v_new"], out["s_new"]


def adam_cases(hidden, qid="adam_step", weight_decay=None):
    """Cases for one Adam (or, with ``weight_decay``, AdamW) step."""
    r = rng(qid)

    def case(shape, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, scale=1.0):
        c = dict(w=r.normal(0.0, 1.0, size=shape), g=scale * r.normal(0.0, 1.0, size=shape),
                 v=scale * r.normal(0.0, 0.3, size=shape), s=scale**2 * r.uniform(0.2, 1.0, size=shape),
                 t=t, lr=lr, beta1=b1, beta2=b2, eps=eps)
        if weight_decay is not None:
            c["weight_decay"] = weight_decay
        return c

    first = dict(w=np.array([0.5, -1.0, 2.0]), g=np.array([0.2, -3.0, 1.0]), v=np.zeros(3), s=np.zeros(3),
                 t=1, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    if weight_decay is not None:
        first["weight_decay"] = weight_decay
    cases = [first,
             case((4,), 2, lr=0.05),
             case((5,), 10, lr=0.02, b1=0.8, b2=0.99),
             case((3,), 3, lr=0.1, b1=0.5, b2=0.9, eps=1e-2, scale=0.1)]
    if hidden:
        cases += [case((3, 4), 1, lr=1e-3),
                  case((2, 5), 50, lr=0.01, b1=0.95, b2=0.9),
                  case((4,), 7, lr=0.05, eps=0.3, scale=0.3),
                  f32(case((6,), 4, lr=0.01), ("w", "g", "v", "s"))]
        zero = dict(case((3,), 5, lr=0.01))
        zero["g"] = np.zeros(3)
        cases.append(zero)
        fresh = dict(case((4,), 1, lr=0.01))        # a weight whose gradient has always been 0
        fresh["g"] = np.array([0.0, 1.0, 0.0, -2.0])
        fresh["v"], fresh["s"] = np.zeros(4), np.zeros(4)
        cases.append(fresh)
    return cases


def adam_question(qid, points):
    return Question(qid, "adam_step", points, model=adam_model, make_cases=lambda hidden: adam_cases(hidden),
                    outputs=("w_new", "v_new", "s_new"), inputs=("w", "g", "v", "s"),
                    updates={"w_new": "w", "v_new": "v", "s_new": "s"},
                    mistakes=adaptive.mistakes(adaptive.ADAM, adaptive.SECOND_MOMENT, adaptive.FIRST_MOMENT),
                    step_of=("w", 0))


QUESTIONS = [adam_question("adam_step", 4)]
REFERENCES = {"adam_step": [F.adam_step, O.Adam, O.AdamW]}
