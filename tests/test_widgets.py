"""optlib.widgets and optlib.plotting without a browser: sliders drive update() and the picture."""
import matplotlib

matplotlib.use("Agg")
import ipywidgets as W  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import base64  # noqa: E402
import json  # noqa: E402

import optlib  # noqa: E402
from optlib import figure_scene, figure_widget, plotting, slider_export, widgets  # noqa: E402
from optlib import slider_table as table  # noqa: E402


def test_slider_labels_are_the_symbols_of_the_equations():
    assert widgets.lr().description == "η (lr)"
    assert widgets.beta1().description == "β₁" and widgets.beta2().description == "β₂"
    assert widgets.eps().description == "ε (eps)" and widgets.beta().description == "β"
    assert widgets.bias_correction().description == "bias correction"
    lr = widgets.lr(0.1)
    assert isinstance(lr, W.FloatLogSlider) and lr.value == pytest.approx(0.1)


def _adam_figure(steps=60, title=True):
    f = optlib.Quadratic(condition=20)
    fig, ax = plt.subplots()
    plotting.contour(f, ax)
    line = plotting.path(ax, optlib.trajectory(f, optlib.Adam, steps=steps, lr=0.1), "Adam")
    calls = []

    def update(lr, bias_correction):
        calls.append((lr, bias_correction))
        path = optlib.trajectory(f, optlib.Adam, steps=steps, lr=lr, bias_correction=bias_correction)
        plotting.set_path(line, path)
        if title:
            ax.set_title(f"Adam: $\\eta$ = {lr:.3g}")
        return f"loss {path.final_loss:.3g}"
    return f, fig, ax, line, update, calls


def _line_pixels(fig, ax, xy):
    """Where matplotlib itself puts data points ``xy`` on the canvas (y down), the independent truth."""
    d = ax.transData.transform(np.asarray(xy))
    return np.column_stack([d[:, 0], fig.bbox.height - d[:, 1]])


def test_live_sends_the_moved_lines_as_data_and_keeps_the_background():
    f, fig, ax, line, update, calls = _adam_figure()
    lr, bc = widgets.lr(0.1), widgets.bias_correction()
    box = widgets.live(fig, update, lr=lr, bias_correction=bc)
    view = box.children[1]
    assert isinstance(view, figure_widget.FigureWidget)
    background = view.background
    assert background[:8] == b"\x89PNG\r\n\x1a\n" and view.scene["readout"].startswith("loss")
    n_axes, n_lines = len(fig.axes), len(ax.lines)
    lr.value = 0.01
    assert calls[-1][0] == pytest.approx(0.01)
    assert view.scene["values"] == {"lr": pytest.approx(0.01), "bias_correction": True}
    (path_item,) = [it for it in view.scene["items"] if it["t"] == "line"]
    want = optlib.trajectory(f, optlib.Adam, steps=60, lr=lr.value).xy
    got = figure_scene.decode_xy(path_item["xy"][0]).reshape(-1, 2)
    np.testing.assert_allclose(got, _line_pixels(fig, ax, want), atol=0.051)
    marks = figure_scene.decode_xy(path_item["m"]["pts"]).reshape(-1, 2)
    np.testing.assert_allclose(marks, _line_pixels(fig, ax, want[::3]), atol=0.051)   # markevery = 61 // 20
    assert path_item["c"] == "rgba(213,94,0,1.0)" and path_item["dash"]        # Adam: vermilion, dotted
    (title,) = [it for it in view.scene["items"] if it["t"] == "img"]
    assert title["text"] == "Adam: $\\eta$ = 0.01"
    assert view.background == background                  # nothing static changed: not sent again
    bc.value = False
    assert calls[-1] == (pytest.approx(0.01), False)
    assert len(fig.axes) == n_axes and len(ax.lines) == n_lines      # updated, not rebuilt


