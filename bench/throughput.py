"""`wardstream bench`: every engine and baseline on the same mixed Avro workload.

Run: ``wardstream bench [--events 100000] [--bootstrap host:port] [--json]``
(or ``python bench/throughput.py`` with the same options). See ``tp_runner``
for what each number means, and ``tp_state`` for ``--state-subjects N`` (the
recovery of N subject profiles; ``--rows none`` runs only that).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tp_report  # noqa: E402
import tp_state  # noqa: E402
from tp_runner import ROWS, Bench  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]


def run(
    bootstrap: str,
    *,
    events: int = 100_000,
    subjects: int = 10_000,
    live_seconds: float = 5.0,
    partitions: int = 3,
    rows: list[str] | None = None,
    work: Path | None = None,
    state_subjects: int = 0,
    state_engines: tuple[str, ...] = ("fast", "faust"),
    repeat: int = 1,
) -> dict[str, Any]:
    """``rows=[]`` runs no engine row (only the state recovery, with ``state_subjects``).

    ``repeat`` runs every row that many times, in rounds (each round runs each row once),
    so a drift of the machine's load spreads over all rows; each row reports its median
    run (``tp_report.median_run``).
    """
    load = os.getloadavg()
    work = work or Path(tempfile.mkdtemp(prefix="wardstream-bench-"))
    results: dict[str, Any] = {}
    bench = None
    if rows is None or rows:
        bench = Bench(
            bootstrap,
            PROJECT,
            work,
            events=events,
            subjects=subjects,
            live_seconds=live_seconds,
            partitions=partitions,
            repeat=repeat,
        )
        bench.prepare()
        order = rows or list(ROWS)
        runs: dict[str, list[dict[str, Any]]] = {row: [] for row in order}
        for n in range(repeat):
            for row in order:
                runs[row].append(bench.run(row, n))
        results = {row: tp_report.median_run(runs[row]) for row in order}
    state = None
    if state_subjects:
        prefix = f"{bench.prefix}.state" if bench else f"bench{os.urandom(3).hex()}.state"
        state = tp_state.run(
            bootstrap,
            state_subjects,
            project=PROJECT,
            work=work,
            prefix=prefix,
            partitions=partitions,
            engines=state_engines,
            repeat=repeat,
        )
    out: dict[str, Any] = {
        "meta": {
            "events": events,
            "subjects": subjects,
            "partitions": partitions,
            "live_seconds": live_seconds,
            "repeat": repeat,
            "mix": "70% adults, 20% consented children, 5% without consent, 5% redacted",
            "work_dir": str(work),
            "machine": tp_report.machine(load),
        },
        "rows": results,
        "ratios": tp_report.ratios(results),
    }
    if state is not None:
        out["state"] = state
    return out


def parse_rows(rows: str | None) -> list[str] | None:
    """None: every row; "none": no row (with --state-subjects, only the state recovery)."""
    if rows is None:
        return None
    return [] if rows.strip().lower() == "none" else [r for r in rows.split(",") if r]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--live-seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rows", default=None, help="Comma-separated rows, or none.")
    parser.add_argument("--state-subjects", type=int, default=0)
    parser.add_argument("--state-engines", default="fast,faust")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not args.bootstrap:
        parser.error("--bootstrap (or KAFKA_BOOTSTRAP_SERVERS) is needed")
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    result = run(
        args.bootstrap,
        events=args.events,
        live_seconds=args.live_seconds,
        rows=parse_rows(args.rows),
        state_subjects=args.state_subjects,
        state_engines=tuple(args.state_engines.split(",")),
        repeat=args.repeat,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        from rich.console import Console

        tp_report.print_report(result, Console())


if __name__ == "__main__":
    main()
