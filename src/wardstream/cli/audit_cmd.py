"""`wardstream audit verify|report|lookup`: the auditor's commands.

Also ``parse_when`` for time bounds. The session and the staff-access helpers
every operator command shares live in ``cli.access``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from wardstream.cli import audit_signed as signed
from wardstream.cli.access import (
    APPROVER_HELP,
    CONFIG_HELP,
    PURPOSE_HELP,
    REASON_APPROVED,
    Session,
    open_session,
    record_access,
    refuse_unaudited,
    require_approval,
)
from wardstream.cli.audit_text import break_line, verification_data
from wardstream.cli.output import EXIT_PROBLEM, err, fail, say
from wardstream.errors import WardstreamError

if TYPE_CHECKING:
    from wardstream.audit.report import AuditReport
    from wardstream.audit.verify import VerifyResult

app = typer.Typer(help="Verify, report on and look up the hash-chained audit trail.")

FROM_HELP = "Only records at or after this UTC time (ISO-8601: 2026-03-01 or 2026-03-01T08:00)."
TO_HELP = "Only records at or before this UTC time; a bare date means to the end of that day."
TRIMMED_HELP = "Retention removed the topic's oldest records: chains may start past seq 0."


def parse_when(text: str | None, *, end_of_day: bool = False) -> datetime | None:
    """ISO-8601 text as an aware UTC datetime (naive = UTC); None stays None."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not an ISO-8601 time; write e.g. 2026-03-01 or 2026-03-01T08:00Z")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if end_of_day and len(text) == 10:
        when += timedelta(days=1, milliseconds=-1)
    return when.astimezone(UTC)


