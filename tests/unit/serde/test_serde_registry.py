"""The HTTP schema-registry client against a stub Confluent REST API on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.unit.serde.test_serde_codecs import ORIGIN, PING, ping

from wardstream.serde import (
    ConfluentAvroCodec,
    HttpSchemaRegistry,
    RegistryError,
    RegistryUnavailable,
    SchemaLoadError,
    SchemaNotFound,
    UnknownSchemaId,
)

AUTH = "Basic dXNlcjpwYXNz"  # user:pass


class Stub(BaseHTTPRequestHandler):
    """Just enough of the Confluent schema-registry API."""

    schemas: dict[int, dict[str, Any]] = {}
    seen: list[tuple[str, str, str | None]] = []

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.seen.append(("GET", self.path, self.headers.get("Authorization")))
        if self.path == "/api/schemas/ids/500":
            return self._answer(500, {"error_code": 50001, "message": "store down"})
        if self.path == "/api/schemas/ids/7":
            return self._answer(200, {"schema": "syntax = 'proto3';", "schemaType": "PROTOBUF"})
        schema_id = int(self.path.rsplit("/", 1)[-1])
        if schema_id in self.schemas:
            return self._answer(200, self.schemas[schema_id])
        return self._answer(404, {"error_code": 40403, "message": "Schema not found"})

    def do_POST(self) -> None:  # noqa: N802
        self.seen.append(("POST", self.path, self.headers.get("Content-Type")))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if "bad-subject" in self.path:
            return self._answer(422, {"error_code": 42201, "message": "Invalid schema"})
        schema_id = len(self.schemas) + 1
        self.schemas[schema_id] = {"schema": body["schema"]}
        return self._answer(200, {"id": schema_id})


@pytest.fixture
def server() -> Iterator[str]:
    Stub.schemas, Stub.seen = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/api"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_register_then_read_through_the_codec(server: str) -> None:
    registry = HttpSchemaRegistry(server + "/", auth=("user", "pass"))
    codec = ConfluentAvroCodec(registry, schema=PING, subject="app.location value")
    data = codec.encode(ping())
    reader = ConfluentAvroCodec(HttpSchemaRegistry(server, auth=("user", "pass")), schema=PING)
    assert reader.decode(data, origin=ORIGIN) == reader.decode(data, origin=ORIGIN) == ping()
    posts = [s for s in Stub.seen if s[0] == "POST"]
    assert posts == [
        (
            "POST",
            "/api/subjects/app.location%20value/versions?normalize=False",
            "application/vnd.schemaregistry.v1+json",
        )
    ]
    gets = [s for s in Stub.seen if s[0] == "GET"]
    assert gets == [("GET", "/api/schemas/ids/1", AUTH)]  # looked up once, with auth


def test_unknown_id(server: str) -> None:
    registry = HttpSchemaRegistry(server)
    with pytest.raises(SchemaNotFound) as info:
        registry.get_schema(42)
    assert (info.value.status, info.value.code) == (404, 40403)
    with pytest.raises(UnknownSchemaId):
        ConfluentAvroCodec(registry).decode(b"\x00\x00\x00\x00\x2a\x02", origin=ORIGIN)


def test_server_errors_are_registry_errors(server: str) -> None:
    registry = HttpSchemaRegistry(server, retry_after_s=0)
    with pytest.raises(RegistryUnavailable, match="store down"):
        registry.get_schema(500)
    with pytest.raises(SchemaLoadError, match="PROTOBUF"):
        registry.get_schema(7)
    with pytest.raises(RegistryError, match="Invalid schema") as info:
        registry.register("bad-subject", PING.text)
    assert info.value.code == 42201


def test_unreachable_registry() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = HttpSchemaRegistry(f"http://user:secret@127.0.0.1:{port}", timeout=2)
    with pytest.raises(RegistryUnavailable) as info:
        registry.get_schema(1)
    assert "secret" not in str(info.value) and "secret" not in repr(registry)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "localhost:8081", "ftp://x"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(RegistryError, match="http"):
        HttpSchemaRegistry(url)
