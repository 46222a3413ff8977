"""Master key rotation: every live data key re-wrapped under the current keys.

``rewrap(ring)`` gives the keys-topic records that re-wrap each live data key that
is not yet wrapped by ``ring.master`` (quarantine keys) or ``ring.sink`` (sink-field
keys): keys wrapped by the retired master key (or the sink key derived from it),
and first-format records (keyed by the raw subject id), which are re-written keyed
by the ref, their old record tombstoned. A key id and its data key do not change,
so every sealed payload opens as before - with the new keys only.

The procedure (docs/security.md): configure ``lifecycle.master_key`` = the new key
and ``lifecycle.retired_master_key`` = the old one on every worker and restart them
(they unwrap with either, wrap with the new one); run ``wardstream keys rotate``
(this); when it reports no key left under the retired key, remove
``retired_master_key`` everywhere and destroy it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wardstream.crypto import KeyUnavailable, wrap_key
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.keystore import StoredKey, encode_key_value, key_record_key
from wardstream.enforce.records import OutRecord


@dataclass(slots=True)
class Rotation:
    records: list[OutRecord] = field(default_factory=list)
    rewrapped: int = 0
    migrated: int = 0  # first-format records re-written keyed by the ref
    current: int = 0  # already wrapped by the current keys
    unreadable: list[str] = field(default_factory=list)  # key ids no key of the ring unwraps


def rewrap(ring: KeyRing) -> Rotation:
    result = Rotation()
    sink_family = {k.key_id for k in ring.family(ring.sink)}
    for key_id, stored in sorted(ring.store.keys.items()):
        target = ring.sink if stored.wrapped_by in sink_family else ring.master
        legacy = stored.bound_to != stored.owner
        if stored.wrapped_by == target.key_id and not legacy:
            result.current += 1
            continue
        try:
            data_key = ring.unwrap(key_id, stored)
        except KeyUnavailable:
            result.unreadable.append(key_id)
            continue
        new = StoredKey(
            stored.owner,
            wrap_key(target, stored.owner, key_id, data_key),
            key_record_key(stored.owner, key_id),
            stored.owner,
            target.key_id,
            stored.created_ms,
            stored.after,
        )
        result.records.append(OutRecord(ring.topic, new.record_key, encode_key_value(new)))
        if legacy:  # the raw id leaves the topic with the old record's tombstone
            result.records.append(OutRecord(ring.topic, stored.record_key, None))
            result.migrated += 1
        result.rewrapped += 1
    return result
