"""What the offline slider tables add: per lecture, to its stored notebook, its site page and its deck.

    .venv/bin/python benchmarks/bench_slider_sizes.py [--site DIR]

Reads the stored notebooks (nothing is executed). Each slider cell stores its
figure's data over the slider grid (``optlib.slider_table``) as one output;
its size is what the cell adds to the notebook. The page and the deck are
built into a temporary folder (or read from ``--site``, the output of
``tools/course site``) and measured whole: a page or deck holds the same
tables once more; the player script is a file of its own, once per build. Limits (issue 14): a stored notebook
under 1 MB, a page or deck under 3 MB; a row over a limit says so.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from optlib import slider_export  # noqa: E402
from optlib.slider_table import MIME  # noqa: E402

NOTEBOOK_LIMIT, PAGE_LIMIT = 1_000_000, 3_000_000


def table_sizes(nb_path: Path) -> list[int]:
    """Bytes of each slider cell's stored table, in cell order."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return [len(json.dumps(o["data"][MIME], separators=(",", ":")).encode())
            for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if MIME in o.get("data", {})]


def kb(n):
    return f"{n / 1000:.0f} kB" if n < 1_000_000 else f"{n / 1e6:.2f} MB"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, help="a built site (tools/course site); default: build one now")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="course-sizes-") as tmp:
        site = args.site
        if site is None:
            site = Path(tmp) / "site"
            subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(site)],
                           cwd=ROOT, check=True, capture_output=True)
        print("| notebook | slider cells | tables (kB) | stored notebook | site page | deck |")
        print("|---|---:|---:|---:|---:|---:|")
        over = []
        for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            tables = table_sizes(nb)
            page = site / "notebooks" / f"{nb.stem}.html"
            deck = site / "slides" / f"{nb.stem}.slides.html"
            sizes = [nb.stat().st_size, page.stat().st_size, deck.stat().st_size]
            for what, n, limit in zip(("notebook", "page", "deck"), sizes, (NOTEBOOK_LIMIT, PAGE_LIMIT, PAGE_LIMIT)):
                if n >= limit:
                    over.append(f"{nb.name}: {what} {kb(n)} is over {kb(limit)}")
            print(f"| {nb.name} | {len(tables)} | {' + '.join(f'{t / 1000:.0f}' for t in tables) or '-'} | "
                  + " | ".join(kb(n) for n in sizes) + " |")
        script = len(slider_export.player_js().encode())
        print(f"\n(plus the player script, {kb(script)}, once per build in its asset folder)")
        print("\n".join(over) or "every stored notebook under 1 MB, every page and deck under 3 MB")
        return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
