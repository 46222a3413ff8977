"""Records/s of wardstream's serde for each example schema.

Run: ``python bench/bench_serde.py [--records 20000] [--repeat 3]``. Measures,
per schema, fastavro's bare ``schemaless_reader`` as the baseline, then
wardstream's schemaless Avro (also with ``canonical=True``), Confluent-framed
Avro (in-memory registry) and JSON codecs (encode and decode), redaction
with a cached plan, and the lazy path (subject from the key, time from the
timestamp, value untouched). Best of ``--repeat`` runs; one core.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader

from wardstream.serde import (
    AvroCodec,
    ConfluentAvroCodec,
    InMemorySchemaRegistry,
    JsonCodec,
    Origin,
    lazy_envelope,
    load_schema,
    redaction_plan,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "schemas" / "examples"
START = datetime(2026, 11, 22, tzinfo=UTC)
WORDS = "maths homework reading club science quiz lunch park music art history map".split()
REDACT = {
    "clickstream": ["geo", "device.ip", "search_query", "session_id"],
    "chat_message": ["attachments", "language", "client"],
    "location_ping": ["wifi_ssid", "accuracy_m", "speed_mps"],
    "purchase": ["billing_email", "billing_postcode", "card_last4"],
}


def _ts(rng: random.Random) -> datetime:
    return START + timedelta(milliseconds=rng.randrange(86_400_000))


def _maybe(rng: random.Random, value: Any) -> Any:
    return value if rng.random() < 0.7 else None


def clickstream(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "event_id": f"evt-{i:08d}",
        "user_id": f"user-{rng.randrange(50_000):06d}",
        "ts": _ts(rng),
        "session_id": _maybe(rng, f"sess-{rng.randrange(10**9):09d}"),
        "action": rng.choice(["VIEW", "CLICK", "SCROLL", "SEARCH"]),
        "page": f"/lesson/{rng.choice(WORDS)}/{rng.randrange(200)}",
        "referrer": _maybe(rng, f"/home/{rng.choice(WORDS)}"),
        "search_query": _maybe(rng, " ".join(rng.sample(WORDS, 2))),
        "duration_ms": _maybe(rng, rng.randrange(60_000)),
        "experiment_group": rng.choice(["", "A", "B"]),
        "device": {
            "device_id": f"dev-{rng.randrange(10**6):06d}",
            "os": rng.choice(["android 15", "ios 19", "harmonyos 5"]),
            "app_version": _maybe(rng, "4.12.0"),
            "ip": _maybe(rng, f"198.51.100.{rng.randrange(256)}"),
        },
        "geo": _maybe(
            rng,
            {
                "lat": rng.uniform(18, 53),
                "lon": rng.uniform(73, 135),
                "city": "Hangzhou",
                "country": "CN",
            },
        ),
    }


def chat_message(rng: random.Random, i: int) -> dict[str, Any]:
    attachments = [
        {
            "url": f"https://files.example.com/{i}/{n}.png",
            "mime_type": "image/png",
            "size_bytes": 2048,
        }
        for n in range(rng.choice([0, 0, 0, 1, 2]))
    ]
    return {
        "message_id": f"msg-{i:08d}",
        "user_id": f"user-{rng.randrange(50_000):06d}",
        "ts": _ts(rng),
        "conversation_id": f"class-{rng.randrange(500)}",
        "reply_to": _maybe(rng, f"msg-{rng.randrange(i + 1):08d}"),
        "recipient_ids": [f"user-{rng.randrange(50_000):06d}" for _ in range(rng.randrange(3))],
        "text": " ".join(rng.choices(WORDS, k=rng.randrange(3, 25))),
        "attachments": attachments,
        "language": _maybe(rng, rng.choice(["zh-CN", "en-GB"])),
        "client": _maybe(rng, {"platform": "ios", "app_version": "4.12.0"}),
    }


def location_ping(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "ping_id": f"ping-{i:08d}",
        "user_id": f"user-{rng.randrange(50_000):06d}",
        "ts": _ts(rng),
        "device_id": f"dev-{rng.randrange(10**6):06d}",
        "lat": rng.uniform(18, 53),
        "lon": rng.uniform(73, 135),
        "accuracy_m": _maybe(rng, float(rng.randrange(3, 80))),
        "speed_mps": _maybe(rng, rng.random() * 3),
        "wifi_ssid": _maybe(rng, f"school-wifi-{rng.randrange(40)}"),
        "network": _maybe(rng, rng.choice(["WIFI", "CELLULAR", "OFFLINE"])),
        "battery_pct": _maybe(rng, rng.randrange(101)),
    }


def purchase(rng: random.Random, i: int) -> dict[str, Any]:
    items = [
        {
            "sku": f"SKU-{rng.randrange(9999):04d}",
            "title": f"{rng.choice(WORDS)} pack",
            "quantity": 1,
            "unit_price_minor": 299,
        }
        for _ in range(rng.randrange(1, 4))
    ]
    return {
        "order_id": f"ord-{i:08d}",
        "user_id": f"user-{rng.randrange(50_000):06d}",
        "ts": _ts(rng),
        "store_id": "store-cn-1",
        "amount_minor": sum(item["unit_price_minor"] for item in items),
        "currency": "CNY",
        "items": items,
        "payment_method": _maybe(rng, "WALLET"),
        "card_last4": _maybe(rng, f"{rng.randrange(10_000):04d}"),
        "billing_email": _maybe(rng, f"parent{rng.randrange(1000)}@example.com"),
        "billing_postcode": _maybe(rng, "310000"),
        "coupon_code": _maybe(rng, "SPRING"),
    }


GENERATORS: dict[str, Callable[[random.Random, int], dict[str, Any]]] = {
    "clickstream": clickstream,
    "chat_message": chat_message,
    "location_ping": location_ping,
    "purchase": purchase,
}


def best_rate(work: Callable[[], object], count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return count / best


def bench_schema(name: str, count: int, repeat: int) -> dict[str, float]:
    schema = load_schema(EXAMPLES / f"{name}.avsc")
    rng = random.Random(42)
    records = [GENERATORS[name](rng, i) for i in range(count)]
    origin = Origin("bench", 0, 0)
    codecs = {
        "avro": AvroCodec(schema),
        "confluent": ConfluentAvroCodec(
            InMemorySchemaRegistry(), schema=schema, subject=f"{name}-value"
        ),
        "json": JsonCodec(schema),
    }
    rates: dict[str, float] = {}
    for label, codec in codecs.items():
        blobs = [codec.encode(record) for record in records]
        rates[f"{label} enc"] = best_rate(
            lambda c=codec: [c.encode(r) for r in records], count, repeat
        )
        rates[f"{label} dec"] = best_rate(
            lambda c=codec, b=blobs: [c.decode(x, origin=origin) for x in b], count, repeat
        )
        if label == "avro":
            parsed = schema.parsed
            rates["fastavro dec"] = best_rate(
                lambda b=blobs, p=parsed: [schemaless_reader(BytesIO(x), p, None) for x in b],
                count,
                repeat,
            )
            rates["avg bytes"] = sum(map(len, blobs)) / count
            strict = AvroCodec(schema, canonical=True)
            rates["canonical dec"] = best_rate(
                lambda b=blobs, c=strict: [c.decode(x, origin=origin) for x in b], count, repeat
            )
    plan = redaction_plan(schema, REDACT[name])
    rates["redact"] = best_rate(lambda: [plan.apply(r) for r in records], count, repeat)
    keys = [record["user_id"].encode() for record in records]
    rates["lazy"] = best_rate(
        lambda: [lazy_envelope(k, 1_795_000_000_000, origin) for k in keys], count, repeat
    )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--records", type=int, default=20_000, help="records per schema (default 20000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the best counts"
    )
    args = parser.parse_args()
    columns = [
        "avg bytes",
        "fastavro dec",
        "avro dec",
        "canonical dec",
        "avro enc",
        "confluent dec",
        "confluent enc",
        "json dec",
        "json enc",
        "redact",
        "lazy",
    ]
    print(f"records/s, best of {args.repeat} runs of {args.records} records, one core")
    print(f"{'schema':<14}" + "".join(f"{c:>14}" for c in columns))
    for name in GENERATORS:
        rates = bench_schema(name, args.records, args.repeat)
        print(f"{name:<14}" + "".join(f"{rates[c]:>14,.0f}" for c in columns))


if __name__ == "__main__":
    main()
