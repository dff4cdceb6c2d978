"""optlib.checks: every diagnosis is proven by planting exactly that mistake.

Each ``_planted`` function below is written the way a student would write the
mistake (not through the checks' own mistake models), and the test asserts that
the one line the check prints names it. A registry test makes sure that every
mistake the checks know has a planted test here.
"""
from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

import optlib
from optlib import checks
from optlib.checks import QUESTIONS, REFERENCE_FUNCTIONS
from optlib.data import batches
from optlib.models import softmax_regression_init, softmax_regression_loss_grad


def printed(check, fn, **kw):
    buf = io.StringIO()
    with redirect_stdout(buf):
        result = check(fn, **kw)
    assert result is None
    return buf.getvalue()


# --------------------------------------------------------------------------
# Correct answers, written as a student would
# --------------------------------------------------------------------------
def good_rms(x):
    return float(np.sqrt(np.mean(np.asarray(x) ** 2)))


def good_ema(xs, beta):
    a, out = np.zeros_like(xs[0]), np.empty_like(xs)
    for t in range(1, len(xs) + 1):
        a = beta * a + (1 - beta) * xs[t - 1]
        out[t - 1] = a / (1 - beta**t)
    return out


def good_rmsprop(w, g, s, lr, beta, eps):
    s = beta * s + (1 - beta) * g**2
    return w - lr * g / (np.sqrt(s) + eps), s


def good_adam(w, g, v, s, t, lr, beta1, beta2, eps):
    v = beta1 * v + (1 - beta1) * g
    s = beta2 * s + (1 - beta2) * g**2
    v_hat, s_hat = v / (1 - beta1**t), s / (1 - beta2**t)
    return w - lr * v_hat / (np.sqrt(s_hat) + eps), v, s


def good_momentum(w, g, v, lr, beta):
    v = beta * v + g
    return w - lr * v, v


def good_adamw(w, g, v, s, t, lr, beta1, beta2, eps, weight_decay):
    return good_adam(w * (1 - lr * weight_decay), g, v, s, t, lr, beta1, beta2, eps)


def make_train(step=good_adam, t0=1, lr_factor=1.0, update=True):
    def train(X, y, epochs, lr, seed):
        rng = np.random.default_rng(seed)
        params = softmax_regression_init(X.shape[1], 10)
        v = [np.zeros_like(p) for p in params]
        s = [np.zeros_like(p) for p in params]
        t = t0 - 1
        for _ in range(epochs):
            for idx in batches(len(y), 64, rng):
                _, grads = softmax_regression_loss_grad(params, X[idx], y[idx])
                t += 1
                for i in range(2):
                    new = step(params[i], grads[i], v[i], s[i], t, lr * lr_factor, 0.9, 0.999, 1e-8)
                    if update:
                        params[i], v[i], s[i] = new
        return params
    return train


GOOD = {"rms": good_rms, "ema_debiased": good_ema, "rmsprop_step": good_rmsprop,
        "adam_step": good_adam, "momentum_step": good_momentum, "adamw_step": good_adamw,
        "train_digits": make_train()}


@pytest.mark.parametrize("qid", sorted(GOOD))
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_answers_pass(qid, hidden):
    out = printed(getattr(checks, qid), GOOD[qid], hidden=hidden)
    n = len(QUESTIONS[qid].cases(hidden))
    assert out.count("\n") == 1
    assert out.startswith(f"\u2713 {QUESTIONS[qid].function}: {n} check{'s' if n > 1 else ''} passed"), out
    getattr(checks, qid)(GOOD[qid], hidden=hidden, strict=True)  # does not raise


# --------------------------------------------------------------------------
# Planted mistakes: (qid, mistake name, student code, words the message must contain, hidden)
# --------------------------------------------------------------------------
def rms_no_sqrt(x):
    return float(np.mean(x**2))


def rms_no_square(x):
    return float(np.sqrt(np.mean(x)))


def rms_std(x):
    return float(np.std(x))


def rms_sum(x):
    return float(np.sqrt(np.sum(x**2)))


def rms_len(x):
    return float(np.sqrt(np.sum(x**2) / len(x)))


