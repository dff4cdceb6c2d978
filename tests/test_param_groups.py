"""param_groups, defaults, add_param_group and state dicts behave as torch.optim's (torch is the oracle)."""
import numpy as np
import pytest
import torch

import optlib

torch.set_num_threads(1)

TORCH = {"SGD": torch.optim.SGD, "RMSProp": torch.optim.RMSprop, "Adam": torch.optim.Adam,
         "AdamW": torch.optim.AdamW, "Adagrad": torch.optim.Adagrad}

# (optimizer, constructor kwargs, group 1's own options, a change made to group 0 at step 20)
CASES = [
    ("SGD", dict(lr=0.01, momentum=0.9), dict(lr=0.05, nesterov=True), dict(momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.01), dict(momentum=0.8, dampening=0.1), dict(momentum=0.9)),   # momentum switched on
    ("RMSProp", dict(lr=0.003), dict(centered=True, momentum=0.5), dict(alpha=0.9, lr=0.01)),
    ("Adam", dict(lr=0.01), dict(lr=0.002, betas=(0.8, 0.99), amsgrad=True), dict(betas=(0.5, 0.9), eps=1e-6)),
    ("Adam", dict(lr=0.01), dict(weight_decay=0.1), dict(weight_decay=0.2, lr=0.001)),
    ("AdamW", dict(lr=0.01), dict(weight_decay=0.5), dict(lr=0.05, weight_decay=0.0)),
    # torch 2.13 starts every sum at the constructor's initial_accumulator_value (a group's own is unused)
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1), dict(lr_decay=0.01, initial_accumulator_value=0.3),
     dict(eps=1e-3)),
]


def _ids(case):
    return f"{case[0]}-{'-'.join(case[2])}-then-{'-'.join(case[3])}"


def run_both(name, kw, own, change, steps=40, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 2), (4,), (2, 2)]
    start = [rng.standard_normal(s) for s in shapes]
    ours = [x.copy() for x in start]
    theirs = [torch.tensor(x.copy()) for x in start]
    opt = getattr(optlib, name)([{"params": ours[:2]}, {"params": ours[2:], **own}], **kw)
    ref = TORCH[name]([{"params": theirs[:2]}, {"params": theirs[2:], **own}], **kw)
    for t in range(steps):
        if t == steps // 2:
            opt.param_groups[0].update(change)
            ref.param_groups[0].update(change)
        grads = [rng.standard_normal(s) + 0.3 * p for s, p in zip(shapes, ours)]
        opt.step(grads)
        for p, g in zip(theirs, grads):
            p.grad = torch.tensor(g)
        ref.step()
    return opt, ref, ours, [p.numpy() for p in theirs], start


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_groups_with_own_options_and_a_change_mid_run_match_torch(case):
    opt, ref, ours, theirs, start = run_both(*case)
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
    moved = max(float(np.max(np.abs(b - s))) for b, s in zip(theirs, start))
    assert moved > 1e-3 and diff / moved <= 1e-10
    for g, h in zip(opt.param_groups, ref.param_groups):
        for key, value in g.items():
            if key != "params" and key in h:                         # not the teaching switches
                assert value == (tuple(h[key]) if isinstance(h[key], tuple) else h[key]), key


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_state_dict_has_torchs_layout(case):
    opt, ref, *_ = run_both(*case, steps=3)
    ours, theirs = opt.state_dict(), ref.state_dict()
    assert [g["params"] for g in ours["param_groups"]] == [g["params"] for g in theirs["param_groups"]] == [[0, 1], [2]]
    assert list(ours["param_groups"][0])[-1] == "params"
    assert sorted(ours["state"]) == sorted(theirs["state"]) == [0, 1, 2]
    for i, st in theirs["state"].items():
        for key, value in st.items():
            if isinstance(value, torch.Tensor) and key != "step":
                np.testing.assert_allclose(ours["state"][i][key], value.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_state_dict_round_trip_with_groups_continues_exactly(case):
    name, kw, own, change = case
    rng = np.random.default_rng(1)
    grads = [[rng.standard_normal((2, 2)), rng.standard_normal(3)] for _ in range(30)]

    def build(arrays):
        return getattr(optlib, name)([{"params": arrays[:1]}, {"params": arrays[1:], **own}], **kw)

    a = [np.ones((2, 2)), np.zeros(3)]
    opt = build(a)
    for g in grads[:15]:
        opt.step(g)
    opt.param_groups[0].update(change)
    saved = opt.state_dict()
    b = [x.copy() for x in a]
    for g in grads[15:]:
        opt.step(g)
    opt2 = build(b)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]       # the groups' values came back
    for g in grads[15:]:
        opt2.step(g)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------
