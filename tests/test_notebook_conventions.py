"""Every lecture notebook keeps the course's conventions (nbval checks the outputs themselves)."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def load(p):
    return json.loads(p.read_text())


def src(cell):
    return "".join(cell["source"])


def test_the_sequence_is_complete():
    names = [p.name[:2] for p in LECTURES]
    assert names == [f"{i:02d}" for i in range(len(names))] and len(names) >= 8


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_stored_small_and_executed_in_order(path):
    assert path.stat().st_size < 1_000_000
    nb = load(path)
    counts = [c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1)), "re-run top to bottom: tools/execute_notebooks.py"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb["metadata"], "stored widget state changes every run"


@pytest.mark.parametrize("path", LECTURES[1:], ids=lambda p: p.name)
def test_first_code_cell_sets_up_the_same_way(path):
    nb = load(path)
    first = src(next(c for c in nb["cells"] if c["cell_type"] == "code"))
    assert first.startswith("%matplotlib inline")
    assert "plotting.use_course_style()" in first
    assert "default_rng(0)" in first
    code = "\n".join(src(c) for c in nb["cells"] if c["cell_type"] == "code")
    if re.search(r"^import torch", code, re.M):
        assert "torch.set_num_threads(1)" in first


@pytest.mark.parametrize("path", LECTURES[1:], ids=lambda p: p.name)
def test_template_sections_and_slides(path):
    nb = load(path)
    text = "\n".join(src(c) for c in nb["cells"] if c["cell_type"] == "markdown").lower()
    for word in ("summary", "check your understanding", "<details>"):
        assert word in text, word
    assert all("slide_type" in c["metadata"].get("slideshow", {}) for c in nb["cells"])


@pytest.mark.parametrize("path", [p for p in LECTURES if "widgets.live(" in p.read_text()], ids=lambda p: p.name)
def test_every_slider_is_followed_by_a_static_default_figure(path):
    cells = load(path)["cells"]
    for i, c in enumerate(cells):
        if c["cell_type"] == "code" and "widgets.live(" in src(c):
            assert "nbval-ignore-output" in c["metadata"].get("tags", []), f"cell {i}"
            nxt = next(d for d in cells[i + 1:] if d["cell_type"] == "code")
            assert "show_default(" in src(nxt), f"cell {i} has no static default after it"
            assert any(o.get("data", {}).get("image/png") for o in nxt["outputs"]), f"cell {i}: no stored figure"


def test_lectures_with_sliders_are_the_ones_the_issue_asks_for():
    with_sliders = {p.name[:2] for p in LECTURES if "widgets.live(" in p.read_text()}
    assert {"01", "02", "03", "04", "05", "06"} <= with_sliders