def rms_abs_mean(x):
    return float(np.mean(np.abs(x)))


def ema_no_debias(xs, beta):
    a, out = np.zeros_like(xs[0]), np.empty_like(xs)
    for t in range(len(xs)):
        a = beta * a + (1 - beta) * xs[t]
        out[t] = a
    return out


def ema_beta_on_new(xs, beta):
    a, out = np.zeros_like(xs[0]), np.empty_like(xs)
    for t in range(1, len(xs) + 1):
        a = (1 - beta) * a + beta * xs[t - 1]
        out[t - 1] = a / (1 - beta**t)
    return out


def ema_t_from_zero(xs, beta):
    a, out = np.zeros_like(xs[0]), np.empty_like(xs)
    for t, x in enumerate(xs):          # t starts at 0
        a = beta * a + (1 - beta) * x
        out[t] = a / (1 - beta**t)
    return out


def ema_t_plus_one(xs, beta):
    a, out = np.zeros_like(xs[0]), np.empty_like(xs)
    for t in range(1, len(xs) + 1):
        a = beta * a + (1 - beta) * xs[t - 1]
        out[t - 1] = a / (1 - beta ** (t + 1))
    return out


def ema_init_first(xs, beta):
    a, out = np.array(xs[0]), np.empty_like(xs)
    for t in range(1, len(xs) + 1):
        a = beta * a + (1 - beta) * xs[t - 1]
        out[t - 1] = a / (1 - beta**t)
    return out


def ema_debias_state(xs, beta):
    a, out = np.zeros_like(xs[0]), np.empty_like(xs)
    for t in range(1, len(xs) + 1):
        a = (beta * a + (1 - beta) * xs[t - 1]) / (1 - beta**t)
        out[t - 1] = a
    return out


def rp_eps_in_sqrt(w, g, s, lr, beta, eps):
    s = beta * s + (1 - beta) * g**2
    return w - lr * g / np.sqrt(s + eps), s


def rp_beta_on_new(w, g, s, lr, beta, eps):
    s = (1 - beta) * s + beta * g**2
    return w - lr * g / (np.sqrt(s) + eps), s


def rp_g_not_squared(w, g, s, lr, beta, eps):
    s = beta * s + (1 - beta) * g
    return w - lr * g / (np.sqrt(s) + eps), s


def rp_no_sqrt(w, g, s, lr, beta, eps):
    s = beta * s + (1 - beta) * g**2
    return w - lr * g / (s + eps), s


def rp_old_s(w, g, s, lr, beta, eps):
    w_new = w - lr * g / (np.sqrt(s) + eps)
    return w_new, beta * s + (1 - beta) * g**2


def rp_sign(w, g, s, lr, beta, eps):
    s = beta * s + (1 - beta) * g**2
    return w + lr * g / (np.sqrt(s) + eps), s


def rp_no_eps(w, g, s, lr, beta, eps):
    s = beta * s + (1 - beta) * g**2
    return w - lr * g / np.sqrt(s), s


def rp_eps_precedence(w, g, s, lr, beta, eps):
    s = beta * s + (1 - beta) * g**2
    return w - (lr * g / np.sqrt(s) + eps), s


def _adam_variant(*, eps_in=False, bc1=True, bc2=True, dt=0, swap=False, v_new_w=False, s_new_w=False,
                  gsq=True, sqrt=True, old=False, sign=-1, eps_prec=False, keras=False, no_eps=False):
    def adam_step(w, g, v, s, t, lr, beta1, beta2, eps):
        eps = 0.0 if no_eps else eps
        b1, b2 = (beta2, beta1) if swap else (beta1, beta2)
        v_new = (1 - b1) * v + b1 * g if v_new_w else b1 * v + (1 - b1) * g
        gg = g**2 if gsq else g
        s_new = (1 - b2) * s + b2 * gg if s_new_w else b2 * s + (1 - b2) * gg
        vv, ss = (v, s) if old else (v_new, s_new)
        tt = t + dt
        if keras:
            lr_t = lr * np.sqrt(1 - b2**tt) / (1 - b1**tt)
            return w - lr_t * vv / (np.sqrt(ss) + eps), v_new, s_new
        v_hat = vv / (1 - b1**tt) if bc1 else vv
        s_hat = ss / (1 - b2**tt) if bc2 else ss
        if eps_prec:
            step = lr * v_hat / np.sqrt(s_hat) + eps
        elif not sqrt:
            step = lr * v_hat / (s_hat + eps)
        elif eps_in:
            step = lr * v_hat / np.sqrt(s_hat + eps)
        else:
            step = lr * v_hat / (np.sqrt(s_hat) + eps)
        return w + sign * step, v_new, s_new
    return adam_step


