"""Terminal output shared by the commands: messages on stderr, data on stdout."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False)

EXIT_PROBLEM = 1  # the command ran and found a problem (bad config, broken chain)
EXIT_USAGE = 2  # typer's own code for bad arguments


def say(message: str) -> None:
    err.print(message)


def fail(message: str, code: int = EXIT_PROBLEM) -> NoReturn:
    err.print(f"[bold red]error:[/bold red] {message}")
    raise typer.Exit(code)
