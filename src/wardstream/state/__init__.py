"""Subject and consent state for millions of subjects: compact in memory, decoded on demand.

``ward.subjects`` and ``ward.consents`` are read back in full by every worker
(``enforce.state``). Holding a ``SubjectProfile`` dataclass per subject costs
several hundred bytes and a ``ConsentLedger`` a few kilobytes; here each
subject costs its key and its Avro value bytes, packed into large shared
buckets (``table``), and the profiles and ledgers in use are decoded on
lookup and kept in a bounded cache (``maps``), so that a hot subject keeps
its object (the policy core memoises on it). ``profile_codec`` and
``consent_codec`` decode the values without fastavro on the common path,
and fall back to the full codec for anything unusual, so that they accept
exactly what the full decoder accepts, with the same result.
"""
