"""The kernel zygote: a warm process that starts each notebook's kernel in a sandbox of its own.

Started once per grading run (by ``sandbox.Zygote``), inside bubblewrap: the
system, the Python installation, the course's .venv and optlib are read-only;
there is no home folder, no network, no view of the grader's processes, and
the only writable path is the spool folder the grader shares with it. It
imports ipykernel, numpy, optlib and scikit-learn once, reads its settings
(the first line on stdin), then answers one JSON request per line:

    {"op": "start", "id": ID, "argv": [...], "env": {...}, "cwd": ..., "limits": {...}}
    {"op": "signal", "id": ID, "what": "interrupt" | "kill"}

For ``start`` it forks three processes, each narrowing what the next can see:

* the box (C): new mount, PID, network, IPC and UTS namespaces. Its mounts:
  the root and /dev read-only, a private size-limited tmpfs on /work (the
  kernel's folder and home), /tmp and /dev/shm, the notebook's socket folder
  ``SPOOL/ID/ipc`` on /ipc, and an empty read-only tmpfs over the spool (no
  other notebook's folder is visible). It waits for its init, then writes
  why the sandbox ended into ``SPOOL/ID/status``. It holds the lock on
  ``SPOOL/ID/alive`` until then: when the grader can take that lock, every
  process of the notebook is gone.
* the init (I), PID 1 of the new PID namespace: mounts a /proc that shows only
  the notebook's processes, becomes an unprivileged user (uid 1000 in a user
  namespace of its own, nobody outside when the grader is root), forks the
  kernel, makes /ipc read-only once the kernel has bound its sockets, and
  watches the limits: the processes' memory and their number. When the
  kernel exits or a limit is hit, it exits, and the Linux kernel kills every
  process left in the namespace (a detached one too).
* the kernel (K): no capabilities, rlimits on its address space, processes,
  file size and CPU time, then ipykernel's normal start-up.

Without a sandbox (``"sandbox": false``, for graders inside a container of
their own), the same processes run without namespaces: the init adopts the
kernel's orphans and kills them all at the end, and the limits still apply.
"""
from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jail  # noqa: E402

del sys.path[0]

WARM_MODULES = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
    "IPython.core.interactiveshell", "IPython.core.debugger", "sqlite3", "psutil", "pdb",
    "numpy", "optlib", "optlib.functional", "optlib.optimizers", "optlib.models",
    "optlib.data", "optlib.checks", "sklearn.datasets")

INSIDE_UID = 1000              # the kernel's uid and gid inside its user namespace
SHM_BYTES = 64 * 2**20         # /dev/shm of each notebook
CHECK_EVERY = 0.05             # seconds between two looks at the limits
CONTROL = {signal.SIGTERM, signal.SIGUSR1}

# Why a sandbox ended: the init's exit code -> the reason the grader reports.
EXIT_REASONS = {0: "kernel exited", 1: "kernel killed", 2: "cpu limit", 3: "memory limit",
                4: "process limit", 5: "sandbox failed"}
_CODES = {reason: code for code, reason in EXIT_REASONS.items()}


def main() -> None:
    cfg = json.loads(sys.stdin.buffer.readline())   # (not in argv: every kernel's init shows the zygote's)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if cfg["warm"]:
        import importlib
        for name in WARM_MODULES:
            try:
                importlib.import_module(name)
            except Exception:
                pass
    signal.pthread_sigmask(signal.SIG_BLOCK, CONTROL)    # a box unblocks them once it can act on them
    boxes: dict[str, int] = {}
    reply = sys.stdout
    reply.write("ready\n")
    reply.flush()
    for line in sys.stdin.buffer:
        _reap(boxes)
        req = json.loads(line)
        try:
            if req["op"] == "start":
                boxes[req["id"]] = _start(cfg, req)
                answer = {"ok": True}
            elif req["op"] == "signal":
                pid = boxes.get(req["id"])
                if pid is not None:
                    os.kill(pid, signal.SIGUSR1 if req["what"] == "interrupt" else signal.SIGTERM)
                answer = {"ok": True, "running": pid is not None}
            else:
                answer = {"ok": False, "error": f"unknown op {req['op']!r}"}
        except Exception as e:
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        reply.write(json.dumps(answer) + "\n")
        reply.flush()


