"""optlib.sweeps: side-by-side training equals one-by-one training, and the sweep's readings are right."""
import numpy as np
import pytest

import optlib
from optlib import data, sweeps
from optlib.models import softmax_regression_loss_grad


@pytest.fixture(scope="module")
def digits():
    split = data.digits()
    return split.X_train[:300], split.y_train[:300]


MAKERS = {
    "GD": lambda p: optlib.SGD(p, lr=0.5),
    "Momentum": lambda p: optlib.SGD(p, lr=0.5, momentum=0.9, nesterov=True),
    "Adagrad": lambda p: optlib.Adagrad(p, lr=0.1),
    "RMSProp": lambda p: optlib.RMSProp(p, lr=0.01, centered=True),
    "Adam": lambda p: optlib.Adam(p, lr=0.05, amsgrad=True),
    "AdamW": lambda p: optlib.AdamW(p, lr=0.05, weight_decay=0.1),
}


def one_by_one(X, y, make, steps, l2):
    """The plain loop: one model [W, b], one optimizer (the independent reference)."""
    params = [np.zeros((X.shape[1], int(y.max()) + 1)), np.zeros(int(y.max()) + 1)]
    opt = make(params)
    losses = []
    for _ in range(steps + 1):
        loss, grads = softmax_regression_loss_grad(params, X, y, l2=l2)
        losses.append(loss)
        opt.step(grads)
    return np.array(losses)


# Both computations round differently (one matrix product for all runs, a bias row in the weights).
# Adagrad's first step divides a gradient entry that is round-off (about 1e-17, exactly 0 in the other
# computation) by |g| + 1e-10, which turns it into a step of about 1e-7 lr = 1e-8 per such entry, and a
# few such entries move the loss by about 1e-8 (1.1e-8 measured): its tolerance is 1e-7. A wrong update
# moves these losses by 1e-3 or more.
TOLERANCE = {"Adagrad": 1e-7}


@pytest.mark.parametrize("l2", [0.0, 1e-2])
def test_side_by_side_equals_one_by_one(digits, l2):
    X, y = digits
    together = sweeps.softmax_runs(X, y, list(MAKERS.values()), 30, l2=l2).loss
    for r, (name, make) in enumerate(MAKERS.items()):
        np.testing.assert_allclose(together[r], one_by_one(X, y, make, 30, l2), rtol=0,
                                   atol=TOLERANCE.get(name, 1e-10), err_msg=name)


def test_a_run_that_blows_up_stops_and_leaves_the_others_alone(digits):
    X, y = digits
    makers = [lambda p: optlib.SGD(p, lr=1e20), MAKERS["Adam"]]   # with l2 = 1, GD multiplies W by 1 - 1e20
    out = sweeps.softmax_runs(X, y, makers, 40, l2=1.0)
    assert 0 < out.diverged[0] < 40 and out.diverged[1] == -1
    assert np.isnan(out.loss[0, -1]) and np.isinf(out.max_step[0])
    np.testing.assert_allclose(out.loss[1], one_by_one(X, y, MAKERS["Adam"], 40, 1.0), atol=1e-10)


def test_per_sample_losses_are_recorded_at_the_asked_steps(digits):
    X, y = digits
    out = sweeps.softmax_runs(X, y, [MAKERS["GD"]], 25, record_every=10)
    assert out.recorded.tolist() == [0, 10, 20, 25]
    assert out.per_sample.shape == (4, 1, len(y))
    np.testing.assert_allclose(out.per_sample[:, 0].mean(axis=1), out.loss[0, out.recorded], atol=1e-12)
    np.testing.assert_allclose(out.per_sample[0], np.log(10.0))          # zero weights: uniform softmax


@pytest.mark.parametrize("make, bound", [(lambda p: optlib.Adagrad(p, lr=0.3), 1.0),
                                         (lambda p: optlib.RMSProp(p, lr=0.3, alpha=0.99), 10.0),
                                         (lambda p: optlib.RMSProp(p, lr=0.3, alpha=0.9), 1 / np.sqrt(0.1))])
def test_step_bounds_of_adagrad_and_rmsprop(digits, make, bound):
    X, y = digits
    out = sweeps.softmax_runs(X, y, [make], 40)
    ratio = out.max_step[0] / 0.3
    assert ratio <= bound * (1 + 1e-12)
    assert ratio > 0.99 * bound                   # attained at the first step, where s_1 = (1 - beta) g_1^2


