"""``KafkaSettings`` as each Kafka library's connection options, and a login check.

One place turns ``kafka.security_protocol``, ``sasl_*`` and ``ssl_*`` into
the options of kafka-python and aiokafka (which share their names; Faust takes
them as credentials, see ``engines/faust/clients.make_app``) and of librdkafka
(confluent-kafka, the fast engine). SASL options are set only for a SASL_*
protocol and a TLS context only for SSL/SASL_SSL, where one is always built
(from ``ssl_cafile``, else the system's CAs): aiokafka and Faust would otherwise
quietly fall back to plaintext or refuse to start.

The password is ``sasl_password`` (best from the environment) or the trimmed
content of ``sasl_password_file`` (a mounted secret), read when the options are
built. It is handed over as ``MaskedStr``, a str whose repr is
``'**********'``: a client that logs its configuration (kafka-python's admin
client does, at DEBUG) shows no secret. ``preflight`` logs in once with
librdkafka, so a wrong password or CA stops start-up within a second with a
message that names the fix, instead of a client retrying until its bootstrap
timeout and then blaming the network.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

from wardstream.config.secrets import read_secret
from wardstream.config.settings import KafkaSettings
from wardstream.errors import WardstreamError

MASK = "**********"
_PASSWORD_ENV = "WARDSTREAM__KAFKA__SASL_PASSWORD"  # noqa: S105 - a variable name


class KafkaAccessError(WardstreamError):
    """The brokers refused this client's TLS handshake or login; the message says what to fix."""


