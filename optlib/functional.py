"""The math of the course, one plain function per equation.

Notation follows the lecture notes (``rmsprop-adam-notes.md``):

====================  =========================================  ==================
symbol                meaning                                    argument here
====================  =========================================  ==================
w                     the weights (parameters)                   ``w``
g_t                   the gradient at step t                     ``g``
eta                   the learning rate                          ``lr``
beta                  decay rate of a moving average             ``beta``
v_t                   first moment: moving average of g          ``v``
s_t                   second moment: moving average of g^2       ``s``
beta1, beta2          decay rates of v and s in Adam             ``beta1``, ``beta2``
epsilon               small constant that keeps the step finite  ``eps``
t                     step count, starting at 1                  ``t``
====================  =========================================  ==================

Each step function is its equations, line by line, and follows torch.optim's
conventions exactly (eps *outside* the square root, Adam's bias correction,
SGD's momentum buffer starting at the first gradient). Like torch.optim's
functional kernels they update their arrays *in place*: ``v[...] = ...``
writes the new moment into the caller's array, ``w -= ...`` moves the weights.

Switches that move away from torch's conventions exist for teaching and say
so in their names: ``eps_in_sqrt=True`` (Keras and optax put RMSProp's eps
inside the root) and ``bias_correction=False`` (Adam without its correction).

optlib's optimizer classes run the same equations through fast in-place
kernels (``optlib/_kernels.py``: no temporaries, large arrays in cache-sized
blocks); a test checks that both give the same numbers. The ``buf`` argument
the step functions still accept was their scratch array; it is no longer used.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "rms", "ema", "ema_update", "bias_correction_factor",
    "gd_step", "momentum_step", "rmsprop_step", "adam_step", "adagrad_step",
]


# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------
def rms(x, axis=None):
    r"""Root mean square: :math:`\mathrm{RMS}(x) = \sqrt{\tfrac1n \sum_i x_i^2}`.

    It equals the standard deviation only when the mean of ``x`` is zero; in
    general :math:`\mathrm{RMS}(x)^2 = \mathrm{Var}(x) + \mathrm{mean}(x)^2`.
    """
    x = np.asarray(x, dtype=float)
    return np.sqrt(np.mean(x * x, axis=axis))


def ema_update(avg, x, beta, out=None):
    r"""One step of an exponential moving average, :math:`a_t = \beta a_{t-1} + (1-\beta) x_t`.

    ``beta`` weights the *old* average; ``1 - beta`` the new value. Written to
    ``out`` (which may be ``avg`` itself) when given, else returned as new.
    """
    a = beta * np.asarray(avg) + (1 - beta) * np.asarray(x)
    if out is None:
        return a
    out[...] = a
    return out


def ema(xs, beta, debias=False):
    r"""Exponential moving average of a sequence ``xs`` (first axis is time).

    :math:`a_0 = 0,\ a_t = \beta a_{t-1} + (1-\beta) x_t`. The weight of
    :math:`x_{t-k}` in :math:`a_t` is :math:`(1-\beta)\beta^k`; the weights
    sum to :math:`1-\beta^t`, which is why a zero start biases ``a`` towards
    0. ``debias=True`` divides by that sum, :math:`\hat a_t = a_t/(1-\beta^t)`:
    Adam's bias correction.
    """
    xs = np.asarray(xs, dtype=float)
    out = np.empty_like(xs)
    a = np.zeros_like(xs[0])
    for t, x in enumerate(xs, start=1):
        a = beta * a + (1 - beta) * x
        out[t - 1] = a / (1 - beta**t) if debias else a
    return out


def bias_correction_factor(t, beta1=0.9, beta2=0.999):
    r"""How much Adam's bias correction scales the step at step ``t``.

    With the correction the step is :math:`\eta\,\hat v/\sqrt{\hat s}`; without it
    :math:`\eta\,v/\sqrt{s}`. Their ratio (eps ignored) is
    :math:`\sqrt{1-\beta_2^t}\,/\,(1-\beta_1^t)`: 0.316 at t=1 for the defaults,
    so the correction makes early steps *smaller*, not larger. Works on arrays of t.
    """
    t = np.asarray(t, dtype=float)
    return np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)


# --------------------------------------------------------------------------
# One step of each optimizer (in place)
# --------------------------------------------------------------------------
def gd_step(w, g, lr, *, buf=None):
    r"""Gradient descent: :math:`w_t = w_{t-1} - \eta\, g_t`. Updates ``w`` in place."""
    w -= lr * g
    return w


def momentum_step(w, g, v, lr, beta, *, first=False, dampening=0.0,
                  nesterov=False, ema_style=False, buf=None):
    r"""Gradient descent with momentum, in torch's convention (SGD's momentum buffer).

    torch (default)::

        v_t = beta * v_{t-1} + (1 - dampening) * g_t     (v_1 = g_1: the buffer starts AS the gradient)
        w_t = w_{t-1} - eta * v_t                         (nesterov: eta * (g_t + beta * v_t))

    ``ema_style=True`` is the lecture-notes form, an exponential moving
    average :math:`v_t = \beta v_{t-1} + (1-\beta) g_t` starting from zero;
    it is torch's buffer times ``1-beta`` (after the first steps), so it needs
    a learning rate ``1/(1-beta)`` times larger for the same path.
    ``first=True`` marks the first step (torch copies g into v).

    ================  ========  ======================================
    symbol            argument  other frameworks
    ================  ========  ======================================
    eta               lr        Keras SGD: same buffer, lr inside it
    beta              beta      torch: ``momentum``
    v                 v         torch: ``momentum_buffer``
    ================  ========  ======================================
    Updates ``w`` and ``v`` in place.
    """
    if ema_style:
        v[...] = beta * v + (1 - beta) * g                 # v_t = beta v_{t-1} + (1-beta) g_t
    elif first:
        v[...] = g                                         # v_1 = g_1
    else:
        v[...] = beta * v + (1 - dampening) * g            # v_t = beta v_{t-1} + (1-dampening) g_t
    if nesterov:
        w -= lr * (g + beta * v)                           # look ahead: w_t = w_{t-1} - eta (g_t + beta v_t)
    else:
        w -= lr * v                                        # w_t = w_{t-1} - eta v_t
    return w


def rmsprop_step(w, g, s, lr=1e-2, beta=0.99, eps=1e-8, *, eps_in_sqrt=False,
                 centered=False, m=None, momentum=0.0, b=None, buf=None):
    r"""One RMSProp step, torch's convention.

    .. math::
        s_t = \beta s_{t-1} + (1-\beta) g_t^2 \qquad
        w_t = w_{t-1} - \frac{\eta}{\sqrt{s_t} + \epsilon}\, g_t

    ================  ========  ==============================================
    symbol            argument  other frameworks
    ================  ========  ==============================================
    eta               lr        torch default 1e-2, Keras 1e-3
    beta              beta      torch ``alpha`` (0.99); Keras ``rho``, optax
                                ``decay`` (both 0.9)
    epsilon           eps       torch 1e-8 outside the root; Keras 1e-7 and
                                optax 1e-8 *inside*: ``eps_in_sqrt=True``
    ================  ========  ==============================================

    There is no bias correction: with s_0 = 0 and beta = 0.99 the first step is
    :math:`\eta g/\sqrt{0.01 g^2} = 10\eta` per weight.

    ``centered=True`` also tracks :math:`m_t = \beta m_{t-1} + (1-\beta) g_t`
    (pass ``m``) and divides by :math:`\sqrt{s_t - m_t^2}`, an estimate of the
    gradient's standard deviation. ``momentum > 0`` (pass ``b``) keeps
    :math:`b_t = \mu b_{t-1} + g_t/(\sqrt{s_t}+\epsilon)` and steps by
    :math:`\eta b_t`. Updates ``w``, ``s`` (and ``m``, ``b``) in place.
    """
    s[...] = beta * s + (1 - beta) * g**2                  # s_t = beta s_{t-1} + (1-beta) g_t^2
    if centered:
        m[...] = beta * m + (1 - beta) * g                 # m_t = beta m_{t-1} + (1-beta) g_t
        var = s - m**2                                     # s_t - m_t^2: the variance of g
    else:
        var = s
    if eps_in_sqrt:
        denom = np.sqrt(var + eps)                         # sqrt(s_t + eps)   (Keras, optax)
    else:
        denom = np.sqrt(var) + eps                         # sqrt(s_t) + eps   (torch)
    if momentum > 0:
        b[...] = momentum * b + g / denom                  # b_t = mu b_{t-1} + g_t / (sqrt(s_t) + eps)
        w -= lr * b                                        # w_t = w_{t-1} - eta b_t
    else:
        w -= lr * g / denom                                # w_t = w_{t-1} - eta g_t / (sqrt(s_t) + eps)
    return w


def adam_step(w, g, v, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, *,
              bias_correction=True, eps_in_sqrt=False, s_max=None, buf=None):
    r"""One Adam step (Kingma & Ba 2015), torch's convention.

    .. math::
        v_t = \beta_1 v_{t-1} + (1-\beta_1) g_t \qquad
        s_t = \beta_2 s_{t-1} + (1-\beta_2) g_t^2 \\
        \hat v_t = \frac{v_t}{1-\beta_1^t} \qquad
        \hat s_t = \frac{s_t}{1-\beta_2^t} \qquad
        w_t = w_{t-1} - \frac{\eta}{\sqrt{\hat s_t} + \epsilon}\, \hat v_t

    ``t`` counts from 1. At t = 1, :math:`\hat v_1 = g_1` and
    :math:`\sqrt{\hat s_1} = |g_1|`, so the first step is about
    :math:`\eta\,\mathrm{sign}(g_1)` per weight.

    ================  ==========  ==============================================
    symbol            argument    other frameworks
    ================  ==========  ==============================================
    eta               lr          torch/Keras/optax default 1e-3
    beta1, beta2      beta1/2     torch ``betas=(0.9, 0.999)``; optax ``b1, b2``
    v, s              v, s        torch ``exp_avg``, ``exp_avg_sq``; paper m, v
    epsilon           eps         torch and optax add eps to sqrt(s_hat); Keras
                                  adds its "epsilon hat" to sqrt(s) before
                                  correcting, a slightly different step
    ================  ==========  ==============================================

    Teaching switches: ``bias_correction=False`` steps by
    :math:`\eta v_t/(\sqrt{s_t}+\epsilon)` (3.16 eta at t=1 for the defaults);
    ``eps_in_sqrt=True`` uses :math:`\sqrt{\hat s_t + \epsilon}`. Passing
    ``s_max`` gives AMSGrad (Reddi et al. 2018): the denominator uses the
    running maximum of the raw :math:`s_t`. Updates ``w``, ``v``, ``s``
    (and ``s_max``) in place.
    """
    v[...] = beta1 * v + (1 - beta1) * g                  # v_t = beta1 v_{t-1} + (1-beta1) g_t
    s[...] = beta2 * s + (1 - beta2) * g**2               # s_t = beta2 s_{t-1} + (1-beta2) g_t^2
    if s_max is not None:
        s_max[...] = np.maximum(s_max, s)                 # AMSGrad: s_max_t = max(s_max_{t-1}, s_t)
        s = s_max
    if bias_correction:
        v_hat = v / (1 - beta1**t)                        # v_hat = v_t / (1 - beta1^t)
        s_hat = s / (1 - beta2**t)                        # s_hat = s_t / (1 - beta2^t)
    else:
        v_hat, s_hat = v, s
    if eps_in_sqrt:
        w -= lr * v_hat / np.sqrt(s_hat + eps)            # teaching switch: eps inside the root
    else:
        w -= lr * v_hat / (np.sqrt(s_hat) + eps)          # w_t = w_{t-1} - eta v_hat / (sqrt(s_hat) + eps)
    return w


def adagrad_step(w, g, s, t, lr=1e-2, eps=1e-10, lr_decay=0.0, *, buf=None):
    r"""One Adagrad step (Duchi et al. 2011), torch's convention.

    .. math::
        s_t = s_{t-1} + g_t^2 \qquad
        w_t = w_{t-1} - \frac{\eta_t}{\sqrt{s_t} + \epsilon}\, g_t, \quad
        \eta_t = \frac{\eta}{1 + (t-1)\,\text{lr\_decay}}

    The sum never forgets, so steps only shrink; RMSProp replaces the sum by a
    moving average. torch's ``initial_accumulator_value`` is ``s_0``.
    Updates ``w`` and ``s`` in place.
    """
    s += g**2                                             # s_t = s_{t-1} + g_t^2
    lr_t = lr / (1 + (t - 1) * lr_decay)                  # eta_t = eta / (1 + (t-1) lr_decay)
    w -= lr_t * g / (np.sqrt(s) + eps)                    # w_t = w_{t-1} - eta_t g_t / (sqrt(s_t) + eps)
    return w
