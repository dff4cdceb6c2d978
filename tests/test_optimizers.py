"""optlib's optimizers against torch.optim, the oracle, and against the math by hand."""
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import optlib
from optlib import functional as F
from optlib._kernels import block_size

torch.set_num_threads(1)

# Every optimizer and each option combination of the issue: (optlib class, kwargs).
# torch's class of the same name takes the same kwargs, minus the teaching switches.
CASES = [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.01, momentum=0.8, dampening=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("RMSProp", dict()),
    ("RMSProp", dict(lr=0.003, alpha=0.9, eps=1e-6)),
    ("RMSProp", dict(centered=True)),
    ("RMSProp", dict(momentum=0.9)),
    ("RMSProp", dict(centered=True, momentum=0.5)),
    ("RMSProp", dict(weight_decay=0.1, centered=True, momentum=0.9)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.0)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, lr_decay=0.001, initial_accumulator_value=0.1)),
]
TORCH = {"SGD": torch.optim.SGD, "RMSProp": torch.optim.RMSprop, "Adam": torch.optim.Adam,
         "AdamW": torch.optim.AdamW, "Adagrad": torch.optim.Adagrad}
SHAPES = [(7, 3), (5,), (2, 3, 2), ()]


def _ids(case):
    name, kw = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


def run_both(name, kw, steps=300, dtype=np.float64, skip_every=0, seed=0, shapes=SHAPES):
    """Step optlib and torch on the same varied gradients; return (optlib params, torch params, start)."""
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [x.copy() for x in start]
    theirs = [torch.tensor(x.copy()) for x in start]
    opt = getattr(optlib, name)(ours, **kw)
    ref = TORCH[name](theirs, **kw)
    for t in range(steps):
        scale = 10.0 ** rng.uniform(-2, 2)               # gradients of varied size
        grads = [(scale * rng.standard_normal(s) + 0.3 * p).astype(dtype) for s, p in zip(shapes, ours)]
        if skip_every and t % skip_every == 1:
            grads[1] = None                               # a parameter without a gradient this step
        opt.step(grads)
        for p, g in zip(theirs, grads):
            p.grad = None if g is None else torch.tensor(g)
        ref.step()
    return ours, [p.numpy() for p in theirs], start


def rel_diff(ours, theirs, start):
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
    change = max(float(np.max(np.abs(a - s))) for a, s in zip(theirs, start))
    assert change > 1e-3, "the run barely moved the parameters; the comparison would prove nothing"
    return diff / change


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_torch_float64_300_steps(case):
    assert rel_diff(*run_both(*case)) <= 1e-10


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_torch_when_a_parameter_has_no_gradient(case):
    # torch skips a parameter whose .grad is None: its step counter does not advance.
    assert rel_diff(*run_both(*case, steps=120, skip_every=3)) <= 1e-10


