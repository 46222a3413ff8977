"""The schema-registry client keeps its credentials on https, follows no redirect, and
remembers unknown schema ids for a while instead of asking for every event."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from wardstream.serde import HttpSchemaRegistry, RegistryError, SchemaNotFound


class Recorder(BaseHTTPRequestHandler):
    """Redirects /api/...; /elsewhere records the Authorization it gets; ids 404."""

    seen: list[tuple[str, str | None]] = []
    target = ""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.seen.append((self.path, self.headers.get("Authorization")))
        if self.path.startswith("/moved"):
            self.send_response(307)
            self.send_header("Location", self.target + "/elsewhere" + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"error_code": 40403, "message": "Schema not found"}'
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.target = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Recorder.target
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@registry.example:8081",
        "http://registry.example:8081",
        "http://10.1.2.3:8081",
    ],
)
def test_basic_auth_over_plain_http_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(RegistryError, match="https://") as caught:
        HttpSchemaRegistry(url, auth=("user", "secret"))
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@registry.example:8081",
        "http://user:secret@127.0.0.1:8081",
        "http://user:secret@localhost:8081",
        "http://registry.example:8081",  # no credentials: nothing to leak
    ],
)
def test_https_loopback_or_no_credentials_are_accepted(url: str) -> None:
    registry = HttpSchemaRegistry(url)
    assert "secret" not in registry.url, "the credentials leave the URL (sent as a header)"
    assert registry.url.endswith(":8081")


def test_a_redirect_is_not_followed_and_the_credentials_stay(server: str) -> None:
    registry = HttpSchemaRegistry(server + "/moved", auth=("user", "secret"))
    with pytest.raises(RegistryError, match="redirect") as caught:
        registry.get_schema(5)
    assert caught.value.status == 307
    assert [path for path, _ in Recorder.seen] == ["/moved/schemas/ids/5"]
    assert not any(path.startswith("/elsewhere") for path, _ in Recorder.seen)


def test_an_unknown_id_is_remembered_as_a_miss_until_the_ttl_passes(server: str) -> None:
    now = [100.0]
    registry = HttpSchemaRegistry(server, miss_ttl_s=30, clock=lambda: now[0])
    for _ in range(50):
        with pytest.raises(SchemaNotFound):
            registry.get_schema(9)
    assert len(Recorder.seen) == 1
    now[0] += 30
    with pytest.raises(SchemaNotFound):
        registry.get_schema(9)
    assert len(Recorder.seen) == 2


def test_a_zero_ttl_asks_every_time(server: str) -> None:
    registry = HttpSchemaRegistry(server, miss_ttl_s=0)
    for _ in range(3):
        with pytest.raises(SchemaNotFound):
            registry.get_schema(9)
    assert len(Recorder.seen) == 3
