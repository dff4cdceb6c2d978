"""The course in a real browser: JupyterLab + headless Debian Chromium (playwright).

For every notebook with a slider cell (``optlib.widgets.live``), and for a
small slider notebook these tests write themselves (so the harness and the
course's JupyterLab settings are checked even before any lecture exists):

* open it in JupyterLab, Run -> Run All Cells, wait until every cell has run;
* the FIRST figure of every slider cell is fully drawn right after Run All
  (JupyterLab >= 4.4 with ipykernel 7 drew it blank or half-drawn unless the
  course's overrides.json disables comms over subshells, FACTS section 4):
  same size as the static default figure in the next cell, no empty region
  where that figure has ink, both axes drawn;
* every control is moved with the keyboard (ArrowRight on the slider handle,
  Space on a checkbox) and with the mouse (drag the handle along the track,
  click the checkbox): the slider's value changes, the figure is redrawn with
  different pixels, the new figure is fully drawn and shown at its natural
  size, not cut off; the readout under the figure changes for some move.

Screenshots land in test-artifacts/browser/. Deselect with ``-m "not browser"``.
Every process started here (JupyterLab, its kernels, Chromium, playwright's
driver) is stopped in fixture teardown, also when a test fails.
"""
from __future__ import annotations

import base64
import json
import math
import re
import shutil
import time

import pytest

import browser_support as bs

browser = pytest.mark.browser

