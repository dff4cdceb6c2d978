"""Build the student bundle: what a student downloads, and nothing an instructor keeps.

    tools/course release                    # -> build/release/optlib-course/ and optlib-course-VERSION.zip
    .venv/bin/python tools/release.py --out DIR

The bundle holds the lectures (with their stored outputs), the student
exercises, docs/, the optlib package (its checks included: the check cells call
them), a pyproject.toml whose only extra is the course's, the pinned
constraints, the JupyterLab settings, a ``course`` script whose one command
opens the lab in a work folder, and a student README. It holds no solutions,
no hidden tests, no grader, no tests or benchmarks: the build stops if any
nbgrader solution or hidden-test marker is found in what it would ship.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "optlib-course"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

LAUNCHER = r"""#!/usr/bin/env bash
# The course, for students: one command.
#
#   ./course lab      install the course into .venv (first time: a few minutes) and open it in
#                     JupyterLab on 127.0.0.1, in a work folder of your own (~/optlib-course)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
case "${1:-help}" in
    lab)
        shift
        want="$(cat pyproject.toml tools/constraints.txt | sha256sum | cut -d' ' -f1)"
        if [[ ! -f "$VENV/.installed" || "$(cat "$VENV/.installed")" != "$want" ]]; then
            [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
            echo "[course] installing the course (first time: a few minutes)" >&2
            "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c tools/constraints.txt -e ".[course]"
            mkdir -p "$VENV/share/jupyter/lab/settings"
            cp tools/jupyterlab/overrides.json "$VENV/share/jupyter/lab/settings/overrides.json"
            echo "$want" > "$VENV/.installed"
        fi
        exec "$VENV/bin/python" tools/lab.py "$@" ;;
    *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' ;;
esac
"""

README = """# From gradient descent to Adam: the course

Lectures on adaptive gradient optimizers (gradient descent, Momentum, RMSProp,
Adam and beyond) and the exercises that go with them, built on `optlib`.

## Start

On Linux or macOS with Python 3.11, 3.12 or 3.13:

```bash
./course lab
```

The first run installs the course into `.venv/` (a few minutes), then opens
JupyterLab in your browser, in a work folder of your own (`~/optlib-course`,
or the folder in `COURSE_WORKDIR`). Your answers live there: running the
command again, or unpacking a newer version of the course, never overwrites a
file you have; new lectures and exercises are added beside yours.

## What to do

- `notebooks/00_course_map.ipynb` lists the lectures in order; each ends with a
  link to its exercise.
- In an exercise, write your code between the lines the notebook marks, then run
  the check cell below it: it answers at once, in one line (a pass, "not
  implemented yet", or the likely mistake), and never shows the answer.
- Hand in the exercise notebooks (`.ipynb`) from your work folder as your
  instructor asks.

Python 3.12 and 3.13 install without torch (PyTorch's registry builds for them
are several GB): every exercise works; the few lecture cells that compare with
`torch.optim` need a CPU build of torch 2.13.0 (PyTorch's "Get Started" page
shows the command for Linux, Pip, CPU).
"""


def check_clean(folder: Path):
    leaks = []
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".py", ".md"):
            text = path.read_text(encoding="utf-8", errors="replace")
            leaks += [f"{path.relative_to(folder)}: {m}" for m in MARKERS if m in text]
    if leaks:
        raise SystemExit("the bundle would ship instructor material; nothing was written:\n  " + "\n  ".join(leaks))


def student_pyproject(text: str) -> str:
    """pyproject.toml with the course extra only (no dev tools, no grader)."""
    data = tomllib.loads(text)
    extras = data["project"].get("optional-dependencies", {})
    unknown = set(extras) - {"course", "dev"}
    if unknown:
        raise SystemExit(f"pyproject.toml has extras the release does not know: {sorted(unknown)}")
    start = text.index("[project.optional-dependencies]")
    end = text.index("\n[", start + 1)
    block = text[start:end]
    course = re.search(r"\ncourse = \[.*?\n\]", block, re.S)
    comments = re.search(r"((?:\n#[^\n]*)*)\ncourse = \[", block)
    new_block = "[project.optional-dependencies]" + (comments.group(1) if comments else "") + course.group(0)
    return text[:start] + new_block + "\n" + text[end:]


def build(out: Path) -> Path:
    bundle = out / NAME
    if bundle.exists():
        shutil.rmtree(bundle)
    bundle.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for folder in ("notebooks", "exercises", "docs", "optlib"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, bundle / folder, ignore=ignore)
    (bundle / "tools" / "jupyterlab").mkdir(parents=True)
    shutil.copy2(ROOT / "tools" / "lab.py", bundle / "tools" / "lab.py")
    shutil.copy2(ROOT / "tools" / "constraints.txt", bundle / "tools" / "constraints.txt")
    shutil.copy2(ROOT / "tools" / "jupyterlab" / "overrides.json", bundle / "tools" / "jupyterlab" / "overrides.json")
    (bundle / "pyproject.toml").write_text(student_pyproject((ROOT / "pyproject.toml").read_text()))
    (bundle / "README.md").write_text(README)
    launcher = bundle / "course"
    launcher.write_text(LAUNCHER)
    launcher.chmod(0o755)
    check_clean(bundle)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    archive = out / f"{NAME}-{version}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, f"{NAME}/{path.relative_to(bundle)}")
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, path.read_bytes())
    return archive


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "release")
    args = ap.parse_args(argv)
    archive = build(args.out)
    print(f"wrote {args.out / NAME}/ and {archive} ({archive.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    sys.exit(main())
