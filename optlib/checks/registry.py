"""Every question of every exercise, by id, and the optlib callables each must not call."""
from __future__ import annotations

from . import (ex01_gd_step, ex02_momentum_step, ex03_rms_and_ema, ex04_rmsprop_step, ex05_adam_step,
               ex06_capstone_digits, ex07_amsgrad_adamw, ex09_port_recipe)
from .question import Question

__all__ = ["QUESTIONS", "REFERENCE_FUNCTIONS", "EXERCISES"]

# exercise notebook (exercises/<name>.ipynb) -> its module, in course order
EXERCISES = {
    "01_gd_step": ex01_gd_step,
    "02_momentum_step": ex02_momentum_step,
    "03_rms_and_ema": ex03_rms_and_ema,
    "04_rmsprop_step": ex04_rmsprop_step,
    "05_adam_step": ex05_adam_step,
    "06_capstone_digits": ex06_capstone_digits,
    "07_amsgrad_adamw": ex07_amsgrad_adamw,
    "09_port_recipe": ex09_port_recipe,
}

QUESTIONS: dict[str, Question] = {}
REFERENCE_FUNCTIONS: dict[str, list] = {}
for _module in EXERCISES.values():
    for _q in _module.QUESTIONS:
        assert _q.qid not in QUESTIONS, _q.qid
        QUESTIONS[_q.qid] = _q
    REFERENCE_FUNCTIONS.update(_module.REFERENCES)
del _module, _q