@pytest.mark.parametrize("case", CASES[::2], ids=_ids)
def test_large_parameters_updated_block_by_block_match_torch(case):
    """Parameters larger than a block take the blocked path (last block partial)."""
    n = block_size(np.float64)
    shapes = [(3, n // 2 + 7), (n + 5,), (4,)]
    assert rel_diff(*run_both(*case, steps=12, shapes=shapes, skip_every=4)) <= 1e-10


def test_non_contiguous_large_parameter_is_updated_correctly():
    n = block_size(np.float64)
    base = np.ones((2 * n + 3, 2))
    w = base.T                                   # a transposed view: not C-contiguous
    ref = np.ones((2, 2 * n + 3))
    g = np.linspace(-1, 1, w.size).reshape(w.shape)
    o1, o2 = optlib.Adam([w], lr=0.1), optlib.Adam([ref], lr=0.1)
    for _ in range(3):
        o1.step([g])
        o2.step([np.ascontiguousarray(g)])
    np.testing.assert_array_equal(w, ref)
    assert np.shares_memory(w, base)             # updated in place, through the view


@pytest.mark.parametrize("case", CASES[::3], ids=_ids)
def test_matches_torch_float32_to_round_off(case):
    ours, theirs, start = run_both(*case, steps=100, dtype=np.float32)
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float32, "a float32 parameter must stay float32"
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_float32_scalars_do_not_promote():
    w = np.ones(3, dtype=np.float32)
    opt = optlib.Adam([w], lr=np.float64(0.1), betas=(np.float64(0.9), 0.999))
    opt.step([np.ones(3, dtype=np.float32)])
    assert w.dtype == np.float32
    assert all(type(v) is float for v in (opt.lr, *opt.betas, opt.eps))


@pytest.mark.parametrize("case", CASES[::2], ids=_ids)
def test_state_dict_round_trip_continues_exactly(case):
    name, kw = case
    rng = np.random.default_rng(1)
    grads = [[rng.standard_normal((4, 2)), rng.standard_normal(3)] for _ in range(40)]
    a = [np.ones((4, 2)), np.zeros(3)]
    opt = getattr(optlib, name)(a, **kw)
    for g in grads[:20]:
        opt.step(g)
    saved = opt.state_dict()
    b = [x.copy() for x in a]
    for g in grads[20:]:
        opt.step(g)
    opt2 = getattr(optlib, name)(b, **kw)
    opt2.load_state_dict(saved)
    for g in grads[20:]:
        opt2.step(g)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_state_dict_is_a_copy():
    w = [np.ones(2)]
    opt = optlib.Adam(w, lr=0.1)
    opt.step([np.ones(2)])
    sd = opt.state_dict()
    opt.step([np.ones(2)])
    assert sd["state"][0]["step"] == 1 and opt.state[0]["step"] == 2
    assert not np.shares_memory(sd["state"][0]["exp_avg"], opt.state[0]["exp_avg"])


def test_load_state_dict_rejects_a_mismatch():
    opt = optlib.Adam([np.ones(2)])
    other = optlib.Adam([np.ones(3)])
    other.step([np.ones(3)])
    with pytest.raises(ValueError, match=r"exp_avg.*shape"):
        opt.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="state_dict"):
        opt.load_state_dict({"nope": 1})


def test_repr_lists_hyperparameters_like_torch():
    r = repr(optlib.Adam([np.ones(2)], lr=0.01))
    assert r.startswith("Adam (\nParameter Group 0\n") and "    lr: 0.01\n" in r and "betas: (0.9, 0.999)" in r


def test_defaults_are_torchs():
    p = [torch.zeros(1, requires_grad=True)]
    for name, cls in TORCH.items():
        ours = getattr(optlib, name)([np.zeros(1)]).defaults
        theirs = cls(p).defaults
        for k, v in ours.items():
            if k in theirs:
                assert v == (tuple(theirs[k]) if isinstance(theirs[k], tuple) else theirs[k]), (name, k)


# --------------------------------------------------------------------------
# First steps, by hand
# --------------------------------------------------------------------------
def test_adam_first_step_is_lr_times_sign_of_g():
    g = np.array([3.0, -0.02, 150.0, -7.0])
    w = np.zeros(4)
    optlib.Adam([w], lr=0.01).step([g])
    np.testing.assert_allclose(w, -0.01 * np.sign(g), rtol=1e-6)


def test_rmsprop_first_step_is_ten_lr():
    g = np.array([2.0, -0.5, 40.0])
    w = np.zeros(3)
    optlib.RMSProp([w], lr=0.01, alpha=0.99).step([g])
    np.testing.assert_allclose(w, -0.1 * np.sign(g), rtol=1e-6)  # 1/sqrt(1 - 0.99) = 10


def test_sgd_momentum_buffer_starts_as_the_gradient():
    g = np.array([1.0, -2.0])
    w = np.zeros(2)
    opt = optlib.SGD([w], lr=0.1, momentum=0.9)
    opt.step([g])
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], g)
    np.testing.assert_allclose(w, -0.1 * g)
    opt.step([g])                                          # v_2 = 0.9 g + g
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], 1.9 * g)


