"""The grader's side of the sandbox: bubblewrap's command line, the kernel zygote, each notebook's folder.

One zygote (``zygote.py``) runs per grading run, inside bubblewrap, and forks
every notebook's kernel into namespaces of its own (see zygote.py). This
module starts it, talks to it, and owns the spool folder it shares with the
grader: one sub-folder per notebook, ``SPOOL/ID/``, holding

* ``ipc/``: the kernel's sockets (jupyter_client's ``ipc`` transport: a
  network namespace has a loopback of its own, so TCP cannot cross it) and the
  two files the kernel reads, its connection file and the question cases.
  The kernel sees it as ``IPC``, read-only once its sockets exist.
* ``alive``: locked while any process of the notebook exists;
* ``status``: why its sandbox ended (written by the zygote's box process).

The kernel's own folder (``WORK``, its home and current folder) and its /tmp are
size-limited tmpfs mounts that vanish with it.
"""
from __future__ import annotations

import fcntl
import importlib.util
import itertools
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ZYGOTE_FILE = HERE / "zygote.py"
KERNEL_UID = KERNEL_GID = 65534        # "nobody": the kernels' user when the grader runs as root
INSTALL_HINT = ("install bubblewrap (`tools/course grade` does: apt-get install bubblewrap) and allow "
                "unprivileged user namespaces (Ubuntu 24.04: sysctl kernel.apparmor_restrict_unprivileged_userns=0), "
                "or grade inside a container of your own with --no-sandbox")

GB, MB = 2**30, 2**20
# Where a kernel's things are, as the kernel sees them (zygote.py mounts them)
WORK = "/home/student"           # its folder, home and current folder: a private tmpfs
IPC = "/run/kernel"              # its sockets and input files: SPOOL/ID/ipc, read-only once it runs
SPOOL = "/run/spool"             # the whole spool, seen by the zygote only


@dataclass(frozen=True)
class Limits:
    """What one notebook may use (all its processes together, except cpu: per process)."""
    memory: int = 2 * GB        # bytes of memory
    processes: int = 128        # processes and threads
    disk: int = 512 * MB        # bytes in its folder, in its /tmp, and in any one file
    cpu: int = 600              # CPU seconds per process

    def as_dict(self) -> dict:
        return asdict(self)


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made here; the message says why and how to get one."""


# ---------------------------------------------------------------------------
# What the sandbox sees
# ---------------------------------------------------------------------------
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def readonly_paths() -> list[str]:
    """Folders bound read-only into the sandbox, besides the system: Python, the
    course's .venv (and any other site-packages on the path), optlib (an
    editable install lives in the repository) and this package (the zygote and
    the code run in the student's kernel)."""
    paths = [sys.base_prefix, sys.prefix, str(HERE)]
    paths += [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]
    spec = importlib.util.find_spec("optlib")
    if spec is not None and spec.submodule_search_locations:
        paths += list(spec.submodule_search_locations)
    real = [os.path.realpath(p) for p in paths]
    kept = []
    for p in sorted(set(real), key=len):          # a folder inside one already bound is bound with it
        if not any(p == k or p.startswith(k + os.sep) for k in kept) and not p.startswith(SYSTEM_DIRS):
            kept.append(p)
    return kept


def bwrap_argv(spool: Path) -> list[str]:
    argv = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--cap-add", "CAP_SYS_ADMIN"]          # to make each notebook's namespaces and mounts
    if os.geteuid() == 0:
        # As root, no user namespace here: each kernel gets one of its own
        # after switching to "nobody", so that the process limit counts it alone.
        # (CAP_KILL: to stop a kernel that no longer runs as root).
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_KILL"]
    else:
        argv += ["--unshare-user"]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            argv += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            argv += ["--ro-bind", d, d]
    paths = readonly_paths()
    for p in paths:
        if p.startswith((WORK + os.sep, IPC + os.sep)) or p in (WORK, IPC):
            raise SandboxUnavailable(f"{p} lies where the sandbox puts a kernel's folder ({WORK}, {IPC})")
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]     # before the binds: one may lie in /tmp
    parents = sorted({str(q) for p in paths + [WORK, IPC] for q in Path(p).parents if str(q) not in ("/", "/tmp")},
                     key=len)
    for d in parents:                  # bubblewrap would make them 0700: the kernel's user must pass
        argv += ["--perms", "0755", "--dir", d]
    for p in paths:
        argv += ["--ro-bind", p, p]
    argv += ["--dir", WORK, "--dir", IPC, "--bind", str(spool), SPOOL, "--chdir", "/"]
    return argv


