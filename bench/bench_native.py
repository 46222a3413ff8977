"""CPU per record to validate a value and find its subject and time: Python vs native.

Run: ``python bench/bench_native.py [--records 20000] [--batch 1000] [--repeat 5]``.

For each example schema (records from ``bench_serde``'s generators, subject and
event time from fields as the example pipelines have them), in the same run:

- ``fastavro``: what a worker does today, per record: ``AvroCodec.decode``
  (fastavro, lenient) and ``EventLocator.locate``;
- ``fastavro canonical``: the same with ``canonical=True`` (full validation);
- ``native``: ``NativeLocator.locate`` on batches of ``--batch`` values (full
  validation, canonical), results as columns;
- ``native+objects``: ``NativeLocator.envelopes``: an Envelope or error per record.

Reports process CPU time per record (microseconds), the best of ``--repeat`` runs.
No Kafka; one core.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from io import BytesIO

from fastavro import schemaless_writer

from bench_serde import EXAMPLES, GENERATORS
from wardstream.serde import AvroCodec, Origin, load_schema
from wardstream.serde.lazy import EventLocator
from wardstream.serde.native import NativeLocator

ORIGIN = Origin("bench", 0, 0)


def cpu_us(work: Callable[[], object], count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best / count * 1e6


def bench_schema(name: str, count: int, batch: int, repeat: int) -> dict[str, float]:
    schema = load_schema(EXAMPLES / f"{name}.avsc")
    rng = random.Random(7)
    values = []
    for i in range(count):
        out = BytesIO()
        schemaless_writer(out, schema.parsed, GENERATORS[name](rng, i))
        values.append(out.getvalue())
    subject, when = "user_id", "ts"
    where = EventLocator(subject, when)
    native = NativeLocator(schema, subject, when)
    batches = [values[i : i + batch] for i in range(0, count, batch)]

    def python(canonical: bool) -> Callable[[], object]:
        codec = AvroCodec(schema, canonical=canonical)

        def run() -> None:
            for value in values:
                record = codec.decode(value, origin=ORIGIN)
                where.locate(key=None, timestamp_ms=None, record=record, origin=ORIGIN)

        return run

    def columns() -> None:
        for chunk in batches:
            found = native.locate(chunk)
            assert not found.errors  # noqa: S101

    def objects() -> None:
        for chunk in batches:
            native.envelopes(chunk)

    return {
        "fastavro": cpu_us(python(False), count, repeat),
        "fastavro canonical": cpu_us(python(True), count, repeat),
        "native": cpu_us(columns, count, repeat),
        "native+objects": cpu_us(objects, count, repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if min(args.records, args.batch, args.repeat) < 1:
        parser.error("--records, --batch and --repeat must be at least 1")
    rows = {name: bench_schema(name, args.records, args.batch, args.repeat) for name in GENERATORS}
    columns = list(next(iter(rows.values())))
    print(f"us CPU per record, best of {args.repeat}, batches of {args.batch}")
    print(f"{'schema':<15}" + "".join(f"{c:>20}" for c in columns) + f"{'fastavro/native':>17}")
    for name, row in rows.items():
        ratio = row["fastavro"] / row["native"]
        cells = "".join(f"{row[c]:>20.2f}" for c in columns)
        print(f"{name:<15}{cells}{ratio:>16.1f}x")


if __name__ == "__main__":
    main()
