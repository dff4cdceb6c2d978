"""One feedback page (HTML) per student, to hand back.

Like nbgrader's ``generate_feedback``, it shows every graded question with its
points; unlike it, it never shows code or outputs of hidden tests. For each
question: the points, the one-line diagnosis, and which case failed: for a
public case (one the notebook's check cell runs) its number and a short
description of its inputs, so the student can rerun it; for a hidden case
only that a hidden case failed, and the diagnosis. Expected values are never
shown (the diagnoses of ``optlib.checks`` name mistakes, not numbers). The
page ends with what each status on it means.

File names let an LMS match the page to its student when uploaded in bulk:
Canvas ("Re-upload submissions") reads the user and attachment id from
``<name>_<user id>_<attachment id>_feedback.html``; Moodle ("Upload multiple
feedback files in a zip") reads ``<full name>_<participant id>_assignfeedback_file_feedback.html``.
"""
from __future__ import annotations

import html
from pathlib import Path

from .gradebook import STATUS_MEANING, Graded, StudentResult, atomic_write, fmt, safe_file_name

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }
td.pts { white-space: nowrap; } .full { color: #176f2c; } .zero { color: #a4161a; }
.status { font-weight: 600; } dt { font-weight: 600; } dd { margin: 0 0 .5rem 1rem; }
"""


def file_name(result: StudentResult) -> str:
    s = result.student
    if s.layout == "canvas":
        return safe_file_name(s.prefix) + "_feedback.html"
    if s.layout == "moodle":
        return f"{s.name}_{s.id}_assignfeedback_file_feedback.html".replace("/", "_")
    return safe_file_name(s.id) + ".html"


def question_line(qid: str, r) -> str:
    """What the page says about one question (plain text, escaped by the caller)."""
    if r.points >= r.max_points:
        return "all checks pass"
    if not r.message:
        return "not graded"
    if r.case is None:
        return r.message
    if r.public:
        where = f"check {r.case} of {r.n_public} in your check cell ({r.described})"
    else:
        where = "a hidden check (more cases than your check cell runs: other shapes, float32, edge values)"
    return f"{r.message} \u2014 failed on {where}"


def page(result: StudentResult, graded: Graded) -> str:
    e = html.escape
    s = result.student
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>Feedback: {e(s.name)}</title><style>{STYLE}</style></head><body>",
             f"<h1>Feedback for {e(s.name)}</h1>",
             f"<p>Total: <b>{fmt(result.total)} / {fmt(result.max_points)}</b> points "
             f"(exercises graded: {e(', '.join(graded.exercises))}). "
             f"Status: <span class='status'>{e(result.status)}</span>.</p>"]
    statuses = {result.status}
    rows = {r.notebook: r for r in sorted(result.rows, key=lambda r: -r.total)}   # the better copy counts
    for exercise, maxima in graded.exercises.items():
        row = rows.get(exercise)
        parts.append(f"<h2>{e(exercise)}</h2>")
        if row is None:
            parts.append("<p>Not submitted: no notebook of this exercise was found.</p>")
            continue
        statuses.add(row.status)
        parts.append(f"<p>File <code>{e(row.path)}</code>: {fmt(row.total)} / {fmt(row.max_points)} points, "
                     f"status <span class='status'>{e(row.status)}</span>.</p>")
        parts.append("<table><tr><th>question</th><th>points</th><th>what the grader found</th></tr>")
        for qid, most in maxima.items():
            r = row.results.get(qid)
            got = row.points.get(qid, 0.0)
            text = question_line(qid, r) if r is not None else "not graded (see below)"
            cls = "full" if got >= most else "zero"
            parts.append(f"<tr><td><code>{e(qid)}</code></td><td class='pts {cls}'>{fmt(got)} / {fmt(most)}</td>"
                         f"<td>{e(text)}</td></tr>")
        parts.append("</table>")
        other = [i for i in dict.fromkeys(row.issues) if not any(i.startswith(f"{q}: ") for q in maxima)]
        if other:
            parts.append("<p>About the notebook as a whole:</p><ul>"
                         + "".join(f"<li>{e(i)}</li>" for i in other) + "</ul>")
    parts.append("<h2>What a status means</h2><dl>")
    for status in STATUS_MEANING:
        if status in statuses:
            parts.append(f"<dt>{e(status)}</dt><dd>{e(STATUS_MEANING[status])}</dd>")
    parts.append("</dl></body></html>\n")
    return "\n".join(parts)


def write_feedback(results: list[StudentResult], graded: Graded, folder: Path) -> list[Path]:
    """One page per student into ``folder``; returns the paths."""
    written = []
    for result in results:
        path = folder / file_name(result)
        text = page(result, graded)
        atomic_write(path, lambda f: f.write(text))
        written.append(path)
    return written
