"""The configuration file of a command: found (config.discovery) and named on stderr."""

from __future__ import annotations

from pathlib import Path

from wardstream.cli.output import say
from wardstream.config.discovery import ConfigChoice, find_config


def chosen_config(given: Path | None, *, quiet: bool = False) -> ConfigChoice:
    """``-c`` or the discovered file; says which on stderr (unless ``quiet``)."""
    choice = find_config(given)
    if not quiet:
        say(choice.describe())
    return choice