def adam_returns_hat(w, g, v, s, t, lr, beta1, beta2, eps):
    v = beta1 * v + (1 - beta1) * g
    s = beta2 * s + (1 - beta2) * g**2
    v = v / (1 - beta1**t)
    s = s / (1 - beta2**t)
    return w - lr * v / (np.sqrt(s) + eps), v, s


def adamw_returns_hat(w, g, v, s, t, lr, beta1, beta2, eps, weight_decay):
    return adam_returns_hat(w * (1 - lr * weight_decay), g, v, s, t, lr, beta1, beta2, eps)


def adam_inplace(w, g, v, s, t, lr, beta1, beta2, eps):
    v *= beta1
    v += (1 - beta1) * g
    s *= beta2
    s += (1 - beta2) * g**2
    w -= lr * (v / (1 - beta1**t)) / (np.sqrt(s / (1 - beta2**t)) + eps)
    return w, v, s


def adam_float64_constant(w, g, v, s, t, lr, beta1, beta2, eps):
    lr = np.float64(lr)                 # float32 * np.float64 -> float64 in numpy 2
    v = beta1 * v + (1 - beta1) * g
    s = beta2 * s + (1 - beta2) * g**2
    return w - lr * (v / (1 - beta1**t)) / (np.sqrt(s / (1 - beta2**t)) + eps), v, s


def adam_returns_none(w, g, v, s, t, lr, beta1, beta2, eps):
    v = beta1 * v + (1 - beta1) * g


def adam_returns_w_only(w, g, v, s, t, lr, beta1, beta2, eps):
    return good_adam(w, g, v, s, t, lr, beta1, beta2, eps)[0]


def adam_returns_two(w, g, v, s, t, lr, beta1, beta2, eps):
    return good_adam(w, g, v, s, t, lr, beta1, beta2, eps)[:2]


def adam_wrong_shape(w, g, v, s, t, lr, beta1, beta2, eps):
    w_new, v_new, s_new = good_adam(w, g, v, s, t, lr, beta1, beta2, eps)
    return w_new.sum(), v_new, s_new


def adam_unknown(w, g, v, s, t, lr, beta1, beta2, eps):
    w_new, v_new, s_new = good_adam(w, g, v, s, t, lr, beta1, beta2, eps)
    return w_new + 0.001 * np.sin(np.arange(w.size).reshape(w.shape)), v_new, s_new


def adam_raises(w, g, v, s, t, lr, beta1, beta2, eps):
    v_new = beta1 * v + (1 - beta1) * g
    return w - lr * v_new / np.sqrt(s_nwe), v_new, s  # noqa: F821 - the typo is the planted mistake


def mom_ema_style(w, g, v, lr, beta):
    v = beta * v + (1 - beta) * g
    return w - lr * v, v


def mom_beta_on_new(w, g, v, lr, beta):
    v = (1 - beta) * v + beta * g
    return w - lr * v, v


def mom_lr_inside(w, g, v, lr, beta):
    v = beta * v + lr * g
    return w - v, v


def mom_old_v(w, g, v, lr, beta):
    return w - lr * v, beta * v + g


def mom_sign(w, g, v, lr, beta):
    v = beta * v + g
    return w + lr * v, v


def mom_nesterov(w, g, v, lr, beta):
    v = beta * v + g
    return w - lr * (g + beta * v), v


def mom_inplace(w, g, v, lr, beta):
    v *= beta
    v += g
    return w - lr * v, v


