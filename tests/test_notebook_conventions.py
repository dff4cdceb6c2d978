"""Every lecture notebook keeps the course's conventions (nbval checks the outputs themselves)."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def load(p):
    return json.loads(p.read_text())


def src(cell):
    return "".join(cell["source"])


def test_the_sequence_is_complete():
    names = [p.name[:2] for p in LECTURES]
    assert names == [f"{i:02d}" for i in range(len(names))] and len(names) >= 8


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_stored_small_and_executed_in_order(path):
    assert path.stat().st_size < 1_000_000
    nb = load(path)
    counts = [c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1)), "re-run top to bottom: tools/execute_notebooks.py"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb["metadata"], "stored widget state changes every run"


@pytest.mark.parametrize("path", LECTURES[1:], ids=lambda p: p.name)
def test_first_code_cell_sets_up_the_same_way(path):
    nb = load(path)
    first = src(next(c for c in nb["cells"] if c["cell_type"] == "code"))
    assert first.startswith("%matplotlib inline")
    assert "plotting.use_course_style()" in first
    assert "default_rng(0)" in first
    code = "\n".join(src(c) for c in nb["cells"] if c["cell_type"] == "code")
    if re.search(r"^import torch", code, re.M):
        assert "torch.set_num_threads(1)" in first


@pytest.mark.parametrize("path", LECTURES[1:], ids=lambda p: p.name)
def test_template_sections_and_slides(path):
    nb = load(path)
    text = "\n".join(src(c) for c in nb["cells"] if c["cell_type"] == "markdown").lower()
    for word in ("summary", "check your understanding", "<details>"):
        assert word in text, word
    assert all("slide_type" in c["metadata"].get("slideshow", {}) for c in nb["cells"])


@pytest.mark.parametrize("path", [p for p in LECTURES if "widgets.live(" in p.read_text()], ids=lambda p: p.name)
def test_every_slider_is_followed_by_a_static_default_figure(path):
    cells = load(path)["cells"]
    for i, c in enumerate(cells):
        if c["cell_type"] == "code" and "widgets.live(" in src(c):
            assert "nbval-ignore-output" in c["metadata"].get("tags", []), f"cell {i}"
            nxt = next(d for d in cells[i + 1:] if d["cell_type"] == "code")
            assert "show_default(" in src(nxt), f"cell {i} has no static default after it"
            assert any(o.get("data", {}).get("image/png") for o in nxt["outputs"]), f"cell {i}: no stored figure"


def test_lectures_with_sliders_are_the_ones_the_issue_asks_for():
    with_sliders = {p.name[:2] for p in LECTURES if "widgets.live(" in p.read_text()}
    assert {"01", "02", "03", "04", "05", "06"} <= with_sliders


# --- Sliders that stay right after Run All --------------------------------------------------------
# A slider's update() runs long after its cell did (the lecturer moves it after Run All), so it may only
# read its arguments and what its own cell built. Checked statically with the compiler's own scopes
# (symtable), so the test needs no kernel.
import ast
import builtins
import symtable

import ipywidgets

import optlib.widgets


def code_cells(nb):
    return [(i, c) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def python_source(cell):
    """The cell's source with IPython magics and shell escapes blanked out (line numbers kept)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in src(cell).splitlines())


def module_bindings(source):
    """Names the cell binds at top level (assignment, def, class, import, for/with targets)."""
    top = symtable.symtable(source, "<cell>", "exec")
    return {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}


def import_only_names(nb):
    """Names that every cell binds only by import statements (modules and library functions)."""
    imported, assigned = set(), set()
    for _, c in code_cells(nb):
        top = symtable.symtable(python_source(c), "<cell>", "exec")
        imported |= {s.get_name() for s in top.get_symbols() if s.is_imported()}
        assigned |= {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_namespace()}
    return imported - assigned


def global_reads(table):
    """Module-level names a function (and the lambdas, comprehensions and functions inside it) reads."""
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
    for child in table.get_children():
        names |= global_reads(child)
    return names


def calls_named(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "attr", getattr(n.func, "id", None)) == name]


def sliders(nb):
    """(cell index, cell source, live() call) for every slider of a notebook."""
    for i, c in code_cells(nb):
        source = python_source(c)
        for call in calls_named(ast.parse(source), "live"):
            yield i, source, call


