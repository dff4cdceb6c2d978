"""optlib.vae: the hand-written gradients against finite differences and torch autograd."""
import numpy as np
import pytest

from optlib import Adam, vae


def _problem(n=7, seed=0):
    rng = np.random.default_rng(seed)
    params = vae.init(64, 12, 3, rng=rng)
    for b in params[1::2]:                      # non-zero biases, so their gradients are tested too
        b[:] = 0.1 * rng.standard_normal(b.shape)
    X = rng.random((n, 64))
    eps = vae.noise(n, rng, 3)
    return params, X, eps


def test_gradient_matches_central_differences():
    params, X, eps = _problem()
    _, grads = vae.loss_grad(params, X, eps)
    rng = np.random.default_rng(1)
    h = 1e-6
    for name, p, g in zip(vae.PARAM_NAMES, params, grads):
        assert g.shape == p.shape, name
        for _ in range(6):
            i = tuple(int(rng.integers(0, s)) for s in p.shape)
            old = p[i]
            p[i] = old + h
            up = vae.loss_grad(params, X, eps, grad=False)[0]
            p[i] = old - h
            down = vae.loss_grad(params, X, eps, grad=False)[0]
            p[i] = old
            fd = (up - down) / (2 * h)
            assert abs(fd - g[i]) <= 1e-6 * max(1.0, abs(fd)), (name, i, fd, g[i])


def test_gradient_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    params, X, eps = _problem(n=9, seed=3)
    value, grads = vae.loss_grad(params, X, eps)
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    W1, b1, W2, b2, W3, b3, W4, b4 = tp
    x, e = torch.tensor(X), torch.tensor(eps)
    k = W3.shape[0]
    a2 = torch.relu(x @ W1 + b1) @ W2 + b2
    mu, logvar = a2[:, :k], a2[:, k:]
    z = mu + torch.exp(0.5 * logvar) * e
    logits = torch.relu(z @ W3 + b3) @ W4 + b4
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
    loss = (bce + kl) / len(X)
    loss.backward()
    assert value == pytest.approx(loss.item(), rel=1e-12)
    for name, g, t in zip(vae.PARAM_NAMES, grads, tp):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_kl_vanishes_when_the_posterior_is_the_prior():
    params, X, eps = _problem()
    params[2][:] = 0.0                          # mu = 0 and logvar = 0 for every image
    params[3][:] = 0.0
    value, grads = vae.loss_grad(params, X, eps)
    z = eps                                      # z = 0 + 1 * eps
    logits = np.maximum(z @ params[4] + params[5], 0) @ params[6] + params[7]
    p = 1 / (1 + np.exp(-logits))
    bce = -np.sum(X * np.log(p) + (1 - X) * np.log1p(-p)) / len(X)
    assert value == pytest.approx(bce, rel=1e-12)


def test_loss_is_reproducible_and_uses_fixed_noise():
    params, X, _ = _problem(n=20)
    assert vae.loss(params, X) == vae.loss(params, X)
    assert vae.loss(params, X, seed=1) != vae.loss(params, X, seed=0)
    eps = vae.noise(len(X), np.random.default_rng(0), 3)
    assert vae.loss(params, X) == vae.loss_grad(params, X, eps, grad=False)[0]


def test_adam_training_lowers_the_loss_and_leaves_data_alone():
    rng = np.random.default_rng(0)
    X = (rng.random((200, 64)) < 0.3).astype(float)
    X0 = X.copy()
    params = vae.init(64, 20, 4, rng=rng)
    before = vae.loss(params, X)
    res = vae.train(params, X, Adam(params, lr=1e-2), epochs=5, batch_size=50)
    assert res.diverged is None and res.steps == 20
    assert res.epoch_loss.shape == (5,) and np.isfinite(res.epoch_loss).all()
    assert res.final_loss == vae.loss(params, X)
    assert res.final_loss < 0.8 * before
    np.testing.assert_array_equal(X, X0)


def test_a_run_that_blows_up_is_reported_not_raised():
    rng = np.random.default_rng(0)
    X = rng.random((128, 64))
    params = vae.init(rng=rng)
    opt = Adam(params, lr=1.0, betas=(0.0, 0.9999), bias_correction=False)
    res = vae.train(params, X, opt, epochs=3, batch_size=32)
    assert res.diverged is not None and 1 <= res.diverged <= 12
    assert np.isnan(res.final_loss)
    assert res.steps == res.diverged - 1
