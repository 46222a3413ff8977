"""Free text an operator writes to the audit trail must not carry a subject's raw id.

``--approved-by``, ``--purpose`` and ``--reason`` go into ACCESS records (and a hold's
reason onto the holds topic) as they are typed. An operator who pastes "release u-73519,
guardian called" would put the raw id beside the subject's ref in the audit that
auditors read, and link the two for good. So each command that knows which subjects it
touches checks its free text first: text naming one of them (ignoring case, and
ignoring separators for ids of 4 or more letters and digits) is refused, and the
refusal is audited with the names of the options only, never the text or the id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from wardstream.cli.output import EXIT_USAGE, fail
from wardstream.errors import WardstreamError

if TYPE_CHECKING:
    from wardstream.cli.access import Session

REASON_NAMES_SUBJECT = "REFUSED_TEXT_NAMES_SUBJECT"
_SEPARATORS = re.compile(r"[\W_]+")
_MIN_FOLDED = 4


def _fold(text: str) -> str:
    return _SEPARATORS.sub("", text.casefold())


_WORDS = re.compile(r"[^\s,;()\[\]{}\"'<>]+")


def ids_named_by_ref(
    texts: Mapping[str, str], refs: Iterable[str], ref_of: Callable[[str], str]
) -> set[str]:
    """The words of ``texts`` whose ref is one of ``refs``: the raw ids of subjects known
    only by their ref (a sealed quarantine entry), found without unsealing anything."""
    wanted = set(refs)
    if not wanted:
        return set()
    words = {w.strip(".:!?") for text in texts.values() for w in _WORDS.findall(text)}
    return {w for w in words if w and ref_of(w) in wanted}


def fields_naming(texts: Mapping[str, str], subject_ids: Iterable[str]) -> list[str]:
    """The names of the ``texts`` whose value contains one of ``subject_ids``."""
    ids = [s for s in {s.strip() for s in subject_ids} if s]
    found = []
    for name, text in texts.items():
        lowered, folded = text.casefold(), _fold(text)
        for sid in ids:
            short = _fold(sid)
            if sid.casefold() in lowered or (len(short) >= _MIN_FOLDED and short in folded):
                found.append(name)
                break
    return found


def refuse_text_naming_subject(
    session: Session,
    operation: str,
    texts: Mapping[str, str],
    subject_ids: Iterable[str],
    **fields: Any,
) -> None:
    """Return if no text names a subject; else audit the refusal (option names only) and
    exit 2 with the fix. ``fields`` (e.g. ``subject_ref``) go on the refusal record."""
    from wardstream.cli.access import record_access

    named = fields_naming(texts, subject_ids)
    if not named:
        return
    flags = ", ".join(f"--{n.replace('_', '-')}" for n in named)
    attrs = {"refused": f"{flags} named the subject"}
    try:
        record_access(session, operation, REASON_NAMES_SUBJECT, attrs, **fields)
        recorded = "the refusal is recorded in the audit trail (without the text)"
    except WardstreamError as exc:
        recorded = f"the refusal could not be audited: {exc}"
    _refuse(operation, flags, recorded)


def _refuse(operation: str, flags: str, recorded: str) -> NoReturn:
    fail(
        f"{operation} refused: {flags} contains the subject's id. Free text is written to the "
        "audit trail, which must never hold a raw subject id: describe the subject by the "
        f"ticket or case instead (e.g. --purpose 'ticket T-381'); {recorded}.",
        EXIT_USAGE,
    )
