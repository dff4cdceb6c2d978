"""What the slide decks and the website change in a notebook before nbconvert renders it.

Both are made from the stored notebooks; these functions work on a copy:

* :func:`render_details`: a ``<details>`` block (hints, answers) becomes one HTML
  block with its markdown rendered inside. Left to nbconvert's markdown renderer,
  ``<details><summary>Answers</summary>`` is closed at once and every answer is
  printed open below it.
* :func:`rewrite_links`: links between notebooks (``05_adam.ipynb``,
  ``../exercises/05_adam_step.ipynb``, ``../docs/summary.md``) point at the pages
  the build makes instead of files that are not there.
"""
from __future__ import annotations

import copy
import re

DETAILS = re.compile(r"<details>\s*<summary>(?P<summary>.*?)</summary>(?P<body>.*?)</details>", re.S)
LINK = re.compile(r"(\]\(|href=\")(?P<target>[^)\"#\s]+?)(?P<ext>\.ipynb|\.md)(?P<anchor>#[^)\"\s]*)?(?=[)\"])")


def render_details(nb):
    """A copy of ``nb`` whose ``<details>`` blocks are single HTML blocks, their markdown rendered."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    nb = copy.deepcopy(nb)

    def block(m):
        body = markdown2html_mistune(m.group("body").strip())
        body = "\n".join(line for line in body.splitlines() if line.strip())   # no blank line ends the block
        return (f"<details class=\"course-details\"><summary>{m.group('summary').strip()}</summary>\n"
                f"{body}\n</details>")

    for cell in nb.cells:
        if cell.cell_type == "markdown" and "<details" in cell.source:
            cell.source = DETAILS.sub(block, cell.source)
    return nb


def rewrite_links(nb, page_of):
    """A copy of ``nb`` whose relative links to notebooks and markdown files go to built pages.

    ``page_of(target, ext)`` gets a link's path without its extension (``"05_adam"``,
    ``"../exercises/05_adam_step"``) and the extension, and returns the new path
    (without the anchor), or None to leave the link alone.
    """
    nb = copy.deepcopy(nb)

    def sub(m):
        target = m.group("target")
        if "://" in target or target.startswith(("/", "mailto:")):
            return m.group(0)
        new = page_of(target, m.group("ext"))
        if new is None:
            return m.group(0)
        return f"{m.group(1)}{new}{m.group('anchor') or ''}"

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = LINK.sub(sub, cell.source)
    return nb
