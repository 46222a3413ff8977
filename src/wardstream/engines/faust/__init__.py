"""The Faust engine: a faust-streaming app whose agents take batches to the enforcer.

``clients`` builds the app and its Kafka clients, ``engine`` the agents and the
commits of decided offsets, ``state_reader`` tails the state topics with aiokafka.
Never imports ``wardstream.engines.fast``.
"""
