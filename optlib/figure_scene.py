"""A matplotlib figure as data for a browser: static layers once, moving artists per move.

    scene = FigureScene(fig)            # lays the figure out once (one full draw)
    scene.learn(update, lr=0.1)         # which artists update() changes: those move
    layers = scene.layers()             # PNG of everything below them, PNG of what lies above
    frame = scene.frame(update, lr=0.2) # update(lr=0.2), then the moving artists as data

What moves is found, not declared: after ``update()`` the artists matplotlib
marks stale (plus texts whose content changed, e.g. a legend rewritten in
place) are the moving set. Lines are sent as polylines in display pixels with
their colour, width, dashes and markers (paths simplified and clipped exactly
as matplotlib's Agg renderer does, so a 2000-step path costs a few kilobytes);
plain patches (bars, polygons; no hatching) as their closed outlines with fill
and edge colours; texts and legends are sent as small transparent PNGs rendered
by matplotlib itself, so titles, mathtext and labels look exactly as in the
static figure. Anything else that changes (axis limits, images, collections) makes
the static layers stale: ``frame()`` then says so (``layers_changed``) and
``layers()`` renders them again, which is always correct, only slower.

The browser (``optlib/web/figure_core.js``) draws: background PNG, moving
items in z-order, overlay PNG (static artists with a higher z-order than a
moving one in the same axes, e.g. the minimizer's star over a path).
"""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import PIL.Image
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.legend import Legend
from matplotlib.lines import Line2D, _mark_every_path
from matplotlib.patches import Patch
from matplotlib.path import Path
from matplotlib.spines import Spine
from matplotlib.text import Text

__all__ = ["FigureScene", "png_bytes", "scene_data"]

_CAP = {"butt": "butt", "round": "round", "projecting": "square"}


def _drawn_here(a) -> bool:
    """Artists the browser draws itself: lines, texts, legends, plain (unhatched) patches such as bars."""
    return isinstance(a, (Line2D, Text, Legend)) or (isinstance(a, Patch) and not a.get_hatch())


def _rgba(c, alpha=None):
    r, g, b, a = to_rgba(c, alpha)
    return f"rgba({round(r * 255)},{round(g * 255)},{round(b * 255)},{round(a, 3)})"


def _png(rgba: np.ndarray, small=False) -> bytes:
    out = io.BytesIO()
    img = PIL.Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    if small:       # for storage: a palette when it is lossless, best compression
        q = img.quantize(colors=256, method=PIL.Image.Quantize.FASTOCTREE)
        if np.array_equal(np.asarray(q.convert("RGBA")), np.asarray(img)):
            img = q
        img.save(out, format="PNG", optimize=True)
    else:
        img.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _sprite_png(rgba: np.ndarray, small=True) -> bytes:
    """A PNG of a transparent crop: gray + alpha when it is one gray ink (text), else RGBA.

    ``small`` (for a stored table): best compression, RGBA as a palette. Otherwise
    (a live move) the fastest encoding: a few kilobytes more on 127.0.0.1, a few
    milliseconds less per sprite."""
    rgba = np.ascontiguousarray(rgba)
    ink = rgba[rgba[..., 3] > 0][:, :3]
    out = io.BytesIO()
    if len(ink) and (ink == ink[0]).all() and ink[0][0] == ink[0][1] == ink[0][2]:
        img = PIL.Image.fromarray(np.dstack([np.full(rgba.shape[:2], ink[0][0], np.uint8), rgba[..., 3]]), "LA")
    else:
        img = PIL.Image.fromarray(rgba, "RGBA")
        if small:
            img = img.quantize(colors=256, method=PIL.Image.Quantize.FASTOCTREE)
    if small:
        img.save(out, format="PNG", optimize=True)
    else:
        img.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def png_bytes(canvas, small=False) -> bytes:
    """The Agg canvas as PNG bytes (``small``: slower, smaller, for storage)."""
    return _png(np.asarray(canvas.buffer_rgba()), small)


def encode_xy(a) -> str:
    """Pixel coordinates (x, y, x, y, ...) in tenths of a pixel, little-endian, base64:
    "i2:..." as int16 (figures up to 3276 px), "i4:..." as int32 beyond."""
    q = np.round(np.asarray(a, dtype=float) * 10)
    kind = "i2" if (len(q) == 0 or np.abs(q).max() < 32767) else "i4"
    return kind + ":" + base64.b64encode(q.astype("<" + kind).tobytes()).decode("ascii")


def decode_xy(s: str) -> np.ndarray:
    """Inverse of :func:`encode_xy` (flat float array in pixels)."""
    kind, data = s.split(":", 1)
    return np.frombuffer(base64.b64decode(data), dtype="<" + kind).astype(float) / 10


