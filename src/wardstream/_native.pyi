"""Types of wardstream's native core (the Rust crate in native/, built by maturin).

Private: use :mod:`wardstream.serde.native`.
"""

class AvroLocator:
    def __init__(
        self,
        schema_json: str,
        subject_path: str | None,
        time_path: str | None,
        canonical: bool = True,
    ) -> None:
        """Raises ValueError((kind, message)); kind is one of invalid, not_record,
        unsupported, unknown_path."""

    @property
    def schema_name(self) -> str: ...
    def locate(
        self, values: list[bytes], timestamps: list[int | None] | None = None
    ) -> tuple[list[str | None], list[int | None], list[tuple[int, str, str, str | None]]]:
        """(subjects, epoch microseconds, errors as (index, code, detail, cause))."""
    def screen(
        self,
        values: list[bytes | None],
        timestamps: list[int | None],
        partitions: list[int],
        lane: AdultLane,
    ) -> tuple[bytes, list[tuple[int, int, int]], list[tuple[str, int, int]]]:
        """(codes per value, (partition, code, n) counts, (subject, first, last) spans)."""

class AdultLane:
    """Subject id -> (adult from, epoch microseconds; decision code 1..255)."""

    def __init__(self) -> None: ...
    def set(self, subject: str, from_micros: int, code: int) -> None: ...
    def discard(self, subject: str) -> bool: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...

def seal_audit(
    audit_id: str,
    at_ms: int,
    worker: str,
    pipeline: str,
    chain: str,
    seq: int,
    action: str,
    rule: str | None,
    reason: str | None,
    subject_ref: str | None,
    event_ref: str | None,
    consent_id: str | None,
    fields_redacted: list[str],
    counts: list[tuple[str, int]],
    deadline_ms: int | None,
    attrs: list[tuple[str, str]],
    prev_hash: str,
) -> tuple[bytes, str]:
    """An AuditRecord's written bytes and hash (see wardstream.audit.chain.Sealer)."""
