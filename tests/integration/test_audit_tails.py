"""A worker continues every audit chain from its last record on the topic (start-up, and
after each assignment). Only the last record of each chain in each partition is decoded,
so the test spreads every chain over every partition.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Producer

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.config.settings import Settings
from wardstream.domain.enums import AuditAction
from wardstream.enforce.auditor import Auditor
from wardstream.engines.bootstrap import read_audit_tails
from wardstream.kafka.admin import TopicSpec, ensure_topics
from wardstream.serde import Origin

PSEUDONYMS = SubjectPseudonymizer(b"k" * 32, "k1")
AT = Origin("audit", 0, 0)


def auditor(topic: str, worker: str) -> Auditor:
    return Auditor(topic, worker, PSEUDONYMS)


def test_each_chain_continues_from_its_last_record(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("audit")
    ensure_topics({"bootstrap_servers": kafka_bootstrap}, [TopicSpec(topic, 3)])
    first = auditor(topic, "w1")
    chains = ["clicks/0", "clicks/1", "clicks/2", "_control/0"]
    written = [
        first.write(chains[i % len(chains)], "clicks", AuditAction.PASSED, subject_id=f"s{i}")
        for i in range(41)
    ]
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    for i, out in enumerate(written):  # spread over the partitions, in order per chain
        producer.produce(topic, out.value, out.key, partition=i % 3)
    producer.flush(30)
    settings = Settings(kafka={"bootstrap_servers": kafka_bootstrap}, topics={"audit": topic})

    second = auditor(topic, "w2")
    assert read_audit_tails(settings, second) == 41
    for chain in chains:  # the same seq and prev_hash as the writer that never stopped
        mine = second.write(chain, "clicks", AuditAction.PASSED, subject_id="next")
        theirs = first.write(chain, "clicks", AuditAction.PASSED, subject_id="next")
        a, b = second.decode(mine.value, AT), first.decode(theirs.value, AT)
        assert (a.seq, a.prev_hash) == (b.seq, b.prev_hash)
        assert a.seq > 0


def test_an_empty_audit_topic_starts_every_chain_afresh(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("audit")
    ensure_topics({"bootstrap_servers": kafka_bootstrap}, [TopicSpec(topic, 2)])
    settings = Settings(kafka={"bootstrap_servers": kafka_bootstrap}, topics={"audit": topic})
    fresh = auditor(topic, "w1")
    assert read_audit_tails(settings, fresh) == 0
    out = fresh.write("clicks/0", "clicks", AuditAction.PASSED, subject_id="s")
    assert fresh.decode(out.value, AT).seq == 0
