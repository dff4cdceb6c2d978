"""Optimizer classes with torch.optim's names, hyperparameters and defaults.

Each class keeps the bookkeeping (hyperparameters, per-parameter state,
step counters) and calls the plain functions of :mod:`optlib.functional` for
the math, so every equation has exactly one implementation::

    params = [np.zeros(3), np.zeros((2, 2))]
    opt = Adam(params, lr=1e-2)
    opt.step(grads)          # a list of arrays, one per parameter; updates params in place

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

import copy
import math
import numbers

import numpy as np

from . import functional as F

__all__ = ["Optimizer", "SGD", "RMSProp", "RMSprop", "Adam", "AdamW", "Adagrad",
           "NonFiniteGradientError"]


#: Elements updated at a time in a large parameter (5 float32 arrays of this size fit in L2).
BLOCK = 1 << 15


def _all_contiguous(p, g, st):
    return p.flags.c_contiguous and g.flags.c_contiguous and all(
        v.flags.c_contiguous for v in st.values() if isinstance(v, np.ndarray))


class NonFiniteGradientError(FloatingPointError, ValueError):
    """A gradient contains NaN or inf; raised before any parameter is updated."""


# --------------------------------------------------------------------------
# Argument checks: each names the argument and what was expected
# --------------------------------------------------------------------------
def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got nan")
    return value


def _nonneg(name, value):
    value = _number(name, value)
    if value < 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _unit(name, value):
    value = _number(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def _betas(value):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {value!r}")
    return (_unit("betas[0] (beta1)", value[0]), _unit("betas[1] (beta2)", value[1]))


def _check_params(params):
    if isinstance(params, np.ndarray):
        raise TypeError("params must be a list of numpy arrays, got a single array; "
                        "wrap it in a list: [params]")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params must be a list of numpy arrays, got {type(params).__name__}") from None
    if not params:
        raise ValueError("params is empty: the optimizer needs at least one array to update")
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(f"params[{i}] must be a numpy array of floats, got {type(p).__name__}; "
                            "use np.asarray(x, dtype=float)")
        if p.dtype not in (np.float32, np.float64):
            raise TypeError(f"params[{i}] must have dtype float32 or float64, got {p.dtype}; "
                            "integer weights cannot be updated in place (use .astype(float))")
        if not p.flags.writeable:
            raise ValueError(f"params[{i}] is read-only; the optimizer updates parameters in place")
    for i, p in enumerate(params):
        for j in range(i):
            if np.shares_memory(p, params[j]):
                raise ValueError(f"params[{i}] and params[{j}] share memory; pass each parameter once")
    return params


class Optimizer:
    """Bookkeeping shared by every optimizer: arguments, state, validation.

    Subclasses set ``defaults`` (torch's hyperparameters), ``_state_names``
    (the arrays kept per parameter) and implement ``_update(i, p, g, st)``.
    """

    _state_names: tuple = ()

    def __init__(self, params, defaults, check_finite=True):
        self.params = _check_params(params)
        self.defaults = dict(defaults)
        self.check_finite = bool(check_finite)
        self.state = [self._init_state(p) for p in self.params]
        self._scratch = [None] * len(self.params)

    # -- hyperparameters -------------------------------------------------
    def __getattr__(self, name):
        defaults = self.__dict__.get("defaults", {})
        if name in defaults:
            return defaults[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def _init_state(self, p):
        return {"step": 0}

    # -- the step --------------------------------------------------------
    def step(self, grads):
        """Apply one update to every parameter, in place, from ``grads``.

        ``grads`` is a list with one array per parameter (same shape and
        dtype), or ``None`` for a parameter that has no gradient this step.
        """
        self._apply(self._check_grads(grads))

    def _apply(self, grads):
        """The update loop, for callers that built ``grads`` themselves (no checks).

        The math is elementwise, so a large parameter is updated block by block
        (``BLOCK`` elements at a time): each block's arrays stay in the CPU cache
        across the dozen in-place operations of a step, which is what makes a
        step over 1e7 parameters fast. The result is identical either way.
        """
        update, state = self._update, self.state
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue                                    # no gradient: no step, no count
            st = state[i]
            st["step"] += 1
            bufs = self._scratch[i]
            if bufs is None:
                shape = p.shape if p.size <= BLOCK else (BLOCK,)
                bufs = self._scratch[i] = [np.empty(shape, p.dtype), np.empty(shape, p.dtype)]
            if p.size <= BLOCK or not _all_contiguous(p, g, st):
                if bufs[0].shape != p.shape:
                    bufs = [np.empty_like(p), np.empty_like(p)]
                update(p, g, st, bufs)
                continue
            flat = {k: (v.reshape(-1) if isinstance(v, np.ndarray) else v) for k, v in st.items()}
            pf, gf = p.reshape(-1), g.reshape(-1)
            for lo in range(0, p.size, BLOCK):
                hi = min(lo + BLOCK, p.size)
                block = {k: (v[lo:hi] if isinstance(v, np.ndarray) else v) for k, v in flat.items()}
                update(pf[lo:hi], gf[lo:hi], block, [b[:hi - lo] for b in bufs])

    def _with_l2(self, p, g, buf):
        """g + weight_decay * w, written to a scratch array (never into the caller's g)."""
        wd = self.defaults.get("weight_decay", 0.0)
        if not wd:
            return g
        np.multiply(p, wd, out=buf[1])
        buf[1] += g
        return buf[1]

    def _check_grads(self, grads):
        if type(grads) not in (list, tuple):
            raise TypeError(f"grads must be a list of arrays (one per parameter), got {type(grads).__name__}")
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"grads has {len(grads)} arrays but the optimizer has {len(self.params)} params")
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue
            if type(g) is not np.ndarray and not isinstance(g, np.ndarray):
                g = grads[i] = self._as_array(i, p, g)
            if g.shape != p.shape:
                raise ValueError(f"grads[{i}] has shape {g.shape} but params[{i}] has shape {p.shape}")
            if g.dtype != p.dtype:
                raise TypeError(f"grads[{i}] has dtype {g.dtype} but params[{i}] has dtype {p.dtype}")
            # Fast path: sum(g^2) is finite only if every entry is; if it is not
            # (NaN, inf, or merely overflow), look entry by entry.
            if self.check_finite and not math.isfinite(np.vdot(g, g)) and not np.isfinite(g).all():
                bad = np.flatnonzero(~np.isfinite(g))
                raise NonFiniteGradientError(
                    f"grads[{i}] (shape {g.shape}) has {bad.size} non-finite value(s), first at flat "
                    f"index {bad[0]}: {g.flat[bad[0]]}; no parameter was updated. A loss that "
                    "diverged, or a learning rate too large, usually causes this.")
        return grads

    @staticmethod
    def _as_array(i, p, g):
        """A numpy scalar (what arithmetic on a 0-d array returns) or a Python number is
        accepted as the gradient of a 0-d parameter; anything else is an error."""
        if isinstance(g, np.generic) and np.issubdtype(g.dtype, np.floating):
            return np.asarray(g)
        if isinstance(g, numbers.Real) and not isinstance(g, bool) and p.shape == ():
            return np.asarray(g, dtype=p.dtype)
        raise TypeError(f"grads[{i}] must be a numpy array like params[{i}] (shape {p.shape}), "
                        f"got {type(g).__name__}")

    # -- state -----------------------------------------------------------
    def state_dict(self):
        """A deep copy of the state and hyperparameters, in torch's layout."""
        return {"state": {i: copy.deepcopy(st) for i, st in enumerate(self.state)},
                "param_groups": [dict(self.defaults, params=list(range(len(self.params))))]}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned (checked against these params)."""
        try:
            state, groups = state_dict["state"], state_dict["param_groups"]
        except (TypeError, KeyError):
            raise ValueError("state_dict must be a dict with 'state' and 'param_groups', "
                             "as returned by state_dict()") from None
        if len(groups) != 1 or len(groups[0]["params"]) != len(self.params):
            raise ValueError(f"state_dict is for {len(groups[0]['params']) if groups else 0} params, "
                             f"this optimizer has {len(self.params)}")
        new = []
        for i, p in enumerate(self.params):
            st = copy.deepcopy(state.get(i, state.get(str(i), self._init_state(p))))
            for name in self._state_names:
                arr = st.get(name)
                if arr is not None and np.shape(arr) != p.shape:
                    raise ValueError(f"state_dict['state'][{i}]['{name}'] has shape {np.shape(arr)}, "
                                     f"params[{i}] has shape {p.shape}")
                if arr is not None:
                    st[name] = np.array(arr, dtype=p.dtype)
            new.append(st)
        self.state = new
        self.defaults = {k: v for k, v in groups[0].items() if k != "params"}

    def zero_state(self):
        """Forget all moments and step counts (a fresh start with the same hyperparameters)."""
        self.state = [self._init_state(p) for p in self.params]

    def __repr__(self):
        lines = [f"{type(self).__name__} (", "Parameter Group 0"]
        lines += [f"    {k}: {v}" for k, v in sorted(self.defaults.items())]
        return "\n".join(lines + [")"])


# --------------------------------------------------------------------------
# The optimizers
# --------------------------------------------------------------------------
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (torch.optim.SGD).

    ``v_t = momentum * v_{t-1} + (1 - dampening) * g_t`` with ``v_1 = g_1``;
    ``w -= lr * v_t`` (Nesterov: ``w -= lr * (g_t + momentum * v_t)``).
    See :func:`optlib.functional.momentum_step`.
    """

    _state_names = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, check_finite=True):
        lr, momentum = _nonneg("lr", lr), _nonneg("momentum", momentum)
        dampening, weight_decay = _number("dampening", dampening), _nonneg("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0, "
                             f"got momentum={momentum}, dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=bool(nesterov)), check_finite)

    def _init_state(self, p):
        return {"step": 0, "momentum_buffer": np.zeros_like(p) if self.defaults["momentum"] else None}

    def _update(self, p, g, st, buf):
        d = self.defaults
        g = self._with_l2(p, g, buf)                                    # g_t + wd w
        if d["momentum"] == 0:
            F.gd_step(p, g, d["lr"], buf=buf[0])                        # w -= eta g_t
            return
        F.momentum_step(p, g, st["momentum_buffer"], d["lr"], d["momentum"], first=st["step"] == 1,
                        dampening=d["dampening"], nesterov=d["nesterov"], buf=buf[0])


class RMSProp(Optimizer):
    """RMSProp (Hinton 2012), torch.optim.RMSprop's conventions.

    ``s_t = alpha s_{t-1} + (1-alpha) g_t^2``; ``w -= lr g_t / (sqrt(s_t) + eps)``.
    torch calls the notes' beta ``alpha``. ``eps_in_sqrt=True`` (a teaching
    switch, not torch) uses Keras's and optax's ``sqrt(s_t + eps)``.
    See :func:`optlib.functional.rmsprop_step`.
    """

    _state_names = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, eps_in_sqrt=False, check_finite=True):
        super().__init__(params, dict(
            lr=_nonneg("lr", lr), alpha=_unit("alpha", alpha), eps=_nonneg("eps", eps),
            weight_decay=_nonneg("weight_decay", weight_decay), momentum=_nonneg("momentum", momentum),
            centered=bool(centered), eps_in_sqrt=bool(eps_in_sqrt)), check_finite)

    def _init_state(self, p):
        d = self.defaults
        return {"step": 0, "square_avg": np.zeros_like(p),
                "grad_avg": np.zeros_like(p) if d["centered"] else None,
                "momentum_buffer": np.zeros_like(p) if d["momentum"] > 0 else None}

    def _update(self, p, g, st, buf):
        d = self.defaults
        g = self._with_l2(p, g, buf)
        F.rmsprop_step(p, g, st["square_avg"], d["lr"], d["alpha"], d["eps"],
                       eps_in_sqrt=d["eps_in_sqrt"], centered=d["centered"], m=st["grad_avg"],
                       momentum=d["momentum"], b=st["momentum_buffer"], buf=buf[0])


