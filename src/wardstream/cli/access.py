"""What every operator command shares: a ``Session`` and the staff-access rules.

``open_session`` loads the settings and checks the Kafka login at once;
``require_approval`` refuses (and audits the refusal) when ``--approved-by`` or
``--purpose`` is missing; ``record_access`` writes the ACCESS record (who, what,
why) on the operator chain before anything is shown or written (CP art 15, MOR
art 36), naming the principal Kafka authenticated (``sasl:<user>``, ``tls:<certificate
subject>``, else ``local:<os user> (unauthenticated)``). Used by ``audit lookup``,
``quarantine list|release`` and the lifecycle commands.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from wardstream.cli.output import EXIT_USAGE, fail
from wardstream.errors import WardstreamError

if TYPE_CHECKING:
    from wardstream.config.settings import Settings
    from wardstream.domain.audit import AuditRecord

CONFIG_HELP = "wardstream.yaml (env WARDSTREAM__* overrides)."
APPROVER_HELP = "Who approved this access (the child-data protection officer or delegate)."
PURPOSE_HELP = "Why the data is needed, e.g. a ticket id; recorded in the audit trail."

REASON_APPROVED = "APPROVED_ACCESS"
REASON_REFUSED = "REFUSED"
REASON_OVERRIDE = "OPERATOR_OVERRIDE"
REASON_NOT_FOUND = "NOT_FOUND"
REASON_KEY_DESTROYED = "KEY_DESTROYED"


def record_access(
    session: Session, operation: str, reason: str, attrs: dict[str, str], **fields: Any
) -> AuditRecord:
    """One operator record (ACCESS unless ``fields`` says otherwise) on the operator chain."""
    from wardstream.engines.keysetup import signing_key
    from wardstream.kafka.operator_log import write_access

    attrs = {"operation": operation, "operator": session.user, **attrs}
    signer = signing_key(session.settings)  # signs the record when the key is configured here
    return write_access(
        session.kafka, session.settings.topics.audit, session.operator, reason, attrs, signer,
        **fields,
    )  # fmt: skip


def require_approval(session: Session, operation: str, **needed: str | None) -> dict[str, str]:
    """The approval options, stripped, when all are given; else audit the refusal and exit 2."""
    given = {name: (value or "").strip() for name, value in needed.items()}
    missing = [name for name, value in given.items() if not value]
    if not missing:
        return given
    flags = ", ".join("--" + m.replace("_", "-") for m in missing)
    try:
        record_access(session, operation, REASON_REFUSED, {"missing": flags})
        recorded = "the refusal is recorded in the audit trail"
    except WardstreamError as exc:
        recorded = f"the refusal could not be audited: {exc}"
    fail(
        f"{operation} refused: {flags} missing. Staff access to children's data needs an "
        f"approver and a purpose (CP art 15); {recorded}.",
        EXIT_USAGE,
    )


def refuse_unaudited(exc: WardstreamError) -> NoReturn:
    fail(f"{exc}\nNothing was shown: an access that cannot be audited is not made.")


@dataclass(frozen=True, slots=True)
class Session:
    settings: Settings
    kafka: dict[str, Any]
    operator: str  # "cli:<principal>@<host>", written as the audit record's worker
    config_dir: Path  # relative paths in the settings (pipelines_dir) start here

    @property
    def user(self) -> str:
        """The authenticated principal: ``sasl:<user>``, ``tls:<certificate subject>``, or
        ``local:<os user> (unauthenticated)`` when Kafka authenticates nobody."""
        return self.operator[4:].rsplit("@", 1)[0]


def open_session(config: Path | None) -> Session:
    from wardstream.config.settings import load_settings
    from wardstream.engines.bootstrap import client_config
    from wardstream.kafka.security import preflight, principal

    try:
        settings = load_settings(config)
        preflight(settings.kafka)  # a refused login or CA fails at once, with the fix
        kafka = client_config(settings)
        who = principal(settings.kafka, _user())  # never USER/LOGNAME when Kafka knows better
    except WardstreamError as exc:
        fail(str(exc))
    operator = f"cli:{who}@{socket.gethostname()}"
    return Session(settings, kafka, operator, config.parent if config else Path.cwd())


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
