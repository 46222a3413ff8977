"""Worker settings that differ per replica."""

from __future__ import annotations

import socket

from wardstream.config.settings import WorkerSettings


def test_a_worker_without_a_name_takes_the_host_name() -> None:
    assert WorkerSettings().name == socket.gethostname()
    assert WorkerSettings(name="").name == socket.gethostname()
    assert WorkerSettings(name="eu-1").name == "eu-1"


def test_web_endpoints_stay_on_loopback_unless_asked() -> None:
    assert WorkerSettings().web_host == "127.0.0.1"
    assert WorkerSettings(web_host="0.0.0.0").web_host == "0.0.0.0"  # noqa: S104
