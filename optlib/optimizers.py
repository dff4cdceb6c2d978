"""Optimizer classes with torch.optim's names, hyperparameters, defaults and structure.

Each class is bookkeeping around one equation: it declares its
hyperparameters (torch's names, each with its check), the state it keeps per
parameter (torch's names), and hands each step to the in-place kernel of
``optlib/_kernels.py``, which computes the equations of
:mod:`optlib.functional`::

    params = [np.zeros(3), np.zeros((2, 2))]
    opt = Adam(params, lr=1e-2)
    opt.step(grads)                  # a list of arrays, one per parameter; updates params in place
    opt.param_groups[0]["lr"] = 1e-3 # used from the next step on

Parameter groups, state dicts and the checks are :class:`optlib.optimizer.Optimizer`'s.
Conventions are torch's (``torch.optim``, version 2.13): SGD's momentum buffer
starts as the first gradient; RMSProp and Adam add eps outside the square root;
the step counter is per parameter, and a parameter whose gradient is ``None``
is skipped and does not advance; AdamW multiplies the weights by
``1 - lr * weight_decay`` before the moment updates.

Bad input raises at once with a message naming the argument. A non-finite
gradient raises :class:`NonFiniteGradientError` naming the parameter, *before*
any parameter is changed, so a student sees which weight went NaN rather than a
silent NaN plot. ``check_finite=False`` turns that check off.
"""
from __future__ import annotations

import numpy as np

from . import _kernels as K
from .optimizer import Optimizer
from .validation import NonFiniteGradientError, betas, flag, nonneg, number, unit

__all__ = ["Optimizer", "SGD", "RMSProp", "RMSprop", "Adam", "AdamW", "Adagrad",
           "NonFiniteGradientError"]


