"""Exercise 09: carry a Keras or optax recipe's hyperparameters over to torch.

The student's function takes a recipe's hyperparameters (the framework's names
and defaults) and returns ``(name, kwargs)``: the ``torch.optim`` class to use
and its keyword arguments. The check builds that optimizer (optlib's class of
the same name, which matches torch.optim to 1e-10) and runs it beside the
framework's own update (:mod:`.frameworks`) on a fixed sequence of gradients.

* An exact port (optax's adamw) must follow the recipe's path to 1e-9 of each
  weight's travel, on gradients from 3 down to 1e-9 and 0, where eps matters.
* A port torch cannot make exact (Keras's epsilon inside RMSprop's root, Keras's
  "epsilon hat" Adam) is run on gradients of size 2 to 6 (and 0), where those
  differences stay below 1e-5 of each weight's path: every other hyperparameter
  must be right.

A wrong answer is diagnosed by the argument whose right value alone (or
together with one other) makes every case pass, or by the class.
"""
from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from .. import optimizers as O
from . import frameworks
from .compare import describe_value
from .question import Question, Verdict, join_names

__all__ = ["QUESTIONS", "REFERENCES", "TORCH_ARGS", "TORCH_DEFAULTS"]

STEPS = 30

# torch.optim's constructor arguments (torch 2.13), and their defaults where they matter here.
TORCH_ARGS = {
    "SGD": ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "foreach",
            "differentiable", "fused"),
    "RMSprop": ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "capturable", "foreach",
                "maximize", "differentiable"),
    "Adam": ("lr", "betas", "eps", "weight_decay", "amsgrad", "foreach", "maximize", "capturable",
             "differentiable", "fused", "decoupled_weight_decay"),
    "AdamW": ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable",
              "differentiable", "fused"),
    "Adagrad": ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "foreach", "maximize",
                "differentiable", "fused"),
}
TORCH_DEFAULTS = {
    "SGD": dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False),
    "RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False),
    "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False),
    "AdamW": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False),
    "Adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10),
}
_CLASSES = {"SGD": O.SGD, "RMSprop": O.RMSprop, "Adam": O.Adam, "AdamW": O.AdamW, "Adagrad": O.Adagrad}
_NO_MATH = ("foreach", "capturable", "differentiable", "fused")       # speed and autograd switches
_BOOLS = ("nesterov", "centered", "amsgrad", "maximize", "decoupled_weight_decay")
# Other frameworks' names, for "torch calls it ..." messages.
_FOREIGN = {"learning_rate": "torch calls it lr", "rho": "Keras's rho is torch's alpha",
            "decay": "optax's decay is torch's alpha", "epsilon": "torch calls it eps",
            "beta_1": "torch takes both as betas=(beta_1, beta_2)",
            "beta_2": "torch takes both as betas=(beta_1, beta_2)",
            "b1": "torch takes both as betas=(b1, b2)", "b2": "torch takes both as betas=(b1, b2)",
            "beta1": "torch takes both as betas=(beta1, beta2)", "beta2": "torch takes both as betas=(beta1, beta2)",
            "eps_in_sqrt": "torch always adds eps outside the root; optlib's eps_in_sqrt is a teaching switch",
            "eps_root": "torch has no eps inside the root", "bias_correction": "torch always corrects Adam"}


def _streams():
    r = np.random.default_rng(2024)
    signs = np.where(r.uniform(size=(STEPS, 6)) < 0.5, -1.0, 1.0)
    large = signs * r.uniform(2.0, 6.0, size=(STEPS, 6))
    large[:, -1] = 0.0                                        # a weight whose gradient is always 0
    scales = np.array([3.0, 1e-2, 1e-5, 1e-8, 1e-9, 0.0])
    mixed = signs * r.uniform(0.5, 1.5, size=(STEPS, 6)) * scales
    w0 = r.normal(0.0, 1.0, size=6)
    return w0, large, mixed


W0, LARGE, MIXED = _streams()


def _number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(float(x))


