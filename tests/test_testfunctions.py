"""Test functions: gradients against finite differences, minima, and the trajectory runner."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optlib
from optlib import testfunctions as T

FUNCTIONS = [T.Quadratic(), T.Quadratic(condition=100), T.Rosenbrock(), T.Beale(), T.Saddle(),
             T.Quadratic(a=1.0, b=3.0), T.RotatedQuadratic(theta=30.0),
             T.RotatedQuadratic(condition=100, theta=45.0), T.RotatedQuadratic(a=0.5, b=2.0, theta=-70.0)]


def numeric_grad(f, xy, h=1e-6):
    e = np.eye(2) * h
    return np.array([(f.value(xy + e[i]) - f.value(xy - e[i])) / (2 * h) for i in range(2)])


@pytest.mark.parametrize("f", FUNCTIONS, ids=repr)
@settings(max_examples=40, deadline=None)
@given(u=st.floats(0.05, 0.95), v=st.floats(0.05, 0.95))
def test_gradient_matches_finite_differences(f, u, v):
    (x0, x1), (y0, y1) = f.bounds
    xy = np.array([x0 + u * (x1 - x0), y0 + v * (y1 - y0)])
    g = f.gradient(xy)
    assert g.shape == (2,)
    np.testing.assert_allclose(g, numeric_grad(f, xy), rtol=1e-5, atol=1e-5 * (1 + np.abs(g).max()))


@pytest.mark.parametrize("f", [f for f in FUNCTIONS if f.minimizer is not None], ids=repr)
def test_minimum_is_at_the_minimizer_and_gradient_vanishes(f):
    m = np.array(f.minimizer)
    assert f.value(m) == pytest.approx(f.minimum, abs=1e-12)
    np.testing.assert_allclose(f.gradient(m), 0.0, atol=1e-12)
    rng = np.random.default_rng(0)
    around = m[:, None] + 0.05 * rng.standard_normal((2, 200))
    assert np.all(f.value(around) >= f.minimum)


def test_values_work_on_grids():
    X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 4))
    for f in FUNCTIONS:
        assert f.value(np.stack([X, Y])).shape == (4, 5)
        assert f.gradient(np.stack([X, Y])).shape == (2, 4, 5)


def test_saddle_is_unbounded_and_stationary_at_zero():
    s = T.Saddle()
    assert s.minimum is None and s.value(np.array([0.0, 10.0])) < -10
    np.testing.assert_array_equal(s.gradient(np.zeros(2)), 0.0)


def test_quadratic_condition():
    q = T.Quadratic(condition=100)
    assert q.condition == pytest.approx(100) and max(q.eigenvalues) == 1.0
    with pytest.raises(ValueError, match="condition"):
        T.Quadratic(condition=0.5)
    with pytest.raises(ValueError, match="curvatures"):
        T.Quadratic(a=-1)


def test_noisy_quadratic_is_reproducible_and_unbiased():
    f = T.NoisyQuadratic(sigma=2.0, seed=5)
    xy = np.array([1.0, -1.0])
    a = [f.gradient(xy) for _ in range(3)]
    f.reset()
    b = [f.gradient(xy) for _ in range(3)]
    np.testing.assert_array_equal(a, b)
    mean = np.mean([f.gradient(xy) for _ in range(20000)], axis=0)
    np.testing.assert_allclose(mean, T.Quadratic().gradient(xy), atol=0.05)


# --------------------------------------------------------------------------
# The rotated quadratic
# --------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(theta=st.floats(-360.0, 360.0), a=st.floats(0.01, 10.0), b=st.floats(0.01, 10.0),
       u=st.floats(-2.0, 2.0), v=st.floats(-2.0, 2.0))
def test_rotated_quadratic_is_the_quadratic_seen_in_turned_coordinates(theta, a, b, u, v):
    f, q = T.RotatedQuadratic(a, b, theta), T.Quadratic(a, b)
    t = np.radians(theta)
    R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])      # independent of the class's own R
    w = R @ np.array([u, v])                                             # (u, v) in the valley's frame
    assert f.value(w) == pytest.approx(q.value(np.array([u, v])), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(f.gradient(w), R @ q.gradient(np.array([u, v])), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.linalg.eigvalsh(f.hessian), sorted((a, b)), rtol=1e-12)
    np.testing.assert_allclose(f.start, R @ np.array(q.start), atol=1e-14)


@pytest.mark.parametrize("theta", [0.0, 90.0, 180.0])
def test_rotated_quadratic_at_multiples_of_90_degrees_is_axis_aligned(theta):
    f, q = T.RotatedQuadratic(theta=theta), T.Quadratic()
    (a, b) = (q.a, q.b) if theta != 90.0 else (q.b, q.a)
    np.testing.assert_allclose(np.diag(f.hessian), (a, b), atol=1e-14)
    assert abs(f.h12) < 1e-14
    if theta == 0.0:                                                    # exactly the quadratic, bit for bit
        w = np.array([0.3, -1.7])
        assert f.value(w) == q.value(w) and np.array_equal(f.gradient(w), q.gradient(w))


def test_rotated_quadratic_at_45_degrees_has_equal_diagonal():
    f = T.RotatedQuadratic(condition=100, theta=45.0)
    assert f.h11 == pytest.approx(f.h22, rel=1e-14) and f.h12 == pytest.approx(-(1.0 - 0.01) / 2, rel=1e-14)
    assert f.condition == pytest.approx(100.0)


def test_gradient_descent_takes_the_same_path_at_every_angle():
    """GD is rotation-equivariant: the turned valley gives the turned path and the same losses."""
    ref = optlib.trajectory(T.RotatedQuadratic(condition=100), optlib.SGD, steps=200, lr=1.5)
    for theta in (17.0, 45.0, 90.0):
        f = T.RotatedQuadratic(condition=100, theta=theta)
        tr = optlib.trajectory(f, optlib.SGD, steps=200, lr=1.5)
        np.testing.assert_allclose(tr.loss, ref.loss, rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(tr.xy, ref.xy @ f.rotation.T, atol=1e-12)


def test_rotated_quadratic_rejects_bad_angles():
    with pytest.raises(ValueError, match="theta"):
        T.RotatedQuadratic(theta=float("nan"))
    with pytest.raises(TypeError, match="theta"):
        T.RotatedQuadratic(theta="45")
    with pytest.raises(ValueError, match="curvatures"):
        T.RotatedQuadratic(a=0.0, theta=10.0)


def test_by_name():
    assert isinstance(T.by_name("rotated quadratic", theta=10.0), T.RotatedQuadratic)
    assert isinstance(T.by_name("rosenbrock"), T.Rosenbrock)
    with pytest.raises(ValueError, match="unknown test function 'banana'"):
        T.by_name("banana")


# --------------------------------------------------------------------------
# The trajectory runner
# --------------------------------------------------------------------------
def test_trajectory_records_the_same_path_as_stepping_by_hand():
    f = T.Rosenbrock()
    path = optlib.trajectory(f, optlib.Adam, steps=50, lr=0.05)
    w = np.array(f.start, dtype=float)
    opt = optlib.Adam([w], lr=0.05)
    for t in range(1, 51):
        opt.step([f.gradient(w)])
        np.testing.assert_array_equal(path.xy[t], w)
    assert path.xy.shape == (51, 2) and path.loss.shape == (51,) and path.diverged is None
    assert path.loss[-1] == pytest.approx(f.value(w))


def test_gd_diverges_above_two_over_lambda_max_and_the_runner_says_when():
    q = T.Quadratic()                       # lambda_max = 4, threshold 0.5
    ok = optlib.trajectory(q, optlib.SGD, steps=300, lr=0.49)
    slow = optlib.trajectory(q, optlib.SGD, steps=300, lr=0.51)   # |1 - 0.51*4| = 1.04: grows
    bad = optlib.trajectory(q, optlib.SGD, steps=300, lr=0.6)     # |1 - 0.6*4| = 1.4: blows up
    assert ok.diverged is None and ok.final_loss < 1e-3
    assert slow.final_loss > 1e3 * slow.loss[0]
    assert bad.diverged is not None and np.isnan(bad.loss[bad.diverged:]).all()
    assert np.isfinite(bad.loss[:bad.diverged]).all()


def test_trajectory_accepts_a_factory_and_is_reproducible_on_noise():
    f = T.NoisyQuadratic(sigma=1.0, seed=1)
    make = lambda p: optlib.SGD(p, lr=0.05, momentum=0.9)       # noqa: E731
    a = optlib.trajectory(f, make, steps=30)
    b = optlib.trajectory(f, make, steps=30)
    assert a.diverged is None and np.isfinite(a.xy).all() and np.isfinite(a.loss).all()
    np.testing.assert_array_equal(a.xy, b.xy)                   # the noise restarts with each run
    f.reset()                                                   # by hand: the factory's optimizer, the same noise
    w = np.array(f.start, dtype=float)
    opt = make([w])
    for t in range(1, 31):
        opt.step([f.gradient(w)])
        np.testing.assert_array_equal(a.xy[t], w)
    other = optlib.trajectory(T.NoisyQuadratic(sigma=1.0, seed=2), make, steps=30)
    assert np.abs(other.xy - a.xy).max() > 1e-2                 # and the noise matters: another seed, another path


def test_trajectory_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        optlib.trajectory(T.Quadratic(), optlib.Adam, steps=-1)
    with pytest.raises(ValueError, match="x0"):
        optlib.trajectory(T.Quadratic(), optlib.Adam, x0=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="lr"):
        optlib.trajectory(T.Quadratic(), optlib.Adam, lr=-1)
    with pytest.raises(TypeError, match="optlib optimizer"):
        optlib.trajectory(T.Quadratic(), lambda p: object())


def test_summary_reads_the_loss_or_the_divergence():
    q = T.Quadratic()
    assert optlib.trajectory(q, optlib.SGD, steps=100, lr=0.1).summary().startswith("loss after 100 steps: ")
    assert optlib.trajectory(q, optlib.SGD, steps=100, lr=0.6).summary() == "diverged at step 56"
