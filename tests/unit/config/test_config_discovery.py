"""Every command finds its configuration as a user expects: -c, else $WARDSTREAM_CONFIG,
else ./wardstream.yaml; it says which file it used, or that it found none."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wardstream.cli.main import app
from wardstream.config.discovery import find_config

ROOT = Path(__file__).resolve().parents[3]


def test_the_option_wins(tmp_path: Path) -> None:
    (tmp_path / "wardstream.yaml").write_text("")
    choice = find_config(Path("x.yaml"), tmp_path, {"WARDSTREAM_CONFIG": "y.yaml"})
    assert (choice.path, choice.how) == (Path("x.yaml"), "--config")


def test_then_the_environment_variable(tmp_path: Path) -> None:
    (tmp_path / "wardstream.yaml").write_text("")
    choice = find_config(None, tmp_path, {"WARDSTREAM_CONFIG": "/etc/ward.yaml"})
    assert (choice.path, choice.how) == (Path("/etc/ward.yaml"), "$WARDSTREAM_CONFIG")


@pytest.mark.parametrize("name", ["wardstream.yaml", "wardstream.yml"])
def test_then_the_working_directory(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("")
    choice = find_config(None, tmp_path, {})
    assert choice.path == tmp_path / name and str(choice.path) in choice.describe()


def test_else_none_and_it_says_so(tmp_path: Path) -> None:
    choice = find_config(None, tmp_path, {})
    assert choice.path is None and "no configuration file" in choice.describe()


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's config, pipelines and schemas, as a new user has it."""
    for name in ("schemas", "pipelines"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "wardstream.yaml", tmp_path / "wardstream.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WARDSTREAM_CONFIG", raising=False)
    return tmp_path


def test_check_in_the_checkout_reads_wardstream_yaml(checkout: Path) -> None:
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps long paths
    assert "wardstream.yaml (from the working directory)" in text
    assert "not declared" not in text


def test_check_with_the_variable(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = checkout / "conf"
    elsewhere.mkdir()
    (checkout / "wardstream.yaml").rename(elsewhere / "ward.yaml")
    shutil.move(checkout / "pipelines", elsewhere / "pipelines")
    shutil.move(checkout / "schemas", elsewhere / "schemas")
    monkeypatch.setenv("WARDSTREAM_CONFIG", str(elsewhere / "ward.yaml"))
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "$WARDSTREAM_CONFIG" in " ".join(result.output.split())


def test_without_a_file_check_says_so_instead_of_blaming_the_pipelines(checkout: Path) -> None:
    (checkout / "wardstream.yaml").unlink()
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "no configuration file" in text
    assert "declare it under policy.purposes" not in text
