"""One look for every figure of the course.

Each optimizer has one colour, one line style and one marker in every
notebook: the colours are Okabe and Ito's palette (safe for colour-blind
readers) and the line styles and markers tell the curves apart in grayscale.

    plotting.use_course_style()
    ax = plotting.contour(Rosenbrock())
    plotting.path(ax, trajectory(...), "Adam")
"""
from __future__ import annotations

import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["STYLES", "style_of", "use_course_style", "contour", "path", "curve", "legend"]

#: Colour, line style and marker of each optimizer, the same in every notebook.
STYLES = {
    "GD":       dict(color="#000000", linestyle="-",  marker="o"),
    "SGD":      dict(color="#000000", linestyle="-",  marker="o"),
    "Momentum": dict(color="#E69F00", linestyle="--", marker="s"),
    "Nesterov": dict(color="#F0E442", linestyle="--", marker="P"),
    "RMSProp":  dict(color="#009E73", linestyle="-.", marker="^"),
    "Adam":     dict(color="#D55E00", linestyle=":",  marker="D"),
    "AdamW":    dict(color="#CC79A7", linestyle=(0, (5, 1, 1, 1)), marker="v"),
    "AMSGrad":  dict(color="#0072B2", linestyle=(0, (3, 1, 1, 1, 1, 1)), marker="X"),
    "Adagrad":  dict(color="#56B4E9", linestyle=(0, (1, 1)), marker="*"),
    "torch":    dict(color="#7F7F7F", linestyle="-",  marker="."),
}
_ALIASES = {"gd": "GD", "sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov",
            "rmsprop": "RMSProp", "adam": "Adam", "adamw": "AdamW", "amsgrad": "AMSGrad",
            "adagrad": "Adagrad", "torch": "torch"}


def style_of(name):
    """Line properties of optimizer ``name`` ("Adam", "adam", "Adam (no bias correction)", ...).

    The first word decides: "Adam (lr 0.1)" is drawn like "Adam", "SGD-Nesterov" like "SGD".
    """
    m = re.match(r"[A-Za-z]+", str(name).strip())
    key = _ALIASES.get(m.group(0).lower()) if m else None
    if key is None:
        raise ValueError(f"no course style for {name!r}; known: {sorted(STYLES)}")
    return dict(STYLES[key])


def use_course_style():
    """Matplotlib settings shared by every notebook (sizes, grid, no wall-clock metadata)."""
    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 80,
        "savefig.dpi": 80,
        "font.size": 11,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "lines.linewidth": 2.0,
        "lines.markersize": 5,
        "legend.frameon": False,
        "image.cmap": "viridis",
        "svg.hashsalt": "optlib",
        "figure.max_open_warning": 0,
    })


def contour(fn, ax=None, n=200, levels=20, log=True):
    """Filled contour lines of a 2-D test function on ``fn.bounds``, its minimizer marked.

    ``log=True`` spaces the levels logarithmically (above the minimum), which
    shows the floor of a valley as well as its walls.
    """
    if ax is None:
        _, ax = plt.subplots()
    (x0, x1), (y0, y1) = fn.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    Z = fn.value(np.stack([X, Y]))
    if log:
        base = Z.min() if fn.minimum is None else fn.minimum
        Z = np.log10(Z - base + 1e-3)
    ax.contourf(X, Y, Z, levels=levels, cmap="Greys", alpha=0.35)
    ax.contour(X, Y, Z, levels=levels, colors="0.5", linewidths=0.5)
    if fn.minimizer is not None:
        ax.plot(*fn.minimizer, marker="*", color="k", markersize=14, linestyle="none", zorder=5)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$w_1$", ylabel="$w_2$")
    ax.grid(False)
    return ax


def path(ax, traj, name, every=None, **kw):
    """Draw a :class:`~optlib.trajectory.Trajectory` in ``name``'s style; returns the line.

    Markers appear on every ``every``-th point (default: about 20 per path).
    Keep the returned line and call :func:`set_path` to update it under a slider.
    """
    st = style_of(name)
    n = len(traj.xy)
    st.update(markevery=max(1, n // 20) if every is None else every, label=kw.pop("label", name))
    st.update(kw)
    (line,) = ax.plot(traj.xy[:, 0], traj.xy[:, 1], **st)
    return line


def set_path(line, traj):
    """Move an existing path line to a new trajectory (no new artists: fast redraws)."""
    line.set_data(traj.xy[:, 0], traj.xy[:, 1])
    line.set_markevery(max(1, len(traj.xy) // 20))


def curve(ax, y, name, x=None, **kw):
    """A loss (or any) curve in ``name``'s style, markers sparse; returns the line."""
    st = style_of(name)
    y = np.asarray(y)
    st.update(markevery=max(1, len(y) // 12), label=kw.pop("label", name))
    st.update(kw)
    (line,) = ax.plot(np.arange(len(y)) if x is None else x, y, **st)
    return line


def legend(ax, **kw):
    """A legend that never hides the curves (outside, right).

    Called again on the same axes with the same curves (under a slider, after
    ``line.set_label``), it rewrites the existing legend's texts instead of
    building a new legend, so a redraw stays cheap.
    """
    handles, labels = ax.get_legend_handles_labels()
    old = ax.get_legend()
    if old is not None and not kw and list(old.legend_handles) and len(old.texts) == len(labels) \
            and getattr(old, "_optlib_handles", None) == [id(h) for h in handles]:
        for text, label in zip(old.texts, labels):
            if text.get_text() != label:
                text.set_text(label)
        return old
    leg = ax.legend(loc=kw.pop("loc", "upper left"), bbox_to_anchor=kw.pop("bbox_to_anchor", (1.01, 1)), **kw)
    leg._optlib_handles = [id(h) for h in handles]
    return leg
