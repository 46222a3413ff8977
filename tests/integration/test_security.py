"""wardstream against a SASL_SSL (SCRAM-SHA-512) listener with a CA of its own.

The module starts its own local broker with the launcher's secure listener.
Test data goes in and is read back over the PLAINTEXT listener (the harness's
clients); the workers and CLI under test reach the brokers only through
SASL_SSL, configured by WARDSTREAM__KAFKA__* variables as an operator would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import KEYS, TEST_KEY, TEST_MASTER_KEY, Workspace
from tests.integration.test_enforcer import birthday, refs

from wardstream.local.kafka import LocalKafka
from wardstream.local.tls import make_certificates
from wardstream.serde import AvroCodec, Origin, record_schema

SIGNING_KEY = "12e36e73018922c1ed3feacc6cf3038c7e6cc1e18e5de30db783a0039e4cd740"  # fictional
pytestmark = pytest.mark.integration

USER = "ward-worker"
PASSWORD = f"pw-{uuid.uuid4().hex}"  # distinctive, so a leak anywhere is found
QUARANTINE = AvroCodec(record_schema("QuarantinedEvent"))
ENGINES = ("faust", "fast")


class CliWorkspace(Workspace):
    """A Workspace whose worker runs ``--engine <engine> --log-level <level>``."""

    def __init__(self, *args: Any, engine: str = "faust", log_level: str = "warn", **kw: Any):
        self.worker_args = ["--engine", engine, "--log-level", log_level]
        super().__init__(*args, **kw)

    def launch(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, **KEYS, **self.env}
        config = str(self.root / "wardstream.yaml")
        with (self.root / "worker.log").open("ab") as log:
            return subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "wardstream", "worker", *self.worker_args, "-c", config],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def start(self, timeout: float = 90) -> None:
        self.proc = self.launch()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop(kill=True)
                raise AssertionError(f"worker did not start:\n{self.log_tail()}")
            time.sleep(0.3)

    def log_text(self) -> str:
        return (self.root / "worker.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = LocalKafka(
        tmp_path_factory.mktemp("secure-kafka"), security="sasl_ssl", scram_users={USER: PASSWORD}
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def secure_env(broker: LocalKafka, password: str = PASSWORD) -> dict[str, str]:
    """The settings an operator exports for the SASL_SSL listener."""
    assert broker.secure_bootstrap_servers and broker.ca_file
    return {
        "WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS": broker.secure_bootstrap_servers,
        "WARDSTREAM__KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
        "WARDSTREAM__KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "WARDSTREAM__KAFKA__SASL_USERNAME": USER,
        "WARDSTREAM__KAFKA__SASL_PASSWORD": password,
        "WARDSTREAM__KAFKA__SSL_CAFILE": str(broker.ca_file),
    }


def workspace(broker: LocalKafka, root: Path, engine: str = "faust", **kw: Any) -> CliWorkspace:
    project = Path(__file__).resolve().parents[2]
    prefix = f"sec{engine}{uuid.uuid4().hex[:6]}"
    ws = CliWorkspace(root, broker.bootstrap_servers, prefix, project, engine=engine, **kw)
    ws.env.update(secure_env(broker))
    return ws


def flat(text: str) -> str:
    return " ".join(text.split())


def click(subject: str, marker: str) -> dict[str, Any]:
    return {
        "event_id": f"{marker}-{uuid.uuid4().hex[:8]}",
        "user_id": subject,
        "ts": datetime.now(UTC),
        "session_id": None,
        "action": "VIEW",
        "page": "/lesson/1",
        "referrer": None,
        "search_query": None,
        "duration_ms": None,
        "experiment_group": "",
        "device": {"device_id": "d-1", "os": "ios", "app_version": None, "ip": None},
        "geo": None,
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_worker_enforces_over_sasl_ssl(
    secure_kafka: LocalKafka, tmp_path_factory: pytest.TempPathFactory, engine: str
) -> None:
    ws = workspace(
        secure_kafka,
        tmp_path_factory.mktemp(f"sec-{engine}"),
        engine,
        log_level="debug",
        state_lateness_s=0.5,
        max_hold_s=6.0,
    )
    ws.env["WARDSTREAM__AUDIT__SIGNING_KEY"] = SIGNING_KEY  # signed audit checkpoints too
    adult, child = f"adult-{uuid.uuid4().hex[:8]}", f"child-{uuid.uuid4().hex[:8]}"
    try:
        ws.subject(adult, birth=birthday(30))
        ws.subject(child, birth=birthday(9))  # and no consent
        ws.flush()
        ws.start()
        for subject in (adult, child):
            ws.event("clickstream", click(subject, subject), key=subject.encode())
        ws.flush()
        passed = ws.wait_for(ws.sink("clickstream"), lambda r: r.key == adult.encode())
        ref = refs.ref(child).encode()  # the quarantine topic is keyed by the subject ref
        held = ws.wait_for(ws.topics["quarantine"], lambda r: r.key == ref)
        assert passed, f"the adult's event did not pass:\n{ws.log_tail()}"
        assert held, f"the child's event was not quarantined:\n{ws.log_tail()}"
        q = QUARANTINE.decode(held[0].value, origin=Origin("q", 0, 0))
        assert (q["status"], q["reason"]) == ("QUARANTINED", "NO_GUARDIAN_CONSENT")
        assert not [r for r in ws.records(ws.sink("clickstream")) if r.key == child.encode()]
        ws.stop()
        log = ws.log_text()
        for secret in (PASSWORD, TEST_KEY, TEST_MASTER_KEY, SIGNING_KEY):
            assert secret not in log, "a secret is in the worker's output"
    finally:
        ws.close()


def test_wrong_password_is_refused_clearly(
    secure_kafka: LocalKafka, tmp_path_factory: pytest.TempPathFactory
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    ws = workspace(secure_kafka, tmp_path_factory.mktemp("sec-wrong"))
    ws.env.update(secure_env(secure_kafka, wrong))
    try:
        ws.proc = worker = ws.launch()  # the worker and the CLI side by side; close() ends it
        verify = ws.cli("audit", "verify", timeout=60)
        worker.wait(timeout=60)
        said = verify.stdout + verify.stderr
        for out in (flat(said), flat(ws.log_text())):  # rich wraps lines at 80 columns
            # the login check's words, not a client's timeout after 30 s of retries
            assert f"refused the SCRAM-SHA-512 login of user '{USER}'" in out, out
            assert "WARDSTREAM__KAFKA__SASL_PASSWORD" in out  # where to fix it
            assert wrong not in out and PASSWORD not in out
            assert "Traceback" not in out
        assert verify.returncode != 0 and worker.returncode != 0
    finally:
        ws.close()


def test_unknown_ca_is_refused_clearly(
    secure_kafka: LocalKafka, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("sec-ca")
    other_ca, _ = make_certificates()
    (root / "other-ca.pem").write_bytes(other_ca)
    ws = workspace(secure_kafka, root)
    ws.env["WARDSTREAM__KAFKA__SSL_CAFILE"] = str(root / "other-ca.pem")
    try:
        verify = ws.cli("audit", "verify", timeout=60)
        said = flat(verify.stdout + verify.stderr)
        assert verify.returncode != 0
        assert "the TLS handshake failed" in said and "certificate verify failed" in said, said
        assert "kafka.ssl_cafile" in said and PASSWORD not in said
    finally:
        ws.close()