def test_a_change_of_axis_limits_sends_a_new_background():
    f, fig, ax, line, update, calls = _adam_figure()

    def update_zoom(lr):
        update(lr, True)
        ax.set_xlim(-5 * lr, 5)
    lr = widgets.lr(0.1)
    view = widgets.live(fig, update_zoom, lr=lr).children[1]
    before = view.background
    lr.value = 0.2
    assert view.background != before
    lr.value = 0.1
    assert view.background == before                     # same limits, same picture


def test_static_artists_above_a_moving_one_go_into_the_overlay():
    f, fig, ax, line, update, calls = _adam_figure()      # the minimizer's star: zorder 5 > the path's 2
    scene = figure_scene.FigureScene(fig)
    scene.learn(update, lr=0.1, bias_correction=True)
    over = scene._overlay_artists()
    assert any(isinstance(a, matplotlib.lines.Line2D) and a.get_marker() == "*" for a in over)
    assert line not in over and line in scene.moving
    bg, ov = scene.layers()
    assert ov[:8] == b"\x89PNG\r\n\x1a\n"


def test_title_sprite_is_matplotlibs_own_rendering_of_the_title():
    import io

    import PIL.Image
    f, fig, ax, line, update, calls = _adam_figure()
    scene = figure_scene.FigureScene(fig)
    scene.learn(update, lr=0.1, bias_correction=True)
    scene.layers()
    frame = scene.frame(update, lr=0.05, bias_correction=True)
    (title,) = [it for it in frame["items"] if it["t"] == "img"]
    sprite = PIL.Image.open(io.BytesIO(base64.b64decode(title["png"]))).convert("RGBA")
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=fig.dpi)
    ref = np.asarray(PIL.Image.open(full).convert("RGB")).astype(float)
    a = np.asarray(sprite).astype(float)
    over_white = a[..., :3] * a[..., 3:] / 255 + 255 * (1 - a[..., 3:] / 255)
    crop = ref[title["y"]:title["y"] + a.shape[0], title["x"]:title["x"] + a.shape[1]]
    assert (a[..., 3] > 0).mean() > 0.02                   # there is ink
    assert np.abs(over_white - crop).max() < 3            # the same pixels as the full figure


def test_the_png_renderer_is_still_there_for_the_benchmark(monkeypatch):
    monkeypatch.setenv("OPTLIB_SLIDER_RENDERER", "png")
    f, fig, ax, line, update, calls = _adam_figure()
    lr = widgets.lr(0.1)
    box = widgets.live(fig, lambda lr: update(lr, True), lr=lr)
    image = box.children[1]
    first = image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    lr.value = 0.01
    assert image.value != first
    monkeypatch.setenv("OPTLIB_SLIDER_RENDERER", "svg")
    with pytest.raises(ValueError, match="OPTLIB_SLIDER_RENDERER"):
        widgets.renderer()


@pytest.mark.parametrize("control, values", [
    (widgets.lr(0.1, min=1e-3, max=1.0), [1e-3, 2e-3, 5e-3, 0.01, 0.1, 1.0]),
    (widgets.lr(1e-3, min=1e-4, max=4e-3), [1e-4, 1e-3, 4e-3]),
    (widgets.beta1(0.9), [0.0, 0.9, 0.99, 0.999]),
    (widgets.beta2(0.999), [0.5, 0.9, 0.99, 0.999, 0.9999]),
    (widgets.eps(1e-8, min=1e-12, max=1.0), [1e-12, 1e-8, 1.0]),
], ids=["lr", "lr-narrow", "beta1", "beta2", "eps"])
def test_offline_grid_has_round_values_the_default_and_the_ends(control, values):
    kind, grid, labels, default = table.grid_of(control)
    assert kind == "slider" and grid == sorted(grid) and len(grid) <= table.MAX_POINTS + 3
    assert grid[default] == pytest.approx(control.value)
    for v in values:
        assert any(g == pytest.approx(v, rel=1e-9) for g in grid), (v, grid)
    assert table.grid_of(widgets.bias_correction(False))[1:] == ([False, True], ["off", "on"], 0)


