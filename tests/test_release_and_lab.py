"""The student bundle (tools/release.py) and the student's lab (tools/lab.py).

A student works only in what the release hands out and in a work folder of
their own: their answers never touch the repository, an update never overwrites
them, and their JupyterLab has no nbgrader panels.
"""
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lab  # noqa: E402
import release  # noqa: E402


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    archive = release.build(out)
    assert archive.is_file()
    return out / release.NAME


def test_bundle_holds_the_course_and_nothing_an_instructor_keeps(bundle):
    top = {p.name for p in bundle.iterdir()}
    assert {"notebooks", "exercises", "optlib", "course", "README.md", "pyproject.toml", "tools"} <= top
    assert not top & {"solutions", "tests", "benchmarks", ".ci"}, top
    tools = {p.name for p in (bundle / "tools").iterdir()}
    assert tools == {"lab.py", "constraints.txt", "jupyterlab"}, tools
    for nb in (ROOT / "exercises").glob("*.ipynb"):
        assert (bundle / "exercises" / nb.name).read_bytes() == nb.read_bytes()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert (bundle / "notebooks" / nb.name).read_bytes() == nb.read_bytes()
    text = "\n".join(p.read_text(errors="replace") for p in bundle.rglob("*") if p.is_file()
                     and p.suffix in (".ipynb", ".py", ".md", ".toml"))
    for marker in release.MARKERS:
        assert marker not in text


def test_bundle_installs_the_course_extra_only(bundle):
    data = tomllib.loads((bundle / "pyproject.toml").read_text())
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["optional-dependencies"] == {"course": ours["project"]["optional-dependencies"]["course"]}
    assert data["project"]["dependencies"] == ours["project"]["dependencies"]


def test_bundle_launcher_has_one_command(bundle):
    out = subprocess.run([str(bundle / "course")], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "./course lab" in out.stdout


def test_release_refuses_to_ship_a_solution(tmp_path, monkeypatch):
    fake = tmp_path / "repo"
    for folder in ("notebooks", "exercises", "optlib", "tools/jupyterlab"):
        (fake / folder).mkdir(parents=True)
    for f in ("tools/lab.py", "tools/constraints.txt", "tools/jupyterlab/overrides.json", "pyproject.toml"):
        (fake / f).write_text((ROOT / f).read_text())
    (fake / "exercises" / "01_x.ipynb").write_text('{"cells": [{"source": "### BEGIN SOLUTION"}]}')
    monkeypatch.setattr(release, "ROOT", fake)
    with pytest.raises(SystemExit, match="01_x.ipynb: BEGIN SOLUTION"):
        release.build(tmp_path / "out")


def test_work_folder_is_filled_once_and_never_overwritten(tmp_path):
    work = tmp_path / "work"
    first = lab.prepare_workdir(work)
    assert (work / "notebooks" / "00_course_map.ipynb") in first
    assert any(p.parent.name == "exercises" for p in first)
    assert not (work / "solutions").exists()
    answer = next(p for p in first if p.parent.name == "exercises")
    answer.write_text("my answer")
    assert lab.prepare_workdir(work) == []                      # nothing new, nothing overwritten
    assert answer.read_text() == "my answer"
    answer.unlink()
    assert lab.prepare_workdir(work) == [answer]                 # a missing file comes back


def test_work_folder_inside_the_repository_is_refused():
    with pytest.raises(SystemExit, match="inside the course repository"):
        lab.prepare_workdir(ROOT / "work")


def test_student_config_turns_nbgrader_off(tmp_path):
    cfg = lab.student_config(tmp_path / "cfg")
    server = json.loads((cfg / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"]
    assert server and not any(server.values())
    assert "nbgrader.server_extensions.validate_assignment" in server
    page = json.loads((cfg / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"] == {"@jupyter/nbgrader": True}
