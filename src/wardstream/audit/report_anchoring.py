"""The report's anchoring section: checkpoints per worker, unanchored records, keys seen.

``KeyUsage`` is fed every record (beside ``ReportBuilder``): it groups subject
refs by the pseudonym key that made them (a rotation shows as a second key id
whose records start where the first one's end) and keeps each signer's last
checkpoint. ``anchoring_data`` adds what ``audit verify --public-keys`` found,
when it ran; ``anchoring_html`` renders the section. No key, ref or subject
id is shown: refs are only counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any

from wardstream.audit.checkpoint import is_checkpoint_chain
from wardstream.domain.audit import AuditRecord
from wardstream.domain.enums import AuditAction


@dataclass(slots=True)
class _KeyStats:
    records: int = 0
    refs: set[str] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None


class KeyUsage:
    """Refs per pseudonym key id and the last checkpoint of each signer."""

    def __init__(self) -> None:
        self._keys: dict[str, _KeyStats] = {}
        self._checkpoints: dict[str, AuditRecord] = {}

    def add(self, record: AuditRecord) -> None:
        ref = record.subject_ref
        if ref:
            stats = self._keys.setdefault(ref.partition(":")[0], _KeyStats())
            stats.records += 1
            stats.refs.add(ref)
            at = record.at
            stats.first = at if stats.first is None or at < stats.first else stats.first
            stats.last = at if stats.last is None or at > stats.last else stats.last
        if record.action == AuditAction.CHECKPOINT and is_checkpoint_chain(record.chain):
            known = self._checkpoints.get(record.chain)
            if known is None or record.seq > known.seq:
                self._checkpoints[record.chain] = record

    def pseudonym_keys(self) -> dict[str, dict[str, Any]]:
        return {
            key_id: {
                "records": s.records,
                "subjects": len(s.refs),
                "first": _iso(s.first),
                "last": _iso(s.last),
            }  # fmt: skip
            for key_id, s in sorted(self._keys.items(), key=lambda kv: (_iso(kv[1].first), kv[0]))
        }

    def checkpoints(self) -> dict[str, dict[str, Any]]:
        return {
            chain: {
                "worker": r.worker,
                "seq": r.seq,
                "at": _iso(r.at),
                "key_id": r.attrs.get("key_id", ""),
            }  # fmt: skip
            for chain, r in sorted(self._checkpoints.items())
        }


def _iso(when: datetime | None) -> str:
    return "" if when is None else when.isoformat()


def anchoring_data(usage: KeyUsage, signed: Mapping[str, Any] | None) -> dict[str, Any]:
    """The section's figures. ``signed``: the ``state``, ``unanchored``, ``pending``,
    ``signing_keys`` and ``findings`` of a signed verification, or None (not checked)."""
    data: dict[str, Any] = {
        "checked": signed is not None,
        "state": "not checked (pass --public-keys)" if signed is None else signed["state"],
        "last_checkpoints": usage.checkpoints(),
        "pseudonym_keys": usage.pseudonym_keys(),
    }
    if signed is not None:
        data |= {k: signed[k] for k in ("unanchored", "pending", "signing_keys")}
        data["findings"] = len(signed["findings"])
    return data


def anchoring_csv(data: Mapping[str, Any]) -> str:
    lines = [f"anchoring,state,,{data['state']}"]
    if data["checked"]:
        lines += [f"anchoring,{k},,{data[k]}" for k in ("unanchored", "pending", "findings")]
        lines += [f"anchoring,signing_key,{k},{n}" for k, n in data["signing_keys"].items()]
    lines += [f"anchoring,pseudonym_key_subjects,{k},{v['subjects']}"
              for k, v in data["pseudonym_keys"].items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def anchoring_html(data: Mapping[str, Any]) -> str:
    state = str(data["state"])
    cls = "ok" if state == "intact" else "bad"
    head = f'<h2>Anchoring</h2><p>Signed checkpoints: <span id="anchor-state" class="{cls}">'
    head += f"{escape(state)}</span>"
    if data["checked"]:
        head += (
            f'; unanchored records <span id="anchor-unanchored">{data["unanchored"]}</span>, '
            f"awaiting their checkpoint {data['pending']}"
        )
    head += ".</p>"
    workers = "".join(
        f"<tr><td>{escape(c['worker'])}</td><td>{escape(c['at'])}</td><td>{c['seq']}</td>"
        f"<td><code>{escape(c['key_id'])}</code></td></tr>"
        for c in data["last_checkpoints"].values()
    )
    keys = "".join(
        f"<tr><td><code>{escape(k)}</code></td><td>{v['subjects']}</td><td>{v['records']}</td>"
        f"<td>{escape(v['first'])}</td><td>{escape(v['last'])}</td></tr>"
        for k, v in data["pseudonym_keys"].items()
    )
    return (
        f'{head}<h3>Last checkpoint per worker</h3><table id="anchor-workers"><tr><th>Worker'
        f"</th><th>At</th><th>Seq</th><th>Signing key</th></tr>{workers}</table>"
        f"<h3>Pseudonym keys seen (refs grouped by key; a rotation starts a new key)</h3>"
        f'<table id="anchor-keys"><tr><th>Key id</th><th>Subjects</th><th>Records</th>'
        f"<th>First</th><th>Last</th></tr>{keys}</table>"
    )