def built_by(source, name, functions):
    """The function of this cell whose call binds ``name`` (``fig, update = panel()``), or None."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Name) and node.value.func.id in functions:
            targets = [t for tgt in node.targets for t in (tgt.elts if isinstance(tgt, ast.Tuple) else [tgt])]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return node.value.func.id
    return None


def slider_problems(nb, index):
    """What makes the slider in code cell ``index`` go stale after Run All (empty if nothing)."""
    _, source, call = next(s for s in sliders(nb) if s[0] == index)
    if len(call.args) < 2 or not isinstance(call.args[1], ast.Name):
        return [f"cell {index}: call widgets.live(fig, update, ...) with update a function defined in the cell"]
    update = call.args[1].id
    cells = code_cells(nb)
    setup = module_bindings(python_source(cells[0][1]))
    allowed_everywhere = setup | import_only_names(nb) | set(dir(builtins))
    top = symtable.symtable(source, "<cell>", "exec")
    functions = {t.get_name(): t for t in top.get_children() if t.get_type() == "function"}
    root = update if update in functions else built_by(source, update, functions)
    if root is None:
        return [f"cell {index}: {update}() is defined in another cell; define it in the slider cell"]
    own = module_bindings(source)
    reads, todo, seen = set(), [root], set()
    while todo:                                  # the update and the cell's own helpers it calls
        name = todo.pop()
        seen.add(name)
        for n in global_reads(functions[name]):
            reads.add(n)
            if n in functions and n not in seen:
                todo.append(n)
    problems = []
    foreign = sorted(n for n in reads if n not in own and n not in allowed_everywhere)
    if foreign:
        problems.append(f"cell {index}: {update}() reads {foreign}, which its own cell does not define")
    later = {}
    for j, c in cells:
        if j > index:
            for n in sorted(module_bindings(python_source(c)) & (reads & own) - setup):
                later.setdefault(n, j)
    if later:
        problems.append(f"cell {index}: {update}() reads names that a later cell rebinds: {later}")
    return problems


SLIDERS = [(p, i) for p in LECTURES if "widgets.live(" in p.read_text() for i, *_ in sliders(load(p))]


@pytest.mark.parametrize("path,index", SLIDERS, ids=[f"{p.name}-cell{i}" for p, i in SLIDERS])
def test_a_slider_update_reads_only_what_its_own_cell_builds(path, index):
    assert slider_problems(load(path), index) == []


def fake_notebook(*sources):
    return {"cells": [{"cell_type": "code", "source": s} for s in sources]}


SETUP = "%matplotlib inline\nimport numpy as np\nfrom optlib import widgets\n"
GOOD = "steps = 40\nfig = object()\ndef update(lr):\n    return f'{lr} {np.arange(steps).size}'\nwidgets.live(fig, update, lr=widgets.lr(0.1))\n"


@pytest.mark.parametrize("cells,expected", [
    ((SETUP, GOOD, "widgets.show_default(fig, update, lr=0.1)"), ""),
    ((SETUP, "steps = 40", GOOD.replace("steps = 40\n", "")), "which its own cell does not define"),
    ((SETUP, GOOD, "steps = 200"), "a later cell rebinds: {'steps': 2}"),
    ((SETUP, "def update(lr):\n    pass", "fig = 1\nwidgets.live(fig, update, lr=widgets.lr())"), "another cell"),
    ((SETUP, "n = 3", "def helper():\n    return n\ndef update(lr):\n    return helper()\n"
      "widgets.live(None, update, lr=widgets.lr())"), "['n']"),
    ((SETUP, "import math", "def update(lr):\n    return math.log(lr) + len([lr])\n"
      "widgets.live(None, update, lr=widgets.lr())"), ""),
    ((SETUP, "def panel():\n    k = 2\n    def update(lr):\n        return k * lr\n    return None, update\n"
      "fig, update = panel()\nwidgets.live(fig, update, lr=widgets.lr())"), ""),
    ((SETUP, "def panel():\n    def update(lr):\n        return lr\n    return None, update",
      "fig, update = panel()\nwidgets.live(fig, update, lr=widgets.lr())"), "another cell"),
    ((SETUP, "k = 2", "def panel():\n    def update(lr):\n        return k * lr\n    return None, update\n"
      "fig, update = panel()\nwidgets.live(fig, update, lr=widgets.lr())"), "['k']"),
], ids=["self-contained", "global-from-earlier-cell", "rebound-later", "update-elsewhere", "via-helper",
        "modules-and-builtins", "factory-in-cell", "factory-elsewhere", "factory-reads-global"])
def test_the_slider_check_finds_each_planted_mistake(cells, expected):
    nb = fake_notebook(*cells)
    index = next(i for i, *_ in sliders(nb))
    problems = slider_problems(nb, index)
    assert (problems == []) if expected == "" else (len(problems) == 1 and expected in problems[0]), problems


def control_default(node):
    """The value the control built by ``node`` starts at: the value live() first passes to update."""
    namespace = {"widgets": optlib.widgets, "W": ipywidgets, "ipywidgets": ipywidgets}
    return eval(compile(ast.Expression(node), "<control>", "eval"), namespace).value  # noqa: S307


def default_problems(nb, index):
    """Whether the static cell after the slider in code cell ``index`` draws the slider's defaults."""
    _, source, call = next(s for s in sliders(nb) if s[0] == index)
    try:
        defaults = {k.arg: control_default(k.value) for k in call.keywords}
    except NameError as e:
        return [f"cell {index}: write each control's default as a literal in the live() call ({e})"]
    j, nxt = next(((j, c) for j, c in code_cells(nb) if j > index), (None, None))
    shown = [] if nxt is None else calls_named(ast.parse(python_source(nxt)), "show_default")
    if len(shown) != 1:
        return [f"cell {index}: the next code cell must be one widgets.show_default(...)"]
    if len(shown[0].args) < 2 or ast.dump(shown[0].args[1]) != ast.dump(call.args[1]):
        return [f"cell {j} must draw the slider's own update()"]
    values = {k.arg: ast.literal_eval(k.value) for k in shown[0].keywords}
    if values != defaults:
        return [f"cell {j} draws {values}; the slider in cell {index} starts at {defaults}"]
    return []


