"""Step a torch model with an optlib optimizer, and check optlib against torch.optim.

torch computes the gradients, optlib does the update, and no array is copied:
:func:`params_as_numpy` and :func:`grads_as_numpy` return numpy *views* of
CPU tensors (``tensor.detach().numpy()``), so an optlib optimizer that updates
its arrays in place updates the model's weights::

    stepper = OptlibStepper(model.parameters(), optlib.Adam, lr=1e-3)
    loss = loss_fn(model(X), y)
    stepper.zero_grad()
    loss.backward()
    stepper.step()                   # optlib's Adam writes into the weights

:func:`parity_run` trains two identical copies of a small network on
scikit-learn's digits, one stepped by ``torch.optim`` and one by optlib, and
records how far apart their parameters drift, step by step.
:func:`reddi_run_torch` runs Reddi et al.'s problem with ``torch.optim.Adam``,
the oracle for :func:`optlib.experiments.reddi_run`.

torch is imported inside the functions: ``import optlib`` never imports torch.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["params_as_numpy", "grads_as_numpy", "OptlibStepper", "ParityResult", "parity_run",
           "OPTIMIZERS", "build_model", "order_of_magnitude", "reddi_run_torch"]

#: The optimizers both libraries have, by optlib's name: (optlib class name, torch.optim class name).
OPTIMIZERS = {"SGD": ("SGD", "SGD"), "RMSProp": ("RMSProp", "RMSprop"), "Adam": ("Adam", "Adam"),
              "AdamW": ("AdamW", "AdamW"), "Adagrad": ("Adagrad", "Adagrad")}
_OPT_ALIASES = {k.lower(): k for k in OPTIMIZERS}


def _torch():
    try:
        import torch
    except ImportError as err:                                       # pragma: no cover
        raise ImportError("optlib.torch_bridge needs torch (pip install optlib[course])") from err
    return torch


# --------------------------------------------------------------------------
# Views of tensors
# --------------------------------------------------------------------------
def _tensor_list(obj, what="params"):
    """A list of tensors from a module, a tensor, or an iterable of tensors."""
    torch = _torch()
    if isinstance(obj, torch.nn.Module):
        tensors = list(obj.parameters())
    elif isinstance(obj, torch.Tensor):
        tensors = [obj]
    else:
        try:
            tensors = list(obj)
        except TypeError:
            raise TypeError(f"{what} must be a torch module, a tensor or an iterable of tensors, "
                            f"got {type(obj).__name__}") from None
    if not tensors:
        raise ValueError(f"{what} is empty (a generator such as model.parameters() can be used only once)")
    for i, t in enumerate(tensors):
        if isinstance(t, dict):
            raise TypeError(f"{what}[{i}] is a dict: parameter groups are for OptlibStepper; "
                            "here pass the tensors themselves")
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{what}[{i}] must be a torch tensor, got {type(t).__name__}")
    return tensors


def _check_viewable(t, name, dtype=None):
    """Raise a clear error unless ``t`` can be shared with numpy as a float32/float64 array."""
    torch = _torch()
    if t.device.type != "cpu":
        raise ValueError(f"{name} is on device '{t.device}'; numpy can only view CPU memory. "
                         "Move the model with model.cpu() (or use torch.optim on that device)")
    if t.layout != torch.strided:
        raise ValueError(f"{name} has layout {t.layout}; only dense (strided) tensors can be viewed")
    if t.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} has dtype {t.dtype}; optlib updates float32 or float64 arrays only "
                        "(use model.float() or model.double())")
    if dtype is not None and t.dtype != dtype:
        raise TypeError(f"dtype mismatch: {name} has dtype {t.dtype}, expected {dtype}")
    if not t.is_contiguous():
        raise ValueError(f"{name} (shape {tuple(t.shape)}, strides {t.stride()}) is not contiguous; "
                         "a numpy view of it would not be a plain array. Use a contiguous tensor "
                         "(tensor.contiguous() makes a copy, which the optimizer would then update "
                         "instead of the tensor)")
    if t.is_conj() or t.is_neg():
        raise ValueError(f"{name} is a lazily conjugated or negated view; call .resolve_conj()/.resolve_neg()")


def _dtype(dtype):
    """torch dtype from a torch dtype, a numpy dtype or a name ("float64")."""
    torch = _torch()
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    name = np.dtype(dtype).name
    if name not in ("float32", "float64"):
        raise TypeError(f"dtype must be float32 or float64, got {name}")
    return getattr(torch, name)


def params_as_numpy(params, dtype=None):
    """Numpy views (no copies) of the tensors of ``params``: a module, a tensor or an iterable of tensors.

    Writing into an array writes into its tensor. Raises ``ValueError`` for a
    tensor that is not on the CPU, not dense or not contiguous, ``TypeError``
    for a dtype other than float32/float64 (or other than ``dtype``, if given).
    """
    tensors = _tensor_list(params, "params")
    dtype = _dtype(dtype)
    arrays = []
    for i, t in enumerate(tensors):
        _check_viewable(t, f"params[{i}]", dtype)
        arrays.append(t.detach().numpy())
    return arrays


def grads_as_numpy(params):
    """Numpy views of each tensor's ``.grad`` (``None`` where a tensor has no gradient).

    The views are of the gradient tensors *now*: ``zero_grad()`` (which sets
    ``.grad`` to ``None``) followed by ``backward()`` makes new ones, so call
    this after every ``backward()``.
    """
    tensors = _tensor_list(params, "params")
    grads = []
    for i, t in enumerate(tensors):
        g = t.grad
        if g is None:
            grads.append(None)
            continue
        _check_viewable(g, f"params[{i}].grad")
        if g.dtype != t.dtype:
            raise TypeError(f"dtype mismatch: params[{i}].grad has dtype {g.dtype}, "
                            f"params[{i}] has dtype {t.dtype}")
        if g.shape != t.shape:
            raise ValueError(f"params[{i}].grad has shape {tuple(g.shape)}, params[{i}] {tuple(t.shape)}")
        grads.append(g.detach().numpy())
    return grads


# --------------------------------------------------------------------------
# An optlib optimizer in a torch training loop
# --------------------------------------------------------------------------
class OptlibStepper:
    """Drive a torch model's weights with an optlib optimizer, in place, torch.optim-style.

    ``optimizer`` is an optlib class (``optlib.Adam``) or any callable that
    takes the list of numpy parameter views (and ``**hyper``) and returns an
    object with ``step(grads)``. ``params`` may also be torch-style parameter
    groups, ``[{"params": model[0].parameters(), "lr": 1e-2}, ...]``; their
    options reach the optimizer's ``param_groups``, and a scheduler from
    :mod:`optlib.lr_scheduler` drives ``stepper.optimizer``. :meth:`step` reads the ``.grad`` views and lets
    the optimizer update the weights; it then bumps the tensors' autograd
    version counters (as torch.optim's in-place updates do), so a graph built
    before the step cannot silently be reused.

    If a tensor's storage is replaced after the stepper was made (``p.data =
    ...``, ``model.double()``, ``model.to(...)``), the views would go stale:
    :meth:`step` raises instead of updating memory the model no longer uses.
    """

    def __init__(self, params, optimizer, **hyper):
        params = list(params) if isinstance(params, (list, tuple)) else params
        if isinstance(params, list) and params and all(isinstance(g, dict) for g in params):
            groups = []                                  # torch's parameter groups, as numpy views
            for k, group in enumerate(params):
                if "params" not in group:
                    raise ValueError(f"params[{k}] is a parameter group without a 'params' entry")
                tensors = _tensor_list(group["params"], f"params[{k}]['params']")
                groups.append({**group, "params": tensors})
            self.tensors = [t for g in groups for t in g["params"]]
            self.arrays = params_as_numpy(self.tensors)
            views, i = [], 0
            for g in groups:
                views.append({**g, "params": self.arrays[i:i + len(g["params"])]})
                i += len(g["params"])
            self.optimizer = optimizer(views, **hyper)
        else:
            self.tensors = _tensor_list(params, "params")
            self.arrays = params_as_numpy(self.tensors)
            self.optimizer = optimizer(self.arrays, **hyper)
        if not callable(getattr(self.optimizer, "step", None)):
            raise TypeError(f"optimizer(...) returned {type(self.optimizer).__name__}, "
                            "which has no step(grads) method")
        self._ptrs = [a.__array_interface__["data"][0] for a in self.arrays]

    def _check_storage(self):
        for i, (t, ptr) in enumerate(zip(self.tensors, self._ptrs)):
            if t.device.type != "cpu" or t.data_ptr() != ptr or t.dtype != _dtype(self.arrays[i].dtype):
                raise RuntimeError(
                    f"params[{i}] no longer uses the memory the stepper views (its data, dtype or "
                    "device was replaced, e.g. by model.double() or model.to(...)); "
                    "make the OptlibStepper after moving or converting the model")

    def step(self):
        """One optimizer step from the current ``.grad`` of every tensor (skipping those without one)."""
        torch = _torch()
        self._check_storage()
        grads = grads_as_numpy(self.tensors)
        if all(g is None for g in grads):
            raise RuntimeError("no parameter has a gradient: call loss.backward() before step()")
        self.optimizer.step(grads)
        for t, g in zip(self.tensors, grads):
            if g is not None:
                torch.autograd.graph.increment_version(t)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients, like ``torch.optim.Optimizer.zero_grad``."""
        for t in self.tensors:
            if t.grad is None:
                continue
            if set_to_none:
                t.grad = None
            else:
                t.grad.detach_()
                t.grad.zero_()

    @property
    def param_groups(self):
        """The optimizer's parameter groups (their ``"params"`` are the numpy views)."""
        return self.optimizer.param_groups

    def state_dict(self):
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.optimizer.load_state_dict(state_dict)

    def __repr__(self):
        return f"OptlibStepper({self.optimizer!r})"


