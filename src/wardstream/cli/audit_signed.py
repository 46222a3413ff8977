"""`wardstream audit public-key|anchor` and the signed part of `audit verify`.

An auditor needs no secret: the workers' public keys (``audit public-key``) and,
kept outside Kafka, an anchor file (``audit anchor``). ``verify`` with
``--public-keys`` / ``--anchor`` exits 0 (intact), 1 (tampered: a chain break,
a bad or unknown signature, a missing checkpoint, a truncation, a record that is
not what was signed) or 3 (unanchored only: records no checkpoint covers).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from wardstream.cli.access import CONFIG_HELP
from wardstream.cli.output import fail, say
from wardstream.errors import WardstreamError

SIGNED_NOTE = (
    " (yet this is the record the worker signed: the NOT_SIGNED record beside it is the "
    "one that does not belong)"
)
EXIT_TAMPERED = 1
EXIT_UNANCHORED = 3
EXIT_CODES = {"intact": 0, "tampered": EXIT_TAMPERED, "unanchored": EXIT_UNANCHORED}
KEYS_HELP = (
    "File of public keys (lines from `wardstream audit public-key`, earlier keys too): check "
    "every checkpoint's signature and that every record is covered by one."
)
ANCHOR_HELP = "Anchor file from `wardstream audit anchor`: fail when the topic lost what it holds."
GRACE_HELP = (
    "Seconds a record may go without a covering checkpoint before it is UNANCHORED "
    "(default: 2 x audit.checkpoint_interval_s)."
)


def public_key(
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Print the public half of the audit signing key, for auditors' public-keys files.

    Reads audit.signing_key (WARDSTREAM__AUDIT__SIGNING_KEY) or audit.signing_key_file;
    never prints the key itself. Append the line to the file auditors pass to
    `audit verify --public-keys`, and keep earlier keys' lines there after a rotation.

    Example: [bold]wardstream audit public-key -c wardstream.yaml >> audit-keys.pub[/bold]
    """
    from wardstream.cli.config_file import chosen_config
    from wardstream.config.settings import load_settings
    from wardstream.engines.keysetup import signing_key

    try:
        key = signing_key(load_settings(chosen_config(config).path))
    except WardstreamError as exc:
        fail(str(exc))
    if key is None:
        fail(
            "no audit signing key: set WARDSTREAM__AUDIT__SIGNING_KEY or audit.signing_key_file "
            "(make one with `openssl genpkey -algorithm ed25519 -out audit-signing.pem`)"
        )
    typer.echo(key.public_line())


def load_public_keys(path: Path) -> Any:
    from wardstream.crypto.signing import PublicKeys

    try:
        return PublicKeys.parse(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        fail(f"cannot read the public-keys file {path} ({exc.strerror}); check the path")
    except WardstreamError as exc:
        fail(str(exc))


def grace_of(settings: Any, seconds: float | None) -> timedelta:
    if seconds is None:
        return timedelta(seconds=2 * settings.audit.checkpoint_interval_s)
    if seconds < 0:
        fail("--max-unanchored must be 0 or more seconds")
    return timedelta(seconds=seconds)


def now() -> datetime:
    return datetime.now(UTC)


def finding_line(f: Any) -> str:
    if f.position is None:
        where = f"topic=? partition=? offset=? (see {f.related})" if f.related else "offset=?"
    else:
        topic, partition, offset = f.position
        where = f"topic={topic} partition={partition} offset={offset}"
    return f"{f.kind} {where} chain={f.chain} seq={f.seq}: {f.message}"


def finding_data(f: Any) -> dict[str, Any]:
    fields = ("topic", "partition", "offset")
    where = dict(zip(fields, f.position, strict=True)) if f.position else dict.fromkeys(fields)
    related = None if f.related is None else dict(zip(fields, f.related, strict=True))
    return {"kind": str(f.kind), **where, "chain": f.chain, "seq": f.seq, "message": f.message,
            "related": related, "tampered": f.tampered}  # fmt: skip


def write_json(path: Path, data: dict[str, Any]) -> None:
    try:
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path} ({exc.strerror}); pick a writable --out path")


def report_outcome(state: str, unanchored: int, pending: int) -> None:
    if state == "intact":
        extra = f" ({pending} recent record(s) await their checkpoint)" if pending else ""
        say(f"[green]signed: intact[/green]: every record is covered by a valid checkpoint{extra}")
    elif state == "unanchored":
        say(f"[yellow]UNANCHORED[/yellow]: {unanchored} record(s) no checkpoint covers")
    else:
        say("[red]TAMPERED[/red]: see the findings above")


def exit_for(state: str) -> None:
    code = EXIT_CODES[state]
    if code:
        raise typer.Exit(code)


