"""The adaptive family (RMSProp, Adam, AdamW, AMSGrad): one model, one table of known mistakes.

:func:`model` computes one step in torch's convention (``torch/optim/rmsprop.py``,
``adam.py``, ``adamw.py``: eps outside the root, Adam's correction at step t,
AdamW's decay ``w (1 - lr wd)`` before the moments, AMSGrad's maximum of the
RAW second moment) and, with a flag, one known mistake. RMSProp is the model
with no first moment (the step divides g itself) and no bias correction.

The tables hold each mistake once. Their messages use placeholders filled per
question (``$root`` is ``sqrt(s_t)`` for RMSProp, ``sqrt(s_hat)`` for Adam).
"""
from __future__ import annotations

import math

import numpy as np

from .question import Mistake

__all__ = ["model", "mistakes", "RMSPROP", "ADAM", "AMSGRAD",
           "SECOND_MOMENT", "FIRST_MOMENT", "DECOUPLED_DECAY", "MAXIMUM"]


def _average(old, x, beta, how):
    if how == "swapped":               # beta on the new value
        return (1.0 - beta) * old + beta * x
    if how == "sum":                   # no (1 - beta) on the new value
        return beta * old + x
    return beta * old + (1.0 - beta) * x


def model(w, g, s, lr, beta2, eps, *, v=None, beta1=0.0, t=1, weight_decay=None, s_max=None,
          eps_in_sqrt=False, no_eps=False, eps_precedence=False, eps_hat=False, no_sqrt=False,
          square="g2", s_weight="avg", v_weight="avg", swap=False, old=False, sign=1.0,
          bias="both", t_shift=0, power_mul=False, return_hat=False, decay="decoupled", ams="torch"):
    """One step of the family; returns ``{"w_new", "v_new", "s_new", "s_max_new"}`` (float64).

    With ``v=None`` it is RMSProp (``beta2`` is RMSProp's beta, no first
    moment, no correction). ``weight_decay`` makes it AdamW, ``s_max`` AMSGrad.
    Every other keyword is a mistake switch; its default is torch's convention.
    """
    w, g, s = (np.asarray(a, dtype=np.float64) for a in (w, g, s))
    adam = v is not None
    eps = 0.0 if no_eps else eps
    if weight_decay is not None:
        if decay == "decoupled":                    # torch AdamW: w (1 - lr wd), then Adam
            w = w * (1.0 - lr * weight_decay)
        elif decay == "no_lr":
            w = w * (1.0 - weight_decay)
        elif decay == "plus":
            w = w * (1.0 + lr * weight_decay)
        elif decay == "l2":                         # torch Adam's weight_decay: g + wd w
            g = g + weight_decay * w
    b1, b2 = (beta2, beta1) if swap else (beta1, beta2)
    x = {"g2": g * g, "g": g, "abs": np.abs(g)}[square]
    s1 = _average(s, x, b2, s_weight)                          # s_t
    if adam:
        v = np.asarray(v, dtype=np.float64)
        v1 = _average(v, g, b1, v_weight)                       # v_t
    else:
        v = v1 = g
    c1 = c2 = 1.0
    if adam and bias != "none":
        tt = t + t_shift
        power = (lambda b: b * tt) if power_mul else (lambda b: b ** tt)
        c1 = 1.0 - power(b1) if bias in ("both", "v") else 1.0
        c2 = 1.0 - power(b2) if bias in ("both", "s") else 1.0
    smax1 = None
    den_s, den_c2 = (s if old else s1), c2                     # what the step divides by
    if s_max is not None:
        smax = np.asarray(s_max, dtype=np.float64)
        if ams == "hat":                                       # optax: max of the corrected s_hat
            smax1 = np.maximum(smax, s1 / c2)
            den_c2 = 1.0
        elif ams == "before":
            smax1 = np.maximum(smax, s)
        elif ams == "g2":
            smax1 = np.maximum(smax, x)
        elif ams == "min":
            smax1 = np.minimum(smax, s1)
        elif ams == "adam":                                    # plain Adam: no maximum at all
            smax1 = smax
        else:                                                  # torch: max of the raw s_t
            smax1 = np.maximum(smax, s1)
        if ams not in ("unused", "adam"):
            den_s = smax if old else smax1
    vv = v if old else v1
    if eps_hat:        # Keras's Adam: lr sqrt(c2)/c1 * v / (sqrt(s) + eps)
        step = lr * math.sqrt(den_c2) / c1 * vv / (np.sqrt(den_s) + eps)
    elif eps_precedence:            # w - lr * v_hat / np.sqrt(s_hat) + eps: eps lands on w
        step = lr * (vv / c1) / np.sqrt(den_s / den_c2) - eps
    else:
        sh = den_s / den_c2
        den = sh + eps if no_sqrt else (np.sqrt(sh + eps) if eps_in_sqrt else np.sqrt(sh) + eps)
        step = lr * (vv / c1) / den
    w1 = w - sign * step
    if weight_decay is not None and decay == "after":
        w1 = w1 * (1.0 - lr * weight_decay)
    v_out, s_out = (v1 / c1, s1 / c2) if return_hat else (v1, s1)
    if ams == "s_is_max" and smax1 is not None:
        s_out = smax1
    return {"w_new": w1, "v_new": v_out, "s_new": s_out, "s_max_new": smax1}