def test_adamw_decay_is_multiplied_by_lr():
    w = np.full(2, 2.0)
    optlib.AdamW([w], lr=0.1, weight_decay=0.5).step([np.zeros(2)])
    np.testing.assert_allclose(w, 2.0 * (1 - 0.1 * 0.5))    # zero gradient: only the decay moves w


def test_adagrad_first_step_is_lr_times_sign():
    w = np.zeros(2)
    optlib.Adagrad([w], lr=0.5).step([np.array([4.0, -0.1])])
    np.testing.assert_allclose(w, [-0.5, 0.5], rtol=1e-8)


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------
grad_seq = st.lists(st.lists(st.floats(0.1, 10.0) | st.floats(-10.0, -0.1), min_size=3, max_size=3),
                    min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(gs=grad_seq, c=st.floats(1e-3, 1e3), name=st.sampled_from(["Adam", "RMSProp", "AdamW", "Adagrad"]))
def test_adaptive_step_does_not_change_when_the_gradient_is_scaled(gs, c, name):
    """Without eps, scaling every gradient by c leaves the path of Adam/RMSProp/Adagrad unchanged.

    (With eps = 1e-12 it changes by about eps / |c g| relative, which a cancellation between
    steps can amplify past any fixed tolerance: eps = 0 tests the invariance itself.)
    """
    kw = {"eps": 0.0} if name != "AdamW" else {"eps": 0.0, "weight_decay": 0.0}
    w1, w2 = np.zeros(3), np.zeros(3)
    o1, o2 = getattr(optlib, name)([w1], **kw), getattr(optlib, name)([w2], **kw)
    for g in gs:
        o1.step([np.array(g)])
        o2.step([c * np.array(g)])
    np.testing.assert_allclose(w1, w2, rtol=1e-7, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(g=st.floats(1e-3, 1e3), b1=st.floats(0.0, 0.99), b2=st.floats(0.5, 0.9999), lr=st.floats(1e-4, 1.0))
def test_without_bias_correction_the_first_step_is_sqrt_1_minus_b2_over_1_minus_b1_larger(g, b1, b2, lr):
    w_on, w_off = np.zeros(1), np.zeros(1)
    optlib.Adam([w_on], lr=lr, betas=(b1, b2), eps=0.0).step([np.array([g])])
    optlib.Adam([w_off], lr=lr, betas=(b1, b2), eps=0.0, bias_correction=False).step([np.array([g])])
    np.testing.assert_allclose(w_on, [-lr], rtol=1e-9)                       # corrected: lr sign(g)
    np.testing.assert_allclose(w_off / w_on, (1 - b1) / math.sqrt(1 - b2), rtol=1e-9)


def test_defaults_without_bias_correction_step_316_lr_first():
    w = np.zeros(1)
    optlib.Adam([w], lr=1e-3, bias_correction=False).step([np.array([0.7])])
    assert w[0] == pytest.approx(-3.1623e-3, rel=1e-4)


@settings(max_examples=60, deadline=None)
@given(g=st.floats(1e-6, 1e2), eps=st.floats(1e-8, 1e-2), beta=st.floats(0.5, 0.999))
def test_eps_in_sqrt_changes_the_first_rmsprop_step_exactly_as_the_formula_says(g, eps, beta):
    out, inside = np.zeros(1), np.zeros(1)
    optlib.RMSProp([out], lr=1.0, alpha=beta, eps=eps).step([np.array([g])])
    optlib.RMSProp([inside], lr=1.0, alpha=beta, eps=eps, eps_in_sqrt=True).step([np.array([g])])
    s = (1 - beta) * g * g
    np.testing.assert_allclose(out, [-g / (math.sqrt(s) + eps)], rtol=1e-12)     # torch
    np.testing.assert_allclose(inside, [-g / math.sqrt(s + eps)], rtol=1e-12)    # Keras, optax
    # sqrt(s + eps) > sqrt(s) + eps  <=>  sqrt(s) < (1 - eps) / 2 (square both sides): only then is the
    # eps-inside step the smaller one. Near the boundary round-off decides, so stay away from it.
    assume(abs(math.sqrt(s) - (1 - eps) / 2) > 1e-9)
    assert (abs(inside[0]) < abs(out[0])) == (math.sqrt(s) < (1 - eps) / 2)


def test_eps_inside_the_sqrt_floors_the_denominator_at_sqrt_eps():
    tiny = np.array([1e-9])
    a, b = np.zeros(1), np.zeros(1)
    optlib.RMSProp([a], lr=1.0, eps=1e-8).step([tiny])
    optlib.RMSProp([b], lr=1.0, eps=1e-8, eps_in_sqrt=True).step([tiny])
    assert abs(a[0]) == pytest.approx(1e-9 / (1e-10 + 1e-8), rel=1e-9)   # ~0.099
    assert abs(b[0]) == pytest.approx(1e-9 / math.sqrt(1e-20 + 1e-8), rel=1e-9)  # ~1e-5


def test_adam_eps_in_sqrt_matches_its_formula():
    g, w = np.array([0.3]), np.zeros(1)
    optlib.Adam([w], lr=0.1, eps=1e-2, eps_in_sqrt=True).step([g])
    assert w[0] == pytest.approx(-0.1 * 0.3 / math.sqrt(0.09 + 1e-2), rel=1e-12)


def test_amsgrad_uses_the_running_max_of_raw_s():
    w, v, s, smax = np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1)
    F.adam_step(w, np.array([10.0]), v, s, 1, s_max=smax)
    F.adam_step(w, np.array([0.1]), v, s, 2, s_max=smax)
    assert smax[0] == pytest.approx(0.1) and s[0] < smax[0]


# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------
def test_rms_and_its_relation_to_the_standard_deviation():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert F.rms(x) == pytest.approx(math.sqrt(7.5))
    assert F.rms(x) ** 2 == pytest.approx(np.var(x) + np.mean(x) ** 2)
    z = x - x.mean()
    assert F.rms(z) == pytest.approx(np.std(z))


@settings(max_examples=40, deadline=None)
@given(beta=st.floats(0.0, 0.99), n=st.integers(1, 60))
def test_ema_weights_sum_to_one_minus_beta_to_the_t(beta, n):
    ones = np.ones(n)
    np.testing.assert_allclose(F.ema(ones, beta), 1 - beta ** np.arange(1, n + 1), rtol=1e-12)
    np.testing.assert_allclose(F.ema(ones, beta, debias=True), 1.0, rtol=1e-12)


def test_bias_correction_factor_values():
    np.testing.assert_allclose(F.bias_correction_factor([1, 10]), [0.3162, 0.1532], atol=1e-4)
    assert F.bias_correction_factor(20000) == pytest.approx(1.0, abs=1e-6)


def test_ema_style_momentum_is_torchs_buffer_times_one_minus_beta():
    """v_ema = (1 - beta) v_torch at every step, so lr / (1 - beta) gives the same path."""
    rng = np.random.default_rng(3)
    gs = rng.standard_normal((30, 2))
    w1, v1, w2, v2 = np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2)
    for t, g in enumerate(gs):
        F.momentum_step(w1, g, v1, 0.1, 0.9, first=(t == 0))      # torch: v = 0.9 v + g
        F.momentum_step(w2, g, v2, 1.0, 0.9, ema_style=True)       # notes: v = 0.9 v + 0.1 g
        np.testing.assert_allclose(v2, 0.1 * v1, rtol=1e-12)
    np.testing.assert_allclose(w2, w1, rtol=1e-12)


def test_functions_do_not_touch_the_gradient():
    g = np.array([1.0, -1.0])
    keep = g.copy()
    for opt in (optlib.SGD([np.ones(2)], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True),
                optlib.RMSProp([np.ones(2)], weight_decay=0.1, centered=True, momentum=0.5),
                optlib.Adam([np.ones(2)], weight_decay=0.1, amsgrad=True), optlib.AdamW([np.ones(2)]),
                optlib.Adagrad([np.ones(2)], weight_decay=0.1)):
        opt.step([g])
        np.testing.assert_array_equal(g, keep)