def _reap(boxes: dict[str, int]) -> None:
    """Forget the boxes that ended (a pid is only reused once reaped, so a signal never hits a stranger)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        for key, value in list(boxes.items()):
            if value == pid:
                del boxes[key]


def _start(cfg: dict, req: dict) -> int:
    kdir = os.path.join(cfg["spool"], req["id"])
    alive = os.open(os.path.join(kdir, "alive"), os.O_RDWR)
    status = os.open(os.path.join(kdir, "status"), os.O_WRONLY | os.O_TRUNC)
    try:
        fcntl.flock(alive, fcntl.LOCK_EX | fcntl.LOCK_NB)   # taken before the reply: no race with poll()
        pid = os.fork()
        if pid == 0:
            try:
                _box(cfg, req, kdir, alive, status)
            finally:
                os._exit(70)
        return pid
    finally:
        os.close(alive)
        os.close(status)


# ---------------------------------------------------------------------------
# C: the box
# ---------------------------------------------------------------------------
def _box(cfg: dict, req: dict, kdir: str, alive: int, status: int) -> None:
    _only_fds(alive, status)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        if cfg["sandbox"]:
            _namespaces(cfg, req, kdir)
    except OSError as e:
        _write_status(status, "sandbox failed", str(e))
        os._exit(1)
    why_r, why_w = os.pipe()               # the init says here what failed, if it does
    init = os.fork()
    if init == 0:
        os.close(alive)
        os.close(status)
        os.close(why_r)
        try:
            _init(cfg, req, why_w)
        except BaseException as e:
            os.write(why_w, f"{type(e).__name__}: {e}".encode()[:300])
        finally:
            os._exit(_CODES["sandbox failed"])
    os.close(why_w)
    stopped = []

    def stop(*_):
        stopped.append(True)
        _kill(init, signal.SIGKILL)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGUSR1, lambda *_: _kill(init, signal.SIGUSR1))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, CONTROL)
    _, st = os.waitpid(init, 0)          # returns once every process of the PID namespace is gone
    if stopped:
        reason = "stopped"
    elif os.WIFEXITED(st):
        reason = EXIT_REASONS.get(os.WEXITSTATUS(st), "sandbox failed")
    else:
        reason = "sandbox failed"
    os.set_blocking(why_r, False)
    try:
        why = os.read(why_r, 300).decode(errors="replace")
    except BlockingIOError:
        why = ""
    _write_status(status, reason, why)
    os._exit(0)


def _namespaces(cfg: dict, req: dict, kdir: str) -> None:
    lim = req["limits"]
    owner = (cfg["kernel_uid"], cfg["kernel_gid"]) if os.getuid() == 0 else None
    jail.unshare(jail.CLONE_NEWNS | jail.CLONE_NEWPID | jail.CLONE_NEWNET | jail.CLONE_NEWIPC
                 | jail.CLONE_NEWUTS)
    jail.make_mounts_private()
    jail.remount_readonly("/")
    jail.remount_readonly("/dev")
    jail.tmpfs("/dev/shm", SHM_BYTES, "1777")
    # The course's files may live under /tmp (a checkout there): keep them, read-only, under
    # the notebook's fresh /tmp. The old /tmp is held in a private staging mount meanwhile.
    under_tmp = [p for p in cfg.get("readonly", []) if p.startswith("/tmp/")]
    stage = "/dev/shm/.course-tmp"
    if under_tmp:
        os.mkdir(stage)
        jail.bind("/tmp", stage)
    jail.tmpfs("/tmp", lim["disk"], "1777")
    for p in under_tmp:
        old = os.umask(0o022)              # the kernel's user must pass through (the grader's umask may be 027)
        try:
            os.makedirs(p, exist_ok=True)
        finally:
            os.umask(old)
        jail.bind(stage + p[len("/tmp"):], p)
        jail.remount_readonly(p)
    if under_tmp:
        jail.unmount(stage)
        os.rmdir(stage)
    jail.tmpfs(cfg["work"], lim["disk"], "0700", owner)
    jail.bind(os.path.join(kdir, "ipc"), cfg["ipc"])
    jail.tmpfs(cfg["spool"], 4096, "0000", readonly=True)     # every notebook's folder, hidden


def _write_status(fd: int, reason: str, detail: str) -> None:
    os.write(fd, json.dumps({"reason": reason, "detail": detail[:300]}).encode())


def _only_fds(*keep: int) -> None:
    """Nothing of the zygote's (its request pipe above all) reaches the notebook."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------