def test_offline_table_frames_are_what_the_figure_shows_for_those_values():
    f, fig, ax, line, update, calls = _adam_figure()
    controls = dict(lr=widgets.lr(0.1), bias_correction=widgets.bias_correction())
    scene = figure_scene.FigureScene(fig)
    scene.learn(update, lr=0.1, bias_correction=True)
    t = table.build_table(scene, update, controls)
    sizes = [len(c["values"]) for c in t["controls"]]
    assert t["full"] == (sizes[0] * sizes[1] <= table.FULL_GRID_MAX) and len(t["frames"]) == sizes[0] * sizes[1]
    check = figure_scene.FigureScene(fig)                 # a fresh look at the same figure
    check.learn(update, lr=0.1, bias_correction=True)
    for key in ("0,1", f"{len(t['controls'][0]['values']) - 1},0", f"{t['controls'][0]['default']},1"):
        i, j = map(int, key.split(","))
        values = dict(lr=t["controls"][0]["values"][i], bias_correction=t["controls"][1]["values"][j])
        frame = t["frames"][key]
        stored = {"items": [t["items"][k] for k in frame["items"]], "readout": frame["readout"]}
        assert figure_scene.scene_data(stored) == figure_scene.scene_data(check.frame(update, **values))
    assert json.loads(table.stored(t)["json"]) == t == table.from_stored(table.stored(t))


def test_one_control_at_a_time_when_the_full_grid_is_large():
    f, fig, ax, line, update, calls = _adam_figure()

    def update3(lr, beta1, bias_correction):
        return update(lr * beta1 / 0.9, bias_correction)
    controls = dict(lr=widgets.lr(0.1), beta1=widgets.beta1(0.9), bias_correction=widgets.bias_correction())
    scene = figure_scene.FigureScene(fig)
    scene.learn(update3, **{k: c.value for k, c in controls.items()})
    t = table.build_table(scene, update3, controls)
    sizes = [len(c["values"]) for c in t["controls"]]
    assert not t["full"] and len(t["frames"]) == 1 + sum(s - 1 for s in sizes)
    d = [c["default"] for c in t["controls"]]
    assert table.frame_key(d) in t["frames"] and table.frame_key([0, 0, d[2]]) not in t["frames"]


def test_with_players_turns_a_stored_slider_output_into_the_offline_player():
    import nbformat
    f, fig, ax, line, update, calls = _adam_figure()
    controls = dict(lr=widgets.lr(0.1))
    scene = figure_scene.FigureScene(fig)
    scene.learn(lambda lr: update(lr, True), lr=0.1)
    t = table.build_table(scene, lambda lr: update(lr, True), controls)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("widgets.live(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/plain": "VBox()", "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2,
                                                                              "version_minor": 0},
        table.MIME: table.stored(t)})]
    nb.cells.append(cell)
    out = slider_export.with_players(nb, "../_assets")
    (o,) = out.cells[0].outputs
    html = o["data"]["text/html"]
    assert list(o["data"]) == ["text/html"] and 'src="../_assets/optlib-slider-player.js"' in html
    payload = html.split('<script type="application/json">', 1)[1].split("</script>", 1)[0]
    assert json.loads(payload.replace("<\\/", "</")) == t
    assert cell.outputs[0]["data"][table.MIME]              # the notebook itself is left alone
    assert slider_export.table_size(nb) == len(table.stored(t)["json"].encode())
    with pytest.raises(ValueError, match="not an optlib slider table"):
        table.from_stored({"format": "other"})


def test_the_player_script_is_the_shared_drawing_code_plus_the_player(tmp_path):
    js = slider_export.write_player(tmp_path).read_text()
    assert "var optlibFigure" in js and "optlibSliders" in js and "export default" not in js
    assert "export default" in figure_widget.FigureWidget._esm


def test_every_optimizer_has_one_style_and_they_differ():
    names = ["GD", "Momentum", "RMSProp", "Adam", "AdamW", "AMSGrad", "Adagrad"]
    styles = [plotting.style_of(n) for n in names]
    assert len({s["color"] for s in styles}) == len(names)
    assert len({(str(s["linestyle"]), s["marker"]) for s in styles}) == len(names)   # grayscale too
    assert plotting.style_of("Adam (no bias correction)") == plotting.style_of("adam")
    with pytest.raises(ValueError, match="no course style"):
        plotting.style_of("Lion")