class MaskedStr(str):
    """A secret that works as a str but whose repr (and so any dict it sits in) is masked."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


def is_tls(kafka: KafkaSettings) -> bool:
    return kafka.security_protocol in ("SSL", "SASL_SSL")


def is_sasl(kafka: KafkaSettings) -> bool:
    return kafka.security_protocol.startswith("SASL")


def password(kafka: KafkaSettings) -> MaskedStr | None:
    """The SASL password, inline or read from ``sasl_password_file``; None when neither is set.

    ``SecretUnavailable`` (naming the setting and the file) when the file cannot be read.
    """
    inline = kafka.sasl_password
    if inline is not None and not inline.get_secret_value():
        inline = None  # an empty variable is no password: the file, if any, holds it
    if inline is None and kafka.sasl_password_file is None:
        return None
    missing = f"no SASL password: set kafka.sasl_password_file or {_PASSWORD_ENV}"
    return MaskedStr(read_secret(inline, kafka.sasl_password_file, "kafka.sasl_password", missing))


def password_source(kafka: KafkaSettings) -> str:
    """Where the password comes from, for messages that say what to fix (never the value)."""
    if kafka.sasl_password_file is not None and not kafka.sasl_password:
        return f"the password in kafka.sasl_password_file ({kafka.sasl_password_file})"
    return f"the password ({_PASSWORD_ENV})"


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    """A verifying TLS context: trusts ``ssl_cafile`` (else the system CAs), checks host names,
    and presents ``ssl_certfile`` (with ``ssl_keyfile``) when one is set."""
    cafile = kafka.ssl_cafile
    try:
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except OSError as exc:  # ssl.SSLError is an OSError too
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise KafkaAccessError(
            f"kafka.ssl_cafile {cafile} cannot be used ({reason}): point it (or "
            "WARDSTREAM__KAFKA__SSL_CAFILE) at the PEM file of the CA that signed the brokers' "
            "certificates"
        ) from None
    if kafka.ssl_certfile is not None:
        try:
            context.load_cert_chain(str(kafka.ssl_certfile), str(kafka.ssl_keyfile))
        except OSError as exc:
            reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
            raise KafkaAccessError(
                f"kafka.ssl_certfile {kafka.ssl_certfile} with ssl_keyfile cannot be used "
                f"({reason}): point them at the client certificate and its private key (PEM, "
                "unencrypted)"
            ) from None
    return context


def python_options(kafka: KafkaSettings) -> dict[str, Any]:
    """kafka-python / aiokafka options for the security protocol (no bootstrap servers)."""
    out: dict[str, Any] = {"security_protocol": kafka.security_protocol}
    if is_sasl(kafka):
        out["sasl_mechanism"] = kafka.sasl_mechanism
        out["sasl_plain_username"] = kafka.sasl_username
        out["sasl_plain_password"] = password(kafka)
    if is_tls(kafka):
        out["ssl_context"] = ssl_context(kafka)
    return out


def librdkafka_options(kafka: KafkaSettings) -> dict[str, Any]:
    """librdkafka (confluent-kafka) connection and security properties."""
    out: dict[str, Any] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "security.protocol": kafka.security_protocol.lower(),
    }
    if is_sasl(kafka):
        out["sasl.mechanism"] = kafka.sasl_mechanism
        out["sasl.username"] = kafka.sasl_username
        out["sasl.password"] = password(kafka)
    if is_tls(kafka) and kafka.ssl_cafile is not None:
        out["ssl.ca.location"] = str(kafka.ssl_cafile)
    if is_tls(kafka) and kafka.ssl_certfile is not None:
        out["ssl.certificate.location"] = str(kafka.ssl_certfile)
        out["ssl.key.location"] = str(kafka.ssl_keyfile)
    return out


def principal(kafka: KafkaSettings, os_user: str) -> str:
    """Who the brokers authenticate this client as, for operator records.

    ``sasl:<user>`` for a SASL_* protocol (the login ``preflight`` checked), else
    ``tls:<certificate subject>`` for TLS with a client certificate, else
    ``local:<os user> (unauthenticated)``: the OS user name is whatever ``USER`` or
    ``LOGNAME`` say, so it is recorded as unverified, never as a principal.
    """
    if is_sasl(kafka) and kafka.sasl_username:
        return f"sasl:{kafka.sasl_username}"
    if is_tls(kafka) and kafka.ssl_certfile is not None:
        return f"tls:{certificate_subject(kafka)}"
    return f"local:{os_user} (unauthenticated)"


def certificate_subject(kafka: KafkaSettings) -> str:
    """The RFC 4514 subject of ``ssl_certfile`` (the first certificate in the file)."""
    from cryptography import x509

    path = kafka.ssl_certfile
    try:
        data = path.read_bytes() if path is not None else b""
        return x509.load_pem_x509_certificate(data).subject.rfc4514_string()
    except (OSError, ValueError) as exc:
        raise KafkaAccessError(
            f"kafka.ssl_certfile {path} is not a readable PEM certificate "
            f"({type(exc).__name__}): point it at the client certificate"
        ) from None


def preflight(kafka: KafkaSettings, timeout: float = 10.0) -> None:
    """Connect once; raise KafkaAccessError if the brokers refuse the TLS handshake or login.

    Does nothing for PLAINTEXT. Brokers that do not answer at all are left to the
    clients, which wait for them (a worker may start before its brokers).
    """
    if kafka.security_protocol == "PLAINTEXT":
        return
    if is_tls(kafka):
        ssl_context(kafka)  # a bad ssl_cafile gets its own message, before librdkafka's
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    errors: list[KafkaError] = []
    config = {**librdkafka_options(kafka), "error_cb": errors.append, "log_level": 0}
    secret = config.get("sasl.password")
    admin = AdminClient(config)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=0.5)
            return
        except KafkaException:
            admin.poll(0)
        for error in errors:
            if error.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL):
                tls = error.code() == KafkaError._SSL
                raise _refused(kafka, tls, error.str(), secret) from None


def _refused(kafka: KafkaSettings, tls: bool, detail: str, secret: str | None) -> KafkaAccessError:
    said = detail.replace(secret, MASK) if secret else detail
    said = said.replace("[", "(").replace("]", ")")  # terminal markup
    where = f"Kafka at {kafka.bootstrap_servers}"
    if tls:
        fix = (
            "set kafka.ssl_cafile (WARDSTREAM__KAFKA__SSL_CAFILE) to the PEM file of the CA that "
            "signed the brokers' certificates, and connect by a host name or IP address the "
            "certificates name"
        )
        return KafkaAccessError(f"{where}: the TLS handshake failed ({said}); {fix}")
    return KafkaAccessError(
        f"{where} refused the {kafka.sasl_mechanism} login of user {kafka.sasl_username!r} "
        f"({said}); check kafka.sasl_username, {password_source(kafka)} and that the "
        "user exists with this mechanism on the cluster "
        "(kafka-configs.sh --describe --entity-type users)"
    )