# I: the init of the notebook's PID namespace, which watches the limits
# ---------------------------------------------------------------------------
def _init(cfg: dict, req: dict, why: int) -> None:
    jail.die_with_parent(signal.SIGKILL)
    sandbox = cfg["sandbox"]
    if sandbox:
        jail.mount_proc()
        if os.getuid() == 0:
            jail.become(cfg["kernel_uid"], cfg["kernel_gid"])
        outside_uid, outside_gid = os.getuid(), os.getgid()
        jail.unshare(jail.CLONE_NEWUSER | jail.CLONE_NEWNS)
        jail.map_user(INSIDE_UID, outside_uid, outside_gid)
        jail.set_dumpable(False)          # the kernel cannot trace its init
    else:
        jail.adopt_orphans()
    if req.get("probe"):
        os._exit(_CODES["kernel exited"])       # the sandbox could be made: that was the question
    to_kernel_r, to_kernel = os.pipe()
    from_kernel, from_kernel_w = os.pipe()
    kernel = os.fork()
    if kernel == 0:
        os.close(to_kernel)
        os.close(from_kernel)
        os.close(why)
        try:
            _kernel(cfg, req, to_kernel_r, from_kernel_w)
        finally:
            os._exit(1)
    os.close(to_kernel_r)
    os.close(from_kernel_w)
    signal.signal(signal.SIGUSR1, lambda *_: _killpg(kernel, signal.SIGINT))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, CONTROL)
    lim = req["limits"]
    reason = None
    watch = [from_kernel]
    while reason is None:
        ready, _, _ = select.select(watch, [], [], CHECK_EVERY)
        if ready:
            said = os.read(from_kernel, 400)
            if said.startswith(b"failed"):      # the kernel could not start
                os.write(why, said[7:].strip())
                reason = "sandbox failed"
                break
            if said == b"bound\n" and sandbox:
                jail.remount_readonly(cfg["ipc"])    # sockets bound: nothing more is written there
            if said:
                os.write(to_kernel, b"go\n")
            else:
                watch = []
        reason = _reap_kernel(kernel) or _over_limits(lim, sandbox)
    if not sandbox:
        _kill_descendants()
    os._exit(_CODES[reason])


def _killpg(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _reap_kernel(kernel: int) -> str | None:
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return "kernel exited"
        if pid == 0:
            return None
        if pid == kernel:
            if os.WIFSIGNALED(st):
                return "cpu limit" if os.WTERMSIG(st) == signal.SIGXCPU else "kernel killed"
            return "kernel exited"


def _members(sandbox: bool) -> list[int]:
    """The notebook's processes: all of the PID namespace but the init, or (without
    a sandbox) the init's descendants."""
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    me = os.getpid()
    if sandbox:
        return [p for p in pids if p != me]
    parent = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                parent[p] = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            pass
    found, todo = [], [me]
    while todo:
        q = todo.pop()
        kids = [p for p, pp in parent.items() if pp == q]
        found += kids
        todo += kids
    return found


def _over_limits(lim: dict, sandbox: bool) -> str | None:
    tasks, anon = 1, 0                     # the init itself counts against the process limit
    members = _members(sandbox)
    for pid in members:
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(b"Threads:"):
                tasks += int(line.split()[1])
            elif line.startswith(b"RssAnon:"):
                anon += int(line.split()[1]) * 1024
    if tasks >= lim["processes"]:
        return "process limit"
    if anon > lim["memory"] and _proportional_anon(members) > lim["memory"]:
        return "memory limit"           # RSS counts pages shared by forks once per process; PSS does not
    return None


def _proportional_anon(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss_Anon:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _kill_descendants() -> None:
    for _ in range(3):
        pids = _members(False)
        if not pids:
            return
        for pid in pids:
            _kill(pid, signal.SIGKILL)
        _reap_kernel(-1)


# ---------------------------------------------------------------------------
# K: the kernel
# ---------------------------------------------------------------------------
def _kernel(cfg: dict, req: dict, from_init: int, to_init: int) -> None:
    os.setsid()                            # its own process group: an interrupt reaches its children
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    try:
        app = _kernel_app(cfg, req)
    except BaseException as e:
        os.write(to_init, f"failed {type(e).__name__}: {e}".encode()[:300])
        os._exit(1)
    os.write(to_init, b"bound\n")
    if os.read(from_init, 3) != b"go\n":
        os._exit(1)
    os.close(from_init)
    os.close(to_init)
    app.start()
    os._exit(0)


def _kernel_app(cfg: dict, req: dict):
    """ipykernel's app, initialised (sockets bound), limits set; student code runs once it starts."""
    sandbox = cfg["sandbox"]
    lim = req["limits"]
    if sandbox:
        jail.drop_capabilities()           # before any thread starts (capabilities are per thread)
        jail.set_dumpable(True)            # its own /proc/self stays readable
    else:
        jail.die_with_parent(signal.SIGKILL)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    argv = req["argv"]
    import importlib.util
    sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *argv]
    sys.stdin = open(os.devnull)
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    app.initialize(argv)
    # The limits count from here: what ipykernel's threads reserved is not the student's.
    jail.set_limits(address_space=_vm_size() + lim["memory"],
                    processes=lim["processes"] if sandbox else None,
                    file_size=lim["disk"], cpu_seconds=lim["cpu"])
    return app


def _vm_size() -> int:
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    main()
