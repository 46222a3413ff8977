"""What a pass or a redaction sends to a pipeline's sink, and with which headers.

An adult's event leaves byte for byte. A child's (or minor's, or unknown-age) event is
re-encoded when it must be: JSON (the decoder dropped keys the schema does not name, so
they stay dropped), Confluent Avro (the writer's schema may hold fields the pipeline's
does not: a newer version; the event leaves in the pipeline's schema, so no field it
does not know passes unseen), or with ``encrypt: true`` fields sealed with the subject's
data key (``enforce.sink_fields``). A redaction removes the fields the decision names.
The sink record carries ``ward-age-band``, ``ward-decision`` and ``ward-consent-id``, and
any data key its sealed fields need goes to the keys topic first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wardstream.domain.decision import Decision
from wardstream.domain.enums import AgeBand
from wardstream.domain.pipeline import Pipeline
from wardstream.enforce.records import (
    H_AGE_BAND,
    H_CONSENT,
    H_DECISION,
    Headers,
    InRecord,
    OutRecord,
    forwarded_headers,
)
from wardstream.enforce.sink_fields import FieldSealer
from wardstream.serde import AvroSchema, Codec, redact
from wardstream.serde.confluent import ConfluentAvroCodec


class SinkWriter:
    def __init__(
        self, pipeline: Pipeline, codec: Codec, schema: AvroSchema, sealer: FieldSealer | None
    ) -> None:
        self.pipeline, self.codec, self.schema, self.sealer = pipeline, codec, schema, sealer

    def passed(
        self, rec: InRecord, value: dict[str, Any] | None, decision: Decision, subject_id: str
    ) -> bytes | None:
        """The bytes a pass forwards: the original, except for a child's event that is
        re-encoded (see the module doc)."""
        if value is None or decision.age_band is AgeBand.ADULT:
            return rec.value
        sealed = self._sealed(value, decision, subject_id)
        again = self.pipeline.format == "json" or isinstance(self.codec, ConfluentAvroCodec)
        return self.codec.encode(sealed) if again or sealed is not value else rec.value

    def redacted(self, value: dict[str, Any] | None, decision: Decision, subject_id: str) -> bytes:
        assert value is not None, "a redaction always follows a decode"  # noqa: S101
        kept = redact(value, self.schema, decision.remove_fields)
        return self.codec.encode(self._sealed(kept, decision, subject_id))

    def _sealed(
        self, value: Mapping[str, Any], decision: Decision, subject_id: str
    ) -> Mapping[str, Any]:
        """``encrypt: true`` fields sealed with the subject's data key, unless an adult's."""
        if self.sealer is None or decision.treated_as is AgeBand.ADULT:
            return value
        return self.sealer.seal(subject_id, value)

    def record(self, rec: InRecord, decision: Decision, value: bytes | None) -> list[OutRecord]:
        """The sink record, after any data key its sealed fields need (keys topic first)."""
        headers = forwarded_headers(rec.headers, ward_headers(decision))
        keys = self.sealer.take() if self.sealer is not None else []
        return [*keys, OutRecord(self.pipeline.sink, rec.key, value, headers, rec.timestamp_ms)]


def ward_headers(decision: Decision) -> Headers:
    """``ward-age-band``, ``ward-decision`` and (with a consent) ``ward-consent-id``."""
    ward: Headers = (
        (H_AGE_BAND, decision.header_band.encode()),
        (H_DECISION, decision.action.value.encode()),
    )
    if decision.consent_id:
        ward += ((H_CONSENT, decision.consent_id.encode()),)
    return ward
