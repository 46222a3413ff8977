"""Client security options, the launcher's TLS material and SCRAM users, and secret hygiene."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from wardstream.cli.main import app
from wardstream.config.secrets import SecretUnavailable
from wardstream.config.settings import KafkaSettings
from wardstream.kafka.errors import LocalKafkaError
from wardstream.kafka.security import (
    MASK,
    KafkaAccessError,
    MaskedStr,
    _refused,
    librdkafka_options,
    preflight,
    python_options,
)
from wardstream.local.kafka import LocalKafka
from wardstream.local.tls import SecureListener, SecureListenerError, make_certificates

SECRET = "s3cret-Pa55word-xyz"  # noqa: S105 - a test password


def kafka(protocol: str, cafile: Path | None = None, **kw: Any) -> KafkaSettings:
    sasl = {}
    if protocol.startswith("SASL") or kw.pop("sasl", False):
        sasl = {"sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "u", "sasl_password": SECRET}
    return KafkaSettings(
        bootstrap_servers="b:9093", security_protocol=protocol, ssl_cafile=cafile, **sasl, **kw
    )


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(CA file, broker key + chain file)."""
    root = tmp_path_factory.mktemp("tls")
    ca_pem, broker_pem = make_certificates()
    (root / "ca.pem").write_bytes(ca_pem)
    (root / "broker.pem").write_bytes(broker_pem)
    return root / "ca.pem", root / "broker.pem"


# -- client options -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("protocol", "sasl", "tls"),
    [
        ("PLAINTEXT", False, False),
        ("SASL_PLAINTEXT", True, False),
        ("SSL", False, True),
        ("SASL_SSL", True, True),
    ],
)
def test_options_follow_the_protocol(
    protocol: str, sasl: bool, tls: bool, ca: tuple[Path, Path]
) -> None:
    k = kafka(protocol, ca[0] if tls else None)
    py, rd = python_options(k), librdkafka_options(k)
    assert py["security_protocol"] == protocol and rd["security.protocol"] == protocol.lower()
    assert ("sasl_plain_password" in py) is sasl and ("sasl.password" in rd) is sasl
    assert isinstance(py.get("ssl_context"), ssl.SSLContext) is tls
    assert ("ssl.ca.location" in rd) is tls
    if sasl:
        assert py["sasl_mechanism"] == rd["sasl.mechanism"] == "SCRAM-SHA-512"
        assert py["sasl_plain_password"] == rd["sasl.password"] == SECRET


def test_sasl_fields_are_not_sent_to_a_plaintext_listener() -> None:
    k = kafka("PLAINTEXT", sasl=True)
    assert "sasl_mechanism" not in python_options(k)
    assert "sasl.mechanism" not in librdkafka_options(k)


def test_tls_without_a_ca_file_still_verifies_with_the_system_cas() -> None:
    context = python_options(kafka("SASL_SSL"))["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert "ssl.ca.location" not in librdkafka_options(kafka("SASL_SSL"))


def test_password_is_masked_wherever_options_are_printed() -> None:
    for options in (python_options(kafka("SASL_PLAINTEXT")), librdkafka_options(kafka("SASL_SSL"))):
        assert SECRET not in repr(options) and SECRET not in str(options)
        assert MASK in repr(options)
    masked = MaskedStr(SECRET)
    assert masked == SECRET and masked.encode() == SECRET.encode() and f"{masked}" == SECRET


@pytest.mark.parametrize("content", [None, b"not a certificate\n"])
def test_an_unusable_ca_file_is_named_with_the_fix(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KafkaAccessError, match="kafka.ssl_cafile .*PEM file of the CA"):
        python_options(kafka("SSL", path))
    with pytest.raises(KafkaAccessError):
        preflight(kafka("SSL", path))


def file_kafka(protocol: str, password_file: Path, **kw: Any) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers="b:9093",
        security_protocol=protocol,
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="u",
        sasl_password_file=password_file,
        **kw,
    )


def test_the_password_file_is_read_trimmed_into_every_clients_options(tmp_path: Path) -> None:
    secret_file = tmp_path / "kafka.password"
    secret_file.write_text(f"  {SECRET}\n")
    k = file_kafka("SASL_PLAINTEXT", secret_file)
    py, rd = python_options(k), librdkafka_options(k)
    assert py["sasl_plain_password"] == rd["sasl.password"] == SECRET
    assert isinstance(py["sasl_plain_password"], MaskedStr)
    assert SECRET not in repr(py) and SECRET not in repr(rd)
    assert SECRET not in repr(k) and SECRET not in str(k.model_dump(mode="json"))