def _pixels(png):
    import io

    import PIL.Image
    return np.asarray(PIL.Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


@pytest.mark.parametrize("relim", [False, True], ids=["blit", "limits-change"])
def test_fast_redraw_gives_the_same_picture_as_a_full_draw(relim):
    import io
    f = optlib.Rosenbrock()
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3))
    plotting.contour(f, a)
    line = plotting.path(a, optlib.trajectory(f, optlib.Adam, steps=200, lr=0.05), "Adam")
    (loss,) = b.semilogy(np.ones(201))
    title = a.set_title("start")
    r = widgets._Renderer(fig)
    r.png()
    for lr in (0.01, 0.02, 0.03):
        path = optlib.trajectory(f, optlib.Adam, steps=200, lr=lr)
        plotting.set_path(line, path)
        loss.set_ydata(path.loss)
        title.set_text(f"η = {lr}")
        if relim:
            b.relim()
            b.autoscale_view()
        got = r.png()
    assert (r.background is not None) and {id(line), id(loss), id(title)} <= {id(x) for x in r.moving}
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=fig.dpi)
    assert (np.abs(_pixels(got) - _pixels(full.getvalue())).sum(-1) > 30).mean() < 1e-3


def test_relabelling_a_curve_updates_the_legend_in_place_and_stays_on_the_fast_path():
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 1], label="GD, η = 0.1")
    leg = plotting.legend(ax)
    r = widgets._Renderer(fig)
    r.png()
    for lr in (0.2, 0.3):
        line.set_ydata([0, lr])
        line.set_label(f"GD, η = {lr}")
        assert plotting.legend(ax) is leg
    r.png()
    assert leg.texts[0].get_text() == "GD, η = 0.3"
    background = r.background
    line.set_ydata([0, 0.5])
    r.png()
    assert r.background is background                 # blitted, not redrawn from scratch
    (other,) = ax.plot([1, 0], label="Adam")
    assert plotting.legend(ax) is not leg             # new curves: a new legend


def test_a_relabelled_legend_moves_from_the_first_move_on():
    """A label set to the same text at the defaults is not stale: live() still finds it moves."""
    f, fig, ax, line, update, calls = _adam_figure(title=False)

    def update_label(lr):
        update(lr, True)
        line.set_label(f"Adam, η = {lr:.3g}")
        plotting.legend(ax)
    lr = widgets.lr(0.1)
    view = widgets.live(fig, update_label, lr=lr).children[1]
    background = view.background
    lr.value = 0.05
    assert view.background == background                  # the legend was never baked into it
    (legend,) = [it for it in view.scene["items"] if it["t"] == "img"]
    assert legend["text"] == "Adam, η = 0.05"


