"""Errors of the Kafka layer: the local launcher and topic administration."""

from wardstream.errors import WardstreamError


class LocalKafkaError(WardstreamError):
    """The local Apache Kafka could not be installed, started or stopped."""


class JavaNotFound(LocalKafkaError):
    def __init__(self) -> None:
        super().__init__(
            "Java was not found on PATH. The local Kafka broker needs Java 17 or newer: "
            "install it (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`) "
            "or point JAVA_HOME at a JDK, or use your own cluster with --bootstrap."
        )


class MavenNotFound(LocalKafkaError):
    def __init__(self) -> None:
        super().__init__(
            "Maven (`mvn`) was not found on PATH. wardstream downloads Apache Kafka's jars "
            "from Maven Central once: install Maven (Debian/Ubuntu: `apt-get install maven`), "
            "or use your own cluster with --bootstrap."
        )


class DownloadFailed(LocalKafkaError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            "Downloading Apache Kafka's jars from Maven Central failed. Check that Maven "
            "Central is reachable (proxy settings live in ~/.m2/settings.xml) and try again.\n"
            f"Maven said:\n{detail}"
        )


class PortTaken(LocalKafkaError):
    def __init__(self, port: int) -> None:
        super().__init__(
            f"Port {port} on 127.0.0.1 is already in use. Stop whatever listens there "
            "(`wardstream kafka stop` if it is an earlier broker) or pass another --port."
        )


class BrokerNotReady(LocalKafkaError):
    def __init__(self, seconds: float, log_tail: str) -> None:
        super().__init__(
            f"The local Kafka broker did not answer a metadata request within {seconds:.0f} s. "
            "Its log ends with:\n"
            f"{log_tail}\n"
            "Fix what the log names (often: too little memory, or a stale data directory — "
            "remove it with `wardstream kafka stop --wipe`) and start again."
        )
