"""The set-up: pins agree everywhere, the two README commands, and the lab command really serves the course."""
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pyproject_pins():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        reqs += extra
    pins = {}
    for r in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)(\s*;.*)?", r)
        assert m, f"pyproject.toml: {r!r} is not pinned with =="
        pins[m[1].lower().replace("_", "-")] = m[2]
    return pins


def requirement(name):
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        reqs += extra
    return next(r for r in reqs if re.match(rf"{name}\b", r))


def environment_yml_pins():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.fullmatch(r"\s*-\s*([A-Za-z0-9_.-]+)==(\S+)\s*", line)
        if m:
            pins[m[1].lower().replace("_", "-")] = m[2]
    return pins


def test_environment_yml_lists_exactly_the_pyproject_pins():
    assert environment_yml_pins() == pyproject_pins()


def test_torch_is_pinned_to_the_local_cpu_build_where_it_exists():
    """torch 2.13.0's CPU build is installed on Python 3.11; on 3.12/3.13 the course installs
    without it (a range or a plain name would pull a multi-GB CUDA build from the registry)."""
    from packaging.markers import Marker
    from packaging.requirements import Requirement

    req = Requirement(requirement("torch"))
    assert str(req.specifier) == "==2.13.0"
    assert req.marker == Marker("python_version < '3.12'")
    if sys.version_info < (3, 12):
        import torch
        assert torch.__version__.split("+")[0] == "2.13.0"
    else:
        assert importlib.util.find_spec("torch") is None, "the suite on Python >= 3.12 runs without torch"


def test_the_course_installs_on_python_3_11_to_3_13():
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    assert [v for v in ("3.10", "3.11", "3.12", "3.13", "3.14") if v in spec] == ["3.11", "3.12", "3.13"]
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in spec


def test_constraints_agree_with_the_pins_and_the_installed_versions():
    from importlib.metadata import version
    cons = {}
    for line in (ROOT / "tools/constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, v = line.split("==")
            cons[name.lower().replace("_", "-")] = v
    for name, v in pyproject_pins().items():
        if name != "torch":
            assert cons.get(name) == v, f"{name}: pyproject {v}, constraints {cons.get(name)}"
        if name == "torch" and sys.version_info >= (3, 12):
            continue                                   # not installed there (see the torch test)
        assert version(name).split("+")[0] == v, f"{name}: installed {version(name)}, pinned {v}"


def readme_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    cmds = readme_commands()
    assert cmds == ["tools/course lab", "tools/course test"]
    ci = [l for l in (ROOT / ".ci/run").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert ci[-1].strip() in ("exec tools/course test", "tools/course test")
    assert os.access(ROOT / ".ci/run", os.X_OK) and os.access(ROOT / "tools/course", os.X_OK)


def test_course_jupyterlab_settings_are_installed_in_the_environment():
    shipped = json.loads((ROOT / "tools/jupyterlab/overrides.json").read_text())
    assert shipped["@jupyterlab/apputils-extension:kernels-settings"]["commsOverSubshells"] == "disabled"
    installed = Path(sys.prefix) / "share/jupyter/lab/settings/overrides.json"
    assert json.loads(installed.read_text()) == shipped


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, data=None, method=None):
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


@pytest.mark.slow
def test_lab_command_serves_the_course_on_localhost_with_optlib_importable(tmp_path):
    """Starts `tools/course lab` exactly as the README says (plus no browser, a port and a work folder):
    a student's JupyterLab on 127.0.0.1, in a work folder outside the repository, without nbgrader."""
    import psutil
    import websocket

    port, token = free_port(), uuid.uuid4().hex
    work = tmp_path / "work"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), BROWSER="true", COURSE_WORKDIR=str(work))
    proc = subprocess.Popen(
        [str(ROOT / "tools/course"), "lab", "--no-browser", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}"], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                get(f"{base}/api/status?token={token}")
                break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        # Bound to the loopback address only. Processes of the tree come and go while we
        # look (the launcher execs, kernels start): one that has gone has no sockets.
        listening = set()
        for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(True)]:
            try:
                conns = p.net_connections("inet")
            except (psutil.NoSuchProcess, psutil.ZombieProcess, FileNotFoundError):
                continue
            listening |= {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN}
        assert listening and listening <= {"127.0.0.1"}, listening
        # The course's settings are active: overrides.json replaces the shipped default
        # ("perCommTarget" in JupyterLab 4.6) in the schema the server hands the browser.
        s = get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:kernels-settings?token={token}")
        effective = s["settings"].get("commsOverSubshells",
                                      s["schema"]["properties"]["commsOverSubshells"]["default"])
        assert effective == "disabled"
        # The course is served from the work folder: lectures and exercises are there, solutions are not.
        top = {i["name"] for i in get(f"{base}/api/contents?token={token}")["content"]}
        assert {"notebooks", "exercises"} <= top and "solutions" not in top, top
        listing = get(f"{base}/api/contents/notebooks?token={token}")
        assert any(i["name"].endswith(".ipynb") for i in listing["content"])
        assert (work / "notebooks" / "00_course_map.ipynb").is_file()
        # No nbgrader for the student: its server extensions are off and its lab extension disabled.
        with pytest.raises(urllib.error.HTTPError) as err:
            get(f"{base}/formgrader?token={token}")
        assert err.value.code == 404
        with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=10) as r:
            page = r.read().decode()
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))
        assert config["disabledExtensions"] == ["@jupyter/nbgrader"] or "@jupyter/nbgrader" in config["disabledExtensions"]
        # A kernel started by the server imports optlib from this checkout.
        kid = get(f"{base}/api/kernels?token={token}", data=b"{}", method="POST")["id"]
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/api/kernels/{kid}/channels?token={token}",
                                         timeout=60)
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "t", "session": uuid.uuid4().hex, "msg_type": "execute_request",
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": "import optlib; print(optlib.__file__)", "silent": False}}))
        out = ""
        deadline = time.time() + 60
        while time.time() < deadline:
            m = json.loads(ws.recv())
            if m.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "stream":
                out += m["content"]["text"]
            if m["msg_type"] == "error":
                pytest.fail("kernel error: " + m["content"]["evalue"])
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle" and out:
                break
        ws.close()
        assert Path(out.strip()).resolve() == (ROOT / "optlib/__init__.py").resolve()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
