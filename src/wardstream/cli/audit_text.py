"""How ``audit verify`` shows a verification: one line per break, or JSON-ready data."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from wardstream.audit.verify import Break, VerifyResult


def break_line(b: Break) -> str:
    topic, partition, offset = b.position
    seq = b.seq if b.seq >= 0 else "?"
    return (
        f"{b.kind} topic={topic} partition={partition} offset={offset} "
        f"chain={b.chain} seq={seq}: {b.message}"
    )


def verification_data(result: VerifyResult) -> dict[str, Any]:
    """The verification as JSON-ready data: every break with its exact position."""
    fields = ("topic", "partition", "offset")

    def brk(b: Break) -> dict[str, Any]:
        related = None if b.related is None else dict(zip(fields, b.related, strict=True))
        where = dict(zip(fields, b.position, strict=True))
        return {"kind": str(b.kind), **where, "chain": b.chain, "seq": b.seq,
                "message": b.message, "related": related}  # fmt: skip

    chains = [
        {**asdict(c), "trusted_from": None if c.trusted_from is None else str(c.trusted_from)}
        for c in result.chains
    ]
    return {
        "ok": result.ok,
        "checked": result.checked,
        "skipped": result.skipped,
        "breaks": [brk(b) for b in result.breaks],
        "chains": chains,
        "notes": list(result.notes),
    }