# What the issue found broken
# --------------------------------------------------------------------------
def test_writing_an_attribute_that_would_do_nothing_raises_and_says_where_the_value_lives():
    opt = optlib.Adam([np.zeros(2)], lr=0.1)
    with pytest.raises(AttributeError, match=r"opt\.param_groups\[0\]\['lr'\]"):
        opt.lr = 1e-9
    with pytest.raises(AttributeError, match="param_groups"):
        opt.learning_rate = 1e-9
    assert opt.param_groups[0]["lr"] == 0.1 and opt.lr == 0.1        # reading is a shortcut, one group


def test_reading_a_hyperparameter_with_several_groups_is_ambiguous_and_says_so():
    opt = optlib.Adam([{"params": [np.zeros(1)]}, {"params": [np.zeros(1)], "lr": 0.5}])
    with pytest.raises(AttributeError, match=r"2 parameter groups.*param_groups\[i\]\['lr'\]"):
        opt.lr


def test_a_changed_lr_takes_effect_at_the_next_step():
    w = np.zeros(1)
    opt = optlib.SGD([w], lr=0.1)
    opt.step([np.ones(1)])
    opt.param_groups[0]["lr"] = 1e-3
    opt.step([np.ones(1)])
    assert w[0] == pytest.approx(-0.1 - 1e-3, rel=1e-15)


@pytest.mark.parametrize("key, value, error, words", [
    ("lr", -5.0, ValueError, ["param_groups[1]['lr']", ">= 0", "-5.0"]),
    ("lr", float("nan"), ValueError, ["param_groups[1]['lr']", "nan"]),
    ("betas", (0.9, 1.2), ValueError, ["param_groups[1]['betas'][1] (beta2)", "[0, 1)"]),
    ("betas", 0.9, TypeError, ["param_groups[1]['betas']", "pair"]),
    ("eps", -1e-8, ValueError, ["param_groups[1]['eps']"]),
    ("amsgrad", "yes", TypeError, ["param_groups[1]['amsgrad']", "True or False"]),
    ("learning_rate", 0.1, ValueError, ["param_groups[1]", "'learning_rate'", "did you mean 'lr'"]),
])
def test_an_invalid_group_value_is_refused_at_the_step_before_anything_changes(key, value, error, words):
    a, b = np.ones(2), np.ones(3)
    opt = optlib.Adam([{"params": [a]}, {"params": [b]}], lr=0.1)
    opt.step([np.ones(2), np.ones(3)])
    before = [a.copy(), b.copy()], opt.state_dict()
    opt.param_groups[1][key] = value
    with pytest.raises(error) as info:
        opt.step([np.ones(2), np.ones(3)])
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    np.testing.assert_array_equal(a, before[0][0])                  # group 0 was valid, and untouched too
    np.testing.assert_array_equal(b, before[0][1])
    assert [st["step"] for st in opt.state] == [1, 1]


def test_the_constructor_gives_the_same_error_as_the_step():
    with pytest.raises(ValueError, match=r"^lr must be a finite number >= 0, got -5.0$"):
        optlib.Adam([np.zeros(1)], lr=-5)
    with pytest.raises(ValueError, match=r"^param_groups\[1\]\['lr'\] must be a finite number >= 0, got -5.0$"):
        optlib.Adam([{"params": [np.zeros(1)]}, {"params": [np.zeros(1)], "lr": -5}])


def test_sgd_nesterov_rule_is_checked_per_group_at_the_step():
    opt = optlib.SGD([np.zeros(1)], lr=0.1, momentum=0.9, nesterov=True)
    opt.param_groups[0]["momentum"] = 0.0
    with pytest.raises(ValueError, match=r"param_groups\[0\]: nesterov=True requires momentum > 0"):
        opt.step([np.ones(1)])


def test_defaults_are_used_for_groups_added_later_never_for_existing_ones():
    w = np.zeros(1)
    opt = optlib.SGD([w], lr=0.1)
    opt.defaults["lr"] = -5                                           # as torch: accepted, not applied
    opt.step([np.ones(1)])
    assert w[0] == pytest.approx(-0.1)                                 # the weights did not move uphill
    with pytest.raises(ValueError, match=r"param_groups\[1\]\['lr'\].*-5"):
        opt.add_param_group({"params": [np.zeros(1)]})
    opt.defaults["lr"] = 0.3
    opt.add_param_group({"params": [np.zeros(2)]})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.3]


