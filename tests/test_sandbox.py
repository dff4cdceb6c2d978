"""A hostile class, graded with the documented command: each submission tries one of
the breaches of issue 11 beside two honest students. For each: nothing leaked,
nothing survived, and the honest students got full marks.

The hostile code knows what an attacker would have to guess (the instructor's
home, the classmate's notebook, the gradebook's path, the grader's pid): the
sandbox must hold even then. The class runs with small limits so that hitting
them is quick.
"""
from __future__ import annotations

import csv
import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"
sys.path.insert(0, str(TOOLS))

from grader.release import load_releases  # noqa: E402
from grader.samples import make_submission  # noqa: E402

RELEASES = load_releases(ROOT / "exercises") if (ROOT / "exercises").is_dir() else {}
pytestmark = pytest.mark.skipif(not any("adam_step" in r.questions for r in RELEASES.values()),
                                reason="exercises/ not generated")
ADAM = next((n for n, r in RELEASES.items() if "adam_step" in r.questions), None)
TOKEN = f"hostile{uuid.uuid4().hex[:10]}"
SECRET = f"SECRET-{uuid.uuid4().hex}"
MEMORY = "600M"
PROCESSES = 64
DISK = "64M"


def hostile(target: dict) -> dict[str, str]:
    """student -> the code of the cell it adds after its (correct) answer."""
    t = {k: repr(str(v)) for k, v in target.items()}
    return {
        "home": f"""
from pathlib import Path
for where in (Path({t['home']}), Path.home(), Path('~').expanduser()):
    try:
        (where / {t['token'] + '"-home"'}).write_text('pwned')
    except OSError:
        pass
""",
        "spy": f"""
import os
seen = []
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            seen.append(open(f'/proc/{{pid}}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())
        except OSError:
            pass
loot = ''
for path in [{t['classmate']}] + [w for c in seen for w in c.split() if w.endswith('.ipynb')]:
    try:
        loot += open(path).read()
    except OSError:
        pass
for pid in ({t['grader_pid']}, os.getppid()):
    try:
        loot += open(f'/proc/{{pid}}/cmdline').read()
    except OSError:
        pass
if {t['class_dir']} in loot or 'SECRET-' in loot:       # the submissions folder, a classmate's notes
    raise RuntimeError('LEAK ' + loot.replace(chr(10), ' ')[:150])
raise RuntimeError('saw ' + str(len(seen)) + ' processes: ' + ' | '.join(seen)[:120])
""",
        "sabotage": f"""
for mode in ('a', 'w'):
    try:
        with open({t['classmate']}, mode) as f:
            f.write('sabotaged')
    except OSError:
        pass
""",
        "detached": f"""
import subprocess, sys
code = "import time; time.sleep(1); open({t['gradebook']}, 'a').write('forged,forged,4,4,ok\\\\n')  # {TOKEN}"
subprocess.Popen([sys.executable, '-c', code], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
""",
        "forks": f"""
import os
for i in range(300):
    if os.fork() == 0:
        os.execv('/bin/sleep', ['sleep-{TOKEN}', '60'])
""",
        "forkbomb": """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
""",
        "tcp": f"""
import socket
s = socket.create_connection(('127.0.0.1', {target['port']}), timeout=2)
s.sendall(b'{TOKEN}')
""",
        "memory": """
import numpy as np
blocks = []
for i in range(60):                      # 6 GB, 100 MB at a time, every page touched
    blocks.append(np.ones(100 * 2**20 // 8))
""",
        "memoryforks": """
import os, time
import numpy as np
for i in range(4):                      # each under the limit, together over it
    if os.fork() == 0:
        a = np.ones(250 * 2**20 // 8)
        time.sleep(60)
time.sleep(20)
""",
        "cwd": f"""
import os
for where in (os.getcwd(), os.path.join(os.getcwd(), '..'), '/tmp', {t['class_dir']}, {t['spool_parent']}):
    try:
        open(os.path.join(where, '{TOKEN}-cwd'), 'w').write('x')
    except OSError:
        pass
""",
        "venv": f"""
import os, site, sys, optlib
for where in site.getsitepackages() + [os.path.dirname(optlib.__file__), sys.prefix, sys.base_prefix]:
    try:
        open(os.path.join(where, 'sitecustomize.py'), 'a').write('# {TOKEN}')
    except OSError:
        pass
""",
        "disk": """
with open('big.bin', 'wb') as f:
    for i in range(100):                   # 100 MB, over the class's --disk of 64 MB
        f.write(b'x' * 2**20)
""",
        "killer": f"""
import os, signal
for pid in [{target['grader_pid']}, os.getppid()] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
os.kill(-1, signal.SIGKILL)
""",
    }


