"""The bookkeeping every optimizer shares, laid out as torch.optim.Optimizer's.

* ``opt.param_groups``: a list of dicts, one per parameter group, each holding
  ``"params"`` (its arrays) and every hyperparameter (``"lr"``, ``"betas"``...).
  The constructor takes a list of arrays (one group) or a list of group dicts
  whose missing options come from the constructor's arguments, as in torch::

      opt = Adam([{"params": body}, {"params": head, "lr": 1e-2}], lr=1e-3)

* ``opt.defaults``: the constructor's hyperparameters; used for groups added
  later with :meth:`add_param_group`, never for the existing ones.
* ``opt.state[i]``: the state of parameter i (its step counter, moments...),
  i counting across groups in order.
* :meth:`state_dict` / :meth:`load_state_dict`: torch's layout, ``{"state":
  {i: {...}}, "param_groups": [{..., "params": [i, ...]}]}``.

A group's hyperparameters may change between steps (that is how a scheduler
works); the next step uses the new values. Each step checks what changed with
the constructor's checks, and refuses a bad value before any array changes,
naming the group and the key. Writing ``opt.lr = ...`` would change nothing,
so it raises and says where the value lives; reading ``opt.lr`` is a shortcut
for ``opt.param_groups[0]["lr"]`` while there is one group.
"""
from __future__ import annotations

import copy
from itertools import chain

import numpy as np

from . import _kernels as K
from .validation import check_grads, check_params, unknown_key_message

__all__ = ["Optimizer", "SCHEDULER_KEYS"]

#: Keys a learning-rate scheduler may add to a group (optlib.lr_scheduler, as torch's do).
SCHEDULER_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")

_ATTRIBUTES = ("defaults", "param_groups", "state", "check_finite")


