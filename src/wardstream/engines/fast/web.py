"""/livez, /readyz, /health and /metrics of the fast engine: a stdlib HTTP server in a
daemon thread.

The same JSON as the Faust engine's (``engines.health``): 200 when the probe
passes, 503 with the reason when it does not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Probe = Callable[[], tuple[bool, dict[str, Any]]]


class WebServer:
    def __init__(
        self,
        port: int,
        probes: Mapping[str, Probe],
        registry: CollectorRegistry,
        host: str = "127.0.0.1",
    ) -> None:
        """``probes``: path (``/livez``, ``/readyz``, ``/health``) -> probe."""
        handler = _handler(dict(probes), registry)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="wardstream-web", daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on (the one the OS chose, for port 0)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(probes: dict[str, Probe], registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    paths = ", ".join([*probes, "/metrics"])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            probe = probes.get(path)
            if probe is not None:
                ok, body = probe()
                self._reply(200 if ok else 503, "application/json", json.dumps(body).encode())
            elif path == "/metrics":
                self._reply(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            else:
                self._reply(404, "text/plain", f"not found: try {paths}\n".encode())

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            return

    return Handler
