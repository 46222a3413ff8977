"""The audit core: pure, no Kafka, Faust, Avro library or file I/O.

- ``pseudonym``: keyed HMAC refs for subjects (``SubjectPseudonymizer``, ``parse_key``).
- ``chain``: hash chains (``ChainWriter``, ``record_hash``, ``hash_of_written``).
- ``verify``: streaming chain verification (``ChainVerifier``, ``verify_all``),
  with ``linkage`` deciding what a broken stretch of a chain means.
- ``summary``: adults' passes counted into SUMMARY records (``AdultPassCounter``).
- ``report`` / ``report_html``: the auditor's report as JSON, CSV and HTML text.

Anything that needs Avro bytes takes an injected ``encode`` callable; the serde
layer passes fastavro's schemaless writer of ``schemas/AuditRecord.avsc``.
"""
