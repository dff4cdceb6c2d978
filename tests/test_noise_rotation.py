"""optlib.noise (gradient noise and Adam's signal-to-noise step) and optlib.rotation (turned valleys)."""
import math

import numpy as np
import pytest

import optlib
from optlib import noise, rotation
from optlib.testfunctions import RotatedQuadratic


# --------------------------------------------------------------------------
# noise
# --------------------------------------------------------------------------
def test_stream_has_its_mean_and_noise_and_only_scales_with_sigma():
    a = noise.gradient_stream(1.0, 2.0, 50_000, seed=3)
    assert a.mean() == pytest.approx(1.0, abs=0.05) and a.std() == pytest.approx(2.0, rel=0.02)
    b = noise.gradient_stream(1.0, 4.0, 50_000, seed=3)
    np.testing.assert_allclose(b - 1.0, 2.0 * (a - 1.0), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.999), (0.0, 0.99), (0.5, 0.9)])
def test_steps_on_stream_are_adams_update_written_out(beta1, beta2):
    g = noise.gradient_stream(0.3, 1.0, 300, seed=1)
    got = noise.steps_on_stream(optlib.Adam, g, betas=(beta1, beta2))
    v = s = 0.0
    want = []
    for t, gt in enumerate(g, start=1):                       # the notes' equations, independently
        v = beta1 * v + (1 - beta1) * gt
        s = beta2 * s + (1 - beta2) * gt * gt
        want.append((v / (1 - beta1**t)) / (math.sqrt(s / (1 - beta2**t)) + 1e-8))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_steps_on_stream_runs_columns_independently():
    g = np.stack([noise.gradient_stream(1.0, s, 200, seed=4) for s in (0.5, 2.0)], axis=1)
    both = noise.steps_on_stream(optlib.Adam, g)
    assert both.shape == (200, 2)
    for k in range(2):
        np.testing.assert_array_equal(both[:, k], noise.steps_on_stream(optlib.Adam, g[:, k]))


def test_steps_on_stream_of_sgd_are_the_gradients():
    g = noise.gradient_stream(-0.5, 3.0, 100, seed=2)
    np.testing.assert_allclose(noise.steps_on_stream(optlib.SGD, g), g, rtol=1e-15)


def test_ema_noise_ratio_matches_a_long_simulation():
    assert noise.ema_noise_ratio(0.9) == pytest.approx(math.sqrt(0.1 / 1.9))
    xi = noise.gradient_stream(0.0, 1.0, 200_000, seed=0)
    v = optlib.ema(xi, 0.9)[100:]
    assert v.std() == pytest.approx(noise.ema_noise_ratio(0.9), rel=0.02)
    with pytest.raises(ValueError, match="beta"):
        noise.ema_noise_ratio(1.0)


@pytest.mark.parametrize("sigma", [0.2, 1.0, 5.0])
def test_adams_mean_step_is_the_snr_law(sigma):
    g = noise.gradient_stream(1.0, sigma, 40_000, seed=0)
    steps = noise.steps_on_stream(optlib.Adam, g)[5000:]
    r = 1.0 / sigma
    assert steps.mean() == pytest.approx(float(noise.snr_step(r)), abs=0.02)
    assert steps.std() == pytest.approx(noise.ema_noise_ratio(0.9) / math.sqrt(1 + r * r), rel=0.1)


def test_snr_step_limits_and_bad_input():
    assert noise.snr_step(0.0) == 0.0 and noise.snr_step(1e8) == pytest.approx(1.0)
    assert noise.snr_step(1e-3) == pytest.approx(1e-3, rel=1e-5)
    with pytest.raises(ValueError, match="steps"):
        noise.gradient_stream(0.0, 1.0, 0)
    with pytest.raises(ValueError, match="sigma"):
        noise.gradient_stream(0.0, -1.0, 10)
    with pytest.raises(ValueError, match="grads"):
        noise.steps_on_stream(optlib.Adam, np.zeros((2, 2, 2)))


# --------------------------------------------------------------------------
# rotation
# --------------------------------------------------------------------------
def brute_force_condition(H, n=4001):
    """Smallest condition number of D^1/2 H D^1/2 over D = diag(1, d), d on a fine log grid."""
    best = np.inf
    for d in np.geomspace(1e-4, 1e4, n):
        s = np.sqrt(np.array([1.0, d]))
        best = min(best, np.linalg.cond(H * np.outer(s, s)))
    return best


@pytest.mark.parametrize("theta", [0.0, 10.0, 30.0, 45.0, 60.0, 100.0])
def test_best_diagonal_condition_is_the_best_over_all_scalings(theta):
    f = RotatedQuadratic(condition=100, theta=theta)
    got = rotation.best_diagonal_condition(f.h11, f.h12, f.h22)
    assert got == pytest.approx(brute_force_condition(f.hessian), rel=1e-3)


def test_best_diagonal_condition_ends_of_the_range():
    assert rotation.best_diagonal_condition(0.01, 0.0, 1.0) == 1.0
    f = RotatedQuadratic(condition=100, theta=45.0)
    assert rotation.best_diagonal_condition(f.h11, f.h12, f.h22) == pytest.approx(100.0, rel=1e-10)
    with pytest.raises(ValueError, match="positive definite"):
        rotation.best_diagonal_condition(1.0, 2.0, 1.0)


def test_steps_to_tolerance_and_fewest_steps():
    f = RotatedQuadratic(condition=100)
    tr = optlib.trajectory(f, optlib.SGD, steps=50, lr=1.0)
    k = rotation.steps_to_tolerance(tr, 1e-2)
    assert tr.loss[k] <= 1e-2 < tr.loss[k - 1]
    assert rotation.steps_to_tolerance(tr, -1.0) is None
    steps, lr = rotation.fewest_steps(f, optlib.SGD, [0.5, 1.0, 1.9], 1e-6 * tr.loss[0], 3000)
    assert lr == 1.9 and steps == rotation.steps_to_tolerance(
        optlib.trajectory(f, optlib.SGD, steps=3000, lr=1.9), 1e-6 * tr.loss[0])
    assert rotation.fewest_steps(f, optlib.SGD, [1e-6], 1e-9, 10) == (None, None)


def test_gd_needs_the_same_steps_at_every_angle_rmsprop_does_not():
    tol = 1e-6 * RotatedQuadratic(condition=100).value(np.array(RotatedQuadratic(condition=100).start))
    gd = {t: rotation.fewest_steps(RotatedQuadratic(condition=100, theta=t), optlib.SGD, [1.0, 1.9], tol, 2000)
          for t in (0.0, 45.0)}
    assert gd[0.0] == gd[45.0]
    rms = {t: rotation.fewest_steps(RotatedQuadratic(condition=100, theta=t), optlib.RMSProp, [0.03, 0.1], tol, 2000)[0]
           for t in (0.0, 45.0)}
    assert rms[45.0] > 5 * rms[0.0]
