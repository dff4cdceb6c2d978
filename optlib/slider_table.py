"""A slider cell's figure over its slider grid, stored with the notebook for pages without a kernel.

For every control an offline grid of round values (a log slider: 1, 2, 5 per
decade or so; a decay rate: 0, 0.05, ..., 0.95 plus 0.99, 0.999; a checkbox:
off, on), always with the default, the ends and at most about 12 points (a stored notebook stays under 1 MB).
The table holds the figure for every combination when there are at most
:data:`FULL_GRID_MAX` of them, otherwise for every control moved one at a
time from the defaults. Each frame is what :class:`~optlib.figure_scene.FigureScene`
sends to the live widget (so the offline player draws with the same code);
identical items and layers are stored once.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math

import ipywidgets as W
import numpy as np

__all__ = ["MIME", "FULL_GRID_MAX", "grid_of", "build_table", "frame_key", "stored", "from_stored"]

#: The output MIME type that carries a slider cell's table in a stored notebook.
MIME = "application/vnd.optlib.slider+json"
FORMAT = "optlib-slider/1"
#: Store every combination of the controls' offline grids up to this many frames.
FULL_GRID_MAX = 40
MAX_POINTS = 13
#: A stored table larger than this keeps every other grid value (default and ends kept) until it fits.
MAX_TABLE_BYTES = 90_000


def _clean(v):
    return float(f"{v:.12g}")


def _unique(values, default, kind=float):
    out = []
    for v in sorted(set(_clean(v) for v in values)):
        if not out or not math.isclose(v, out[-1], rel_tol=1e-9, abs_tol=1e-15):
            out.append(v)
    d = _clean(default)
    for i, v in enumerate(out):
        if math.isclose(v, d, rel_tol=1e-9, abs_tol=1e-15):
            out[i] = d
    return out


def _log_grid(lo, hi, default):
    e0, e1 = math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1
    best = None
    for mantissas in ([1], [1, 3], [1, 2, 5], [1, 1.5, 2, 3, 5, 7], [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9]):
        vals = [m * 10.0 ** e for e in range(e0, e1 + 1) for m in mantissas]
        vals = [v for v in vals if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
        if len(vals) <= MAX_POINTS - 2:
            best = vals
    if best is None:                                   # wider than 19 decades: every k-th decade
        k = math.ceil((e1 - e0) / (MAX_POINTS - 2))
        best = [10.0 ** e for e in range(e0, e1 + 1, k) if lo <= 10.0 ** e <= hi]
    return _unique(best + [lo, hi, default], default)


def _linear_grid(lo, hi, step, default):
    span = hi - lo
    nice = None
    for e in range(-6, 7):
        for m in (1, 2, 2.5, 5):
            s = m * 10.0 ** e
            if span / s <= MAX_POINTS - 4 and (not step or abs(s / step - round(s / step)) < 1e-6):
                nice = s
                break
        if nice:
            break
    nice = nice or span / (MAX_POINTS - 4)
    vals = list(np.arange(math.ceil(lo / nice - 1e-9), math.floor(hi / nice + 1e-9) + 1) * nice)
    if lo >= 0 and 0.99 <= hi < 1:                     # a decay rate: its telling values near 1
        vals += [1 - 10.0 ** -k for k in range(1, 5) if lo <= 1 - 10.0 ** -k <= hi]
    return _unique(vals + [lo, hi, default], default)


def grid_of(control):
    """(kind, offline values, their labels, index of the default) of one ipywidgets control."""
    fmt = getattr(control, "readout_format", None) or ".3g"

    def label(v):
        try:
            return format(v, fmt.lstrip("~"))
        except (ValueError, TypeError):
            return f"{v:.4g}"

    if isinstance(control, (W.Checkbox, W.ToggleButton)):
        return "checkbox", [False, True], ["off", "on"], int(bool(control.value))
    if isinstance(control, W.FloatLogSlider):
        lo, hi = control.base ** control.min, control.base ** control.max
        vals = _log_grid(lo, hi, control.value)
    elif isinstance(control, W.FloatSlider):
        vals = _linear_grid(control.min, control.max, control.step, control.value)
    elif isinstance(control, W.IntSlider):
        vals = list(range(control.min, control.max + 1, max(control.step, 1)))
        if len(vals) > MAX_POINTS:
            vals = sorted(set(np.linspace(control.min, control.max, MAX_POINTS).round().astype(int).tolist()))
        vals = sorted(set(vals) | {control.value})
        return "slider", vals, [str(v) for v in vals], vals.index(control.value)
    else:                                              # other controls stay at their value offline
        return "fixed", [control.value], [str(control.value)], 0
    d = _clean(control.value)
    return "slider", vals, [label(v) for v in vals], vals.index(d)


def frame_key(indices) -> str:
    return ",".join(str(i) for i in indices)


def build_table(scene, update, controls: dict) -> dict:
    """Every frame of the offline grid (see the module doc), the figure left at the defaults."""
    names = list(controls)
    grids = {n: grid_of(c) for n, c in controls.items()}
    default = [grids[n][3] for n in names]
    sizes = [len(grids[n][1]) for n in names]
    full = math.prod(sizes) <= FULL_GRID_MAX
    if full:
        combos = list(itertools.product(*(range(s) for s in sizes)))
    else:
        combos = [tuple(default)]
        for k, s in enumerate(sizes):
            for i in range(s):
                if i != default[k]:
                    combos.append(tuple(default[:k]) + (i,) + tuple(default[k + 1:]))
    items, item_index, layers, layer_index = [], {}, [], {}

    def layer_id():
        bg, ov = scene.layers(small=True)
        key = hashlib.sha1(bg + b"|" + ov).hexdigest()
        if key not in layer_index:
            layer_index[key] = len(layers)
            layers.append([base64.b64encode(bg).decode("ascii"), base64.b64encode(ov).decode("ascii")])
        return layer_index[key]

    compact, scene.compact = scene.compact, True           # sprites compressed for storage
    frames = {}
    try:
        current = layer_id()
        for combo in combos:
            values = {n: grids[n][1][i] for n, i in zip(names, combo)}
            frame = scene.frame(update, **values)
            if scene.layers_stale:
                current = layer_id()
            ids = []
            for it in frame["items"]:
                key = json.dumps(it, sort_keys=True, separators=(",", ":"))
                if key not in item_index:
                    item_index[key] = len(items)
                    items.append(it)
                ids.append(item_index[key])
            frames[frame_key(combo)] = {"items": ids, "readout": frame["readout"], "layers": current}
    finally:
        scene.compact = compact
    return thinned({
        "format": FORMAT, "w": scene.width, "h": scene.height, "full": full,
        "controls": [{"name": n, "label": getattr(controls[n], "description", n), "kind": grids[n][0],
                      "values": grids[n][1], "labels": grids[n][2], "default": grids[n][3]} for n in names],
        "layers": layers, "items": items, "frames": frames,
    })


def _size(table: dict) -> int:
    return len(json.dumps(table, separators=(",", ":"), ensure_ascii=False))


def thinned(table: dict, max_bytes: int = MAX_TABLE_BYTES) -> dict:
    """``table`` with every other grid value dropped (the default and the ends kept) until it
    stores in ``max_bytes``: a notebook stays small; frames are only dropped, never recomputed."""
    while _size(table) > max_bytes:
        keeps = []
        for c in table["controls"]:
            n, d = len(c["values"]), c["default"]
            keep = [i for i in range(n) if i in (0, n - 1, d) or (i - d) % 2 == 0]
            keeps.append(keep)
        if all(len(k) == len(c["values"]) for k, c in zip(keeps, table["controls"])):
            break                                            # nothing left to drop
        new_index = [{old: new for new, old in enumerate(k)} for k in keeps]
        frames = {}
        for key, frame in table["frames"].items():
            idx = [int(i) for i in key.split(",")]
            if all(i in m for i, m in zip(idx, new_index)):
                frames[frame_key([m[i] for i, m in zip(idx, new_index)])] = frame
        controls = []
        for c, k in zip(table["controls"], keeps):
            controls.append(dict(c, values=[c["values"][i] for i in k], labels=[c["labels"][i] for i in k],
                                 default=k.index(c["default"])))
        used_items = sorted({i for f in frames.values() for i in f["items"]})
        used_layers = sorted({f["layers"] for f in frames.values()})
        item_map = {old: new for new, old in enumerate(used_items)}
        layer_map = {old: new for new, old in enumerate(used_layers)}
        for f in frames.values():
            f["items"] = [item_map[i] for i in f["items"]]
            f["layers"] = layer_map[f["layers"]]
        table = dict(table, controls=controls, frames=frames, items=[table["items"][i] for i in used_items],
                     layers=[table["layers"][i] for i in used_layers])
    return table


def stored(table: dict) -> dict:
    """The table as a notebook output stores it: one compact JSON string (nbformat would indent
    every number of a nested JSON value onto a line of its own, several times the size)."""
    return {"format": FORMAT, "json": json.dumps(table, separators=(",", ":"), ensure_ascii=False)}


def from_stored(data) -> dict:
    """The table back from a stored output (as written by :func:`stored`)."""
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, dict) or data.get("format") != FORMAT or "json" not in data:
        raise ValueError(f"not an optlib slider table (expected format {FORMAT!r})")
    return json.loads(data["json"])
