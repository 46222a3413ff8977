"""The live view: traffic, the worker's decisions (its /metrics) and the topics read back."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from wardstream.demo.scrape import Snapshot
from wardstream.demo.tally import Tally

DESTINATIONS = ("sink", "quarantine", "deadletter", "dropped")


@dataclass(slots=True)
class View:
    title: str
    target: int
    produced: int = 0
    phase: str = "starting"
    snapshot: Snapshot | None = None
    rate: float = 0.0
    tally: Tally | None = None


def render(view: View) -> RenderableType:
    header = Text.from_markup(f"[bold]{view.title}[/bold]   [cyan]{view.phase}[/cyan]")
    columns = Table.grid(expand=True, padding=(0, 2))
    columns.add_column(ratio=1)
    columns.add_column(ratio=1)
    columns.add_row(_decisions(view.snapshot), _topics(view.tally))
    footer = Text("Ctrl-C stops the demo; the worker and the broker it started stop with it.",
                  style="dim")  # fmt: skip
    return Group(header, _traffic(view), columns, footer)


def _traffic(view: View) -> Panel:
    snap = view.snapshot
    grid = Table.grid(padding=(0, 2))
    grid.add_column(min_width=10)
    grid.add_column(justify="right", min_width=16)
    grid.add_column()
    bar = ProgressBar(total=max(view.target, 1), completed=view.produced, width=30)
    grid.add_row("produced", f"{view.produced:,} / {view.target:,}", bar)
    decided = int(snap.decided) if snap else 0
    grid.add_row("decided", f"{decided:,}", f"{view.rate:,.0f} events/s")
    held = int(snap.held) if snap else 0
    age = f"{snap.state_age:.1f}s" if snap else "-"
    grid.add_row("held", f"{held:,}", f"waiting for current consent state (state age {age})")
    return Panel(grid, title="traffic", title_align="left")


def _decisions(snap: Snapshot | None) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(min_width=12)
    grid.add_column(justify="right")
    for name in DESTINATIONS:
        grid.add_row(name, f"{int(snap.out[name]) if snap else 0:,}")
    grid.add_row("quarantine now", f"{int(snap.quarantine_size) if snap else 0:,}")
    return Panel(grid, title="decisions by destination (worker /metrics)", title_align="left")


def _topics(tally: Tally | None) -> Panel:
    t = tally or Tally()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(min_width=16)
    grid.add_column(justify="right")
    grid.add_row("sink records", f"{sum(t.sink.values()):,}")
    grid.add_row("quarantine open", f"{t.quarantine_open():,}")
    grid.add_row("released", f"{sum(t.released.values()):,}")
    grid.add_row("dead letters", f"{sum(t.deadletter.values()):,}")
    grid.add_row("dropped (audit)", f"{sum(t.dropped.values()):,}")
    grid.add_row("audit records", f"{t.audit_records:,}")
    grid.add_row("deletions", f"{t.deletions:,}")
    return Panel(grid, title="output topics (read back)", title_align="left")


def plain_line(view: View) -> str:
    """One line of progress for logs and non-terminals."""
    snap, t = view.snapshot, view.tally or Tally()
    decided = int(snap.decided) if snap else 0
    return (
        f"{view.phase}: produced {view.produced:,}/{view.target:,}, decided {decided:,} "
        f"({view.rate:,.0f}/s), sink {sum(t.sink.values()):,}, quarantine {t.quarantine_open():,}, "
        f"dead letters {sum(t.deadletter.values()):,}, audit records {t.audit_records:,}"
    )
