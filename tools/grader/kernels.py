"""Running one notebook's cells in a sandboxed kernel (nbclient + jupyter_client).

The kernel is started by the run's zygote inside a ``sandbox.KernelBox`` and
reached over jupyter_client's ``ipc`` transport (Unix sockets in the box's
folder). ``run_kernel`` executes the cells, records errors, time-outs, limits
and a dead kernel on the row, and returns what the grader's collection cells
sent back: ``{qid: results}`` (plain JSON data, validated by scoring.py).

Time limits: nbclient interrupts a cell at ``cell_timeout`` and the run goes
on with the next cell; a kernel that does not answer ``INTERRUPT_GRACE``
seconds after an interrupt, or a notebook past its deadline, is killed.
"""
from __future__ import annotations

import asyncio
import json
import math
import re
import signal
import time
from pathlib import Path

from .gradebook import Row, clip
from .in_kernel import MIME
from .sandbox import KernelBox, base_env

IN_KERNEL_FILE = Path(__file__).resolve().parent / "in_kernel.py"
INTERRUPT_GRACE = 5.0          # seconds a kernel gets to stop after a cell's time limit
MAX_MESSAGE_BYTES = 64_000_000  # a larger message from the kernel drops the connection
PRINTED_KEPT = 1_000_000       # printed output beyond this is mentioned in the message

PRE_CELL = """\
import importlib.util as _u, sys as _s
_spec = _u.spec_from_file_location("_course_grader", {path!r})
_s.modules["_course_grader"] = _m = _u.module_from_spec(_spec)
_spec.loader.exec_module(_m)
_m.setup({inputs!r})
del _u, _s, _spec, _m
"""

COLLECT_CELL = """\
__import__("sys").modules["_course_grader"].collect({qid!r}, globals())
"""


def pre_cell(inputs_path: str) -> str:
    return PRE_CELL.format(path=str(IN_KERNEL_FILE), inputs=inputs_path)


def collect_cell(qid: str) -> str:
    return COLLECT_CELL.format(qid=qid)


# ---------------------------------------------------------------------------
# jupyter_client: a provisioner that starts kernels in a KernelBox
# ---------------------------------------------------------------------------
def kernel_env(box: KernelBox) -> dict[str, str]:
    home = box.cwd
    tmp = "/tmp" if box.zygote.sandbox else home
    return dict(base_env(), HOME=home, TMPDIR=tmp, IPYTHONDIR=f"{home}/.ipython",
                MPLCONFIGDIR=f"{home}/.matplotlib", JUPYTER_RUNTIME_DIR=f"{home}/.jupyter")


def manager_class(box: KernelBox):
    """An AsyncKernelManager whose kernel lives in ``box``."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class BoxProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd, **kwargs):
            rest = cmd[cmd.index("-f") + 2:] if "-f" in cmd else []
            info = dict(self.connection_info)
            info["key"] = info["key"].decode() if isinstance(info["key"], bytes) else info["key"]
            info["ip"] = f"{box.ipc_inside}/k"          # the same sockets, as the kernel sees them
            path = box.write("kernel.json", json.dumps(info).encode())
            box.start(["-f", path, *rest], kernel_env(box))
            self.process = box
            self.pid = self.pgid = None
            return self.connection_info

        @property
        def has_process(self) -> bool:
            return self.process is not None

        async def poll(self):
            return None if box.alive() else 1

        async def wait(self):
            while box.alive():
                await asyncio.sleep(0.01)
            self.process = None
            return 1

        async def send_signal(self, signum):
            if signum == signal.SIGINT:
                box.interrupt()
            elif signum in (signal.SIGKILL, signal.SIGTERM):
                box.kill()

        async def kill(self, restart=False):
            box.kill()

        async def terminate(self, restart=False):
            box.kill()

    class BoxKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            self.transport, self.ip, self.cache_ports = "ipc", str(box.ipc / "k"), False
            self.connection_file = str(box.dir / "connection.json")     # not in the user's runtime folder
            if self.provisioner is None:
                import uuid
                self.kernel_id = self.kernel_id or str(uuid.uuid4())
                self.provisioner = BoxProvisioner(kernel_id=self.kernel_id,
                                                  kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            await super()._async_wait(pollinterval=min(pollinterval, 0.01))   # a killed kernel is gone at once

    return BoxKernelManager


# ---------------------------------------------------------------------------
# nbclient
# ---------------------------------------------------------------------------
class _Client:
    """nbclient's NotebookClient that counts printed output instead of keeping it,
    keeps what the collection cells send, and waits for a new kernel without
    jupyter_client's fixed 0.2 s of silence on IOPub."""

    def __new__(cls, *args, collect_cells=(), **kwargs):
        from nbclient import NotebookClient

        class Client(NotebookClient):
            output_bytes = 0

            def output(self, outs, msg, display_id, cell_index):
                content = msg.get("content", {})
                data = content.get("data") or {}
                if cell_index in self.collect_cells and MIME in data:
                    self.sent[cell_index] = data[MIME]      # the last one counts
                    return None
                self.output_bytes += len(str(content.get("text", ""))) + sum(len(str(v)) for v in data.values())
                return None

            async def async_start_new_kernel_client(self):
                import zmq
                self.kc = self.km.client()
                self.kc.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)   # a kernel cannot flood the grader
                try:
                    await self.kc.start_channels() if asyncio.iscoroutinefunction(self.kc.start_channels) \
                        else self.kc.start_channels()
                    await _wait_for_kernel(self.kc, self.startup_timeout)
                except Exception:
                    await self._async_cleanup_kernel()
                    raise
                self.kc.allow_stdin = False
                return self.kc

        client = Client(*args, **kwargs)
        client.collect_cells = set(collect_cells)
        client.sent = {}
        return client


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


