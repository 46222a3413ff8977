"""A local Apicurio Registry on 127.0.0.1, for the demo and the tests: no Docker.

Apicurio Registry (Apache-2.0) speaks the Confluent schema-registry API under
``/apis/ccompat/v7``. Maven Central serves its Quarkus build as
``io.apicurio:apicurio-registry-app:<version>:zip:all`` (a runner jar and its
``lib/``); ``mvn dependency:copy`` fetches it once into the cache (Maven keeps
its own copy in ``~/.m2``) and it is unpacked beside a marker file, like the
Kafka jars. The registry keeps its schemas in memory (an H2 database in the
JVM): a restart forgets them, which is what the demo wants; ``persistent=True``
keeps them in an H2 file under ``home`` (ids survive a restart, as with a real
deployment's database).

``LocalRegistry(home).start()`` starts ``java -jar ...-runner.jar`` in its own
process group, listening on 127.0.0.1 only, and waits until the API answers;
``stop()`` ends it. ``url`` is the Confluent-compatible API root.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from types import TracebackType
from typing import Any

from wardstream.kafka.errors import DownloadFailed, LocalKafkaError, MavenNotFound, PortTaken
from wardstream.local.install import cache_root, java_executable
from wardstream.local.kafka import HEAP, _terminate_group, alive_pids
from wardstream.local.nodes import free_port, port_in_use

APICURIO_VERSION = "3.0.9"
API_PATH = "/apis/ccompat/v7"
_MARKER = ".complete"


class RegistryNotReady(LocalKafkaError):
    def __init__(self, seconds: float, log_tail: str) -> None:
        super().__init__(
            f"the local schema registry did not answer within {seconds:g} s. Its log ends "
            f"with:\n{log_tail}\nFix: check that Java 17+ runs and the port is free, or raise "
            "--timeout on a slow machine"
        )


def apicurio_home(version: str = APICURIO_VERSION) -> Path:
    """The directory holding Apicurio's runner jar and ``lib/``, installed on first use."""
    home = cache_root() / f"apicurio-registry-{version}"
    if (home / _MARKER).exists():
        return home
    java_executable()  # fail early and clearly: jars without Java are no use
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenNotFound()
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent) as tmp:
        artifact = f"io.apicurio:apicurio-registry-app:{version}:zip:all"
        cmd = [mvn, "-B", "-q", "dependency:copy", f"-Dartifact={artifact}",
               f"-DoutputDirectory={tmp}"]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        zips = list(Path(tmp).glob("apicurio-registry-app-*.zip"))
        if proc.returncode != 0 or not zips:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
            raise DownloadFailed(tail or f"mvn exited with {proc.returncode}")
        staging = Path(tmp) / "app"
        with zipfile.ZipFile(zips[0]) as archive:
            archive.extractall(staging)  # zipfile drops absolute and '..' member paths
        (staging / _MARKER).write_text(version)
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)
    return home


def runner_jar(home: Path) -> Path:
    jars = sorted(home.glob("apicurio-registry-app-*-runner.jar"))
    if not jars:
        raise DownloadFailed(f"no apicurio-registry-app runner jar in {home}; remove it and retry")
    return jars[0]


def answers(url: str, timeout: float = 2.0) -> bool:
    """True when the Confluent-compatible API at ``url`` lists its subjects."""
    try:
        # The URL is ours: http://127.0.0.1:<port>/apis/ccompat/v7.
        with urllib.request.urlopen(url + "/subjects", timeout=timeout) as reply:  # noqa: S310
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalRegistry:
    """One Apicurio Registry JVM; ``home`` holds its log, state file and (persistent) data."""

    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        persistent: bool = False,
        version: str = APICURIO_VERSION,
    ) -> None:
        self.home, self.version, self.persistent = home, version, persistent
        self.port = port or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PATH}"

    def start(self, timeout: float = 120.0) -> str:
        """Install (first time), start and wait until the API answers; return ``url``."""
        app = apicurio_home(self.version)
        if port_in_use(self.port):
            raise PortTaken(self.port)
        self.home.mkdir(parents=True, exist_ok=True)
        cmd = [
            java_executable(), *HEAP,
            "-Dquarkus.http.host=127.0.0.1", f"-Dquarkus.http.port={self.port}",
            "-Dquarkus.management.enabled=false",  # no second port (9000)
            "-Dquarkus.http.access-log.enabled=false",
        ]  # fmt: skip
        if self.persistent:  # an H2 file under home: a restart keeps the schemas and ids
            cmd.append(f"-Dapicurio.datasource.url=jdbc:h2:file:{self.home / 'data' / 'registry'}")
        cmd += ["-jar", str(runner_jar(app))]
        log = open(self.home / "registry.out", "ab")  # noqa: SIM115 - handed to the child
        self._proc = subprocess.Popen(  # noqa: S603
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.home, start_new_session=True,
        )  # fmt: skip
        log.close()
        (self.home / "state.json").write_text(json.dumps({"url": self.url, "pid": self._proc.pid}))
        self.wait_ready(timeout)
        return self.url

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                break  # the JVM died: say so now, not after the timeout
            if answers(self.url):
                return
            time.sleep(0.5)
        tail = self.log_tail()
        self.stop()
        raise RegistryNotReady(timeout, tail)

    def stop(self, timeout: float = 20.0) -> None:
        if self._proc is not None:
            _terminate_group(self._proc.pid, timeout)
            self._proc.wait()
            self._proc = None
        (self.home / "state.json").unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        path = self.home / "registry.out"
        if not path.exists():
            return "(the registry wrote no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> LocalRegistry:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def read_registry_state(home: Path) -> dict[str, Any] | None:
    path = home / "state.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def stop_registry_from_state(home: Path, timeout: float = 20.0) -> bool:
    """Stop the registry a state file names (for `wardstream registry stop`)."""
    state = read_registry_state(home)
    if state is None:
        return False
    running = alive_pids([int(state["pid"])])
    for pid in running:
        _terminate_group(pid, timeout)
    (home / "state.json").unlink(missing_ok=True)
    return bool(running)
