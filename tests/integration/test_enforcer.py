"""The enforcer on a real Kafka: every stream-level scenario of REQUIREMENTS.md.

One worker process serves the module; each test uses subjects of its own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import TEST_KEY, TEST_MASTER_KEY, Workspace, header

from wardstream.audit.pseudonym import SubjectPseudonymizer, parse_key
from wardstream.crypto import MasterKey
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.letters import LetterSealer, Opened
from wardstream.serde import AvroCodec, Origin, record_schema

pytestmark = pytest.mark.integration

ALL = ["identifier", "behaviour", "device", "location", "content", "technical"]
NOW = datetime.now(UTC)
refs = SubjectPseudonymizer(parse_key(TEST_KEY), "k1")
audit_codec = AvroCodec(record_schema("AuditRecord"))
quarantine_codec = AvroCodec(record_schema("QuarantinedEvent"))
dead_letter_codec = AvroCodec(record_schema("DeadLetter"))
letters = LetterSealer(KeyRing(MasterKey(parse_key(TEST_MASTER_KEY)), "keys", refs=refs.ref))


def opened(record: Any) -> Opened:
    """A dead letter's original key, value and headers: sealed on the topic (issue #23).
    Letters sealed with the dead-letter key open with the master key alone."""
    datum = dead_letter_codec.decode(record.value, origin=Origin("d", 0, 0))
    assert datum["encryption"] is not None and record.key is None
    return letters.open(datum)


@pytest.fixture(scope="module")
def ws(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    project = Path(__file__).resolve().parents[2]
    prefix = f"enf{uuid.uuid4().hex[:8]}"
    extra = {
        "live": {"purpose": "live_streaming"},
        "partner": {"destination": "third_party:ads.example.com"},
    }
    workspace = Workspace(
        tmp_path_factory.mktemp("enforcer"),
        kafka_bootstrap,
        prefix,
        project,
        extra,
        state_lateness_s=1.0,
        max_hold_s=8.0,
    )
    try:
        workspace.start()
        yield workspace
    finally:
        workspace.close()


def sid() -> str:
    return f"u-{uuid.uuid4().hex[:12]}"


def birthday(years: int, days: int = 0) -> date:
    today = NOW.date()
    return today.replace(year=today.year - years) - timedelta(days=days)


def click(subject: str, *, geo: bool = False, when: datetime | None = None) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "user_id": subject,
        "ts": when or datetime.now(UTC),
        "session_id": "s-1",
        "action": "VIEW",
        "page": "/lesson/7",
        "referrer": None,
        "search_query": None,
        "duration_ms": 1200,
        "experiment_group": "",
        "device": {"device_id": "d-1", "os": "android", "app_version": "5.1", "ip": None},
        "geo": {"lat": 31.2, "lon": 121.5, "city": None, "country": "CN"} if geo else None,
    }


def audits(
    ws: Workspace, subject: str, count: int = 1, timeout: float = 20, *, control: bool = False
) -> list[dict[str, Any]]:
    """The subject's audit records; lifecycle (``_control``) records only with ``control``."""
    ref = refs.ref(subject)

    def wanted(r: Any) -> bool:
        a = _audit(r)
        return a.get("subject_ref") == ref and (control or a.get("pipeline") != "_control")

    found = ws.wait_for(ws.topics["audit"], wanted, count, timeout)
    return [_audit(r) for r in found]


def _audit(record: Any) -> dict[str, Any]:
    return audit_codec.decode(
        record.value, origin=Origin(record.topic, record.partition, record.offset)
    )


def on_sink(
    ws: Workspace, pipeline: str, subject: str, count: int = 1, timeout: float = 20
) -> list[Any]:
    found = ws.wait_for(ws.sink(pipeline), _keyed(subject), count, timeout)
    assert len(found) >= count, f"not on the sink; audit says {audits(ws, subject, timeout=1)}"
    return found


def _keyed_ref(subject: str) -> Callable[[Any], bool]:
    """Records keyed by the subject's ref (quarantine, keys): never the raw id."""
    key = refs.ref(subject).encode()
    return lambda r: r.key == key


def _keyed(subject: str) -> Callable[[Any], bool]:
    key = subject.encode()
    return lambda r: r.key == key


def send_click(ws: Workspace, subject: str, **kw: Any) -> None:
    ws.event("clickstream", click(subject, **kw), key=subject.encode())
    ws.flush()


def child_with_consent(ws: Workspace, categories: list[str] = ALL, **consent: Any) -> str:
    s = sid()
    ws.subject(s, birth=birthday(9))
    ws.consent(s, f"c-{s}", categories=categories, **consent)
    ws.flush()
    return s


def test_adult_event_passes_byte_for_byte(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(30))
    ws.flush()
    time.sleep(1.5)
    raw = ws.codec("clickstream").encode(click(s, geo=True))
    ws.event("clickstream", raw=raw, key=s.encode())
    ws.flush()
    [out] = on_sink(ws, "clickstream", s)
    assert out.value == raw
    assert header(out, "ward-age-band") == b"adult"


