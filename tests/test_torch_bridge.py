"""optlib against torch.optim through optlib.torch_bridge: views, errors, parity on a real network."""
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import optlib  # noqa: E402
from optlib import torch_bridge as tb  # noqa: E402

torch.set_num_threads(1)

# Every optimizer and every option optlib shares with torch.optim (the notebook runs the same list longer).
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=1e-2)),
    ("RMSProp", dict(lr=1e-3)),
    ("RMSProp", dict(lr=1e-3, centered=True)),
    ("RMSProp", dict(lr=1e-3, momentum=0.9)),
    ("RMSProp", dict(lr=1e-3, centered=True, momentum=0.9)),
    ("RMSProp", dict(lr=1e-3, weight_decay=1e-2)),
    ("Adam", dict(lr=3e-3)),
    ("Adam", dict(lr=3e-3, amsgrad=True)),
    ("Adam", dict(lr=3e-3, weight_decay=1e-2)),
    ("AdamW", dict(lr=3e-3)),
    ("AdamW", dict(lr=3e-3, amsgrad=True)),
    ("Adagrad", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.05, lr_decay=1e-2)),
    ("Adagrad", dict(lr=0.05, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.05, weight_decay=1e-2)),
]
IDS = [f"{name}-" + "-".join(f"{k}={v}" for k, v in opts.items()) for name, opts in CASES]
SMALL = dict(steps=40, hidden=16)


# --------------------------------------------------------------------------
# Parity
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name, options", CASES, ids=IDS)
def test_float64_parity_with_torch(name, options):
    r = tb.parity_run(name, options, **SMALL)
    assert r.steps == SMALL["steps"]
    assert r.moved[-1] > 1e-3, "the run must actually move the weights"
    assert r.max_diff <= 1e-10, f"{name} {options}: max |w_torch - w_optlib| = {r.max_diff:.3g}"
    np.testing.assert_allclose(r.loss_optlib, r.loss_torch, rtol=1e-10)


@pytest.mark.parametrize("name, options", CASES, ids=IDS)
def test_float32_parity_with_torch_is_round_off(name, options):
    r = tb.parity_run(name, options, dtype="float32", steps=20, hidden=16)
    assert r.dtype == "float32"
    assert r.max_rel <= 1e-4, f"{name} {options}: relative difference {r.max_rel:.3g}"


def test_cnn_parity():
    r = tb.parity_run("Adam", dict(lr=3e-3), model="cnn", steps=20)
    assert r.model == "cnn"
    assert r.max_diff <= 1e-10


@pytest.mark.parametrize("name, options, slip", [
    ("RMSProp", dict(lr=1e-3), dict(eps_in_sqrt=True)),
    ("RMSProp", dict(lr=1e-3), dict(alpha=0.9)),
    ("Adam", dict(lr=3e-3), dict(bias_correction=False)),
    ("Adam", dict(lr=3e-3), dict(eps_in_sqrt=True)),
], ids=["eps-in-sqrt", "alpha-0.9", "no-bias-correction", "adam-eps-in-sqrt"])
def test_parity_check_catches_convention_slips(name, options, slip):
    r = tb.parity_run(name, options, optlib_options=slip, **SMALL)
    assert r.max_diff > 1e-6, f"the slip {slip} went unnoticed: {r.max_diff:.3g}"


def test_parity_with_a_factory_t_off_by_one_is_caught():
    class AdamT:                                    # Adam from optlib.functional, step counter shifted
        def __init__(self, params, shift):
            self.params, self.shift, self.t = params, shift, 0
            self.v = [np.zeros_like(p) for p in params]
            self.s = [np.zeros_like(p) for p in params]

        def step(self, grads):
            self.t += 1
            for w, g, v, s in zip(self.params, grads, self.v, self.s):
                optlib.adam_step(w, g, v, s, self.t + self.shift, 3e-3, 0.9, 0.999, 1e-8)

    exact = tb.parity_run("Adam", dict(lr=3e-3), optlib_factory=lambda p: AdamT(p, 0), **SMALL)
    shifted = tb.parity_run("Adam", dict(lr=3e-3), optlib_factory=lambda p: AdamT(p, 1), **SMALL)
    assert exact.max_diff <= 1e-10
    assert shifted.max_diff > 1e-6


def test_torch_against_itself_is_bitwise_and_perturbation_shows():
    same = tb.parity_run("Adam", dict(lr=3e-3), copy_b="torch", **SMALL)
    assert same.max_diff == 0.0
    nudged = tb.parity_run("Adam", dict(lr=3e-3), copy_b="torch", perturb=1e-12, **SMALL)
    assert 0.0 < nudged.max_diff < 1e-8


