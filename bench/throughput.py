"""`wardstream bench`: every engine and baseline on the same mixed Avro workload.

Run: ``wardstream bench [--events 100000] [--bootstrap host:port] [--json]``
(or ``python bench/throughput.py`` with the same options). See ``tp_runner``
for what each number means.
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
) -> dict[str, Any]:
    load = os.getloadavg()
    work = work or Path(tempfile.mkdtemp(prefix="wardstream-bench-"))
    bench = Bench(
        bootstrap,
        PROJECT,
        work,
        events=events,
        subjects=subjects,
        live_seconds=live_seconds,
        partitions=partitions,
    )
    bench.prepare()
    results = {row: bench.run(row) for row in rows or list(ROWS)}
    return {
        "meta": {
            "events": events,
            "subjects": subjects,
            "partitions": partitions,
            "live_seconds": live_seconds,
            "mix": "70% adults, 20% consented children, 5% without consent, 5% redacted",
            "work_dir": str(work),
            "machine": tp_report.machine(load),
        },
        "rows": results,
        "ratios": tp_report.ratios(results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--live-seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.bootstrap:
        parser.error("--bootstrap (or KAFKA_BOOTSTRAP_SERVERS) is needed")
    result = run(args.bootstrap, events=args.events, live_seconds=args.live_seconds)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        from rich.console import Console

        tp_report.print_report(result, Console())


if __name__ == "__main__":
    main()