# --------------------------------------------------------------------------
# Parity: torch.optim and optlib side by side on a real network
# --------------------------------------------------------------------------
_DATA = {}


def _digits(dtype):
    torch = _torch()
    from .data import digits

    key = str(dtype)
    if key not in _DATA:
        split = digits(seed=0, dtype=np.float64)
        _DATA[key] = (torch.from_numpy(split.X_train).to(dtype), torch.from_numpy(split.y_train).long(),
                      torch.from_numpy(split.X_test).to(dtype), torch.from_numpy(split.y_test).long())
    return _DATA[key]


def build_model(model="mlp", hidden=32, seed=0, dtype="float64"):
    """The networks of the parity runs, for 8x8 digits (64 inputs, 10 classes), initialised from ``seed``.

    Seeds torch's global generator (``torch.manual_seed(seed)``) to do so.

    ``"mlp"``: Linear(64, hidden) - tanh - Linear(hidden, 10).
    ``"cnn"``: Conv2d(1, 8, 3, padding 1) - ReLU - MaxPool 2 - Linear(128, 10) (input reshaped to 1x8x8).
    """
    torch = _torch()
    nn = torch.nn
    dtype = _dtype(dtype)
    torch.manual_seed(seed)
    if model == "mlp":
        net = nn.Sequential(nn.Linear(64, hidden), nn.Tanh(), nn.Linear(hidden, 10))
    elif model == "cnn":
        net = nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    else:
        raise ValueError(f"model must be 'mlp' or 'cnn', got {model!r}")
    return net.to(dtype)


