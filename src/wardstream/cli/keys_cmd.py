"""`wardstream keys rotate|sink-key`: the master key rotated, the sink key handed out.

``rotate`` re-wraps every live data key on the keys topic under
``lifecycle.master_key`` (sink-field keys under the sink key), unwrapping with the
``lifecycle.retired_master_key``, and re-writes first-format records keyed by the
subject ref (``lifecycle.rotation``). ``sink-key`` writes the sink key derived from
the master key to a file for downstream holders of ``encrypt: true`` fields, who
must never get the master key. Both are recorded in the audit trail.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from wardstream.cli.access import CONFIG_HELP, open_session, record_access
from wardstream.cli.output import fail, say
from wardstream.errors import WardstreamError

app = typer.Typer(help="Rotate the master key; hand out the sink key.")


@app.command()
def rotate(config: Path = typer.Option(None, "--config", "-c", help=CONFIG_HELP)) -> None:
    """Re-wrap every live data key under lifecycle.master_key (the new key).

    Before: set lifecycle.master_key to the new key and lifecycle.retired_master_key to
    the old one on every worker and restart them. After this reports no key left under
    the retired key: remove retired_master_key everywhere and destroy the old key.

    Example: [bold]WARDSTREAM__LIFECYCLE__MASTER_KEY_FILE=/run/secrets/master-2027
    WARDSTREAM__LIFECYCLE__RETIRED_MASTER_KEY_FILE=/run/secrets/master-2026
    wardstream keys rotate -c wardstream.yaml[/bold]
    """
    from wardstream.config.settings import derived
    from wardstream.engines.keysetup import make_ring, pseudonymizer
    from wardstream.kafka.quarantine_log import read_keys, send
    from wardstream.lifecycle.rotation import rewrap

    session = open_session(config)
    try:
        topic = derived(session.settings, "keys")
        ring = make_ring(session.settings)
        ring.store = read_keys(session.kafka, topic, pseudonymizer(session.settings).ref)
        result = rewrap(ring)
        attrs = {"keys_topic": topic, "master_key_id": ring.master.key_id,
                 "rewrapped": str(result.rewrapped), "migrated": str(result.migrated),
                 "unreadable": str(len(result.unreadable))}  # fmt: skip
        record_access(session, "keys rotate", "KEYS_ROTATED", attrs)
        send(session.kafka, result.records)
    except WardstreamError as exc:
        fail(f"{exc}. Nothing was rotated, or only part: run the same command again")
    say(
        f"{result.rewrapped} data key(s) re-wrapped under {ring.master.key_id} "
        f"({result.migrated} first-format record(s) re-keyed by the subject ref); "
        f"{result.current} already current"
    )
    if result.unreadable:
        fail(
            f"{len(result.unreadable)} data key(s) unwrap with none of the configured keys "
            f"({', '.join(result.unreadable[:5])}...): keep lifecycle.retired_master_key until "
            "they are re-wrapped, or they are junk (ignored by the workers)"
        )
    say("no key is left under the retired key: remove lifecycle.retired_master_key and destroy it")


@app.command("sink-key")
def sink_key(
    out: Path = typer.Option(..., "--out", help="File to write (created with mode 0600)."),
    config: Path = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Write the sink key (hex) for downstream holders of encrypt: true fields.

    It opens sink fields only, never quarantined payloads or dead letters. With
    lifecycle.sink_key set, hand out that key instead; this writes it too.

    Example: [bold]wardstream keys sink-key -c wardstream.yaml --out ./sink.key[/bold]
    """
    from wardstream.crypto import MasterKey
    from wardstream.enforce.datakeys import SINK_KEY_LABEL
    from wardstream.engines.keysetup import master_key, sink_key_bytes

    session = open_session(config)
    try:
        raw = sink_key_bytes(session.settings)
        if raw is None:
            raw = master_key(session.settings).derive(SINK_KEY_LABEL)
        text, key_id = raw.hex(), MasterKey(raw).key_id
        record_access(session, "keys sink-key", "SINK_KEY_EXPORTED", {"sink_key_id": key_id})
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text + "\n")
    except FileExistsError:
        fail(f"{out} exists; choose a new path (a key file is never overwritten)")
    except WardstreamError as exc:
        fail(str(exc))
    say(f"sink key {key_id} written to {out} (mode 0600); give it to sink-data holders only")