def test_softmax_minimum_agrees_with_scikit_learn(digits):
    from sklearn.linear_model import LogisticRegression

    X, y = digits
    l2 = 1e-2
    fstar = sweeps.softmax_minimum(X, y, l2)
    # scikit-learn minimises sum(loss) + |W|^2 / (2C): divide by n, so C = 1 / (n l2)
    clf = LogisticRegression(C=1.0 / (len(y) * l2), tol=1e-12, max_iter=10_000).fit(X, y)
    loss = softmax_regression_loss_grad([clf.coef_.T.copy(), clf.intercept_.copy()], X, y, l2=l2)[0]
    assert fstar <= loss + 1e-12
    assert loss - fstar < 1e-7
    with pytest.raises(ValueError, match="l2"):
        sweeps.softmax_minimum(X, y, 0.0)


def hand_made_sweep():
    loss = np.array([[[3.0, 2.0, 1.0, 0.5, 0.5],            # lr 0.1: settles at 0.5
                      [3.0, 1.0, 0.4, 2.0, 0.4],            # lr 1: ends at 0.4 but jumped to 2 on the way
                      [3.0, 9.0, np.nan, np.nan, np.nan]]])  # lr 10: blew up
    return sweeps.Sweep(("Opt",), np.array([0.1, 1.0, 10.0]), loss, np.array([[0.1, 1.0, np.inf]]))


def test_sweep_readings_on_a_hand_made_sweep():
    s = hand_made_sweep()
    np.testing.assert_array_equal(s.final("Opt"), [0.5, 0.4, np.nan])
    assert s.best("Opt") == (1.0, 0.4)
    np.testing.assert_array_equal(s.diverged("Opt"), [False, False, True])
    np.testing.assert_array_equal(s.window("Opt", 0.5), [0.1, 1.0])
    np.testing.assert_array_equal(s.window("Opt", 0.5, last=1), [0.1])           # lr 1 has not settled
    np.testing.assert_array_equal(s.steps_to(1.0), [[2, 1, -1]])
    np.testing.assert_array_equal(s.step_ratio("Opt"), [1.0, 1.0, np.inf])
    with pytest.raises(ValueError, match="no optimizer 'Adam'"):
        s.final("Adam")


def test_sweep_function_records_what_trajectory_gives():
    fn = optlib.Rosenbrock()
    s = sweeps.sweep_function(fn, {"GD": (optlib.SGD, {}), "Adam": (optlib.Adam, {})}, [1e-3, 1.0], 50)
    assert s.loss.shape == (2, 2, 51)
    np.testing.assert_array_equal(s.loss[1, 0], optlib.trajectory(fn, optlib.Adam, steps=50, lr=1e-3).loss)
    assert s.diverged("GD").tolist() == [False, True]                            # lr 1 blows up on Rosenbrock
    g0 = np.abs(fn.gradient(np.array(fn.start))).max()
    assert s.step_ratio("GD")[0] >= g0 * (1 - 1e-12)                             # GD's first step is lr |g|
    assert s.step_ratio("Adam")[0] == pytest.approx(1.0)                         # Adam's first step is lr


def test_decades():
    assert sweeps.decades(0.1, 10.0) == pytest.approx(2.0)
    assert sweeps.decades(0.3, 0.3) == 0.0


@pytest.mark.parametrize("lrs", [[], [0.1, -1.0], [[0.1]]])
def test_bad_step_sizes_are_refused(lrs):
    with pytest.raises(ValueError, match="lrs"):
        sweeps.sweep_function(optlib.Rosenbrock(), sweeps.OPTIMIZERS, lrs, 5)


def test_bad_inputs_name_the_argument(digits):
    X, y = digits
    with pytest.raises(TypeError, match="optimizers"):
        sweeps.sweep_function(optlib.Rosenbrock(), {"GD": optlib.SGD}, [0.1], 5)
    with pytest.raises(ValueError, match="X must be"):
        sweeps.softmax_runs(X, y[:-1], [MAKERS["GD"]], 5)
    with pytest.raises(ValueError, match="steps"):
        sweeps.softmax_runs(X, y, [MAKERS["GD"]], -1)


def test_torch_default_learning_rates():
    torch = pytest.importorskip("torch")
    import inspect

    classes = {"GD": torch.optim.SGD, "Momentum": torch.optim.SGD, "Adagrad": torch.optim.Adagrad,
               "RMSProp": torch.optim.RMSprop, "Adam": torch.optim.Adam}
    for name, cls in classes.items():
        assert sweeps.DEFAULT_LR[name] == inspect.signature(cls).parameters["lr"].default, name
