"""`wardstream service-stop` and `wardstream hold place|lift`: operator lifecycle actions.

``service-stop`` writes a stop marker to the compacted control topic. Every
worker reads it, drops every further event of the stopped scope
(SERVICE_STOPPED) and keeps doing so after restarts; the leading worker issues
a SERVICE_STOPPED DeletionRequest and a GuardianNotice for every child seen.
The command shows a progress bar of the deletions read back from the
deletions topic. ``hold`` places or lifts a legal hold (MOR art 38) on one
subject. Each action is recorded on the operator audit chain with a
pseudonymous subject ref, the approver and the reason.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from wardstream.cli.access import APPROVER_HELP, CONFIG_HELP, Session, open_session
from wardstream.cli.output import fail, say
from wardstream.errors import WardstreamError

hold_app = typer.Typer(help="Place or lift a legal hold: a held subject's deletions wait.")
CONFIG = typer.Option(None, "--config", "-c", help=CONFIG_HELP)
APPROVER = typer.Option("", "--approved-by", help=APPROVER_HELP)
REASON = typer.Option("", "--reason", help="Why (case reference); recorded in the audit trail.")


def service_stop(
    pipeline: str | None = typer.Option(None, "--pipeline", help="Stop one pipeline only."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    wait: float = typer.Option(300.0, "--wait", help="Seconds to follow the deletions (0: no)."),
    config: Path | None = CONFIG,
) -> None:
    """Stop collecting, delete every child's data and notify each guardian (CP art 23).

    Example: wardstream service-stop --config wardstream.yaml --yes
    """
    from wardstream.enforce.records import OutRecord
    from wardstream.kafka.operator_log import send
    from wardstream.lifecycle import records as lr
    from wardstream.lifecycle.wiring import lifecycle_topics

    session = open_session(config)
    scope = pipeline or "every pipeline"
    if not yes and not typer.confirm(f"Stop collection in {scope} for good?"):
        raise typer.Exit(1)
    topics = lifecycle_topics(session.settings)
    stopped_at = datetime.fromtimestamp(int(time.time() * 1000) / 1000, UTC)
    try:
        _record(session, "service-stop", "SERVICE_STOPPED", {"scope": scope})
        send(
            session.kafka,
            [OutRecord(topics.control, lr.stop_key(pipeline), lr.encode_stop(stopped_at))],
        )
    except WardstreamError as exc:
        fail(str(exc))
    say(f"Collection stopped in {scope}; workers now drop every event (SERVICE_STOPPED).")
    if wait > 0:
        _follow(session, topics.seen, topics.deletions, pipeline, stopped_at, wait)


def _follow(
    session: Session, seen: str, deletions: str, pipeline: str | None, at: datetime, wait: float
) -> None:
    from rich.progress import Progress

    from wardstream.cli.lifecycle_read import children_seen, stop_deletions

    total = children_seen(session.kafka, seen, pipeline)
    deadline = time.monotonic() + wait
    with Progress() as progress:
        task = progress.add_task("deletions issued", total=total)
        done = 0
        for done in stop_deletions(session.kafka, deletions, at, deadline):
            progress.update(task, completed=min(done, total))
            if done >= total:
                break
    say(f"{done} of {total} children: deletion and guardian notice issued.")
    if done < total:
        fail(f"only {done} of {total} deletions seen within {wait:.0f}s; is a worker running?")


@hold_app.command("place")
def place(
    subject: str = typer.Option(..., "--subject", help="The subject id to hold."),
    approved_by: str = APPROVER,
    reason: str = REASON,
    config: Path | None = CONFIG,
) -> None:
    """Place a legal hold: the subject's deletions are deferred until it is lifted.

    Example: wardstream hold place --subject u-1 --approved-by dpo --reason case-17
    """
    _hold(subject, approved_by, reason, config, lift=False)


@hold_app.command("lift")
def lift(
    subject: str = typer.Option(..., "--subject", help="The subject id whose hold ends."),
    approved_by: str = APPROVER,
    reason: str = REASON,
    config: Path | None = CONFIG,
) -> None:
    """Lift a legal hold: deferred deletions are issued.

    Example: wardstream hold lift --subject u-1 --approved-by dpo --reason case-17-closed
    """
    _hold(subject, approved_by, reason, config, lift=True)


def _hold(subject: str, approver: str, reason: str, config: Path | None, *, lift: bool) -> None:
    from wardstream.cli.free_text import refuse_text_naming_subject
    from wardstream.domain.holds import LegalHold
    from wardstream.enforce.records import OutRecord
    from wardstream.engines.keysetup import id_key, pseudonymizer
    from wardstream.kafka.operator_log import send
    from wardstream.lifecycle.wiring import lifecycle_records, lifecycle_topics
    from wardstream.policy.holds import hold_id

    if not approver.strip() or not reason.strip():
        fail("a legal hold needs --approved-by and --reason (MOR art 38)", 2)
    session = open_session(config)
    now = datetime.now(UTC)
    try:
        refs, ids = pseudonymizer(session.settings), id_key(session.settings)
    except WardstreamError as exc:
        fail(str(exc))
    action = "LEGAL_HOLD_LIFTED" if lift else "LEGAL_HOLD_PLACED"
    texts = {"approved_by": approver, "reason": reason}
    refuse_text_naming_subject(session, "hold", texts, [subject], subject_ref=refs.ref(subject))
    hold = LegalHold(
        hold_id=hold_id(ids, subject, reason.strip()),  # keyed: not guessable
        subject_id=subject,
        placed_at=now,
        case_ref=reason.strip(),
        lifted_at=now if lift else None,
    )
    records = lifecycle_records(refs.ref, ids)
    if lift:
        hold = _placed(session, subject, hold, records)
    topic = lifecycle_topics(session.settings).holds
    try:
        _record(
            session, "hold", action, {"approved_by": approver, "hold_id": hold.hold_id}, subject
        )
        send(session.kafka, [OutRecord(topic, *records.hold(hold))])
    except WardstreamError as exc:
        fail(str(exc))
    say(f"{action.replace('_', ' ').lower()}: hold {hold.hold_id}")


def _placed(session: Session, subject: str, lifted: Any, records: Any) -> Any:
    """The lifted version of the subject's current hold (placed_at kept), if there is one."""
    from dataclasses import replace

    from wardstream.cli.lifecycle_read import current_hold
    from wardstream.lifecycle.wiring import lifecycle_topics

    held = current_hold(session.kafka, lifecycle_topics(session.settings).holds, subject, records)
    if held is None:
        fail("this subject has no legal hold to lift", 2)
    return replace(held, lifted_at=lifted.lifted_at)


def _record(
    session: Session, operation: str, reason: str, attrs: dict[str, str], subject: str = ""
) -> None:
    from wardstream.cli.access import record_access
    from wardstream.engines.keysetup import pseudonymizer

    fields: dict[str, Any] = {}
    if subject:
        fields["subject_ref"] = pseudonymizer(session.settings).ref(subject)
    record_access(session, operation, reason, attrs, **fields)
