"""optlib.widgets and optlib.plotting without a browser: sliders drive update() and the picture."""
import matplotlib

matplotlib.use("Agg")
import ipywidgets as W  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import optlib  # noqa: E402
from optlib import plotting, widgets  # noqa: E402


def test_slider_labels_are_the_symbols_of_the_equations():
    assert widgets.lr().description == "η (lr)"
    assert widgets.beta1().description == "β₁" and widgets.beta2().description == "β₂"
    assert widgets.eps().description == "ε (eps)" and widgets.beta().description == "β"
    assert widgets.bias_correction().description == "bias correction"
    lr = widgets.lr(0.1)
    assert isinstance(lr, W.FloatLogSlider) and lr.value == pytest.approx(0.1)


def test_live_redraws_the_same_figure_on_every_move():
    f = optlib.Rosenbrock()
    fig, ax = plt.subplots()
    plotting.contour(f, ax)
    line = plotting.path(ax, optlib.trajectory(f, optlib.Adam, steps=100, lr=0.1), "Adam")
    calls = []

    def update(lr, bias_correction):
        calls.append((lr, bias_correction))
        path = optlib.trajectory(f, optlib.Adam, steps=100, lr=lr, bias_correction=bias_correction)
        plotting.set_path(line, path)
        return f"loss {path.final_loss:.3g}"

    lr, bc = widgets.lr(0.1), widgets.bias_correction()
    box = widgets.live(fig, update, lr=lr, bias_correction=bc)
    image, text = box.children[1], box.children[2]
    first = image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and text.value.startswith("<code>loss")
    n_axes, n_lines = len(fig.axes), len(ax.lines)
    lr.value = 0.01
    assert calls[-1][0] == pytest.approx(0.01) and image.value != first
    bc.value = False
    assert calls[-1] == (pytest.approx(0.01), False)
    assert len(fig.axes) == n_axes and len(ax.lines) == n_lines      # updated, not rebuilt
    np.testing.assert_allclose(line.get_xydata()[0], f.start)


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