# --------------------------------------------------------------------------
# The mistakes, each written once
# --------------------------------------------------------------------------
SECOND_MOMENT = [
    Mistake("eps_in_sqrt", "eps is inside the square root: torch divides by $root + eps, not by "
            "sqrt($s + eps) (Keras's and optax's RMSprop put it inside)", eps_in_sqrt=True),
    Mistake("no_eps", "eps is missing: divide by $root + eps (without it a weight whose gradient has "
            "always been 0 gets 0/0 = nan)", no_eps=True),
    Mistake("eps_precedence", "eps is added to w instead of to $root: check your brackets, "
            "$bracket", eps_precedence=True),
    Mistake("no_sqrt", "the square root is missing: divide by $root + eps, not by $s + eps", no_sqrt=True),
    Mistake("g_not_squared", "you averaged g where g squared belongs: s_t tracks g_t^2, not g_t",
            square="g"),
    Mistake("abs_g", "you averaged the gradient's magnitude |g_t| where its square belongs: "
            "s_t = $beta s_{t-1} + (1 - $beta) g_t^2, and the step divides by the square root of that "
            "average (a root mean square: the 'magnitude' the notes mean)", square="abs"),
    Mistake("abs_g_no_sqrt", "you averaged the gradient's magnitude |g_t| and divided by that average; "
            "s_t averages the SQUARED gradient g_t^2 and the step divides by its square root "
            "(the root mean square)", square="abs", no_sqrt=True),
    Mistake("s_on_new", "$beta weights the new value instead of the old average: "
            "s_t = $beta s_{t-1} + (1 - $beta) g_t^2 ($beta multiplies the OLD s)", s_weight="swapped"),
    Mistake("s_sum", "the new g_t^2 is not weighted by 1 - $beta: s_t = $beta s_{t-1} + (1 - $beta) g_t^2 "
            "is an average, not a leaky sum", s_weight="sum"),
    Mistake("old_moments", "the step uses the old $olds: $order", old=True),
    Mistake("sign", "the step has the wrong sign: w_t = w_{t-1} MINUS the step (descent goes downhill)",
            sign=-1.0),
]

FIRST_MOMENT = [
    Mistake("no_bias_correction", "the bias correction is missing: use v_hat = v_t / (1 - beta1**t) and "
            "$s_corrected (without it the step at t=1 is about 3.16x too large with the default betas)",
            bias="none"),
    Mistake("bias_v_only", "only v is bias-corrected: $s_corrected is missing", bias="v"),
    Mistake("bias_s_only", "only s is bias-corrected: v_hat = v_t / (1 - beta1**t) is missing", bias="s"),
    Mistake("t_plus_one", "t is off by one (you used t + 1): the t passed in is already the "
            "current step, counting from 1", t_shift=1),
    Mistake("t_minus_one", "t is off by one (you used t - 1): the t passed in is already the "
            "current step, counting from 1", t_shift=-1),
    Mistake("power_mul", "the correction multiplies beta by t: it divides by 1 - beta1**t and "
            "1 - beta2**t, beta to the POWER t", power_mul=True),
    Mistake("swap_betas", "beta1 and beta2 are swapped: beta1 belongs to v (the gradient), "
            "beta2 to s (the squared gradient)", swap=True),
    Mistake("v_on_new", "beta1 weights the new gradient instead of the old average: "
            "v_t = beta1 v_{t-1} + (1 - beta1) g_t", v_weight="swapped"),
    Mistake("v_sum", "the new g_t is not weighted by 1 - beta1: Adam's v_t = beta1 v_{t-1} + (1 - beta1) g_t "
            "is an average (torch's SGD momentum buffer is the one that adds the whole g_t)", v_weight="sum"),
    Mistake("return_hat", "you returned the bias-corrected v_hat and s_hat; return the raw v_t and s_t "
            "(the next step updates the raw averages)", return_hat=True),
    Mistake("eps_hat", "you used Keras's 'epsilon hat' form (the correction folded into the learning rate, "
            "eps added to sqrt(s_t) before correcting); torch adds eps to $root", eps_hat=True),
]

