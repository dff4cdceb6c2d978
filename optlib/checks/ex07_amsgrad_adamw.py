"""Exercise 07: ``amsgrad_step`` and ``adamw_step``, both in torch's convention (``torch/optim/adam.py``, ``adamw.py``).

AMSGrad (Reddi et al. 2018) as torch implements it: s_max_t = max(s_max_{t-1}, s_t) of the RAW
second moment, and the step divides by sqrt(s_max_t / (1 - beta2**t)) + eps.
AdamW (Loshchilov & Hutter): w <- w (1 - lr weight_decay), then the Adam step.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import optimizers as O
from . import adaptive
from .cases import f32, rng
from .ex05_adam_step import adam_cases, adam_model
from .question import Question

__all__ = ["QUESTIONS", "REFERENCES"]


def _amsgrad_model(w, g, v, s, s_max, t, lr, beta1, beta2, eps, **flags):
    out = adaptive.model(w, g, s, lr, beta2, eps, v=v, beta1=beta1, t=t, s_max=s_max, **flags)
    return out["w_new"], out["v_new"], out["s_new"], out["s_max_new"]


def _amsgrad_cases(hidden):
    r = rng("amsgrad_step")

    def case(shape, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, scale=1.0):
        s = scale**2 * r.uniform(0.2, 1.0, size=shape)
        # s_max >= s (it is a running maximum); where it equals s, a large g_t^2 lifts s_t above it
        ratio = np.where(r.uniform(size=shape) < 0.5, 1.0, r.uniform(1.5, 3.0, size=shape))
        return dict(w=r.normal(0.0, 1.0, size=shape), g=2.0 * scale * r.normal(0.0, 1.0, size=shape),
                    v=scale * r.normal(0.0, 0.3, size=shape), s=s, s_max=s * ratio,
                    t=t, lr=lr, beta1=b1, beta2=b2, eps=eps)

    first = dict(w=np.array([0.5, -1.0, 2.0]), g=np.array([0.2, -3.0, 1.0]), v=np.zeros(3), s=np.zeros(3),
                 s_max=np.zeros(3), t=1, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    cases = [first,
             case((6,), 3, lr=0.05, b2=0.9),
             case((5,), 10, lr=0.02, b1=0.8, b2=0.99),
             case((6,), 4, lr=0.1, b1=0.5, b2=0.9, eps=1e-2, scale=0.1)]
    if hidden:
        cases += [case((3, 4), 2, lr=1e-3, b2=0.99),
                  case((2, 5), 50, lr=0.01, b1=0.95, b2=0.9),
                  f32(case((6,), 5, lr=0.01, b2=0.9), ("w", "g", "v", "s", "s_max"))]
        zero = case((4,), 6, lr=0.01, b2=0.9)
        zero["g"] = np.zeros(4)
        cases.append(zero)
    return cases


QUESTIONS = [
    Question("amsgrad_step", "amsgrad_step", 3, model=_amsgrad_model, make_cases=_amsgrad_cases,
             outputs=("w_new", "v_new", "s_new", "s_max_new"), inputs=("w", "g", "v", "s", "s_max"),
             updates={"w_new": "w", "v_new": "v", "s_new": "s", "s_max_new": "s_max"},
             mistakes=adaptive.mistakes(adaptive.AMSGRAD, adaptive.MAXIMUM, adaptive.SECOND_MOMENT,
                                        adaptive.FIRST_MOMENT),
             step_of=("w", 0)),
    Question("adamw_step", "adamw_step", 3,
             model=adam_model,
             make_cases=lambda hidden: adam_cases(hidden, qid="adamw_step", weight_decay=0.1),
             outputs=("w_new", "v_new", "s_new"), inputs=("w", "g", "v", "s"),
             updates={"w_new": "w", "v_new": "v", "s_new": "s"},
             mistakes=adaptive.mistakes(adaptive.ADAM, adaptive.DECOUPLED_DECAY, adaptive.SECOND_MOMENT,
                                        adaptive.FIRST_MOMENT),
             step_of=("w", 0)),
]
REFERENCES = {"amsgrad_step": [F.adam_step, O.Adam, O.AdamW], "adamw_step": [F.adam_step, O.Adam, O.AdamW]}
