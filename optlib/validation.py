"""Checks of what an optimizer is given: each error names the argument and what was expected.

Hyperparameter checks take the name to report, so the same check gives
``lr must be a finite number >= 0, got -0.1`` in a constructor and
``param_groups[1]['lr'] must be a finite number >= 0, got -0.1`` when a
group's value is refused at a step. Each returns the value to use: a Python
float (so a float32 parameter stays float32 under numpy 2's promotion rules),
a bool, or a pair of floats.
"""
from __future__ import annotations

import difflib
import math
import numbers

import numpy as np

__all__ = ["NonFiniteGradientError", "number", "nonneg", "unit", "betas", "flag",
           "check_params", "check_grads", "unknown_key_message"]


class NonFiniteGradientError(FloatingPointError, ValueError):
    """A gradient contains NaN or inf; raised before any parameter is updated."""


# --------------------------------------------------------------------------
# Hyperparameters
# --------------------------------------------------------------------------
def number(name, value):
    """A real number (not a bool, not NaN), as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got nan")
    return value


def nonneg(name, value):
    """A finite number >= 0 (lr, eps, weight_decay, momentum, ...)."""
    value = number(name, value)
    if value < 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def unit(name, value):
    """A decay rate in [0, 1) (alpha, beta1, beta2)."""
    value = number(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def betas(name, value):
    """A pair (beta1, beta2), each in [0, 1)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (beta1, beta2), got {value!r}")
    return (unit(f"{name}[0] (beta1)", value[0]), unit(f"{name}[1] (beta2)", value[1]))


def flag(name, value):
    """True or False (numpy's bool and the integers 0 and 1 count)."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


#: Other frameworks' names for torch's hyperparameters (Keras, optax, the papers).
ALIASES = {"learning_rate": "lr", "eta": "lr", "beta1": "betas", "beta2": "betas", "b1": "betas",
           "b2": "betas", "beta": "alpha", "rho": "alpha", "decay": "alpha", "epsilon": "eps",
           "mu": "momentum", "nesterov_momentum": "nesterov"}


def unknown_key_message(where, key, known):
    """``where`` has a key the optimizer does not use: say so, and suggest the nearest known one."""
    close = [ALIASES[key]] if ALIASES.get(key) in known else difflib.get_close_matches(str(key), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (f"{where} has the key {key!r}, which this optimizer does not use{hint}; "
            f"its hyperparameters are {', '.join(known)}")


# --------------------------------------------------------------------------
# Parameters and gradients
# --------------------------------------------------------------------------
def check_params(params, label="params", others=()):
    """The list of arrays of one parameter group, checked; ``others`` are arrays already optimized."""
    if isinstance(params, np.ndarray):
        raise TypeError(f"{label} must be a list of arrays, got a single array; "
                        f"wrap it in a list: [params]")
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{label} must be an ordered list of arrays, got a set (its order changes between runs)")
    if isinstance(params, (str, bytes, dict)) or not hasattr(params, "__iter__"):
        raise TypeError(f"{label} must be a list of numpy arrays, got {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError(f"{label} is empty: pass at least one array to optimize")
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{label}[{i}] must be a numpy array, got {type(p).__name__}")
        if p.dtype not in (np.float32, np.float64):
            raise TypeError(f"{label}[{i}] has dtype {p.dtype}; optlib updates float32 or float64 arrays "
                            "in place, so integer weights cannot be updated in place (use .astype(float))")
        if not p.flags.writeable:
            raise ValueError(f"{label}[{i}] is read-only; the optimizer updates parameters in place")
    for i, p in enumerate(params):
        for j in range(i):
            if np.shares_memory(p, params[j]):
                raise ValueError(f"{label}[{i}] and {label}[{j}] share memory; pass each parameter once")
        for j, q in enumerate(others):
            if np.shares_memory(p, q):
                raise ValueError(f"{label}[{i}] shares memory with params[{j}], which is already in a "
                                 "parameter group; an array may be in one group only")
    return params


def _as_array(i, p, g):
    """A numpy scalar (what arithmetic on a 0-d array returns) or a Python number is
    accepted as the gradient of a 0-d parameter; anything else is an error."""
    if isinstance(g, np.generic) and np.issubdtype(g.dtype, np.floating):
        return np.asarray(g)
    if isinstance(g, numbers.Real) and not isinstance(g, bool) and p.shape == ():
        return np.asarray(g, dtype=p.dtype)
    raise TypeError(f"grads[{i}] must be a numpy array like params[{i}] (shape {p.shape}), "
                    f"got {type(g).__name__}")


def check_grads(grads, params, check_finite):
    """``grads`` as a list aligned with ``params`` (None: no gradient), or a clear error.

    With ``check_finite``, a NaN or inf raises :class:`NonFiniteGradientError`
    naming the parameter and the first bad index.
    """
    if type(grads) is not list and type(grads) is not tuple:
        raise TypeError(f"grads must be a list of arrays (one per parameter), got {type(grads).__name__}")
    if len(grads) != len(params):
        raise ValueError(f"grads has {len(grads)} arrays but the optimizer has {len(params)} params")
    grads = list(grads)
    for i, (p, g) in enumerate(zip(params, grads)):
        if g is None:
            continue
        if type(g) is not np.ndarray and not isinstance(g, np.ndarray):
            g = grads[i] = _as_array(i, p, g)
        if g.shape != p.shape:
            raise ValueError(f"grads[{i}] has shape {g.shape} but params[{i}] has shape {p.shape}")
        if g.dtype != p.dtype:
            raise TypeError(f"grads[{i}] has dtype {g.dtype} but params[{i}] has dtype {p.dtype}")
        # Fast path: sum(g^2) is finite only if every entry is; if it is not
        # (NaN, inf, or merely overflow), look entry by entry.
        if check_finite and not math.isfinite(np.vdot(g, g)) and not np.isfinite(g).all():
            bad = np.flatnonzero(~np.isfinite(g))
            raise NonFiniteGradientError(
                f"grads[{i}] (shape {g.shape}) has {bad.size} non-finite value(s), first at flat "
                f"index {bad[0]}: {g.flat[bad[0]]}; no parameter was updated. A loss that "
                "diverged, or a learning rate too large, usually causes this.")
    return grads