class PortQuestion(Question):
    """Judged by running the returned torch optimizer beside the framework's update."""

    def __init__(self, qid, points, *, framework, answer, make_cases, exact, grads, tol, why_inexact="",
                 advice=None):
        super().__init__(qid, qid, points, model=None, make_cases=make_cases, outputs=("name", "kwargs"))
        self._framework = framework
        self._answer = answer
        self.exact = exact
        self._grads = grads
        self.tol = tol
        self.why_inexact = why_inexact
        self._advice = dict(advice or {})       # argument -> what to say when it is the wrong one

    def reference(self, **case):
        return self._answer(**case)

    def describe(self, case):
        args = ", ".join(f"{k}={v!r}" for k, v in case.items())
        return f"recipe ({args})" if args else "the recipe's defaults"

    def summary(self, outputs):
        if self.exact:
            return "an exact port"
        return f"not exact in torch: {self.why_inexact}; on these gradients the paths agree to {self.tol:g}"

    # -- judging ---------------------------------------------------------------------
    def _judge(self, cases, outputs, afters, expected):
        if expected is None:
            expected = [self.reference(**c) for c in cases]
        parsed = []
        for i, got in enumerate(outputs):
            p = self._parse(got)
            if isinstance(p, str):
                return Verdict(False, p, i)
            parsed.append(p)
        results = [self._run(p, c) for p, c in zip(parsed, cases)]
        bad = [i for i, r in enumerate(results) if isinstance(r, str) or r > self.tol]
        if not bad:
            return Verdict(True)
        first = bad[0]
        refused = next((r for r in results if isinstance(r, str) and "would refuse" in r), None)
        if refused:
            return Verdict(False, refused, results.index(refused))
        msg = self._explain_port(parsed, cases, expected)
        if msg is None:
            r = results[first]
            msg = r if isinstance(r, str) else (
                f"the port does not follow the recipe: over {STEPS} steps the weights leave its path "
                f"by {r:.1e} of their travel (allowed: {self.tol:g})")
        return Verdict(False, msg, first)

    def _parse(self, got):
        """``(name, kwargs)`` checked against torch's signature, or a message."""
        fn = self.function
        if got is None:
            return f"{fn} returned None: did you forget the `return` statement?"
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return (f"{fn} should return (name, kwargs), for example (\"RMSprop\", dict(lr=0.01)); "
                    f"it returned {describe_value(got)}")
        name, kwargs = got
        if not isinstance(name, str):
            return (f"the first value should be the name of a torch.optim class as a string, such as "
                    f"\"Adam\"; {fn} returned {describe_value(name)}")
        name = name.removeprefix("torch.optim.")
        if name not in TORCH_ARGS:
            close = [n for n in TORCH_ARGS if n.lower() == name.lower()]
            hint = f" (torch spells it {close[0]})" if close else ""
            return f"{name!r} is not one of torch.optim's {', '.join(TORCH_ARGS)}{hint}"
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            return f"the second value should be a dict of keyword arguments; {fn} returned {describe_value(kwargs)}"
        clean = {}
        for key, value in kwargs.items():
            if key not in TORCH_ARGS[name]:
                why = _FOREIGN.get(key)
                return f"torch.optim.{name} has no argument {key!r}" + (f": {why}" if why else "")
            if key in _NO_MATH:
                if value is not None and not isinstance(value, bool):
                    return f"{key} should be True, False or None; got {describe_value(value)}"
                continue
            if key in _BOOLS:
                if not isinstance(value, (bool, np.bool_)):
                    return f"{key} should be True or False; got {describe_value(value)}"
                clean[key] = bool(value)
            elif key == "betas":
                if not (isinstance(value, (tuple, list)) and len(value) == 2 and all(_number(b) for b in value)):
                    return f"betas should be a pair of numbers (beta1, beta2); got {describe_value(value)}"
                clean[key] = (float(value[0]), float(value[1]))
            elif not _number(value):
                return f"{key} should be a finite number; got {describe_value(value)}"
            else:
                clean[key] = float(value)
        return name, clean

    def _run(self, parsed, case):
        """How far (relative to each weight's travel) the torch port strays from the recipe, or a message."""
        name, kwargs = parsed
        kwargs = dict(kwargs)
        maximize = kwargs.pop("maximize", False)
        if kwargs.pop("decoupled_weight_decay", False):
            name = "AdamW" if name == "Adam" else name
        grads = self._grads
        try:
            params = [np.array(W0)]
            opt = _CLASSES[name](params, **kwargs)
        except (TypeError, ValueError) as e:
            return f"torch.optim.{name} would refuse these arguments ({e})"
        path = []
        with np.errstate(all="ignore"):
            for g in grads:
                opt.step([-g if maximize else g.copy()])
                path.append(params[0].copy())
            want = self._framework(W0, grads, **case)
        got = np.array(path)
        if not np.all(np.isfinite(got)):
            return ("the torch port gives nan or inf (with eps = 0 a weight whose gradient is 0 "
                    "divides 0 by 0)") if kwargs.get("eps", 1.0) == 0 else "the torch port gives nan or inf"
        # each weight's distance travelled, plus a thousandth of its size: float64 rounds the tiny
        # decay of a weight whose gradient is 0 (w (1 - lr wd) against w - lr wd w) at 1e-9 of it
        scale = np.max(np.abs(want - W0), axis=0) + 1e-3 * (1.0 + np.abs(W0))
        with np.errstate(all="ignore"):
            return float(np.max(np.abs(got - want) / scale))

    def _passes(self, parsed, case):
        r = self._run(parsed, case)
        return not isinstance(r, str) and r <= self.tol

    def _explain_port(self, parsed, cases, expected):
        """The class, or the one or two arguments, whose right values alone make every case pass."""
        def fixed(p, e, keys, cls):
            kw = dict(p[1])
            for k in keys:
                if k in e[1]:
                    kw[k] = e[1][k]
                else:
                    kw.pop(k, None)
            return (e[0] if cls else p[0]), kw

        wrong_class = any(p[0] != e[0] for p, e in zip(parsed, expected))
        keys = sorted({k for p, e in zip(parsed, expected) for k in (*p[1], *e[1])
                       if p[1].get(k) != e[1].get(k)})
        tries = [(False, n) for n in (1, 2)] + ([(True, n) for n in (0, 1, 2)] if wrong_class else [])
        for cls, n in tries:
            for combo in itertools.combinations(keys, n):
                if all(self._passes(fixed(p, e, combo, cls), c) for p, e, c in zip(parsed, expected, cases)):
                    parts = [self._advice.get("class", "this recipe needs another torch.optim class")] if cls else []
                    return "; ".join(parts + [self._key_message(k, parsed, expected) for k in combo])
        return self._greedy(parsed, cases, expected, keys, wrong_class, fixed)

    def _greedy(self, parsed, cases, expected, keys, cls, fixed):
        """More than two arguments wrong: fix, one at a time, the one that helps most, until every case passes."""
        def worst(combo):
            runs = [self._run(fixed(p, e, combo, cls), c) for p, e, c in zip(parsed, expected, cases)]
            return max(math.inf if isinstance(r, str) else r for r in runs)

        chosen = []
        while worst(chosen) > self.tol and len(chosen) < len(keys):
            chosen.append(min((k for k in keys if k not in chosen), key=lambda k: worst(chosen + [k])))
        if worst(chosen) > self.tol:
            return None
        needed = [k for k in chosen if worst([c for c in chosen if c != k]) > self.tol]
        parts = [self._advice.get("class", "this recipe needs another torch.optim class")] if cls else []
        return "; ".join(parts + [self._key_message(k, parsed, expected) for k in needed])

    def _key_message(self, key, parsed, expected):
        if key in self._advice:
            return self._advice[key]
        missing = any(key not in p[1] and key in e[1] for p, e in zip(parsed, expected))
        name = expected[0][0]
        if missing and key in TORCH_DEFAULTS.get(name, {}):
            return (f"{key} is missing, so torch.optim.{name} uses its own default "
                    f"{key}={TORCH_DEFAULTS[name][key]!r}, which is not the recipe's")
        return f"{key} does not carry the recipe's value over"


