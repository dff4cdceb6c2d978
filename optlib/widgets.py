"""Sliders whose labels are the symbols of the equations.

    fig, ax = plt.subplots()
    line = plotting.path(ax, trajectory(f, Adam, lr=0.1), "Adam")

    def update(lr, beta1):
        plotting.set_path(line, trajectory(f, Adam, lr=lr, betas=(beta1, 0.999)))

    widgets.live(fig, update, lr=widgets.lr(0.1), beta1=widgets.beta1())   # the sliders
    # next cell, static: the default picture for headless runs and HTML export
    widgets.show_default(fig, update, lr=0.1, beta1=0.9)

``live`` draws the figure once, then on each slider move calls ``update``
(which changes the existing artists: no new figure, no new axes) and sends
the browser only what moved: the lines' data in pixels and small pictures of
the texts that changed (:mod:`optlib.figure_widget`); the browser paints them
over the cached rest of the figure. The slider cell's output also stores the
figure over a grid of slider values (:mod:`optlib.slider_table`), so exported
slides and pages move their sliders without a kernel (:mod:`optlib.slider_export`).

``OPTLIB_SLIDER_RENDERER=png`` in the kernel's environment selects the older
renderer that sends the whole figure as a PNG per move (kept as the baseline
of ``benchmarks/bench_slider_latency.py``).
"""
from __future__ import annotations

import html
import io
import math
import os

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
           "slider", "live", "show_default", "renderer"]

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


def renderer() -> str:
    """Which slider renderer ``live`` uses: "data" (default) or "png" (``OPTLIB_SLIDER_RENDERER``)."""
    name = os.environ.get("OPTLIB_SLIDER_RENDERER", "data").strip().lower() or "data"
    if name not in ("data", "png"):
        raise ValueError(f"OPTLIB_SLIDER_RENDERER must be 'data' or 'png', not {name!r}")
    return name


class _SliderOutput:
    """The slider box as displayed: the widget view, plus the offline table for exports."""

    def __init__(self, box, table):
        self.box, self.table = box, table

    def _repr_mimebundle_(self, **kwargs):
        from .slider_table import MIME, stored
        bundle = dict(self.box._repr_mimebundle_(**kwargs))
        bundle[MIME] = stored(self.table)
        return bundle


def live(fig, update, **controls):
    """Show ``controls`` above ``fig``; each change calls ``update(**values)`` and redraws.

    ``update`` must change artists of ``fig`` in place and may return a short
    text (a readout such as "loss after 100 steps: 0.012"), shown under the
    figure. The figure is laid out once; a move sends the browser only the
    artists ``update`` changed, as data (see the module doc). The output also
    carries the figure over the controls' offline grid for exported pages.
    Returns the container (controls, then the figure).
    """
    if renderer() == "png":
        plt.close(fig)
        if fig.get_layout_engine() is None:
            fig.set_layout_engine("tight")
        return _live_png(fig, update, **controls)
    from .figure_widget import FigureWidget

    def values():
        return {name: c.value for name, c in controls.items()}

    scene, table = prepare(fig, update, controls)
    view = FigureWidget(scene, scene.frame(update, **values()))

    def redraw(_change=None):
        view.show(update, **values())

    for c in controls.values():
        c.observe(redraw, names="value")
    box = W.VBox([W.VBox(list(controls.values())), view])
    display(_SliderOutput(box, table))
    return box


def prepare(fig, update, controls):
    """What ``live`` does before showing anything: lay ``fig`` out once, learn which artists
    ``update`` moves (at the controls' values), and compute the offline table.
    Returns ``(FigureScene, table)``; the browser tests call it in a separate kernel."""
    from .figure_scene import FigureScene
    from .slider_table import build_table, grid_of
    plt.close(fig)                      # drawn by us, not again by the inline backend
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("tight")
    values = {name: c.value for name, c in controls.items()}
    update(**values)                    # lay out what the sliders show (e.g. a relabelled legend)
    scene = FigureScene(fig)
    scene.learn(update, **values)
    for name, c in controls.items():    # a text set to the same string is not stale: move each control once
        grid = grid_of(c)[1]
        other = [v for v in grid if v != values[name]]
        if other:
            scene.learn(update, **{**values, name: other[0]})
    scene.learn(update, **values)
    return scene, build_table(scene, update, controls)


def _live_png(fig, update, **controls):
    """The PNG renderer: the whole figure as one PNG per move into an ``ipywidgets.Image``."""
    renderer_ = _Renderer(fig)
    image = W.Image(format="png", layout=W.Layout(align_self="flex-start"))
    text = W.HTML()

    def redraw(_change=None):
        msg = update(**{name: c.value for name, c in controls.items()})
        text.value = "" if msg is None else f"<code>{html.escape(str(msg))}</code>"
        image.value = renderer_.png()

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
