"""How the state bench recovers: the fast engine's ``StateFeed`` or the Faust engine's
``StateReader``, exactly as the workers build them, and the encrypted snapshot.

With ``state.snapshot_dir`` set (the bench's second config), the fast recovery goes
through ``Snapshots`` as the worker does: without a snapshot file it reads everything
(and notes the offsets), with one it applies the snapshot and reads only the tail.
``tail()`` produces the tail: profile updates of a share of the subjects.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Producer

from tp_state_data import Encoder, _send

TAIL_SHARE = 0.01


def snapshot_config(config: Path) -> Path:
    """A copy of the bench config with the snapshot on (its directory beside it)."""
    data = yaml.safe_load(config.read_text())
    data["state"] = {"snapshot_dir": str(config.parent / "snapshot"), "snapshot_interval": "1h"}
    out = config.with_name("wardstream-snapshot.yaml")
    out.write_text(yaml.safe_dump(data))
    return out


def recover_fast(settings: Any, enforcer: Any) -> tuple[Any, Any, Any]:
    """(stop, feed, snapshots or None) once the state is caught up."""
    from confluent_kafka import Consumer

    from wardstream.engines.bootstrap import state_snapshots
    from wardstream.engines.fast.state_feed import StateFeed
    from wardstream.kafka.librdkafka import fast_settings, state_consumer_config

    fast = fast_settings(settings)
    snaps = state_snapshots(settings, enforcer)  # None without state.snapshot_dir
    feed = StateFeed(
        lambda: Consumer(state_consumer_config(settings, fast)),
        enforcer.applier if snaps is None else snaps,
        enforcer.state,
        interval_s=fast.state_poll_interval_s,
        start=None if snaps is None else snaps.start,
        reached=None if snaps is None else snaps.reached,
    )
    feed.start()
    if not feed.wait_ready(7200.0, lambda: False):
        raise RuntimeError("the state was not read")
    return feed.stop, feed, snaps


def recover_faust(settings: Any, enforcer: Any) -> tuple[Any, Any, Any]:
    from wardstream.engines.bootstrap import client_config, security_config
    from wardstream.engines.faust.clients import consumer_factory
    from wardstream.engines.faust.state_reader import StateReader
    from wardstream.kafka.admin import partition_counts

    applier = enforcer.applier
    counts = partition_counts(client_config(settings), list(applier.topics))
    factory = consumer_factory(settings.kafka.bootstrap_servers, security_config(settings))
    reader = StateReader(factory, applier, counts, enforcer.state)

    async def go() -> None:
        task = asyncio.create_task(reader.run())
        await reader.ready.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
    return (lambda: None), reader, None


def snapshot_numbers(feed: Any, snaps: Any) -> dict[str, Any]:
    """What the snapshot path did: records from it and from Kafka, then a write, timed."""
    if snaps is None:
        return {}
    t0 = time.monotonic()
    path = snaps.write()
    write_s = time.monotonic() - t0
    return {
        "snapshot_restored": snaps.restored,
        "snapshot_restore_s": round(snaps.restore_s, 2),
        "kafka_records": feed.records_read,
        "snapshot_write_s": round(write_s, 2),
        "snapshot_mb": round(path.stat().st_size / 2**20, 1) if path else None,
    }


def tail(bootstrap: str, subjects_topic: str, n: int, share: float = TAIL_SHARE) -> int:
    """Profile updates (the same values again) of ``share`` of the subjects: the tail a
    restart reads after the snapshot."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.num.messages": 100_000})
    enc, count = Encoder(), max(1, int(n * share))
    for i in random.Random(11).sample(range(n), count):
        key, value, _ = enc.subject(i)
        _send(p, subjects_topic, key, value)
    p.flush(600)
    return count