def _verify(
    session: Session,
    since: datetime | None,
    until: datetime | None,
    trimmed: bool,
    on_record: Any = None,
    show_progress: bool = True,
) -> VerifyResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from wardstream.kafka.audit_log import verify_topic

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not (show_progress and err.is_terminal),
    )
    with bar:
        task = bar.add_task("verifying audit records", total=None)
        try:
            return verify_topic(
                session.kafka,
                session.settings.topics.audit,
                since=since,
                until=until,
                require_genesis=not trimmed,
                on_record=on_record,
                on_progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except WardstreamError as exc:
            fail(str(exc))


@app.command()
def verify(
    config: Path = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    since: str = typer.Option(None, "--from", help=FROM_HELP),
    until: str = typer.Option(None, "--to", help=TO_HELP),
    trimmed: bool = typer.Option(False, "--allow-trimmed", help=TRIMMED_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
    public_keys: Path = typer.Option(None, "--public-keys", help=signed.KEYS_HELP),
    anchor: Path = typer.Option(None, "--anchor", help=signed.ANCHOR_HELP),
    max_unanchored: float = typer.Option(None, "--max-unanchored", help=signed.GRACE_HELP),
) -> None:
    """Check every hash chain of the audit topic; exit 1 on any break.

    Each altered, missing, inserted, reordered or forked record is printed with
    its topic, partition, offset, chain, seq and kind. A progress bar shows on
    a terminal. Without --public-keys only the hash chains are checked: a record
    appended by whoever can write the topic, or cut from a chain's end, is not
    seen. With --public-keys (and --anchor) the workers' signed checkpoints are
    checked too: exit 0 intact, 1 tampered, 3 unanchored records only.

    Example: [bold]wardstream audit verify -c wardstream.yaml
    --public-keys audit-keys.pub --anchor anchor-2026-02.json[/bold]
    """
    session = open_session(config)
    if public_keys is not None or anchor is not None:
        start, end = parse_when(since), parse_when(until, end_of_day=True)
        v = signed.run_signed(session, public_keys, anchor, max_unanchored, start, end, trimmed)
        signed.show_signed(v, as_json)
        return
    result = _verify(
        session, parse_when(since), parse_when(until, end_of_day=True), trimmed,
        show_progress=not as_json,
    )  # fmt: skip
    if as_json:
        unsigned = {"signatures": "not checked (pass --public-keys)"}
        typer.echo(json.dumps(verification_data(result) | unsigned, indent=2))
    else:
        for b in result.breaks:
            typer.echo(break_line(b))
        for note in result.notes:
            say(f"note: {note}")
        chains = len(result.chains)
        say(
            "note: signatures not checked (pass --public-keys): this finds changes inside "
            "the chains, not records appended by whoever can write the topic, nor a cut end"
        )
        if result.ok:
            say(f"[green]ok[/green]: {result.checked} records in {chains} chain(s), no breaks")
        else:
            say(f"[red]BROKEN[/red]: {len(result.breaks)} break(s) in {result.checked} records")
    if not result.ok:
        raise typer.Exit(EXIT_PROBLEM)


@app.command()
def report(
    out: Path = typer.Option(..., "--out", "-o", help="Directory for report.html/.json/.csv."),
    config: Path = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    since: str = typer.Option(None, "--from", help=FROM_HELP),
    until: str = typer.Option(None, "--to", help=TO_HELP),
    trimmed: bool = typer.Option(False, "--allow-trimmed", help=TRIMMED_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the files and totals as JSON."),
    public_keys: Path = typer.Option(None, "--public-keys", help=signed.KEYS_HELP),
) -> None:
    """Write the audit report (HTML page with charts, JSON, CSV) and verify the chains.

    The page, report.json and report.csv carry the same figures and the
    verification's status; exit 1 if a chain is broken (the report is written anyway).
    The anchoring section lists each worker's last checkpoint and the pseudonym keys
    seen; with --public-keys also the signed verification (exit 1 tampered, 3 unanchored).

    Example: [bold]wardstream audit report -c wardstream.yaml --out audit-2026-03
    --from 2026-03-01 --to 2026-03-31[/bold]
    """
    from wardstream.audit.report import ReportBuilder
    from wardstream.audit.report_anchoring import KeyUsage, anchoring_data

    session = open_session(config)
    start, end = parse_when(since), parse_when(until, end_of_day=True)
    builder, usage = ReportBuilder(datetime.now(UTC)), KeyUsage()

    def add(record: Any) -> None:
        builder.add(record)
        usage.add(record)

    checked = None
    if public_keys is not None:
        checked = signed.run_signed(session, public_keys, None, None, start, end, trimmed, add)
        result = checked.chains
    else:
        result = _verify(session, start, end, trimmed, add, show_progress=not as_json)
    summary = builder.build()
    anchoring = anchoring_data(usage, None if checked is None else signed.signed_data(checked))
    files = _write_report(out, summary, result, anchoring)
    if as_json:
        data = {"files": [str(f) for f in files], "ok": result.ok, "breaks": len(result.breaks),
                "records": summary.records, "decisions": summary.decisions,
                "anchoring": anchoring["state"]}  # fmt: skip
        typer.echo(json.dumps(data, indent=2))
    else:
        for f in files:
            typer.echo(str(f))
        status = (
            "[green]intact[/green]" if result.ok else f"[red]BROKEN ({len(result.breaks)})[/red]"
        )
        say(f"{summary.decisions} decisions in {summary.records} records; chains {status}")
        say(f"anchoring: {anchoring['state']}")
    if checked is not None:
        signed.exit_for(checked.state)
    if not result.ok:
        raise typer.Exit(EXIT_PROBLEM)


def _write_report(
    out: Path, report: AuditReport, result: VerifyResult, anchoring: dict[str, Any]
) -> list[Path]:
    from wardstream.audit.report import to_csv, to_json
    from wardstream.audit.report_anchoring import anchoring_csv, anchoring_html
    from wardstream.audit.report_html import render_html

    data = json.loads(to_json(report))
    data["verification"] = verification_data(result)
    data["anchoring"] = anchoring
    csv_text = (
        to_csv(report)
        + (
            f"verification,status,,{'intact' if result.ok else 'broken'}\n"
            f"verification,checked,,{result.checked}\nverification,breaks,,{len(result.breaks)}\n"
        )
        + anchoring_csv(anchoring)
    )
    texts = {
        "report.html": render_html(report, result, anchoring_html(anchoring)),
        "report.json": json.dumps(data, indent=2, sort_keys=True) + "\n",
        "report.csv": csv_text,
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (out / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write the report to {out} ({exc.strerror}); pick a writable --out directory")
    return [out / name for name in texts]


@app.command()
def lookup(
    subject: str = typer.Option(
        ..., "--subject", help="The subject id, or - to read it from stdin."
    ),
    approved_by: str = typer.Option(None, "--approved-by", help=APPROVER_HELP),
    purpose: str = typer.Option(None, "--purpose", help=PURPOSE_HELP),
    config: Path = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    as_json: bool = typer.Option(
        False, "--json", help="Print the ref and the ACCESS record id as JSON."
    ),
    records: bool = typer.Option(
        False, "--records", help="Also list the subject's audit records, under every key."
    ),
) -> None:
    """Print a subject's pseudonymous ref (as the audit trail carries it), and audit the lookup.

    Needs the pseudonym key (WARDSTREAM__AUDIT__HMAC_KEY or audit.hmac_key_file).
    After a key rotation (audit.earlier_hmac_keys) the ref under every key is printed,
    the current key's first. The lookup is recorded as an ACCESS audit record with
    the approver and purpose.

    Example: [bold]echo u-1029 | wardstream audit lookup --subject -
    --approved-by dpo@example.com --purpose "guardian request T-381"[/bold]
    """
    from wardstream.cli.audit_subject import record_line, records_of, subject_refs
    from wardstream.cli.free_text import refuse_text_naming_subject

    session = open_session(config)
    approval = require_approval(session, "audit lookup", approved_by=approved_by, purpose=purpose)
    subject_id = sys.stdin.readline().strip() if subject == "-" else subject.strip()
    if not subject_id:
        fail("no subject id given; pass --subject ID or --subject - with the id on stdin")
    try:
        refs = subject_refs(session, subject_id)
        ref = next(iter(refs.values()))  # the current key's
        refuse_text_naming_subject(session, "audit lookup", approval, [subject_id], subject_ref=ref)
        rec = record_access(session, "audit lookup", REASON_APPROVED, approval, subject_ref=ref)
        found = records_of(session, refs) if records else []
    except WardstreamError as exc:
        refuse_unaudited(exc)
    if as_json:
        typer.echo(json.dumps({"subject_ref": ref, "refs": refs, "audit_id": rec.audit_id,
                               "chain": rec.chain, "seq": rec.seq,
                               **({"records": found} if records else {})}))  # fmt: skip
    else:
        for line in refs.values():
            typer.echo(line)
        for r in found:
            typer.echo(record_line(r))
        say(f"recorded as ACCESS {rec.audit_id} ({rec.chain} seq {rec.seq})")


app.command("public-key")(signed.public_key)
app.command("anchor")(signed.anchor)
