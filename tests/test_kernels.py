"""The fast kernels the classes run (optlib/_kernels.py) compute the readable equations of optlib.functional.

Every option of every kernel, float32 and float64, small arrays and arrays large enough to be
updated block by block. The moments (v, s, m, b, s_max) are computed in the same order in
both, so they must agree to the last bit; the weights may differ by round-off only where a
kernel regroups the arithmetic (Adam folds its bias corrections into two scalars).
"""
import itertools

import numpy as np
import pytest

from optlib import _kernels as K
from optlib import functional as F

SHAPES = {"small": (7, 3), "blocked": (2 * K.block_size(np.float32) + 5,)}


def _options(**choices):
    keys = list(choices)
    return [dict(zip(keys, values)) for values in itertools.product(*choices.values())]


CASES = (
    [("sgd", o) for o in _options(momentum=[0.0, 0.9], dampening=[0.0, 0.3], weight_decay=[0.0, 0.1],
                                  nesterov=[False, True], first=[False, True])
     if not (o["nesterov"] and (o["momentum"] == 0 or o["dampening"]))]
    + [("rmsprop", o) for o in _options(weight_decay=[0.0, 0.1], momentum=[0.0, 0.5], centered=[False, True],
                                        eps_in_sqrt=[False, True])]
    + [("adam", o) for o in _options(weight_decay=[0.0, 0.1], decoupled=[False, True], amsgrad=[False, True],
                                     bias_correction=[True, False], eps_in_sqrt=[False, True], t=[1, 7])
       if o["weight_decay"] or not o["decoupled"]]
    + [("adagrad", o) for o in _options(weight_decay=[0.0, 0.1], lr_decay=[0.0, 0.01], t=[1, 7])]
)


def _ids(case):
    name, o = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in o.items()) + ")"


def _arrays(shape, dtype, seed, *names):
    rng = np.random.default_rng(seed)
    out = {"w": rng.standard_normal(shape), "g": rng.standard_normal(shape) * 3}
    for n in names:
        out[n] = np.abs(rng.standard_normal(shape)) if n in ("s", "s_max") else rng.standard_normal(shape)
    if "s" in out and "m" in out:
        out["s"] += out["m"] ** 2                            # s >= m^2, as the moments of one g keep it
    return {k: v.astype(dtype) for k, v in out.items()}


def run(name, o, shape, dtype):
    """(kernel's arrays, functional's arrays, start) after one step of each from the same state."""
    names = {"sgd": ["v"], "rmsprop": ["s", "m", "b"], "adam": ["v", "s", "s_max"], "adagrad": ["s"]}[name]
    ours = _arrays(shape, dtype, 0, *names)
    ref = {k: v.copy() for k, v in ours.items()}
    start = ours["w"].copy()
    scratch = K.scratch_for(ours["w"])
    wd, lr = o["weight_decay"], 0.05
    r, g = ref["w"], ref["g"]
    if name == "sgd":
        K.blockwise(K.sgd, (ours["w"], ours["g"], ours["v"]), scratch, lr, o["momentum"], o["dampening"], wd,
                    o["nesterov"], o["first"])
        g = g + wd * r
        if o["momentum"]:
            F.momentum_step(r, g, ref["v"], lr, o["momentum"], first=o["first"], dampening=o["dampening"],
                            nesterov=o["nesterov"])
        else:
            F.gd_step(r, g, lr)
    elif name == "rmsprop":
        K.blockwise(K.rmsprop, (ours["w"], ours["g"], ours["s"], ours["m"], ours["b"]), scratch, lr, 0.9, 1e-3,
                    wd, o["momentum"], o["centered"], o["eps_in_sqrt"])
        F.rmsprop_step(r, g + wd * r, ref["s"], lr, 0.9, 1e-3, eps_in_sqrt=o["eps_in_sqrt"],
                       centered=o["centered"], m=ref["m"], momentum=o["momentum"], b=ref["b"])
    elif name == "adam":
        s_max = ours["s_max"] if o["amsgrad"] else None
        K.blockwise(K.adam, (ours["w"], ours["g"], ours["v"], ours["s"], s_max), scratch, o["t"], lr, 0.8, 0.99,
                    1e-3, wd, o["decoupled"], o["bias_correction"], o["eps_in_sqrt"])
        if o["decoupled"]:
            r *= 1 - lr * wd                                  # AdamW: w <- (1 - lr wd) w
        else:
            g = g + wd * r
        F.adam_step(r, g, ref["v"], ref["s"], o["t"], lr, 0.8, 0.99, 1e-3, bias_correction=o["bias_correction"],
                    eps_in_sqrt=o["eps_in_sqrt"], s_max=ref["s_max"] if o["amsgrad"] else None)
    else:
        K.blockwise(K.adagrad, (ours["w"], ours["g"], ours["s"]), scratch, o["t"], lr, 1e-3, o["lr_decay"], wd)
        F.adagrad_step(r, g + wd * r, ref["s"], o["t"], lr, 1e-3, o["lr_decay"])
    return ours, ref, start


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", SHAPES)
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_kernel_equals_the_readable_equations(case, size, dtype):
    ours, ref, start = run(*case, SHAPES[size], dtype)
    for key in ours:
        assert ours[key].dtype == dtype, key
        if key != "w":
            np.testing.assert_array_equal(ours[key], ref[key], err_msg=key)      # same order: same bits
    step = np.abs(ref["w"] - start)
    assert step.max() > 1e-3, "the step barely moved w; the comparison would prove nothing"
    bound = 8 * np.finfo(dtype).eps * (np.abs(ref["w"]) + step)
    assert np.all(np.abs(ours["w"] - ref["w"]) <= bound), np.max(np.abs(ours["w"] - ref["w"]) / bound)


def test_sgd_and_rmsprop_with_momentum_are_bitwise_equal_on_the_weights_too():
    """Where no arithmetic is regrouped the weights agree to the last bit, not just to round-off."""
    for case in [("sgd", dict(momentum=0.9, dampening=0.0, weight_decay=0.1, nesterov=True, first=False)),
                 ("rmsprop", dict(weight_decay=0.1, momentum=0.5, centered=True, eps_in_sqrt=False))]:
        ours, ref, _ = run(*case, SHAPES["blocked"], np.float64)
        np.testing.assert_array_equal(ours["w"], ref["w"])


def test_the_cases_cover_every_option():
    seen = {name: set() for name, _ in CASES}
    for name, o in CASES:
        seen[name] |= {(k, v) for k, v in o.items()}
    assert all(("nesterov", True) in seen["sgd"] and ("first", True) in seen["sgd"] for _ in [0])
    assert {("centered", True), ("momentum", 0.5), ("eps_in_sqrt", True)} <= seen["rmsprop"]
    assert {("amsgrad", True), ("decoupled", True), ("bias_correction", False), ("eps_in_sqrt", True)} <= seen["adam"]