DECOUPLED_DECAY = [
    Mistake("l2", "this is Adam with L2 regularisation (weight_decay * w added to the gradient, as "
            "torch.optim.Adam's weight_decay does); AdamW decays the weights directly: "
            "w <- w (1 - lr * weight_decay), and the moments never see the decay", decay="l2"),
    Mistake("no_lr", "the decay is not multiplied by the learning rate: torch uses "
            "w <- w (1 - lr * weight_decay)", decay="no_lr"),
    Mistake("after", "the decay is applied after the Adam step; torch decays the weights first, "
            "then takes the Adam step from the decayed weights", decay="after"),
    Mistake("no_decay", "there is no weight decay at all: w <- w (1 - lr * weight_decay) first",
            decay="none"),
    Mistake("plus", "the decay has the wrong sign: w <- w (1 - lr * weight_decay) shrinks the weights",
            decay="plus"),
]

MAXIMUM = [
    Mistake("max_of_hat", "you kept the maximum of the bias-corrected s_hat (optax's amsgrad does that); "
            "torch keeps the maximum of the RAW s_t, s_max_t = max(s_max_{t-1}, s_t), and corrects it "
            "at each step: sqrt(s_max_t / (1 - beta2**t)) + eps", ams="hat"),
    Mistake("max_unused", "s_max_t is right, but the step divides by sqrt(s_hat): AMSGrad divides by "
            "sqrt(s_max_t / (1 - beta2**t)) + eps", ams="unused"),
    Mistake("no_max", "this is plain Adam: AMSGrad keeps s_max_t = max(s_max_{t-1}, s_t) and the step "
            "divides by its root", ams="adam"),
    Mistake("max_before", "the maximum is taken with the old s_{t-1}: update s_t first, then "
            "s_max_t = max(s_max_{t-1}, s_t)", ams="before"),
    Mistake("max_of_g2", "the maximum is taken with g_t^2 instead of the moving average: "
            "s_max_t = max(s_max_{t-1}, s_t)", ams="g2"),
    Mistake("s_is_max", "you returned the maximum as s_new: s_t stays the plain moving average (the next "
            "step averages from it); only s_max_t keeps the maximum", ams="s_is_max"),
    Mistake("min", "you kept the minimum: s_max_t = max(s_max_{t-1}, s_t) never decreases", ams="min"),
]

# Placeholders per question.
RMSPROP = dict(root="sqrt(s_t)", s="s_t", beta="beta", olds="s_{t-1}",
               order="update s first, then divide by sqrt(s_t) + eps",
               bracket="lr * g / (np.sqrt(s_new) + eps)", s_corrected="")
ADAM = dict(root="sqrt(s_hat)", s="s_hat", beta="beta2", olds="v_{t-1} and s_{t-1}",
            order="update both moments first, then step",
            bracket="lr * v_hat / (np.sqrt(s_hat) + eps)", s_corrected="s_hat = s_t / (1 - beta2**t)")
AMSGRAD = dict(ADAM, root="sqrt(s_max_t / (1 - beta2**t))", s="s_max_t / (1 - beta2**t)",
               olds="v_{t-1} and s_max_{t-1}", order="update v, s and s_max first, then step",
               bracket="lr * v_hat / (np.sqrt(s_max_hat) + eps)",
               s_corrected="s_max_hat = s_max_t / (1 - beta2**t)")


def mistakes(symbols, *tables, skip=()):
    """The mistakes of ``tables`` with ``symbols`` filled in, minus the names in ``skip``."""
    return [m.for_question(**symbols) for table in tables for m in table if m.name not in skip]
