"""The fast engine: a confluent-kafka (librdkafka) consume -> enforce -> produce loop.

``boot`` builds it, ``engine`` is the loop (at-least-once or exactly-once
transactions), ``delivery`` the producer and its stall watchdog,
``state_feed`` the state topics' reader thread, ``web`` the health and metrics
endpoints. Never imports ``wardstream.engines.faust``.
"""