def test_parity_result_fields():
    r = tb.parity_run("SGD", dict(lr=0.1), steps=5, hidden=8)
    assert r.max_abs_diff.shape == r.moved.shape == r.loss_torch.shape == r.loss_optlib.shape == (5,)
    assert np.all(r.moved > 0)
    np.testing.assert_allclose(r.rel_diff, r.max_abs_diff / r.moved)
    assert 0.0 <= r.accuracy_torch <= 1.0 and 0.0 <= r.accuracy_optlib <= 1.0


def test_parity_run_rejects_bad_arguments():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        tb.parity_run("LBFGS", {}, steps=1)
    with pytest.raises(TypeError, match="float32 or float64"):
        tb.parity_run("SGD", dict(lr=0.1), steps=1, dtype="float16")
    with pytest.raises(ValueError, match="model must be"):
        tb.parity_run("SGD", dict(lr=0.1), steps=1, model="transformer")
    with pytest.raises(ValueError, match="steps"):
        tb.parity_run("SGD", dict(lr=0.1), steps=0)
    with pytest.raises(ValueError, match="copy_b"):
        tb.parity_run("SGD", dict(lr=0.1), steps=1, copy_b="jax")


def test_order_of_magnitude():
    assert tb.order_of_magnitude(3.9e-16) == "1e-15"
    assert tb.order_of_magnitude(1e-15) == "1e-15"
    assert tb.order_of_magnitude(2e-15) == "1e-14"
    assert tb.order_of_magnitude(0.0) == "0"


# --------------------------------------------------------------------------
# Views, not copies
# --------------------------------------------------------------------------
def test_params_are_views_both_ways():
    net = torch.nn.Linear(3, 2).double()
    w, b = tb.params_as_numpy(net)
    assert w.shape == (2, 3) and b.shape == (2,) and w.dtype == np.float64
    w[1, 2] = 42.0                                   # numpy -> tensor
    assert net.weight[1, 2].item() == 42.0
    with torch.no_grad():
        net.bias.fill_(-7.0)                         # tensor -> numpy
    assert np.all(b == -7.0)
    assert w.ctypes.data == net.weight.data_ptr()


def test_params_from_tensor_and_iterable():
    t = torch.zeros(4, dtype=torch.float32)
    (a,) = tb.params_as_numpy(t)
    a += 1.0
    assert torch.all(t == 1.0)
    arrays = tb.params_as_numpy(iter([t, torch.ones(2, 2)]))
    assert len(arrays) == 2


def test_grads_are_views_and_none_without_grad():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    net[1].bias.requires_grad_(False)
    net(torch.ones(5, 3)).sum().backward()
    grads = tb.grads_as_numpy(net)
    assert grads[3] is None and all(g is not None for g in grads[:3])
    grads[0][0, 0] = 123.0
    assert net[0].weight.grad[0, 0].item() == 123.0


def test_stepper_updates_weights_in_place_like_torch():
    torch.manual_seed(0)
    a = torch.nn.Linear(4, 3).double()
    b = torch.nn.Linear(4, 3).double()
    b.load_state_dict(a.state_dict())
    x = torch.randn(8, 4, dtype=torch.float64)
    opt_a = torch.optim.Adam(a.parameters(), lr=0.1)
    opt_b = tb.OptlibStepper(b.parameters(), optlib.Adam, lr=0.1)
    weight_storage = b.weight.data_ptr()
    for _ in range(5):
        for net, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            (net(x) ** 2).mean().backward()
            opt.step()
    assert b.weight.data_ptr() == weight_storage
    assert opt_b.optimizer.state[0]["step"] == 5
    torch.testing.assert_close(b.weight, a.weight, rtol=0, atol=1e-14)
    opt_b.zero_grad()
    assert b.weight.grad is None
    sd = opt_b.state_dict()
    opt_b.load_state_dict(sd)


def test_stepper_zero_grad_set_to_zero():
    w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = tb.OptlibStepper([w], optlib.SGD, lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and torch.all(w.grad == 0)


def test_stepper_bumps_autograd_version():
    """A graph that saved a weight before the step must not silently reuse the new weight."""
    w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = tb.OptlibStepper([w], optlib.SGD, lr=0.1)
    loss = (w ** 3).sum()                            # pow saves w for backward
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_stepper_accepts_a_factory():
    w = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))

    class Halve:
        def __init__(self, params):
            self.params = params

        def step(self, grads):
            for p in self.params:
                p *= 0.5

    opt = tb.OptlibStepper([w], Halve)
    w.sum().backward()
    opt.step()
    assert torch.all(w == 0.5)
    with pytest.raises(TypeError, match="no step"):
        tb.OptlibStepper([w], lambda params: object())


