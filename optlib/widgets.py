"""Sliders whose labels are the symbols of the equations.

    fig, ax = plt.subplots()
    line = plotting.path(ax, trajectory(f, Adam, lr=0.1), "Adam")

    def update(lr, beta1):
        plotting.set_path(line, trajectory(f, Adam, lr=lr, betas=(beta1, 0.999)))

    widgets.live(fig, update, lr=widgets.lr(0.1), beta1=widgets.beta1())   # the sliders
    # next cell, static: the default picture for headless runs and HTML export
    widgets.show_default(fig, update, lr=0.1, beta1=0.9)

``live`` draws the figure once, then on each slider move calls ``update``
(which changes the existing artists: no new figure, no new axes) and
re-renders the same figure into one image widget, so a move redraws in tens
of milliseconds.
"""
from __future__ import annotations

import html
import io
import math

import ipywidgets as W
import matplotlib.pyplot as plt
import PIL.Image
from IPython.display import display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

__all__ = ["SYMBOLS", "lr", "beta", "beta1", "beta2", "eps", "bias_correction", "toggle",
           "slider", "live", "show_default"]

#: The label of each control: the symbol of the notes, then the argument's name.
SYMBOLS = {
    "lr": "η (lr)",
    "beta": "β",
    "beta1": "β₁",
    "beta2": "β₂",
    "eps": "ε (eps)",
    "bias_correction": "bias correction",
    "eps_in_sqrt": "ε inside √",
    "momentum": "β (momentum)",
    "alpha": "β (alpha)",
    "steps": "steps t",
    "scale": "loss scale",
    "condition": "κ (condition)",
}

_LAYOUT = dict(layout=W.Layout(width="420px"), style={"description_width": "110px"})


def slider(symbol, value, min, max, step=None, log=False, readout_format=None):
    """A float slider labelled ``symbol``; ``log=True`` moves in powers of ten."""
    label = SYMBOLS.get(symbol, symbol)
    if log:
        return W.FloatLogSlider(value=value, base=10, min=math.log10(min), max=math.log10(max),
                                step=step or 0.1, description=label, continuous_update=True,
                                readout_format=readout_format or ".2e", **_LAYOUT)
    return W.FloatSlider(value=value, min=min, max=max, step=step or (max - min) / 100,
                         description=label, continuous_update=True,
                         readout_format=readout_format or ".3f", **_LAYOUT)


def lr(value=1e-2, min=1e-4, max=1.0):
    """Learning rate eta, on a log scale."""
    return slider("lr", value, min, max, log=True, step=0.05, readout_format=".3g")


def beta(value=0.9, min=0.0, max=0.999, symbol="beta"):
    """A decay rate beta in [0, 1)."""
    return slider(symbol, value, min, max, step=0.001)


def beta1(value=0.9, min=0.0, max=0.999):
    return beta(value, min, max, "beta1")


def beta2(value=0.999, min=0.5, max=0.9999):
    return slider("beta2", value, min, max, step=0.0001, readout_format=".4f")


def eps(value=1e-8, min=1e-10, max=1.0):
    return slider("eps", value, min, max, log=True, step=0.5)


def toggle(symbol, value=True):
    return W.Checkbox(value=value, description=SYMBOLS.get(symbol, symbol), indent=False)


def bias_correction(value=True):
    return toggle("bias_correction", value)


class _Renderer:
    """Renders a figure to PNG bytes, redrawing only what ``update`` changed when it can.

    The first render is a full draw, which also fixes the layout (no layout
    engine runs again: "tight" layout alone renders the figure twice). Later
    renders look at which artists became stale: if they are lines, collections,
    patches, texts or legends inside the axes, and no axes changed its limits, those
    artists are drawn over a cached picture of everything else (blitting);
    otherwise the whole figure is drawn again and the cache rebuilt.
    """

    _MOVABLE = (Line2D, Collection, Patch, Text, AxesImage, Legend)

    def __init__(self, fig):
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.moving = []            # artists update() changes, drawn over the background
        self.background = None
        self.limits = None

    def _stale(self):
        changed, other = [], False
        for ax in self.fig.axes:
            for a in ax.get_children():
                if a.stale:
                    if isinstance(a, self._MOVABLE) and a is not ax.patch:
                        changed.append(a)
                    else:
                        other = True
        return changed, other or any(t.stale for t in self.fig.texts)

    def _limits(self):
        return [tuple(ax.viewLim.bounds) for ax in self.fig.axes]

    def png(self):
        if self.limits is None:                                  # first render: full, fix layout
            self.canvas.draw()
            self.fig.set_layout_engine("none")
            self.limits = self._limits()
            return self._encode()
        changed, other = self._stale()
        known = {id(a) for a in self.moving}
        if (self.background is not None and not other and self._limits() == self.limits
                and all(id(a) in known for a in changed)):
            self.canvas.restore_region(self.background)         # fast path: blit
        else:
            self.moving = sorted({id(a): a for a in self.moving + changed}.values(), key=lambda a: a.zorder)
            for a in self.moving:
                a.set_animated(True)                              # left out of the full draw
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            for a in self.moving:
                a.set_animated(False)
            self.limits = self._limits()
        for a in self.moving:
            if a.get_figure(root=True) is self.fig:
                self.fig.draw_artist(a)
        return self._encode()

    def _encode(self):
        w, h = self.canvas.get_width_height(physical=True)
        img = PIL.Image.frombuffer("RGBA", (w, h), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        img.save(out, format="PNG", compress_level=1)
        return out.getvalue()


def live(fig, update, **controls):
    """Show ``controls`` above ``fig``; each change calls ``update(**values)`` and redraws.

    ``update`` must change artists of ``fig`` in place and may return a short
    text (a readout such as "loss after 100 steps: 0.012"), shown under the
    figure. The figure goes as PNG bytes into one ``ipywidgets.Image`` (no
    ``Output`` widget: headless runners such as nbclient can stall on those,
    nbclient issue 312), at its natural size; only the artists ``update``
    changed are redrawn when the axes limits stay put. Returns the container.
    """
    plt.close(fig)                      # drawn by us, not again by the inline backend
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("tight")
    renderer = _Renderer(fig)
    image = W.Image(format="png", layout=W.Layout(align_self="flex-start"))
    text = W.HTML()

    def redraw(_change=None):
        msg = update(**{name: c.value for name, c in controls.items()})
        text.value = "" if msg is None else f"<code>{html.escape(str(msg))}</code>"
        image.value = renderer.png()

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.VBox(list(controls.values())), image, text])
    display(box)
    return box


def show_default(fig, update, **values):
    """Draw ``fig`` once with ``values`` (the sliders' defaults) as a static output.

    Put this in the cell after :func:`live`, so a headless run, nbval and an
    HTML export show the default picture. Prints ``update``'s readout, if any.
    """
    msg = update(**values)
    if msg is not None:
        print(msg)
    display(fig)
