"""The bench's results: ratios, a rich table, JSON."""

from __future__ import annotations

import os
import platform
from typing import Any

from rich.console import Console
from rich.table import Table


def ratios(rows: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    def rate(row: str) -> float | None:
        value = rows.get(row, {}).get("events_per_s")
        return float(value) if value else None

    def ratio(a: str, b: str) -> float | None:
        x, y = rate(a), rate(b)
        return round(x / y, 3) if x and y else None

    out = {f"{row}/raw": ratio(row, "raw") for row in rows if row != "raw"}
    out["faust-engine/faust-pass"] = ratio("faust-engine", "faust-pass")
    return out


def median_run(runs: list[dict[str, Any]], rate: str = "events_per_s") -> dict[str, Any]:
    """The run with the median ``rate`` (the lower middle of an even count), whole: its
    latency, CPU and memory belong together. ``runs_<rate>`` lists every run's rate,
    and a run that failed makes the row an error (no median hides it)."""
    failed = [r for r in runs if "error" in r]
    if failed:
        return failed[0]
    ranked = sorted(runs, key=lambda r: r[rate])
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    if len(runs) > 1:
        chosen[f"runs_{rate}"] = [r[rate] for r in runs]
    return chosen


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def cores(row: dict[str, Any]) -> float:
    """Cores the row kept busy while measured: a baseline well under one core on a loop
    that should be CPU-bound is throttled somewhere (a fetch backoff, a broker)."""
    return float(row["events_per_s"]) * float(row["cpu_s_per_million"]) / 1e6


def table(result: dict[str, Any]) -> Table:
    m = result["meta"]
    runs = m.get("repeat", 1)
    t = Table(
        title=f"wardstream bench: {m['events']:,} events, {m['partitions']} partitions, "
        f"load {m['machine']['load_before'][0]} -> {m['machine']['load_after'][0]} "
        f"on {m['machine']['cpus']} CPUs"
        + (f"; median of {runs} runs per row (range)" if runs > 1 else ""),
    )
    for col in ("row", "events/s", "x raw", "p50 ms", "p99 ms", "child p50", "CPU s/M ev",
                "cores", "peak RSS MB", "withdrawal lag ms"):  # fmt: skip
        t.add_column(col, justify="left" if col == "row" else "right")
    raw = result["rows"].get("raw", {}).get("events_per_s")
    for row, r in result["rows"].items():
        if "error" in r:
            t.add_row(row, f"[red]{r['error']}[/red]", *[""] * 8)
            continue
        lat = r.get("latency", {})
        first = lat.get("adult") or lat.get("all") or {}
        child = lat.get("child") or {}
        lag = r.get("withdrawal", {}).get("lag_ms")
        spread = r.get("runs_events_per_s")
        rate = f"{r['events_per_s']:,}"
        if spread:
            rate += f" ({min(spread):,}-{max(spread):,})"
        t.add_row(
            r["name"],
            rate,
            f"{r['events_per_s'] / raw:.3f}" if raw else "-",
            _fmt(first.get("p50_ms")),
            _fmt(first.get("p99_ms")),
            _fmt(child.get("p50_ms")),
            f"{r['cpu_s_per_million']:,}",
            f"{cores(r):.2f}",
            f"{r['peak_rss_mb']:,}",
            _fmt(lag),
        )
    return t


def state_table(state: dict[str, Any]) -> Table:
    t = Table(
        title=f"state recovery: {state['subjects']:,} subjects, {state['consents']:,} consents "
        f"({state['value_mb']:,} MB of values, produced in {state['produce_s']} s)"
    )
    cols = ("engine", "seconds", "records/s", "CPU s", "RSS growth MB", "peak growth MB",
            "bytes/subject", "peak bytes/subject", "get cold us", "get hot us", "first tick s",
            "wrong", "rejected")  # fmt: skip
    for col in cols:
        t.add_column(col, justify="left" if col == "engine" else "right")
    for engine, r in state["engines"].items():
        if "error" in r:
            t.add_row(engine, f"[red]{r['error']}[/red]", *[""] * (len(cols) - 2))
            continue
        keys = ("seconds", "records_per_s", "cpu_s", "rss_growth_mb", "peak_growth_mb",
                "bytes_per_subject", "peak_bytes_per_subject", "lookup_cold_us", "lookup_hot_us",
                "first_tick_s", "wrong", "rejected")  # fmt: skip
        runs = r.get("runs_records_per_s")
        label = engine if not runs else f"{engine} (median of {', '.join(map(_fmt, runs))})"
        t.add_row(label, *[_fmt(r.get(k)) for k in keys])
    return t


def snapshot_lines(state: dict[str, Any]) -> list[str]:
    """The snapshot path beside the full read: its size, its write, what a restart read."""
    out = []
    for engine, r in state["engines"].items():
        if r.get("snapshot_write_s") is None:
            continue
        out.append(
            f"{engine}: {_fmt(r.get('snapshot_restored'))} records from the snapshot "
            f"(in {r.get('snapshot_restore_s')} s), "
            f"{_fmt(r.get('kafka_records'))} from Kafka; then a snapshot of "
            f"{_fmt(r.get('snapshot_mb'))} MB written in {r['snapshot_write_s']} s"
        )
    return out


def print_report(result: dict[str, Any], console: Console) -> None:
    if "state" in result:
        console.print(state_table(result["state"]))
        for line in snapshot_lines(result["state"]):
            console.print(line)
        console.print(
            "goal (issue 19): 10,000,000 subjects within 1 GB (64 bytes each), a full read at "
            "500,000 records/s, a restart from the snapshot plus a 1% tail in under 60 s (20 s "
            "the aim); growth = RSS after recovery minus before, peak = high-water mark minus "
            "before."
        )
    if not result["rows"]:
        return
    console.print(table(result))
    r = result["ratios"]
    console.print(
        f"fast engine / raw librdkafka: exactly_once {r.get('fast-eos/raw')}, "
        f"at_least_once {r.get('fast-alo/raw')} (target >= 0.5)\n"
        f"Faust engine / naive Faust passthrough: {r.get('faust-engine/faust-pass')} "
        "(target >= 2, bulletin 2026-11-22)\n"
        "p50/p99: adults' (or all, for baselines) sink latency at half the row's rate; "
        "children wait state_lateness (2 s) by design, see child p50.\n"
        "withdrawal lag: from the broker's confirmation of the withdrawal to the first of "
        "that child's events on the quarantine topic."
    )


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:,}"
