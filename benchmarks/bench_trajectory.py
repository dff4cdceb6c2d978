"""How fast a slider can recompute: 500 steps of each optimizer on 2-D test functions.

    .venv/bin/python benchmarks/bench_trajectory.py

Prints the median time of optlib.trajectory(..., steps=500) (target: <= 10 ms
for Adam, so a slider can recompute a path on every move) on its float path
(``optlib._trajectory2d``, the default for optlib's optimizers and test
functions) and on the array path (the optimizer classes stepping a numpy
array), side by side in one run with their ratio; and as a baseline the same
500 steps of torch.optim.Adam on a 2-element tensor.
"""
import contextlib
import statistics
import sys
import time

import numpy as np
import torch

import optlib
from optlib import _trajectory2d

torch.set_num_threads(1)


@contextlib.contextmanager
def array_path():
    """trajectory() without its float path."""
    real = _trajectory2d.run
    _trajectory2d.run = lambda *a: None
    try:
        yield
    finally:
        _trajectory2d.run = real


def median_ms(fn, repeat=30):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts)


def torch_adam_500(f):
    w = torch.tensor(f.start, dtype=torch.float64, requires_grad=False)
    opt = torch.optim.Adam([w], lr=0.05)
    for _ in range(500):
        w.grad = torch.from_numpy(f.gradient(w.numpy()))
        opt.step()


def main():
    print("| function | GD | Momentum | RMSProp | Adam | torch.optim.Adam (same 500 steps) |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for f in (optlib.Quadratic(), optlib.Rosenbrock(), optlib.Beale(), optlib.NoisyQuadratic()):
        cells = []
        for cls, kw in ((optlib.SGD, dict(lr=1e-3)), (optlib.SGD, dict(lr=1e-3, momentum=0.9)),
                        (optlib.RMSProp, dict(lr=1e-2)), (optlib.Adam, dict(lr=0.05))):
            run = lambda: optlib.trajectory(f, cls, steps=500, **kw)      # noqa: E731
            fast = median_ms(run)
            with array_path():
                slow = median_ms(run)
            ratios.append(slow / fast)
            cells.append(f"{fast:.2f} ms (array path {slow:.2f} ms, {slow / fast:.1f}x)")
        cells.append(f"{median_ms(lambda: torch_adam_500(f), repeat=10):.1f} ms")
        print(f"| {f.name} | " + " | ".join(cells) + " |")
    print(f"\nfloat path / array path: {min(ratios):.1f}x to {max(ratios):.1f}x faster. Target: Adam <= 10 ms for 500 steps.")


if __name__ == "__main__":
    main()
