"""Every test under tests/integration carries the ``integration`` marker.

CI runs the unit tests with ``-m "not integration"`` and turns a skipped integration
test into a failure; a broker test without the marker would run (or skip) among the
unit tests and escape that rule.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_not_integration_collects_no_test_under_tests_integration() -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and pytest, fixed arguments
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not integration",
         "tests/integration"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    unmarked = [line for line in done.stdout.splitlines() if "::" in line]
    assert not unmarked, f"tests under tests/integration without the integration marker: {unmarked}"
    deselected = re.search(r"(\d+) deselected", done.stdout)
    assert deselected, done.stdout + done.stderr  # collection itself went wrong
    assert int(deselected.group(1)) >= 50, "collected too few integration tests to mean much"
