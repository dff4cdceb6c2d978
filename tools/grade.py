"""Grade a folder of submitted exercise notebooks into a gradebook CSV.

    tools/course grade SUBMISSIONS [-o GRADEBOOK.csv] [--jobs N]
                                   [--cell-timeout S] [--timeout S]

Layout: one folder per student, ``SUBMISSIONS/<student>/<NN_name>.ipynb``
(the shape of nbgrader's ``submitted/`` folder; deeper folders such as
``<student>/<assignment>/<NN_name>.ipynb`` also work: the student is always
the first folder under SUBMISSIONS). A notebook lying directly in SUBMISSIONS
counts as the submission of a student named after the file. The exercise a
notebook answers is found from its file name (it contains the release name,
e.g. ``03_adam``), else from the nbgrader grade ids of its cells.

How a notebook is graded (the student's kernel is never trusted):

1. the student's code cells run in a fresh ``python3`` kernel (nbclient), in a
   private temporary folder. A cell over ``--cell-timeout`` is interrupted and
   the run goes on; a kernel that ignores the interrupt, or a notebook over
   ``--timeout``, is killed. Errors do not stop the run. The release's locked
   cells (``exercises/``) are authoritative: a locked setup cell runs in its
   official version; the check cells are not run at all (they are the
   student's feedback, the grader's own collection replaces them). An edited
   locked cell is flagged ``tampered``, a deleted one ``cells missing``; both
   are restored and the rest is graded as usual.
2. then one injected collection cell per question loads the case inputs
   (public and hidden cases of ``optlib.checks``) from a file the grader wrote,
   calls the student's function on deep copies of them, and writes the return
   values and the inputs as the function left them to a JSON file (numbers and
   arrays only, decoded and validated by the grader, never unpickled). While
   the student's function runs, the optlib callables it must not use
   (``optlib.checks.REFERENCE_FUNCTIONS``) have their ``__code__`` swapped for
   a trap (which catches aliases such as ``from optlib.functional import
   adam_step as mine``), and a profile hook also catches calls into fresh
   copies of them and into ``optlib.checks``: the question scores 0, "calls
   optlib.<name>", status ``tampered``.
3. the grader process computes the expected outputs itself
   (``Question.reference``) and judges them (``Question.compare``, then
   ``Question.inputs_changed``): a question scores its points when every case
   passes, else 0, with the first failing case's diagnosis in the message.
   So a submission that replaces ``numpy.allclose`` or ``optlib.checks`` in
   its kernel changes nothing.

Statuses (one per row; the most serious wins, the message lists all):
``unreadable`` (empty, not JSON, not a notebook, no matching exercise),
``kernel died``, ``timeout``, ``tampered`` (a locked cell edited, or a question
calls optlib's reference implementation), ``cells missing`` (a locked cell
deleted), ``error`` (a cell raised, other than the ``NotImplementedError`` of
an unsolved stub, or a question's function is not defined, e.g. renamed),
``ok`` (which includes wrong and unsolved answers: they just score 0).

Speed: submissions are graded in parallel by a process pool (``--jobs``,
default all cores). Kernels are forked from one warm "zygote" process that has
imported ipykernel, numpy, optlib and scikit-learn once (``--no-fork`` starts
every kernel from scratch instead, about 1-2 s more per notebook), and the
cases and expected outputs are computed once, before the workers fork.

Output: ``GRADEBOOK.csv`` has one row per student: the points of every
question of every exercise, the total, the maximum (all exercises), the most
serious status of their notebooks, and a message naming each notebook's
problem and any exercise not submitted. ``GRADEBOOK-by-notebook.csv`` beside
it has one row per submitted notebook. Both are rewritten atomically
(temporary file + ``os.replace``) after every graded notebook, so an
interrupted run keeps every row graded so far, and a crash while grading one
notebook becomes that notebook's row.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures as cf
import copy
import csv
import importlib
import inspect
import json
import math
import multiprocessing
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RELEASE = ROOT / "exercises"

STATUSES = ["ok", "error", "cells missing", "tampered", "timeout", "kernel died", "unreadable"]
SEVERITY = {s: i for i, s in enumerate(STATUSES)}
MESSAGE_CHARS = 300          # the CSV's message column is cut to this length
MAX_NOTEBOOK_BYTES = 50_000_000
MAX_OUTPUT_FILE_BYTES = 64_000_000   # a question's output file from the kernel
FORK_KERNELS = True          # start kernels as forks of a warm zygote (see below)
INTERRUPT_GRACE = 5.0        # seconds a kernel gets to stop after a cell's time limit


# ---------------------------------------------------------------------------
# Code that runs inside the student's kernel. It is untrusted once the
# student's cells have run: everything it sends back is data (JSON of numbers
# and arrays) that the grader validates; the grader never unpickles it.
# ---------------------------------------------------------------------------
KERNEL_SOURCE = r'''
import base64 as _b64, copy as _copy, importlib as _importlib, json as _json
import os as _os, pickle as _pickle, sys as _sys, types as _types

_state = {"hits": [], "keys": {}}


class ReferenceCalled(BaseException):
    """Raised by a trapped optlib function (BaseException: `except Exception` won't swallow it)."""


def _resolve(name):
    module, _, attr = name.partition(":")
    obj = _importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _functions_of(obj):
    """The plain functions whose code a call to obj runs first (a class: its methods)."""
    if isinstance(obj, _types.FunctionType):
        return [obj]
    if isinstance(obj, type):
        found = []
        for value in vars(obj).values():
            value = getattr(value, "__func__", value)
            if isinstance(value, _types.FunctionType):
                found.append(value)
        return found
    return []


def setup(inputs_path):
    """Run BEFORE the student's cells: remember the original reference functions."""
    with open(inputs_path, "rb") as f:
        spec = _pickle.load(f)
    _state["spec"] = spec
    originals = {}
    for q in spec["questions"].values():
        for name in q["forbidden"]:
            if name in originals:
                continue
            try:
                obj = _resolve(name)
            except Exception:
                continue
            label = name.replace(":", ".")
            originals[name] = [(fn, fn.__code__, label) for fn in _functions_of(obj)]
    _state["originals"] = originals


def hit(label):
    _state["hits"].append(label)
    raise ReferenceCalled("calls " + label)


def _trap_code(fn, label):
    if fn.__code__.co_freevars:
        return None                 # cannot swap a closure's code; the profile hook still sees it
    ns = {}
    src = ("def {0}(*args, **kwargs):\n"
           "    import sys\n"
           "    sys.modules['_course_grader'].hit({1!r})\n").format(fn.__name__, label)
    exec(compile(src, "<course-grader-trap>", "exec"), ns)
    return ns[fn.__name__].__code__


def _install(forbidden):
    swapped, keys = [], {}
    for name in forbidden:
        for fn, code, label in _state["originals"].get(name, []):
            keys[(code.co_filename, code.co_name, code.co_firstlineno)] = label
            trap = _trap_code(fn, label)
            if trap is not None:
                swapped.append((fn, fn.__code__, fn.__defaults__, fn.__kwdefaults__))
                fn.__code__ = trap
    _state["keys"] = keys
    return swapped


def _restore(swapped):
    for fn, code, defaults, kwdefaults in swapped:
        fn.__code__ = code
        fn.__defaults__ = defaults
        fn.__kwdefaults__ = kwdefaults


def _profile(frame, event, arg):
    if event == "call":
        c = frame.f_code
        label = _state["keys"].get((c.co_filename, c.co_name, c.co_firstlineno))
        if label is None and c.co_filename == _state["spec"]["checks_file"]:
            label = "optlib.checks." + c.co_name
        if label is not None:
            _state["hits"].append(label)


_NUMERIC = "biufc"


def _enc(x, depth=0):
    if depth > 16:
        return {"__unsupported__": "nested too deep"}
    np = _sys.modules.get("numpy")
    if x is None or isinstance(x, (bool, int, float, str)) and type(x) in (bool, int, float, str):
        return x
    if np is not None and isinstance(x, np.ndarray) and type(x) is np.ndarray:
        if x.dtype.kind not in _NUMERIC or x.nbytes > 16_000_000:
            return {"__unsupported__": "array of dtype %s, %d bytes" % (x.dtype, x.nbytes)}
        a = np.ascontiguousarray(x)
        return {"__ndarray__": a.dtype.str, "shape": list(a.shape),
                "data": _b64.b64encode(a.tobytes()).decode("ascii")}
    if np is not None and isinstance(x, np.generic) and x.dtype.kind in _NUMERIC:
        return {"__scalar__": x.dtype.str, "data": _b64.b64encode(x.tobytes()).decode("ascii")}
    if type(x) is tuple:
        return {"__tuple__": [_enc(v, depth + 1) for v in x]}
    if type(x) is list:
        return [_enc(v, depth + 1) for v in x]
    if type(x) is dict and all(type(k) is str for k in x):
        return {"__dict__": [[k, _enc(v, depth + 1)] for k, v in x.items()]}
    return {"__unsupported__": type(x).__module__ + "." + type(x).__qualname__}


def _describe(e):
    text = str(e).strip().splitlines()
    return type(e).__name__ + (": " + text[0][:200] if text else "")


def collect(qid, user_ns):
    """Run AFTER the student's cells: call the student's function on every case."""
    q = _state["spec"]["questions"][qid]
    out = {"qid": qid, "defined": False, "results": []}
    fn = user_ns.get(q["function"])
    if callable(fn):
        out["defined"] = True
        for case in q["cases"]:
            _state["hits"] = []
            res = {}
            swapped = _install(q["forbidden"])
            try:
                kwargs = _copy.deepcopy(case)
                _sys.setprofile(_profile)
                try:
                    value = fn(**kwargs)
                finally:
                    _sys.setprofile(None)
                res["value"] = _enc(value)
                res["after"] = _enc({k: kwargs[k] for k in q["inputs"] if k in kwargs})
            except KeyboardInterrupt:
                raise                              # the cell's time limit: give up this question
            except NotImplementedError:
                res["error"] = "not implemented yet"
            except BaseException as e:             # ReferenceCalled, SystemExit, anything
                res["error"] = "raised " + _describe(e)
            finally:
                _restore(swapped)
                _state["keys"] = {}
            res["calls"] = list(dict.fromkeys(_state["hits"]))[:3]     # first calls first
            out["results"].append(res)
    path = _os.path.join(_state["spec"]["workdir"], "out_%s.json" % qid)
    with open(path + ".tmp", "w") as f:
        _json.dump(out, f)
    _os.replace(path + ".tmp", path)
'''

PRE_CELL = """\
import sys as _grader_sys, types as _grader_types
_grader_mod = _grader_types.ModuleType("_course_grader")
_grader_sys.modules["_course_grader"] = _grader_mod
exec(compile({source!r}, "<course-grader>", "exec"), _grader_mod.__dict__)
_grader_mod.setup({inputs!r})
del _grader_sys, _grader_types, _grader_mod
"""

COLLECT_CELL = """\
__import__("sys").modules["_course_grader"].collect({qid!r}, globals())
"""


# ---------------------------------------------------------------------------
# Warm kernels. Starting a python3 kernel costs 1-2 s of CPU (ipykernel,
# IPython, then numpy and optlib in the first cell). A grading run keeps one
# "zygote" process that has imported all that once; every submission's
# kernel is a fork of it (its own process and memory: what a student's code
# does there cannot reach the zygote, the worker or another kernel), running
# ipykernel's normal start-up with the connection file jupyter_client wrote.
# --no-fork launches every kernel the ordinary way instead.
# ---------------------------------------------------------------------------
ZYGOTE_SOURCE = r"""
import json, os, signal, sys
if sys.path and sys.path[0] == "":    # as ipykernel_launcher does: never import from the cwd
    del sys.path[0]
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
import importlib, importlib.util
for _name in ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
              "IPython.core.interactiveshell", "IPython.core.debugger", "sqlite3", "psutil", "pdb",
              "numpy", "optlib", "optlib.functional", "optlib.optimizers", "optlib.models",
              "optlib.data", "optlib.checks", "sklearn.datasets"):
    try:
        importlib.import_module(_name)
    except Exception:
        pass
_launcher = importlib.util.find_spec("ipykernel_launcher").origin
signal.signal(signal.SIGCHLD, signal.SIG_IGN)      # kernels are reaped automatically
requests, replies = sys.stdin.buffer, sys.stdout
replies.write("ready\n"); replies.flush()
for line in requests:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.environ.clear()
            os.environ.update(req["env"])
            os.chdir(req["cwd"])
            sys.argv = [_launcher, *req["argv"]]
            sys.stdin = open(os.devnull)
            from ipykernel.kernelapp import IPKernelApp
            IPKernelApp.launch_instance()
        finally:
            os._exit(0)
    replies.write(json.dumps({"pid": pid}) + "\n"); replies.flush()
"""

class Zygote:
    """A warm process that forks kernels on request. The grading run starts one
    before its worker processes fork, so they all share it: requests go one at
    a time under a lock; each is answered by one line, the new kernel's pid."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE_SOURCE], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     cwd=tempfile.gettempdir())
        self.pid = self.proc.pid
        self.lock = multiprocessing.get_context("fork").Lock()
        self.ready = False

    def _readline(self) -> str:
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("kernel zygote exited")
            buf += chunk
        return buf.decode()

    def wait_ready(self) -> "Zygote":
        with self.lock:
            if not self.ready:
                if self._readline().strip() != "ready":
                    raise RuntimeError("kernel zygote did not start")
                self.ready = True
        return self

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def fork_kernel(self, argv: list[str], env: dict, cwd: str) -> int:
        line = json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n"
        with self.lock:
            os.write(self.proc.stdin.fileno(), line.encode())
            return int(json.loads(self._readline())["pid"])

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


_ZYGOTE: Zygote | None = None


def _zygote() -> Zygote:
    """The zygote of this run (or, if there is none or it died, one of this process)."""
    global _ZYGOTE
    if _ZYGOTE is None or not _ZYGOTE.alive():
        _ZYGOTE = Zygote().wait_ready()
    return _ZYGOTE


class _ForkedProcess:
    """The little of subprocess.Popen that jupyter_client uses, for a forked kernel
    (a child of the zygote, which reaps it: poll() asks whether the pid still exists)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None
        self.stdin = self.stdout = self.stderr = None

    def poll(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -9
            except PermissionError:
                pass
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


def _forking_manager_class():
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd, **kwargs):
            argv = cmd[cmd.index("ipykernel_launcher") + 1:] if "ipykernel_launcher" in cmd else cmd[3:]
            env = {str(k): str(v) for k, v in (kwargs.get("env") or os.environ).items()}
            cwd = str(kwargs.get("cwd") or os.getcwd())
            try:
                pid = _zygote().fork_kernel(argv, env, cwd)
            except Exception:                        # no zygote: start the kernel the usual way
                return await super().launch_kernel(cmd, **kwargs)
            self.process = _ForkedProcess(pid)
            self.pid = self.pgid = pid              # the kernel leads its own process group
            self.cwd = cwd
            return self.connection_info

        async def wait(self):
            if not isinstance(self.process, _ForkedProcess):
                return await super().wait()
            while self.process.poll() is None:        # LocalProvisioner polls every 0.1 s
                await asyncio.sleep(0.01)
            ret, self.process = self.process.returncode, None
            return ret

    class ForkingKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                import uuid
                self.kernel_id = self.kernel_id or str(uuid.uuid4())
                self.provisioner = ForkProvisioner(kernel_id=self.kernel_id,
                                                   kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            await super()._async_wait(pollinterval=min(pollinterval, 0.01))   # a killed kernel is gone at once

    return ForkingKernelManager


# ---------------------------------------------------------------------------
# Release notebooks (exercises/) and the question registry (optlib.checks)
# ---------------------------------------------------------------------------
def grade_id(cell) -> str | None:
    nbg = (cell.get("metadata") or {}).get("nbgrader") or {}
    gid = nbg.get("grade_id")
    return gid if isinstance(gid, str) else None


_CHECK_CALLS = re.compile(r"\s*(checks\.\w+\([^\n]*\)\s*(#[^\n]*)?\n?\s*)+")


def is_check_cell(cell) -> bool:
    """A graded test cell, or a locked feedback cell that only calls optlib.checks."""
    nbg = (cell.get("metadata") or {}).get("nbgrader") or {}
    gid = grade_id(cell) or ""
    if nbg.get("solution"):
        return False
    if nbg.get("grade") or gid.endswith("_check"):
        return True
    return bool(nbg.get("locked")) and bool(_CHECK_CALLS.fullmatch(normalized(cell.get("source", "")) + "\n"))


@dataclass
class Release:
    name: str                       # file stem, e.g. "03_adam_step"
    questions: list[str]            # qids in notebook order
    points: dict[str, float]
    locked: dict[str, tuple[str, bool]]   # grade_id -> (official source, is a check cell), in order
    grade_ids: set[str] = field(default_factory=set)


def load_releases(release_dir: Path) -> dict[str, Release]:
    import nbformat
    checks = _checks()
    releases = {}
    for path in sorted(release_dir.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        qids, points, locked, gids = [], {}, {}, set()
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid is None:
                continue
            gids.add(gid)
            nbg = cell.metadata["nbgrader"]
            if cell.cell_type != "code" or nbg.get("solution"):
                continue
            if nbg.get("locked") or is_check_cell(cell):
                locked[gid] = (cell.source, is_check_cell(cell))
            qid = gid[: -len("_check")]
            if gid.endswith("_check") and nbg.get("grade") and qid in checks.QUESTIONS:
                qids.append(qid)
                points[qid] = float(nbg.get("points", checks.QUESTIONS[qid].points))
        if qids:
            releases[path.stem] = Release(path.stem, qids, points, locked, gids)
    return releases


def qualified_name(obj) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


# ---------------------------------------------------------------------------
# Grading one submission (runs in a worker process)
# ---------------------------------------------------------------------------
@dataclass
class Row:
    student: str
    notebook: str
    path: str
    points: dict[str, float] = field(default_factory=dict)
    max_points: float = 0.0
    status: str = "ok"
    issues: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def flag(self, status: str, message: str) -> None:
        if SEVERITY[status] > SEVERITY[self.status]:
            self.status = status
        self.issues.append(message)

    @property
    def total(self) -> float:
        return sum(self.points.values())

    @property
    def message(self) -> str:
        return shorten("; ".join(dict.fromkeys(self.issues)))


def shorten(text: str, n: int = MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def identify(path: Path, root: Path, releases: dict[str, Release], nb=None) -> tuple[str, str | None]:
    """(student, release name or None) of a submitted notebook."""
    rel = path.relative_to(root)
    student = rel.parts[0] if len(rel.parts) > 1 else path.stem
    for name in sorted(releases, key=len, reverse=True):
        if name in path.stem:
            if len(rel.parts) == 1 and path.stem != name:
                student = path.stem.replace(name, "").strip("_- .") or path.stem
            return student, name
    if nb is not None:
        gids = {grade_id(c) for c in nb.get("cells", []) if isinstance(c, dict)} - {None}
        best = max(releases.values(), key=lambda r: len(r.grade_ids & gids), default=None)
        if best is not None and best.grade_ids & gids:
            return student, best.name
    return student, None


def read_notebook(path: Path):
    """The notebook as a NotebookNode, or raise ValueError with a short reason."""
    import nbformat
    size = path.stat().st_size
    if size == 0:
        raise ValueError("empty file")
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"file of {size / 1e6:.0f} MB")
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError("empty file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"corrupt JSON ({shorten(e, 80)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("not a notebook (no list of cells)")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as e:   # old or odd nbformat: take the cells as they are
        raise ValueError(f"not a readable notebook ({shorten(e, 80)})") from None
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str):
            raise ValueError("not a readable notebook (bad cell source)")
    return nb


_HIDDEN_TESTS = re.compile(r"^### BEGIN HIDDEN TESTS\n.*?^### END HIDDEN TESTS\n?", re.S | re.M)


def normalized(source: str) -> str:
    """Cell source for comparison: hidden-test blocks (the instructor's copy) and
    surrounding blank space do not count as edits."""
    return _HIDDEN_TESTS.sub("", source).strip()


def plan_cells(nb, release: Release, row: Row) -> list[tuple[str, str]]:
    """The (source, label) of the cells to run, in order: the student's code
    cells, with the release's locked cells in their official version. Check
    cells are not run (the grader's collection cells replace them), so a
    deleted or edited one is restored by construction; a deleted setup cell is
    put back at the top. Edits are flagged ``tampered``, deletions ``cells missing``."""
    present = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is not None and gid not in present:
            present[gid] = cell
    missing = []
    for gid, (official, is_check) in release.locked.items():
        cell = present.get(gid)
        if cell is None:
            row.flag("cells missing", f"locked cell {gid} deleted (restored)")
            if not is_check:
                missing.append((official, f"restored {gid}"))
        elif cell.cell_type != "code" or normalized(cell.source) != normalized(official):
            row.flag("tampered", f"locked cell {gid} edited (restored)")
    plan = list(missing)
    seen = set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = grade_id(cell)
        if gid in release.locked:
            official, is_check = release.locked[gid]
            if is_check or gid in seen:
                continue
            seen.add(gid)
            plan.append((official, cell_label(i, cell)))
        elif not is_check_cell(cell):
            plan.append((cell.source, cell_label(i, cell)))
    return plan


class _Client:
    """nbclient's NotebookClient that counts printed output instead of keeping it,
    and waits for a new kernel without jupyter_client's fixed 0.2 s of silence
    on IOPub (nbclient matches output to its cell by message id anyway)."""

    def __new__(cls, *args, **kwargs):
        from nbclient import NotebookClient

        class Client(NotebookClient):
            output_bytes = 0

            def output(self, outs, msg, display_id, cell_index):
                content = msg.get("content", {})
                self.output_bytes += len(str(content.get("text", ""))) + sum(
                    len(str(v)) for v in (content.get("data") or {}).values())
                return None

            async def async_start_new_kernel_client(self):
                self.kc = self.km.client()
                try:
                    await self.kc.start_channels() if asyncio.iscoroutinefunction(self.kc.start_channels) \
                        else self.kc.start_channels()
                    await _wait_for_kernel(self.kc, self.startup_timeout)
                except Exception:
                    await self._async_cleanup_kernel()
                    raise
                self.kc.allow_stdin = False
                return self.kc

        return Client(*args, **kwargs)


async def _wait_for_kernel(kc, timeout: float) -> None:
    """jupyter_client's wait_for_ready: a kernel_info reply on shell, then any
    message on IOPub (so its subscription is live), retried until the deadline."""
    from queue import Empty
    deadline = time.monotonic() + timeout
    while True:
        kc.kernel_info()
        try:
            msg = await kc.shell_channel.get_msg(timeout=1)
        except Empty:
            msg = None
        if msg is not None and msg["msg_type"] == "kernel_info_reply":
            try:
                await kc.iopub_channel.get_msg(timeout=0.05)
            except Empty:
                pass
            else:
                kc._handle_kernel_info_reply(msg)
                return
        if not await kc._async_is_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")


def cell_label(index: int, cell) -> str:
    gid = grade_id(cell)
    return f"cell {index + 1}" + (f" ({gid})" if gid else "")


async def run_kernel(cells, labels, workdir: Path, cell_timeout: float, deadline: float,
                     notebook_timeout: float, row: Row) -> None:
    """Execute cells in a fresh kernel, recording errors, timeouts and death on row.

    Time limits: nbclient interrupts a cell at cell_timeout and the run goes on
    with the next cell; a kernel that does not answer INTERRUPT_GRACE seconds
    after an interrupt, or a notebook past its deadline, has its kernel killed."""
    import nbformat
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = _Client(nb, kernel_name="python3", timeout=int(math.ceil(cell_timeout)),
                     interrupt_on_timeout=True, allow_errors=True, iopub_timeout=2,
                     record_timing=False, shell_timeout_interval=1,
                     error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": []},
                     shutdown_kernel="immediate",
                     extra_arguments=["--HistoryManager.hist_file=:memory:"],
                     resources={"metadata": {"path": str(workdir)}})
    if FORK_KERNELS:
        client.kernel_manager_class = _forking_manager_class()
    errors = []

    def on_cell_error(cell, cell_index, execute_reply):
        c = execute_reply["content"]
        errors.append((cell_index, c.get("ename", "Error"), c.get("evalue", "")))

    client.on_cell_error = on_cell_error
    killed: list[str] = []            # why the grader killed the kernel, if it did

    async def kill_after(seconds: float, why: str):
        await asyncio.sleep(max(0.0, seconds))
        killed.append(why)
        await client.km._async_kill_kernel()    # nbclient then sees a dead kernel

    index = 0
    try:
        async with client.async_setup_kernel(cwd=str(workdir), stderr=subprocess.DEVNULL):
            watchdog = asyncio.ensure_future(kill_after(deadline - time.monotonic(), "notebook"))
            try:
                for index, cell in enumerate(nb.cells):
                    n_errors = len(errors)
                    await client.async_execute_cell(cell, index)
                    for _, ename, evalue in errors[n_errors:]:
                        label = labels[index]
                        if ename == "CellTimeoutError":
                            row.flag("timeout", f"{label}: over the {cell_timeout:g} s cell limit")
                            # nbclient interrupted the kernel: is it listening again?
                            grace = asyncio.ensure_future(kill_after(INTERRUPT_GRACE, label))
                            try:
                                await client.async_execute_cell(nbformat.v4.new_code_cell("pass"), index)
                            finally:
                                grace.cancel()
                        elif ename == "NotImplementedError" and label.startswith("cell"):
                            pass                  # an unsolved stub called at top level
                        else:
                            first = re.sub(r"\(\d+\.py, (line \d+)\)", r"(\1)", evalue or "").strip().splitlines()
                            row.flag("error", f"{label}: {ename}" + (f": {first[0]}" if first else ""))
            finally:
                watchdog.cancel()
    except DeadKernelError:
        if not killed:
            row.flag("kernel died", f"kernel died in {labels[index]}")
        elif killed[0] == "notebook":
            row.flag("timeout", f"{labels[index]}: notebook over the {notebook_timeout:g} s limit")
        else:
            row.flag("timeout", f"{killed[0]}: kernel ignored the interrupt, stopped")
    if client.output_bytes > 1_000_000:
        row.issues.append(f"printed {client.output_bytes / 1e6:.1f} MB (not kept)")


def decode(x, depth=0):
    """Validate and rebuild a value sent by the kernel (JSON; arrays as base64)."""
    import numpy as np
    if depth > 20:
        raise ValueError("nested too deep")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, list):
        return [decode(v, depth + 1) for v in x]
    if isinstance(x, dict):
        if "__ndarray__" in x or "__scalar__" in x:
            dtype = np.dtype(str(x.get("__ndarray__", x.get("__scalar__"))))
            if dtype.kind not in "biufc":
                raise ValueError(f"dtype {dtype}")
            buf = base64.b64decode(str(x["data"]), validate=True)
            if "__scalar__" in x:
                if len(buf) != dtype.itemsize:
                    raise ValueError("bad scalar")
                return np.frombuffer(buf, dtype=dtype)[0]
            shape = tuple(int(s) for s in x["shape"])
            if math.prod(shape) * dtype.itemsize != len(buf) or any(s < 0 for s in shape):
                raise ValueError("bad array")
            return np.frombuffer(buf, dtype=dtype).reshape(shape).copy()
        if "__tuple__" in x:
            return tuple(decode(v, depth + 1) for v in x["__tuple__"])
        if "__dict__" in x:
            return {str(k): decode(v, depth + 1) for k, v in x["__dict__"]}
        if "__unsupported__" in x:
            return Unsupported(str(x["__unsupported__"])[:100])
    raise ValueError(f"unexpected {type(x).__name__}")


class Unsupported:
    """A returned value the kernel could not send (e.g. a custom object)."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"<unsupported {self.what}>"


def score_question(qid: str, points: float, cases: list, outfile: Path, row: Row) -> None:
    checks = _checks()
    question = checks.QUESTIONS[qid]
    row.points[qid] = 0.0
    if not outfile.exists():
        if row.status in ("ok", "error", "tampered", "cells missing"):
            row.flag("error", f"{qid}: no result from the kernel")
        return
    try:
        if outfile.stat().st_size > MAX_OUTPUT_FILE_BYTES:
            raise ValueError("output file too large")
        out = json.loads(outfile.read_text())
        results = out["results"]
        defined = bool(out["defined"])
    except Exception as e:
        row.flag("tampered", f"{qid}: unreadable output ({shorten(e, 60)})")
        return
    if not defined:
        row.flag("error", f"{qid}: {question.function} is not defined")
        return
    if len(results) != len(cases):
        row.flag("tampered", f"{qid}: {len(results)} results for {len(cases)} cases")
        return
    calls = list(dict.fromkeys(str(c) for r in results for c in (r.get("calls") or [])))
    if calls:
        row.flag("tampered", f"{qid}: calls {calls[0]}"[:120])
        return
    for i, (case, res) in enumerate(zip(cases, results)):
        where = f" [case {i + 1}/{len(cases)}: {describe(question, case)}]"
        if "error" in res:
            row.issues.append(f"{qid}: {shorten(res['error'], 100)}" + ("" if res["error"] == "not implemented yet" else where))
            return
        try:
            got = decode(res.get("value"))
            odd = [x for x in (got if isinstance(got, (tuple, list)) else [got]) if isinstance(x, Unsupported)]
            if odd:
                row.issues.append(f"{qid}: {question.function} returned {odd[0].what}, not numbers or arrays{where}")
                return
            expected = reference(qid, i, case)
            ok, message = question.compare(got, expected, copy.deepcopy(case))
            if ok:
                after = decode(res.get("after"))
                changed = question.inputs_changed(case, after) if isinstance(after, dict) else "inputs not sent back"
                ok, message = changed is None, changed
        except Exception as e:
            ok, message = False, f"wrong result ({type(e).__name__}: {shorten(e, 80)})"
        if not ok:
            row.issues.append(f"{qid}: {shorten(message, 100)}{where}")
            return
    row.points[qid] = points


def describe(question, case) -> str:
    try:
        return question.describe(case)
    except Exception:
        return "?"


_REFERENCE_CACHE: dict = {}


def reference(qid: str, i: int, case: dict):
    """Question.reference for case i of qid, computed once per worker process."""
    key = (os.environ.get("COURSE_CHECKS_MODULE", ""), qid, i)
    if key not in _REFERENCE_CACHE:
        _REFERENCE_CACHE[key] = _checks().QUESTIONS[qid].reference(**copy.deepcopy(case))
    return copy.deepcopy(_REFERENCE_CACHE[key])


_SPEC_CACHE: dict = {}


def question_spec(qid: str) -> dict:
    """What the kernel needs for question qid: the function's name, the cases
    (public then hidden, as the check cell runs them), the inputs that must not
    change, and the optlib callables it must not call."""
    key = (os.environ.get("COURSE_CHECKS_MODULE", ""), qid)
    if key not in _SPEC_CACHE:
        checks = _checks()
        q = checks.QUESTIONS[qid]
        cases = list(q.cases(hidden=False)) + list(q.cases(hidden=True))
        forbidden = [qualified_name(f) for f in checks.REFERENCE_FUNCTIONS.get(qid, [])]
        _SPEC_CACHE[key] = {"function": q.function, "cases": cases, "forbidden": forbidden,
                            "inputs": list(getattr(q, "inputs", ()))}
    return _SPEC_CACHE[key]


def grade_one(path: str, root: str, release_dir: str, cell_timeout: float, timeout: float) -> Row:
    """Grade one submitted notebook. Never raises: every failure becomes the row."""
    start = time.monotonic()
    p, r = Path(path), Path(root)
    releases = _releases(release_dir)
    row = Row(student=identify(p, r, releases)[0], notebook=p.stem, path=str(p.relative_to(r)))
    try:
        try:
            nb = read_notebook(p)
        except (ValueError, OSError) as e:
            student, name = identify(p, r, releases)
            row.student = student
            if name:
                row.notebook = name
                row.points = {q: 0.0 for q in releases[name].questions}
                row.max_points = sum(releases[name].points.values())
            row.flag("unreadable", str(e))
            return row
        student, name = identify(p, r, releases, nb)
        row.student = student
        if name is None:
            row.flag("unreadable", "matches no exercise notebook")
            return row
        release = releases[name]
        row.notebook = name
        row.max_points = sum(release.points.values())
        row.points = {q: 0.0 for q in release.questions}
        _grade_cells(nb, release, row, cell_timeout, start + timeout, timeout)
    except Exception as e:      # a bug or an oddity in the grader: this row only
        row.flag("error", f"grader failed: {type(e).__name__}: {shorten(e, 100)}")
        traceback.print_exc(file=sys.stderr)
    finally:
        row.seconds = time.monotonic() - start
    return row


def _grade_cells(nb, release: Release, row: Row, cell_timeout: float, deadline: float, timeout: float):
    import nbformat
    checks = _checks()
    workdir = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        specs = {q: question_spec(q) for q in release.questions}
        inputs = {"questions": specs, "workdir": str(workdir),
                  "checks_file": inspect.getfile(checks)}
        inputs_path = workdir / "inputs.pkl"
        with open(inputs_path, "wb") as f:
            pickle.dump(inputs, f)
        cells = [nbformat.v4.new_code_cell(PRE_CELL.format(source=KERNEL_SOURCE, inputs=str(inputs_path)))]
        labels = ["grader setup"]
        for source, label in plan_cells(nb, release, row):
            cells.append(nbformat.v4.new_code_cell(source))
            labels.append(label)
        for q in release.questions:
            cells.append(nbformat.v4.new_code_cell(COLLECT_CELL.format(qid=q)))
            labels.append(f"{q}")
        asyncio.run(run_kernel(cells, labels, workdir, cell_timeout, deadline, timeout, row))
        for q in release.questions:
            score_question(q, release.points[q], specs[q]["cases"], workdir / f"out_{q}.json", row)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _checks():
    """The question registry (optlib.checks; COURSE_CHECKS_MODULE names another, for tests)."""
    return importlib.import_module(os.environ.get("COURSE_CHECKS_MODULE", "optlib.checks"))


_RELEASE_CACHE: dict[str, dict[str, Release]] = {}


def _releases(release_dir: str) -> dict[str, Release]:
    if release_dir not in _RELEASE_CACHE:
        _RELEASE_CACHE[release_dir] = load_releases(Path(release_dir))
    return _RELEASE_CACHE[release_dir]


# ---------------------------------------------------------------------------
# Made-up submissions (for the tests and the benchmark)
# ---------------------------------------------------------------------------
_SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)", re.M)


def solution_sources(name: str, solutions_dir: Path = ROOT / "solutions") -> dict[str, str]:
    """grade_id -> the instructor's answer, solution markers removed, for solutions/<name>.ipynb."""
    import nbformat
    nb = nbformat.read(solutions_dir / f"{name}.ipynb", as_version=4)
    return {grade_id(c): _SOLUTION_MARKERS.sub("", c.source) for c in nb.cells
            if ((c.metadata.get("nbgrader") or {}).get("solution") and grade_id(c))}


def make_submission(name: str, solved: bool = True, replace=None, drop=(), after=None,
                    release_dir: Path = DEFAULT_RELEASE):
    """exercises/<name> as a student could hand it in.

    solved: every answer cell holds the instructor's answer (else the stub);
    replace: {grade_id: new source}; drop: grade ids of cells to delete;
    after: {grade_id: source of a new code cell inserted after that cell}."""
    import nbformat
    nb = nbformat.read(release_dir / f"{name}.ipynb", as_version=4)
    answers = solution_sources(name) if solved else {}
    answers.update(replace or {})
    cells = []
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in drop:
            continue
        if gid in answers:
            cell.source = answers[gid]
        cells.append(cell)
        if gid in (after or {}):
            cells.append(nbformat.v4.new_code_cell(after[gid]))
    nb.cells = cells
    return nb


# ---------------------------------------------------------------------------
# The class: discovery, process pool, gradebook
# ---------------------------------------------------------------------------
def find_submissions(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts and p.is_file())


def by_notebook_path(out: Path) -> Path:
    """Where the per-notebook detail goes: gradebook.csv -> gradebook-by-notebook.csv."""
    return out.with_name(out.stem + "-by-notebook" + (out.suffix or ".csv"))


def _atomic_csv(out: Path, header: list[str], lines) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gradebook-", suffix=".csv", dir=out.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(lines)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def student_rows(rows: list[Row], releases: dict[str, Release]):
    """One row per student: every question's points, total, out of the whole set, worst status."""
    by_student: dict[str, list[Row]] = {}
    for row in rows:
        by_student.setdefault(row.student, []).append(row)
    class_max = sum(sum(r.points.values()) for r in releases.values())
    for student in sorted(by_student):
        mine = sorted(by_student[student], key=lambda r: (r.notebook, r.path))
        points: dict[str, float] = {}
        status, notes = "ok", []
        for r in mine:
            for q, v in r.points.items():
                points[q] = max(v, points.get(q, v))          # the better of two copies
            if SEVERITY[r.status] > SEVERITY[status]:
                status = r.status
            if r.message:
                notes.append(f"{r.notebook}: {r.message}")
        seen = {r.notebook for r in mine}
        if sum(r.notebook == n for r in mine for n in seen) > len(seen):
            notes.append("several files for one exercise: the better score counts")
        missing = [n for n in releases if n not in seen]
        if missing:
            notes.append("not submitted: " + ", ".join(missing))
        yield student, points, sum(points.values()), class_max, status, shorten("; ".join(notes), 3 * MESSAGE_CHARS)


def write_gradebook(rows: list[Row], qids: list[str], out: Path, releases: dict[str, Release]) -> None:
    """Two CSVs, each replaced atomically: ``out`` with one row per student, and
    ``*-by-notebook.csv`` beside it with one row per submitted notebook."""
    _atomic_csv(by_notebook_path(out), ["student", "notebook", "file", *qids, "total", "max", "status", "message"],
                ([row.student, row.notebook, row.path,
                  *[fmt(row.points[q]) if q in row.points else "" for q in qids],
                  fmt(row.total), fmt(row.max_points), row.status, row.message]
                 for row in sorted(rows, key=lambda r: (r.student, r.notebook, r.path))))
    _atomic_csv(out, ["student", *qids, "total", "max", "status", "message"],
                ([student, *[fmt(pts[q]) if q in pts else "" for q in qids], fmt(total), fmt(mx), status, msg]
                 for student, pts, total, mx, status, msg in student_rows(rows, releases)))


def fmt(x: float) -> str:
    return f"{x:g}"


def grade_class(root: Path, out: Path, jobs: int, cell_timeout: float, timeout: float,
                release_dir: Path = DEFAULT_RELEASE, progress=None) -> list[Row]:
    root = root.resolve()
    releases = _releases(str(release_dir))
    if not releases:
        raise SystemExit(f"no exercise notebooks with check cells in {release_dir}")
    qids = [q for r in releases.values() for q in r.questions]
    paths = find_submissions(root)
    write_gradebook([], qids, out, releases)
    args = (str(root), str(release_dir), cell_timeout, timeout)
    ctx = multiprocessing.get_context("fork")
    # Work done here once is inherited by every worker (they are forks of this
    # process): the kernel zygote, the imports, the cases and expected outputs.
    global _ZYGOTE
    zygote = _ZYGOTE = Zygote() if FORK_KERNELS and paths else None
    try:
        warm_up(releases)
        if zygote is not None:
            zygote.wait_ready()
        return _grade_all(paths, root, out, qids, releases, args, ctx, jobs, progress)
    finally:
        if zygote is not None:
            zygote.close()
            _ZYGOTE = None


def warm_up(releases: dict[str, Release]) -> None:
    import nbclient  # noqa: F401
    from jupyter_client.manager import AsyncKernelManager  # noqa: F401
    for release in releases.values():
        for qid in release.questions:
            for i, case in enumerate(question_spec(qid)["cases"]):
                try:
                    reference(qid, i, case)
                except Exception:
                    pass


def _grade_all(paths, root, out, qids, releases, args, ctx, jobs, progress) -> list[Row]:
    rows: list[Row] = []

    def done(row):
        rows.append(row)
        write_gradebook(rows, qids, out, releases)
        if progress:
            progress(row, len(rows), len(paths))

    # A worker process that dies (it should not: student code runs in kernels,
    # never in the workers) breaks the pool and fails every notebook in flight.
    # Those are then graded again one by one, each in a pool of its own, so only
    # the notebook that kills its worker ends up with an error row.
    suspects = []
    with cf.ProcessPoolExecutor(max_workers=max(1, min(jobs, len(paths))), mp_context=ctx) as pool:
        futures = {pool.submit(grade_one, str(p), *args): p for p in paths}
        for fut in cf.as_completed(futures):
            try:
                row = fut.result()
            except cf.process.BrokenProcessPool:
                suspects.append(futures[fut])
                continue
            except Exception as e:
                row = crashed_row(futures[fut], root, releases, f"grader failed: {type(e).__name__}: {e}")
            done(row)
    for path in sorted(suspects):
        with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            try:
                row = pool.submit(grade_one, str(path), *args).result()
            except cf.process.BrokenProcessPool:
                row = crashed_row(path, root, releases, "grader process died")
            except Exception as e:
                row = crashed_row(path, root, releases, f"grader failed: {type(e).__name__}: {e}")
        done(row)
    return rows


def crashed_row(path: Path, root: Path, releases, message: str) -> Row:
    student, name = identify(path, root, releases)
    row = Row(student=student, notebook=name or path.stem, path=str(path.relative_to(root)))
    if name:
        row.points = {q: 0.0 for q in releases[name].questions}
        row.max_points = sum(releases[name].points.values())
    row.flag("error", message)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tools/course grade", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("submissions", type=Path, help="folder of submitted notebooks (SUBMISSIONS/<student>/<NN_name>.ipynb)")
    ap.add_argument("-o", "--output", type=Path,
                    help="gradebook CSV, one row per student (default: SUBMISSIONS/gradebook.csv); "
                         "the per-notebook detail goes beside it, to *-by-notebook.csv")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks graded at once (default: all cores)")
    ap.add_argument("--cell-timeout", type=float, default=30.0, help="seconds per cell (default 30)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per notebook (default 120)")
    ap.add_argument("--release", type=Path, default=DEFAULT_RELEASE, help="release notebooks (default: exercises/)")
    ap.add_argument("--no-fork", action="store_true",
                    help="start every kernel from scratch instead of forking a warm one (slower)")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    if not a.submissions.is_dir():
        ap.error(f"{a.submissions} is not a folder")
    out = a.output or a.submissions / "gradebook.csv"
    global FORK_KERNELS
    FORK_KERNELS = not a.no_fork
    os.environ.setdefault("MPLBACKEND", "Agg")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    t0 = time.monotonic()

    def progress(row, done, total):
        if not a.quiet:
            print(f"[{done}/{total}] {time.monotonic() - t0:5.1f}s {row.seconds:5.1f}s {row.student:<16} {row.notebook:<20} "
                  f"{fmt(row.total):>5}/{fmt(row.max_points):<5} {row.status:<12} {row.message[:70]}",
                  file=sys.stderr)

    rows = grade_class(a.submissions, out, a.jobs, a.cell_timeout, a.timeout, a.release, progress)
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"graded {len(rows)} notebooks in {time.monotonic() - t0:.1f} s ({summary}) -> {out} "
          f"(per notebook: {by_notebook_path(out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
