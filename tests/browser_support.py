"""Drive the course in a real browser: JupyterLab + Debian's Chromium through playwright.

Used by tests/test_browser.py, tests/test_slides_site.py and
benchmarks/bench_slider_latency.py. Nothing here downloads a browser: it runs
``chromium`` from PATH (``tools/course test`` installs Debian's package when it
is missing) and JupyterLab from the course's .venv.

    with JupyterLab(root_dir) as lab, Browser() as browser:
        page = browser.new_page()
        nb = LabNotebook(page, lab, "01_gd.ipynb")
        nb.open(); nb.run_all()
        for box in nb.live_boxes(): ...
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
NOTEBOOKS = ROOT / "notebooks"
COURSE_OVERRIDES = ROOT / "tools" / "jupyterlab" / "overrides.json"

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

KERNEL_SETTINGS_PLUGIN = "@jupyterlab/apputils-extension:kernels-settings"


def chromium_path() -> str | None:
    return shutil.which("chromium")


def have_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_cells(nb: Path) -> int:
    """How many code cells of notebook ``nb`` show sliders (call ``widgets.live``)."""
    cells = json.loads(Path(nb).read_text(encoding="utf-8")).get("cells", [])
    return sum(1 for c in cells if c.get("cell_type") == "code"
               and re.search(r"\blive\(", "".join(c.get("source", ""))))


def slider_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The notebooks of ``folder`` with a slider cell (a code cell calling ``widgets.live``)."""
    return [nb for nb in sorted(folder.glob("*.ipynb")) if live_cells(nb)]