@dataclass
class ParityResult:
    """Two copies of one network trained side by side: A by torch.optim, B by optlib.

    Arrays have one entry per step (after that step): ``max_abs_diff`` is the
    largest |w_A - w_B| over all weights, ``moved`` the largest |w_A - w_A(0)|
    (how far training moved the weights), ``rel_diff = max_abs_diff / moved``.
    """

    name: str
    options: dict
    dtype: str
    model: str
    max_abs_diff: np.ndarray
    moved: np.ndarray
    loss_torch: np.ndarray
    loss_optlib: np.ndarray
    accuracy_torch: float
    accuracy_optlib: float
    param_size: float = field(default=float("nan"))

    @property
    def steps(self):
        return len(self.max_abs_diff)

    @property
    def rel_diff(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.moved > 0, self.max_abs_diff / np.where(self.moved > 0, self.moved, 1), 0.0)

    @property
    def max_diff(self):
        """The largest parameter difference over the whole run."""
        return float(self.max_abs_diff.max())

    @property
    def max_rel(self):
        return float(self.rel_diff.max())

    @property
    def final_diff(self):
        return float(self.max_abs_diff[-1])


def _optimizer_name(name):
    key = _OPT_ALIASES.get(str(name).lower())
    if key is None:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return key


def parity_run(optimizer, options=None, *, steps=300, dtype="float64", model="mlp", hidden=32,
               batch_size=64, seed=0, optlib_options=None, optlib_factory=None, foreach=None,
               copy_b="optlib", perturb=0.0):
    """Train two identical copies of a network on digits; torch.optim steps A, optlib steps B.

    Both copies start from the same weights (``seed``) and see the same
    mini-batches; torch computes each copy's gradients at its own weights.
    Copy A is stepped by ``torch.optim.<optimizer>(**options)``; copy B by
    ``optlib.<optimizer>(**options, **optlib_options)`` or, if given, by
    ``optlib_factory(arrays)`` (any object with ``step(grads)``), which is how a
    deliberate convention slip is measured against torch.

    ``options`` are torch's keyword arguments (lr, momentum, betas, ...).
    ``foreach`` is passed to torch's optimizer (None: torch's default, the
    per-tensor loop on CPU).

    A control experiment: ``copy_b="torch"`` steps B with torch.optim as well,
    and ``perturb`` multiplies B's starting weights by ``1 + perturb``; torch
    against itself, nudged by one rounding error, shows how much the training
    dynamics alone amplify round-off. Returns a :class:`ParityResult`.
    """
    torch = _torch()
    from . import optimizers
    from .data import batches as shuffled_batches

    name = _optimizer_name(optimizer)
    options = dict(options or {})
    tdtype = _dtype(dtype)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    X, y, X_test, y_test = _digits(tdtype)

    net_a = build_model(model, hidden, seed, tdtype)
    net_b = copy.deepcopy(net_a)
    if perturb:
        with torch.no_grad():
            for p in net_b.parameters():
                p.mul_(1.0 + perturb)
    params_a, params_b = list(net_a.parameters()), list(net_b.parameters())
    start = [p.detach().clone() for p in params_a]
    param_size = max(float(p.detach().abs().max()) for p in params_a)

    torch_cls = getattr(torch.optim, OPTIMIZERS[name][1])
    torch_kw = dict(options)
    if foreach is not None:
        torch_kw["foreach"] = foreach
    opt_a = torch_cls(params_a, **torch_kw)
    if copy_b == "torch":
        if optlib_options or optlib_factory:
            raise ValueError("copy_b='torch' steps B with torch.optim: optlib_options/optlib_factory make no sense")
        opt_b = torch_cls(params_b, **torch_kw)
    elif copy_b != "optlib":
        raise ValueError(f"copy_b must be 'optlib' or 'torch', got {copy_b!r}")
    elif optlib_factory is None:
        opt_b = OptlibStepper(params_b, getattr(optimizers, OPTIMIZERS[name][0]),
                              **{**options, **(optlib_options or {})})
    else:
        if optlib_options:
            raise ValueError("give optlib_options or optlib_factory, not both")
        opt_b = OptlibStepper(params_b, optlib_factory)

    loss_fn = torch.nn.functional.cross_entropy
    rng = np.random.default_rng(seed)
    diff, moved = np.empty(steps), np.empty(steps)
    loss_a, loss_b = np.empty(steps), np.empty(steps)
    batches = []
    for t in range(steps):
        if not batches:
            batches = shuffled_batches(len(y), batch_size, rng)[::-1]
        idx = torch.from_numpy(batches.pop())
        xb, yb = X[idx], y[idx]
        for net, opt, losses in ((net_a, opt_a, loss_a), (net_b, opt_b, loss_b)):
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            losses[t] = loss.item()
        with torch.no_grad():
            diff[t] = max(float((a - b).abs().max()) for a, b in zip(params_a, params_b))
            moved[t] = max(float((a - s).abs().max()) for a, s in zip(params_a, start))
    with torch.no_grad():
        acc_a = float((net_a(X_test).argmax(1) == y_test).double().mean())
        acc_b = float((net_b(X_test).argmax(1) == y_test).double().mean())
    label = name if optlib_factory is None else getattr(optlib_factory, "__name__", name)
    if copy_b == "torch":
        label = f"{name} (torch vs torch)"
    return ParityResult(label, options, str(tdtype).replace("torch.", ""), model, diff, moved,
                        loss_a, loss_b, acc_a, acc_b, param_size)