def test_the_password_file_is_ignored_without_sasl(tmp_path: Path) -> None:
    k = file_kafka("PLAINTEXT", tmp_path / "absent")
    assert "sasl_plain_password" not in python_options(k)
    assert "sasl.password" not in librdkafka_options(k)


@pytest.mark.parametrize("content", [None, "\n  \n"])
def test_an_unreadable_or_empty_password_file_is_named_with_the_fix(
    tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "kafka.password"
    if content is not None:
        path.write_text(content)
    k = file_kafka("SASL_PLAINTEXT", path)
    for build in (python_options, librdkafka_options, preflight):
        with pytest.raises(SecretUnavailable, match=f"kafka.sasl_password_file {path}"):
            build(k)


@pytest.mark.parametrize(
    ("password", "file", "match"),
    [
        (SECRET, True, "both sasl_password and sasl_password_file"),
        (None, False, "the password is missing"),
        ("", False, "the password is missing"),
    ],
)
def test_sasl_needs_exactly_one_password_source(
    tmp_path: Path, password: str | None, file: bool, match: str
) -> None:
    kw: dict[str, Any] = {"sasl_password_file": tmp_path / "p"} if file else {}
    if password is not None:
        kw["sasl_password"] = password
    with pytest.raises(ValueError, match=match) as caught:
        KafkaSettings(
            security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="u", **kw
        )
    assert SECRET not in caught.value.errors()[0]["msg"]  # (pydantic's own str shows input)


def test_an_empty_password_variable_gives_way_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kafka.password"
    path.write_text(SECRET)
    k = file_kafka("SASL_SSL", path, sasl_password="")
    assert librdkafka_options(k)["sasl.password"] == SECRET


def test_a_refused_login_names_the_password_file_never_the_password(tmp_path: Path) -> None:
    path = tmp_path / "kafka.password"
    path.write_text(SECRET)
    message = str(_refused(file_kafka("SASL_SSL", path), False, f"bad {SECRET}", SECRET))
    assert f"kafka.sasl_password_file ({path})" in message and SECRET not in message
    inline = str(_refused(kafka("SASL_SSL"), False, "refused", SECRET))
    assert "WARDSTREAM__KAFKA__SASL_PASSWORD)" in inline


def test_preflight_does_nothing_for_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    """No client is made for PLAINTEXT (so no connection and no wait); SASL makes one."""
    import confluent_kafka.admin

    made: list[dict[str, Any]] = []

    class Refused(Exception):
        pass

    def admin_client(config: dict[str, Any]) -> None:
        made.append(config)
        raise Refused

    monkeypatch.setattr(confluent_kafka.admin, "AdminClient", admin_client)
    preflight(kafka("PLAINTEXT"), timeout=0.01)  # no broker at b:9093
    assert made == []
    with pytest.raises(Refused):  # the stand-in is the client preflight would use
        preflight(kafka("SASL_PLAINTEXT"), timeout=0.01)
    assert len(made) == 1


def test_faust_gets_sasl_ssl_credentials_without_showing_the_password(
    ca: tuple[Path, Path], tmp_path: Path
) -> None:
    import faust

    from wardstream.engines.faust.clients import make_app

    options = python_options(kafka("SASL_SSL", ca[0]))
    faust_app = make_app(
        "t",
        "b:9093",
        web_port=0,
        datadir=str(tmp_path),
        guarantee="at_least_once",
        security=options,
        batch_size=10,
    )
    credentials = faust_app.conf.broker_credentials
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert SECRET not in repr(credentials)


# -- the launcher's TLS material and users ----------------------------------------------
def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> bytes:
    """Connect ``client`` to ``server`` on loopback as 127.0.0.1; what the server sent."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass  # the client refused us

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    return tls.recv(2)
        finally:
            thread.join(5)


def test_certificates_verify_for_127_0_0_1_in_a_real_handshake(ca: tuple[Path, Path]) -> None:
    ca_file, broker_pem = ca
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(broker_pem)  # the PEM keystore: key, certificate, CA
    assert handshake(server, ssl.create_default_context(cafile=str(ca_file))) == b"ok"
    other_ca, _ = make_certificates()
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(server, ssl.create_default_context(cadata=other_ca.decode()))


def test_secure_listener_files_and_secrecy(tmp_path: Path) -> None:
    listener = SecureListener.create(tmp_path / "secure", {"alice": SECRET})
    assert listener.ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" in listener.keystore.read_bytes()
    for private in (listener.keystore, listener.password_file("alice")):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert listener.password_file("alice").read_text() == SECRET
    assert SECRET not in repr(listener) and SECRET not in str(listener.describe())
    assert listener.format_args() == [
        "--add-scram",
        f"SCRAM-SHA-512=[name=alice,password={SECRET}]",
    ]
    assert listener.redact(f"bad: {SECRET}!") == "bad: ***!"
    props = listener.properties()
    assert props["listener.name.sasl_ssl.ssl.keystore.type"] == "PEM"
    assert props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"


def test_secure_listener_makes_a_random_password_by_default(tmp_path: Path) -> None:
    one = SecureListener.create(tmp_path / "a")
    two = SecureListener.create(tmp_path / "b")
    assert list(one.users) == ["wardstream"]
    assert one.users["wardstream"] != two.users["wardstream"]


@pytest.mark.parametrize(
    ("users", "match"),
    [
        ({"al ice": SECRET}, "user name 'al ice'"),
        ({"alice": "short"}, "password of SCRAM user 'alice'"),
        ({"alice": "has,comma]" + SECRET}, "password of SCRAM user 'alice'"),
    ],
)
def test_unusable_scram_users_are_refused_without_echoing_the_password(
    tmp_path: Path, users: dict[str, str], match: str
) -> None:
    with pytest.raises(SecureListenerError, match=match) as caught:
        SecureListener.create(tmp_path, users)
    assert list(users.values())[0] not in str(caught.value)


def test_secure_broker_config_has_both_listeners(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path, security="sasl_ssl", scram_users={"alice": SECRET})
    broker.secure = SecureListener.create(tmp_path / "secure", {"alice": SECRET})
    broker.nodes = broker._plan_nodes()
    broker._write_config(broker.nodes[0])
    text = (broker.nodes[0].directory / "server.properties").read_text()
    node = broker.nodes[0]
    assert f"listeners=PLAINTEXT://{node.bootstrap},CONTROLLER://" in text
    assert f"SASL_SSL://{node.secure_bootstrap}" in text
    assert "inter.broker.listener.name=PLAINTEXT" in text
    assert (
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL"
        in text
    )  # noqa: E501
    assert SECRET not in text
    assert broker.secure_bootstrap_servers == node.secure_bootstrap
    assert broker.ca_file == tmp_path / "secure" / "ca.pem"


def test_launcher_refuses_users_without_the_secure_listener(tmp_path: Path) -> None:
    with pytest.raises(LocalKafkaError, match="scram_users need security='sasl_ssl'"):
        LocalKafka(tmp_path, scram_users={"alice": SECRET})
    plain = LocalKafka(tmp_path)
    assert plain.secure_bootstrap_servers is None and plain.ca_file is None


# -- the command line -------------------------------------------------------------------
def test_check_never_prints_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "wardstream.yaml"
    config.write_text("kafka:\n  security_protocol: SASL_SSL\n  sasl_mechanism: SCRAM-SHA-512\n")
    monkeypatch.setenv("WARDSTREAM__KAFKA__SASL_PASSWORD", SECRET)  # but no user name
    for args in (["check", "-c", str(config)], ["check", "-c", str(config), "--json"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1
        assert "sasl_username" in result.output and SECRET not in result.output


def test_kafka_start_offers_secure_mode() -> None:
    result = CliRunner().invoke(app, ["kafka", "start", "--help"])
    assert result.exit_code == 0 and "--secure" in result.output


def test_kafka_start_secure_names_the_password_file_not_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wardstream.cli.kafka_cmd import _say_secure

    broker = LocalKafka(tmp_path, security="sasl_ssl", scram_users={"alice": SECRET})
    broker.secure = SecureListener.create(tmp_path / "secure", {"alice": SECRET})
    broker.nodes = broker._plan_nodes()
    _say_secure(broker)
    printed = capsys.readouterr().err
    path = broker.secure.password_file("alice")
    assert f"export WARDSTREAM__KAFKA__SASL_PASSWORD_FILE={path}" in printed
    assert SECRET not in printed and "$(cat" not in printed


def test_settings_never_show_the_password() -> None:
    k = kafka("SASL_SSL")
    assert SECRET not in repr(k) and SECRET not in str(k.model_dump(mode="json"))
    assert isinstance(k.sasl_password, SecretStr)