def test_add_param_group_mid_run_matches_torch():
    rng = np.random.default_rng(2)
    a0, b0 = rng.standard_normal(3), rng.standard_normal(2)
    a, b = a0.copy(), b0.copy()
    ta, tb = torch.tensor(a0.copy()), torch.tensor(b0.copy())
    opt, ref = optlib.Adam([a], lr=0.01), torch.optim.Adam([ta], lr=0.01)
    for t in range(30):
        if t == 10:
            opt.add_param_group({"params": [b], "lr": 0.05})
            ref.add_param_group({"params": [tb], "lr": 0.05})
        ga = rng.standard_normal(3)
        gb = rng.standard_normal(2) if t >= 10 else None
        opt.step([ga] if t < 10 else [ga, gb])
        ta.grad = torch.tensor(ga)
        if t >= 10:
            tb.grad = torch.tensor(gb)
        ref.step()
    np.testing.assert_allclose(a, ta.numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(b, tb.numpy(), rtol=0, atol=1e-13)
    assert opt.state[1]["step"] == 20


@pytest.mark.parametrize("make, error, words", [
    (lambda: optlib.Adam([{"params": [np.zeros(1)]}, np.zeros(1)]), TypeError, ["mixes arrays and parameter groups"]),
    (lambda: optlib.Adam([{"lr": 0.1}]), ValueError, ["'params'"]),
    (lambda: optlib.Adam([{"params": [np.zeros(1)], "weight_decy": 0.1}]), ValueError, ["'weight_decy'", "did you mean 'weight_decay'"]),
    (lambda: optlib.Adam([{"params": [np.zeros(2, dtype=int)]}]), TypeError, ["param_groups[0]['params'][0]", "float32"]),
    (lambda: optlib.Adam([{"params": {np.zeros(1).tobytes()}}]), TypeError, ["param_groups[0]['params']", "set"]),
])
def test_group_errors_name_the_group(make, error, words):
    with pytest.raises(error) as info:
        make()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_an_array_may_be_in_one_group_only():
    w = np.zeros(3)
    opt = optlib.Adam([w])
    with pytest.raises(ValueError, match="already in a parameter group"):
        opt.add_param_group({"params": [w[1:]]})


def test_a_group_given_a_single_array_takes_it_as_torch_does():
    w = np.zeros(2)
    opt = optlib.SGD([{"params": w, "lr": 0.5}])
    opt.step([np.ones(2)])
    np.testing.assert_array_equal(w, [-0.5, -0.5])


def test_load_state_dict_refuses_other_groups_and_bad_values_before_changing_anything():
    opt = optlib.Adam([{"params": [np.zeros(1)]}, {"params": [np.zeros(2)]}])
    other = optlib.Adam([np.zeros(1), np.zeros(2)])
    with pytest.raises(ValueError, match="1 parameter groups, this optimizer has 2"):
        opt.load_state_dict(other.state_dict())
    sd = opt.state_dict()
    sd["param_groups"][1]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"loaded param_groups\[1\]\['lr'\]"):
        opt.load_state_dict(sd)
    assert opt.param_groups[1]["lr"] == 1e-3


def test_repr_lists_every_group_like_torch():
    p = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    ours = repr(optlib.SGD([{"params": [np.zeros(1)]}, {"params": [np.zeros(1)], "lr": 0.5}], lr=0.1))
    theirs = repr(torch.optim.SGD([{"params": p[:1]}, {"params": p[1:], "lr": 0.5}], lr=0.1))
    assert ours.startswith("SGD (\nParameter Group 0\n") and "Parameter Group 1\n" in ours
    ours_lines = {line for line in ours.splitlines() if ":" in line}
    assert {"    lr: 0.1", "    lr: 0.5", "    momentum: 0.0", "    nesterov: False"} <= ours_lines
    assert {"    lr: 0.1", "    lr: 0.5", "    nesterov: False"} <= set(theirs.splitlines())


def test_a_list_changed_in_place_and_an_array_value_are_checked_too():
    opt = optlib.Adam([np.zeros(1)])
    opt.param_groups[0]["betas"] = [0.9, 0.999]
    opt.step([np.ones(1)])
    opt.param_groups[0]["betas"][1] = 1.5                  # the same list object, changed in place
    with pytest.raises(ValueError, match=r"param_groups\[0\]\['betas'\]\[1\] \(beta2\) must be in \[0, 1\)"):
        opt.step([np.ones(1)])
    opt.param_groups[0]["betas"] = (0.9, 0.999)
    opt.param_groups[0]["lr"] = np.array([0.1, 0.2])
    with pytest.raises(TypeError, match=r"param_groups\[0\]\['lr'\] must be a real number"):
        opt.step([np.ones(1)])
