"""Which configuration file a command reads, found as other tools of the ecosystem do.

``-c/--config`` when given; else ``$WARDSTREAM_CONFIG``; else ``./wardstream.yaml``
(or ``./wardstream.yml``) in the working directory; else none (defaults and
``WARDSTREAM__*`` variables). :func:`find_config` says which and how it was found,
so every command can tell the user which file it used, or that it found none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV = "WARDSTREAM_CONFIG"
NAMES = ("wardstream.yaml", "wardstream.yml")


@dataclass(frozen=True, slots=True)
class ConfigChoice:
    path: Path | None
    how: str
    """``--config``, ``$WARDSTREAM_CONFIG``, ``the working directory`` or ``none``."""

    def describe(self) -> str:
        if self.path is None:
            return (
                "no configuration file: no -c/--config, no $WARDSTREAM_CONFIG and no "
                "wardstream.yaml in the working directory; using the defaults and WARDSTREAM__* "
                "variables"
            )
        return f"configuration: {self.path} (from {self.how})"


def find_config(
    given: Path | None, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> ConfigChoice:
    """The configuration file to read and how it was found (the path need not exist:
    a missing ``-c`` or ``$WARDSTREAM_CONFIG`` file is reported by ``load_settings``)."""
    if given is not None:
        return ConfigChoice(given, "--config")
    variable = (os.environ if env is None else env).get(ENV, "").strip()
    if variable:
        return ConfigChoice(Path(variable), f"${ENV}")
    here = cwd or Path.cwd()
    for name in NAMES:
        if (here / name).is_file():
            return ConfigChoice(here / name, "the working directory")
    return ConfigChoice(None, "none")