def _zeros_if(flag_on, p):
    return np.zeros_like(p) if flag_on else None


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (torch.optim.SGD).

    ``v_t = momentum * v_{t-1} + (1 - dampening) * g_t`` with ``v_1 = g_1``;
    ``w -= lr * v_t`` (Nesterov: ``w -= lr * (g_t + momentum * v_t)``).
    See :func:`optlib.functional.gd_step` and :func:`~optlib.functional.momentum_step`.
    """

    hyperparameters = dict(lr=nonneg, momentum=nonneg, dampening=number, weight_decay=nonneg, nesterov=flag)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, check_finite=True):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov), check_finite)

    def _check_combination(self, h, where):
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            raise ValueError(f"{where}nesterov=True requires momentum > 0 and dampening = 0, "
                             f"got momentum={h['momentum']}, dampening={h['dampening']}")

    def _init_state(self, p, h):
        return {"step": 0, "momentum_buffer": None}         # torch: the buffer is made at first use

    def _update(self, p, g, st, h, scratch):
        v = st["momentum_buffer"]
        first = bool(h["momentum"]) and v is None
        if first:
            v = st["momentum_buffer"] = np.empty_like(p)    # filled with g: v_1 = g_1
        K.blockwise(K.sgd, (p, g, v), scratch, h["lr"], h["momentum"], h["dampening"],
                    h["weight_decay"], h["nesterov"], first)


class RMSProp(Optimizer):
    """RMSProp (Hinton 2012), torch.optim.RMSprop's conventions.

    ``s_t = alpha s_{t-1} + (1-alpha) g_t^2``; ``w -= lr g_t / (sqrt(s_t) + eps)``.
    torch calls the notes' beta ``alpha``. ``eps_in_sqrt=True`` (a teaching
    switch, not torch) uses Keras's and optax's ``sqrt(s_t + eps)``.
    See :func:`optlib.functional.rmsprop_step`.
    """

    hyperparameters = dict(lr=nonneg, alpha=unit, eps=nonneg, weight_decay=nonneg, momentum=nonneg,
                           centered=flag, eps_in_sqrt=flag)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, eps_in_sqrt=False, check_finite=True):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, eps_in_sqrt=eps_in_sqrt),
                         check_finite)

    def _init_state(self, p, h):
        return {"step": 0, "square_avg": np.zeros_like(p), "grad_avg": _zeros_if(h["centered"], p),
                "momentum_buffer": _zeros_if(h["momentum"] > 0, p)}

    def _update(self, p, g, st, h, scratch):
        if h["centered"] and st["grad_avg"] is None:       # switched on after the start
            st["grad_avg"] = np.zeros_like(p)
        if h["momentum"] > 0 and st["momentum_buffer"] is None:
            st["momentum_buffer"] = np.zeros_like(p)
        K.blockwise(K.rmsprop, (p, g, st["square_avg"], st["grad_avg"], st["momentum_buffer"]), scratch,
                    h["lr"], h["alpha"], h["eps"], h["weight_decay"], h["momentum"], h["centered"],
                    h["eps_in_sqrt"])


RMSprop = RMSProp  # torch's spelling


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), torch.optim.Adam's conventions.

    ``weight_decay`` adds ``weight_decay * w`` to the gradient (L2, as torch's
    Adam does); for decoupled decay use :class:`AdamW`. Teaching switches (not
    in torch): ``bias_correction=False``, ``eps_in_sqrt=True``.
    See :func:`optlib.functional.adam_step`.
    """

    hyperparameters = dict(lr=nonneg, betas=betas, eps=nonneg, weight_decay=nonneg, amsgrad=flag,
                           bias_correction=flag, eps_in_sqrt=flag)
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, bias_correction=True, eps_in_sqrt=False, check_finite=True):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, bias_correction=bias_correction,
                                      eps_in_sqrt=eps_in_sqrt), check_finite)

    def _init_state(self, p, h):
        return {"step": 0, "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p),
                "max_exp_avg_sq": _zeros_if(h["amsgrad"], p)}

    def _update(self, p, g, st, h, scratch):
        if h["amsgrad"] and st["max_exp_avg_sq"] is None:  # switched on after the start
            st["max_exp_avg_sq"] = np.zeros_like(p)
        s_max = st["max_exp_avg_sq"] if h["amsgrad"] else None
        beta1, beta2 = h["betas"]
        K.blockwise(K.adam, (p, g, st["exp_avg"], st["exp_avg_sq"], s_max), scratch, st["step"], h["lr"],
                    beta1, beta2, h["eps"], h["weight_decay"], self._decoupled, h["bias_correction"],
                    h["eps_in_sqrt"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), torch.optim.AdamW.

    ``w *= 1 - lr * weight_decay`` before the Adam step: the decay is
    multiplied by lr and is *not* divided by sqrt(s_hat), unlike L2 in Adam.
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, bias_correction=True, eps_in_sqrt=False, check_finite=True):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, bias_correction=bias_correction,
                         eps_in_sqrt=eps_in_sqrt, check_finite=check_finite)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), torch.optim.Adagrad's conventions.

    ``s_t = s_{t-1} + g_t^2`` from ``s_0 = initial_accumulator_value``;
    ``w -= lr_t g_t / (sqrt(s_t) + eps)`` with ``lr_t = lr / (1 + (t-1) lr_decay)``.
    As in torch 2.13, every sum starts at the *constructor's*
    ``initial_accumulator_value``; a group's own value is kept but not used.
    See :func:`optlib.functional.adagrad_step`.
    """

    hyperparameters = dict(lr=nonneg, lr_decay=nonneg, weight_decay=nonneg,
                           initial_accumulator_value=nonneg, eps=nonneg)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, *, check_finite=True):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps),
                         check_finite)

    def _init_state(self, p, h):
        return {"step": 0, "sum": np.full_like(p, self.defaults["initial_accumulator_value"])}

    def _update(self, p, g, st, h, scratch):
        K.blockwise(K.adagrad, (p, g, st["sum"]), scratch, st["step"], h["lr"], h["eps"], h["lr_decay"],
                    h["weight_decay"])
