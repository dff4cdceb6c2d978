"""optlib.zipf: Zipf-distributed classes, frequency groups, and Kunstner et al.'s GD-vs-Adam gap."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optlib
from optlib import zipf


@settings(max_examples=60, deadline=None)
@given(n_classes=st.integers(2, 60), extra=st.integers(0, 400), exponent=st.floats(0.0, 3.0))
def test_counts_add_up_and_never_increase(n_classes, extra, exponent):
    n = n_classes + extra
    counts = zipf.zipf_counts(n, n_classes, exponent)
    assert counts.sum() == n and counts.min() >= 1 and len(counts) == n_classes
    assert np.all(np.diff(counts) <= 0)


def test_counts_follow_zipfs_law():
    counts = zipf.zipf_counts(100_031, 31, 1.0)
    ranks = np.arange(1, 32)
    np.testing.assert_allclose(counts[0] / counts, ranks, rtol=0.01)        # count_k ~ 1/k
    balanced = zipf.zipf_counts(160, 31, 0.0)
    assert balanced.max() - balanced.min() <= 1


@pytest.mark.parametrize("args, match", [((10, 20), "n_samples"), ((10, 1), "n_classes"),
                                         ((100, 10, -1.0), "exponent"), ((100, 10, np.nan), "exponent")])
def test_bad_counts_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        zipf.zipf_counts(*args)


def test_groups_hold_about_equal_shares_of_the_data():
    counts = zipf.zipf_counts(160, 31, 1.0)
    groups = zipf.frequency_groups(counts, 4)
    assert np.all(np.diff(groups) >= 0) and groups[0] == 0 and groups[-1] == 3
    share = np.bincount(groups, weights=counts) / counts.sum()
    assert np.all(np.abs(share - 0.25) < 0.06)
    with pytest.raises(ValueError, match="sorted"):
        zipf.frequency_groups(counts[::-1], 4)
    with pytest.raises(ValueError, match="n_groups"):
        zipf.frequency_groups(counts, 40)


def test_group_losses_by_hand():
    y = np.array([0, 0, 1, 2])
    groups = np.array([0, 1, 1])                       # class 0 in group 0, classes 1 and 2 in group 1
    per_sample = np.array([[1.0, 3.0, 5.0, 7.0]])
    np.testing.assert_allclose(zipf.group_losses(per_sample, y, groups), [[2.0, 6.0]])


def test_problem_shapes_and_inputs():
    p = zipf.zipf_problem(n_samples=100, n_classes=20, n_features=120, shift=2.0, seed=3)
    assert p.X.shape == (100, 120) and p.X.min() >= 2.0 and p.X.max() < 3.0
    np.testing.assert_array_equal(np.bincount(p.y), p.counts)
    assert p.n_groups == 4


def test_training_starts_uniform_and_groups_average_to_the_total():
    p = zipf.zipf_problem()
    runs = zipf.train(p, {"GD": (optlib.SGD, {"lr": 1e-2})}, steps=20, record_every=10)
    run = runs["GD"]
    np.testing.assert_allclose(run.groups[0], np.log(len(p.counts)))        # zero weights: log c everywhere
    share = np.bincount(p.groups, weights=p.counts) / p.counts.sum()
    np.testing.assert_allclose(run.groups @ share, run.loss[run.steps], atol=1e-12)
    assert run.diverged == -1


def test_gd_leaves_the_rare_classes_untrained_adam_does_not():
    """The lecture's experiment (notebook 08), at the step sizes the grid chose there."""
    p = zipf.zipf_problem()
    runs = zipf.train(p, {"GD": (optlib.SGD, {"lr": 1e-2}), "Adam": (optlib.Adam, {"lr": 10 ** -2.5})},
                      steps=300, record_every=300)
    gd, adam = runs["GD"].groups[-1], runs["Adam"].groups[-1]
    assert gd[-1] > np.log(31)                     # GD's rarest group ends worse than it started
    assert gd[0] < gd[1] < gd[2] < gd[3]           # in order of frequency
    assert adam.max() < 1.0 and adam[-1] < adam[0]  # Adam trains every group, the rarest best


def test_without_imbalance_gd_treats_the_groups_alike():
    runs = zipf.train(zipf.zipf_problem(exponent=0.0), {"GD": (optlib.SGD, {"lr": 1e-2})}, steps=300,
                      record_every=300)
    groups = runs["GD"].groups[-1]
    assert groups.max() - groups.min() < 0.2
