"""What the worker creates its topics with: nothing it must keep ages out by default."""

from __future__ import annotations

from datetime import timedelta

from wardstream.config.settings import Settings
from wardstream.engines.bootstrap import topic_specs


def configs(settings: Settings) -> dict[str, dict[str, str]]:
    return {s.name: dict(s.config) for s in topic_specs(settings, [])}


def test_consents_and_the_audit_trail_are_kept_and_subjects_compacted() -> None:
    """The broker's default retention (7 days) would make a worker that restarts after a
    week forget every older consent (its children then fail closed), and lose evidence."""
    c = configs(Settings())
    assert c["ward.consents"]["retention.ms"] == "-1"
    assert c["ward.audit"]["retention.ms"] == "-1"
    assert c["ward.subjects"]["cleanup.policy"] == "compact"


def test_held_events_outlive_their_quarantine_window() -> None:
    week = configs(Settings())["ward.quarantine"]["retention.ms"]
    assert int(week) >= (7 + 1) * 86_400_000
    long = Settings(policy={"quarantine_window": "30d"})
    assert long.policy.quarantine_window == timedelta(days=30)
    assert int(configs(long)["ward.quarantine"]["retention.ms"]) == 31 * 86_400_000