def _descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (read from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _kill(pids, sig):
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class JupyterLab:
    """JupyterLab from the course's .venv on 127.0.0.1, a free port and a random token.

    ``root_dir`` is what the file browser shows. User settings and workspaces
    live in a private temporary folder, so the only settings in force are
    JupyterLab's defaults plus the course's overrides.json (installed into
    .venv by ``tools/course``). ``stop()`` (also on ``__exit__``) shuts the
    server and every kernel it started down, killing what does not exit.
    """

    def __init__(self, root_dir: Path, extra_args=()):
        self.root_dir = Path(root_dir)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self._private = Path(tempfile.mkdtemp(prefix="course-lab-"))
        self.log_path = self._private / "jupyterlab.log"

    # -- lifecycle -------------------------------------------------------
    def start(self, timeout=180):
        jupyter = VENV_BIN / "jupyter"
        cmd = [str(jupyter), "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root_dir}",
               f"--LabApp.user_settings_dir={self._private / 'user-settings'}",
               f"--LabApp.workspaces_dir={self._private / 'workspaces'}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class="
               "jupyterlab.handlers.announcements.NeverCheckForUpdate",
               *self.extra_args]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        # No "would you like news?" toast over the notebook (the only user setting made).
        notify = self._private / "user-settings" / "@jupyterlab" / "apputils-extension"
        notify.mkdir(parents=True)
        (notify / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        env = dict(os.environ)
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        env["JUPYTER_RUNTIME_DIR"] = str(self._private / "runtime")
        env.setdefault("OMP_NUM_THREADS", "1")
        env.pop("MPLBACKEND", None)      # the kernel must use the inline backend
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.root_dir, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                self.api("GET", "/lab")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        family = _descendants(proc.pid)          # kernels live in sessions of their own
        if proc.poll() is None:
            try:
                self._request("POST", "/api/shutdown", timeout=5)
            except Exception:
                pass
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _kill([proc.pid], signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    _kill([proc.pid], signal.SIGKILL)
                    proc.wait(timeout=10)
        left = [p for p in family if _alive(p)]
        _kill(left, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in left):
            time.sleep(0.1)
        _kill([p for p in left if _alive(p)], signal.SIGKILL)
        self._log.close()
        shutil.rmtree(self._private, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_tail(self, n=4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    # -- REST ------------------------------------------------------------
    def _request(self, method, path, body=None, timeout=10):
        sep = "&" if "?" in path else "?"
        url = f"{self.base}{path}{sep}token={self.token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()

    def api(self, method, path, body=None):
        raw = self._request(method, path, body)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw

    def kernel_setting(self, name: str):
        """The value JupyterLab's front end gets for a kernels-settings option."""
        plugin = self.api("GET", f"/lab/api/settings/{KERNEL_SETTINGS_PLUGIN}")
        return plugin["settings"].get(name, plugin["schema"]["properties"][name].get("default"))

    def shutdown_sessions(self):
        for s in self.api("GET", "/api/sessions") or []:
            try:
                self._request("DELETE", f"/api/sessions/{s['id']}")
            except urllib.error.HTTPError:
                pass

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={self.token}"


class Browser:
    """Headless Debian Chromium through playwright's sync API (persistent profile in a temp dir)."""

    def __init__(self, viewport=(1600, 1000)):
        self.viewport = viewport
        self._pw = None
        self.context = None
        self._profile = None

    def start(self):
        from playwright.sync_api import sync_playwright
        exe = chromium_path()
        if exe is None:
            raise RuntimeError("chromium is not on PATH (tools/course test installs Debian's package)")
        self._profile = tempfile.mkdtemp(prefix="course-chromium-")
        self._pw = sync_playwright().start()
        try:
            self.context = self._pw.chromium.launch_persistent_context(
                self._profile, executable_path=exe, args=CHROMIUM_ARGS, headless=True,
                viewport={"width": self.viewport[0], "height": self.viewport[1]})
        except Exception:
            self._pw.stop()
            raise
        return self

    def new_page(self):
        return self.context.new_page()

    def stop(self):
        try:
            if self.context is not None:
                self.context.close()
        finally:
            self.context = None
            if self._pw is not None:
                self._pw.stop()
                self._pw = None
            if self._profile:
                shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


_SHARED = {"browser": None, "users": 0}


def acquire_browser() -> Browser:
    """The process's one headless Chromium (playwright's sync API allows one driver per thread).

    Test modules each take it in a session fixture and give it back with
    :func:`release_browser`; the last one to give it back stops it.
    """
    if _SHARED["browser"] is None:
        _SHARED["browser"] = Browser().start()
    _SHARED["users"] += 1
    return _SHARED["browser"]


def release_browser():
    _SHARED["users"] -= 1
    if _SHARED["users"] <= 0 and _SHARED["browser"] is not None:
        b, _SHARED["browser"], _SHARED["users"] = _SHARED["browser"], None, 0
        b.stop()


# ---------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------

def pixels(png: bytes):
    import numpy as np
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


@dataclass
class Drawn:
    """How completely a matplotlib figure image is drawn."""
    width: int
    height: int
    ink: float                       # fraction of non-white pixels
    x_axis: bool                     # a long horizontal dark line (an axis spine)
    y_axis: bool                     # a long vertical dark line
    blocks: list = field(repr=False, default_factory=list)  # ink per cell of a 3x3 grid

    @property
    def ok(self) -> bool:
        return self.ink >= 0.01 and self.x_axis and self.y_axis


def drawn(png: bytes) -> Drawn:
    """Measure a figure: non-white ink, axis lines, ink per 3x3 block."""
    import numpy as np
    px = pixels(png)
    h, w, _ = px.shape
    inked = (px < 235).any(axis=2)
    dark = (px.max(axis=2) < 120)
    # An axis spine is one dark line through at least a third of the picture.
    x_axis = bool((dark.sum(axis=1) >= w / 3).any())
    y_axis = bool((dark.sum(axis=0) >= h / 3).any())
    blocks = [float(inked[i * h // 3:(i + 1) * h // 3, j * w // 3:(j + 1) * w // 3].mean())
              for i in range(3) for j in range(3)]
    return Drawn(w, h, float(inked.mean()), x_axis, y_axis, blocks)


def compare_to_reference(d: Drawn, ref: Drawn) -> list[str]:
    """Problems of figure ``d`` against a fully drawn reference of the same plot: size, missing parts."""
    problems = []
    # Within 10%: the static figure of the inline backend is cropped to its tight bounding box.
    if abs(d.width - ref.width) > 0.1 * ref.width or abs(d.height - ref.height) > 0.1 * ref.height:
        problems.append(f"size {d.width}x{d.height} far from the reference's {ref.width}x{ref.height}")
    for k, (a, b) in enumerate(zip(d.blocks, ref.blocks)):
        if b >= 0.02 and a < 0.25 * b:
            problems.append(f"block {k} of the 3x3 grid is nearly empty ({a:.3f} vs reference {b:.3f})")
    return problems


# ---------------------------------------------------------------------------
# A notebook in JupyterLab
# ---------------------------------------------------------------------------

_JS_PROMPTS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  return [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
}"""

# The figure of a slider box: optlib's data widget (a canvas painted from the kernel's
# scene, optlib/web/figure_core.js). Its root element keeps the last painted scene and a
# frame counter (data-optlib-frame), which is how a test knows a move was painted.
_JS_HELPERS = """
const courseFig = (box) => box && box.querySelector('.optlib-figure');
const courseBox = (k) => document.querySelector(`[data-course-live="${k}"]`);
const courseState = (k) => { const f = courseFig(courseBox(k)); return f && f._optlib; };
const courseScene = (scene) => JSON.parse(JSON.stringify(scene, (key, v) => key.startsWith('_') ? undefined : v));
"""

# Marks each slider cell's box (data-course-live=k) and the static figure after it
# (data-course-static=k); returns per box the kinds of its controls.
_JS_MARK = """() => {""" + _JS_HELPERS + """
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')];
  const boxes = [];
  cells.forEach((cell, i) => {
    const box = [...cell.querySelectorAll('.jp-OutputArea-output > .widget-vbox, .jp-OutputArea-output > .widget-box')]
      .find(b => courseFig(b) && b.querySelector('.widget-slider, .widget-hslider, .widget-checkbox'));
    if (!box) return;
    const k = boxes.length;
    box.setAttribute('data-course-live', String(k));
    let staticImg = null;
    for (let j = i + 1; j < cells.length && j <= i + 2; j++) {
      const img = [...cells[j].querySelectorAll('.jp-OutputArea-output img')].find(im => !im.closest('.jupyter-widgets'));
      if (img) { staticImg = img; break; }
    }
    if (staticImg) staticImg.setAttribute('data-course-static', String(k));
    const controls = [...box.querySelectorAll('.widget-slider, .widget-hslider, .widget-checkbox')]
      .filter(c => !c.parentElement.closest('.widget-slider, .widget-hslider, .widget-checkbox'))
      .map((c, n) => {
        c.setAttribute('data-course-control', String(n));
        const isBox = c.classList.contains('widget-checkbox');
        const label = isBox ? c : c.querySelector('.widget-label');
        return {index: n, kind: isBox ? 'checkbox' : 'slider',
                label: label ? label.textContent.replace(/\\u200b/g, '').trim() : ''};
      });
    boxes.push({cell: i, controls, has_static: staticImg !== null});
  });
  return boxes;
}"""

_JS_FIGURE = """(k) => {""" + _JS_HELPERS + """
  const root = courseFig(courseBox(k));
  const st = root && root._optlib;
  if (!st || !st.scene) return null;
  const canvas = root.querySelector('canvas');
  const r = canvas.getBoundingClientRect();
  const area = canvas.closest('.jp-OutputArea-output').getBoundingClientRect();
  return {png: canvas.toDataURL('image/png').split(',')[1], frame: st.frame,
          nw: st.scene.w, nh: st.scene.h, w: r.width, h: r.height,
          inside: r.left >= area.left - 1 && r.right <= area.right + 1,
          readout: root.querySelector('.optlib-figure-readout').textContent.trim(),
          scene: courseScene(st.scene)};
}"""

_JS_STATIC = """async (k) => {
  const img = document.querySelector(`[data-course-static="${k}"]`);
  if (!img) return null;
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return {png: btoa(s), nw: img.naturalWidth, nh: img.naturalHeight};
}"""

# Remembers the frame box k shows now and records when a new one was last painted.
_JS_WATCH = """(k) => {""" + _JS_HELPERS + """
  const root = courseFig(courseBox(k));
  window.__courseOldFrame = root && root._optlib ? root._optlib.frame : 0;
  window.__courseLastChange = performance.now();
  if (window.__courseObserver) window.__courseObserver.disconnect();
  window.__courseObserver = new MutationObserver(() => { window.__courseLastChange = performance.now(); });
  window.__courseObserver.observe(root, {attributes: true, attributeFilter: ['data-optlib-frame']});
}"""

# A new frame was painted and nothing has been painted for `quiet` ms.
_JS_SETTLED = """([k, quiet]) => {""" + _JS_HELPERS + """
  const st = courseState(k);
  return !!st && st.frame > window.__courseOldFrame && performance.now() - window.__courseLastChange > quiet;
}"""

_JS_LOADED = """(k) => {""" + _JS_HELPERS + """
  const st = courseState(k);
  return !!st && st.frame > 0;
}"""


class LabNotebook:
    """One notebook open in JupyterLab in ``page``."""

    def __init__(self, page, lab: JupyterLab, path: str):
        self.page, self.lab, self.path = page, lab, path

    def open(self, timeout=120_000):
        self.page.goto(self.lab.url(f"/lab/tree/{self.path}") + "&reset", timeout=timeout)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout)
        # kernel started and idle
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) "
                                    ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout)

    def wait_kernel_connected(self, timeout=120):
        """Until the notebook's kernel is idle and this page holds a connection to it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in self.lab.api("GET", "/api/sessions") or []:
                if s.get("path", "").endswith(self.path) and s.get("kernel"):
                    k = s["kernel"]
                    if k.get("execution_state") == "idle" and k.get("connections", 0) >= 1:
                        self.kernel_id = k["id"]
                        return k["id"]
            time.sleep(0.25)
        raise TimeoutError(f"kernel of {self.path} not connected and idle after {timeout} s")

    def run_all(self, timeout=300_000):
        """Run -> Run All Cells from the menu bar, then wait until every code cell has run."""
        self.wait_kernel_connected()
        for attempt in range(3):
            self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            self.page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel",
                              has_text="Run All Cells").first.click()
            try:   # the first cell is queued or has run: the request reached the kernel
                self.page.wait_for_function(
                    "() => { const p = (" + _JS_PROMPTS + ")(); return p && p.length > 0 && "
                    "p.some(t => /^\\[(\\*|\\d+)\\]/.test(t)); }", timeout=20_000)
                break
            except Exception:
                if attempt == 2:
                    raise
        self.page.wait_for_function(
            "(f) => { const p = (" + _JS_PROMPTS + ")(); return p && p.length > 0 && "
            "p.every(t => /^\\[\\d+\\]/.test(t)); }", arg=None, timeout=timeout)
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) "
                                    ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout)

    def errors(self) -> list[str]:
        """Tracebacks shown anywhere in the notebook (cell outputs and Output widgets)."""
        texts = self.page.eval_on_selector_all(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output",
            "els => els.map(e => e.textContent)")
        return [t[:800] for t in texts if "Traceback" in t]

    def live_boxes(self, expected: int, timeout=60_000):
        """Mark and describe the slider boxes once ``expected`` of them are rendered with their controls."""
        self.page.wait_for_function(f"(n) => ({_JS_MARK})().length >= n", arg=expected, timeout=timeout)
        return self.page.evaluate(_JS_MARK)

    def wait_first_figures(self, n, timeout=60_000):
        for k in range(n):
            self.page.wait_for_function(_JS_LOADED, arg=k, timeout=timeout)
        for k in range(n):     # and no further redraw is on its way
            self.page.evaluate(_JS_WATCH, k)
            self.page.evaluate("() => { window.__courseOldFrame = 0; }")
            self.wait_redrawn(k, quiet_ms=300, timeout=timeout)

    def figure(self, k):
        """Box ``k``'s figure: its pixels as PNG ("png"), sizes, whether it fits, the readout
        text, the painted scene ("scene": items, readout and the values it was drawn for)."""
        f = self.page.evaluate(_JS_FIGURE, k)
        if f is not None:
            f["png"] = base64.b64decode(f["png"])
        return f

    def static_figure(self, k):
        """The static default figure in the cell after slider box ``k`` (or None)."""
        f = self.page.evaluate(_JS_STATIC, k)
        if f is not None:
            f["png"] = base64.b64decode(f["png"])
        return f

    def control(self, k, n):
        return self.page.locator(f'[data-course-live="{k}"] [data-course-control="{n}"]')

    def image(self, k):
        return self.page.locator(f'[data-course-live="{k}"] .optlib-figure canvas').first

    def screenshot_figure(self, k, path, tries=5) -> tuple[bytes, int]:
        """What the screen shows of box ``k``'s figure, and the number of the frame it shows.

        Scrolls the figure into view and waits until its position is steady
        (JupyterLab's notebook lays cells out lazily while scrolling), and
        retries when the figure is replaced in the meantime.
        """
        last = None
        for _ in range(tries):
            img = self.image(k)
            try:
                img.scroll_into_view_if_needed(timeout=5_000)
                boxes = []
                for _ in range(20):
                    self.page.wait_for_timeout(100)
                    boxes.append(img.bounding_box())
                    if len(boxes) >= 3 and boxes[-1] == boxes[-2] == boxes[-3]:
                        break
                frame = self.page.evaluate(f"() => document.querySelector('[data-course-live=\"{k}\"] "
                                           f".optlib-figure')._optlib.frame")
                shot = img.screenshot(path=str(path), timeout=10_000)
                again = self.page.evaluate(f"() => document.querySelector('[data-course-live=\"{k}\"] "
                                           f".optlib-figure')._optlib.frame")
                if again == frame and img.bounding_box() == boxes[-1]:
                    return shot, frame
            except Exception as e:   # replaced or detached while we looked
                last = e
        raise RuntimeError(f"could not take a steady screenshot of figure {k}: {last}")

    def watch(self, k):
        self.page.evaluate(_JS_WATCH, k)

    def kernel_idle(self) -> bool:
        k = self.lab.api("GET", f"/api/kernels/{self.kernel_id}")
        return k.get("execution_state") == "idle"

    def wait_redrawn(self, k, quiet_ms=250, timeout=60_000):
        """Until box ``k`` shows a new figure, its kernel is idle and nothing changed for ``quiet_ms``."""
        deadline = time.monotonic() + timeout / 1000
        self.page.wait_for_function(_JS_SETTLED, arg=[k, quiet_ms], timeout=timeout, polling=50)
        while time.monotonic() < deadline:
            if self.kernel_idle() and self.page.evaluate(_JS_SETTLED, [k, quiet_ms]):
                return
            time.sleep(0.1)
        raise TimeoutError(f"figure {k} still changing after {timeout} ms")

    # -- moves -------------------------------------------------------------
    def slider_value(self, k, n) -> str:
        c = self.control(k, n)
        r = c.locator(".widget-readout")
        return r.text_content().strip() if r.count() else c.locator(".noUi-handle").get_attribute("aria-valuenow")

    def _focus(self, locator):
        """Focus an element and make sure it holds the focus before any key is pressed.

        (A key press that lands on the notebook instead would be a command:
        "0 0" restarts the kernel, "1" turns a cell into a heading.)
        """
        locator.scroll_into_view_if_needed()
        if not locator.evaluate("e => { e.focus(); return document.activeElement === e; }"):
            raise RuntimeError(f"could not focus {locator}")

    def type_slider_value(self, k, n, text):
        """Type ``text`` into a slider's editable readout (how the tests put a slider back)."""
        r = self.control(k, n).locator(".widget-readout")
        self._focus(r)
        r.evaluate("e => { const g = document.createRange(); g.selectNodeContents(e);"
                   " const s = getSelection(); s.removeAllRanges(); s.addRange(g); }")
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")

    def checked(self, k, n) -> bool:
        return self.control(k, n).locator("input[type=checkbox]").is_checked()

    def key_move(self, k, n, kind, key="ArrowRight"):
        c = self.control(k, n)
        if kind == "checkbox":
            self._focus(c.locator("input[type=checkbox]"))
            self.page.keyboard.press("Space")
        else:
            self._focus(c.locator(".noUi-handle"))
            self.page.keyboard.press(key)

    def mouse_move(self, k, n, kind, fraction=None):
        """Drag a slider's handle along its track (to ``fraction`` of it), or click a checkbox."""
        c = self.control(k, n)
        if kind == "checkbox":
            c.locator("input[type=checkbox]").click()
            return
        handle = c.locator(".noUi-handle")
        handle.scroll_into_view_if_needed()
        track = c.locator(".noUi-target").bounding_box()
        hb = handle.bounding_box()
        hx, hy = hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2
        if fraction is None:
            fraction = 0.25 if hx > track["x"] + track["width"] / 2 else 0.75
        tx = track["x"] + fraction * track["width"]
        m = self.page.mouse
        m.move(hx, hy)
        m.down()
        m.move(tx, hy, steps=4)
        m.up()


# ---------------------------------------------------------------------------
# A small slider notebook, for testing the harness itself and the course's
# JupyterLab settings independently of the lecture notebooks
# ---------------------------------------------------------------------------

FIXTURE_CELLS = [
    ("markdown", "# Slider fixture\n\nAdam on a narrow quadratic; the sliders set $\\eta$, $\\beta_1$ and the bias correction."),
    ("code", "%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt\n"
             "from optlib import plotting, widgets\nfrom optlib.optimizers import Adam\n"
             "from optlib.testfunctions import Quadratic\nfrom optlib.trajectory import trajectory\n"
             "plotting.use_course_style()\nf = Quadratic(condition=20)"),
    ("code", "fig, ax = plt.subplots()\nplotting.contour(f, ax)\n"
             "line = plotting.path(ax, trajectory(f, Adam, steps=60, lr=0.1), 'Adam')\n"
             "(bar,) = ax.bar([1.4], [1.0], 0.4, bottom=-1.9, color='0.45', zorder=2)   # a patch that moves too\n\n"
             "def update(lr, beta1, bias_correction):\n"
             "    t = trajectory(f, Adam, steps=60, lr=lr, betas=(beta1, 0.999), bias_correction=bias_correction)\n"
             "    plotting.set_path(line, t)\n"
             "    bar.set_height(0.5 + 2 * lr + beta1)\n"
             "    ax.set_title(f'Adam: $\\\\eta$ = {lr:.3g}, $\\\\beta_1$ = {beta1:.3f}')\n"
             "    return f'loss after 60 steps: {t.loss[-1]:.4g}'\n\n"
             "widgets.live(fig, update, lr=widgets.lr(0.1), beta1=widgets.beta1(0.9),\n"
             "             bias_correction=widgets.bias_correction(True))"),
    ("code", "widgets.show_default(fig, update, lr=0.1, beta1=0.9, bias_correction=True)"),
]

# Issue 10's trap: update() reads a global (`steps`) that a LATER cell rebinds, so after
# Run All the slider draws 5 steps while its cell (and its title before the move) says 60.
STALE_FIXTURE_CELLS = FIXTURE_CELLS[:2] + [
    ("code", "steps = 60"),
    ("code", "fig, ax = plt.subplots()\nplotting.contour(f, ax)\n"
             "line = plotting.path(ax, trajectory(f, Adam, steps=steps, lr=0.1), 'Adam')\n\n"
             "def update(lr):\n"
             "    t = trajectory(f, Adam, steps=steps, lr=lr)\n"
             "    plotting.set_path(line, t)\n"
             "    ax.set_title(f'Adam, {steps} steps: $\\\\eta$ = {lr:.3g}')\n"
             "    return f'loss after {steps} steps: {t.loss[-1]:.4g}'\n\n"
             "widgets.live(fig, update, lr=widgets.lr(0.1))"),
    ("code", "widgets.show_default(fig, update, lr=0.1)"),
    ("code", "steps = 5       # a later cell rebinds the global that update() reads"),
]


def write_fixture_notebook(path: Path, cells=None) -> Path:
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, src in (cells or FIXTURE_CELLS):
        nb.cells.append(nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src))
    for c in nb.cells:
        if c.cell_type == "code" and "widgets.live(" in c.source:
            c.metadata["tags"] = ["nbval-ignore-output"]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def execute_notebook(path: Path, timeout=180) -> Path:
    """Run ``path`` top to bottom in a fresh headless kernel and store its outputs (as tools/execute_notebooks.py)."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return path


# ---------------------------------------------------------------------------
# What the kernel would draw: each slider cell's update() in a separate headless
# kernel, called right after its own cell ran (before any later cell rebinds a global)
# ---------------------------------------------------------------------------

_REF_RECORD = """import optlib.widgets as _course_w
_COURSE_LIVE = []
def _course_live(fig, update, **controls):
    _COURSE_LIVE.append((fig, update, controls))
_course_w.live = _course_live
"""

_REF_FRAMES = """import json as _course_json
from optlib.figure_scene import scene_data as _course_data
_course_fig, _course_update, _course_controls = _COURSE_LIVE[-1]
_course_scene, _ = _course_w.prepare(_course_fig, _course_update, _course_controls)
print("COURSE_REF", _course_json.dumps([_course_data(_course_scene.frame(_course_update, **v))
                                        for v in _course_json.loads(REQUESTS)]))
"""


def reference_frames(nb_path: Path, requests: dict, timeout=300) -> dict:
    """``{k: [scene data, ...]}``: slider cell ``k``'s ``update(**values)`` for each ``values`` in
    ``requests[k]``, computed in a fresh headless kernel right after that cell ran.

    The notebook runs top to bottom with ``widgets.live`` recording instead of showing;
    after the k-th slider cell, the figure is prepared exactly as ``live`` does
    (:func:`optlib.widgets.prepare`) and each requested frame serialized
    (:func:`optlib.figure_scene.scene_data`). Cells after the last requested slider cell are skipped.
    """
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(nb_path, as_version=4)
    cells, k, last = [], 0, max(requests) if requests else -1
    first = True
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        cells.append(nbformat.v4.new_code_cell(c.source))
        if first:
            cells.append(nbformat.v4.new_code_cell(_REF_RECORD))
            first = False
        if re.search(r"\blive\(", c.source):
            if k in requests:
                cells.append(nbformat.v4.new_code_cell(
                    _REF_FRAMES.replace("REQUESTS", repr(json.dumps(requests[k])))))
            if k >= last:
                break
            k += 1
    run = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    NotebookClient(run, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(nb_path).parent)}}).execute()
    out, k = {}, 0
    for c in run.cells:
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream" and "COURSE_REF" in o.get("text", ""):
                while k not in requests:
                    k += 1
                out[k] = json.loads(o["text"].split("COURSE_REF", 1)[1].strip())
                k += 1
    return out


def same_frame(got: dict, want: dict, tol=0.11) -> list[str]:
    """Differences between two scene datas (items, texts, readout); empty when they show the same."""
    problems = []
    if got["readout"] != want["readout"]:
        problems.append(f"readout {got['readout']!r} != {want['readout']!r}")
    gi, wi = got["items"], want["items"]
    if [i["t"] for i in gi] != [i["t"] for i in wi]:
        return problems + [f"items {[i['t'] for i in gi]} != {[i['t'] for i in wi]}"]
    for n, (a, b) in enumerate(zip(gi, wi)):
        if a["t"] == "img":
            if a["text"] != b["text"]:
                problems.append(f"text {n}: {a['text']!r} != {b['text']!r}")
            continue
        if a["c"] != b["c"]:
            problems.append(f"line {n}: colour {a['c']} != {b['c']}")
        for what, pa, pb in [("path", a["xy"], b["xy"]), ("markers", [a["m"] or []], [b["m"] or []])]:
            if [len(x) for x in pa] != [len(x) for x in pb]:
                problems.append(f"line {n}: {what} has {[len(x) // 2 for x in pa]} points, "
                                f"expected {[len(x) // 2 for x in pb]}")
            elif any(abs(u - v) > tol for x, y in zip(pa, pb) for u, v in zip(x, y)):
                problems.append(f"line {n}: {what} differs by more than {tol} px")
    return problems


def scene_data(scene: dict) -> dict:
    from optlib.figure_scene import scene_data as data
    return data(scene)