def run_signed(
    session: Any,
    keys_path: Path | None,
    anchor_path: Path | None,
    grace_s: float | None,
    since: datetime | None,
    until: datetime | None,
    trimmed: bool,
    on_record: Any = None,
) -> Any:
    """Both passes over the audit topic (``kafka.audit_attest.verify_signed``)."""
    from wardstream.audit.anchor import load_anchor
    from wardstream.kafka.audit_attest import verify_signed

    topic = session.settings.topics.audit
    keys = None if keys_path is None else load_public_keys(keys_path)
    anchored = []
    if anchor_path is not None:
        if since is not None or until is not None:
            fail("--anchor checks the whole topic; leave out --from and --to")
        try:
            anchored = load_anchor(anchor_path.read_text(encoding="utf-8"), topic)
        except OSError as exc:
            fail(f"cannot read the anchor file {anchor_path} ({exc.strerror}); check the path")
        except WardstreamError as exc:
            fail(f"{anchor_path}: {exc}")
    try:
        return verify_signed(
            session.kafka, topic, keys, now=now(), grace=grace_of(session.settings, grace_s),
            since=since, until=until, trimmed=trimmed, anchored=anchored, on_record=on_record,
        )  # fmt: skip
    except WardstreamError as exc:
        fail(str(exc))


def signed_data(v: Any) -> dict[str, Any]:
    from wardstream.cli.audit_text import verification_data

    book = v.attestation.book
    chains = verification_data(v.chains)
    signed = v.attestation.signed_positions
    for b, data in zip(v.chains.breaks, chains["breaks"], strict=True):
        data["signed"] = b.position in signed  # the very record a checkpoint signed
    return {
        **chains,
        "ok": v.state == "intact",
        "state": v.state,
        "findings": [finding_data(f) for f in v.findings],
        "unanchored": v.attestation.unanchored,
        "pending": v.attestation.pending,
        "checkpoints": {
            chain: {
                "worker": cp.worker,
                "seq": cp.seq,
                "at": cp.at.isoformat(),
                "key_id": cp.key_id,
                "position": str(pos),
            }
            for chain, (pos, cp) in sorted(book.latest.items())
        },  # fmt: skip
        "signing_keys": dict(sorted(book.key_ids.items())),
    }


def show_signed(v: Any, as_json: bool) -> None:
    """Print the chains' breaks and the findings, then exit 0, 1 or 3."""
    from wardstream.cli.audit_text import break_line

    if as_json:
        typer.echo(json.dumps(signed_data(v), indent=2))
    else:
        for b in v.chains.breaks:
            genuine = b.position in v.attestation.signed_positions
            typer.echo(break_line(b) + (SIGNED_NOTE if genuine else ""))
        for f in v.findings:
            typer.echo(finding_line(f))
        for note in v.chains.notes:
            say(f"note: {note}")
        chains = v.chains
        say(f"{chains.checked} records in {len(chains.chains)} chain(s), "
            f"{len(chains.breaks)} chain break(s)")  # fmt: skip
        report_outcome(v.state, v.attestation.unanchored, v.attestation.pending)
    exit_for(v.state)


def anchor(
    out: Path = typer.Option(..., "--out", "-o", help="The anchor file to write (JSON)."),
    public_keys: Path = typer.Option(..., "--public-keys", help=KEYS_HELP),
    config: Path = typer.Option(None, "--config", "-c", help="wardstream.yaml (env overrides)."),
) -> None:
    """Write the latest signed heads of the audit topic to a small JSON file to keep elsewhere.

    Verifies the topic first (as `audit verify --public-keys`): an anchor is written only
    when the topic is not tampered with. Keep the file outside Kafka (a ticket, a
    regulator's mailbox, WORM storage); later `audit verify --anchor FILE` fails when the
    topic no longer holds what it covers, and names retention as retention.

    Example: [bold]wardstream audit anchor -c wardstream.yaml --public-keys audit-keys.pub
    --out anchor-2026-03-31.json[/bold]
    """
    from wardstream.audit.anchor import anchor_data
    from wardstream.cli.access import open_session

    session = open_session(config)
    v = run_signed(session, public_keys, None, None, None, None, False)
    if v.state == "tampered":
        for f in v.findings:
            typer.echo(finding_line(f))
        fail("the audit topic is tampered with (see above); no anchor written", EXIT_TAMPERED)
    data = anchor_data(session.settings.topics.audit, now(), v.attestation)
    write_json(out, data)
    say(f"anchor of {len(data['heads'])} chain head(s) and {len(data['checkpoints'])} "
        f"checkpoint chain(s) written to {out}")  # fmt: skip