def _adamw_variant(mode):
    def adamw_step(w, g, v, s, t, lr, beta1, beta2, eps, weight_decay):
        if mode == "l2":
            return good_adam(w, g + weight_decay * w, v, s, t, lr, beta1, beta2, eps)
        if mode == "no_lr":
            return good_adam(w * (1 - weight_decay), g, v, s, t, lr, beta1, beta2, eps)
        if mode == "after":
            w_new, v_new, s_new = good_adam(w, g, v, s, t, lr, beta1, beta2, eps)
            return w_new * (1 - lr * weight_decay), v_new, s_new
        if mode == "no_decay":
            return good_adam(w, g, v, s, t, lr, beta1, beta2, eps)
        if mode == "plus":
            return good_adam(w * (1 + lr * weight_decay), g, v, s, t, lr, beta1, beta2, eps)
        flags = {"no_bias_correction": dict(bc1=False, bc2=False), "eps_in_sqrt": dict(eps_in=True),
                 "swap_betas": dict(swap=True), "t_plus_one": dict(dt=1), "t_minus_one": dict(dt=-1),
                 "sign": dict(sign=+1), "old_moments": dict(old=True)}[mode]
        return _adam_variant(**flags)(w * (1 - lr * weight_decay), g, v, s, t, lr, beta1, beta2, eps)
    return adamw_step


def train_no_update(X, y, epochs, lr, seed):
    return make_train(update=False)(X, y, epochs, lr, seed)