def test_r1_child_the_day_before_14th_birthday_minor_on_it(ws: Workspace) -> None:
    eve, day = sid(), sid()
    ws.subject(eve, birth=birthday(14, days=-1))
    ws.subject(day, birth=birthday(14))
    ws.consent(eve, f"c-{eve}", categories=ALL)
    ws.consent(day, f"c-{day}", categories=ALL, by="SUBJECT")  # from 14, the minor consents (PIPL)
    ws.flush()
    send_click(ws, eve)
    send_click(ws, day)
    assert header(on_sink(ws, "clickstream", eve)[0], "ward-age-band") == b"child"
    assert header(on_sink(ws, "clickstream", day)[0], "ward-age-band") == b"minor"


def test_r2_no_profile_is_quarantined_as_age_unknown(ws: Workspace) -> None:
    s = sid()
    send_click(ws, s)
    [record] = audits(ws, s)
    assert record["action"] == "QUARANTINED"
    assert record["reason"] == "AGE_UNKNOWN"
    assert not ws.wait_for(ws.sink("clickstream"), _keyed(s), timeout=0.5)


def test_r3_child_without_consent_is_quarantined(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(10))
    ws.flush()
    send_click(ws, s)
    [record] = audits(ws, s)
    assert (record["action"], record["reason"]) == ("QUARANTINED", "NO_GUARDIAN_CONSENT")
    assert record["rule"] == "CN-CPI-2019/art9"
    held = ws.wait_for(ws.topics["quarantine"], _keyed_ref(s))
    assert (
        held
        and quarantine_codec.decode(held[0].value, origin=Origin("q", 0, 0))["reason"]
        == "NO_GUARDIAN_CONSENT"
    )


def test_r4_consent_for_another_purpose_does_not_cover(ws: Workspace) -> None:
    s = child_with_consent(ws, purposes=["learning"])
    send_click(ws, s)
    [record] = audits(ws, s)
    assert record["reason"] == "PURPOSE_NOT_COVERED"


def test_r5_consent_to_older_rules_needs_reconsent(ws: Workspace) -> None:
    s = child_with_consent(ws, version=2)
    send_click(ws, s)
    [record] = audits(ws, s)
    assert record["reason"] == "RECONSENT_REQUIRED"


def test_r6_uncovered_location_is_redacted(ws: Workspace) -> None:
    s = child_with_consent(ws, categories=["identifier", "behaviour", "device", "technical"])
    send_click(ws, s, geo=True)
    [out] = on_sink(ws, "clickstream", s)
    value = ws.codec("clickstream").decode(out.value, origin=Origin("t", 0, 0))
    assert value["geo"] is None and value["page"] == "/lesson/7"
    assert header(out, "ward-consent-id") == f"c-{s}".encode()
    [record] = audits(ws, s)
    assert record["action"] == "REDACTED" and "geo" in record["fields_redacted"]


def test_r8_events_after_deregistration_are_dropped(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(9), deregistered_at=NOW - timedelta(days=1))
    ws.consent(s, f"c-{s}", categories=ALL)
    ws.flush()
    send_click(ws, s)
    [record] = audits(ws, s)
    assert (record["action"], record["reason"]) == ("DROPPED", "DEREGISTERED")


def test_r11_no_targeted_ads_to_a_cn_minor_even_with_consent(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(16), jurisdiction="CN")
    ws.consent(
        s,
        f"c-{s}",
        purposes=["targeted_ads"],
        categories=ALL,
        recipients=["ads.example.com"],
        by="SUBJECT",
    )
    ws.flush()
    ws.event(
        "location_ping",
        {
            "ping_id": "p1",
            "user_id": s,
            "ts": datetime.now(UTC),
            "device_id": "d",
            "lat": 1.0,
            "lon": 2.0,
        },
        key=s.encode(),
    )
    ws.flush()
    [record] = audits(ws, s)
    assert (record["action"], record["reason"]) == ("DROPPED", "MARKETING_TO_MINOR")


def test_withdrawal_produced_after_the_event_still_blocks_it(ws: Workspace) -> None:
    s = child_with_consent(ws)
    time.sleep(1.5)
    withdrawn_at = datetime.now(UTC)
    send_click(ws, s, when=withdrawn_at + timedelta(milliseconds=100))
    time.sleep(0.5)
    ws.consent(s, f"c-{s}", action="WITHDRAWN", categories=ALL, effective_at=withdrawn_at)
    ws.flush()
    [record] = audits(ws, s)
    assert record["action"] == "QUARANTINED", record
    assert not ws.wait_for(ws.sink("clickstream"), _keyed(s), timeout=0.5)


def test_late_consent_releases_the_quarantined_event(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(8))
    ws.flush()
    send_click(ws, s)
    assert audits(ws, s)[0]["action"] == "QUARANTINED"
    ws.consent(s, f"c-{s}", categories=ALL, effective_at=datetime.now(UTC))
    ws.flush()
    [out] = on_sink(ws, "clickstream", s)
    assert header(out, "ward-age-band") == b"child"
    assert [a["action"] for a in audits(ws, s, count=2)] == ["QUARANTINED", "RELEASED"]


