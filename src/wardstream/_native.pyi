"""Types of wardstream's native core (the Rust crate in native/, built by maturin).

Private: used by wardstream.serde.native, enforce.lane, enforce.auditor and state.table.
"""

from collections.abc import Iterator

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
        lane: LaneTable,
        cutoff: int,
        only: list[int] | None = None,
    ) -> Screen:
        """(codes per value as native-endian u32s, (partition, code, n) counts,
        (subject, first, last) spans,
        (index, span index) of each passed event of a held entry, (index, value to send)
        of each passed event a shaped entry removed fields from, (index, code, subject,
        micros, waits, value to send or None) of each hinted event (an aside entry's, or
        a held entry's that waits), code 0 in codes; (subject, micros) of the first
        event of each subject without an entry, the index of every record of such
        subjects); ``only``: screen these indices alone (the others: code 0 and nothing
        else); held entries' events
        pass only at or before ``cutoff`` (epoch microseconds) and when their subject
        does not wait (the subjects of hinted events that wait are marked waiting)."""

Screen = tuple[
    bytes,
    list[tuple[int, int, int]],
    list[tuple[str, int, int]],
    list[tuple[int, int]],
    list[tuple[int, bytes]],
    list[tuple[int, int, str, int, bool, bytes | None]],
    list[tuple[str, int]],
    list[int],
]

class LaneTable:
    """Subject id -> (event times [from, until) in epoch microseconds, decision code
    from 1, held: a child's, whose events wait for the consent-consistent hold, shape:
    0, or a shape from ``shape``; aside: its events take the Python path with the code)."""

    def __init__(self) -> None: ...
    def set(
        self,
        subject: str,
        from_micros: int,
        code: int,
        until_micros: int = 2**63 - 1,
        held: bool = False,
        shape: int = 0,
        aside: bool = False,
    ) -> None: ...
    def shape(
        self, locator: AvroLocator, probes: list[str], codes: list[int], cuts: list[list[str]]
    ) -> int:
        """A shape (from 1): an entry's code is ``codes[mask]`` (bit i of ``mask``: the
        field ``probes[i]`` holds data) and the fields ``cuts[mask]`` are set to null in
        the value sent; ValueError ``(kind, message)`` when the native side cannot
        (not nullable, an ambiguous union in the schema, more than 4 probes)."""
    def discard(self, subject: str) -> bool: ...
    def clear(self) -> None:
        """Every entry and shape (the waiting subjects stay)."""
    def wait(self, subject: str) -> None:
        """``subject`` has an event waiting: its events are hinted until ``unwait``."""
    def unwait(self, subjects: list[str]) -> None: ...
    def waiting(self) -> int:
        """How many subjects wait."""
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

# The state store (wardstream.state.table imports it).
def last_offsets(
    rows: list[tuple[str, int, int, bytes | None, bytes | None]],
) -> dict[tuple[str, int], int]:
    """The offset of the last row of each (topic, partition)."""

