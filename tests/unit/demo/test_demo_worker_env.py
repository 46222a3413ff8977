"""`wardstream demo --bootstrap <secure cluster>`: the worker gets the caller's security settings.

No Kafka: the worker's environment (``worker_env``) and the settings the worker
loads from it and the run's config, in the run directory where it runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wardstream.config.settings import load_settings
from wardstream.demo.process import worker_env
from wardstream.demo.workspace import Workspace, find_project
from wardstream.kafka.security import password

SECRET = "s3cret-Passw0rd-for-tests"  # noqa: S105 - a fictional test password
KAFKA = "WARDSTREAM__KAFKA__"
CALLER = {
    "PATH": "/usr/bin",
    f"{KAFKA}SECURITY_PROTOCOL": "SASL_SSL",
    f"{KAFKA}SASL_MECHANISM": "SCRAM-SHA-512",
    f"{KAFKA}SASL_USERNAME": "alice",
    f"{KAFKA}SASL_PASSWORD_FILE": "secrets/alice.password",  # relative to the caller's cwd
    f"{KAFKA}SSL_CAFILE": "/etc/kafka/ca.pem",
    f"{KAFKA}BOOTSTRAP_SERVERS": "elsewhere.example.com:9093",  # the run's config names it
    f"{KAFKA}PARTITIONS": "12",
    "WARDSTREAM__WORKER__WEB_PORT": "9999",
    "WARDSTREAM__TOPICS__AUDIT": "prod.audit",
    "WARDSTREAM__AUDIT__HMAC_KEY": "the-callers-key",
}


def test_the_worker_gets_the_callers_connection_settings_and_nothing_else(
    tmp_path: Path,
) -> None:
    env = worker_env(CALLER, tmp_path)
    assert env["PATH"] == "/usr/bin"
    assert env[f"{KAFKA}SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env[f"{KAFKA}SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env[f"{KAFKA}SASL_USERNAME"] == "alice"
    assert env[f"{KAFKA}SASL_PASSWORD_FILE"] == str(tmp_path / "secrets/alice.password")
    assert env[f"{KAFKA}SSL_CAFILE"] == "/etc/kafka/ca.pem"
    for run_owned in (
        f"{KAFKA}BOOTSTRAP_SERVERS",
        f"{KAFKA}PARTITIONS",
        "WARDSTREAM__WORKER__WEB_PORT",
        "WARDSTREAM__TOPICS__AUDIT",
    ):
        assert run_owned not in env
    assert env["WARDSTREAM__AUDIT__HMAC_KEY"] != "the-callers-key"
    assert len(env["WARDSTREAM__LIFECYCLE__MASTER_KEY"]) == 64  # fresh, 32 bytes as hex


def test_an_inline_password_is_passed_on_as_it_is() -> None:
    env = worker_env({f"{KAFKA}SASL_PASSWORD": SECRET}, Path("/nowhere"))
    assert env[f"{KAFKA}SASL_PASSWORD"] == SECRET


def test_the_worker_logs_in_to_the_run_cluster_as_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller_dir = tmp_path / "caller"
    (caller_dir / "secrets").mkdir(parents=True)
    (caller_dir / "secrets" / "alice.password").write_text(SECRET + "\n")
    ws = Workspace(tmp_path / "run", find_project(), "broker.example.com:9093", "demo-0", 0)
    ws.write()
    _without_wardstream_variables(monkeypatch)
    for name, value in worker_env(CALLER, caller_dir).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ws.root)  # where the worker runs
    kafka = load_settings(ws.config_path).kafka
    assert kafka.bootstrap_servers == "broker.example.com:9093"
    assert (kafka.security_protocol, kafka.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert kafka.sasl_username == "alice" and kafka.ssl_cafile == Path("/etc/kafka/ca.pem")
    assert password(kafka) == SECRET
    assert SECRET not in ws.config_path.read_text() and "alice" not in ws.config_path.read_text()


def test_the_demo_checks_the_run_bootstrap_not_the_callers_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(tmp_path / "run", find_project(), "broker.example.com:9093", "demo-0", 0)
    ws.write()
    _without_wardstream_variables(monkeypatch)
    monkeypatch.setenv(f"{KAFKA}BOOTSTRAP_SERVERS", "elsewhere.example.com:9093")
    settings, _ = ws.load()
    assert settings.kafka.bootstrap_servers == "broker.example.com:9093"


def _without_wardstream_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("WARDSTREAM__"):
            monkeypatch.delenv(name)
