"""The local broker's opt-in SASL_SSL listener: a throwaway CA, SCRAM users, listener config.

``SecureListener.create(directory)`` writes a fresh CA (``ca.pem``, what clients
trust: ``kafka.ssl_cafile``) and a broker certificate for 127.0.0.1/localhost
signed by it (``broker.pem``: the unencrypted PKCS#8 key and the chain, a PEM
keystore, so no ``keytool``), plus one ``<user>.password`` file (mode 0600) per
SCRAM-SHA-512 user. Each node's server.properties gets ``properties()`` (next
to the SASL_SSL listener that ``local/nodes.py`` plans) and ``kafka-storage
format`` gets ``format_args()``, which writes the users' SCRAM credentials into
the KRaft metadata log.

The PLAINTEXT listener stays for inter-broker, controller and admin traffic
on loopback; only the second listener is SASL_SSL. Passwords are never put in
a repr, the state file or an error message.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wardstream.kafka.errors import LocalKafkaError

MECHANISM = "SCRAM-SHA-512"
LISTENER = "SASL_SSL"
DEFAULT_USER = "wardstream"
CERT_DAYS = 30
_SAFE = re.compile(r"[A-Za-z0-9._~+/-]{1,128}")


class SecureListenerError(LocalKafkaError):
    """The SASL_SSL listener cannot be set up or does not answer; the message says why."""


@dataclass(frozen=True, slots=True)
class SecureListener:
    """TLS files and SCRAM users for one local cluster's SASL_SSL listener."""

    directory: Path
    ca_file: Path
    keystore: Path
    users: Mapping[str, str] = field(repr=False)  # name -> password: never printed

    @classmethod
    def create(
        cls, directory: Path, users: Mapping[str, str] | None = None, *, days: int = CERT_DAYS
    ) -> SecureListener:
        """New CA, broker certificate and password files in ``directory``.

        Without ``users``, one user ``wardstream`` gets a random password.
        """
        chosen = dict(users) if users else {DEFAULT_USER: secrets.token_urlsafe(24)}
        check_users(chosen)
        directory.mkdir(parents=True, exist_ok=True)
        ca_file, keystore = directory / "ca.pem", directory / "broker.pem"
        ca_pem, broker_pem = make_certificates(days)
        ca_file.write_bytes(ca_pem)
        _write_private(keystore, broker_pem)
        for name, password in chosen.items():
            _write_private(directory / f"{name}.password", password.encode())
        return cls(directory, ca_file, keystore, chosen)

    def password_file(self, user: str) -> Path:
        return self.directory / f"{user}.password"

    def properties(self) -> dict[str, str]:
        """server.properties entries of the listener (the port goes in ``listeners``)."""
        prefix = f"listener.name.{LISTENER.lower()}"
        mech = MECHANISM.lower()
        return {
            f"{prefix}.sasl.enabled.mechanisms": MECHANISM,
            f"{prefix}.{mech}.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            f"{prefix}.ssl.keystore.type": "PEM",
            f"{prefix}.ssl.keystore.location": str(self.keystore),
            f"{prefix}.ssl.truststore.type": "PEM",
            f"{prefix}.ssl.truststore.location": str(self.ca_file),
            f"{prefix}.ssl.client.auth": "none",
        }

    def format_args(self) -> list[str]:
        """``kafka-storage format`` arguments that create the SCRAM credentials."""
        args = []
        for name, password in self.users.items():
            args += ["--add-scram", f"{MECHANISM}=[name={name},password={password}]"]
        return args

    def redact(self, text: str) -> str:
        """``text`` with every password replaced by ``***``."""
        for password in self.users.values():
            text = text.replace(password, "***")
        return text

    def client_config(self, user: str | None = None) -> dict[str, Any]:
        """kafka-python/aiokafka options for ``user`` (default: the first) on this listener."""
        import ssl

        name = user or next(iter(self.users))
        return {
            "security_protocol": LISTENER,
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": name,
            "sasl_plain_password": self.users[name],
            "ssl_context": ssl.create_default_context(cafile=str(self.ca_file)),
        }

    def describe(self) -> dict[str, Any]:
        """What the state file records: paths and user names, never a password."""
        return {
            "protocol": LISTENER,
            "sasl_mechanism": MECHANISM,
            "ca_file": str(self.ca_file),
            "users": {name: str(self.password_file(name)) for name in self.users},
        }


def check_users(users: Mapping[str, str]) -> None:
    """SCRAM user names and passwords ``kafka-storage --add-scram`` can carry unquoted."""
    for name, password in users.items():
        if not _SAFE.fullmatch(name):
            raise SecureListenerError(
                f"SCRAM user name {name!r} is not usable: use 1-128 of A-Z a-z 0-9 . _ ~ + / -"
            )
        if not _SAFE.fullmatch(password) or len(password) < 8:
            raise SecureListenerError(
                f"the password of SCRAM user {name!r} is not usable: use 8-128 of "
                "A-Z a-z 0-9 . _ ~ + / - (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(24))'`)"
            )


def make_certificates(days: int = CERT_DAYS) -> tuple[bytes, bytes]:
    """(CA certificate, broker key + certificate chain), PEM, for 127.0.0.1 and localhost."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wardstream local CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    sans = [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
    cert = (
        _builder(name, ca_name, key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ca_pem = ca.public_bytes(pem)
    return ca_pem, key_pem + cert.public_bytes(pem) + ca_pem


def _builder(
    subject: x509.Name, issuer: x509.Name, public: Any, now: datetime, days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _write_private(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