class BlobTable:
    """bytes -> bytes in one arena (native/src/store.rs); see wardstream.state.table."""

    def __init__(self, profile_bands: int | None = None) -> None:
        """``profile_bands`` (the schema's age bands): a profile table, whose values are
        stored packed (native/src/profile.rs) and handed out as they were put."""
    def __len__(self) -> int: ...
    def __contains__(self, key: bytes) -> bool: ...
    def __iter__(self) -> Iterator[bytes]: ...
    def get(self, key: bytes) -> bytes | None: ...
    def put(self, key: bytes, value: bytes) -> bytes | None:
        """The value ``key`` had, or None. Raises MemoryError when the arena is full."""

    def pop(self, key: bytes) -> bytes | None:
        """The value ``key`` had, or None."""

    def load_run(self, chunk: bytes, head: int, start: int) -> tuple[int, int]:
        """Puts the state snapshot chunk's records from ``start`` on with this head byte,
        stopping at one cut short, keyless, not UTF-8 or already held;
        (where it stopped, how many it put)."""

    def absorb_profiles(
        self,
        rows: list[tuple[str, int, int, bytes | None, bytes | None]],
        start: int,
        topic: str,
    ) -> int:
        """Puts the leading run of ``topic``'s rows from ``start`` on whose values are usual
        ``SubjectProfile`` records, keyed by subject id, without it (a profile table's
        only); stops at a tombstone, another topic, an unusual value and a profile
        deregistered before or now. Where it stopped."""

    def absorb_grants(
        self,
        rows: list[tuple[str, int, int, bytes | None, bytes | None]],
        start: int,
        topic: str,
        shape: ConsentShape,
    ) -> tuple[int, bytes]:
        """Appends the leading run of ``topic``'s rows from ``start`` on that are usual
        ``ConsentEvent`` grants to their subject's ledger, packed; (where it stopped, the
        grants with an expiry packed as ``ExpiryIndex`` packs them)."""

    def reserve(self, additional: int) -> None:
        """Room for ``additional`` more keys at once (a bulk read that knows its size)."""

    def shrink_index(self) -> None:
        """Gives back room ``reserve`` made and no keys came to use."""

    def footprint(self) -> tuple[int, int, int]:
        """(arena bytes used, arena capacity, index bytes)."""

    def words(self) -> int:
        """Words a profile table keeps for its packed values now (0 for any other)."""

    def nbytes(self) -> int:
        """Bytes allocated: the arena and the index."""

    def compact(self) -> None: ...
    def keys(self) -> Iterator[bytes]:
        """Insertion order; RuntimeError if the table moves its records meanwhile."""

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Insertion order; RuntimeError if the table moves its records meanwhile."""

class ConsentShape:
    """What the native consent reader needs: ``enums`` (granted_by's and action's sizes,
    GRANTED's number), the data categories known and the purposes declared, as UTF-8
    (a packed event names each as a byte; other purposes stay spelled out)."""

    def __init__(
        self, enums: tuple[int, int, int], categories: list[bytes], purposes: list[bytes] = ...
    ) -> None: ...
    def entry(self, value: bytes) -> bytes | None:
        """The ledger entry of an event: a two-byte length, the event (packed when usual);
        None past 65,535 bytes, or for an unpackable event whose first byte is 0xFF."""

    def unpack(self, stored: bytes, subject: bytes) -> bytes:
        """A stored ledger with its packed events unpacked; ValueError when malformed."""

def seal_audits(
    at_ms: int,
    worker: str,
    pipeline: str,
    chain: str,
    seq: int,
    prev_hash: str,
    rows: list[
        tuple[str, str, str | None, str | None, str | None, str | None, str | None, list[str]]
    ],
) -> tuple[list[bytes], str]:
    """Consecutive records of one chain (seq from ``seq``, the first chained to
    ``prev_hash``), all at ``at_ms``, without counts, deadline or attrs; each row is
    ``(audit_id, action, rule, reason, subject_ref, event_ref, consent_id,
    fields_redacted)``: their written bytes and the last record's hash."""

def encode_quarantined(
    quarantine_id: str,
    pipeline: str,
    subject_id: str,
    reason: str,
    rule: str | None,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes | None]],
    origin_topic: str,
    origin_partition: int,
    origin_offset: int,
    origin_timestamp_ms: int | None,
    event_time_ms: int | None,
    quarantined_at_ms: int,
    expires_at_ms: int,
    status: str,
    key_id: str | None,
    alg: str,
    subject_ref: str | None,
    sealed: bytes | None,
) -> bytes:
    """A QuarantinedEvent's schemaless Avro bytes (fields in the schema's order, times in
    epoch milliseconds, ``encryption`` as ``key_id`` and ``alg``; no missing categories
    or blocking fields)."""

def seal_quarantined(
    data_key: bytes,
    quarantine_id: str,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes | None]],
    subject_id: str,
    origin_timestamp_ms: int | None,
    event_time_ms: int | None,
) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], bytes]:
    """A quarantined event's key, value and header values sealed under ``data_key``
    (AES-256-GCM, ``nonce || ciphertext || tag``, bound to ``<quarantine id>|key``,
    ``|value``, ``|header|<i>|<name>``; None stays None), and its subject id and times
    sealed as JSON bound to ``<quarantine id>|subject``. ValueError: not a 32-byte key."""
