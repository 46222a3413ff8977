"""Anchor files: written from a verified topic, read back exactly, refused when damaged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.unit.audit.test_audit_checkpoint import KEY, T0, Clock, topic_of, worker_log

from wardstream.audit.anchor import AnchorFormatError, anchor_data, load_anchor
from wardstream.audit.attest import Attestation, AttestKind, CheckpointBook
from wardstream.audit.linkage import Position
from wardstream.crypto.signing import PublicKeys


def verified() -> Attestation:
    items = topic_of(worker_log(Clock()))
    book = CheckpointBook(PublicKeys.parse(KEY.public_line()))
    for pos, rec in items:
        if rec.chain.startswith("_checkpoint/"):
            book.add(pos, rec)
    book.finish()
    att = Attestation(book, T0, timedelta(minutes=2))
    for pos, rec in items:
        att.feed(pos, rec)
    return att


def test_an_anchor_holds_the_top_heads_and_checkpoints_and_reads_back() -> None:
    data = anchor_data("ward.audit", datetime(2026, 3, 2, tzinfo=UTC), verified())
    assert data["heads"]["clickstream/0"] == {
        "seq": 7, "hash": data["heads"]["clickstream/0"]["hash"], "partition": 0, "offset": 8,
    }  # fmt: skip
    assert list(data["checkpoints"]) == ["_checkpoint/w1"]
    heads = load_anchor(json.dumps(data), "ward.audit")
    assert {(h.chain, h.seq, h.position) for h in heads} == {
        ("clickstream/0", 7, Position("ward.audit", 0, 8)),
        ("_checkpoint/w1", 1, Position("ward.audit", 0, 9)),
    }


def test_a_topic_without_the_anchored_records_is_truncated_unless_retention_took_them() -> None:
    heads = load_anchor(json.dumps(anchor_data("ward.audit", T0, verified())), "ward.audit")
    empty = Attestation(CheckpointBook(PublicKeys.parse(KEY.public_line())), T0,
                        timedelta(0), anchored=heads, coverage=False)  # fmt: skip
    assert {f.kind for f in empty.finish({0: 0})} == {AttestKind.TRUNCATED}
    assert {f.kind for f in empty.finish({0: 10})} == {AttestKind.RETAINED}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[]", "not a JSON object"),
        ("{", "not JSON"),
        ('{"format": "other"}', "not a wardstream anchor"),
        ('{"format": "wardstream-anchor/1", "topic": "x.audit"}', "made for topic"),
        ('{"format": "wardstream-anchor/1", "topic": "ward.audit", "heads": {"c": {}}}',
         "damaged"),
    ],
)  # fmt: skip
def test_a_damaged_or_foreign_anchor_is_refused_with_the_fix(text: str, match: str) -> None:
    with pytest.raises(AnchorFormatError, match=match):
        load_anchor(text, "ward.audit")
