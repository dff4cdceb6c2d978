"""The slider figure as an anywidget: static layers sent once, each move sends only data.

:func:`optlib.widgets.live` builds one :class:`FigureWidget` per slider cell.
A move calls ``update()`` in the kernel (Python computes every number), then
sends the moving artists (a few kilobytes of polylines and small text
sprites, see :mod:`optlib.figure_scene`) in one message; the browser paints
them over the cached background (``web/figure_core.js``). When ``update()``
changes something only a full draw can show (axis limits, an image, ...)
the background and overlay PNGs are sent again in the same message.
"""
from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

from .figure_scene import FigureScene

__all__ = ["FigureWidget", "WEB", "javascript"]

WEB = Path(__file__).with_name("web")


def javascript(*names: str) -> str:
    """The course's JavaScript files in ``optlib/web`` joined in order."""
    return "\n".join((WEB / n).read_text(encoding="utf-8") for n in names)


class FigureWidget(anywidget.AnyWidget):
    """A figure painted in the browser from a :class:`FigureScene`'s layers and frames."""

    _esm = javascript("figure_core.js", "figure_widget.js")
    background = traitlets.Bytes(b"").tag(sync=True)
    overlay = traitlets.Bytes(b"").tag(sync=True)
    scene = traitlets.Dict().tag(sync=True)

    def __init__(self, scene: FigureScene, frame: dict, **kw):
        bg, ov = scene.layers()
        super().__init__(background=bg, overlay=ov, scene=_public(frame), **kw)
        self._fig_scene = scene

    def show(self, update, **values):
        """``update(**values)`` and send what changed (layers too if they went stale), one message."""
        frame = self._fig_scene.frame(update, **values)
        with self.hold_sync():
            if self._fig_scene.layers_stale:
                self.background, self.overlay = self._fig_scene.layers()
            self.scene = _public(frame)
        return frame


def _public(frame):
    return {k: v for k, v in frame.items() if k != "layers_changed"}