def test_a_large_table_keeps_every_other_value_the_default_and_the_ends():
    """thinned() drops grid values (never the default or the ends) and their frames until the table fits."""
    values = [i / 10 for i in range(11)]
    controls = [{"name": "a", "values": values, "labels": [str(v) for v in values], "default": 3},
                {"name": "b", "values": [0, 1, 2], "labels": ["0", "1", "2"], "default": 1}]
    frames = {table.frame_key((i, j)): {"items": [i * 3 + j], "readout": f"{i},{j}", "layers": 0}
              for i in range(11) for j in range(3)}
    big = {"format": 1, "w": 1, "h": 1, "full": True, "controls": controls, "layers": [["x", "y"]],
           "items": [{"pad": "#" * 200, "id": k} for k in range(33)], "frames": frames}
    small = table.thinned(big, max_bytes=len(json.dumps(big)) // 2)
    kept = small["controls"][0]["values"]
    assert kept[0] == 0.0 and kept[-1] == 1.0 and 0.3 in kept and len(kept) < 11
    assert small["controls"][0]["values"][small["controls"][0]["default"]] == 0.3
    for key, frame in small["frames"].items():          # every frame still shows its own values
        i, j = (int(x) for x in key.split(","))
        assert frame["readout"] == f"{round(kept[i] * 10)},{j}"
        assert small["items"][frame["items"][0]]["id"] == round(kept[i] * 10) * 3 + j
    assert len(small["frames"]) == len(kept) * 3
    assert table.thinned(big, max_bytes=10 ** 9) is big


def test_bars_move_as_outlines_and_the_background_stays():
    """Bars (plain patches) are drawn by the browser: a move sends their outlines, not a new background."""
    fig, ax = plt.subplots()
    bars = ax.bar(np.arange(3), [1.0, 2.0, 3.0], 0.5, color="#0072B2")
    ax.set_ylim(0, 5)

    def update(scale):
        for bar, h in zip(bars, (1.0, 2.0, 3.0)):
            bar.set_height(h * scale)
        return f"scale {scale:.2f}"
    s = widgets.slider("scale", 1.0, 0.5, 1.5, step=0.25)
    view = widgets.live(fig, update, scale=s).children[1]
    background = view.background
    s.value = 1.5
    assert view.background == background                    # nothing static changed
    patches = [it for it in view.scene["items"] if it["t"] == "patch"]
    assert len(patches) == 3 and all(p["fc"] == "rgba(0,114,178,1.0)" for p in patches)
    for x, h, p in zip(range(3), (1.5, 3.0, 4.5), patches):
        (poly,) = [figure_scene.decode_xy(xy).reshape(-1, 2) for xy in p["xy"]]
        corners = [(x - 0.25, 0), (x + 0.25, 0), (x + 0.25, h), (x - 0.25, h)]
        for c in _line_pixels(fig, ax, corners):            # matplotlib's own transform of the corners
            assert np.abs(poly - c).sum(axis=1).min() < 0.11


@pytest.mark.parametrize("seed", range(4))
def test_polyline_split_is_the_plain_loop(seed):
    """figure_scene._polylines (vectorized) equals the loop it replaced, on random cleaned paths."""
    from matplotlib.path import Path

    def loop(vertices, codes, H):
        segs, cur = [], []
        for (x, y), code in zip(vertices, codes):
            if code == Path.MOVETO:
                if len(cur) > 2:
                    segs.append(cur)
                cur = [x, H - y]
            elif code == Path.LINETO:
                cur += [x, H - y]
            elif code == Path.STOP:
                break
        if len(cur) > 2:
            segs.append(cur)
        return segs
    rng = np.random.default_rng(seed)
    for _ in range(500):
        n = int(rng.integers(0, 15))
        codes = rng.choice([Path.MOVETO, Path.LINETO, Path.LINETO, Path.STOP, Path.CLOSEPOLY], size=n).astype(np.uint8)
        v = rng.random((n, 2)) * 300
        want, got = loop(v, codes, 200.0), figure_scene._polylines(v, codes, 200.0)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, np.array(b))


def test_live_sprites_are_fast_to_encode_stored_ones_small_and_both_show_the_same_text():
    import io

    import PIL.Image
    f, fig, ax, line, update, calls = _adam_figure()
    scene = figure_scene.FigureScene(fig)
    scene.learn(update, lr=0.1, bias_correction=True)
    scene.layers()

    def title_of(frame):
        (t,) = [it for it in frame["items"] if it["t"] == "img"]
        return t
    live = title_of(scene.frame(update, lr=0.0123, bias_correction=True))
    scene.compact = True
    scene._items.clear()
    stored = title_of(scene.frame(update, lr=0.0123, bias_correction=True))
    assert live["text"] == stored["text"] == "Adam: $\\eta$ = 0.0123"
    a, b = (np.asarray(PIL.Image.open(io.BytesIO(base64.b64decode(t["png"]))).convert("RGBA"))
            for t in (live, stored))
    np.testing.assert_array_equal(a, b)                    # lossless either way
    assert len(stored["png"]) < len(live["png"])           # the stored one compressed harder
