"""The audit core stays pure: no Kafka, Faust, Avro, sockets, asyncio or file I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "wardstream"
FILES = sorted((SRC / "audit").glob("*.py")) + [SRC / "domain" / "audit.py"]
FORBIDDEN = {
    "faust", "aiokafka", "kafka", "confluent_kafka", "fastavro", "avro", "socket",
    "asyncio", "io", "os", "pathlib", "shutil", "tempfile", "requests", "urllib", "http",
    "subprocess", "threading", "time",
}  # fmt: skip


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_module_imports_nothing_that_does_io(path: Path) -> None:
    assert not imported(path) & FORBIDDEN


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_module_opens_no_files_and_is_small(path: Path) -> None:
    tree = ast.parse(path.read_text())
    calls = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    assert not calls & {"open", "print", "input", "exec", "eval"}
    assert len(path.read_text().splitlines()) <= 350
