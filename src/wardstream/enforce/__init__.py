"""The engine-neutral enforcer: decode -> decide -> route, for every event of a pipeline.

``PipelineProcessor`` takes one source record (``records.InRecord``) to an
``Outcome``: decoded, its subject and time located, the subject's state looked up
(``state``), decided by ``wardstream.policy``, and routed to the sink (with
``ward-*`` headers, redacted or with sealed fields: ``sink_fields``), the
quarantine book (``quarantine``, sealed with per-subject data keys:
``datakeys``), the dead-letter topic or nowhere, each with its audit record
(``auditor``). An event whose writer schema the registry cannot give yet waits
(``schema_wait``). ``Enforcer`` runs one processor per pipeline and drives the
periodic work (waiting events, releases, expiry, summaries, ``metrics``).

May import: the pure layers (``domain``, ``policy``, ``audit``, ``state``), ``serde``,
``crypto``, ``config`` and ``errors``. Never a Kafka client, an engine, the
lifecycle or the CLI: the lifecycle plugs in through the protocols of ``hooks``.
"""
