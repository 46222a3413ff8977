"""Synthetic, fictional traffic for the demo, the benchmark and the tests.

``generate(seed, n_events)`` makes a deterministic ``Plan`` (pure, no Kafka);
``wardstream.demo.produce.write_plan`` writes it to Kafka; ``session`` runs the
whole `wardstream demo`.
"""

from wardstream.demo.generate import generate
from wardstream.demo.plan import Plan

__all__ = ["Plan", "generate"]
