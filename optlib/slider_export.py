"""Sliders that move in exported slides and pages, with no kernel and no network.

A slider cell's stored output carries its figure over a grid of slider values
(:mod:`optlib.slider_table`, MIME type :data:`~optlib.slider_table.MIME`).
A page builder turns that output into a small HTML element plus one script,
the offline player (``optlib/web/figure_core.js`` + ``slider_player.js``),
which draws the stored frames with the same code as the live widget:

    from optlib import slider_export
    nb = slider_export.for_page(nb, out / "_assets", "_assets")  # per notebook, before export

(``for_page`` = ``write_player`` into the asset folder + ``with_players``;
call it before anything that replaces widget outputs.)

Outputs without a table (a notebook executed before tables existed) are left
as they are.
"""
from __future__ import annotations

import copy
import html
import json
from pathlib import Path

from .figure_widget import javascript
from .slider_table import FORMAT, MIME, from_stored

__all__ = ["PLAYER", "PLAYER_CLASS", "player_js", "write_player", "embed_html", "with_players", "for_page", "table_size"]

#: File name of the offline player in a build's asset folder.
PLAYER = "optlib-slider-player.js"
#: The CSS class of a player's element in a page.
PLAYER_CLASS = "optlib-slider"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def player_js() -> str:
    """The offline player's source (one classic script: works from file:// in any browser)."""
    return javascript("figure_core.js", "slider_player.js")


def write_player(assets: Path) -> Path:
    """Write the offline player into ``assets`` (a build's asset folder); returns its path."""
    assets = Path(assets)
    assets.mkdir(parents=True, exist_ok=True)
    dst = assets / PLAYER
    dst.write_text(player_js(), encoding="utf-8")
    return dst


def embed_html(table: dict, asset_prefix: str) -> str:
    """The HTML that shows ``table``'s figure with moving sliders (``asset_prefix``: path to the assets)."""
    if table.get("format") != FORMAT:
        raise ValueError(f"not an optlib slider table (format {table.get('format')!r}, expected {FORMAT!r})")
    data = json.dumps(table, separators=(",", ":"), ensure_ascii=False)
    data = data.replace("</", "<\\/").replace("<!--", "<\\!--")     # safe inside <script>
    src = html.escape(f"{asset_prefix.rstrip('/')}/{PLAYER}", quote=True)
    return (f'<div class="{PLAYER_CLASS} tex2jax_ignore" style="margin:4px 0">'
            f'<script type="application/json">{data}</script>'
            f'<noscript>(sliders need JavaScript; the static figure below shows the defaults)</noscript></div>\n'
            f'<script src="{src}"></script>')


def with_players(nb, asset_prefix: str):
    """A copy of notebook ``nb`` whose slider outputs with a table become the offline player's HTML."""
    import nbformat
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if MIME in data:
                table = from_stored(data[MIME])
                outputs.append(nbformat.v4.new_output("display_data",
                                                      data={"text/html": embed_html(table, asset_prefix)}))
            else:
                outputs.append(out)
        cell.outputs = outputs
    return nb


def for_page(nb, assets: Path, asset_prefix: str):
    """What a page builder calls per notebook: the player written into ``assets`` (the build's
    asset folder, as reached from the page by ``asset_prefix``) and ``nb`` with its players."""
    if not (Path(assets) / PLAYER).is_file():
        write_player(assets)
    return with_players(nb, asset_prefix)


def table_size(nb) -> int:
    """Bytes the slider tables add to notebook ``nb`` (as stored JSON)."""
    n = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if MIME in out.get("data", {}):
                n += len(from_stored(out["data"][MIME]) and out["data"][MIME]["json"].encode())
    return n