class Optimizer:
    """Parameter groups, per-parameter state, validation, state dicts (torch.optim.Optimizer).

    A subclass sets ``hyperparameters`` (name -> check, from
    :mod:`optlib.validation`), and implements ``_init_state(p, group)`` and
    ``_update(p, g, state, group, scratch)``, the step of one parameter, where
    ``group`` holds the checked hyperparameters of its group.
    """

    hyperparameters: dict = {}

    def __init__(self, params, defaults, check_finite=True):
        self.defaults = self._checked(dict(defaults), "")
        self.check_finite = check_finite
        self._stepped = False                                      # for the schedulers' order warning
        self.param_groups, self.state = [], []
        self._params, self._scratch, self._checked_groups = [], [], []
        if hasattr(params, "__next__"):                            # a generator: read it once
            params = list(params)
        if isinstance(params, (list, tuple)) and params and all(isinstance(x, dict) for x in params):
            for group in params:
                self.add_param_group(group)
        elif isinstance(params, (list, tuple)) and any(isinstance(x, dict) for x in params):
            raise TypeError("params mixes arrays and parameter groups (dicts); pass a list of arrays "
                            "or a list of dicts, each with a 'params' list")
        else:
            self._add_group({"params": params}, label="params")

    # -- groups ------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group: a dict with ``"params"`` (a list of arrays) and any hyperparameters.

        Hyperparameters it does not give come from ``defaults``. The arrays
        must not already be in a group.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict with a 'params' list, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry: the list of arrays it optimizes")
        k = len(self.param_groups)
        self._add_group(param_group, label=f"param_groups[{k}]['params']")

    def _add_group(self, param_group, label):
        where = f"param_groups[{len(self.param_groups)}]"
        arrays = param_group["params"]
        arrays = check_params([arrays] if isinstance(arrays, np.ndarray) and label != "params" else arrays,
                              label, self._params)
        group = dict(param_group)
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        checked = self._checked(group, where)
        group.update((name, checked[name]) for name in self.hyperparameters)
        group["params"] = arrays
        self.param_groups.append(group)
        self._checked_groups.append(self._snapshot(group, checked))
        for p in arrays:
            self._params.append(p)
            self.state.append(self._init_state(p, checked))
            self._scratch.append(None)

    def _checked(self, group, where):
        """The group's hyperparameters, each checked (an error names ``where[key]``)."""
        known = tuple(self.hyperparameters)
        for key in group:
            if key != "params" and key not in self.hyperparameters and key not in SCHEDULER_KEYS:
                raise ValueError(unknown_key_message(where or type(self).__name__, key, known))
        checked = {}
        for name, check in self.hyperparameters.items():
            label = f"{where}[{name!r}]" if where else name
            if name not in group:
                raise ValueError(f"{where} has no {name!r}; {type(self).__name__} needs {', '.join(known)}")
            checked[name] = check(label, group[name])
        self._check_combination(checked, f"{where}: " if where else "")
        return checked

    def _check_combination(self, group, where):
        """Checks that involve several hyperparameters (a subclass may add some)."""

    @staticmethod
    def _snapshot(group, checked):
        keys = tuple(k for k in group if k != "params")
        values = tuple(tuple(group[k]) if isinstance(group[k], list) else group[k] for k in keys)
        return keys, values, checked, group["params"], len(group["params"])

    def _group_hyperparameters(self, k, group):
        """The checked hyperparameters of group ``k``, checked again if anything in it changed."""
        keys, values, checked, params, n = self._checked_groups[k]
        if group.get("params") is not params or len(params) != n:
            raise ValueError(f"param_groups[{k}]['params'] was changed; add arrays with add_param_group")
        try:                                   # the values as last checked (a list never matches: checked again)
            same = len(group) == len(keys) + 1 and tuple(map(group.get, keys)) == values
        except (TypeError, ValueError):        # an array compared elementwise: check it, and say what is wrong
            same = False
        if not same:
            checked = self._checked(group, f"param_groups[{k}]")
            self._checked_groups[k] = self._snapshot(group, checked)
        return checked

    # -- the step ----------------------------------------------------------
    def step(self, grads):
        """Apply one update to every parameter, in place, from ``grads``.

        ``grads`` is a list with one array per parameter (same shape and
        dtype), in the order of the groups, or ``None`` for a parameter that
        has no gradient this step (it is skipped and its step counter does not
        advance). Hyperparameters are read from ``param_groups`` now, so a
        change made since the last step takes effect here. Nothing changes if
        anything is wrong: a bad hyperparameter raises ``ValueError``, a NaN or
        inf gradient ``NonFiniteGradientError`` (unless ``check_finite`` is
        False, the fast path for callers that watch the loss themselves).
        """
        grads = check_grads(grads, self._params, self.check_finite)
        groups = [self._group_hyperparameters(k, g) for k, g in enumerate(self.param_groups)]
        if not self._stepped:
            self._stepped = True
        params, state, scratch, update = self._params, self.state, self._scratch, self._update
        i = 0
        for group, hyper in zip(self.param_groups, groups):
            for _ in range(len(group["params"])):
                g = grads[i]
                if g is not None:
                    p, st = params[i], state[i]
                    st["step"] += 1
                    if scratch[i] is None:
                        scratch[i] = K.scratch_for(p)
                    update(p, g, st, hyper, scratch[i])
                i += 1

    # -- state -------------------------------------------------------------
    def state_dict(self):
        """A deep copy of the state and the groups, in torch's layout.

        ``{"state": {i: {...}}, "param_groups": [{..., "params": [i, ...]}]}``:
        parameters are numbered in order across groups, a group lists its
        parameters' numbers, and the state is keyed by them.
        """
        groups, i = [], 0
        for group in self.param_groups:
            packed = copy.deepcopy({k: v for k, v in group.items() if k != "params"})
            packed["params"] = list(range(i, i + len(group["params"])))
            i += len(group["params"])
            groups.append(packed)
        return {"state": {i: copy.deepcopy(st) for i, st in enumerate(self.state)}, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned: the groups' hyperparameters and the state.

        The groups must have as many parameters as this optimizer's, in the
        same order; shapes are checked. Nothing changes if anything is wrong.
        """
        try:
            saved_state, saved_groups = state_dict["state"], state_dict["param_groups"]
        except (TypeError, KeyError):
            raise ValueError("state_dict must be a dict with 'state' and 'param_groups', "
                             "as returned by state_dict()") from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        for k, (ours, theirs) in enumerate(zip(self.param_groups, saved_groups)):
            if len(theirs["params"]) != len(ours["params"]):
                raise ValueError(f"loaded state dict's param_groups[{k}] has {len(theirs['params'])} params, "
                                 f"this optimizer's has {len(ours['params'])}")
        ids = list(chain.from_iterable(g["params"] for g in saved_groups))
        groups, checked = [], []
        for k, (ours, theirs) in enumerate(zip(self.param_groups, saved_groups)):
            group = copy.deepcopy({key: v for key, v in theirs.items() if key != "params"})
            group["params"] = ours["params"]
            checked.append(self._checked(group, f"loaded param_groups[{k}]"))
            groups.append(group)
        new_state, i = [], 0
        for group, hyper in zip(groups, checked):
            for p in group["params"]:
                sid = ids[i]
                st = saved_state.get(sid, saved_state.get(str(sid)))
                new_state.append(self._init_state(p, hyper) if st is None else self._loaded(i, p, st))
                i += 1
        self.param_groups, self.state = groups, new_state
        self._checked_groups = [self._snapshot(g, c) for g, c in zip(groups, checked)]

    @staticmethod
    def _loaded(i, p, st):
        st = copy.deepcopy(dict(st))
        for name, arr in st.items():
            if name == "step" or arr is None:
                continue
            if np.shape(arr) != p.shape:
                raise ValueError(f"state_dict['state'][{i}]['{name}'] has shape {np.shape(arr)}, "
                                 f"params[{i}] has shape {p.shape}")
            st[name] = np.array(arr, dtype=p.dtype)
        return st

    def zero_state(self):
        """Forget all moments and step counts (a fresh start with the same hyperparameters)."""
        self.state = [self._init_state(p, self._group_hyperparameters(k, group))
                      for k, group in enumerate(self.param_groups) for p in group["params"]]

    # -- attributes --------------------------------------------------------
    def __getattr__(self, name):
        groups = self.__dict__.get("param_groups")
        if groups and name in groups[0] and name != "params":
            if len(groups) == 1:
                return groups[0][name]
            raise AttributeError(f"{type(self).__name__} has {len(groups)} parameter groups, each with its "
                                 f"own {name!r}: read opt.param_groups[i][{name!r}]")
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name.startswith("_") or name in _ATTRIBUTES:
            if name == "check_finite":
                value = bool(value)
            object.__setattr__(self, name, value)
            return
        groups = self.__dict__.get("param_groups") or [{}]
        if name in self.__dict__.get("defaults", {}) or any(name in g for g in groups):
            raise AttributeError(
                f"setting opt.{name} would change nothing: each parameter group holds its own {name!r}. "
                f"Set opt.param_groups[0][{name!r}] = {value!r} (or the same key in every group of "
                "opt.param_groups), or let a scheduler from optlib.lr_scheduler set the learning rate")
        if type(self).__module__.startswith("optlib."):
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r} to set; its hyperparameters live in "
                f"opt.param_groups[i]: {', '.join(self.hyperparameters)}")
        object.__setattr__(self, name, value)                     # a user's subclass may add attributes

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for k, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {k}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines + [")"])

    # -- for subclasses ----------------------------------------------------
    def _init_state(self, p, group):
        return {"step": 0}

    def _update(self, p, g, state, group, scratch):
        raise NotImplementedError
