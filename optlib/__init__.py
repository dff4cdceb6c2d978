"""optlib: adaptive gradient optimizers in numpy, for teaching.

The math lives in plain functions (:mod:`optlib.functional`), the bookkeeping
in torch-style classes (:mod:`optlib.optimizers`, with ``param_groups`` and
state dicts) and learning-rate schedules in :mod:`optlib.lr_scheduler`. All
follow torch.optim's conventions and match it to 1e-10 in float64.
"""
from . import lr_scheduler
from .functional import (adagrad_step, adam_step, bias_correction_factor, ema, ema_update,
                         gd_step, momentum_step, rms, rmsprop_step)
from .optimizers import (SGD, Adagrad, Adam, AdamW, NonFiniteGradientError, Optimizer, RMSProp,
                         RMSprop)
from .testfunctions import Beale, NoisyQuadratic, Quadratic, Rosenbrock, Saddle
from .trajectory import Trajectory, trajectory

__version__ = "0.1.0"
__all__ = [
    "rms", "ema", "ema_update", "bias_correction_factor", "gd_step", "momentum_step",
    "rmsprop_step", "adam_step", "adagrad_step",
    "Optimizer", "SGD", "RMSProp", "RMSprop", "Adam", "AdamW", "Adagrad", "NonFiniteGradientError",
    "Quadratic", "Rosenbrock", "Beale", "Saddle", "NoisyQuadratic",
    "Trajectory", "trajectory",
]
