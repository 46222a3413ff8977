"""The engines: Kafka in, ``wardstream.enforce`` in the middle, Kafka out.

``run`` starts one in this process; ``bootstrap`` builds what both share from the
settings (topics, keys, pipelines, the audit chains' resume points, the enforcer
with its lifecycle); ``offsets`` is the pure bookkeeping of which offsets are
decided, that both engines commit by. ``faust`` is the Faust engine, ``fast``
the confluent-kafka engine (exactly-once capable).

May import anything below it (``enforce``, ``lifecycle``, ``kafka``, ``config``, ...).
The two engines never import each other; nothing below imports an engine.
"""
