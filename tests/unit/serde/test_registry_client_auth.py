# ruff: noqa: S106 - fictional tokens for a local stub server
"""The registry client speaks bearer, OAuth client credentials and mutual TLS, keeps
every credential off plain http to other hosts, and stops asking a registry that
was just unreachable."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wardstream.serde import (
    HttpSchemaRegistry,
    OAuthClient,
    RegistryAccess,
    RegistryError,
    RegistryUnavailable,
)

SCHEMA = '{"type":"record","name":"Ping","fields":[{"name":"a","type":"int"}]}'


class Stub(BaseHTTPRequestHandler):
    """/token hands out an OAuth token; /schemas/ids/1 is a schema; records headers."""

    seen: list[tuple[str, str | None]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append((self.path, self.headers.get("Authorization")))
        self._answer({"schema": SCHEMA})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode()
        self.seen.append((f"{self.path}?{form}", self.headers.get("Authorization")))
        self._answer({"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600})


def _serve(context: ssl.SSLContext | None = None) -> Iterator[str]:
    Stub.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    scheme = "http"
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server() -> Iterator[str]:
    yield from _serve()


def test_a_bearer_token_is_sent_as_the_authorization(server: str) -> None:
    registry = HttpSchemaRegistry(server, access=RegistryAccess(bearer_token="tok-0"))
    assert registry.get_schema(1) == SCHEMA
    assert Stub.seen == [("/schemas/ids/1", "Bearer tok-0")]
    assert "tok-0" not in repr(registry)


def test_oauth_client_credentials_fetch_a_token_then_use_it(server: str) -> None:
    oauth = OAuthClient("wardstream", "client-secret", server + "/token", scope="registry")
    registry = HttpSchemaRegistry(server, access=RegistryAccess(oauth=oauth))
    assert registry.get_schema(1) == SCHEMA
    token_call, lookup = Stub.seen
    assert token_call[0].startswith("/token?") and "grant_type=client_credentials" in token_call[0]
    assert lookup == ("/schemas/ids/1", "Bearer tok-1")
    assert "client-secret" not in repr(registry)


@pytest.mark.parametrize(
    "access",
    [
        RegistryAccess(bearer_token="tok"),
        RegistryAccess(oauth=OAuthClient("id", "secret", "https://idp.example/token")),
        RegistryAccess(basic=("user", "secret")),
    ],
)
def test_no_credential_goes_over_plain_http_to_another_host(access: RegistryAccess) -> None:
    with pytest.raises(RegistryError, match="https://") as caught:
        HttpSchemaRegistry("http://registry.example:8081", access=access)
    assert "secret" not in str(caught.value) and "tok" not in str(caught.value)


def test_the_oauth_client_secret_goes_to_no_plain_http_token_endpoint() -> None:
    oauth = OAuthClient("id", "secret", "http://idp.example/token")
    with pytest.raises(RegistryError, match="token URL"):
        HttpSchemaRegistry("https://registry.example", access=RegistryAccess(oauth=oauth))


def test_two_kinds_of_credentials_are_refused() -> None:
    access = RegistryAccess(basic=("u", "p"), bearer_token="tok")
    with pytest.raises(RegistryError, match="keep one"):
        HttpSchemaRegistry("https://registry.example", access=access)


def test_a_client_certificate_needs_https() -> None:
    access = RegistryAccess(cert_file="/nonexistent/c.pem", key_file="/nonexistent/k.pem")
    with pytest.raises(RegistryError, match="only over TLS"):
        HttpSchemaRegistry("http://127.0.0.1:8081", access=access)


def test_an_unreachable_registry_is_not_asked_again_at_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    now = [0.0]
    registry = HttpSchemaRegistry(
        f"http://127.0.0.1:{port}", retry_after_s=5, clock=lambda: now[0], timeout=2
    )
    with pytest.raises(RegistryUnavailable, match="cannot reach"):
        registry.get_schema(1)
    with pytest.raises(RegistryUnavailable, match="not asked again before"):
        registry.get_schema(1)
    now[0] += 5
    with pytest.raises(RegistryUnavailable, match="cannot reach"):
        registry.get_schema(1)


# -- mutual TLS -----------------------------------------------------------------------
def _cert(
    name: str, key: Any, issuer: tuple[x509.Name, Any] | None, usage: Any
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), False)
    if name == "localhost":
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, key: Any, cert: x509.Certificate) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("test CA", ca_key, None, None)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name, usage in (("localhost", ExtendedKeyUsageOID.SERVER_AUTH),
                        ("wardstream", ExtendedKeyUsageOID.CLIENT_AUTH)):  # fmt: skip
        key = ec.generate_private_key(ec.SECP256R1())
        _pem(tmp_path / f"{name}.pem", key, _cert(name, key, (ca.subject, ca_key), usage))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=tmp_path / "ca.pem")
    context.load_cert_chain(tmp_path / "localhost.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    for url in _serve(context):
        yield url, tmp_path


def test_mutual_tls_with_a_client_certificate(tls_server: tuple[str, Path]) -> None:
    url, files = tls_server
    mine = str(files / "wardstream.pem")
    access = RegistryAccess(ca_file=str(files / "ca.pem"), cert_file=mine, key_file=mine)
    assert HttpSchemaRegistry(url, access=access).get_schema(1) == SCHEMA


def test_without_the_client_certificate_the_server_refuses(tls_server: tuple[str, Path]) -> None:
    url, files = tls_server
    registry = HttpSchemaRegistry(url, access=RegistryAccess(ca_file=str(files / "ca.pem")))
    with pytest.raises(RegistryUnavailable, match="TLS settings"):
        registry.get_schema(1)


def test_an_unknown_server_ca_is_refused(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    with pytest.raises(RegistryUnavailable, match="TLS settings"):
        HttpSchemaRegistry(url).get_schema(1)


class Refuser(BaseHTTPRequestHandler):
    calls = 0

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        Refuser.calls += 1
        body = b'{"error_code": 40101, "message": "Unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_refusing_registry_is_not_asked_again_at_once() -> None:
    Refuser.calls = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Refuser)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    now = [0.0]
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        registry = HttpSchemaRegistry(url, retry_after_s=5, clock=lambda: now[0])
        for _ in range(3):
            with pytest.raises(RegistryError, match="refused these credentials") as caught:
                registry.get_schema(1)
            assert not isinstance(caught.value, RegistryUnavailable)
        assert Refuser.calls == 1
        now[0] += 5
        with pytest.raises(RegistryError):
            registry.get_schema(1)
        assert Refuser.calls == 2
    finally:
        httpd.shutdown()
        httpd.server_close()
