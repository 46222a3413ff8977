"""The pure core stays pure.

Everything under ``domain/``, ``policy/`` and ``audit/`` may import the standard
library (minus I/O and concurrency), each other and ``wardstream.errors`` -
no Kafka, Faust, Avro, sockets, asyncio or HTTP, and no other wardstream
package. The domain and policy code never read the clock: time is a parameter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "wardstream"
PURE = ("domain", "policy", "audit")
FILES = sorted(p for package in PURE for p in (SRC / package).rglob("*.py"))
FORBIDDEN = {
    "faust", "aiokafka", "kafka", "confluent_kafka", "fastavro", "avro", "socket",
    "requests", "asyncio",
}  # fmt: skip
ALLOWED_WARDSTREAM = {f"wardstream.{package}" for package in PURE} | {"wardstream.errors"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _module_of(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    package = _module_of(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_of(path)
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.add(node.module)
    return names


def test_the_pure_packages_are_found() -> None:
    assert {p.parent.name for p in FILES} >= {"domain", "policy"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_io_framework_or_network_imports(path: Path) -> None:
    bad = {name for name in imports(path) if name.split(".")[0] in FORBIDDEN}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_only_pure_wardstream_imports(path: Path) -> None:
    ours = {name for name in imports(path) if name.split(".")[0] == "wardstream"}
    bad = {n for n in ours if not any(n == a or n.startswith(a + ".") for a in ALLOWED_WARDSTREAM)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "path",
    [p for p in FILES if p.parent.name in ("domain", "policy")],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_domain_and_policy_never_read_the_clock(path: Path) -> None:
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & CLOCK_CALLS, f"{path.name} reads the clock: {sorted(calls & CLOCK_CALLS)}"


def test_the_checker_resolves_imports() -> None:
    found = imports(SRC / "policy" / "decide.py")
    assert {"wardstream.policy.age", "wardstream.domain.decision", "dataclasses"} <= found
