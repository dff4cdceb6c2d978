"""The fast, in-place steps that optlib's optimizer classes run (private).

Each kernel computes exactly the equations of :mod:`optlib.functional` (read
those: they are the math) with numpy ufuncs that write into existing arrays,
so a step allocates nothing: ``mul(v, beta1, v)`` is ``v *= beta1``, written
with a positional ``out`` because that is the cheapest way to call a ufunc.
Where the order of the operations is the functional form's, the result is the
same to the last bit; Adam folds its bias corrections into two scalars, which
moves the result by round-off only (tests/test_kernels.py checks both).

:func:`blockwise` runs a kernel over a large parameter in blocks of
:func:`block_size` elements, so that the arrays of one block stay in the CPU's
cache across the dozen passes of a step (the math is elementwise, so the
result is the same); that is what makes a step over 1e6-1e7 parameters as fast
as torch's foreach path or faster (``benchmarks/bench_optimizers.py``).

Every kernel takes ``(w, g, <state arrays>, buf, gbuf, <scalars>)``: ``buf``
and ``gbuf`` are scratch arrays shaped like ``w`` (``gbuf`` holds
``g + weight_decay * w`` when there is L2 decay, so the caller's ``g`` is never
written). Scalars are Python floats, so float32 arrays stay float32.
"""
from __future__ import annotations

import math

import numpy as np

add, sub, mul, div, sqrt, maximum = np.add, np.subtract, np.multiply, np.divide, np.sqrt, np.maximum

#: Bytes of one array in one block: 5-6 such arrays fit in a 1-2 MiB L2 cache.
BLOCK_BYTES = 1 << 18


def block_size(dtype):
    """Elements per block for arrays of ``dtype`` (65536 for float32, 32768 for float64)."""
    return BLOCK_BYTES // np.dtype(dtype).itemsize


def scratch_for(w):
    """The two scratch arrays a kernel needs for ``w``: ``w``'s shape, or one block if ``w`` is larger."""
    n = block_size(w.dtype)
    shape = w.shape if w.size <= n else (n,)
    return [np.empty(shape, w.dtype), np.empty(shape, w.dtype)]


def blockwise(kernel, arrays, scratch, *scalars):
    """``kernel(*arrays, *scratch, *scalars)``, block by block when ``w = arrays[0]`` is large.

    ``arrays`` is ``(w, g, *state)`` (a state entry may be None); all are
    updated in place. A large parameter whose arrays are not all C-contiguous
    (a transposed view) is updated in one piece with full-size scratch arrays.
    """
    w = arrays[0]
    n = w.size
    if scratch[0].shape == w.shape:
        return kernel(*arrays, *scratch, *scalars)
    if not all(a is None or a.flags.c_contiguous for a in arrays):
        return kernel(*arrays, np.empty_like(w), np.empty_like(w), *scalars)
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    size = scratch[0].size
    b0, b1 = scratch
    for lo in range(0, n, size):
        hi = min(lo + size, n)
        kernel(*[None if a is None else a[lo:hi] for a in flat], b0[:hi - lo], b1[:hi - lo], *scalars)


def _l2(w, g, weight_decay, gbuf):
    """g + weight_decay * w, in ``gbuf`` (torch's ``grad.add(param, alpha=weight_decay)``)."""
    mul(w, weight_decay, gbuf)
    add(gbuf, g, gbuf)
    return gbuf


# --------------------------------------------------------------------------
# The kernels: the same equations as optlib.functional, in place
# --------------------------------------------------------------------------
def sgd(w, g, v, buf, gbuf, lr, momentum, dampening, weight_decay, nesterov, first):
    """gd_step / momentum_step (torch's SGD); ``first``: the buffer starts as g."""
    if weight_decay:
        g = _l2(w, g, weight_decay, gbuf)                   # g <- g + wd w
    if not momentum:
        mul(g, lr, buf)
        sub(w, buf, w)                                      # w <- w - lr g
        return
    if first:
        np.copyto(v, g)                                     # v_1 = g_1
    else:
        mul(v, momentum, v)
        if dampening:
            mul(g, 1.0 - dampening, buf)
            add(v, buf, v)                                  # v <- mu v + (1 - dampening) g
        else:
            add(v, g, v)                                    # v <- mu v + g
    if nesterov:
        mul(v, momentum, buf)
        add(g, buf, buf)                                    # g + mu v
        mul(buf, lr, buf)
    else:
        mul(v, lr, buf)
    sub(w, buf, w)                                          # w <- w - lr (...)