def base_env() -> dict[str, str]:
    """The environment of the zygote and the kernels: nothing of the grader's own."""
    env = {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if "PYTHONHASHSEED" in os.environ:
        env["PYTHONHASHSEED"] = os.environ["PYTHONHASHSEED"]
    return env


# ---------------------------------------------------------------------------
# The zygote
# ---------------------------------------------------------------------------
class Zygote:
    """The run's kernel zygote. Started before the worker processes fork, so
    they all share it: requests go one at a time under a lock, each answered
    by one line."""

    def __init__(self, spool: Path, sandbox: bool = True, warm: bool = True):
        self.spool, self.sandbox = Path(spool), sandbox
        cfg = {"sandbox": sandbox, "warm": warm, "spool": SPOOL if sandbox else str(spool),
               "work": WORK, "ipc": IPC, "readonly": readonly_paths() if sandbox else [],
               "kernel_uid": KERNEL_UID, "kernel_gid": KERNEL_GID}
        cmd = [sys.executable, "-s", str(ZYGOTE_FILE)]
        if sandbox:
            if shutil.which("bwrap") is None:
                raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
            cmd = bwrap_argv(self.spool) + cmd
        self.stderr = tempfile.TemporaryFile()
        env = dict(base_env(), HOME=WORK if sandbox else str(spool))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, cwd="/", env=env)
        os.write(self.proc.stdin.fileno(), (json.dumps(cfg) + "\n").encode())
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
                try:
                    line = self._readline().strip()
                except RuntimeError:
                    line = ""
                if line != "ready":
                    raise SandboxUnavailable(self._why())
                self.ready = True
        return self

    def _why(self) -> str:
        self.proc.wait(timeout=10)
        self.stderr.seek(0)
        lines = [ln.strip() for ln in self.stderr.read().decode(errors="replace").splitlines() if ln.strip()]
        return lines[-1] if lines else f"the sandbox exited with code {self.proc.returncode}"

    def request(self, **req) -> dict:
        line = json.dumps(req) + "\n"
        with self.lock:
            os.write(self.proc.stdin.fileno(), line.encode())
            answer = json.loads(self._readline())
        if not answer.get("ok"):
            raise RuntimeError(f"kernel zygote: {answer.get('error')}")
        return answer

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


# ---------------------------------------------------------------------------
# One notebook's folder and sandbox
# ---------------------------------------------------------------------------
_counter = itertools.count()


class KernelBox:
    """A notebook's folder in the spool and the sandbox the zygote makes for its kernel."""

    def __init__(self, zygote: Zygote, limits: Limits):
        self.zygote, self.limits = zygote, limits
        self.id = f"{os.getpid()}-{next(_counter)}"
        self.dir = zygote.spool / self.id
        self.ipc = self.dir / "ipc"
        self.dir.mkdir(mode=0o700)
        self.ipc.mkdir(mode=0o700)
        for name in ("alive", "status"):
            (self.dir / name).touch(mode=0o600)
        if zygote.sandbox:
            self.ipc_inside, self.cwd = IPC, WORK
        else:
            self.ipc_inside, self.cwd = str(self.ipc), str(self.dir / "work")
            (self.dir / "work").mkdir(mode=0o700)
        self._give(self.ipc)
        self.started = False

    def _give(self, path: Path) -> None:
        """As root, the kernel (user nobody) must be able to read and write its ipc folder."""
        if self.zygote.sandbox and os.geteuid() == 0:
            os.chown(path, KERNEL_UID, KERNEL_GID)

    def write(self, name: str, data: bytes) -> str:
        """Put a file for the kernel into its ipc folder; returns its path as the kernel sees it."""
        path = self.ipc / name
        with open(path, "wb") as f:
            f.write(data)
        self._give(path)
        return f"{self.ipc_inside}/{name}"

    def start(self, argv: list[str], env: dict[str, str], probe: bool = False) -> None:
        self.zygote.request(op="start", id=self.id, argv=argv, env=env, cwd=self.cwd,
                            limits=self.limits.as_dict(), probe=probe)
        self.started = True

    def alive(self) -> bool:
        """True while any process of the notebook exists."""
        if not self.started:
            return False
        fd = os.open(self.dir / "alive", os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def status(self) -> dict:
        """Why the sandbox ended: {"reason": ..., "detail": ...} (empty while it runs)."""
        try:
            return json.loads((self.dir / "status").read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def interrupt(self) -> None:
        if self.alive():
            self.zygote.request(op="signal", id=self.id, what="interrupt")

    def kill(self) -> None:
        if self.alive():
            self.zygote.request(op="signal", id=self.id, what="kill")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def make_spool() -> Path:
    """The run's spool folder, private to the grader (kernels reach their own ipc folder by a bind mount)."""
    return Path(tempfile.mkdtemp(prefix="course-grade-"))


def probe(zygote: Zygote, limits: Limits, timeout: float = 30.0) -> None:
    """Make one notebook's sandbox (with nothing in it); raise SandboxUnavailable if that fails."""
    box = KernelBox(zygote, limits)
    try:
        box.start([], {}, probe=True)
        end = time.monotonic() + timeout
        while box.alive() and time.monotonic() < end:
            time.sleep(0.005)
        status = box.status()
        if status.get("reason") != "kernel exited":
            raise SandboxUnavailable(status.get("detail") or status.get("reason") or "no answer from the sandbox")
    finally:
        box.kill()
        box.remove()
