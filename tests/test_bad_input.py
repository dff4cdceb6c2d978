"""Bad input gets a clear error that names the argument and what was expected."""
import numpy as np
import pytest

import optlib

W = [np.zeros(3)]


@pytest.mark.parametrize("make, error, words", [
    (lambda: optlib.SGD(W, lr=-0.1), ValueError, ["lr", ">= 0"]),
    (lambda: optlib.Adam(W, lr=float("nan")), ValueError, ["lr", "nan"]),
    (lambda: optlib.Adam(W, lr="0.1"), TypeError, ["lr", "real number"]),
    (lambda: optlib.Adam(W, betas=(1.0, 0.999)), ValueError, ["beta1", "[0, 1)"]),
    (lambda: optlib.Adam(W, betas=(0.9, -0.1)), ValueError, ["beta2", "[0, 1)"]),
    (lambda: optlib.Adam(W, betas=0.9), TypeError, ["betas", "pair"]),
    (lambda: optlib.AdamW(W, betas=(0.9, 1.5)), ValueError, ["beta2"]),
    (lambda: optlib.RMSProp(W, alpha=1.0), ValueError, ["alpha", "[0, 1)"]),
    (lambda: optlib.Adam(W, eps=-1e-8), ValueError, ["eps", ">= 0"]),
    (lambda: optlib.RMSProp(W, eps=-1.0), ValueError, ["eps"]),
    (lambda: optlib.Adagrad(W, eps=-1.0), ValueError, ["eps"]),
    (lambda: optlib.SGD(W, momentum=-0.5), ValueError, ["momentum", ">= 0"]),
    (lambda: optlib.RMSProp(W, momentum=-0.5), ValueError, ["momentum"]),
    (lambda: optlib.SGD(W, nesterov=True), ValueError, ["nesterov", "momentum > 0"]),
    (lambda: optlib.SGD(W, momentum=0.9, dampening=0.1, nesterov=True), ValueError, ["nesterov", "dampening = 0"]),
    (lambda: optlib.Adam(W, weight_decay=-1), ValueError, ["weight_decay"]),
    (lambda: optlib.Adagrad(W, lr_decay=-1), ValueError, ["lr_decay"]),
    (lambda: optlib.Adagrad(W, initial_accumulator_value=-1), ValueError, ["initial_accumulator_value"]),
    (lambda: optlib.Adam([np.zeros(3, dtype=int)]), TypeError, ["params[0]", "float32 or float64", "int"]),
    (lambda: optlib.Adam([[0.0, 1.0]]), TypeError, ["params[0]", "numpy array", "list"]),
    (lambda: optlib.Adam([np.zeros(2), 3.0]), TypeError, ["params[1]", "numpy array", "float"]),
    (lambda: optlib.Adam(np.zeros(3)), TypeError, ["params", "single array", "[params]"]),
    (lambda: optlib.Adam(5), TypeError, ["params", "list"]),
    (lambda: optlib.Adam([]), ValueError, ["params", "empty"]),
    (lambda: optlib.Adam([np.zeros(3).view()] * 2), ValueError, ["share memory"]),
])
def test_constructor_errors_name_the_argument(make, error, words):
    with pytest.raises(error) as info:
        make()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_read_only_params_are_refused():
    w = np.zeros(3)
    w.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\] is read-only"):
        optlib.SGD([w])


@pytest.mark.parametrize("grads, error, words", [
    ([np.zeros(3), np.zeros(2)], ValueError, ["grads has 2 arrays", "1 params"]),
    ([np.zeros(4)], ValueError, ["grads[0]", "shape (4,)", "params[0] has shape (3,)"]),
    ([np.zeros(3, dtype=np.float32)], TypeError, ["grads[0]", "dtype float32", "float64"]),
    ([[0.0, 0.0, 0.0]], TypeError, ["grads[0]", "numpy array"]),
    (np.zeros(3), TypeError, ["grads", "list of arrays"]),
    ("abc", TypeError, ["grads", "list"]),
])
def test_step_errors_name_the_argument(grads, error, words):
    w = np.zeros(3)
    opt = optlib.Adam([w])
    with pytest.raises(error) as info:
        opt.step(grads)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    np.testing.assert_array_equal(w, 0.0)                 # nothing happened


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["SGD", "RMSProp", "Adam", "AdamW", "Adagrad"])
def test_non_finite_gradient_raises_before_any_update(name, bad):
    a, b = np.ones(3), np.ones((2, 2))
    opt = getattr(optlib, name)([a, b], lr=0.1)
    opt.step([np.ones(3), np.ones((2, 2))])
    before = [a.copy(), b.copy()], opt.state_dict()
    g_b = np.ones((2, 2))
    g_b[1, 0] = bad
    with pytest.raises(optlib.NonFiniteGradientError) as info:
        opt.step([np.ones(3), g_b])
    msg = str(info.value)
    assert "grads[1]" in msg and "flat index 2" in msg and "no parameter was updated" in msg
    np.testing.assert_array_equal(a, before[0][0])       # params[0] untouched although its grad was fine
    np.testing.assert_array_equal(b, before[0][1])
    assert opt.state[0]["step"] == 1                     # counters untouched


@pytest.mark.filterwarnings("ignore:overflow")
def test_huge_but_finite_gradients_are_not_flagged():
    w = np.ones(2, dtype=np.float32)
    opt = optlib.Adam([w], lr=0.1)
    opt.step([np.array([3e38, -3e38], dtype=np.float32)])   # sum of squares overflows; values are finite
    assert np.all(np.isfinite(w))


def test_non_finite_check_can_be_switched_off():
    w = np.ones(2)
    optlib.SGD([w], lr=0.1, check_finite=False).step([np.array([np.nan, 1.0])])
    assert np.isnan(w[0]) and w[1] == pytest.approx(0.9)


def test_a_gradient_may_be_a_numpy_scalar_for_a_0d_parameter():
    w = np.array(1.0)
    opt = optlib.SGD([w], lr=0.5)
    opt.step([w * 2.0])          # numpy returns np.float64 here, not an array
    opt.step([1.0])
    assert float(w) == pytest.approx(-0.5)


def test_none_skips_a_parameter_and_its_counter():
    a, b = np.zeros(1), np.zeros(1)
    opt = optlib.Adam([a, b], lr=0.1)
    opt.step([np.ones(1), None])
    assert b[0] == 0 and opt.state[1]["step"] == 0 and opt.state[0]["step"] == 1


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="momentum"):
        optlib.Adam(W).momentum