# ---------------------------------------------------------------------------
# What a limit looks like from outside
# ---------------------------------------------------------------------------
def _size(n: int) -> str:
    return f"{n / 2**30:g} GB" if n >= 2**30 else f"{n / 2**20:g} MB"


def limit_message(reason: str, box: KernelBox) -> str:
    lim = box.limits
    return {"memory limit": f"its processes used more than {_size(lim.memory)} of memory",
            "process limit": f"it started {lim.processes} processes and threads",
            "cpu limit": f"a process used more than {lim.cpu} s of CPU time",
            "disk limit": f"it wrote more than {_size(lim.disk)} (a file, or its folder)"}[reason]


def limit_of_error(ename: str, evalue: str) -> str | None:
    """The limit a cell's exception says was hit, if any."""
    if ename == "MemoryError":
        return "memory limit"
    if "[Errno 11]" in evalue or "can't start new thread" in evalue:   # EAGAIN from fork or clone
        return "process limit"
    if "[Errno 27]" in evalue or "[Errno 28]" in evalue:              # EFBIG, ENOSPC
        return "disk limit"
    return None


async def run_kernel(cells, labels, box: KernelBox, collect_cells, cell_timeout: float, deadline: float,
                     notebook_timeout: float, row: Row) -> dict[int, object]:
    """Execute cells in a fresh kernel in ``box``, recording errors, timeouts,
    limits and death on ``row``. Returns {cell index: data} from collection cells."""
    import nbformat
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = _Client(nb, collect_cells=collect_cells, kernel_name="python3", timeout=int(math.ceil(cell_timeout)),
                     interrupt_on_timeout=True, allow_errors=True, iopub_timeout=2,
                     record_timing=False, shell_timeout_interval=1,
                     error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": []},
                     shutdown_kernel="immediate",
                     extra_arguments=["--HistoryManager.hist_file=:memory:"])
    client.kernel_manager_class = manager_class(box)
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
        async with client.async_setup_kernel():
            watchdog = asyncio.ensure_future(kill_after(deadline - time.monotonic(), "notebook"))
            try:
                for index, cell in enumerate(nb.cells):
                    n_errors = len(errors)
                    await client.async_execute_cell(cell, index)
                    for _, ename, evalue in errors[n_errors:]:
                        label = labels[index]
                        limit = limit_of_error(ename, evalue or "")
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
                            # Python 3.13.0 names an unfinished statement `_IncompleteInputError`,
                            # a private subclass of SyntaxError: say what it is.
                            ename = "SyntaxError" if ename == "_IncompleteInputError" else ename
                            said = f"{label}: {ename}" + (f": {clip(first[0])}" if first else "")
                            if limit is not None:
                                row.flag(limit, f"{said} ({limit}: {limit_message(limit, box)})")
                            else:
                                row.flag("error", said)
            finally:
                watchdog.cancel()
    except DeadKernelError:
        why = _ended(box)
        if killed and killed[0] == "notebook":
            row.flag("timeout", f"{labels[index]}: notebook over the {notebook_timeout:g} s limit")
        elif killed:
            row.flag("timeout", f"{killed[0]}: kernel ignored the interrupt, stopped")
        elif why.get("reason") in ("memory limit", "process limit", "cpu limit"):
            row.flag(why["reason"], f"{labels[index]}: stopped, {limit_message(why['reason'], box)}")
        elif why.get("reason") == "sandbox failed":
            row.flag("error", f"the sandbox failed: {why.get('detail', '')}")
        else:
            row.flag("kernel died", f"kernel died in {labels[index]}")
    if client.output_bytes > PRINTED_KEPT:
        row.issues.append(f"printed {client.output_bytes / 1e6:.1f} MB (not kept)")
    return client.sent


def _ended(box: KernelBox, wait: float = 5.0) -> dict:
    """Why the box ended, once it has (waits a little for its last processes)."""
    end = time.monotonic() + wait
    while box.alive() and time.monotonic() < end:
        time.sleep(0.01)
    return box.status()
