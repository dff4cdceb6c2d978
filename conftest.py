"""Repository-wide pytest set-up: stored notebook outputs checked on several CPU levels,
and a suite that runs where torch is not installed (Python 3.12 and 3.13).

``--cpu-levels=avx2,baseline`` collects every notebook once more per level: the
items ``notebooks/NN_x.ipynb@avx2::Cell 3`` run in a kernel started with that
level's switches (tools/cpu_levels.py), and strict nbval compares them with the
same stored outputs as the native run. `tools/course test` passes the option; a
plain `pytest` checks the native level only.

Where torch cannot be imported, test modules and notebooks that import it at top
level are not collected (they are reported as such, once); tests that import it
lazily use ``pytest.importorskip``.
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("cpu_levels", ROOT / "tools" / "cpu_levels.py")
cpu_levels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cpu_levels)

HAVE_TORCH = importlib.util.find_spec("torch") is not None
_TORCH_IMPORT = re.compile(r"^(import torch|from torch[ .])", re.M)
_ignored_for_torch: list[str] = []


def pytest_addoption(parser):
    parser.addoption("--cpu-levels", default="", metavar="LEVELS",
                     help="also run nbval on every notebook at these CPU levels, comma-separated "
                          f"(known: {', '.join(cpu_levels.LEVELS)}; see tools/cpu_levels.py)")


def _needs_torch(path: Path) -> bool:
    if path.suffix == ".py":
        return bool(_TORCH_IMPORT.search(path.read_text()))
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return any(_TORCH_IMPORT.search("".join(c["source"])) for c in cells if c["cell_type"] == "code")
    return False


def pytest_ignore_collect(collection_path, config):
    if not HAVE_TORCH and collection_path.is_file() and _needs_torch(collection_path):
        _ignored_for_torch.append(collection_path.name)
        return True
    return None


def pytest_report_header(config):
    lines = []
    if not HAVE_TORCH:
        lines.append("torch is not installed: modules and notebooks that import it are not collected")
    levels = _levels(config)
    if levels:
        lines.append(f"notebooks are also checked at CPU levels: {', '.join(levels)}")
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _ignored_for_torch:
        terminalreporter.write_line(f"not collected (they import torch): {', '.join(sorted(set(_ignored_for_torch)))}")


def _levels(config) -> list[str]:
    levels = [lv.strip() for lv in config.getoption("--cpu-levels").split(",") if lv.strip()]
    unknown = [lv for lv in levels if lv not in cpu_levels.LEVELS]
    if unknown:
        raise pytest.UsageError(f"--cpu-levels: unknown level(s) {unknown}; known: {list(cpu_levels.LEVELS)}")
    return [lv for lv in levels if lv != "native"]


def pytest_configure(config):
    levels = _levels(config)
    if levels and (config.option.nbval or config.option.nbval_lax):
        for level in levels:
            config.pluginmanager.register(_LevelCollector(level), f"cpu-level-{level}")


class _LevelCollector:
    """Collects each notebook once more, as ``path@LEVEL``, run in a kernel at that level."""

    def __init__(self, level: str):
        self.level = level

    def pytest_collect_file(self, file_path, parent):
        if file_path.suffix != ".ipynb":
            return None
        from _pytest.nodeid import NodeId

        try:
            rel = file_path.relative_to(parent.config.rootpath).as_posix()
        except ValueError:
            rel = file_path.as_posix()
        node = _level_notebook_class().from_parent(parent, path=file_path, name=f"{file_path.name}@{self.level}",
                                                   nodeid=NodeId(path=f"{rel}@{self.level}"))
        node.level = self.level
        return node


_LEVEL_CLASS = None


def _level_notebook_class():
    """nbval's notebook collector, whose kernel starts with a CPU level's environment."""
    global _LEVEL_CLASS
    if _LEVEL_CLASS is None:
        import nbval.kernel
        from nbval.plugin import IPyNbFile

        class LevelNotebook(IPyNbFile):
            level = "native"

            def setup(self):
                start = nbval.kernel.start_new_kernel
                env = cpu_levels.env_for(self.level)
                nbval.kernel.start_new_kernel = lambda **kw: start(env=env, **kw)
                try:
                    super().setup()
                finally:
                    nbval.kernel.start_new_kernel = start

        _LEVEL_CLASS = LevelNotebook
    return _LEVEL_CLASS
