"""Suite-wide rules: under CI=true an integration test that would skip fails instead."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    # an xfail is reported as skipped too: it ran, and pytest counts it (never as failed)
    skipped = report.skipped and not hasattr(report, "wasxfail")
    if IN_CI and skipped and item.get_closest_marker("integration") is not None:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid}: integration tests must run in CI (CI=true), but this one "
            f"skipped: {report.longrepr!r}. Give CI a broker: KAFKA_BOOTSTRAP_SERVERS, a Docker "
            "engine, or Java + Maven for the local launcher."
        )
