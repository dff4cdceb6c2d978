"""Finding the submitted notebooks and who handed each in.

The student is read from the layout of the download, whichever of these it is
(paths relative to the folder given to ``tools/course grade``):

| layout | example | student (id) |
|---|---|---|
| a folder per student, nbgrader's ``submitted/`` | ``ann/05_adam_step.ipynb``, ``ann/ps1/05_adam_step.ipynb`` | ``ann`` (ann) |
| nbgrader's exchange inbound | ``ann+ps1+2025-03-01 10:00:00.000000 UTC+x7Yz/05_adam_step.ipynb`` | ``ann`` (ann); only the newest submission counts |
| Canvas "Download submissions" | ``smithann_12345_67890_05_adam_step.ipynb``, ``smithann_LATE_12345_67891_05_adam_step-1.ipynb`` | ``smithann`` (12345) |
| Moodle "Download all submissions" | ``Ann Smith_12345_assignsubmission_file_/05_adam_step.ipynb`` (or without the trailing ``_``, or flat: ``..._file_05_adam_step.ipynb``) | ``Ann Smith`` (12345) |
| one file per student | ``ann_05_adam_step.ipynb`` | ``ann`` (ann) |

Canvas names its files ``<sortable name, lowercased, non-word characters
removed>[_LATE]_<user id>_<attachment id>_<file name>`` (canvas-lms,
``lib/content_zipper.rb``; a file submitted again keeps its name with ``-1``,
``-2`` added by Canvas), so two files of one Canvas user are one student.
Moodle names a folder (or, flat, a file prefix) ``<full name>_<participant
id>_assignsubmission_file`` (mod/assign, ``downloader.php``), with ``_`` in the
name replaced by spaces; blind marking gives ``Participant_<id>_...``.
nbgrader's exchange names what it receives ``<student>+<assignment>+<timestamp>
[+<random>]`` (``nbgrader/exchange/default/submit.py``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .gradebook import Student, clip

MAX_NOTEBOOK_BYTES = 50_000_000

CANVAS = re.compile(r"^(?:(?P<name>.*?)_)??(?P<late>LATE_)?(?P<uid>\d+|anon_[A-Za-z0-9]+)_(?P<att>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>[^_/]+)_(?P<pid>\d+)_assignsubmission_(?:file|onlinetext)(?:_(?P<file>.*))?$")
INBOUND = re.compile(r"^(?P<student>[^+]+)\+(?P<assignment>[^+]+)\+(?P<time>[^+]+)(?:\+[^+]*)?$")


def find_submissions(root: Path) -> list[Path]:
    """Every notebook under root (not checkpoints), and of nbgrader's exchange
    inbound, only each student's newest submission of an assignment."""
    paths = sorted(p for p in root.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and p.is_file())
    newest: dict[tuple[str, str], str] = {}
    for p in paths:
        m = INBOUND.match(p.relative_to(root).parts[0]) if len(p.relative_to(root).parts) > 1 else None
        if m:
            key = (m["student"], m["assignment"])
            newest[key] = max(newest.get(key, ""), m["time"])
    kept = []
    for p in paths:
        parts = p.relative_to(root).parts
        m = INBOUND.match(parts[0]) if len(parts) > 1 else None
        if m and m["time"] != newest[(m["student"], m["assignment"])]:
            continue
        kept.append(p)
    return kept


def student_of(path: Path, root: Path, exercise: str | None) -> Student:
    """Who handed in ``path`` (see the table above); ``exercise`` helps split a flat file name."""
    rel = path.relative_to(root)
    first = rel.parts[0]
    m = MOODLE.match(first if len(rel.parts) > 1 else path.name)
    if m:
        return Student(id=m["pid"], name=m["name"], layout="moodle",
                       prefix=f"{m['name']}_{m['pid']}")
    m = CANVAS.match(path.name)
    if m and (exercise is None or exercise in m["file"]):
        name = m["name"] or m["uid"]
        return Student(id=m["uid"], name=name, layout="canvas",
                       prefix=f"{m['name'] + '_' if m['name'] else ''}{m['uid']}_{m['att']}")
    if len(rel.parts) > 1:
        m = INBOUND.match(first)
        if m:
            return Student(id=m["student"], name=m["student"], layout="nbgrader", prefix=m["student"])
        return Student(id=first, name=first, layout="folder", prefix=first)
    stem = path.stem
    name = (stem.replace(exercise, "").strip("_- .") if exercise and exercise in stem else "") or stem
    return Student(id=name, name=name, layout="file", prefix=name)


def exercise_of(path: Path, names, nb=None, grade_ids=None) -> str | None:
    """The exercise a notebook answers: the longest exercise name in its file
    name, else the one sharing most nbgrader grade ids with it."""
    for name in sorted(names, key=len, reverse=True):
        if name in path.name:
            return name
    if nb is not None and grade_ids:
        from .release import grade_id
        gids = {grade_id(c) for c in nb.get("cells", []) if isinstance(c, dict)} - {None}
        best = max(names, key=lambda n: len(grade_ids[n] & gids), default=None)
        if best is not None and grade_ids[best] & gids:
            return best
    return None


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
        raise ValueError(f"corrupt JSON ({clip(e, 80)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("not a notebook (no list of cells)")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as e:   # old or odd nbformat: take the cells as they are
        raise ValueError(f"not a readable notebook ({clip(e, 80)})") from None
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str):
            raise ValueError("not a readable notebook (bad cell source)")
    return nb
