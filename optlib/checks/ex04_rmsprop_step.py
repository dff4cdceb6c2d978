"""Exercise 04: one RMSProp step, ``rmsprop_step(w, g, s, lr, beta, eps) -> (w_new, s_new)``, torch's convention."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import optimizers as O
from . import adaptive
from .cases import f32, rng
from .question import Question

__all__ = ["QUESTIONS", "REFERENCES"]


def _model(w, g, s, lr, beta, eps, **flags):
    out = adaptive.model(w, g, s, lr, beta, eps, **flags)
    return out["w_new"], out["s_new"]


def _cases(hidden):
    r = rng("rmsprop_step")

    def case(shape, lr, beta, eps, s_scale=1.0, g_scale=1.0):
        return dict(w=r.normal(0.0, 1.0, size=shape), g=g_scale * r.normal(0.0, 1.0, size=shape),
                    s=s_scale * r.uniform(0.5, 2.0, size=shape), lr=lr, beta=beta, eps=eps)

    cases = [dict(w=np.array([1.0, -2.0, 0.5]), g=np.array([0.3, -1.0, 2.0]), s=np.zeros(3),
                  lr=0.01, beta=0.99, eps=1e-8),
             case((4,), 0.05, 0.9, 1e-8),
             case((5,), 0.1, 0.8, 1e-2, s_scale=1e-2, g_scale=0.1)]
    if hidden:
        cases += [case((3, 4), 0.01, 0.99, 1e-8),
                  case((2, 3), 0.02, 0.9, 0.5, s_scale=0.1),
                  dict(w=np.ones(4), g=np.zeros(4), s=np.zeros(4), lr=0.1, beta=0.9, eps=1e-8),
                  f32(case((6,), 0.05, 0.9, 1e-3), ("w", "g", "s"))]
    return cases


QUESTIONS = [
    Question("rmsprop_step", "rmsprop_step", 3, model=_model, make_cases=_cases, outputs=("w_new", "s_new"),
             inputs=("w", "g", "s"), updates={"w_new": "w", "s_new": "s"},
             mistakes=adaptive.mistakes(adaptive.RMSPROP, adaptive.SECOND_MOMENT), step_of=("w", 0)),
]
REFERENCES = {"rmsprop_step": [F.rmsprop_step, O.RMSProp]}
