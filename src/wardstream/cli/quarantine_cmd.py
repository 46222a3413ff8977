"""`wardstream quarantine list|release`: staff access to held events, approved and audited.

Both commands refuse to run without ``--approved-by`` and ``--purpose`` (and
record the refusal), and record every access as an ACCESS (or RELEASED) audit
record saying who, what and why before anything is shown or written. Listing
shows ids, pipelines, reasons, ages and pseudonymous subject refs: never a raw
subject id or a payload, and there is no export of payloads at all.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from wardstream.cli.access import (
    APPROVER_HELP,
    CONFIG_HELP,
    PURPOSE_HELP,
    REASON_APPROVED,
    REASON_KEY_DESTROYED,
    REASON_NOT_FOUND,
    REASON_OVERRIDE,
    Session,
    open_session,
    record_access,
    refuse_unaudited,
    require_approval,
)
from wardstream.cli.output import fail, say
from wardstream.errors import WardstreamError

if TYPE_CHECKING:
    from wardstream.domain.pipeline import Pipeline
    from wardstream.enforce.datakeys import KeyRing
    from wardstream.enforce.records import OutRecord
    from wardstream.kafka.quarantine_log import HeldEvent
    from wardstream.serde import Codec

app = typer.Typer(help="See and release quarantined events: approved, audited, no bulk export.")


def _hours(delta: Any) -> float:
    return round(delta.total_seconds() / 3600, 2)


def _row(entry: HeldEvent, ref: str, now: datetime) -> dict[str, Any]:
    return {
        "quarantine_id": entry.quarantine_id,
        "pipeline": entry.pipeline,
        "reason": entry.reason,
        "rule": entry.rule,
        "event_ref": entry.event_ref,
        "quarantined_at": entry.quarantined_at.isoformat(),
        "age_hours": _hours(now - entry.quarantined_at),
        "expires_in_hours": _hours(entry.expires_at - now),
        "subject_ref": ref,
    }


@app.command("list")
def list_(
    approved_by: str = typer.Option(None, "--approved-by", help=APPROVER_HELP),
    purpose: str = typer.Option(None, "--purpose", help=PURPOSE_HELP),
    pipeline: str = typer.Option(None, "--pipeline", help="Only entries of this pipeline."),
    reason: str = typer.Option(None, "--reason", help="Only entries held for this reason code."),
    limit: int = typer.Option(
        200, min=1, max=10_000, help="Show at most this many (oldest first)."
    ),
    config: Path = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the entries as JSON."),
) -> None:
    """List the events held in quarantine: ids, pipeline, reason, ages, subject refs.

    Never shows raw subject ids or payloads. The listing is recorded as an
    ACCESS audit record (approver, purpose, filters, entries shown).

    Example: [bold]wardstream quarantine list -c wardstream.yaml
    --approved-by dpo@example.com --purpose "ticket T-381" --pipeline clickstream[/bold]
    """
    from wardstream.cli.free_text import ids_named_by_ref, refuse_text_naming_subject
    from wardstream.engines.keysetup import pseudonymizer
    from wardstream.kafka.quarantine_log import read_open

    session = open_session(config)
    approval = require_approval(
        session, "quarantine list", approved_by=approved_by, purpose=purpose
    )
    try:
        refs = pseudonymizer(session.settings)
        entries, unreadable = read_open(session.kafka, session.settings.topics.quarantine)
        chosen = [
            e
            for e in sorted(entries, key=lambda e: e.quarantined_at)
            if (pipeline is None or e.pipeline == pipeline)
            and (reason is None or e.reason == reason)
        ][:limit]
        filters = {"pipeline": pipeline or "", "reason_filter": reason or ""}
        texts = {**approval, **filters}
        sealed = ids_named_by_ref(texts, {e.subject_ref for e in entries}, refs.ref)
        named = {e.subject_id for e in entries} | sealed  # ids in the clear: first format
        refuse_text_naming_subject(session, "quarantine list", texts, named)
        attrs = {**approval, **filters, "entries_shown": str(len(chosen))}
        record_access(session, "quarantine list", REASON_APPROVED, attrs)
    except WardstreamError as exc:
        refuse_unaudited(exc)
    now = datetime.now(UTC)
    rows = [_row(e, e.subject_ref or refs.ref(e.subject_id), now) for e in chosen]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        _print_table(rows)
    say(f"{len(rows)} of {len(entries)} held entries shown; this access is audited")
    if unreadable:
        say(f"[yellow]warning[/yellow]: {unreadable} quarantine record(s) did not decode")


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("quarantine id", "pipeline", "reason", "age h", "expires in h", "subject ref")
    for r in rows:
        ref = r["subject_ref"]
        table.add_row(
            r["quarantine_id"], r["pipeline"], r["reason"], f"{r['age_hours']:.1f}",
            f"{r['expires_in_hours']:.1f}", ref[: ref.index(":") + 17] + "…",
        )  # fmt: skip
    Console(highlight=False, width=160).print(table)


@app.command()
def release(
    quarantine_id: str = typer.Option(..., "--id", help="The quarantine id (from `list`)."),
    approved_by: str = typer.Option(None, "--approved-by", help=APPROVER_HELP),
    purpose: str = typer.Option(None, "--purpose", help=PURPOSE_HELP),
    reason: str = typer.Option(None, "--reason", help="Why this event may flow on after all."),
    config: Path = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Release one held event to its pipeline's sink: an explicit operator override.

    Writes, in this order: a RELEASED audit record (approver, purpose, reason),
    the original event to the sink with header ward-decision: RELEASED_BY_OPERATOR
    (its encrypt: true fields sealed with the subject's data key, as the worker
    seals them, after any new data key on the keys topic), and the RELEASED
    marker that closes the quarantine entry. The consent state is not consulted:
    that is the worker's job; this is the audited exception (safe default 7).

    Example: [bold]wardstream quarantine release -c wardstream.yaml --id q-3f2a...
    --approved-by dpo@example.com --purpose "ticket T-381"
    --reason "paper consent form verified"[/bold]
    """
    from wardstream.cli.free_text import refuse_text_naming_subject
    from wardstream.engines.keysetup import pseudonymizer
    from wardstream.kafka.quarantine_log import find_open

    session = open_session(config)
    approval = require_approval(
        session, "quarantine release", approved_by=approved_by, purpose=purpose, reason=reason
    )
    try:
        entry = find_open(session.kafka, session.settings.topics.quarantine, quarantine_id)
        if entry is None:
            attrs = {**approval, "quarantine_id": quarantine_id}
            record_access(session, "quarantine release", REASON_NOT_FOUND, attrs)
            fail(f"no open quarantine entry {quarantine_id}: released or expired, or a wrong id")
        pipeline = _pipeline_of(session, entry.pipeline)
        ring = _key_ring(session, entry, pipeline)
        entry = _unseal(session, entry, approval, ring)  # the subject id is sealed too
        ref = entry.subject_ref or pseudonymizer(session.settings).ref(entry.subject_id)
        refuse_text_naming_subject(
            session, "quarantine release", approval, [entry.subject_id], subject_ref=ref
        )
        entry, keys = _sealed(session, entry, pipeline, ring)
        written = _release(session, entry, approval, pipeline.sink, keys)
    except WardstreamError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(written, indent=2))
    else:
        say(
            f"released {quarantine_id} to {written['sink']}; audit RELEASED {written['audit_id']} "
            f"({written['chain']} seq {written['seq']})"
        )


