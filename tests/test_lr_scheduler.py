"""optlib.lr_scheduler against torch.optim.lr_scheduler, the oracle: the lr sequences and the parameters."""
import math
import warnings

import numpy as np
import pytest
import torch

import optlib
from optlib import lr_scheduler as L

torch.set_num_threads(1)

STEPS = 45


def _inv_sqrt(k):
    return 1.0 / math.sqrt(k + 1)


def _halve_every_10(k):
    return 0.5 ** (k // 10)


# name: (optimizer, its kwargs, build(lr_scheduler module, optimizer) -> scheduler). Every case runs
# past its schedule's end (T_max, total_iters, milestones) and on two groups with different lrs.
CASES = {
    "StepLR": ("Adam", {}, lambda S, o: S.StepLR(o, step_size=7, gamma=0.5)),
    "MultiStepLR": ("SGD", dict(momentum=0.9), lambda S, o: S.MultiStepLR(o, [5, 12, 12, 30], gamma=0.3)),
    "ConstantLR": ("Adam", {}, lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=6)),
    "LinearLR warm-up": ("Adam", {}, lambda S, o: S.LinearLR(o, start_factor=0.05, total_iters=10)),
    "LinearLR decay": ("RMSProp", {}, lambda S, o: S.LinearLR(o, 1.0, end_factor=0.1, total_iters=25)),
    "ExponentialLR": ("Adagrad", {}, lambda S, o: S.ExponentialLR(o, gamma=0.93)),
    "CosineAnnealingLR": ("Adam", {}, lambda S, o: S.CosineAnnealingLR(o, T_max=15, eta_min=1e-4)),
    "LambdaLR lr/sqrt(t)": ("Adam", {}, lambda S, o: S.LambdaLR(o, _inv_sqrt)),
    "LambdaLR per group": ("SGD", {}, lambda S, o: S.LambdaLR(o, [_inv_sqrt, _halve_every_10])),
    "SequentialLR warm-up + cosine": ("AdamW", {}, lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.01, total_iters=8), S.CosineAnnealingLR(o, T_max=30)],
        milestones=[8])),
    "SequentialLR three phases": ("Adam", {}, lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o, factor=0.1, total_iters=5), S.ExponentialLR(o, gamma=0.9),
            S.StepLR(o, step_size=4, gamma=0.5)], milestones=[5, 15])),
    "OneCycleLR (Adam's beta1 cycles)": ("Adam", {}, lambda S, o: S.OneCycleLR(
        o, max_lr=[0.05, 0.1], total_steps=STEPS)),
    "OneCycleLR linear three_phase (SGD momentum)": ("SGD", dict(momentum=0.9, nesterov=True),
                                                     lambda S, o: S.OneCycleLR(
        o, max_lr=0.1, total_steps=STEPS, anneal_strategy="linear", three_phase=True)),
}
TORCH = {"SGD": torch.optim.SGD, "RMSProp": torch.optim.RMSprop, "Adam": torch.optim.Adam,
         "AdamW": torch.optim.AdamW, "Adagrad": torch.optim.Adagrad}


def run_both(name, steps=STEPS, seed=0):
    """Two groups (lr 0.01 and 0.003) stepped by optlib and torch under the same schedule."""
    opt_name, kw, build = CASES[name]
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal(s) for s in [(4, 3), (5,), (2,)]]
    ours = [x.copy() for x in start]
    theirs = [torch.tensor(x.copy()) for x in start]
    opt = getattr(optlib, opt_name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.003}], lr=0.01, **kw)
    ref = TORCH[opt_name]([{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.003}], lr=0.01, **kw)
    sched, ref_sched = build(L, opt), build(torch.optim.lr_scheduler, ref)
    lrs, ref_lrs = [sched.get_last_lr()], [ref_sched.get_last_lr()]
    for _ in range(steps - 1):
        grads = [rng.standard_normal(p.shape) + 0.5 * p for p in ours]
        opt.step(grads)
        for p, g in zip(theirs, grads):
            p.grad = torch.tensor(g)
        ref.step()
        sched.step()
        ref_sched.step()
        lrs.append(sched.get_last_lr())
        ref_lrs.append(ref_sched.get_last_lr())
        for g, h in zip(opt.param_groups, ref.param_groups):      # what the optimizer will use
            assert g["lr"] == h["lr"]
            for key in ("betas", "momentum"):
                if key in h:
                    assert tuple(np.atleast_1d(g[key])) == tuple(np.atleast_1d(h[key])), key
    return np.array(lrs), np.array(ref_lrs), ours, [p.numpy() for p in theirs], start