# --------------------------------------------------------------------------
# The three recipes
# --------------------------------------------------------------------------
def _keras_rmsprop_answer(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    return "RMSprop", dict(lr=learning_rate, alpha=rho, eps=epsilon, momentum=momentum, centered=centered)


def _keras_rmsprop_cases(hidden):
    cases = [dict(), dict(learning_rate=0.01), dict(learning_rate=0.002, rho=0.95, momentum=0.9),
             dict(rho=0.99, centered=True)]
    if hidden:
        cases += [dict(learning_rate=0.0005, rho=0.8, momentum=0.5, centered=True),
                  dict(learning_rate=0.001, epsilon=1e-6)]
    return cases


def _keras_adam_answer(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                       weight_decay=None):
    # Keras's weight_decay decays w directly (torch's AdamW); None means none (AdamW with 0 is Adam)
    return "AdamW", dict(lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad,
                         weight_decay=0.0 if weight_decay is None else weight_decay)


def _keras_adam_cases(hidden):
    cases = [dict(), dict(learning_rate=0.01, beta_1=0.8), dict(weight_decay=0.004),
             dict(amsgrad=True, beta_2=0.99)]
    if hidden:
        cases += [dict(learning_rate=3e-4, weight_decay=0.05, amsgrad=True),
                  dict(beta_1=0.5, beta_2=0.9, epsilon=1e-6)]
    return cases


def _optax_adamw_answer(learning_rate, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4):
    return "AdamW", dict(lr=learning_rate, betas=(b1, b2), eps=eps, weight_decay=weight_decay)


def _optax_adamw_cases(hidden):
    cases = [dict(learning_rate=1e-3), dict(learning_rate=3e-3, weight_decay=0.05),
             dict(learning_rate=1e-2, b1=0.8, b2=0.99, eps=1e-6)]
    if hidden:
        cases += [dict(learning_rate=1e-3, eps=1e-10, weight_decay=0.0),
                  dict(learning_rate=5e-4, b2=0.95, weight_decay=0.1)]
    return cases


QUESTIONS = [
    PortQuestion(
        "port_keras_rmsprop", 2, framework=frameworks.keras_rmsprop, answer=_keras_rmsprop_answer,
        make_cases=_keras_rmsprop_cases, exact=False, grads=LARGE, tol=1e-5,
        why_inexact="Keras adds epsilon inside the root",
        advice={
            "alpha": "alpha is not the recipe's: Keras's rho is torch's alpha (torch's default alpha is "
                     "0.99, Keras's default rho 0.9: pass alpha=rho)",
            "lr": "lr is not the recipe's: pass lr=learning_rate (torch's RMSprop defaults to 0.01, "
                  "Keras's to 0.001)",
            "momentum": "momentum is not the recipe's: Keras's momentum is torch's momentum (Keras keeps lr "
                        "inside its buffer, torch multiplies the buffer by lr: the same steps)",
            "centered": "centered is not the recipe's: both frameworks' centered divides by the root of "
                        "s - (mean of g)^2",
            "eps": "eps: Keras adds epsilon inside the root, torch outside; no torch eps is exact, but as "
                   "small a value as Keras's keeps steps of ordinary gradients the same (and eps = 0 "
                   "divides 0 by 0)",
        }),
    PortQuestion(
        "port_keras_adam", 2, framework=frameworks.keras_adam, answer=_keras_adam_answer,
        make_cases=_keras_adam_cases, exact=False, grads=LARGE, tol=1e-5,
        why_inexact="Keras's Adam adds its 'epsilon hat' before the bias correction",
        advice={
            "class": "torch.optim.Adam's weight_decay is L2 (added to the gradient, then divided by "
                     "sqrt(s_hat)); Keras's weight_decay decays the weights directly, w <- w - lr wd w, "
                     "which is torch.optim.AdamW",
            "weight_decay": "weight_decay is not the recipe's: Keras's weight_decay=None means no decay "
                            "(torch's AdamW defaults to 0.01), and Keras multiplies it by the learning "
                            "rate exactly as torch's AdamW does: pass it unchanged",
            "betas": "betas is not the recipe's: pass betas=(beta_1, beta_2)",
            "lr": "lr is not the recipe's: pass lr=learning_rate",
            "amsgrad": "amsgrad is not the recipe's: Keras's amsgrad keeps the maximum of the raw v, "
                       "as torch's does",
            "eps": "eps: Keras adds its 'epsilon hat' to sqrt(v) before correcting, torch to sqrt(v_hat); "
                   "no torch eps is exact, but as small a value as Keras's keeps steps of ordinary "
                   "gradients the same (and eps = 0 divides 0 by 0)",
        }),
    PortQuestion(
        "port_optax_adamw", 2, framework=frameworks.optax_adamw, answer=_optax_adamw_answer,
        make_cases=_optax_adamw_cases, exact=True, grads=MIXED, tol=1e-9,
        advice={
            "class": "optax.adamw decays the weights directly (its decay is added to the Adam update, "
                     "then scaled by -lr), which is torch.optim.AdamW; torch.optim.Adam's weight_decay "
                     "is L2",
            "weight_decay": "weight_decay is not the recipe's: optax.adamw's default is 1e-4, torch's "
                            "AdamW's 1e-2, and both multiply it by the learning rate: pass it unchanged",
            "eps": "eps is not the recipe's: optax and torch both add eps to sqrt(v_hat), so pass it "
                   "unchanged (it matters for gradients near eps)",
            "betas": "betas is not the recipe's: pass betas=(b1, b2)",
            "lr": "lr is not the recipe's: pass lr=learning_rate",
        }),
]
REFERENCES = {q.qid: [] for q in QUESTIONS}
