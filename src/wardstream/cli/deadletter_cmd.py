"""`wardstream deadletter list|show`: staff access to dead letters, approved and audited.

Dead letters hold a child's (or an unknown subject's) record sealed. ``list`` shows
what an operator needs to triage them - origin, pipeline, error - and never a
payload; ``show`` opens one letter's key, value and headers. Both refuse to run
without ``--approved-by`` and ``--purpose`` and record each access (ACCESS, with the
approver, purpose and what was shown) before anything is shown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from wardstream.cli.access import (
    APPROVER_HELP,
    CONFIG_HELP,
    PURPOSE_HELP,
    REASON_APPROVED,
    REASON_KEY_DESTROYED,
    REASON_NOT_FOUND,
    open_session,
    record_access,
    refuse_unaudited,
    require_approval,
)
from wardstream.cli.output import fail, say
from wardstream.errors import WardstreamError

app = typer.Typer(help="See dead letters (sealed records that could not be processed): audited.")


@app.command("list")
def list_(
    approved_by: str = typer.Option(None, "--approved-by", help=APPROVER_HELP),
    purpose: str = typer.Option(None, "--purpose", help=PURPOSE_HELP),
    pipeline: str = typer.Option(None, "--pipeline", help="Only letters of this pipeline."),
    limit: int = typer.Option(200, min=1, max=10_000, help="Show at most this many (newest)."),
    config: Path = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the letters as JSON."),
) -> None:
    """List dead letters: origin, pipeline, error. Never a payload.

    Example: [bold]wardstream deadletter list -c wardstream.yaml
    --approved-by dpo@example.com --purpose "ticket T-412"[/bold]
    """
    from wardstream.kafka.deadletter_log import read_letters

    session = open_session(config)
    approval = require_approval(
        session, "deadletter list", approved_by=approved_by, purpose=purpose
    )
    try:
        letters, unreadable = read_letters(session.kafka, session.settings.topics.deadletter)
        chosen = [x for x in letters if pipeline is None or x.pipeline == pipeline][-limit:]
        attrs = {**approval, "pipeline": pipeline or "", "letters_shown": str(len(chosen))}
        record_access(session, "deadletter list", REASON_APPROVED, attrs)
    except WardstreamError as exc:
        refuse_unaudited(exc)
    rows = [
        {"origin": x.origin, "pipeline": x.pipeline, "error_type": x.error_type,
         "error_code": x.error_code, "error_message": x.error_message,
         "dead_lettered_at": x.dead_lettered_at.isoformat() if x.dead_lettered_at else None,
         "sealed": x.sealed_with is not None}
        for x in chosen
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        for r in rows:
            typer.echo(
                f"{r['origin']}  {r['pipeline'] or '-'}  {r['error_code'] or r['error_type']}"
            )
    say(f"{len(rows)} of {len(letters)} dead letters shown; this access is audited")
    if unreadable:
        say(f"[yellow]warning[/yellow]: {unreadable} dead-letter record(s) did not decode")


@app.command()
def show(
    origin: str = typer.Option(..., "--origin", help="topic/partition/offset (from `list`)."),
    approved_by: str = typer.Option(None, "--approved-by", help=APPROVER_HELP),
    purpose: str = typer.Option(None, "--purpose", help=PURPOSE_HELP),
    config: Path = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Open one dead letter: its original key, value and headers, as JSON (base64 bytes).

    The access is recorded (ACCESS: approver, purpose, origin) before it is shown.
    A letter sealed with a subject's data key that was destroyed cannot be opened.

    Example: [bold]wardstream deadletter show -c wardstream.yaml --origin app.clicks/0/4711
    --approved-by dpo@example.com --purpose "ticket T-412"[/bold]
    """
    session = open_session(config)
    approval = require_approval(
        session, "deadletter show", approved_by=approved_by, purpose=purpose
    )
    try:
        opened = _open(session, origin, approval)
    except WardstreamError as exc:
        refuse_unaudited(exc)
    typer.echo(json.dumps(opened, indent=2))


def _open(session: Any, origin: str, approval: dict[str, str]) -> dict[str, Any]:
    from wardstream.config.settings import derived
    from wardstream.crypto import KeyUnavailable, SealBroken
    from wardstream.enforce.datakeys import KeyDestroyed
    from wardstream.enforce.letters import LetterSealer
    from wardstream.engines.keysetup import make_ring, pseudonymizer
    from wardstream.kafka.deadletter_log import read_letters
    from wardstream.kafka.quarantine_log import read_keys

    topic = session.settings.topics.deadletter
    letters, _ = read_letters(session.kafka, topic, with_payload_of=origin)
    found = [x for x in letters if x.datum is not None]
    attrs = {**approval, "origin": origin}
    if not found:
        record_access(session, "deadletter show", REASON_NOT_FOUND, attrs)
        fail(f"no dead letter from {origin} on {topic}: a wrong origin, or past its retention")
    letter = found[-1]
    ring = None
    if letter.sealed_with is not None:
        keys = derived(session.settings, "keys")
        store = read_keys(session.kafka, keys, pseudonymizer(session.settings).ref)
        ring = make_ring(session.settings, store)
    try:
        plain = LetterSealer(ring).open(dict(letter.datum or {}))
    except KeyDestroyed:
        record_access(session, "deadletter show", REASON_KEY_DESTROYED, attrs)
        fail(
            f"the dead letter from {origin} was sealed with a subject's data key that was "
            "destroyed after a deletion: it can no longer be read (the refusal is audited)"
        )
    except (KeyUnavailable, SealBroken) as exc:
        raise WardstreamError(
            f"the dead letter from {origin} does not open ({exc}); check lifecycle.master_key"
        ) from None
    record_access(session, "deadletter show", REASON_APPROVED, attrs)

    def b64(data: bytes | None) -> str | None:
        import base64

        return None if data is None else base64.b64encode(data).decode()

    headers = [[k, b64(v)] for k, v in plain.headers]
    return {"origin": origin, "error_code": letter.error_code, "key": b64(plain.key),
            "value": b64(plain.value), "headers": headers}  # fmt: skip
