"""Free text for the audit trail (--approved-by, --purpose, --reason) never carries the
subject's raw id: it is refused, and the refusal is audited without the text or the id."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from wardstream.cli.free_text import REASON_NAMES_SUBJECT, fields_naming, ids_named_by_ref
from wardstream.cli.main import app

KEY = bytes(range(1, 33)).hex()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("guardian called about u-73519", True),
        ("U-73519 release", True),
        ("u 73519", True),  # separators do not hide it
        ("u_73519/extra", True),
        ("ticket T-381", False),
        ("u-7351", False),
        ("", False),
    ],
)
def test_text_naming_the_subject_is_found(text: str, named: bool) -> None:
    found = fields_naming({"purpose": text, "approved_by": "dpo@example.com"}, ["u-73519"])
    assert found == (["purpose"] if named else [])


def test_short_ids_match_only_exactly() -> None:
    assert fields_naming({"purpose": "ticket 7 of 12"}, ["7-1"]) == []
    assert fields_naming({"purpose": "about 7-1"}, ["7-1"]) == ["purpose"]


@pytest.fixture
def audit(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Operator records, captured instead of written to Kafka."""
    written: list[dict[str, Any]] = []

    def record_access(session: Any, operation: str, reason: str, attrs: dict[str, str],
                      **fields: Any) -> Any:  # fmt: skip
        written.append({"operation": operation, "reason": reason, "attrs": attrs, **fields})
        return type("Rec", (), {"audit_id": "a1", "chain": "_operator/0", "seq": 0})()

    for module in ("access", "audit_cmd", "quarantine_cmd"):
        monkeypatch.setattr(f"wardstream.cli.{module}.record_access", record_access)
    monkeypatch.setenv("WARDSTREAM__AUDIT__HMAC_KEY", KEY)
    return written


@pytest.mark.parametrize("option", ["--purpose", "--approved-by"])
def test_a_lookup_whose_text_names_the_subject_is_refused_and_audited(
    option: str, audit: list[dict[str, Any]]
) -> None:
    args = {"--purpose": "ticket T-381", "--approved-by": "dpo@example.com"}
    args[option] = "guardian of u-73519 asked"
    argv = ["audit", "lookup", "--subject", "u-73519"]
    result = CliRunner().invoke(app, argv + [a for kv in args.items() for a in kv])
    assert result.exit_code == 2
    assert option in result.output and "u-73519" not in result.output
    [refusal] = audit
    assert refusal["reason"] == REASON_NAMES_SUBJECT
    assert refusal["subject_ref"].startswith("k1:")
    assert "73519" not in str(refusal) and "guardian" not in str(refusal)


def test_a_lookup_with_clean_text_is_recorded(audit: list[dict[str, Any]]) -> None:
    argv = ["audit", "lookup", "--subject", "u-73519", "--purpose", "ticket T-381",
            "--approved-by", "dpo@example.com"]  # fmt: skip
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    [record] = audit
    assert record["reason"] == "APPROVED_ACCESS" and record["attrs"]["purpose"] == "ticket T-381"


def test_a_hold_whose_reason_names_the_subject_is_refused(audit: list[dict[str, Any]]) -> None:
    argv = ["hold", "place", "--subject", "u-73519", "--approved-by", "dpo@example.com",
            "--reason", "case of U-73519"]  # fmt: skip
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    [refusal] = audit
    assert refusal["operation"] == "hold" and refusal["attrs"] == {
        "refused": "--reason named the subject"
    }


def test_a_sealed_subjects_id_is_found_in_free_text_by_its_ref() -> None:
    """Quarantine entries name their subject by the ref only (issue #23): ``quarantine list``
    finds a raw id in its free text without unsealing anything."""
    from wardstream.audit.pseudonym import SubjectPseudonymizer

    refs = SubjectPseudonymizer(bytes(range(60, 92)), "k1")
    held = {refs.ref("u-73519"), refs.ref("u-100")}
    texts = {"purpose": "ticket T-9: release (u-73519), guardian called", "approved_by": "dpo"}
    assert ids_named_by_ref(texts, held, refs.ref) == {"u-73519"}
    assert fields_naming(texts, ids_named_by_ref(texts, held, refs.ref)) == ["purpose"]
    assert ids_named_by_ref({"purpose": "ticket T-9"}, held, refs.ref) == set()
