"""The report's anchoring section: refs grouped by pseudonym key across a rotation, each
signer's last checkpoint, and what the signed verification found; no ref is shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wardstream.audit.report_anchoring import (
    KeyUsage,
    anchoring_csv,
    anchoring_data,
    anchoring_html,
)
from wardstream.domain.audit import AuditRecord

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def rec(seq: int, ref: str | None, action: str = "QUARANTINED", **kw: object) -> AuditRecord:
    return AuditRecord(audit_id=f"a{seq}", at=T0 + timedelta(hours=seq), worker="w1",
                       pipeline="clickstream", action=action, chain=kw.pop("chain", "c/0"),
                       seq=seq, subject_ref=ref, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_refs_are_grouped_by_key_and_the_last_checkpoint_per_signer_is_kept() -> None:
    usage = KeyUsage()
    for r in [
        rec(0, "k1:aa"),
        rec(1, "k1:bb"),
        rec(2, "k1:aa"),
        rec(3, "k2:cc"),
        rec(4, None, "CHECKPOINT", chain="_checkpoint/w1", attrs={"key_id": "ed-1"}),
        rec(5, None, "CHECKPOINT", chain="_checkpoint/w1", attrs={"key_id": "ed-2"}),
    ]:
        usage.add(r)  # fmt: skip
    data = anchoring_data(usage, None)
    assert data["pseudonym_keys"]["k1"]["subjects"] == 2
    assert data["pseudonym_keys"]["k1"]["records"] == 3
    assert list(data["pseudonym_keys"]) == ["k1", "k2"]  # in the order the keys were used
    assert data["last_checkpoints"]["_checkpoint/w1"]["key_id"] == "ed-2"
    assert data["state"].startswith("not checked")
    page = anchoring_html(data) + anchoring_csv(data)
    assert "aa" not in page.replace("Pseudonym", "") and "k2" in page


def test_a_signed_verification_shows_its_state_and_counts() -> None:
    signed = {"state": "unanchored", "unanchored": 3, "pending": 1,
              "signing_keys": {"ed25519-1": 4}, "findings": [{}, {}, {}]}  # fmt: skip
    data = anchoring_data(KeyUsage(), signed)
    assert (data["state"], data["unanchored"], data["findings"]) == ("unanchored", 3, 3)
    assert "anchoring,unanchored,,3" in anchoring_csv(data)
    assert 'id="anchor-unanchored">3<' in anchoring_html(data)