def host_processes_with(*needles: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if any(n in cmd for n in needles):
                found.append(f"{pid}: {cmd[:100]}")
    return found


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    import tempfile
    root = tmp_path_factory.mktemp("hostile")
    out = root / "grades" / "gradebook.csv"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    classmate = root / "honest1" / f"{ADAM}.ipynb"
    target = {"home": Path.home(), "classmate": classmate, "gradebook": out, "grader_pid": os.getpid(),
              "port": listener.getsockname()[1], "class_dir": root, "spool_parent": tempfile.gettempdir(),
              "token": TOKEN}
    for student, code in [("honest1", None), ("honest2", None), *hostile(target).items()]:
        nb = make_submission(ADAM, after={"adam_step_impl": code} if code else None)
        if student == "honest1":
            nb.cells.append(nbformat.v4.new_markdown_cell(f"my notes: {SECRET}"))
        path = root / student / f"{ADAM}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    before = hashlib.sha256(classmate.read_bytes()).hexdigest()
    spools = tmp_path_factory.mktemp("hostile-spools")      # this run's temporary folders, and no other run's
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "grader", str(root), "-o", str(out), "--jobs", "2", "--cell-timeout", "10",
         "--timeout", "30", "--memory", MEMORY, "--max-processes", str(PROCESSES), "--disk", DISK, "-q"],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(TOOLS), PYTHONHASHSEED="0", TMPDIR=str(spools)))
    seconds = time.monotonic() - t0
    time.sleep(1.5)                          # the detached process would have written by now
    accepted = []
    try:
        while True:
            accepted.append(listener.accept())
    except BlockingIOError:
        pass
    listener.close()
    with open(out.with_name("gradebook-by-notebook.csv"), newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    del rows["(points possible)"]
    yield {"proc": proc, "rows": rows, "out": out, "root": root, "classmate": classmate, "before": before,
           "accepted": accepted, "seconds": seconds, "spools": spools}
    for leftover in (Path.home() / f"{TOKEN}-home",):
        leftover.unlink(missing_ok=True)


def outputs(out: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in out.parent.rglob("*") if p.is_file())


def test_the_grading_run_finishes_and_the_honest_students_get_full_marks(hostile_class):
    proc, rows = hostile_class["proc"], hostile_class["rows"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    full = RELEASES[ADAM].points["adam_step"]
    for student in ("honest1", "honest2"):
        assert (rows[student]["status"], rows[student]["message"]) == ("ok", ""), rows[student]
        assert float(rows[student]["adam_step"]) == full
    assert len(rows) == 2 + len(hostile({k: 0 for k in ("home", "classmate", "gradebook", "grader_pid", "port",
                                                        "class_dir", "spool_parent", "token")}))


def test_nothing_written_into_the_instructors_home(hostile_class):
    assert not (Path.home() / f"{TOKEN}-home").exists()


def test_no_view_of_the_grader_or_a_classmates_notebook(hostile_class):
    row = hostile_class["rows"]["spy"]
    assert "LEAK" not in row["message"]
    assert "saw 2 processes" in row["message"]         # its kernel and its own ps: a PID namespace of its own
    assert SECRET not in outputs(hostile_class["out"])


def test_a_classmates_notebook_cannot_be_opened_for_writing(hostile_class):
    assert hashlib.sha256(hostile_class["classmate"].read_bytes()).hexdigest() == hostile_class["before"]
    assert float(hostile_class["rows"]["sabotage"]["adam_step"]) == RELEASES[ADAM].points["adam_step"]


def test_a_detached_process_dies_with_its_notebook(hostile_class):
    text = hostile_class["out"].read_text()
    assert "forged" not in text
    assert host_processes_with(TOKEN) == []


def test_300_forks_hit_the_process_limit_and_none_survives(hostile_class):
    row = hostile_class["rows"]["forks"]
    assert row["status"] == "process limit", row
    assert float(row["adam_step"]) == 0
    assert host_processes_with(f"sleep-{TOKEN}") == []


def test_a_fork_bomb_hits_the_process_limit(hostile_class):
    row = hostile_class["rows"]["forkbomb"]
    assert row["status"] == "process limit", row
    assert host_processes_with("/run/kernel/kernel.json") == []     # no kernel left, forked or not


def test_no_network_not_even_loopback(hostile_class):
    row = hostile_class["rows"]["tcp"]
    assert hostile_class["accepted"] == []
    assert row["status"] == "error" and ("Network is unreachable" in row["message"] or "refused" in row["message"])


def test_memory_limit_of_one_process(hostile_class):
    row = hostile_class["rows"]["memory"]
    assert row["status"] == "memory limit", row
    assert "MemoryError" in row["message"] and "600 MB" in row["message"]


def test_memory_limit_of_all_its_processes_together(hostile_class):
    row = hostile_class["rows"]["memoryforks"]
    assert row["status"] == "memory limit", row
    assert "stopped" in row["message"]


def test_the_venv_and_optlib_are_read_only(hostile_class):
    import site
    import optlib
    for where in site.getsitepackages() + [os.path.dirname(optlib.__file__), sys.prefix, sys.base_prefix]:
        path = Path(where) / "sitecustomize.py"
        assert not path.exists() or TOKEN not in path.read_text(errors="replace"), path
    assert float(hostile_class["rows"]["venv"]["adam_step"]) == RELEASES[ADAM].points["adam_step"]


def test_a_file_over_the_disk_limit(hostile_class):
    row = hostile_class["rows"]["disk"]
    assert row["status"] == "disk limit", row
    assert ("File too large" in row["message"] or "No space left" in row["message"]) and "64 MB" in row["message"]


def test_files_written_in_the_kernels_folder_vanish(hostile_class):
    import tempfile
    root = hostile_class["root"]
    assert not list(root.rglob(f"{TOKEN}-cwd"))
    assert not (Path(tempfile.gettempdir()) / f"{TOKEN}-cwd").exists()
    assert not list(hostile_class["spools"].rglob(f"{TOKEN}-cwd"))
    assert not list(hostile_class["spools"].glob("course-grade-*"))          # this run's spool is gone
    assert float(hostile_class["rows"]["cwd"]["adam_step"]) == RELEASES[ADAM].points["adam_step"]


def test_killing_the_grader_kills_nothing(hostile_class):
    """Nothing it may signal is in sight: its init ignores it, kill(-1) finds no process."""
    row = hostile_class["rows"]["killer"]
    assert hostile_class["proc"].returncode == 0
    assert row["status"] == "error" and "ProcessLookupError" in row["message"], row
    assert float(row["adam_step"]) == RELEASES[ADAM].points["adam_step"]
