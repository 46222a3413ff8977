"""The enforcer as a child process: `python -m wardstream worker -c <run config>`.

The worker gets a fresh random pseudonym key and quarantine master key in
its environment (never written to disk or printed) and its own session, so a
Ctrl-C in the terminal reaches the demo only, and the demo stops the worker in
order: SIGTERM (Faust flushes the producer and the pending SUMMARY records),
then SIGKILL after a grace period.

The caller's Kafka connection settings (``WARDSTREAM__KAFKA__SECURITY_PROTOCOL``,
``SASL_*``, ``SSL_CAFILE``, ...) are passed on, so against a secure cluster
(``--bootstrap``) the worker logs in as the demo does; relative file paths
(``SASL_PASSWORD_FILE``, ``SSL_CAFILE``) are made absolute, as the worker runs
in the run directory. Their values are handed over, never printed. The other
WARDSTREAM__* variables are not passed on: they would override the run's
configuration (bootstrap servers, topics, the worker's port, the fresh keys).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from wardstream.config.settings import KafkaSettings
from wardstream.demo.errors import DemoError

RUN_OWNED = frozenset({"bootstrap_servers", "partitions", "replication_factor"})
"""Kafka settings the run's config sets (``Workspace.write``): the caller's are not passed on."""
PASSED_ON = frozenset(
    f"WARDSTREAM__KAFKA__{name.upper()}"
    for name in KafkaSettings.model_fields
    if name not in RUN_OWNED
)
"""The caller's variables the worker gets: how to reach and log in to the caller's cluster."""


class WorkerProcess:
    def __init__(self, config: Path, web_port: int, log: Path) -> None:
        self.config, self.web_port, self.log = config, web_port, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 90.0) -> None:
        """Start the worker and wait until /health answers 200; DemoError if it does not."""
        env = worker_env(os.environ, Path.cwd())
        cmd = [sys.executable, "-m", "wardstream", "worker", "-c", str(self.config)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                cmd,
                cwd=self.config.parent,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if self.healthy():
                return
            time.sleep(0.3)
        raise DemoError(f"the worker did not become healthy within {timeout:.0f}s:\n{self.tail()}")

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise DemoError(f"the worker exited (code {self.proc.returncode}):\n{self.tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self._url("/health"), timeout=1) as r:  # noqa: S310
                return bool(r.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def metrics(self) -> str | None:
        """The Prometheus text of /metrics, or None when the worker does not answer."""
        try:
            with urllib.request.urlopen(self._url("/metrics"), timeout=2) as r:  # noqa: S310
                return str(r.read().decode())
        except (OSError, urllib.error.URLError):
            return None

    def _url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the worker's process group, SIGKILL it after ``grace`` seconds."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()

    def detach(self) -> int | None:
        """Leave the worker running after the demo exits (--keep); return its pid."""
        pid = self.pid
        self.proc = None
        return pid

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(the worker wrote no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def worker_env(caller: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """The worker's environment: ``caller``'s without its WARDSTREAM__* variables, except
    the Kafka connection settings (file paths made absolute against ``cwd``), plus a fresh
    pseudonym key and master key."""
    env = {k: v for k, v in caller.items() if not k.upper().startswith("WARDSTREAM__")}
    for name, value in caller.items():
        if name.upper() not in PASSED_ON:
            continue
        if name.upper().endswith("FILE") and value and not Path(value).is_absolute():
            value = str(cwd / value)
        env[name] = value
    env["WARDSTREAM__AUDIT__HMAC_KEY"] = secrets.token_hex(32)
    env["WARDSTREAM__LIFECYCLE__MASTER_KEY"] = secrets.token_hex(32)
    return env


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
