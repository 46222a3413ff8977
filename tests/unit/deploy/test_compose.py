"""docker-compose.yml and the Dockerfile agree with the CLI and the settings (no Docker needed).

Every service command must parse against the real typer app (the command and
each option exist, values have the right type), every WARDSTREAM__* variable
must name a settings field, and the files the commands use must be in the image.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from wardstream.cli.main import app
from wardstream.config.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2].parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instruction(name: str) -> list[str]:
    """The last ENTRYPOINT or CMD of the Dockerfile, as an exec-form list."""
    found = re.findall(rf"^{name}\s+(\[.*\])\s*$", DOCKERFILE, flags=re.MULTILINE)
    assert found, f"the Dockerfile needs an exec-form {name}"
    return list(yaml.safe_load(found[-1]))


def _argv(service: dict[str, Any]) -> list[str]:
    command = service.get("command", _instruction("CMD"))
    args = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    entry = service.get("entrypoint", _instruction("ENTRYPOINT"))
    entry = shlex.split(entry) if isinstance(entry, str) else list(entry)
    assert entry == ["wardstream"], "services run the wardstream command"
    return args


def _parse(args: list[str]) -> Any:
    """Parse ``wardstream <args>`` as the CLI would, without running anything: an unknown
    command or option, or a value of the wrong type, raises typer's UsageError."""
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("wardstream", list(args), resilient_parsing=False)
    rest = [*ctx._protected_args, *ctx.args]
    while hasattr(command, "resolve_command") and rest:
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None, f"no such command in {args}"
        ctx = sub.make_context(name, list(rest), parent=ctx, resilient_parsing=False)
        command, rest = sub, [*ctx._protected_args, *ctx.args]
    assert not rest, f"unexpected arguments {rest} in {args}"
    return ctx


def test_the_parser_rejects_what_the_cli_rejects() -> None:
    with pytest.raises(Exception, match="No such option"):
        _parse(["demo", "--no-such-option"])
    with pytest.raises(Exception, match="No such command"):
        _parse(["no-such-command"])
    with pytest.raises(Exception, match="valid integer"):
        _parse(["demo", "--events", "many"])


def test_the_three_services_exist() -> None:
    assert {"kafka", "worker", "demo"} <= set(SERVICES)


def test_kafka_is_apache_kafka_in_kraft_mode() -> None:
    kafka = SERVICES["kafka"]
    assert kafka["image"] == "apache/kafka:3.9.1"
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "healthcheck" in kafka
    assert not any("zookeeper" in str(v).lower() for v in env.values())


@pytest.mark.parametrize("name", ["worker", "demo"])
def test_wardstream_services_build_the_image_from_this_repo(name: str) -> None:
    service = SERVICES[name]
    assert service["build"] == "."
    assert service["image"].startswith("wardstream:")
    assert DOCKERFILE.startswith("#") and re.search(r"^FROM python:3\.1[1-9]", DOCKERFILE, re.M)


