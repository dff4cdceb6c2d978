"""Open the course in JupyterLab, in a work folder of the user's own.

    tools/course lab                 # students and lecturers: ~/optlib-course (or $COURSE_WORKDIR)
    tools/course lab --instructor    # the repository itself, with nbgrader's panels

A student's answers must never touch the repository's tracked files (nor be lost
when the course is updated), so the lab opens a work folder outside it: the first
time, the lectures, exercises and docs are copied there; later runs copy only
files that are new, and never overwrite one that is already there (an updated
lecture is offered as ``NAME.ipynb`` only if the student has no file of that name).

The student's JupyterLab shows no nbgrader panels (Nbgrader menu, Validate
button, Create Assignment), even when an instructor's install has nbgrader:
its lab extension and server extensions are disabled through a Jupyter config
folder of the course's own (``JUPYTER_CONFIG_DIR``). ``--instructor`` opens the
repository with them, as nbgrader's own set-up expects.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("notebooks", "exercises", "docs")
NBGRADER_SERVER = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.validate_assignment",
                   "nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.course_list")
NBGRADER_LAB = "@jupyter/nbgrader"


def default_workdir() -> Path:
    return Path(os.environ.get("COURSE_WORKDIR") or Path.home() / "optlib-course")


def prepare_workdir(workdir: Path, root: Path = ROOT) -> list[Path]:
    """Copy what is missing into ``workdir`` (never overwriting); return the files copied."""
    if workdir.resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"the work folder {workdir} is inside the course repository; choose one outside it "
                         "(--workdir or COURSE_WORKDIR), so that answers never touch the course's files")
    copied = []
    for folder in COPIED:
        src = root / folder
        if not src.is_dir():
            continue
        for path in sorted(src.rglob("*")):
            if path.is_dir() or ".ipynb_checkpoints" in path.parts or "__pycache__" in path.parts:
                continue
            dst = workdir / folder / path.relative_to(src)
            if dst.exists():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dst)
            copied.append(dst)
    return copied


def student_config(config_dir: Path) -> Path:
    """A Jupyter config folder in which nbgrader's lab and server extensions are off."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: False for name in NBGRADER_SERVER}}}, indent=1))
    (config_dir / "labconfig").mkdir(exist_ok=True)
    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {NBGRADER_LAB: True}}, indent=1))
    return config_dir


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=True)
    ap.add_argument("--instructor", action="store_true",
                    help="open the repository itself, with nbgrader's panels (for instructors and maintainers)")
    ap.add_argument("--workdir", type=Path, default=None, help="the work folder (default: ~/optlib-course)")
    args, jupyter_args = ap.parse_known_args(argv)
    env = dict(os.environ)
    if args.instructor:
        root_dir = ROOT
    else:
        root_dir = (args.workdir or default_workdir()).expanduser()
        copied = prepare_workdir(root_dir)
        print(f"[course] work folder: {root_dir} ({len(copied)} new file(s) copied; your own files are never "
              "overwritten)", file=sys.stderr)
        env["JUPYTER_CONFIG_DIR"] = str(student_config(Path(sys.prefix) / "etc" / "course-student-jupyter"))
    cmd = [str(Path(sys.prefix) / "bin" / "jupyter"), "lab", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.root_dir={root_dir}", "--LabApp.default_url=/lab/tree/notebooks/00_course_map.ipynb"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    os.execve(cmd[0], cmd + jupyter_args, env)


if __name__ == "__main__":
    main()
