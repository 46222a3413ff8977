"""Kafka as wardstream's storage: admin, client security, and the topic logs.

``admin`` creates and checks topics, ``security`` turns settings into client
security options, ``librdkafka`` the confluent-kafka client configurations,
``tail`` reads partitions to their end, ``audit_log``, ``quarantine_log`` and
``deadletter_log`` read the audit, quarantine and dead-letter topics for the CLI and
the engines, and ``operator_log`` writes what operator commands write.

May import the layers below the engines (``enforce``'s records and data keys,
``audit``, ``serde``, ``config``, ``domain``). Never an engine, the lifecycle or the CLI.
"""