def _release(
    session: Session,
    entry: HeldEvent,
    approval: dict[str, str],
    sink: str,
    keys: list[OutRecord],
) -> dict[str, Any]:
    from wardstream.engines.keysetup import pseudonymizer
    from wardstream.kafka.quarantine_log import release_records, send

    quarantine, now = session.settings.topics.quarantine, datetime.now(UTC)
    outputs = release_records(entry, sink, quarantine, now, keys)
    attrs = {
        "approved_by": approval["approved_by"],
        "purpose": approval["purpose"],
        "release_reason": approval["reason"],
        "quarantine_id": entry.quarantine_id,
        "held_for": entry.reason,
    }
    rec = record_access(
        session,
        "quarantine release",
        REASON_OVERRIDE,
        attrs,
        action="RELEASED",
        pipeline=entry.pipeline,
        subject_ref=entry.subject_ref or pseudonymizer(session.settings).ref(entry.subject_id),
        event_ref=entry.event_ref,
    )
    try:
        send(session.kafka, outputs)
    except WardstreamError as exc:
        raise WardstreamError(
            f"{exc}. The release is audited ({rec.audit_id}) but was not completed; the entry "
            "is still open: run the same release again"
        ) from None
    return {"quarantine_id": entry.quarantine_id, "sink": sink, "audit_id": rec.audit_id,
            "chain": rec.chain, "seq": rec.seq, "event_ref": entry.event_ref}  # fmt: skip