RMSprop = RMSProp  # torch's spelling


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), torch.optim.Adam's conventions.

    ``weight_decay`` adds ``weight_decay * w`` to the gradient (L2, as torch's
    Adam does); for decoupled decay use :class:`AdamW`. Teaching switches (not
    in torch): ``bias_correction=False``, ``eps_in_sqrt=True``.
    See :func:`optlib.functional.adam_step`.
    """

    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, bias_correction=True, eps_in_sqrt=False, check_finite=True):
        super().__init__(params, dict(
            lr=_nonneg("lr", lr), betas=_betas(betas), eps=_nonneg("eps", eps),
            weight_decay=_nonneg("weight_decay", weight_decay), amsgrad=bool(amsgrad),
            bias_correction=bool(bias_correction), eps_in_sqrt=bool(eps_in_sqrt)), check_finite)

    def _init_state(self, p):
        return {"step": 0, "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p),
                "max_exp_avg_sq": np.zeros_like(p) if self.defaults["amsgrad"] else None}

    def _decay(self, p, g, buf):
        return self._with_l2(p, g, buf)                                  # Adam: L2, g + wd w

    def _update(self, p, g, st, buf):
        d = self.defaults
        g = self._decay(p, g, buf)
        F.adam_step(p, g, st["exp_avg"], st["exp_avg_sq"], st["step"], d["lr"], *d["betas"], d["eps"],
                    bias_correction=d["bias_correction"], eps_in_sqrt=d["eps_in_sqrt"],
                    s_max=st["max_exp_avg_sq"], buf=buf[0])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), torch.optim.AdamW.

    ``w *= 1 - lr * weight_decay`` before the Adam step: the decay is
    multiplied by lr and is *not* divided by sqrt(s_hat), unlike L2 in Adam.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, bias_correction=True, eps_in_sqrt=False, check_finite=True):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, bias_correction=bias_correction,
                         eps_in_sqrt=eps_in_sqrt, check_finite=check_finite)

    def _decay(self, p, g, buf):
        d = self.defaults
        p *= 1.0 - d["lr"] * d["weight_decay"]                          # w <- (1 - eta wd) w
        return g


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), torch.optim.Adagrad's conventions.

    ``s_t = s_{t-1} + g_t^2`` from ``s_0 = initial_accumulator_value``;
    ``w -= lr_t g_t / (sqrt(s_t) + eps)`` with ``lr_t = lr / (1 + (t-1) lr_decay)``.
    """

    _state_names = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, *, check_finite=True):
        super().__init__(params, dict(
            lr=_nonneg("lr", lr), lr_decay=_nonneg("lr_decay", lr_decay),
            weight_decay=_nonneg("weight_decay", weight_decay),
            initial_accumulator_value=_nonneg("initial_accumulator_value", initial_accumulator_value),
            eps=_nonneg("eps", eps)), check_finite)

    def _init_state(self, p):
        return {"step": 0, "sum": np.full_like(p, self.defaults["initial_accumulator_value"])}

    def _update(self, p, g, st, buf):
        d = self.defaults
        g = self._with_l2(p, g, buf)
        F.adagrad_step(p, g, st["sum"], st["step"], d["lr"], d["eps"], d["lr_decay"], buf=buf[0])
