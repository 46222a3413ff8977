"""A subject's records in the audit trail, under every pseudonym key in the ring.

After a rotation (``audit.key_id`` new, the old key in ``audit.earlier_hmac_keys``)
a subject's older records carry the ref made under the old key, the newer ones
the ref under the current key: ``audit lookup`` computes both and, with
``--records``, lists the records under either (action, time, chain, seq and
Kafka position; never any content).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def records_of(session: Any, refs: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every audit record whose subject_ref is one of ``refs`` (key id -> ref)."""
    from wardstream.kafka.audit_log import read_audit

    by_ref = {ref: key_id for key_id, ref in refs.items()}
    out = []
    for entry in read_audit(session.kafka, session.settings.topics.audit):
        r = entry.record
        if r is None or r.subject_ref not in by_ref:
            continue
        topic, partition, offset = entry.position
        out.append({"key_id": by_ref[r.subject_ref], "action": str(r.action),
                    "at": r.at.isoformat(), "pipeline": r.pipeline, "chain": r.chain,
                    "seq": r.seq, "topic": topic, "partition": partition,
                    "offset": offset})  # fmt: skip
    return out


def record_line(r: Mapping[str, Any]) -> str:
    return (
        f"{r['at']} {r['action']} pipeline={r['pipeline']} chain={r['chain']} seq={r['seq']} "
        f"key={r['key_id']} topic={r['topic']} partition={r['partition']} offset={r['offset']}"
    )


def subject_refs(session: Any, subject_id: str) -> dict[str, str]:
    """The subject's ref under every key of the ring, the current key's first."""
    from wardstream.engines.keysetup import pseudonym_ring

    return pseudonym_ring(session.settings).refs(subject_id)
