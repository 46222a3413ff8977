"""A local Apache Kafka for the demo and the tests: installed from Maven Central, no Docker.

``install`` fetches Kafka's jars once into a cache (with the ``pom.xml`` beside it),
``nodes`` plans each node's ports and ``server.properties``, ``tls`` a throwaway
CA and SASL/TLS listener, ``kafka`` starts and stops a KRaft cluster, ``registry``
installs and runs an Apicurio schema registry (Confluent-compatible API).

May import ``wardstream.kafka.errors`` and ``wardstream.errors`` only.
"""