def order_of_magnitude(x):
    """``x`` rounded up to a power of ten, as text ("1e-15"; "0" for exactly 0): stable to print."""
    x = float(x)
    if x == 0.0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"1e{math.ceil(math.log10(abs(x))):+03d}"


# --------------------------------------------------------------------------
# Reddi et al. 2018 with torch.optim (the oracle for optlib.experiments.reddi_run)
# --------------------------------------------------------------------------
def reddi_run_torch(steps=10_000, C=3.0, x0=0.0, lr=0.1, decay=True, amsgrad=True, betas=None, eps=1e-8):
    """:func:`optlib.experiments.reddi_run` with ``torch.optim.Adam`` in float64.

    The same problem, projection and schedule (``lr / sqrt(t)`` through
    ``torch.optim.lr_scheduler.LambdaLR`` when ``decay``); ``betas`` defaults
    to the paper's ``(0, 1 / (1 + C**2))``. Returns ``x_0..x_steps``.
    """
    torch = _torch()
    from .experiments import inverse_sqrt, reddi_gradient

    if betas is None:
        betas = (0.0, 1.0 / (1.0 + C**2))
    x = torch.tensor([float(x0)], dtype=torch.float64, requires_grad=True)
    x.grad = torch.zeros_like(x)
    opt = torch.optim.Adam([x], lr=lr, betas=betas, eps=eps, amsgrad=amsgrad)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, inverse_sqrt) if decay else None
    xs = np.empty(steps + 1)
    xs[0] = x0
    for t in range(1, steps + 1):
        x.grad.fill_(reddi_gradient(t, C))
        opt.step()
        with torch.no_grad():
            x.clamp_(-1.0, 1.0)                          # projection on [-1, 1]
        xs[t] = x.item()
        if schedule:
            schedule.step()
    return xs
