"""A Faust worker that crashes for a reason a restart fixes (its state reader stopped)
leaves with ``RestartNeeded``, so ``wardstream worker`` exits with 75 as the fast engine
does; mode would turn every crash into exit code 1. Run in a subprocess: a mode worker
installs signal handlers and closes its event loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wardstream.errors import EXIT_RESTART

SCRIPT = """
import sys
import mode
from wardstream.errors import RestartNeeded
from wardstream.engines.run import run_until_stopped

class Crashing(mode.Service):
    async def on_started(self) -> None:
        await self.crash({reason})

try:
    run_until_stopped(mode.Worker(Crashing(), loglevel="critical", quiet=True))
except RestartNeeded:
    sys.exit({restart})
"""


@pytest.mark.parametrize(
    ("reason", "code"),
    [('RestartNeeded("the state reader stopped")', EXIT_RESTART), ('ValueError("bug")', 1)],
)
def test_a_crash_a_restart_fixes_leaves_as_restart_needed(
    reason: str, code: int, tmp_path: Path
) -> None:
    script = SCRIPT.format(reason=reason, restart=EXIT_RESTART)
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, timeout=60
    )
    assert done.returncode == code, done.stderr.decode()[-2000:]
