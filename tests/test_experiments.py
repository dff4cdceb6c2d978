"""optlib.experiments: the papers' problems behave as the papers prove, and the runners are exact."""
import math

import numpy as np
import pytest
import torch

import optlib
from optlib import data, experiments as E, torch_bridge as tb

torch.set_num_threads(1)

C = 3.0
BETAS = (0.0, 1.0 / (1.0 + C**2))


# --------------------------------------------------------------------------
# Reddi et al. 2018
# --------------------------------------------------------------------------
def test_reddi_gradient_pattern():
    assert [E.reddi_gradient(t, C) for t in range(1, 7)] == [3.0, -1.0, -1.0, 3.0, -1.0, -1.0]
    assert E.reddi_gradient(4, C=5.0) == 5.0


def test_reddi_adam_goes_to_the_worst_point_amsgrad_and_sgd_to_the_best():
    adam = E.reddi_run(optlib.Adam, steps=3000, C=C, betas=BETAS)
    ams = E.reddi_run(optlib.Adam, steps=3000, C=C, betas=BETAS, amsgrad=True)
    sgd = E.reddi_run(optlib.SGD, steps=3000, C=C)
    assert adam[-1] > 0.9
    assert ams[-1] < -0.9
    assert sgd[-1] < -0.9


def test_reddi_projection_keeps_x_in_the_box():
    xs = E.reddi_run(optlib.SGD, steps=300, C=C, lr=5.0, decay=False)
    assert xs.shape == (301,)
    assert np.all(np.abs(xs) <= 1.0)
    assert np.any(np.abs(xs) == 1.0)                # the large step size does hit the bounds


