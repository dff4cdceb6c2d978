"""The 2-D runs of :func:`optlib.trajectory.trajectory` on plain Python floats (private).

Also :func:`optlib.noise.steps_on_stream` for one weight (:func:`stream`).

A trajectory moves one point (x, y). On arrays of two numbers most of a step
is numpy's per-call overhead (a dozen ufunc calls, the optimizer's checks), so
here the same arithmetic runs on two Python floats: the kernels of
:mod:`optlib._kernels`, operation by operation in the same order, hence the
same IEEE results to the last bit (``tests/test_trajectory2d.py`` compares
every optimizer and switch with the array path, bit for bit). numpy's
``sqrt`` and ``maximum`` give NaN where Python would raise or drop it; so do
``_sqrt`` and ``_max`` below. About four times faster than the array path,
which is what a slider move needs (``benchmarks/bench_trajectory.py``).

:func:`run` and :func:`stream` return None when they do not apply (another
optimizer class, a float32 run, a function that is not one of optlib's test
functions); the caller then takes the array path.
"""
from __future__ import annotations

import math

from . import testfunctions as T
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSProp

_FUNCTIONS = (T.Quadratic, T.RotatedQuadratic, T.Rosenbrock, T.Beale, T.Saddle, T.NoisyQuadratic)
_NAN, _INF = math.nan, math.inf


def _sqrt(a):
    return math.sqrt(a) if a >= 0.0 else (a if a != a else _NAN)     # numpy: sqrt(-x) is NaN


def _max(a, b):
    if a != a or b != b:                                              # numpy.maximum keeps a NaN
        return _NAN
    return a if a >= b else b


def _div(a, b):
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return _NAN                                                   # 0/0 (numpy: NaN)
    return math.copysign(_INF, a) * math.copysign(1.0, b)            # x/0 (numpy: +-inf)


def _sgd(h, opt):
    lr, mu, damp, wd, nesterov = h["lr"], h["momentum"], h["dampening"], h["weight_decay"], h["nesterov"]
    v = None

    def step(w, g, t):
        nonlocal v
        if wd:
            g = w * wd + g
        if not mu:
            return w - g * lr
        if v is None:
            v = g                                                    # v_1 = g_1
        elif damp:
            v = v * mu + g * (1.0 - damp)
        else:
            v = v * mu + g
        return w - ((g + v * mu) * lr if nesterov else v * lr)
    return step


def _rmsprop(h, opt):
    lr, alpha, eps, wd, mu = h["lr"], h["alpha"], h["eps"], h["weight_decay"], h["momentum"]
    centered, eps_in_sqrt = h["centered"], h["eps_in_sqrt"]
    s, m, b = 0.0, 0.0, 0.0

    def step(w, g, t):
        nonlocal s, m, b
        if wd:
            g = w * wd + g
        s = s * alpha + g * g * (1.0 - alpha)
        var = s
        if centered:
            m = m * alpha + g * (1.0 - alpha)
            var = s - m * m
        den = _sqrt(var + eps) if eps_in_sqrt else _sqrt(var) + eps
        q = _div(g, den)
        if mu > 0:
            b = b * mu + q
            return w - b * lr
        return w - q * lr
    return step


def _adam(h, opt):
    lr, (beta1, beta2), eps, wd = h["lr"], h["betas"], h["eps"], h["weight_decay"]
    amsgrad, bias_correction, eps_in_sqrt = h["amsgrad"], h["bias_correction"], h["eps_in_sqrt"]
    decoupled = opt._decoupled
    v, s, s_max = 0.0, 0.0, 0.0

    def step(w, g, t):
        nonlocal v, s, s_max
        if wd:
            if decoupled:
                w = w * (1.0 - lr * wd)
            else:
                g = w * wd + g
        v = v * beta1 + g * (1.0 - beta1)
        s = s * beta2 + g * g * (1.0 - beta2)
        ss = s
        if amsgrad:
            s_max = _max(s_max, s)
            ss = s_max
        c1, c2 = (1.0 - beta1**t, 1.0 - beta2**t) if bias_correction else (1.0, 1.0)
        r2 = math.sqrt(c2)
        den = _sqrt(ss + eps * c2) if eps_in_sqrt else _sqrt(ss) + eps * r2
        return w - _div(v, den) * (lr * r2 / c1)
    return step


def _adagrad(h, opt):
    lr, eps, lr_decay, wd = h["lr"], h["eps"], h["lr_decay"], h["weight_decay"]
    s = float(opt.defaults["initial_accumulator_value"])

    def step(w, g, t):
        nonlocal s
        if wd:
            g = w * wd + g
        s = s + g * g
        return w - _div(g, _sqrt(s) + eps) * (lr / (1.0 + (t - 1) * lr_decay))
    return step


_STEPS = {SGD: _sgd, RMSProp: _rmsprop, Adam: _adam, AdamW: _adam, Adagrad: _adagrad}


def _value(value, x, y):
    try:
        return float(value((x, y)))
    except OverflowError:                  # Python's ** raises where numpy gives inf
        return _INF


def _fresh(opt, w):
    """The float step maker for ``opt`` if it is a fresh optlib optimizer of the one float64 array ``w``."""
    make = _STEPS.get(type(opt))
    if (make is None or w.dtype.name != "float64" or len(opt.param_groups) != 1
            or len(opt.param_groups[0]["params"]) != 1 or opt.state[0]["step"] != 0):
        return None
    return make


def stream(opt, grads):
    """Step t of ``opt`` from w = 0 on gradient ``grads[t]`` (one weight), as ``-w``, for every t; or None.

    ``opt`` is a fresh optimizer of one float64 array of one weight, built with lr = 1."""
    make = _fresh(opt, opt.param_groups[0]["params"][0])
    if make is None or opt.param_groups[0]["params"][0].size != 1:
        return None
    step = make(opt.param_groups[0], opt)
    return [-step(0.0, g, t) for t, g in enumerate(grads.tolist(), start=1)]


def run(fn, opt, w, steps, blowup):
    """(xy rows, losses, diverged step or None) of ``opt`` on ``fn`` from ``w``, or None if not covered.

    ``opt`` is a freshly built optimizer whose one parameter is ``w`` (float64,
    shape (2,)); ``fn`` has been reset. ``w`` is left where the run ended.
    """
    make = _fresh(opt, w)
    if make is None or type(fn) not in _FUNCTIONS:
        return None
    h = opt.param_groups[0]
    sx, sy = make(h, opt), make(h, opt)                # one state per coordinate: the math is elementwise
    value, gradient = fn.value, fn.gradient
    x, y = float(w[0]), float(w[1])
    rows, losses, diverged = [(x, y)], [_value(value, x, y)], None
    for t in range(1, steps + 1):
        gx, gy = gradient((x, y)).tolist()
        x, y = sx(x, gx, t), sy(y, gy, t)
        f = _value(value, x, y)
        if not (abs(f) < _INF and abs(x) < blowup and abs(y) < blowup):
            diverged = t
            break
        rows.append((x, y))
        losses.append(f)
    w[0], w[1] = x, y
    return rows, losses, diverged