FIXTURE = "_course_fixture/slider_fixture.ipynb"
STALE = "_course_fixture/stale_slider_fixture.ipynb"
REAL = [p.name for p in bs.slider_notebooks()]


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def lab_root(tmp_path_factory):
    """A temporary copy of notebooks/ (what the student opens) plus the test's slider notebook."""
    root = tmp_path_factory.mktemp("lab-root")
    if bs.NOTEBOOKS.is_dir():
        shutil.copytree(bs.NOTEBOOKS, root, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    bs.write_fixture_notebook(root / FIXTURE)
    bs.write_fixture_notebook(root / STALE, bs.STALE_FIXTURE_CELLS)
    return root


@pytest.fixture(scope="session")
def lab(lab_root):
    server = bs.JupyterLab(lab_root)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(chromium, lab):
    p = chromium.new_page()
    try:
        yield p
    finally:
        try:
            p.close()
        finally:
            lab.shutdown_sessions()      # each test's kernel stops with it


@pytest.fixture(scope="session")
def artifacts():
    bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return bs.ARTIFACTS


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

def _slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"


def check_shown(nb, k, fig, shot_path, reference=None):
    """Problems with the figure now shown by slider box ``k`` (empty list: fully drawn)."""
    problems = []
    d = bs.drawn(fig["png"])
    if not d.ok:
        problems.append(f"figure not fully drawn: {d}")
    if (round(fig["w"]), round(fig["h"])) != (fig["nw"], fig["nh"]):
        problems.append(f"shown at {fig['w']}x{fig['h']}, not its natural size {fig['nw']}x{fig['nh']}")
    if not fig["inside"]:
        problems.append("figure sticks out of its output area (cut off)")
    if reference is not None:
        w, h = reference.width, reference.height
        if abs(d.width - w) > 0.1 * w or abs(d.height - h) > 0.1 * h:
            problems.append(f"size {d.width}x{d.height} far from the default figure's {w}x{h}")
    # What is on screen: the element's own screenshot (+-1 px: subpixel layout).
    shot, frame = nb.screenshot_figure(k, shot_path)
    if frame != fig["frame"]:
        problems.append("the figure changed again while nothing moved")
    s = bs.drawn(shot)
    if abs(s.width - fig["nw"]) > 1 or abs(s.height - fig["nh"]) > 1:
        problems.append(f"on-screen image {s.width}x{s.height} != {fig['nw']}x{fig['nh']} (cut off or scaled)")
    if not s.ok:
        problems.append(f"on-screen image not fully drawn: {s}")
    return problems


def readout_matches(text, value):
    """Whether a slider's readout text shows ``value`` (to the digits it prints)."""
    try:
        return math.isclose(float(text), value, rel_tol=0.006, abs_tol=0.0006)
    except ValueError:
        return False


def settled(nb, k, n, kind, timeout=20):
    """Box ``k``'s figure once it shows the value control ``n`` reads (a drag sends several
    values; under load their frames arrive after the first quiet spell)."""
    deadline = time.monotonic() + timeout
    while True:
        fig = nb.figure(k)
        value = nb.checked(k, n) if kind == "checkbox" else nb.slider_value(k, n)
        drawn_for = list(fig["scene"]["values"].values())[n]
        ok = drawn_for == value if kind == "checkbox" else readout_matches(value, drawn_for)
        if ok or time.monotonic() > deadline:
            return fig
        nb.watch(k)
        try:
            nb.wait_redrawn(k, timeout=max(1_000, int(1000 * (deadline - time.monotonic()))))
        except Exception:
            return nb.figure(k)


def move_and_check(nb, k, control, how, shots, reference, moved):
    """Move one control (``how``: "key" or "mouse"); problems, readouts before and after.

    Each painted frame goes into ``moved`` (box, values, scene data) to be compared with
    a fresh kernel's update() later."""
    n, kind = control["index"], control["kind"]
    value0 = nb.checked(k, n) if kind == "checkbox" else nb.slider_value(k, n)
    fig0 = nb.figure(k)
    tries = 8 if (kind == "slider" and how == "key") else (2 if kind == "slider" else 1)
    fig1, moves = fig0, 0
    for attempt in range(tries):
        nb.watch(k)
        if how == "key":
            nb.key_move(k, n, kind)
        else:   # first towards the far quarter of the track, then to the other end
            nb.mouse_move(k, n, kind, fraction=None if attempt == 0 else (0.95 if attempt % 2 else 0.05))
        moves += 1
        nb.wait_redrawn(k)
        fig1 = settled(nb, k, n, kind)
        if fig1["scene"]["values"] != fig0["scene"]["values"]:
            break
    value1 = nb.checked(k, n) if kind == "checkbox" else nb.slider_value(k, n)
    problems = []
    data0, data1 = bs.scene_data(fig0["scene"]), bs.scene_data(fig1["scene"])
    if value1 == value0:
        problems.append(f"{how}: the control's value did not change ({value0!r})")
    if data1 == data0:
        problems.append(f"{how}: the figure's data did not change after {moves} move(s) ({value0!r} -> {value1!r})")
    name = list(fig1["scene"]["values"])[n]
    drawn_for = fig1["scene"]["values"][name]
    if kind == "checkbox":
        if drawn_for != value1:
            problems.append(f"{how}: figure drawn for {name} = {drawn_for}, the checkbox says {value1}")
    elif not readout_matches(value1, drawn_for):
        problems.append(f"{how}: figure drawn for {name} = {drawn_for!r}, the slider reads {value1!r}")
    moved.append((k, fig1["scene"]["values"], data1, f"{control['label']!r} by {how}"))
    problems += [f"{how}: {p}" for p in check_shown(nb, k, fig1, shots / f"box{k}-{n}-{_slug(control['label'])}-{how}.png",
                                                    reference)]
    # Put the control back, so the next control starts from the defaults.
    nb.watch(k)
    if kind == "checkbox":
        nb.key_move(k, n, kind) if how == "key" else nb.mouse_move(k, n, kind)
    elif how == "key":
        for _ in range(moves):
            nb.key_move(k, n, kind, key="ArrowLeft")
    else:
        nb.type_slider_value(k, n, value0)
    nb.wait_redrawn(k)
    back = nb.checked(k, n) if kind == "checkbox" else nb.slider_value(k, n)
    if back != value0:
        problems.append(f"{how}: could not put the control back to {value0!r} (now {back!r})")
    return problems, fig0["readout"], fig1["readout"]


_REFERENCES = {}


def compare_with_fresh_kernel(nb_file, moved):
    """Every painted frame against update() for the same values in a separate headless kernel."""
    requests = {}
    for k, values, _, _ in moved:
        requests.setdefault(k, []).append(values)
    key = (str(nb_file), json.dumps(requests, sort_keys=True))
    if key not in _REFERENCES:             # the deck and the site page make the same moves
        _REFERENCES[key] = bs.reference_frames(nb_file, requests)
    want = _REFERENCES[key]
    problems, seen = [], {}
    for k, values, data, what in moved:
        i = seen.get(k, 0)
        seen[k] = i + 1
        if k not in want:
            problems.append(f"box {k}: no reference frames (the slider cell failed in a fresh kernel?)")
            continue
        diff = bs.same_frame(data, want[k][i])
        if diff:
            problems.append(f"box {k}, {what}, values {values}: the figure differs from update() in a fresh "
                            f"kernel for these values: " + "; ".join(diff[:4]))
    return problems


def exercise_notebook(page, lab, path, shots, hows=("key", "mouse"), max_controls=None, mouse_controls=None):
    """Run All, then move the controls (every one by keyboard; by mouse too, or only the first
    ``mouse_controls`` of each slider cell: a drag works the same way on every slider)."""
    shots.mkdir(parents=True, exist_ok=True)
    seen = watch_requests(page)
    nb = bs.LabNotebook(page, lab, path)
    nb.open()
    nb.run_all()
    expected = bs.live_cells(lab.root_dir / path)
    boxes = nb.live_boxes(expected)
    assert len(boxes) == expected, f"{path}: {len(boxes)} slider boxes rendered, {expected} slider cells"
    page.screenshot(path=str(shots / "after-run-all.png"), full_page=True)
    assert boxes, f"{path}: no slider cell (widgets.live) rendered after Run All"
    nb.wait_first_figures(len(boxes))
    problems = [f"traceback in the notebook: {e}" for e in nb.errors()]

    # The first figure of every slider cell, right after Run All (the blank-figure bug).
    references = {}
    for k, box in enumerate(boxes):
        fig = nb.figure(k)
        first = bs.drawn(fig["png"])
        static = nb.static_figure(k)
        ref = bs.drawn(static["png"]) if static else None
        problems += [f"box {k}, first figure: {p}"
                     for p in check_shown(nb, k, fig, shots / f"box{k}-first.png")]
        if ref is not None:
            problems += [f"box {k}, first figure vs the static default figure: {p}"
                         for p in bs.compare_to_reference(first, ref)]
        references[k] = ref or first

    # Every control, keyboard and mouse; then every painted frame against a fresh kernel.
    moved = []
    for k, box in enumerate(boxes):
        assert box["controls"], f"{path}: slider cell {k} has no slider or checkbox"
        readouts = set()
        for ci, control in enumerate(box["controls"][:max_controls]):
            for how in (hows if mouse_controls is None or ci < mouse_controls else ("key",)):
                found, before, after = move_and_check(nb, k, control, how, shots, references[k], moved)
                problems += [f"box {k}, control {control['label']!r}: {p}" for p in found]
                readouts |= {before, after}
        readouts.discard(None)
        if readouts - {""} and len(readouts) < 2:
            problems.append(f"box {k}: the readout never changed ({readouts})")
    problems += [f"traceback after moving the sliders: {e}" for e in nb.errors()]
    page.screenshot(path=str(shots / "after-moves.png"), full_page=True)
    problems += compare_with_fresh_kernel(lab.root_dir / path, moved)
    problems += [f"request leaving 127.0.0.1: {u}" for u in outside(seen, lab.base)]
    return boxes, problems


def watch_requests(page):
    seen = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


def outside(seen, base=None):
    ok = ("data:", "blob:", "about:", "file:") + ((base,) if base else ())
    return [u for u in seen if not u.startswith(ok)]


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

@browser
def test_course_settings_active(lab):
    """JupyterLab serves the course's overrides: comms do not go over kernel subshells."""
    course = json.loads(bs.COURSE_OVERRIDES.read_text())
    installed = bs.VENV_BIN.parent / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert installed.is_file(), f"{installed} missing: tools/course installs it"
    assert json.loads(installed.read_text()) == course
    wanted = course[bs.KERNEL_SETTINGS_PLUGIN]["commsOverSubshells"]
    assert wanted == "disabled"
    assert lab.kernel_setting("commsOverSubshells") == wanted


@browser
def test_fixture_sliders(page, lab, artifacts):
    """The harness on the test's own slider notebook (lr log slider, beta1 slider, checkbox)."""
    boxes, problems = exercise_notebook(page, lab, FIXTURE, artifacts / "fixture")
    assert [c["kind"] for c in boxes[0]["controls"]] == ["slider", "slider", "checkbox"]
    assert boxes[0]["has_static"]
    assert not problems, "\n".join(problems)


@browser
def test_a_stale_slider_after_run_all_is_caught(page, lab, artifacts):
    """Issue 10: update() reads a global that a later cell rebinds. After Run All the figure,
    its title and its readout show 5 steps while the slider cell means 60: the check must fail."""
    boxes, problems = exercise_notebook(page, lab, STALE, artifacts / "stale", hows=("key",))
    stale = [p for p in problems if "differs from update() in a fresh kernel" in p]
    assert stale, "the stale slider went unnoticed:\n" + "\n".join(problems)
    assert any("readout 'loss after 5 steps" in p for p in stale) and any("text" in p for p in stale), stale


@browser
@pytest.mark.skipif(not REAL, reason="no notebook in notebooks/ has a slider cell yet")
@pytest.mark.parametrize("name", REAL)
def test_notebook_sliders(page, lab, artifacts, name):
    boxes, problems = exercise_notebook(page, lab, name, artifacts / _slug(name.removesuffix(".ipynb")),
                                        mouse_controls=1)
    missing = [k for k, b in enumerate(boxes) if not b["has_static"]]
    assert not missing, f"slider cells {missing} have no static default figure in the next cell"
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# Sliders without a kernel: a slide deck and a site page built from the fixture
# notebook's stored outputs, opened from plain files
# ---------------------------------------------------------------------------

_JS_PLAYER = """(k) => {
  const root = document.querySelectorAll('.optlib-slider')[k];
  const st = root && root._optlib;
  if (!st || !st.scene) return null;
  const canvas = root.querySelector('canvas');
  return {frame: st.frame, png: canvas.toDataURL('image/png').split(',')[1], values: st.values,
          scene: JSON.parse(JSON.stringify(st.scene, (key, v) => key.startsWith('_') ? undefined : v)),
          inputs: [...root.querySelectorAll('input')].map(i => i.type === 'checkbox' ? i.checked : i.value)};
}"""

# Bring the slide that holds player k into view (reveal.js keeps its position in the URL hash).
_JS_GOTO = """(k) => {
  const el = document.querySelectorAll('.optlib-slider')[k];
  const s = el.closest('section');
  if (!s) return null;
  const parent = s.parentElement.closest('section');
  const top = parent || s;
  const h = [...top.parentElement.children].filter(e => e.tagName === 'SECTION').indexOf(top);
  const v = parent ? [...parent.children].filter(e => e.tagName === 'SECTION').indexOf(s) : 0;
  location.hash = `#/${h}/${v}`;
  return [h, v];
}"""


@pytest.fixture(scope="session")
def offline_pages(tmp_path_factory):
    """The fixture notebook executed headless, then built into a deck and a site page by the builders."""
    import importlib
    import sys as _sys
    root = tmp_path_factory.mktemp("offline")
    nb = bs.execute_notebook(bs.write_fixture_notebook(root / "notebooks" / "01_slider_fixture.ipynb"))
    _sys.path.insert(0, str(bs.ROOT / "tools"))
    build_slides = importlib.import_module("build_slides")
    build_site = importlib.import_module("build_site")
    (deck,) = build_slides.build([nb], root / "slides")
    old = build_site.ROOT
    build_site.ROOT = root                        # build from this folder's notebooks/ only
    try:
        pages = build_site.build(root / "site", sections=[("notebooks", "Lectures")])
    finally:
        build_site.ROOT = old
    (page,) = [p for p in pages if p.name == "01_slider_fixture.html"]
    return nb, {"deck": deck, "site": page}


def _move_offline(page, k, n, kind, how):
    control = page.locator(".optlib-slider").nth(k).locator(".optlib-control").nth(n).locator("input")
    if how == "key":
        control.focus()
        page.keyboard.press("Space" if kind == "checkbox" else "ArrowRight")
    elif kind == "checkbox":
        control.scroll_into_view_if_needed()
        control.click()
    else:
        control.scroll_into_view_if_needed()
        box = control.bounding_box()
        page.mouse.click(box["x"] + 0.15 * box["width"], box["y"] + box["height"] / 2)


@browser
@pytest.mark.parametrize("kind", ["deck", "site"])
def test_sliders_move_without_a_kernel(chromium, offline_pages, artifacts, kind):
    nb_file, built = offline_pages
    page = chromium.new_page()
    seen = watch_requests(page)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(built[kind].as_uri())
        page.wait_for_function("() => { const r = document.querySelector('.optlib-slider');"
                               " return r && r._optlib && r._optlib.frame > 0; }", timeout=60_000)
        if kind == "deck":
            page.wait_for_selector(".reveal.ready", timeout=60_000)
            assert page.evaluate(_JS_GOTO, 0) is not None
            page.wait_for_function("() => document.querySelector('.optlib-slider').closest('section')"
                                   ".classList.contains('present')", timeout=10_000)
        first = page.evaluate(_JS_PLAYER, 0)
        assert bs.drawn(base64.b64decode(first["png"])).ok, "offline figure not fully drawn"
        kinds = page.evaluate("() => [...document.querySelectorAll('.optlib-slider')[0]"
                              ".querySelectorAll('.optlib-control input')].map(i => i.type)")
        assert kinds == ["range", "range", "checkbox"], kinds
        moved, problems = [], []
        for n, t in enumerate(kinds):
            for how in ("key", "mouse"):
                before = page.evaluate(_JS_PLAYER, 0)
                _move_offline(page, 0, n, "checkbox" if t == "checkbox" else "slider", how)
                try:
                    page.wait_for_function("(f) => document.querySelector('.optlib-slider')._optlib.frame > f",
                                           arg=before["frame"], timeout=10_000)
                except Exception:
                    problems.append(f"control {n} by {how}: no new frame painted")
                    continue
                after = page.evaluate(_JS_PLAYER, 0)
                if after["values"] == before["values"]:
                    problems.append(f"control {n} by {how}: the values did not change")
                if bs.scene_data(after["scene"]) == bs.scene_data(before["scene"]):
                    problems.append(f"control {n} by {how}: the figure's data did not change")
                if not bs.drawn(base64.b64decode(after["png"])).ok:
                    problems.append(f"control {n} by {how}: figure not fully drawn")
                moved.append((0, after["values"], bs.scene_data(after["scene"]), f"control {n} by {how}"))
        page.screenshot(path=str(artifacts / f"offline-{kind}.png"))
        problems += compare_with_fresh_kernel(nb_file, moved)
        problems += [f"request outside the page's files: {u}" for u in outside(seen)]
        problems += [f"script error: {e}" for e in errors]
        assert not problems, "\n".join(problems)
    finally:
        page.close()


# ---------------------------------------------------------------------------
# The picture checks themselves (no browser): they must catch blank,
# half-drawn and cut figures, and pass a full one.
# ---------------------------------------------------------------------------

def _figure_png(clear_rows=None, blank=False, size=(6.4, 4.0)):
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    from optlib import plotting
    from optlib.testfunctions import Rosenbrock
    plotting.use_course_style()
    fig, ax = plt.subplots(figsize=size)
    plotting.contour(Rosenbrock(), ax)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    img = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).copy()
    if blank:
        img[:] = 255
    if clear_rows is not None:
        img[clear_rows] = 255
    out = io.BytesIO()
    Image.fromarray(img).save(out, format="PNG")
    return out.getvalue()


def test_picture_checks_pass_a_full_figure():
    full = bs.drawn(_figure_png())
    assert full.ok, full
    assert bs.compare_to_reference(full, full) == []


def test_picture_checks_catch_blank_half_and_resized_figures():
    full = bs.drawn(_figure_png())
    blank = bs.drawn(_figure_png(blank=True))
    assert not blank.ok
    assert bs.compare_to_reference(blank, full)
    half = bs.drawn(_figure_png(clear_rows=slice(160, None)))     # bottom 40% never drawn
    assert not half.x_axis or bs.compare_to_reference(half, full)
    assert bs.compare_to_reference(half, full)
    smaller = bs.drawn(_figure_png(size=(4.0, 3.0)))
    assert any("size" in p for p in bs.compare_to_reference(smaller, full))