def test_reddi_first_steps_by_hand():
    # AMSGrad with beta1 = 0: t=1, g=3: s=0.9*9, s_hat=9, step = lr * 3 / 3 = lr = 0.1
    xs = E.reddi_run(optlib.Adam, steps=2, C=C, lr=0.1, betas=BETAS, amsgrad=True)
    x1 = -0.1 * 3.0 / (3.0 + 1e-8)
    assert xs[1] == pytest.approx(x1, rel=1e-12)
    # t=2, g=-1, lr_2 = 0.1/sqrt(2): s = 0.1*8.1 + 0.9 = 1.71, s_max = 8.1, s_hat = 8.1/(1-0.01)
    step = 0.1 / math.sqrt(2) * 1.0 / (math.sqrt(8.1 / 0.99) + 1e-8)
    assert xs[2] == pytest.approx(x1 + step, rel=1e-12)
    # Adam forgets the 3: s_hat = 1.71 / 0.99 at t=2, a larger step upwards
    adam = E.reddi_run(optlib.Adam, steps=2, C=C, lr=0.1, betas=BETAS)
    assert adam[2] == pytest.approx(x1 + 0.1 / math.sqrt(2) / (math.sqrt(1.71 / 0.99) + 1e-8), rel=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_reddi_matches_torch(amsgrad):
    ours = E.reddi_run(optlib.Adam, steps=600, C=C, betas=BETAS, amsgrad=amsgrad)
    theirs = tb.reddi_run_torch(steps=600, C=C, betas=BETAS, amsgrad=amsgrad)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------
# Wilson et al. 2017
# --------------------------------------------------------------------------
def test_wilson_data_structure():
    d = E.wilson_data(n_train=20, n_test=200, p=0.7, seed=3)
    assert d.X_train.shape == (20, 3 + 5 * 20) and d.X_test.shape == (200, 3 + 5 * 20)
    np.testing.assert_array_equal(d.X_train[:, 0], d.y_train)
    np.testing.assert_array_equal(d.X_train[:, 1:3], 1.0)
    own = d.X_train[:, 3:].sum(axis=1)
    np.testing.assert_array_equal(own, np.where(d.y_train > 0, 1.0, 5.0))
    # each example's own features are disjoint from every other example's
    assert np.all(d.X_train[:, 3:].sum(axis=0) <= 1.0)
    np.testing.assert_array_equal(d.X_test[:, 3:], 0.0)
    assert set(np.unique(d.y_test)) <= {-1.0, 1.0}
    with pytest.raises(ValueError):
        E.wilson_data(p=0.4)


def test_wilson_adaptive_methods_fit_but_predict_all_positive():
    d = E.wilson_data(n_train=30, n_test=500, p=0.7, seed=0)
    w_gd = E.least_squares_fit(d.X_train, d.y_train, optlib.SGD, steps=2000, lr=0.1)
    w_ada = E.least_squares_fit(d.X_train, d.y_train, optlib.Adagrad, steps=2000, lr=0.1)
    w_adam = E.least_squares_fit(d.X_train, d.y_train, optlib.Adam, steps=2000, lr=0.01)
    for w in (w_gd, w_ada, w_adam):
        assert E.sign_error(w, d.X_train, d.y_train) == 0.0
    assert E.sign_error(w_gd, d.X_test, d.y_test) == 0.0
    negatives = float(np.mean(d.y_test < 0))
    assert 0.15 < negatives < 0.45
    for w in (w_ada, w_adam):
        assert E.sign_error(w, d.X_test, d.y_test) == pytest.approx(negatives)
        np.testing.assert_allclose(w[:3], 0.25, atol=1e-3)      # w proportional to sign(X^T y)


def test_gd_from_zero_is_the_minimum_norm_solution():
    d = E.wilson_data(n_train=15, n_test=10, seed=1)
    w = E.least_squares_fit(d.X_train, d.y_train, optlib.SGD, steps=3000, lr=0.1)
    np.testing.assert_allclose(w, np.linalg.pinv(d.X_train) @ d.y_train, atol=1e-8)


def test_sign_error_counts_zero_scores_as_wrong():
    X = np.array([[1.0], [0.0], [-1.0]])
    assert E.sign_error(np.array([1.0]), X, np.array([1.0, 1.0, -1.0])) == pytest.approx(1 / 3)


# --------------------------------------------------------------------------
# Weight decay
# --------------------------------------------------------------------------
def test_noise_decay_adam_l2_depends_on_noise_adamw_does_not():
    l2 = E.noise_decay_run(optlib.Adam, seed=0)[-1]
    aw = E.noise_decay_run(optlib.AdamW, seed=0)[-1]
    assert l2[0] > 0.95 and abs(l2[2]) < 0.05 and l2[0] > l2[1] > l2[2]
    decay = (1 - 1e-3 * 0.1) ** 3000
    np.testing.assert_allclose(aw, decay, atol=0.15)


def test_noise_decay_without_noise_is_pure_decay_for_adamw():
    path = E.noise_decay_run(optlib.AdamW, sigmas=(0.0, 0.0), steps=100, lr=1e-2, weight_decay=0.5)
    np.testing.assert_allclose(path[:, 0], (1 - 1e-2 * 0.5) ** np.arange(101), rtol=1e-12)


def test_noise_decay_generator_continues_and_seed_repeats():
    a = E.noise_decay_run(optlib.Adam, steps=50, seed=0)
    b = E.noise_decay_run(optlib.Adam, steps=50, seed=0)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(0)
    first = E.noise_decay_run(optlib.Adam, steps=50, seed=g)
    second = E.noise_decay_run(optlib.Adam, steps=50, seed=g)
    np.testing.assert_array_equal(first, a)
    assert not np.array_equal(second, a)


def test_sgd_l2_equals_decoupled_without_momentum_only():
    np.testing.assert_allclose(E.sgd_decay_run(False, 0.0), E.sgd_decay_run(True, 0.0), rtol=0, atol=1e-12)
    l2, dec = E.sgd_decay_run(False, 0.9), E.sgd_decay_run(True, 0.9)
    assert abs(l2[2] - dec[2]) > 0.5


def test_sgd_decoupled_decay_matches_torch_sgd_with_manual_decay():
    xi = np.random.default_rng(0).standard_normal((200, 3)) * np.array([10.0, 1.0, 0.01])
    w = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=1e-3, momentum=0.9)
    for g in xi:
        with torch.no_grad():
            w.mul_(1 - 1e-3 * 0.1)
        w.grad = torch.tensor(g)
        opt.step()
    ours = E.sgd_decay_run(True, 0.9, steps=200)
    np.testing.assert_allclose(ours, w.detach().numpy(), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------
# Softmax regression with minibatches
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def split():
    return data.digits(seed=0)


def test_train_softmax_decreases_loss_and_is_deterministic(split):
    make = lambda p, lr: optlib.Adam(p, lr=lr)
    losses, params = E.train_softmax(split, make, 0.3, epochs=3)
    assert losses.shape == (4,)
    assert losses[0] == pytest.approx(math.log(10))
    assert np.all(np.diff(losses) < 0)
    again, _ = E.train_softmax(split, make, 0.3, epochs=3)
    np.testing.assert_array_equal(losses, again)


def test_train_softmax_schedule_sets_lr_over_sqrt_t(split):
    seen = []

    class Spy(optlib.SGD):
        def step(self, grads):
            seen.append(self.param_groups[0]["lr"])
            super().step(grads)

    E.train_softmax(split, lambda p, lr: Spy(p, lr=lr), 0.5, epochs=1, batch_size=500)
    assert seen == [pytest.approx(0.5 / math.sqrt(t), rel=1e-15) for t in (1, 2, 3)]
    seen.clear()
    E.train_softmax(split, lambda p, lr: Spy(p, lr=lr), 0.5, epochs=1, batch_size=500, decay=False)
    assert seen == [0.5, 0.5, 0.5]


def test_train_softmax_stops_on_divergence(split):
    with np.errstate(over="ignore", invalid="ignore"):
        losses, _ = E.train_softmax(split, lambda p, lr: optlib.SGD(p, lr=lr), 1e300, epochs=3, decay=False)
    assert np.isfinite(losses[0])
    assert np.isnan(losses[-1])