PLANTED = [
    # qid, mistake name (None: a structural diagnosis), function, words, hidden
    ("rms", "no_sqrt", rms_no_sqrt, "square root is missing", False),
    ("rms", "no_square", rms_no_square, "not squared", False),
    ("rms", "std", rms_std, "standard deviation", False),
    ("rms", "sum", rms_sum, "sum of squares instead of the mean", False),
    ("rms", "abs_mean", rms_abs_mean, "mean absolute value", False),
    ("rms", "use_len", rms_len, "divided by len(x)", True),
    ("ema_debiased", "no_debias", ema_no_debias, "bias correction is missing", False),
    ("ema_debiased", "beta_on_new", ema_beta_on_new, "beta weights the new value", False),
    ("ema_debiased", "t_minus_one", ema_t_from_zero, "t is off by one", False),
    ("ema_debiased", "t_plus_one", ema_t_plus_one, "t is off by one", False),
    ("ema_debiased", "init_first", ema_init_first, "starts at the first value", False),
    ("ema_debiased", "debias_state", ema_debias_state, "fed back into the average", False),
    ("rmsprop_step", "eps_in_sqrt", rp_eps_in_sqrt, "eps is inside the square root", False),
    ("rmsprop_step", "beta_on_new", rp_beta_on_new, "beta weights the new value", False),
    ("rmsprop_step", "g_not_squared", rp_g_not_squared, "g where g squared belongs", False),
    ("rmsprop_step", "no_sqrt", rp_no_sqrt, "square root is missing", False),
    ("rmsprop_step", "old_s", rp_old_s, "old s_{t-1}", False),
    ("rmsprop_step", "sign", rp_sign, "wrong sign", False),
    ("rmsprop_step", "eps_precedence", rp_eps_precedence, "brackets", False),
    ("rmsprop_step", "no_eps", rp_no_eps, "eps is missing", False),
    ("adam_step", "no_eps", _adam_variant(no_eps=True), "eps is missing", False),
    ("adam_step", "no_bias_correction", _adam_variant(bc1=False, bc2=False), "bias correction is missing", False),
    ("adam_step", "bias_v_only", _adam_variant(bc2=False), "only v is bias-corrected", False),
    ("adam_step", "bias_s_only", _adam_variant(bc1=False), "only s is bias-corrected", False),
    ("adam_step", "t_plus_one", _adam_variant(dt=1), "t is off by one (you used t + 1)", False),
    ("adam_step", "t_minus_one", _adam_variant(dt=-1), "t is off by one (you used t - 1)", False),
    ("adam_step", "eps_in_sqrt", _adam_variant(eps_in=True), "eps is inside the square root", False),
    ("adam_step", "swap_betas", _adam_variant(swap=True), "beta1 and beta2 are swapped", False),
    ("adam_step", "v_on_new", _adam_variant(v_new_w=True), "beta1 weights the new gradient", False),
    ("adam_step", "s_on_new", _adam_variant(s_new_w=True), "beta2 weights the new value", False),
    ("adam_step", "g_not_squared", _adam_variant(gsq=False), "g where g squared belongs", False),
    ("adam_step", "no_sqrt", _adam_variant(sqrt=False), "square root is missing", False),
    ("adam_step", "old_moments", _adam_variant(old=True), "old v_{t-1} and s_{t-1}", False),
    ("adam_step", "sign", _adam_variant(sign=+1), "wrong sign", False),
    ("adam_step", "eps_precedence", _adam_variant(eps_prec=True), "brackets", False),
    ("adam_step", "eps_hat", _adam_variant(keras=True), "epsilon hat", False),
    ("adam_step", "return_hat", adam_returns_hat, "returned the bias-corrected v_hat and s_hat", False),
    ("adamw_step", "return_hat", adamw_returns_hat, "returned the bias-corrected v_hat and s_hat", False),
    ("momentum_step", "ema_style", mom_ema_style, "no 1 - beta factor", False),
    ("momentum_step", "beta_on_new", mom_beta_on_new, "beta weights the new gradient", False),
    ("momentum_step", "lr_inside", mom_lr_inside, "learning rate is inside the buffer", False),
    ("momentum_step", "old_v", mom_old_v, "old buffer v_{t-1}", False),
    ("momentum_step", "sign", mom_sign, "wrong sign", False),
    ("momentum_step", "nesterov", mom_nesterov, "Nesterov", False),
    ("adamw_step", "l2", _adamw_variant("l2"), "L2 regularisation", False),
    ("adamw_step", "no_lr", _adamw_variant("no_lr"), "not multiplied by the learning rate", False),
    ("adamw_step", "after", _adamw_variant("after"), "after the Adam step", False),
    ("adamw_step", "no_decay", _adamw_variant("no_decay"), "no weight decay at all", False),
    ("adamw_step", "plus", _adamw_variant("plus"), "decay has the wrong sign", False),
    ("adamw_step", "no_bias_correction", _adamw_variant("no_bias_correction"), "bias correction is missing", False),
    ("adamw_step", "eps_in_sqrt", _adamw_variant("eps_in_sqrt"), "eps is inside the square root", False),
    ("adamw_step", "swap_betas", _adamw_variant("swap_betas"), "beta1 and beta2 are swapped", False),
    ("adamw_step", "t_plus_one", _adamw_variant("t_plus_one"), "you used t + 1", False),
    ("adamw_step", "t_minus_one", _adamw_variant("t_minus_one"), "you used t - 1", False),
    ("adamw_step", "sign", _adamw_variant("sign"), "wrong sign", False),
    ("adamw_step", "old_moments", _adamw_variant("old_moments"), "old v_{t-1} and s_{t-1}", False),
    # structural and generic diagnoses
    ("adam_step", None, adam_inplace, "changed its inputs w, v and s in place", False),
    ("momentum_step", None, mom_inplace, "changed its input v in place", False),
    ("adam_step", None, adam_float64_constant, "float32 inputs gave w_new as float64", True),
    ("adam_step", None, adam_returns_none, "returned None: did you forget the `return`", False),
    ("adam_step", None, adam_returns_w_only, "should return a tuple (w_new, v_new, s_new)", False),
    ("adam_step", None, adam_returns_two, "should return 3 values", False),
    ("adam_step", None, adam_wrong_shape, "w_new has shape () but should have shape (3,)", False),
    ("adam_step", None, adam_unknown, "v_new and s_new are right, but w_new is not", False),
    ("adam_step", None, adam_raises, "raised NameError: name 's_nwe' is not defined (line", False),
    ("rms", None, lambda x: np.sqrt(x**2), "should return a single number", False),
    ("train_digits", None, make_train(t0=0), "nan or inf", False),
    ("train_digits", None, train_no_update, "still all zeros", False),
    ("train_digits", None, make_train(lr_factor=1e-3), "test accuracy 0.", False),
    ("train_digits", None, lambda X, y, epochs, lr, seed: None, "train returned None", False),
]