@pytest.mark.parametrize("path,index", SLIDERS, ids=[f"{p.name}-cell{i}" for p, i in SLIDERS])
def test_the_static_cell_after_a_slider_draws_the_sliders_defaults(path, index):
    assert default_problems(load(path), index) == []


LIVE = "widgets.live(fig, update, lr=widgets.lr(0.1, max=1.0), beta=widgets.beta(), on=widgets.toggle('x', False))"


@pytest.mark.parametrize("static,expected", [
    ("widgets.show_default(fig, update, lr=0.1, beta=0.9, on=False)", ""),
    ("widgets.show_default(fig, update, lr=0.1, beta=0.9, on=True)", "starts at"),
    ("widgets.show_default(fig, update, lr=0.1, beta=0.99, on=False)", "starts at"),
    ("widgets.show_default(fig, update, lr=0.1)", "starts at"),
    ("widgets.show_default(fig, other, lr=0.1, beta=0.9, on=False)", "own update"),
    ("print(1)", "next code cell"),
], ids=["defaults", "toggle-flipped", "beta-default-of-helper", "missing-control", "other-update", "no-static"])
def test_the_default_check_finds_each_planted_mistake(static, expected):
    nb = fake_notebook(SETUP, LIVE, static)
    problems = default_problems(nb, 1)
    assert (problems == []) if expected == "" else (len(problems) == 1 and expected in problems[0]), problems


# --- Every lecture ends with its exercise (BRIEF's exercise table) -------------------------------------
EXERCISE_OF = {
    "01": "01_gd_step", "02": "02_momentum_step", "03": "03_rms_and_ema", "04": "04_rmsprop_step",
    "05": "05_adam_step", "06": "06_capstone_digits", "07": "07_amsgrad_adamw",
    "08": "06_capstone_digits",          # lecture 08's exercise is the capstone
    "09": "09_port_recipe",
}


@pytest.mark.parametrize("path", LECTURES[1:], ids=lambda p: p.name)
def test_a_lecture_ends_with_a_link_to_its_exercise(path):
    assert path.name[:2] in EXERCISE_OF, f"{path.name}: no exercise assigned in EXERCISE_OF"
    target = f"../exercises/{EXERCISE_OF[path.name[:2]]}.ipynb"
    last = [c for c in load(path)["cells"] if c["cell_type"] == "markdown"][-1]
    links = re.findall(r"\]\(([^)\s]+)\)", src(last))
    assert target in links, f"{path.name}: the last markdown cell must link to {target}; it links to {links}"
    assert (path.parent / target).resolve().is_file(), f"{target} does not exist"
