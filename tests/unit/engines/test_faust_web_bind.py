"""The Faust engine's /health and /metrics listen only where worker.web_host says."""

from __future__ import annotations

from pathlib import Path

import pytest

from wardstream.engines.faust.clients import make_app


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.7", "0.0.0.0"])  # noqa: S104
def test_the_web_server_binds_the_configured_host(host: str, tmp_path: Path) -> None:
    app = make_app(
        "t",
        "b:9092",
        web_port=6066,
        web_host=host,
        datadir=str(tmp_path),
        guarantee="at_least_once",
        security={},
        batch_size=10,
    )
    assert app.conf.web_bind == host
    assert app.conf.web_host == host
