"""Install Apache Kafka's jars from Maven Central, once.

A small pom (``pom.xml`` beside this file) names ``org.apache.kafka:kafka_2.13``
and the logging jars 3.9 needs; ``mvn dependency:copy-dependencies`` copies the
resolved jars into a cache directory. Maven keeps its own cache in ``~/.m2``,
and a marker file makes the second call a no-op, so only the first start on a
machine downloads anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from wardstream.kafka.errors import DownloadFailed, JavaNotFound, MavenNotFound

KAFKA_VERSION = "3.9.1"
_MARKER = ".complete"


def cache_root() -> Path:
    """Where wardstream keeps jars and local broker data (``WARDSTREAM_HOME`` overrides)."""
    env = os.environ.get("WARDSTREAM_HOME")
    return Path(env) if env else Path.home() / ".cache" / "wardstream"


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise JavaNotFound()
    return found


def kafka_libs(version: str = KAFKA_VERSION) -> Path:
    """Return the directory holding Kafka's jars, downloading them on first use."""
    libs = cache_root() / f"kafka-{version}" / "libs"
    if (libs / _MARKER).exists():
        return libs
    java_executable()  # fail early and clearly: jars without Java are no use
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenNotFound()
    libs.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=libs.parent) as tmp:
        staging = Path(tmp) / "libs"
        pom = Path(tmp) / "pom.xml"
        pom.write_text(resources.files("wardstream.local").joinpath("pom.xml").read_text())
        _copy_dependencies(mvn, pom, staging, version)
        (staging / _MARKER).write_text(version)
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
    return libs


def _copy_dependencies(mvn: str, pom: Path, out: Path, version: str) -> None:
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(pom),
        f"-Dkafka.version={version}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={out}",
        "-DincludeScope=runtime",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0 or not any(out.glob("kafka_2.13-*.jar")):
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise DownloadFailed(tail or f"mvn exited with {proc.returncode}")
