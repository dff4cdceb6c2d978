"""optlib's step against torch.optim's foreach and fused paths, float32, one run.

    .venv/bin/python benchmarks/bench_optimizers.py [--quick]

For each size it times single steps (median of many, after warm-up) of
optlib and of torch.optim with foreach=True and fused=True, on the same
machine in the same run, and prints ratios (torch time / optlib time: > 1
means optlib is faster) and the achieved memory bandwidth of optlib's Adam,
counting Adam's minimum traffic as 7 x N x 4 bytes a step (read w, g, v, s;
write w, v, s). torch runs on one thread, like numpy's ufuncs.

The three are timed in turn, in several rounds, and each time is the median
over all rounds, so that a change in the machine's load during the run
affects all three alike; the load average is printed with the results.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

import optlib

torch.set_num_threads(1)


def median_step_time(step, n_steps):
    for _ in range(3):
        step()
    times = []
    for _ in range(n_steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make(shapes, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return params, grads


def optlib_stepper(cls, kw, shapes):
    params, grads = make(shapes)
    opt = cls(params, **kw)
    return lambda: opt.step(grads)


def torch_stepper(cls, kw, shapes, **flags):
    params, grads = make(shapes)
    tp = [torch.from_numpy(p) for p in params]
    for p, g in zip(tp, grads):
        p.grad = torch.from_numpy(g)
    try:
        opt = cls(tp, **kw, **flags)
        opt.step()
        return opt.step
    except (RuntimeError, TypeError, ValueError):
        return None                         # path not supported for this optimizer/device


def side_by_side(steppers, n_steps, rounds):
    """Median step time of each stepper, timed in turn over ``rounds`` rounds (NaN if None)."""
    times = [[] for _ in steppers]
    for _ in range(rounds):
        for ts, step in zip(times, steppers):
            if step is None:
                continue
            for _ in range(2):
                step()
            for _ in range(max(3, n_steps // rounds)):
                t0 = time.perf_counter()
                step()
                ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) if ts else float("nan") for ts in times]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer sizes and steps (a smoke run)")
    args = ap.parse_args()
    cases = [("1e4", [(10_000,)]), ("1e5", [(100_000,)]), ("1e6", [(1_000_000,)]), ("1e7", [(10_000_000,)])]
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 9999, 200)
    sizes = np.maximum(1, np.round(sizes / sizes.sum() * 1_000_000)).astype(int)
    sizes[-1] += 1_000_000 - sizes.sum()
    cases.append(("200 tensors, 1e6", [(int(s),) for s in sizes]))
    if args.quick:
        cases = cases[:2] + cases[-1:]
    optimizers = [("Adam", optlib.Adam, torch.optim.Adam, dict(lr=1e-3)),
                  ("RMSprop", optlib.RMSProp, torch.optim.RMSprop, dict(lr=1e-2))]
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} thread), float32; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print()
    print("| optimizer | parameters | optlib step | torch foreach | torch fused | foreach/optlib | fused/optlib | optlib GB/s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, ours, theirs, kw in optimizers:
        for label, shapes in cases:
            n = sum(int(np.prod(s)) for s in shapes)
            n_steps = 5 if args.quick else max(49, min(210, int(3e7 / n)))
            t_o, t_f, t_u = side_by_side([optlib_stepper(ours, kw, shapes),
                                          torch_stepper(theirs, kw, shapes, foreach=True),
                                          torch_stepper(theirs, kw, shapes, fused=True)],
                                         n_steps, rounds=1 if args.quick else 7)
            gbs = 7 * n * 4 / t_o / 1e9 if name == "Adam" else 5 * n * 4 / t_o / 1e9
            fmt = lambda t: "n/a" if t != t else (f"{t*1e6:.0f} us" if t < 1e-2 else f"{t*1e3:.1f} ms")
            rat = lambda t: "n/a" if t != t else f"{t / t_o:.2f}x"
            print(f"| {name} | {label} | {fmt(t_o)} | {fmt(t_f)} | {fmt(t_u)} | {rat(t_f)} | {rat(t_u)} | {gbs:.1f} |")
            sys.stdout.flush()
    print()
    print("Ratios above 1 mean optlib is faster. GB/s counts Adam's 7N x 4 bytes (RMSprop: 5N x 4) per step.")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
