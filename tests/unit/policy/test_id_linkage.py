"""Playing the attacker: can the ids an auditor reads be linked back to raw subject ids?

The auditor reads the audit topic: subject refs, deletion ids with their reason, pipelines
and deadline, hold ids, notice ids. The attacker also knows the code (every public
derivation), the configuration (retention, deletion deadline, retention grid) and even a
hold's case ref, and holds a dictionary of 100,000 candidate subject ids that contains the
real ones. Without the pseudonym key no guess may land; with it, lookups still work.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from tests.unit.conftest import RECORDS
from tests.unit.policy.test_policy_support import child, pipeline, policy

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.domain.audit import AuditRecord
from wardstream.domain.holds import LegalHold
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.state import StateStore
from wardstream.lifecycle.applier import LifecycleState, LifecycleTopics
from wardstream.lifecycle.issuer import LifecycleIssuer
from wardstream.lifecycle.records import SeenMark
from wardstream.policy.holds import hold_id
from wardstream.policy.idkey import IdKey
from wardstream.serde import Origin

SECRET = bytes(range(40, 72))  # fictional pseudonym key
CANDIDATES = [f"u-{n:05d}" for n in range(100_000)]
HELD, PLAIN = "u-73519", "u-00042"
CASE = "case-17"
RETENTION, DEADLINE, GRID = timedelta(days=30), timedelta(days=15), timedelta(hours=1)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# the old, public derivation (a UUIDv5 under a published namespace), as an attacker writes it
OLD_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://wardstream.example/ids")
Derive = Callable[[str, tuple[object, ...]], str]


def _uuid5(kind: str, parts: tuple[object, ...]) -> str:
    text = "\x1f".join(
        [kind, *(p.isoformat() if isinstance(p, datetime) else str(p) for p in parts)]
    )
    return str(uuid.uuid5(OLD_NS, text))


GUESSED_KEY = IdKey.derive(bytes(32))  # the right algorithm under a key the attacker guessed


def _guessed_key(kind: str, parts: tuple[object, ...]) -> str:
    return GUESSED_KEY.id(kind, *parts)


ID_GUESSES: tuple[Derive, ...] = (_uuid5, _guessed_key)
REF_GUESSES: tuple[Callable[[str], str], ...] = (
    lambda c: hashlib.sha256(c.encode()).hexdigest(),
    lambda c: hmac.new(b"", c.encode(), hashlib.sha256).hexdigest(),
    lambda c: hmac.new(bytes(32), c.encode(), hashlib.sha256).hexdigest(),
)


def _audit_topic() -> list[AuditRecord]:
    """What the lifecycle leader writes to the audit topic for a retention sweep in which
    one subject is under a legal hold (the real issuer, auditor and codecs)."""
    topics = LifecycleTopics(*(f"ward.{k}" for k in (
        "subjects", "consents", "quarantine", "requests", "deletions", "notices",
        "corrections", "seen", "control", "holds", "keys")))  # fmt: skip
    refs = SubjectPseudonymizer(SECRET, "k1")
    auditor = Auditor("ward.audit", "w1", refs, clock=lambda: NOW)
    state, lifecycle = StateStore(), LifecycleState(records=RECORDS)
    for sid in (HELD, PLAIN):
        state.put_subject(sid, child())
        lifecycle.seen[sid] = {"clickstream": SeenMark(NOW - 2 * RETENTION, NOW - DEADLINE)}
    lifecycle.holds[HELD] = LegalHold(
        hold_id=hold_id(IdKey.derive(SECRET), HELD, CASE), subject_id=HELD, placed_at=NOW - GRID,
        case_ref=CASE,
    )  # fmt: skip
    rules = policy(deletion_deadline=DEADLINE, ids=IdKey.derive(SECRET))
    issuer = LifecycleIssuer(
        (pipeline(retention=RETENTION),), rules, state, lifecycle, auditor, topics, grid=GRID,
        clock=NOW.timestamp,
    )  # fmt: skip
    state.caught_up_at = NOW.timestamp()
    out = issuer.due(leader=True)
    return [auditor.decode(o.value, Origin("ward.audit", 0, 0)) for o in out if o.value
            and o.topic == "ward.audit"]  # fmt: skip


def _retention_inputs(r: AuditRecord) -> tuple[object, ...]:
    """The non-subject inputs of a retention deletion id, rebuilt from the record and the
    configuration: the grid time is the deadline less the deletion deadline."""
    assert r.deadline is not None
    grid_now = r.deadline - DEADLINE
    return (r.reason, r.attrs["pipelines"], grid_now - RETENTION)


def _linked(target: str, kind: str, tail: tuple[object, ...], guess: Derive) -> list[str]:
    return [c for c in CANDIDATES if guess(kind, (c, *tail)) == target]


def _guess_any(target: str, kind: str, tail: tuple[object, ...]) -> list[str]:
    return [c for g in ID_GUESSES for c in _linked(target, kind, tail, g)]


def _ids(records: Iterable[AuditRecord], action: str) -> list[AuditRecord]:
    return [r for r in records if r.action == action]


def test_without_the_key_no_ref_deletion_id_or_hold_id_links_to_a_raw_id() -> None:
    records = _audit_topic()
    [issued] = _ids(records, "DELETION_ISSUED")
    [deferred] = _ids(records, "DELETION_DEFERRED")
    assert not [r for r in records for sid in (HELD, PLAIN) if sid in str(r)]
    # deletion ids: every input but the subject is on the record or in the configuration
    assert _guess_any(issued.attrs["deletion_id"], "deletion", _retention_inputs(issued)) == []
    # hold ids: even knowing the case ref
    assert _guess_any(deferred.attrs["hold_id"], "hold", (CASE,)) == []
    # subject refs: unkeyed or guessed-key hashes of every candidate
    refs = {r.subject_ref.split(":", 1)[1] for r in records if r.subject_ref}
    assert len(refs) == 2
    assert [c for g in REF_GUESSES for c in CANDIDATES if g(c) in refs] == []


def test_with_the_key_the_same_records_are_looked_up() -> None:
    records = _audit_topic()
    [issued] = _ids(records, "DELETION_ISSUED")
    [deferred] = _ids(records, "DELETION_DEFERRED")
    holder = SubjectPseudonymizer(SECRET, "k1")
    assert issued.subject_ref == holder.ref(PLAIN) and deferred.subject_ref == holder.ref(HELD)
    ids = IdKey.derive(SECRET)  # what the worker derives from its hmac_key
    inputs = _retention_inputs(issued)
    found = [c for c in CANDIDATES if ids.id("deletion", c, *inputs) == issued.attrs["deletion_id"]]
    assert found == [PLAIN]
    assert deferred.attrs["hold_id"] == hold_id(ids, HELD, CASE)


def test_the_id_key_is_separate_from_the_pseudonym_key_and_never_shown() -> None:
    ids = IdKey.derive(SECRET)
    assert ids.id("x", "u-1") == IdKey.derive(SECRET).id("x", "u-1")  # deterministic
    # HKDF puts the pseudonym key in the message position: no subject's ref is the id key
    ref_of_label = hmac.new(SECRET, b"wardstream/subject-derived-ids/v1", hashlib.sha256)
    assert ref_of_label.digest() != ids._key  # noqa: SLF001 - the secret, compared in a test
    assert ids.id("x", "u-1") != IdKey.derive(SECRET[::-1]).id("x", "u-1")
    assert ids.id("x", "u-1") != ids.id("x", "u-1", "")  # unambiguous encoding
    assert ids.id("x", "a", "bc") != ids.id("x", "ab", "c")
    assert SECRET.hex() not in repr(ids) and "hidden" in repr(ids)
    assert uuid.UUID(ids.id("deletion", "u-1")).version == 8


def test_the_worker_derives_the_id_key_from_its_pseudonym_key() -> None:
    from wardstream.config.settings import Settings
    from wardstream.engines.keysetup import id_key

    settings = Settings(audit={"hmac_key": SECRET.hex()})
    assert id_key(settings).id("deletion", "u-1") == IdKey.derive(SECRET).id("deletion", "u-1")
    other = Settings(audit={"hmac_key": SECRET[::-1].hex()})
    assert id_key(other).id("deletion", "u-1") != id_key(settings).id("deletion", "u-1")
