"""Operator records over SASL_SSL name the SASL user, whatever USER and LOGNAME claim.

Starts its own local broker with the launcher's secure listener (the fixture of
``test_security``); the CLI under test reaches it only through SASL_SSL.
"""

from __future__ import annotations

import json

import pytest
from tests.integration.test_security import USER, secure_kafka, workspace

from wardstream.domain.audit import AuditRecord
from wardstream.kafka.admin import TopicSpec, ensure_topics
from wardstream.local.kafka import LocalKafka
from wardstream.serde import AvroCodec, Origin, record_schema

pytestmark = pytest.mark.integration
__all__ = ["secure_kafka"]  # the module-scoped broker fixture, used below by name

AUDIT = AvroCodec(record_schema("AuditRecord"))


def test_an_access_record_names_the_authenticated_sasl_user(
    secure_kafka: LocalKafka, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ws = workspace(secure_kafka, tmp_path_factory.mktemp("principal"))
    ws.env.update({"USER": "dpo-spoofed", "LOGNAME": "dpo-spoofed"})
    try:  # the worker creates the audit topic; here, without a worker, the harness does
        ensure_topics({"bootstrap_servers": ws.bootstrap}, [TopicSpec(ws.topics["audit"])])
        result = ws.cli(
            "audit", "lookup", "--subject", "u-principal-1", "--approved-by", "dpo@example.com",
            "--purpose", "ticket T-381", "--json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        audit_id = json.loads(result.stdout)["audit_id"]
        records = [
            AuditRecord.from_dict(AUDIT.decode(m.value, origin=Origin("a", m.partition, m.offset)))
            for m in ws.records(ws.topics["audit"])
        ]
        [access] = [r for r in records if r.audit_id == audit_id]
        assert access.worker.startswith(f"cli:sasl:{USER}@")
        assert access.attrs["operator"] == f"sasl:{USER}"
        assert "dpo-spoofed" not in str(access)
    finally:
        ws.close()
