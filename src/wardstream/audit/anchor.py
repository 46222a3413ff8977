"""The anchor file: the latest signed heads, for an auditor to keep outside Kafka.

Whoever can rewrite the audit topic can also remove the newest checkpoints with
the records they cover; the hash chains and signatures left then still agree.
An auditor who kept an anchor from an earlier run catches that: every head
and checkpoint it holds must still be on the topic, with the same hash, unless
retention has removed its offset (then it is reported as retention).

Format (JSON, small: one entry per chain)::

    {"format": "wardstream-anchor/1", "topic": "ward.audit", "made_at": "...",
     "heads": {"<chain>": {"seq": 41, "hash": "...", "partition": 2, "offset": 9120}},
     "checkpoints": {"_checkpoint/<worker>": {"seq": 7, "hash": "...", "partition": 0,
                     "offset": 9133, "worker": "...", "key_id": "...", "at": "..."}}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wardstream.audit.attest import AnchoredHead, Attestation
from wardstream.audit.errors import AuditError
from wardstream.audit.linkage import Position

FORMAT = "wardstream-anchor/1"


class AnchorFormatError(AuditError):
    """An anchor file does not parse; the message says how to make a good one."""


def anchor_data(topic: str, made_at: datetime, att: Attestation) -> dict[str, Any]:
    """The anchor of a verified topic: its checkpoints' latest and the top signed heads."""
    heads = {}
    for chain, position in sorted(att.top_positions.items()):
        seq = max(att.book.heads[chain])
        signed = att.book.heads[chain][seq]
        heads[chain] = {"seq": seq, "hash": signed.hash, **_where(position)}
    checkpoints = {
        chain: {
            "seq": cp.seq,
            "hash": cp.hash,
            "worker": cp.worker,
            "key_id": cp.key_id,
            "at": cp.at.isoformat(),
            **_where(position),
        }  # fmt: skip
        for chain, (position, cp) in sorted(att.book.latest.items())
    }
    return {
        "format": FORMAT,
        "topic": topic,
        "made_at": made_at.isoformat(),
        "heads": heads,
        "checkpoints": checkpoints,
    }


def _where(position: Position) -> dict[str, int]:
    return {"partition": position.partition, "offset": position.offset}


def parse_anchor(data: Mapping[str, Any], topic: str) -> list[AnchoredHead]:
    """Every head and checkpoint an anchor holds, as ``Attestation`` checks them."""
    if data.get("format") != FORMAT:
        raise AnchorFormatError(
            f"not a wardstream anchor file (format is not {FORMAT!r}); make one with "
            "`wardstream audit anchor --out FILE`"
        )
    if data.get("topic") != topic:
        raise AnchorFormatError(
            f"the anchor was made for topic {data.get('topic')!r}, not {topic!r}; pass the "
            "configuration of the topic it was made for"
        )
    out = []
    try:
        for part in ("heads", "checkpoints"):
            for chain, h in data[part].items():
                where = Position(topic, int(h["partition"]), int(h["offset"]))
                out.append(AnchoredHead(str(chain), int(h["seq"]), str(h["hash"]), where))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise AnchorFormatError(
            "the anchor file is damaged (a head lacks seq, hash, partition or offset); use "
            "the copy you kept, or make a new one with `wardstream audit anchor`"
        ) from None
    return out


def load_anchor(text: str, topic: str) -> list[AnchoredHead]:
    try:
        data = json.loads(text)
    except ValueError:
        raise AnchorFormatError("the anchor file is not JSON") from None
    if not isinstance(data, dict):
        raise AnchorFormatError("the anchor file is not a JSON object")
    return parse_anchor(data, topic)