def test_workers_scale_with_replicas() -> None:
    worker = SERVICES["worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert "container_name" not in worker, "a fixed container name cannot scale"
    assert "ports" not in worker, "published ports clash between replicas"


@pytest.mark.parametrize("name", ["worker", "demo"])
def test_every_command_and_option_exists_in_the_cli(name: str) -> None:
    assert _parse(_argv(SERVICES[name])).info_name == name


def test_the_dockerfile_default_command_exists_in_the_cli() -> None:
    assert _parse(_instruction("CMD")).info_name == "worker"


def _image_files() -> set[str]:
    """Paths inside the image that COPY puts there (files and directories of the repo)."""
    workdir = Path(re.findall(r"^WORKDIR\s+(\S+)", DOCKERFILE, flags=re.MULTILINE)[-1])
    out: set[str] = set()
    for line in re.findall(r"^COPY\s+(.+)$", DOCKERFILE, flags=re.MULTILINE):
        if line.startswith("--from="):
            continue  # from a build stage (the wheel), not from the repository
        *sources, dest = line.split()
        for src in sources:
            assert (ROOT / src).exists(), f"Dockerfile copies {src}, which the repo lacks"
            into = workdir / dest
            keeps_name = dest in ("./", ".") or len(sources) > 1  # "COPY a b ./" -> ./a, ./b
            out.add(str(into / Path(src).name) if keeps_name else str(into))
    return out


def test_the_commands_use_files_the_image_has() -> None:
    files = _image_files()
    assert {"/app/wardstream.yaml", "/app/pipelines", "/app/schemas"} <= files
    for name in ("worker", "demo"):
        config = _parse(_argv(SERVICES[name])).params.get("config")
        assert config is not None and str(config) in files, f"{name}: {config} is not in the image"


def test_the_demo_writes_to_the_composed_kafka() -> None:
    ctx = _parse(_argv(SERVICES["demo"]))
    assert ctx.params["generate_only"] is True
    assert ctx.params["bootstrap"] == "kafka:9092"
    assert SERVICES["demo"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def _settings_path_exists(variable: str) -> bool:
    parts = variable.removeprefix("WARDSTREAM__").lower().split("__")
    model: Any = Settings
    for part in parts:
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return False
        model = fields[part].annotation
    return True


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return dict(env) if isinstance(env, dict) else dict(e.split("=", 1) for e in env)


WITH_ENVIRONMENT = sorted(
    name  # wardstream's own services: the others (kafka, registry, ...) are not configured here
    for name, s in SERVICES.items()
    if str(s.get("image", "")).startswith("wardstream:") and _environment(s)
)


def test_the_worker_service_sets_its_environment() -> None:
    assert "worker" in WITH_ENVIRONMENT  # else the next test checks nothing


@pytest.mark.parametrize("name", WITH_ENVIRONMENT)
def test_environment_variables_name_real_settings(name: str) -> None:
    for variable in _environment(SERVICES[name]):
        assert variable.startswith("WARDSTREAM__"), f"{variable}: wardstream reads WARDSTREAM__*"
        assert _settings_path_exists(variable), f"{variable} names no setting"


def test_dockerfile_environment_variables_name_real_settings() -> None:
    found = re.findall(r"^ENV\s+(WARDSTREAM__\w+)=", DOCKERFILE, flags=re.MULTILINE)
    assert found, "the Dockerfile sets the worker's data directory"
    for variable in found:
        assert _settings_path_exists(variable), f"Dockerfile: {variable} names no setting"


def test_replicas_get_distinct_worker_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image's wardstream.yaml and the worker's environment leave worker.name empty,
    so each replica takes its host name (its container id): audit records tell the
    replicas apart, and the fast engine's transactional ids differ."""
    for variable in [v for v in os.environ if v.startswith("WARDSTREAM__")]:
        monkeypatch.delenv(variable)
    for variable, value in _environment(SERVICES["worker"]).items():
        if not str(value).startswith("${"):  # keys come from the host: not needed here
            monkeypatch.setenv(variable, str(value))
    names = set()
    for host in ("3f2a9c1b7d4e", "8d7e6f5a0b1c"):
        monkeypatch.setattr(socket, "gethostname", lambda host=host: host)
        names.add(load_settings(ROOT / "wardstream.yaml").worker.name)
    assert names == {"3f2a9c1b7d4e", "8d7e6f5a0b1c"}


def test_workers_get_their_keys_as_secret_files_and_the_kafka_address() -> None:
    worker = SERVICES["worker"]
    env = worker["environment"]
    assert env["WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS"] == "kafka:9092"
    files = {"WARDSTREAM__AUDIT__HMAC_KEY": "wardstream_hmac_key",
             "WARDSTREAM__LIFECYCLE__MASTER_KEY": "wardstream_master_key"}  # fmt: skip
    for variable, secret in files.items():
        assert variable not in env, f"{variable}: a key in a variable shows in docker inspect"
        assert env[variable + "_FILE"] == f"/run/secrets/{secret}"
        assert secret in worker["secrets"]
        assert COMPOSE["secrets"][secret]["file"].startswith("./secrets/")
    assert "/secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_no_key_is_written_into_any_service() -> None:
    for name, service in SERVICES.items():
        for variable, value in dict(service.get("environment", {})).items():
            if "KEY" in variable and not variable.endswith("_FILE"):
                raise AssertionError(f"{name}: {variable}={value} puts a key in a variable")


def test_the_unauthenticated_host_listener_is_published_on_loopback_only() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