@pytest.mark.parametrize("name", CASES)
def test_lr_sequence_equals_torchs(name):
    lrs, ref, *_ = run_both(name)
    assert lrs.shape == (STEPS, 2)
    np.testing.assert_array_equal(lrs, ref)                    # same arithmetic, same bits
    assert len(np.unique(lrs[:, 0])) >= 2, "the schedule never changed the lr: the case proves nothing"


@pytest.mark.parametrize("name", CASES)
def test_parameters_driven_by_a_schedule_match_torch_float64(name):
    _, _, ours, theirs, start = run_both(name)
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
    moved = max(float(np.max(np.abs(b - s))) for b, s in zip(theirs, start))
    assert moved > 1e-3
    assert diff / moved <= 1e-10


# --------------------------------------------------------------------------
# Closed forms, by hand (independent of torch)
# --------------------------------------------------------------------------
def _lrs(build, steps, lr=0.1):
    opt = optlib.SGD([np.zeros(1)], lr=lr)
    sched = build(opt)
    out = [sched.get_last_lr()[0]]
    for _ in range(steps):
        opt.step([np.zeros(1)])
        sched.step()
        out.append(sched.get_last_lr()[0])
    return np.array(out)


def test_step_lr_closed_form():
    np.testing.assert_allclose(_lrs(lambda o: L.StepLR(o, 3, gamma=0.5), 9),
                               0.1 * 0.5 ** (np.arange(10) // 3), rtol=1e-15)


def test_cosine_closed_form_and_its_end():
    T = 12
    got = _lrs(lambda o: L.CosineAnnealingLR(o, T_max=T, eta_min=0.01), T)
    t = np.arange(T + 1)
    np.testing.assert_allclose(got, 0.01 + 0.5 * (0.1 - 0.01) * (1 + np.cos(np.pi * t / T)), rtol=1e-13)
    assert got[-1] == pytest.approx(0.01, rel=1e-12)


def test_linear_warmup_closed_form():
    got = _lrs(lambda o: L.LinearLR(o, start_factor=0.1, total_iters=4), 6)
    np.testing.assert_allclose(got, 0.1 * np.array([0.1, 0.325, 0.55, 0.775, 1, 1, 1]), rtol=1e-14)


def test_initial_lr_is_kept_in_the_groups_as_torch_does():
    opt = optlib.Adam([{"params": [np.zeros(1)]}, {"params": [np.zeros(1)], "lr": 0.5}], lr=0.1)
    sched = L.ExponentialLR(opt, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.5] == sched.base_lrs
    assert sched.last_epoch == 0


# --------------------------------------------------------------------------
# State dicts, order of calls, bad arguments
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["CosineAnnealingLR", "SequentialLR warm-up + cosine", "OneCycleLR (Adam's beta1 cycles)"])
def test_scheduler_state_dict_resumes_the_same_sequence(name):
    opt_name, kw, build = CASES[name]

    def fresh():
        opt = getattr(optlib, opt_name)([{"params": [np.zeros(2)]}, {"params": [np.zeros(1)], "lr": 0.003}],
                                        lr=0.01, **kw)
        return opt, build(L, opt)

    opt, sched = fresh()
    seq = []
    for t in range(STEPS - 1):
        opt.step([np.ones(2), np.ones(1)])
        sched.step()
        seq.append(sched.get_last_lr()[0])
        if t == 19:
            saved_opt, saved = opt.state_dict(), sched.state_dict()
    opt2, sched2 = fresh()
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    for _ in range(STEPS - 1 - 20):
        opt2.step([np.ones(2), np.ones(1)])
        sched2.step()
        assert sched2.get_last_lr()[0] == seq[len(seq) - (STEPS - 1 - 20) + _]


def test_stepping_the_scheduler_first_warns_like_torch():
    opt = optlib.Adam([np.zeros(1)])
    sched = L.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()
    opt2 = optlib.Adam([np.zeros(1)])
    sched2 = L.StepLR(opt2, 2)
    opt2.step([np.ones(1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_a_schedule_that_makes_the_lr_negative_is_refused_at_the_next_step():
    w = np.ones(2)
    opt = optlib.SGD([w], lr=0.1)
    sched = L.LambdaLR(opt, lambda t: 1.0 - t)                  # 1, 0, -1, ...
    opt.step([np.ones(2)])
    sched.step()
    opt.step([np.ones(2)])                                      # lr 0: allowed
    sched.step()
    before = w.copy()
    with pytest.raises(ValueError, match=r"param_groups\[0\]\['lr'\] must be a finite number >= 0, got -0.1"):
        opt.step([np.ones(2)])
    np.testing.assert_array_equal(w, before)


@pytest.mark.parametrize("make, error, words", [
    (lambda o: L.StepLR(o, step_size=0), ValueError, ["step_size", ">= 1"]),
    (lambda o: L.StepLR(o, step_size=2.5), ValueError, ["step_size", "integer"]),
    (lambda o: L.StepLR(o, 2, gamma="0.1"), TypeError, ["gamma", "real number"]),
    (lambda o: L.MultiStepLR(o, [3, -1]), ValueError, ["milestones"]),
    (lambda o: L.LinearLR(o, start_factor=0.0), ValueError, ["start_factor", "(0.0, 1.0]"]),
    (lambda o: L.LinearLR(o, end_factor=1.5), ValueError, ["end_factor"]),
    (lambda o: L.ConstantLR(o, factor=2.0), ValueError, ["factor"]),
    (lambda o: L.CosineAnnealingLR(o, T_max=0), ValueError, ["T_max"]),
    (lambda o: L.LambdaLR(o, 0.5), TypeError, ["lr_lambda", "function"]),
    (lambda o: L.LambdaLR(o, [_inv_sqrt, _inv_sqrt]), ValueError, ["lr_lambda", "2 functions", "1 param_groups"]),
    (lambda o: L.SequentialLR(o, [L.StepLR(o, 2)], milestones=[3]), ValueError, ["milestone"]),
    (lambda o: L.OneCycleLR(o, max_lr=0.1), ValueError, ["total_steps"]),
    (lambda o: L.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=10), ValueError, ["max_lr", "2 values"]),
    (lambda o: L.ExponentialLR(torch.optim.SGD([torch.zeros(1)]), 0.9), TypeError, ["optlib optimizer"]),
    (lambda o: L.StepLR(o, 2, last_epoch=3), KeyError, ["initial_lr"]),
])
def test_scheduler_errors_name_the_argument(make, error, words):
    opt = optlib.SGD([np.zeros(1)], lr=0.1, momentum=0.9)
    with pytest.raises(error) as info:
        make(opt)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_sequential_lr_refuses_a_scheduler_of_another_optimizer():
    a, b = optlib.SGD([np.zeros(1)]), optlib.SGD([np.zeros(1)])
    with pytest.raises(ValueError, match=r"schedulers\[1\].*another optimizer"):
        L.SequentialLR(a, [L.StepLR(a, 2), L.StepLR(b, 2)], milestones=[3])


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = optlib.Adam([np.zeros(1)])
    sched = L.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):                                          # as torch: last_epoch may reach total_steps
        opt.step([np.ones(1)])
        sched.step()
    with pytest.raises(ValueError, match="total_steps=3"):
        sched.step()
