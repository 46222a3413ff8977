"""What each local Kafka node runs with: ports, listeners and configuration files.

``plan_nodes`` picks each node's ports: PLAINTEXT (clients, inter-broker and
admin traffic on loopback), CONTROLLER and, for a secure cluster, a SASL_SSL
port. ``write_config`` writes the node's ``server.properties`` (its listeners,
the KRaft quorum, replication for one or three nodes and, for a secure
cluster, the SASL_SSL listener's TLS files and SCRAM settings from
``local/tls.py``) and ``log4j.properties``; ``format_args`` are the
``kafka-storage format`` arguments. Nothing here starts a process.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from wardstream.kafka.errors import PortTaken
from wardstream.local.tls import LISTENER, SecureListener

_LOG4J = """\
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
"""


@dataclass(frozen=True, slots=True)
class Node:
    node_id: int
    port: int
    controller_port: int
    directory: Path
    secure_port: int | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def secure_bootstrap(self) -> str | None:
        return None if self.secure_port is None else f"127.0.0.1:{self.secure_port}"

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(p for p in (self.port, self.controller_port, self.secure_port) if p)

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def plan_nodes(home: Path, count: int, first_port: int | None, *, secure: bool) -> list[Node]:
    """``count`` nodes under ``home``; the first on ``first_port`` if given (PortTaken if used)."""
    if first_port is not None and port_in_use(first_port):
        raise PortTaken(first_port)
    nodes = []
    for i in range(1, count + 1):
        port = first_port if (i == 1 and first_port) else free_port()
        secure_port = free_port() if secure else None
        nodes.append(Node(i, port, free_port(), home / f"node-{i}", secure_port))
    return nodes


def write_config(node: Node, nodes: Sequence[Node], secure: SecureListener | None) -> None:
    """The node's server.properties and log4j.properties, in its directory."""
    node.directory.mkdir(parents=True, exist_ok=True)
    props = server_properties(node, nodes, secure)
    text = "".join(f"{k}={v}\n" for k, v in props.items())
    (node.directory / "server.properties").write_text(text)
    (node.directory / "log4j.properties").write_text(_LOG4J.format(log=node.log_file))


def server_properties(
    node: Node, nodes: Sequence[Node], secure: SecureListener | None
) -> dict[str, object]:
    """A combined broker+controller of the cluster ``nodes`` (replication factor = their count)."""
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
    rf = len(nodes)
    return {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        **_listeners(node),
        "log.dirs": str(node.directory / "data"),
        "num.partitions": 1,
        "default.replication.factor": rf,
        "min.insync.replicas": 2 if rf == 3 else 1,
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": 10,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": 2 if rf == 3 else 1,
        "transaction.state.log.num.partitions": 10,
        "group.initial.rebalance.delay.ms": 0,
        "log.segment.bytes": 64 * 1024 * 1024,
        "log.cleaner.dedupe.buffer.size": 8 * 1024 * 1024,
        "auto.create.topics.enable": "true",
        **(secure.properties() if secure else {}),
    }


def format_args(cluster_id: str, properties: str, extra: Sequence[str] = ()) -> list[str]:
    """``kafka-storage format`` arguments for one node's log directory.

    The id goes in the same argument as its option: a random base64url id
    starts with "-" once in 64, and as a separate argument the tool would
    take it for an option.
    """
    return ["format", "--ignore-formatted", f"--cluster-id={cluster_id}", "-c", properties, *extra]


def _listeners(node: Node) -> dict[str, str]:
    """PLAINTEXT (clients, inter-broker) and CONTROLLER; SASL_SSL too when the node has a port."""
    listeners = [f"PLAINTEXT://{node.bootstrap}", f"CONTROLLER://127.0.0.1:{node.controller_port}"]
    advertised = [f"PLAINTEXT://{node.bootstrap}"]
    protocols = ["CONTROLLER:PLAINTEXT", "PLAINTEXT:PLAINTEXT"]
    if node.secure_bootstrap is not None:
        listeners.append(f"{LISTENER}://{node.secure_bootstrap}")
        advertised.append(f"{LISTENER}://{node.secure_bootstrap}")
        protocols.append(f"{LISTENER}:{LISTENER}")
    return {
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(advertised),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": ",".join(protocols),
    }
