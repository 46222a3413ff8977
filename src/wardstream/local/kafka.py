"""A local Apache Kafka in KRaft mode on 127.0.0.1, for the demo and the tests.

``LocalKafka(home).start()`` installs the jars (once), formats a KRaft log
directory per node and starts each node as ``java kafka.Kafka server.properties``
in its own process group, then waits until the cluster answers a metadata
request. ``stop()`` ends every JVM it started. One node is a combined
broker+controller; ``nodes=3`` makes a three-node cluster with static voters,
replication factor 3 and ``min.insync.replicas=2`` for fault tests.

``security="sasl_ssl"`` adds a second listener per node, SASL_SSL with
SCRAM-SHA-512 users and a throwaway CA (see ``local/tls.py``; each node's ports,
listeners and server.properties are planned in ``local/nodes.py``): clients under
test use ``secure_bootstrap_servers`` and trust ``ca_file``; the PLAINTEXT
listener stays for inter-broker, controller and admin traffic on loopback.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from wardstream.kafka.errors import BrokerNotReady, LocalKafkaError, PortTaken
from wardstream.local.install import KAFKA_VERSION, java_executable, kafka_libs
from wardstream.local.nodes import (
    Node,
    format_args,
    free_port,
    plan_nodes,
    port_in_use,
    write_config,
)
from wardstream.local.tls import LISTENER, SecureListener, SecureListenerError

__all__ = [
    "HEAP",
    "LocalKafka",
    "alive_pids",
    "format_args",
    "free_port",
    "metadata_ok",
    "read_state",
    "stop_from_state",
]

HEAP = ("-Xms256m", "-Xmx512m")


class LocalKafka:
    """Apache Kafka nodes on loopback, owned by this object (or by its state file)."""

    def __init__(
        self,
        home: Path,
        *,
        nodes: int = 1,
        port: int | None = None,
        version: str = KAFKA_VERSION,
        security: Literal["plaintext", "sasl_ssl"] = "plaintext",
        scram_users: Mapping[str, str] | None = None,
    ) -> None:
        if nodes not in (1, 3):
            raise LocalKafkaError(f"nodes must be 1 or 3, not {nodes}")
        if security not in ("plaintext", "sasl_ssl"):
            raise LocalKafkaError(f"security must be plaintext or sasl_ssl, not {security!r}")
        if scram_users and security != "sasl_ssl":
            raise LocalKafkaError("scram_users need security='sasl_ssl' (the SCRAM listener)")
        self.home = home
        self.version = version
        self.security = security
        self._scram_users = dict(scram_users or {})
        self._node_count = nodes
        self._first_port = port
        self.nodes: list[Node] = []
        self.secure: SecureListener | None = None
        """TLS files and SCRAM users of the SASL_SSL listener, once started with it."""
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    # -- lifecycle ------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def secure_bootstrap_servers(self) -> str | None:
        """The SASL_SSL listeners (None without ``security="sasl_ssl"``)."""
        found = [n.secure_bootstrap for n in self.nodes if n.secure_bootstrap]
        return ",".join(found) if found else None

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate clients of the SASL_SSL listener trust (``kafka.ssl_cafile``)."""
        return self.secure.ca_file if self.secure else None

    def start(self, timeout: float = 60.0) -> str:
        libs = kafka_libs(self.version)
        self.home.mkdir(parents=True, exist_ok=True)
        if self.security == "sasl_ssl":
            self.secure = SecureListener.create(self.home / "secure", self._scram_users or None)
        self.nodes = self._plan_nodes()
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        for node in self.nodes:
            self._write_config(node)
            self._format(libs, node, cluster_id)
        for node in self.nodes:
            self._spawn(libs, node)
        self._write_state()
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self.bootstrap_servers

    def stop(self, timeout: float = 20.0) -> None:
        for node_id in list(self._procs):
            self.stop_node(node_id, timeout=timeout)
        (self.home / "state.json").unlink(missing_ok=True)

    def stop_node(self, node_id: int, timeout: float = 20.0, *, hard: bool = False) -> None:
        proc = self._procs.pop(node_id, None)
        if proc is not None:
            _terminate_group(proc.pid, timeout, hard=hard)
            proc.wait()

    def start_node(self, node_id: int) -> None:
        node = next(n for n in self.nodes if n.node_id == node_id)
        self._spawn(kafka_libs(self.version), node)
        self._write_state()

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- readiness ------------------------------------------------------------------
    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node_id, proc in self._procs.items():
                if proc.poll() is not None:
                    node = next(n for n in self.nodes if n.node_id == node_id)
                    raise BrokerNotReady(time.monotonic() - deadline + timeout, _tail(node))
            if metadata_ok(self.bootstrap_servers, len(self.nodes)):
                self._wait_secure(deadline)
                return
            time.sleep(0.25)
        raise BrokerNotReady(timeout, _tail(self.nodes[0]))

    def _wait_secure(self, deadline: float) -> None:
        """Until a SCRAM user gets metadata over TLS from the SASL_SSL listener."""
        secure, bootstrap = self.secure, self.secure_bootstrap_servers
        if secure is None or bootstrap is None:
            return
        options = {**secure.client_config(), "bootstrap_timeout_ms": 2000}  # not 30 s a try
        while True:
            if metadata_ok(bootstrap, len(self.nodes), security=options):
                return
            if time.monotonic() > deadline:
                raise SecureListenerError(
                    f"the broker answers on PLAINTEXT but not on its {LISTENER} listener "
                    f"{bootstrap} (TLS with {secure.ca_file}, SCRAM user "
                    f"{next(iter(secure.users))!r}). Its log ends with:\n"
                    f"{secure.redact(_tail(self.nodes[0]))}\n"
                    "Check that Java supports EC keys and TLS 1.2+, then `wardstream kafka "
                    "stop --wipe` and start again."
                )
            time.sleep(0.25)

    # -- internals ------------------------------------------------------------------
    def _plan_nodes(self) -> list[Node]:
        secure = self.secure is not None
        return plan_nodes(self.home, self._node_count, self._first_port, secure=secure)

    def _write_config(self, node: Node) -> None:
        write_config(node, self.nodes, self.secure)

    def _java(self, libs: Path, node: Node, main: str, *args: str) -> list[str]:
        log4j = f"-Dlog4j.configuration=file:{node.directory / 'log4j.properties'}"
        return [
            java_executable(),
            *HEAP,
            "-Djava.awt.headless=true",
            log4j,
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def _format(self, libs: Path, node: Node, cluster_id: str) -> None:
        props = str(node.directory / "server.properties")
        extra = self.secure.format_args() if self.secure else []
        args = format_args(cluster_id, props, extra)
        cmd = self._java(libs, node, "kafka.tools.StorageTool", *args)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        if proc.returncode != 0:
            said = (proc.stdout + proc.stderr).strip()[-2000:]
            raise LocalKafkaError(
                f"Formatting the KRaft log directory {node.directory} failed: "
                f"{self.secure.redact(said) if self.secure else said}\n"
                "Remove the directory (`wardstream kafka stop --wipe`) and start again."
            )

    def _spawn(self, libs: Path, node: Node) -> None:
        for port in node.ports:
            if port_in_use(port):
                raise PortTaken(port)
        cmd = self._java(libs, node, "kafka.Kafka", str(node.directory / "server.properties"))
        out = open(node.directory / "broker.out", "ab")  # noqa: SIM115 - handed to the child
        self._procs[node.node_id] = subprocess.Popen(  # noqa: S603
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()

    def _write_state(self) -> None:
        state: dict[str, Any] = {
            "bootstrap": self.bootstrap_servers,
            "pids": [p.pid for p in self._procs.values()],
            "version": self.version,
        }
        if self.secure is not None:
            state["secure_bootstrap"] = self.secure_bootstrap_servers
            state["secure"] = self.secure.describe()  # paths and user names, no password
        (self.home / "state.json").write_text(json.dumps(state))


def metadata_ok(
    bootstrap: str,
    expected_brokers: int = 1,
    timeout_ms: int = 2000,
    security: Mapping[str, Any] | None = None,
) -> bool:
    """True when the cluster answers a metadata request naming all its brokers.

    ``security`` adds kafka-python options (SASL, ``ssl_context``) for a secure listener.
    """
    from kafka import KafkaAdminClient  # imported late: the CLI's --help should not pay for it
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, **(security or {})
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        cluster = admin.describe_cluster()
        return len(cluster.get("brokers", [])) >= expected_brokers
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def read_state(home: Path) -> dict[str, Any] | None:
    """The state file `wardstream kafka start` writes: bootstrap, pids, version and, in
    secure mode, secure_bootstrap and secure (protocol, mechanism, ca_file, users' password
    files)."""
    path = home / "state.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def alive_pids(pids: Iterator[int] | list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.append(pid)
    return alive


def stop_from_state(home: Path, timeout: float = 20.0) -> int:
    """Stop the nodes a state file names (for `wardstream kafka stop`); return how many ran."""
    state = read_state(home)
    if state is None:
        return 0
    pids = [int(p) for p in state.get("pids", [])]
    running = alive_pids(pids)
    for pid in running:
        _terminate_group(pid, timeout)
    (home / "state.json").unlink(missing_ok=True)
    return len(running)


def _terminate_group(pid: int, timeout: float, *, hard: bool = False) -> None:
    sig = signal.SIGKILL if hard else signal.SIGTERM
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive_pids([pid]) or _is_zombie(pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def _tail(node: Node, lines: int = 30) -> str:
    texts = []
    for path in (node.directory / "broker.out", node.log_file):
        if path.exists():
            texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
    return "\n".join(texts[-lines:]) or "(the broker wrote no log)"
