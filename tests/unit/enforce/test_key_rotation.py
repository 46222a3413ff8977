"""Master key rotation (issue #23, 4): every payload opens with the new key, none with the
retired one; first-format records leave the topic keyed by the ref."""

from __future__ import annotations

import base64
import json

import pytest
from tests.unit.conftest import REFS

from wardstream.crypto import KeyUnavailable, MasterKey, new_data_key, wrap_key
from wardstream.enforce.datakeys import KeyRing, seal_record
from wardstream.enforce.keystore import KeyStore
from wardstream.enforce.records import InRecord, OutRecord
from wardstream.enforce.sink_fields import FieldSealer, SinkKeys, open_field
from wardstream.lifecycle.rotation import rewrap

OLD, NEW = MasterKey(bytes(range(32))), MasterKey(bytes(range(50, 82)))
REC = InRecord("app.clicks", 0, 5, b"kid-1", b'{"user_id":"kid-1"}', None)


def _ring(master: MasterKey, store: KeyStore, retired: tuple[MasterKey, ...] = ()) -> KeyRing:
    return KeyRing(master, "ward.keys", store, refs=REFS.ref, retired=retired)


def _replay(records: list[OutRecord]) -> KeyStore:
    store = KeyStore(refs=REFS.ref)
    for r in records:
        store.apply(r.key or b"", r.value)
    return store


def test_after_rotation_everything_opens_with_the_new_key_and_nothing_with_the_old() -> None:
    topic: list[OutRecord] = []
    old = _ring(OLD, KeyStore(refs=REFS.ref))
    sealed_q, qkey, keys = old.seal("kid-1", "q-1", REC)
    topic += keys
    sealer = FieldSealer(old, ["city"])
    token = sealer.seal("kid-2", {"city": "Hangzhou"})["city"]
    topic += sealer.take()
    legacy_key = new_data_key()  # a first-format record, keyed by the raw id
    wrapped = wrap_key(OLD, "kid-3", "k-0003", legacy_key)
    value = json.dumps({"alg": "AES-256-GCM", "wrapped": base64.b64encode(wrapped).decode()})
    topic.append(OutRecord("ward.keys", b"kid-3|k-0003", value.encode()))
    sealed_legacy = seal_record(legacy_key, "q-3", REC)

    during = _ring(NEW, _replay(topic), retired=(OLD,))  # workers restarted with both keys
    rotation = rewrap(during)
    assert (rotation.rewrapped, rotation.migrated, rotation.unreadable) == (3, 1, [])
    topic += rotation.records
    assert rewrap(_ring(NEW, _replay(topic), retired=(OLD,))).rewrapped == 0, "done once"

    after = _ring(NEW, _replay(topic))  # the retired key removed
    assert after.open(qkey, "q-1", sealed_q) == REC
    assert after.open("k-0003", "q-3", sealed_legacy) == REC
    assert open_field(SinkKeys(after.sink, after.store), "city", token) == "Hangzhou"
    retired = _ring(OLD, _replay(topic))
    for key_id in (qkey, "k-0003"):
        with pytest.raises(KeyUnavailable):
            retired.data_key_by_id(key_id)
    with pytest.raises(KeyUnavailable):  # the sink key derived from the old master
        open_field(SinkKeys(old.sink, after.store), "city", token)
    on_topic = b"".join((r.key or b"") + (r.value or b"") for r in _latest(topic))
    assert b"kid-3" not in on_topic, "the raw id went with the first-format record"


def _latest(records: list[OutRecord]) -> list[OutRecord]:
    """What compaction leaves: the last record of each key, tombstones dropped."""
    last = {r.key: r for r in records}
    return [r for r in last.values() if r.value is not None]
