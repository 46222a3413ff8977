"""wardstream: children's personal-information law, enforced on Kafka streams."""

__version__ = "0.1.0"
