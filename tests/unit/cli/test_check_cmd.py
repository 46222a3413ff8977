"""`wardstream check` reports what would stop a worker, before it is deployed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from wardstream.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
BASE = yaml.safe_dump({"policy": yaml.safe_load((ROOT / "wardstream.yaml").read_text())["policy"]})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("WARDSTREAM__LIFECYCLE__MASTER_KEY", "WARDSTREAM__LIFECYCLE__MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    (tmp_path / "pipelines").mkdir()
    spec = yaml.safe_load((ROOT / "pipelines" / "clickstream.yaml").read_text())
    spec["fields"]["device.ip"] = {"category": "identifier", "encrypt": True}
    (tmp_path / "pipelines" / "clickstream.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path


def test_encrypted_sink_fields_without_a_master_key_are_an_error(project: Path) -> None:
    config = project / "wardstream.yaml"
    config.write_text(BASE)
    result = CliRunner().invoke(app, ["check", "-c", str(config)])
    assert result.exit_code == 1
    assert "encrypt: true" in result.output and "MASTER_KEY" in result.output


def test_with_a_master_key_file_they_pass(project: Path) -> None:
    (project / "master.key").write_text("00" * 32)
    config = project / "wardstream.yaml"
    config.write_text(BASE + "lifecycle:\n  master_key_file: master.key\n")
    result = CliRunner().invoke(app, ["check", "-c", str(config)])
    assert result.exit_code == 0, result.output