def _key_ring(session: Session, entry: HeldEvent, pipeline: Pipeline) -> KeyRing | None:
    """The subjects' data keys from the keys topic: to open a sealed entry and to seal the
    pipeline's ``encrypt: true`` fields. None when neither is needed."""
    from wardstream.config.settings import derived
    from wardstream.engines.keysetup import key_ring, make_ring, pseudonymizer
    from wardstream.kafka.quarantine_log import read_keys

    if entry.key_id is None and not pipeline.encrypted_fields:
        return None
    # encrypt: true fields need the ring: the worker's rule, failing with the setting to fix
    if pipeline.encrypted_fields:
        key_ring(session.settings, [pipeline])
    topic = derived(session.settings, "keys")
    refs = pseudonymizer(session.settings).ref
    return make_ring(session.settings, read_keys(session.kafka, topic, refs))


def _sealed(
    session: Session, entry: HeldEvent, pipeline: Pipeline, ring: KeyRing | None
) -> tuple[HeldEvent, list[OutRecord]]:
    """The entry with its ``encrypt: true`` fields sealed, and the key records to send first."""
    from wardstream.enforce.sink_fields import field_sealer
    from wardstream.kafka.quarantine_log import sealed_for_sink

    sealer = field_sealer(pipeline, ring)
    if sealer is None:
        return entry, []
    return sealed_for_sink(entry, _codec(session, pipeline), sealer)


def _codec(session: Session, pipeline: Pipeline) -> Codec:
    """The pipeline's codec, built as the worker builds it (``engines.bootstrap``)."""
    from wardstream.serde import HttpSchemaRegistry, load_schema, make_codec

    if pipeline.schema is None:
        fail(f"pipeline {pipeline.name} has no schema: its events cannot be decoded to seal them")
    url = session.settings.kafka.schema_registry_url
    ttl = session.settings.kafka.schema_registry_miss_ttl_s
    registry = HttpSchemaRegistry(url, miss_ttl_s=ttl) if url else None
    schema = load_schema(str(session.config_dir / pipeline.schema))
    return make_codec(pipeline.format, schema, registry=registry, subject=f"{pipeline.sink}-value")


def _unseal(
    session: Session, entry: HeldEvent, approval: dict[str, str], ring: KeyRing | None
) -> HeldEvent:
    """The entry in the clear; a refusal (audited) once its data key was destroyed."""
    from wardstream.crypto import KeyUnavailable, SealBroken
    from wardstream.enforce.datakeys import KeyDestroyed
    from wardstream.kafka.quarantine_log import unsealed

    if entry.key_id is None:
        return entry
    if ring is None:  # _key_ring builds one for every sealed entry: never release ciphertext
        raise WardstreamError(f"quarantine entry {entry.quarantine_id} is sealed and no key ring")
    try:
        return unsealed(entry, ring)
    except KeyDestroyed:
        attrs = {**approval, "quarantine_id": entry.quarantine_id}
        record_access(session, "quarantine release", REASON_KEY_DESTROYED, attrs)
        fail(
            f"quarantine entry {entry.quarantine_id} cannot be released: the subject's data key "
            "was destroyed after a deletion (crypto-shredding), so its payload can no longer be "
            "read. Nothing was released; the refusal is recorded in the audit trail."
        )
    except (KeyUnavailable, SealBroken) as exc:
        raise WardstreamError(
            f"quarantine entry {entry.quarantine_id} does not decrypt ({exc}); check "
            "lifecycle.master_key is the workers' key. Nothing was released"
        ) from None


def _pipeline_of(session: Session, pipeline: str) -> Pipeline:
    from wardstream.config.pipeline import load_pipelines

    directory = session.settings.worker.pipelines_dir
    base = session.config_dir
    pipelines = load_pipelines(directory if directory.is_absolute() else base / directory,
                               session.settings.policy, base_dir=base)  # fmt: skip
    for p in pipelines:
        if p.name == pipeline:
            return p
    fail(f"pipeline {pipeline!r} has no file in {directory}; its sink is unknown, nothing released")
