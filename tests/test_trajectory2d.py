"""optlib._trajectory2d (2-D runs on Python floats) against the array path, bit for bit.

The array path is optlib's optimizer classes stepping a numpy array (the one
checked against torch.optim elsewhere); the float path must give the same
positions, losses and divergence step to the last bit, or not run at all.
"""
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optlib
from optlib import _trajectory2d
from optlib.testfunctions import Beale, NoisyQuadratic, Quadratic, RotatedQuadratic, Rosenbrock, Saddle

trajectory_module = sys.modules["optlib.trajectory"]

OPTIMIZERS = [
    ("gd", optlib.SGD, dict(lr=1e-3)),
    ("gd-large", optlib.SGD, dict(lr=0.6)),                         # diverges on the quadratic
    ("momentum", optlib.SGD, dict(lr=1e-3, momentum=0.9)),
    ("momentum-dampening", optlib.SGD, dict(lr=1e-3, momentum=0.9, dampening=0.5)),
    ("nesterov-l2", optlib.SGD, dict(lr=1e-3, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("rmsprop", optlib.RMSProp, dict(lr=1e-2)),
    ("rmsprop-centered-momentum-l2", optlib.RMSProp, dict(lr=1e-2, centered=True, momentum=0.9, weight_decay=0.01)),
    ("rmsprop-eps-in-sqrt", optlib.RMSProp, dict(lr=1e-2, eps_in_sqrt=True)),
    ("rmsprop-eps0", optlib.RMSProp, dict(lr=1.0, eps=0.0)),
    ("adam", optlib.Adam, dict(lr=0.05)),
    ("adam-large", optlib.Adam, dict(lr=5.0)),
    ("adam-amsgrad-l2", optlib.Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    ("adam-no-correction-eps-in-sqrt", optlib.Adam, dict(lr=0.05, bias_correction=False, eps_in_sqrt=True)),
    ("adam-eps0", optlib.Adam, dict(lr=0.1, eps=0.0)),
    ("adamw", optlib.AdamW, dict(lr=0.05)),
    ("adagrad-decay", optlib.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
]
FUNCTIONS = [Quadratic(), RotatedQuadratic(condition=100, theta=30), Rosenbrock(), Beale(), Saddle(),
             NoisyQuadratic(sigma=1.0, seed=0)]


def array_path(fn, cls, steps, **hyper):
    """trajectory() with the float path switched off."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_trajectory2d, "run", lambda *a: None)
        return trajectory_module.trajectory(fn, cls, steps=steps, **hyper)


def float_path(fn, cls, steps, **hyper):
    """trajectory(), asserting that it took the float path."""
    taken = []
    real = _trajectory2d.run
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_trajectory2d, "run", lambda *a: taken.append(1) or real(*a))
        out = trajectory_module.trajectory(fn, cls, steps=steps, **hyper)
    assert taken and real.__module__ == "optlib._trajectory2d"
    return out


def assert_same_run(a, b):
    np.testing.assert_array_equal(a.xy, b.xy)          # NaN where both are NaN, every bit elsewhere
    np.testing.assert_array_equal(a.loss, b.loss)
    assert a.diverged == b.diverged


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: type(f).__name__)
@pytest.mark.parametrize("name,cls,hyper", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_float_path_is_the_array_path_bit_for_bit(name, cls, hyper, fn):
    with np.errstate(all="ignore"):
        fast = float_path(fn, cls, 300, **hyper)
        slow = array_path(fn, cls, 300, **hyper)
    assert_same_run(fast, slow)


def test_the_table_has_runs_that_diverge_and_runs_that_do_not():
    """The cases above cover both outcomes (a table of only diverging runs would compare NaNs)."""
    with np.errstate(all="ignore"):
        outcomes = {float_path(fn, cls, 300, **h).diverged is None for fn in FUNCTIONS for _, cls, h in OPTIMIZERS}
    assert outcomes == {True, False}


@settings(max_examples=60, deadline=None)
@given(cls=st.sampled_from([optlib.SGD, optlib.RMSProp, optlib.Adam, optlib.Adagrad]),
       lr=st.floats(1e-4, 2.0), x=st.floats(-3, 3), y=st.floats(-3, 3),
       fn=st.sampled_from(FUNCTIONS))
def test_any_start_and_step_size_gives_the_same_run(cls, lr, x, y, fn):
    with np.errstate(all="ignore"):
        fast = trajectory_module.trajectory(fn, cls, x0=(x, y), steps=60, lr=lr)
        slow = array_path(fn, cls, 60, x0=(x, y), lr=lr)
    assert_same_run(fast, slow)


class MyAdam(optlib.Adam):
    pass


class Bowl:
    start = (1.0, 1.0)

    def value(self, xy):
        return float(np.sum(np.asarray(xy) ** 2))

    def gradient(self, xy):
        return 2 * np.asarray(xy, dtype=float)


@pytest.mark.parametrize("fn,cls,dtype", [
    (Rosenbrock(), MyAdam, np.float64),            # a subclass may step differently
    (Rosenbrock(), optlib.Adam, np.float32),       # float32 rounds after every operation
    (Bowl(), optlib.Adam, np.float64),             # not one of optlib's test functions
], ids=["subclass", "float32", "own-function"])
def test_anything_else_takes_the_array_path(fn, cls, dtype):
    w = np.array(fn.start, dtype=dtype)
    assert _trajectory2d.run(fn, cls([w], lr=0.01), w, 10, 1e8) is None
    tr = trajectory_module.trajectory(fn, cls, steps=10, lr=0.01, dtype=dtype)
    assert tr.diverged is None and np.isfinite(tr.loss).all()


@pytest.mark.parametrize("a", [0.0, -0.0, 2.0, -2.0, np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("b", [0.0, -0.0, 3.0, -3.0, np.inf, np.nan])
def test_float_helpers_are_numpys_sqrt_maximum_and_divide(a, b):
    with np.errstate(all="ignore"):
        for got, want in [(_trajectory2d._sqrt(a), np.sqrt(a)), (_trajectory2d._max(a, b), np.maximum(a, b)),
                          (_trajectory2d._div(a, b), np.divide(a, b))]:
            np.testing.assert_array_equal(np.float64(got), want)
            if not (a == b == 0 and got == want):   # max(0.0, -0.0): numpy leaves the sign open (AMSGrad's s >= +0)
                assert np.signbit(got) == np.signbit(want) or np.isnan(want)


@pytest.mark.parametrize("name,cls,hyper", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_steps_on_a_gradient_stream_are_the_array_paths(name, cls, hyper):
    from optlib import noise
    grads = noise.gradient_stream(1.0, 3.0, 300, seed=1)
    hyper = {k: v for k, v in hyper.items() if k != "lr"}          # the stream's steps are taken with lr = 1
    taken = []
    real = _trajectory2d.stream
    with np.errstate(all="ignore"), pytest.MonkeyPatch.context() as mp:
        mp.setattr(_trajectory2d, "stream", lambda *a: taken.append(1) or real(*a))
        fast = noise.steps_on_stream(cls, grads, **hyper)
        mp.setattr(_trajectory2d, "stream", lambda *a: None)
        slow = noise.steps_on_stream(cls, grads, **hyper)
    assert taken and fast.shape == slow.shape == (300,)
    np.testing.assert_array_equal(fast, slow)
