"""Run the course as if on another x86-64 CPU, with the libraries' own run-time switches.

numpy, OpenBLAS and torch each pick their kernels by CPU when they load, and each
has a switch that makes it pick an older one. Set before a process starts, the
switches below make one machine compute like another, so a stored notebook output
can be checked against the CPUs students and CI machines really have:

=========  ==================================  ==============================================
level      what it emulates                    switches
=========  ==================================  ==============================================
native     this machine, as it is              none
avx2       an AVX2 + FMA machine (2013-)       torch avx2, OpenBLAS Haswell, numpy without X86_V4
baseline   an x86-64 machine without AVX       torch default, OpenBLAS Nehalem, numpy X86_V2 only
=========  ==================================  ==============================================

On an AVX-512 machine "native" is the third level; on an AVX2 machine it equals
"avx2". Apple and ARM machines cannot be emulated here: notebooks print only what
is stable by design (see README, "Portable outputs").

    python tools/cpu_levels.py LEVEL COMMAND [ARGS...]   run COMMAND at LEVEL
    python tools/cpu_levels.py --report [LEVEL ...]      what each level really selects here
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

#: The environment of each level (numpy >= 2.4 names its dispatch groups X86_V3/X86_V4;
#: older names such as AVX512F are ignored with a hidden ImportWarning).
LEVELS: dict[str, dict[str, str]] = {
    "native": {},
    "avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "OPENBLAS_CORETYPE": "Haswell",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    },
    "baseline": {
        "ATEN_CPU_CAPABILITY": "default",
        "OPENBLAS_CORETYPE": "Nehalem",
        "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    },
}

#: The levels the test command checks the stored outputs on, besides native.
EMULATED = ("avx2", "baseline")


def env_for(level: str, base: dict | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with ``level``'s switches set."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    env = dict(os.environ if base is None else base)
    env.update(LEVELS[level])
    return env


_PROBE = r"""
import json, warnings
warnings.simplefilter("ignore")
import numpy
from numpy._core._multiarray_umath import __cpu_features__ as feats
# the dispatch groups numpy really uses (a disabled group reads False here)
out = {"numpy": sorted(k for k in ("X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR") if feats.get(k))}
try:
    import threadpoolctl
    out["openblas"] = sorted({i.get("architecture") for i in threadpoolctl.threadpool_info()
                              if i.get("internal_api") == "openblas"} - {None})
except ImportError:
    out["openblas"] = None
try:
    import torch
    out["torch"] = torch.backends.cpu.get_cpu_capability()
except ImportError:
    out["torch"] = None
print(json.dumps(out))
"""


def probe(level: str, python: str = sys.executable) -> dict:
    """What numpy, OpenBLAS and torch select in a fresh process at ``level``."""
    out = subprocess.run([python, "-c", _PROBE], env=env_for(level), capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] == "--report":
        for level in argv[1:] or list(LEVELS):
            print(f"{level:9s} {json.dumps(probe(level))}")
        return 0
    level, cmd = argv[0], argv[1:]
    if level not in LEVELS or not cmd:
        print(f"usage: cpu_levels.py {{{'|'.join(LEVELS)}}} COMMAND [ARGS...]", file=sys.stderr)
        return 2
    os.execvpe(cmd[0], cmd, env_for(level))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
