"""One closing line over every pytest run of `tools/course test` (one JUnit XML file per run).

    python tools/junit_summary.py build/test-results/*.xml
    -> runs: python3.11 920 tests, python3.12 141 tests, python3.13 141 tests
       course: 1199 passed, 0 failed, 3 skipped
"""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def counts(path):
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    return n["tests"] - n["failures"] - n["errors"] - n["skipped"], n["failures"] + n["errors"], n["skipped"]


def main(paths):
    runs = [(Path(p).stem, counts(p)) for p in paths if Path(p).is_file()]
    passed, failed, skipped = (sum(r[1][i] for r in runs) for i in range(3))
    print("runs: " + ", ".join(f"{name} {sum(c)} tests" for name, c in runs))
    print(f"course: {passed} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main(sys.argv[1:])
