"""The broker is real: topics are created through the admin API and a Faust
agent carries records from one topic to another."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

pytestmark = pytest.mark.integration


def test_admin_creates_topic(kafka_bootstrap: str, unique_topic: Callable[[str], str]) -> None:
    name = unique_topic("admin")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
        described = admin.describe_topics([name])
    finally:
        admin.close()
    assert described[0]["name"] == name
    assert len(described[0]["partitions"]) == 3


def test_faust_agent_carries_1000_records(
    kafka_bootstrap: str, unique_topic: Callable[[str], str], project_root: Path, tmp_path: Path
) -> None:
    source, sink = unique_topic("in"), unique_topic("out")
    sent = {f"k{i}".encode(): f"value-{i}".encode() for i in range(1000)}
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for key, value in sent.items():
        producer.send(source, key=key, value=value)
    producer.flush()
    producer.close()

    env = dict(
        os.environ,
        BROKER=kafka_bootstrap,
        SOURCE=source,
        SINK=sink,
        APP_ID=unique_topic("app"),
        PYTHONPATH=str(project_root),
    )
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "tests.integration.apps.passthrough",
            "--datadir",
            str(tmp_path / "faust"),
            "worker",
            "-l",
            "warn",
        ],
        cwd=project_root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        received = _consume(kafka_bootstrap, sink, expected=len(sent), seconds=90, alive=worker)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    assert received == sent, (tmp_path / "worker.log").read_text()[-3000:]


def _consume(
    bootstrap: str, topic: str, expected: int, seconds: float, alive: subprocess.Popen[bytes]
) -> dict[bytes, bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    got: dict[bytes, bytes] = {}
    deadline = time.monotonic() + seconds
    try:
        while len(got) < expected and time.monotonic() < deadline and alive.poll() is None:
            for message in consumer:
                got[message.key] = message.value
    finally:
        consumer.close()
    return got


@pytest.mark.parametrize("codec", ["lz4", "zstd", "snappy", "gzip"])
def test_every_client_reads_what_the_fast_engine_compresses(
    codec: str, kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    """The fast engine may compress its outputs (``fast.compression``); the Faust engine
    (aiokafka) and the command-line tools (kafka-python) read them. Without the codec
    libraries aiokafka's fetch task died on lz4 and a Faust worker waited for good."""
    import asyncio

    from aiokafka import AIOKafkaConsumer
    from confluent_kafka import Producer

    topic = unique_topic(codec)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "compression.type": codec})
    sent = [f"value-{i}".encode() * 20 for i in range(200)]
    for value in sent:
        producer.produce(topic, value)
    assert producer.flush(30) == 0

    async def read_aiokafka() -> list[bytes]:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        got: list[bytes] = []
        try:
            deadline = time.monotonic() + 30
            while len(got) < len(sent) and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=1000)
                got += [m.value for ms in batches.values() for m in ms if m.value is not None]
        finally:
            await consumer.stop()
        return got

    assert asyncio.run(read_aiokafka()) == sent
    reader = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    try:
        assert [m.value for m in reader][: len(sent)] == sent
    finally:
        reader.close()


def test_every_writer_sends_a_key_to_the_partition_java_would(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    """The fast engine's producer (librdkafka) and the demo's send a key where Java,
    aiokafka and kafka-python do: librdkafka's default partitioner (CRC32) did not, so a
    tombstone written by a Faust leader missed the data key a fast worker had written."""
    from confluent_kafka import Producer

    from wardstream.config.settings import Settings
    from wardstream.demo.produce import KafkaSender
    from wardstream.kafka.audit_log import default_partition
    from wardstream.kafka.librdkafka import fast_settings, producer_config

    topic = unique_topic("partitioner")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
    finally:
        admin.close()
    settings = Settings(kafka={"bootstrap_servers": kafka_bootstrap})
    engine = Producer(producer_config(settings, fast_settings(settings), lambda *_: None))
    demo = KafkaSender(kafka_bootstrap)
    keys = [f"subject-{i}".encode() for i in range(40)]
    for key in keys:
        engine.produce(topic, b"engine", key)
        demo(topic, key, b"demo", int(time.time() * 1000))
    engine.flush(10)
    demo.flush()
    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )  # fmt: skip
    try:
        seen = [(m.key, m.partition, m.value) for m in consumer]
    finally:
        consumer.close()
    assert len(seen) == 2 * len(keys)
    wrong = [(k, p, v) for k, p, v in seen if p != default_partition(k, 6)]
    assert wrong == [], f"{len(wrong)} records in another partition than Java's"