def test_poison_record_goes_to_deadletter_and_the_worker_keeps_going(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(40))
    ws.flush()
    ws.event("clickstream", raw=b"\x00\xffnot avro at all", key=b"poison-" + s.encode())
    send_click(ws, s)
    dead = ws.wait_for(ws.topics["deadletter"], lambda r: opened(r).key == b"poison-" + s.encode())
    assert dead, "the poison record is on the dead-letter topic"
    assert b"poison-" not in dead[0].value and b"not avro" not in dead[0].value, "sealed"
    assert on_sink(ws, "clickstream", s), "the next event still flows"
    assert ws.proc is not None and ws.proc.poll() is None


def test_a_state_record_that_cannot_be_applied_is_dead_lettered_and_audited(
    ws: Workspace,
) -> None:
    """Nothing is lost: a consent the worker cannot read changes nothing (fail closed) and
    goes to the dead-letter topic, with a DEADLETTERED audit record naming where it was."""
    s = sid()
    ws.producer.send(ws.topics["consents"], key=s.encode(), value=b"\x02not a consent")
    ws.flush()
    [dead] = ws.wait_for(ws.topics["deadletter"], lambda r: opened(r).key == s.encode(), timeout=30)
    letter = dead_letter_codec.decode(dead.value, origin=Origin("t", 0, 0))
    assert letter["origin_topic"] == ws.topics["consents"] and letter["pipeline"] is None
    assert opened(dead).value == b"\x02not a consent" and letter["error_code"] == "TRUNCATED_RECORD"
    assert s.encode() not in dead.value and b"not a consent" not in dead.value, "sealed"
    ref = f"{ws.topics['consents']}/{letter['origin_partition']}/{letter['origin_offset']}"
    found = ws.wait_for(ws.topics["audit"], lambda r: ref.encode() in r.value, timeout=30)
    [audit] = [audit_codec.decode(r.value, origin=Origin("a", 0, 0)) for r in found]
    assert (audit["chain"], audit["action"]) == ("_control/0", "DEADLETTERED")
    assert audit["event_ref"] == ref and audit["reason"] == "DECODE_ERROR"
    assert ws.proc is not None and ws.proc.poll() is None


def test_r10_third_party_needs_the_recipient_in_the_consent(ws: Workspace) -> None:
    s = child_with_consent(ws)  # analytics, every category, but no recipients
    ws.event("partner", click(s), key=s.encode())
    ws.flush()
    [record] = audits(ws, s)
    assert (record["action"], record["reason"]) == ("QUARANTINED", "RECIPIENT_NOT_COVERED")
    covered = child_with_consent(ws, recipients=["ads.example.com"])
    ws.event("partner", click(covered), key=covered.encode())
    ws.flush()
    assert on_sink(ws, "partner", covered)


def test_r12_vulnerable_child_never_live_streamed_and_the_flag_never_shows(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(10), vulnerable=True)
    ws.consent(s, f"c-{s}", purposes=["live_streaming"], categories=ALL)
    ws.flush()
    ws.event("live", click(s), key=s.encode())
    ws.flush()
    [record] = audits(ws, s)
    assert (record["action"], record["reason"]) == ("DROPPED", "PURPOSE_PROHIBITED")
    assert "vulnerab" not in repr(record).lower() and "DSM" not in repr(record)
    assert not ws.wait_for(ws.sink("live"), _keyed(s), timeout=0.5)


def test_restart_resumes_with_nothing_lost_and_nothing_leaked(ws: Workspace) -> None:
    adult, child = sid(), sid()
    ws.subject(adult, birth=birthday(35))
    ws.subject(child, birth=birthday(7))
    ws.flush()
    ws.stop()
    for _ in range(50):
        ws.event("clickstream", click(adult), key=adult.encode())
        ws.event("clickstream", click(child), key=child.encode())
    ws.flush()
    ws.start()
    assert len(on_sink(ws, "clickstream", adult, count=50, timeout=60)) >= 50
    assert len(audits(ws, child, count=50, timeout=60)) >= 50
    assert not ws.wait_for(ws.sink("clickstream"), _keyed(child), timeout=0.5)


def test_r6_a_childs_json_event_loses_keys_the_schema_does_not_name(ws: Workspace) -> None:
    s = child_with_consent(ws, purposes=["learning"], categories=[*ALL, "demographic"])
    message = {
        "message_id": "m1",
        "user_id": s,
        "ts": int(datetime.now(UTC).timestamp() * 1000),
        "conversation_id": "c1",
        "reply_to": None,
        "recipient_ids": [],
        "text": "hello",
        "attachments": [],
        "language": "zh",
        "client": None,
        "home_address": "1 Example Road",  # not in the schema: must not reach the sink
    }
    ws.event("chat_message", raw=json.dumps(message).encode(), key=s.encode())
    ws.flush()
    [out] = on_sink(ws, "chat_message", s)
    assert b"home_address" not in out.value and b"Example Road" not in out.value
    assert json.loads(out.value)["text"] == "hello"