def rmsprop(w, g, s, m, b, buf, gbuf, lr, alpha, eps, weight_decay, momentum, centered, eps_in_sqrt):
    """rmsprop_step: ``s`` square_avg, ``m`` grad_avg (centered), ``b`` momentum_buffer."""
    if weight_decay:
        g = _l2(w, g, weight_decay, gbuf)
    mul(s, alpha, s)
    mul(g, g, buf)
    mul(buf, 1.0 - alpha, buf)
    add(s, buf, s)                                          # s <- alpha s + (1 - alpha) g^2
    var = s
    if centered:
        mul(m, alpha, m)
        mul(g, 1.0 - alpha, buf)
        add(m, buf, m)                                      # m <- alpha m + (1 - alpha) g
        mul(m, m, buf)
        sub(s, buf, buf)                                    # s - m^2
        var = buf
    if eps_in_sqrt:
        add(var, eps, buf)
        sqrt(buf, buf)                                      # sqrt(s + eps)
    else:
        sqrt(var, buf)
        add(buf, eps, buf)                                  # sqrt(s) + eps
    div(g, buf, buf)                                        # g / (...)
    if momentum > 0:
        mul(b, momentum, b)
        add(b, buf, b)                                      # b <- mu b + g / (...)
        mul(b, lr, buf)
    else:
        mul(buf, lr, buf)
    sub(w, buf, w)


def adam(w, g, v, s, s_max, buf, gbuf, t, lr, beta1, beta2, eps, weight_decay, decoupled,
         bias_correction, eps_in_sqrt):
    """adam_step (and AdamW's decoupled decay when ``decoupled``); ``s_max`` for AMSGrad."""
    if weight_decay:
        if decoupled:
            mul(w, 1.0 - lr * weight_decay, w)              # AdamW: w <- (1 - lr wd) w
        else:
            g = _l2(w, g, weight_decay, gbuf)               # Adam: g <- g + wd w
    mul(v, beta1, v)
    mul(g, 1.0 - beta1, buf)
    add(v, buf, v)                                          # v <- beta1 v + (1 - beta1) g
    mul(s, beta2, s)
    mul(g, g, buf)
    mul(buf, 1.0 - beta2, buf)
    add(s, buf, s)                                          # s <- beta2 s + (1 - beta2) g^2
    if s_max is not None:
        maximum(s_max, s, out=s_max)                        # AMSGrad: s_max <- max(s_max, s)
        s = s_max
    c1, c2 = (1.0 - beta1**t, 1.0 - beta2**t) if bias_correction else (1.0, 1.0)
    # lr v_hat / (sqrt(s_hat) + eps) = lr r2/c1 * v / (sqrt(s) + eps r2), r2 = sqrt(c2):
    # the corrections become two scalars, which saves two passes over the arrays.
    r2 = math.sqrt(c2)
    if eps_in_sqrt:
        add(s, eps * c2, buf)
        sqrt(buf, buf)                                      # sqrt(s + eps c2) = r2 sqrt(s_hat + eps)
    else:
        sqrt(s, buf)
        add(buf, eps * r2, buf)                             # sqrt(s) + eps r2 = r2 (sqrt(s_hat) + eps)
    div(v, buf, buf)
    mul(buf, lr * r2 / c1, buf)
    sub(w, buf, w)                                          # w <- w - lr v_hat / (sqrt(s_hat) + eps)


def adagrad(w, g, s, buf, gbuf, t, lr, eps, lr_decay, weight_decay):
    """adagrad_step."""
    if weight_decay:
        g = _l2(w, g, weight_decay, gbuf)
    mul(g, g, buf)
    add(s, buf, s)                                          # s <- s + g^2
    sqrt(s, buf)
    add(buf, eps, buf)                                      # sqrt(s) + eps
    div(g, buf, buf)
    mul(buf, lr / (1.0 + (t - 1) * lr_decay), buf)         # lr_t g / (sqrt(s) + eps)
    sub(w, buf, w)
