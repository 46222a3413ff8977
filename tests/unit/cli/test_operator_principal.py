"""Operator records name the principal Kafka authenticated, not what USER/LOGNAME claim."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from wardstream.cli.access import open_session
from wardstream.config.settings import KafkaSettings
from wardstream.kafka.security import (
    KafkaAccessError,
    librdkafka_options,
    principal,
    python_options,
)


def _client_cert(tmp_path: Path, common_name: str = "ops-alice") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Ops"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "client.pem", tmp_path / "client.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def test_a_sasl_login_is_the_principal() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="ops-alice",
        sasl_password="x" * 16,
    )
    assert principal(kafka, "mallory") == "sasl:ops-alice"


def test_a_client_certificate_subject_is_the_principal(tmp_path: Path) -> None:
    certfile, keyfile = _client_cert(tmp_path)
    kafka = KafkaSettings(security_protocol="SSL", ssl_certfile=certfile, ssl_keyfile=keyfile)
    assert principal(kafka, "mallory") == "tls:O=Example Ops,CN=ops-alice"
    # and the certificate is presented: both clients get it
    rd = librdkafka_options(kafka)
    assert rd["ssl.certificate.location"] == str(certfile)
    assert rd["ssl.key.location"] == str(keyfile)
    assert isinstance(python_options(kafka)["ssl_context"], ssl.SSLContext)


def test_without_authentication_the_os_user_is_marked_unverified() -> None:
    assert principal(KafkaSettings(), "mallory") == "local:mallory (unauthenticated)"
    # TLS without a client certificate authenticates the brokers, not this client
    assert principal(KafkaSettings(security_protocol="SSL"), "bob") == "local:bob (unauthenticated)"


def test_a_bad_certificate_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "c.pem"
    bad.write_text("not a certificate")
    kafka = KafkaSettings(security_protocol="SSL", ssl_certfile=bad, ssl_keyfile=bad)
    with pytest.raises(KafkaAccessError, match="ssl_certfile"):
        principal(kafka, "x")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"security_protocol": "SSL", "ssl_certfile": "c.pem"}, "go together"),
        ({"ssl_certfile": "c.pem", "ssl_keyfile": "k.pem"}, "only presented over TLS"),
    ],
)
def test_client_certificate_settings_are_checked(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KafkaSettings.model_validate(settings)


def test_the_session_records_the_sasl_user_whatever_user_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "wardstream.yaml"
    config.write_text(
        "kafka:\n  security_protocol: SASL_PLAINTEXT\n  sasl_mechanism: SCRAM-SHA-512\n"
        "  sasl_username: ops-alice\n"
    )
    monkeypatch.setenv("WARDSTREAM__KAFKA__SASL_PASSWORD", "x" * 16)
    monkeypatch.setenv("USER", "dpo-spoofed")
    monkeypatch.setenv("LOGNAME", "dpo-spoofed")
    monkeypatch.setattr("wardstream.kafka.security.preflight", lambda kafka: None)
    session = open_session(config)
    assert session.user == "sasl:ops-alice"
    assert session.operator.startswith("cli:sasl:ops-alice@")


def test_the_session_marks_an_unauthenticated_os_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "dpo-spoofed")
    monkeypatch.setenv("LOGNAME", "dpo-spoofed")
    session = open_session(None)
    assert session.user == "local:dpo-spoofed (unauthenticated)"
