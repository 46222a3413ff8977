"""`wardstream audit report` rendered in a real headless Chromium (Debian's `chromium`).

A log of five days of known decisions is written with ``ChainWriter`` to a
topic of its own; the report the CLI writes is opened in Chromium, and the key
figures are read back from the rendered DOM by element id. A screenshot is
saved as ``report.png`` beside the report in the test's tmp dir.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_audit_cli import CODEC, cli, publish

from wardstream.audit.chain import ChainWriter
from wardstream.domain.audit import AuditRecord

pytestmark = pytest.mark.integration

DAYS = 5
PER_DAY = {"QUARANTINED": 3, "REDACTED": 2, "DROPPED": 1, "TAGGED": 4}
ADULT_PASSES_PER_DAY = 100
DELETIONS_PER_DAY = 2
RELEASED_DAYS = 3  # on the first three days, two of the three quarantined events are released
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Debian's chromium is not installed (scripts/test installs it as root)")
    return found


def five_days() -> list[AuditRecord]:
    """Five days of known decisions, each chain written in time order."""
    start = (datetime.now(UTC) - timedelta(days=DAYS)).replace(hour=8, minute=0, microsecond=0)
    planned: list[tuple[datetime, str, dict[str, Any]]] = []
    for day in range(DAYS):
        at = start + timedelta(days=day)
        for action, n in PER_DAY.items():
            for i in range(n):
                ref = f"app.clickstream/0/{day * 100 + len(planned)}"
                planned.append((at + timedelta(minutes=i), "clickstream/0", _decision(action, ref)))
                if action == "QUARANTINED" and day < RELEASED_DAYS and i < 2:
                    closed = {"pipeline": "clickstream", "action": "RELEASED", "event_ref": ref}
                    planned.append((at + timedelta(hours=2 + i * 20), "clickstream/0", closed))
        summary = {"pipeline": "location_ping", "action": "SUMMARY", "reason": "ADULT",
                   "counts": {"PASSED": ADULT_PASSES_PER_DAY}}  # fmt: skip
        planned.append((at + timedelta(hours=1), "clickstream/1", summary))
        for i in range(DELETIONS_PER_DAY):
            deletion = {"pipeline": "_control", "action": "DELETION_ISSUED",
                        "reason": "CONSENT_WITHDRAWN", "rule": "CN-CPI-2019/art20",
                        "deadline": at + timedelta(days=15)}  # fmt: skip
            planned.append((at + timedelta(hours=3, minutes=i), "_control/0", deletion))
    writers = {
        c: ChainWriter(c, CODEC.encode) for c in ("clickstream/0", "clickstream/1", "_control/0")
    }
    return [
        writers[chain].append(at=at, worker="worker-1", **fields)
        for at, chain, fields in sorted(planned, key=lambda p: p[0])
    ]


def _decision(action: str, ref: str) -> dict[str, Any]:
    reason = {"QUARANTINED": "NO_GUARDIAN_CONSENT", "REDACTED": "CATEGORY_NOT_COVERED",
              "DROPPED": "DEREGISTERED", "TAGGED": "CONSENT_COVERS"}[action]  # fmt: skip
    return {
        "pipeline": "clickstream",
        "action": action,
        "reason": reason,
        "rule": "CN-CPI-2019/art9",
        "subject_ref": "k1:" + "ab" * 32,
        "event_ref": ref,
    }


class _ById(HTMLParser):
    """The text of every element with an id, as Chromium rendered it."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id")
        self._open.append(ident)
        if ident:
            self.text.setdefault(ident, "")

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for ident in self._open:
            if ident:
                self.text[ident] += data


def render(browser: str, page: Path, tmp: Path, *extra: str) -> str:
    profile = tmp / "chromium-profile"
    done = subprocess.run(  # noqa: S603 - a fixed browser binary and our own flags
        [browser, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode()


def figures(dom: str) -> dict[str, str]:
    parser = _ById()
    parser.feed(dom)
    return {k: " ".join(v.split()) for k, v in parser.text.items()}


def test_report_renders_in_chromium_with_the_key_figures(
    kafka_bootstrap: str, unique_topic: Callable[[str], str], tmp_path: Path
) -> None:
    browser = chromium()
    topic = unique_topic("audit")
    publish(
        kafka_bootstrap, topic, [(r.chain.encode(), CODEC.encode(r.to_dict())) for r in five_days()]
    )
    out = tmp_path / "report"
    result = cli(kafka_bootstrap, topic, "audit", "report", "--out", str(out))
    assert result.exit_code == 0, result.output
    page = out / "report.html"
    got = figures(render(browser, page, tmp_path, "--dump-dom"))
    decisions = DAYS * (sum(PER_DAY.values()) + ADULT_PASSES_PER_DAY)
    released = RELEASED_DAYS * 2
    assert got["total-decisions"] == str(decisions) == "550"
    assert got["action-QUARANTINED"] == str(DAYS * PER_DAY["QUARANTINED"])
    assert got["action-PASSED"] == str(DAYS * ADULT_PASSES_PER_DAY)
    assert got["deletions-issued"] == str(DAYS * DELETIONS_PER_DAY)
    assert got["quarantine-released"] == str(released)
    assert got["quarantine-open"] == str(DAYS * PER_DAY["QUARANTINED"] - released)
    assert got["pipeline-clickstream"] == str(DAYS * sum(PER_DAY.values()))
    assert got["verify-status"] == "intact" and got["verify-breaks"] == "0"
    day_totals = [v for k, v in got.items() if k.startswith("day-")]
    assert day_totals == [str(sum(PER_DAY.values()) + ADULT_PASSES_PER_DAY)] * DAYS
    assert {"chart-actions", "chart-days", "chart-quarantine-ages"} <= set(got)
    shot = tmp_path / "report.png"
    render(browser, page, tmp_path, f"--screenshot={shot}", "--window-size=1280,2900")
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_broken_chain_shows_as_broken_in_the_rendered_page(
    kafka_bootstrap: str, unique_topic: Callable[[str], str], tmp_path: Path
) -> None:
    browser = chromium()
    log = five_days()
    messages = [(r.chain.encode(), CODEC.encode(r.to_dict())) for r in log]
    at = next(i for i, r in enumerate(log) if r.action == "DROPPED")
    messages[at] = (messages[at][0], CODEC.encode({**log[at].to_dict(), "action": "TAGGED"}))
    topic = unique_topic("broken")
    publish(kafka_bootstrap, topic, messages)
    out = tmp_path / "report"
    result = cli(kafka_bootstrap, topic, "audit", "report", "--out", str(out))
    assert result.exit_code == 1, "a broken chain fails the command; the report is still written"
    dom = render(browser, out / "report.html", tmp_path, "--dump-dom")
    got = figures(dom)
    assert got["verify-status"] == "BROKEN" and got["verify-breaks"] == "1"
    assert f"{topic}[0]@{at}" in dom and "ALTERED" in dom
