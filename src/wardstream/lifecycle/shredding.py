"""Crypto-shredding: destroy every data key of a deleted subject, audited.

``shred`` tombstones every key of the subject on the keys topic
(``wardstream.enforce.datakeys``) and audits KEY_DESTROYED with a receipt
(sha256 of each wrapped key), so its quarantined payloads and sealed sink
fields can no longer be opened.
"""

from __future__ import annotations

from collections.abc import Callable

from wardstream.crypto import receipt
from wardstream.domain.enums import AuditAction
from wardstream.enforce.datakeys import KEY_DESTROYED, KeyRing, key_record_key
from wardstream.enforce.records import OutRecord

AuditWrite = Callable[..., OutRecord]


def shredder(ring: KeyRing, audit: AuditWrite) -> Callable[[str, str], list[OutRecord]]:
    """The issuer's ``shred`` hook: tombstone every data key of the subject and audit
    KEY_DESTROYED (pseudonymous subject ref, key ids, sha256 receipts; never a key)."""

    def shred(subject_id: str, deletion_id: str) -> list[OutRecord]:
        keys = sorted(ring.store.wrapped.get(subject_id, {}).items())
        if not keys:
            return []
        out = [OutRecord(ring.topic, key_record_key(subject_id, kid), None) for kid, _ in keys]
        for kid, _ in keys:
            ring.store.forget(subject_id, kid)
        attrs = {
            "deletion_id": deletion_id,
            "key_ids": ",".join(kid for kid, _ in keys),
            "receipts": ",".join(receipt(w) for _, w in keys),
            "keys_topic": ring.topic,
        }
        out.append(
            audit(
                AuditAction.KEY_DESTROYED,
                subject_id=subject_id,
                reason=KEY_DESTROYED,
                attrs=attrs,
            )
        )
        return out

    return shred