# --------------------------------------------------------------------------
# Clear errors
# --------------------------------------------------------------------------
def test_error_non_cpu_tensor():
    with pytest.raises(ValueError, match="device 'meta'.*CPU"):
        tb.params_as_numpy([torch.empty(3, device="meta")])


def test_error_non_contiguous_tensor():
    t = torch.zeros(4, 3, dtype=torch.float64).t()
    with pytest.raises(ValueError, match="not contiguous"):
        tb.params_as_numpy([t])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64])
def test_error_unsupported_dtype(dtype):
    with pytest.raises(TypeError, match="float32 or float64"):
        tb.params_as_numpy([torch.zeros(3, dtype=dtype)])


def test_error_dtype_mismatch():
    with pytest.raises(TypeError, match="dtype mismatch.*params\\[1\\]"):
        tb.params_as_numpy([torch.zeros(2, dtype=torch.float64), torch.zeros(2)], dtype="float64")


def test_error_not_tensors():
    with pytest.raises(TypeError, match="must be a torch tensor"):
        tb.params_as_numpy([np.zeros(3)])
    with pytest.raises(TypeError, match="torch module, a tensor or an iterable"):
        tb.params_as_numpy(3.0)
    with pytest.raises(TypeError, match="parameter groups"):
        tb.params_as_numpy([{"params": [torch.zeros(2)]}])
    with pytest.raises(ValueError, match="empty"):
        tb.params_as_numpy([])


def test_error_sparse_grad():
    emb = torch.nn.Embedding(5, 2, sparse=True).double()
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(ValueError, match="layout"):
        tb.grads_as_numpy(emb)


def test_error_step_without_gradients():
    opt = tb.OptlibStepper([torch.nn.Parameter(torch.ones(2, dtype=torch.float64))], optlib.Adam)
    with pytest.raises(RuntimeError, match="backward"):
        opt.step()


def test_error_model_converted_after_stepper():
    net = torch.nn.Linear(2, 2)
    opt = tb.OptlibStepper(net.parameters(), optlib.SGD, lr=0.1)
    net.double()                                     # new storage: the stepper's views are stale
    net(torch.ones(1, 2, dtype=torch.float64)).sum().backward()
    with pytest.raises(RuntimeError, match="make the OptlibStepper after"):
        opt.step()


# --------------------------------------------------------------------------
# torch stays optional
# --------------------------------------------------------------------------
def test_import_optlib_does_not_import_torch():
    code = ("import sys, optlib, optlib.torch_bridge\n"
            "assert 'torch' not in sys.modules, 'importing optlib imported torch'\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_torch_is_imported_only_by_torch_bridge():
    """One place meets torch: every other module of optlib (the checks package of another branch
    included) works without it."""
    import pathlib
    import re

    root = pathlib.Path(optlib.__file__).parent
    pattern = re.compile(r"^\s*(import torch|from torch\b)", re.M)
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if pattern.search(p.read_text()))
    assert users == ["torch_bridge.py"]


def test_experiments_reddi_run_torch_forwards_to_the_bridge():
    from optlib import experiments

    a = experiments.reddi_run_torch(steps=30, amsgrad=False)
    np.testing.assert_array_equal(a, tb.reddi_run_torch(steps=30, amsgrad=False))
    np.testing.assert_allclose(experiments.reddi_run(optlib.Adam, steps=30, betas=(0.0, 0.1)), a,
                               rtol=0, atol=1e-12)


def test_stepper_takes_parameter_groups_and_a_scheduler_like_torch():
    torch.manual_seed(0)
    net_a = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
    net_b = __import__("copy").deepcopy(net_a)

    def groups(net):
        return [{"params": net[0].parameters()}, {"params": net[2].parameters(), "lr": 0.05}]

    ref = torch.optim.Adam(groups(net_a), lr=0.01)
    ours = tb.OptlibStepper(groups(net_b), optlib.Adam, lr=0.01)
    assert [g["lr"] for g in ours.param_groups] == [0.01, 0.05]
    sched_a = torch.optim.lr_scheduler.StepLR(ref, step_size=3, gamma=0.5)
    sched_b = optlib.lr_scheduler.StepLR(ours.optimizer, step_size=3, gamma=0.5)
    X = torch.randn(16, 4, dtype=torch.float64)
    for _ in range(10):
        for net, opt, sched in ((net_a, ref, sched_a), (net_b, ours, sched_b)):
            opt.zero_grad()
            net(X).pow(2).sum().backward()
            opt.step()
            sched.step()
    assert sched_b.get_last_lr() == sched_a.get_last_lr() == [0.00125, 0.00625]
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=0, atol=1e-13)