def _text_signature(t: Text):
    return (t.get_text(), t.get_visible(), _rgba(t.get_color(), t.get_alpha()), t.get_fontsize(),
            tuple(t.get_position()), t.get_rotation(), t.get_ha(), t.get_va(), t.get_fontweight())


def _polylines(vertices, codes, height):
    """A cleaned path (MOVETO/LINETO, ended by STOP) as flat (x, y, x, y, ...) runs of at least two
    points, y flipped to point down; a lone MOVETO draws nothing."""
    codes = np.asarray(codes)
    stop = np.flatnonzero(codes == Path.STOP)
    end = stop[0] if len(stop) else len(codes)
    xy = np.column_stack([vertices[:end, 0], height - vertices[:end, 1]])
    keep = np.isin(codes[:end], (Path.MOVETO, Path.LINETO))
    xy, codes = xy[keep], codes[:end][keep]
    starts = np.flatnonzero(codes == Path.MOVETO)
    if not len(starts) or starts[0] != 0:
        starts = np.r_[0, starts]
    return [xy[a:b].ravel() for a, b in zip(starts, np.r_[starts[1:], len(xy)]) if b - a >= 2]


class FigureScene:
    """Tracks one figure: lays it out, finds what ``update()`` moves, serializes frames."""

    def __init__(self, fig):
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.canvas.draw()                                 # the layout is fixed by this one draw
        fig.set_layout_engine("none")
        self.width, self.height = (int(round(v)) for v in fig.bbox.size)
        self.moving: list = []                             # artists drawn by the browser
        self._items: dict[int, dict] = {}                  # id(artist) -> last serialized item
        self._sprites: dict = {}                           # signature -> (png base64, compressed hard?)
        #: Encode sprites for storage (small, slower) rather than for a live move (fast).
        self.compact = False
        self._limits = self._current_limits()
        self._texts = self._text_signatures()
        self.layers_stale = True

    # -- what changed ------------------------------------------------------
    def _current_limits(self):
        return [(tuple(ax.viewLim.bounds), ax.get_xscale(), ax.get_yscale(), tuple(ax.bbox.bounds))
                for ax in self.fig.axes] + [tuple(self.fig.bbox.bounds)]

    def _texts_of(self):
        """Every Text of the figure whose content can change without a stale flag reaching it."""
        out = list(self.fig.texts)
        for ax in self.fig.axes:
            out += [a for a in ax.get_children() if isinstance(a, Text)]
            leg = ax.get_legend()
            if leg is not None:
                out += [t for t in leg.texts]
        for leg in self.fig.legends:
            out += list(leg.texts)
        return out

    def _text_signatures(self):
        return {id(t): _text_signature(t) for t in self._texts_of()}

    def _owner(self, t):
        """A legend's text moves as the whole legend."""
        for ax in self.fig.axes:
            leg = ax.get_legend()
            if leg is not None and any(t is x for x in leg.texts):
                return leg
        for leg in self.fig.legends:
            if any(t is x for x in leg.texts):
                return leg
        return t

    def _changed(self):
        """(artists that changed, whether something only a full draw can show changed)."""
        changed, other = {}, False
        candidates = [a for ax in self.fig.axes for a in ax.get_children() if a is not ax.patch]
        candidates += list(self.fig.texts) + list(self.fig.legends)
        for a in candidates:
            if isinstance(a, (Axis, Spine)):
                continue            # drawn from the limits and scales, compared by value below
            if a.stale:
                if _drawn_here(a):
                    changed[id(a)] = a
                else:
                    other = True
        texts = self._text_signatures()
        for t in self._texts_of():
            if texts.get(id(t)) != self._texts.get(id(t)):
                a = self._owner(t)
                changed[id(a)] = a
        self._texts = texts
        limits = self._current_limits()
        if limits != self._limits:
            other = True
            self._limits = limits
        return list(changed.values()), other

    def learn(self, update, **values):
        """Call ``update(**values)``; the artists it changes join the moving set. Returns its readout."""
        msg = update(**values)
        changed, other = self._changed()
        self._add_moving(changed)
        self.layers_stale = True
        return msg

    def _add_moving(self, artists):
        known = {id(a) for a in self.moving}
        new = [a for a in artists if id(a) not in known]
        if new:
            self.moving = sorted(self.moving + new, key=lambda a: a.get_zorder())
            self.layers_stale = True
        for a in artists:
            self._items.pop(id(a), None)

    # -- static layers -----------------------------------------------------
    def _overlay_artists(self):
        """Static artists drawn above a moving artist of their axes (z-order), e.g. a marker of the minimum."""
        moving = {id(a) for a in self.moving}
        out = []
        for ax in self.fig.axes:
            zs = [a.get_zorder() for a in ax.get_children() if id(a) in moving]
            if not zs:
                continue
            z = min(zs)
            out += [a for a in ax.get_children()
                    if id(a) not in moving and a is not ax.patch and a.get_visible() and a.get_zorder() > z]
        return sorted(out, key=lambda a: a.get_zorder())

    def layers(self, small=False) -> tuple[bytes, bytes]:
        """(background PNG, overlay PNG): everything but the moving artists, split by z-order.

        ``small``: compress harder (for a stored table; slower)."""
        over = self._overlay_artists()
        hidden = self.moving + over
        states = [a.get_animated() for a in hidden]
        for a in hidden:
            a.set_animated(True)
        try:
            self.canvas.draw()
            background = png_bytes(self.canvas, small)
            renderer = self.canvas.get_renderer()
            renderer.clear()
            for a in over:
                a.draw(renderer)
            overlay = png_bytes(self.canvas, small) if over else b""
        finally:
            for a, s in zip(hidden, states):
                a.set_animated(s)
        self._limits = self._current_limits()
        self._texts = self._text_signatures()
        self.layers_stale = False
        for a in self.fig.axes:
            for c in a.get_children():
                c.stale = False
        return background, overlay

    # -- frames ------------------------------------------------------------
    def frame(self, update, **values) -> dict:
        """``update(**values)``, then every moving artist as data: ``{"items", "readout", "values", ...}``.

        ``layers_changed`` is True when something outside the moving set
        changed: call :meth:`layers` and send them with this frame.
        """
        msg = update(**values)
        changed, other = self._changed()
        unsupported = [a for a in changed if not _drawn_here(a)]
        if other or unsupported:
            self.layers_stale = True
        self._add_moving([a for a in changed if _drawn_here(a)])
        return self.snapshot(msg, values)

    def snapshot(self, msg=None, values=None) -> dict:
        """The moving artists as they are now (serialized again only where they changed)."""
        items = []
        for a in self.moving:
            if a.get_figure(root=True) is not self.fig or not a.get_visible():
                continue
            item = self._items.get(id(a))
            if item is None:
                item = self._serialize(a)
                self._items[id(a)] = item
            if item:
                items.append(item)
        for a in self.fig.axes:
            for c in a.get_children():
                if c.stale and _drawn_here(c):
                    c.stale = False
        return {"w": self.width, "h": self.height, "items": items,
                "readout": "" if msg is None else str(msg),
                "values": {k: (bool(v) if isinstance(v, (bool, np.bool_)) else float(v))
                           for k, v in (values or {}).items()},
                "layers_changed": self.layers_stale}

    def _serialize(self, a) -> dict | None:
        if isinstance(a, Line2D):
            return self._line(a)
        if isinstance(a, Patch):
            return self._patch(a)
        return self._sprite(a)

    def _clip(self, a):
        if not a.get_clip_on():
            return None
        box = a.get_clip_box()
        cp = a.get_clip_path()
        if cp is not None:
            path, trans = cp.get_transformed_path_and_affine()
            ext = trans.transform_path(path).get_extents()
            box = ext if box is None else type(ext).intersection(ext, box.frozen()) or ext
        if box is None:
            return None
        x0, y0, x1, y1 = box.extents
        return [round(x0, 1), round(self.height - y1, 1), round(x1 - x0, 1), round(y1 - y0, 1)]

    def _line(self, line: Line2D) -> dict:
        px = self.fig.dpi / 72.0
        H = self.height
        line.get_path()                                    # recache after set_data, as draw() does
        tpath, affine = line._get_transformed_path().get_transformed_path_and_affine()
        clip = self._clip(line)
        full = affine.transform_path(tpath)
        margin = 10 + line.get_linewidth() * px
        if clip is not None:
            x, y, w, h = clip
            box = (x - margin, H - (y + h) - margin, x + w + margin, H - y + margin)
        else:
            box = (-margin, -margin, self.width + margin, H + margin)
        segs = []
        if line.get_linestyle() not in ("None", "none", "", " ") and len(full.vertices):
            simplify = full.should_simplify
            clean = full.cleaned(remove_nans=True, clip=box, simplify=simplify)
            segs = [encode_xy(s) for s in _polylines(clean.vertices, clean.codes, H)]
        offset, seq = line._dash_pattern
        dashed = seq is not None and line.is_dashed()
        item = {"t": "line", "z": line.get_zorder(), "clip": clip, "xy": segs,
                "c": _rgba(line.get_color(), line.get_alpha()), "lw": round(line.get_linewidth() * px, 3),
                "dash": [round(s * px, 3) for s in seq] if dashed else None,
                "doff": round((offset or 0) * px, 3) if dashed else 0,
                "cap": _CAP[(line.get_dash_capstyle() if dashed else line.get_solid_capstyle())],
                "join": (line.get_dash_joinstyle() if dashed else line.get_solid_joinstyle()),
                "m": None}
        marker = line._marker
        if marker.get_marker() not in (None, "None", "none", "", " ") and line.get_markersize() > 0:
            sub = _mark_every_path(line.get_markevery(), tpath, affine, line.axes)
            pts = affine.transform(sub.vertices)
            pts = pts[np.isfinite(pts).all(axis=1)]
            pts = pts[(pts[:, 0] >= box[0]) & (pts[:, 0] <= box[2]) & (pts[:, 1] >= box[1]) & (pts[:, 1] <= box[3])]
            w = line.get_markersize() * px
            trans = marker.get_transform()
            if marker.get_marker() != ",":
                trans = trans.frozen().scale(w)
            mpath = trans.transform_path(marker.get_path())
            verts = mpath.vertices * [1, -1]
            codes = mpath.codes if mpath.codes is not None else \
                np.array([Path.MOVETO] + [Path.LINETO] * (len(verts) - 1))
            filled = marker.is_filled()
            ec = line.get_markeredgecolor()
            item["m"] = {"path": [[int(c), round(float(x), 2), round(float(y), 2)] for (x, y), c in zip(verts, codes)],
                         "pts": encode_xy(np.column_stack([pts[:, 0], H - pts[:, 1]]).ravel()),
                         "fc": _rgba(line._get_markerfacecolor(alt=False), line.get_alpha()) if filled else None,
                         "ec": _rgba(ec, line.get_alpha()) if ec not in ("none", "None") else None,
                         "ew": round(line.get_markeredgewidth() * px, 3),
                         "join": marker.get_joinstyle(), "cap": _CAP[marker.get_capstyle()]}
        return item

    def _patch(self, patch: Patch) -> dict | None:
        """A filled outline (a bar, a polygon): its closed polygons in pixels, fill and edge."""
        px = self.fig.dpi / 72.0
        H = self.height
        polys = patch.get_path().to_polygons(patch.get_transform(), closed_only=True)
        polys = [np.column_stack([p[:, 0], H - p[:, 1]]).ravel() for p in polys if len(p) >= 3]
        if not polys:
            return None
        lw = patch.get_linewidth() * px
        ec = patch.get_edgecolor()
        return {"t": "patch", "z": patch.get_zorder(), "clip": self._clip(patch),
                "xy": [encode_xy(p) for p in polys],
                "fc": _rgba(patch.get_facecolor()) if patch.get_fill() else None,
                "ec": _rgba(ec) if lw > 0 and ec[3] > 0 else None,
                "lw": round(lw, 3), "join": patch.get_joinstyle()}

    def _sprite(self, a) -> dict | None:
        """Text or legend rendered by matplotlib alone onto a transparent crop of the figure."""
        renderer = self.canvas.get_renderer()
        if isinstance(a, Text) and not a.get_text().strip():
            return None
        bbox = a.get_window_extent(renderer)
        x0, y0 = int(np.floor(bbox.x0)) - 2, int(np.floor(bbox.y0)) - 2
        x1, y1 = int(np.ceil(bbox.x1)) + 2, int(np.ceil(bbox.y1)) + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.width), min(y1, self.height)
        if x1 <= x0 or y1 <= y0:
            return None
        text = a.get_text() if isinstance(a, Text) else " | ".join(t.get_text() for t in a.texts)
        key = (type(a).__name__, id(a), text, x0, y0, x1, y1,
               _text_signature(a) if isinstance(a, Text) else tuple(_text_signature(t) for t in a.texts))
        src, compact = self._sprites.get(key, (None, False))
        if src is None or (self.compact and not compact):
            renderer.clear()
            a.draw(renderer)
            buf = np.asarray(renderer.buffer_rgba())
            crop = buf[self.height - y1:self.height - y0, x0:x1]
            src = base64.b64encode(_sprite_png(crop, small=self.compact)).decode("ascii")
            if len(self._sprites) > 512:
                self._sprites.clear()
            self._sprites[key] = (src, self.compact)
        return {"t": "img", "z": a.get_zorder(), "x": x0, "y": self.height - y1, "png": src, "text": text}


def scene_data(scene: dict) -> dict:
    """What a slider test compares: per moving item its kind and content (polylines, marker points,
    patch outlines, texts)."""
    out = []
    for it in scene["items"]:
        if it["t"] == "line":
            out.append({"t": "line", "xy": [decode_xy(s).tolist() for s in it["xy"]],
                        "m": decode_xy(it["m"]["pts"]).tolist() if it["m"] else None, "c": it["c"]})
        elif it["t"] == "patch":
            out.append({"t": "patch", "xy": [decode_xy(s).tolist() for s in it["xy"]], "m": None,
                        "c": it["fc"] or it["ec"]})
        else:
            out.append({"t": "img", "text": it["text"]})
    return {"items": out, "readout": scene["readout"]}


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