@pytest.mark.parametrize("qid,name,fn,words,hidden", PLANTED,
                         ids=[f"{p[0]}-{p[1] or p[3][:24]}" for p in PLANTED])
def test_planted_mistake_is_named(qid, name, fn, words, hidden):
    check = getattr(checks, qid)
    out = printed(check, fn, hidden=hidden)
    assert out.count("\n") == 1, out          # one line
    assert out.startswith("\u2717 "), out
    assert words in out, out
    if name is not None:
        assert "it looks like" in out
    with pytest.raises(AssertionError) as info:
        check(fn, hidden=hidden, strict=True)
    assert words in str(info.value)


def test_every_known_mistake_has_a_planted_test():
    planted = {(q, n) for q, n, *_ in PLANTED if n is not None}
    known = {(qid, m.name) for qid, q in QUESTIONS.items() for m in q.mistakes}
    assert known - planted == set()


def test_two_mistakes_at_once_are_both_named():
    out = printed(checks.adam_step, _adam_variant(bc1=False, bc2=False, eps_in=True))
    assert "bias correction is missing" in out and "eps is inside the square root" in out, out


def test_step_ratio_named_when_no_known_mistake_fits():
    def double_step(w, g, v, s, t, lr, beta1, beta2, eps):
        return good_adam(w, g, v, s, t, 2 * lr, beta1, beta2, eps)
    out = printed(checks.adam_step, double_step)
    assert "your step is about 2x too large" in out, out


def test_wrong_parameter_names_show_the_expected_signature():
    def rmsprop_step(w, g, s, lr, alpha, eps):
        return w, s
    out = printed(checks.rmsprop_step, rmsprop_step)
    assert "def rmsprop_step(w, g, s, lr, beta, eps)" in out, out
    assert out.count("\n") == 1


def test_a_sequence_names_the_first_wrong_step():
    def ema_debiased(xs, beta):            # forgets the old average after step 2
        a, out = np.zeros_like(xs[0]), np.empty_like(xs)
        for t in range(1, len(xs) + 1):
            a = beta * a + (1 - beta) * xs[t - 1] if t <= 2 else (1 - beta) * xs[t - 1]
            out[t - 1] = a / (1 - beta**t)
        return out
    out = printed(checks.ema_debiased, ema_debiased)
    assert "the first 2 values are right, but value 3 (t = 3) is not" in out, out


def test_not_implemented_is_one_short_line():
    def stub(w, g, v, s, t, lr, beta1, beta2, eps):
        # YOUR CODE HERE
        raise NotImplementedError()
    assert printed(checks.adam_step, stub) == "adam_step: not implemented yet\n"
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.adam_step(stub, hidden=True, strict=True)


def test_messages_never_show_expected_values():
    """No diagnosis prints a number of the reference output (4 significant digits)."""
    for qid, name, fn, words, hidden in PLANTED:
        q = QUESTIONS[qid]
        if qid == "train_digits":
            continue
        out = printed(getattr(checks, qid), fn, hidden=hidden)
        for case in q.cases(hidden):
            ref = q.reference(**case)
            for arr in (ref if isinstance(ref, tuple) else (ref,)):
                for x in np.ravel(arr):
                    text = f"{float(x):.4g}"
                    if len(text.lstrip("-")) >= 5:     # skip 0, 1, 2.5, ...: too common to mean anything
                        assert text not in out, (qid, name, text, out)


def test_same_output_in_any_order():
    """No state is kept between checks: running them in reverse order prints the same lines."""
    runs = [(getattr(checks, q), fn, h) for q, _, fn, _, h in PLANTED if q != "train_digits"]
    runs += [(getattr(checks, q), GOOD[q], False) for q in GOOD if q != "train_digits"]
    forward = [printed(c, f, hidden=h) for c, f, h in runs]
    backward = [printed(c, f, hidden=h) for c, f, h in reversed(runs)][::-1]
    assert forward == backward
    assert forward == [printed(c, f, hidden=h) for c, f, h in runs]


