"""The CPU levels the test command checks notebooks on really select other kernels here.

tools/cpu_levels.py sets numpy's, OpenBLAS's and torch's own run-time switches.
If a library renamed its switch (numpy did, in 2.4), the emulation would silently
do nothing and the multi-level nbval run would prove nothing: these tests fail then.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import cpu_levels  # noqa: E402

NATIVE = cpu_levels.probe("native")


def test_baseline_uses_no_avx_kernel_in_any_library():
    got = cpu_levels.probe("baseline")
    assert got["numpy"] == [], got           # only numpy's X86_V2 baseline (SSE4.2) dispatches
    assert got["openblas"] == ["Nehalem"], got
    if got["torch"] is not None:
        assert got["torch"] == "DEFAULT", got


@pytest.mark.skipif("X86_V3" not in NATIVE["numpy"], reason="this CPU has no AVX2/FMA: nothing to emulate")
def test_avx2_uses_avx2_kernels_and_no_avx512():
    got = cpu_levels.probe("avx2")
    assert got["numpy"] == ["X86_V3"], got
    assert got["openblas"] == ["Haswell"], got
    if got["torch"] is not None:
        assert got["torch"] == "AVX2", got


def test_unknown_level_is_refused_by_name():
    with pytest.raises(ValueError, match="level must be one of native, avx2, baseline, got 'avx9'"):
        cpu_levels.env_for("avx9")


def test_nbval_kernels_of_a_level_run_with_its_switches(tmp_path):
    """A notebook whose stored output is the baseline switch passes at baseline and fails natively."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import os\nprint(os.environ.get('NPY_DISABLE_CPU_FEATURES'))")
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output(
        "stream", name="stdout", text=cpu_levels.LEVELS["baseline"]["NPY_DISABLE_CPU_FEATURES"] + "\n")]
    nb.cells = [cell]
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "level.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in cpu_levels.LEVELS["baseline"]}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:xdist", "-p", "no:cacheprovider",
         "--nbval", "--nbval-current-env", "--cpu-levels=baseline", "-rA", "-q", "--rootdir", str(tmp_path),
         "-c", os.devnull, str(tmp_path / "level.ipynb")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    lines = out.stdout.splitlines()
    assert any(l.startswith("PASSED") and "level.ipynb@baseline::Cell 0" in l for l in lines), out.stdout
    assert any(l.startswith("FAILED") and "level.ipynb::Cell 0" in l for l in lines), out.stdout