def test_checks_do_not_let_students_change_the_cases():
    """A function that scribbles over its inputs cannot change what the next check sees."""
    q = QUESTIONS["adam_step"]
    before = q.cases(True)
    printed(checks.adam_step, adam_inplace, hidden=True)
    after = q.cases(True)
    for a, b in zip(before, after):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


# --------------------------------------------------------------------------
# The interface the grader relies on
# --------------------------------------------------------------------------
def test_registry_shape():
    assert set(QUESTIONS) == {"rms", "ema_debiased", "rmsprop_step", "adam_step", "momentum_step",
                              "adamw_step", "train_digits"}
    for qid, q in QUESTIONS.items():
        assert q.qid == qid and isinstance(q.function, str) and isinstance(q.points, int) and q.points > 0
        assert callable(getattr(checks, qid))
    assert set(REFERENCE_FUNCTIONS) == set(QUESTIONS)
    assert optlib.adam_step in REFERENCE_FUNCTIONS["adam_step"]
    assert optlib.Adam in REFERENCE_FUNCTIONS["train_digits"]


@pytest.mark.parametrize("qid", sorted(QUESTIONS))
def test_cases_are_deterministic_and_hidden_extends_visible(qid):
    q = QUESTIONS[qid]
    visible, hidden, again = q.cases(False), q.cases(True), q.cases(True)
    assert len(hidden) > len(visible) >= 1
    for a, b in zip(hidden, again):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    for a, b in zip(visible, hidden):   # the visible cases come first, unchanged
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    for case in hidden:
        for v in case.values():
            assert isinstance(v, (np.ndarray, float, int)) and not isinstance(v, bool)


@pytest.mark.parametrize("qid", [q for q in sorted(QUESTIONS) if q != "train_digits"])
def test_hidden_cases_cover_float32_and_other_shapes(qid):
    q = QUESTIONS[qid]
    arrays = [v for c in q.cases(True) for v in c.values() if isinstance(v, np.ndarray)]
    assert any(a.dtype == np.float32 for a in arrays)
    assert any(a.ndim == 2 for a in arrays)


@pytest.mark.parametrize("qid", sorted(QUESTIONS))
def test_compare_accepts_the_reference_as_numpy(qid):
    q = QUESTIONS[qid]
    for case in q.cases(True):
        expected = q.reference(**case)
        got = [np.asarray(x) for x in expected] if isinstance(expected, (tuple, list)) else np.asarray(expected)
        if isinstance(expected, tuple):
            got = tuple(got)
        assert q.compare(got, expected, case) == (True, "")


def test_compare_names_a_mistake_without_the_student_function():
    """The grader only has outputs: compare alone must diagnose them."""
    q = QUESTIONS["adam_step"]
    case = q.cases()[0]
    got = _adam_variant(bc1=False, bc2=False)(**case)
    ok, msg = q.compare(tuple(np.asarray(x) for x in got), q.reference(**case), case)
    assert not ok and "bias correction is missing" in msg
    ok, msg = q.compare(None, q.reference(**case), case)
    assert not ok and "returned None" in msg


def test_compare_for_the_capstone_measures_test_accuracy():
    q = QUESTIONS["train_digits"]
    case = q.cases()[0]
    ref = q.reference(**case)
    assert q.compare(ref, ref, case) == (True, "")
    assert q.accuracy(ref) >= checks.CAPSTONE_ACCURACY
    W, b = ref
    ok, msg = q.compare([np.zeros_like(W), np.zeros_like(b)], ref, case)
    assert not ok and "all zeros" in msg
    # labels shifted by one: the weights are as large, the accuracy is near zero
    ok, msg = q.compare([np.roll(W, 1, axis=1), np.roll(b, 1)], ref, case)
    assert not ok and re.search(r"test accuracy 0\.\d{3} is below", msg), msg


def test_inputs_changed():
    q = QUESTIONS["rmsprop_step"]
    case = q.cases()[0]
    after = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in case.items()}
    assert q.inputs_changed(case, after) is None
    after["s"] = after["s"] + 1.0
    assert "changed its input s in place" in q.inputs_changed(case, after)


def test_reference_functions_are_refused_when_passed_directly():
    out = printed(checks.rms, optlib.rms)
    assert "optlib's own rms" in out
