"""Which package may import which, and no import cycles between modules.

Every import counts: at module level, inside functions and under
``TYPE_CHECKING`` alike, since each is a dependency a reader has to follow.
``test_purity.py`` holds the stricter rules of the pure core.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.test_purity import SRC, _module_of, imports

# The packages a package may import (besides itself, ``wardstream.errors``, the native
# extension ``wardstream._native``, which imports nothing of ours, and the standard
# library). Packages not named here (cli, demo) may import anything.
MAY_IMPORT: dict[str, set[str]] = {
    "domain": set(),
    "policy": {"domain"},
    "audit": {"domain"},
    "crypto": set(),
    "serde": set(),
    "state": {"domain", "policy", "serde"},
    # serde: pipeline loading reads the schema as the worker does (load_schema, field_index)
    "config": {"domain", "policy", "serde"},
    "enforce": {"domain", "policy", "audit", "state", "serde", "crypto", "config"},
    "lifecycle": {"domain", "policy", "audit", "state", "serde", "crypto", "config", "enforce"},
    "kafka": {"domain", "audit", "serde", "crypto", "config", "enforce"},
    "local": {"kafka.errors"},
    "engines": {
        "domain",
        "policy",
        "audit",
        "state",
        "serde",
        "crypto",
        "config",
        "enforce",
        "lifecycle",
        "kafka",
        "engines",
    },  # fmt: skip
}
# Kafka clients and stream frameworks: only the engines, kafka/, local/, cli/ and demo/.
CLIENTS = {"faust", "aiokafka", "kafka", "confluent_kafka"}
NO_CLIENTS = ("domain", "policy", "audit", "state", "crypto", "config", "enforce", "lifecycle")
ENGINES = ("faust", "fast")

MODULES = {_module_of(p): p for p in sorted(SRC.rglob("*.py"))}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (SRC / parts[1]).is_dir() else ""


def ours(module: str) -> set[str]:
    """Our modules ``module`` imports; ``from wardstream.cli import audit_signed`` counts
    as importing ``wardstream.cli.audit_signed``."""
    import ast

    names = {n for n in imports(MODULES[module]) if n.split(".")[0] == "wardstream"}
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {f"{node.module}.{a.name}" for a in node.names} & set(MODULES)
    return names


def allowed(importer: str, imported: str) -> bool:
    rules = MAY_IMPORT.get(package_of(importer))
    if rules is None or imported in ("wardstream.errors", "wardstream._native"):
        return True
    target = imported.removeprefix("wardstream.")
    own = package_of(importer)
    return any(target == r or target.startswith(r + ".") for r in {own, *rules})


def violations(module: str, imported: set[str]) -> list[str]:
    bad = sorted(n for n in imported if not allowed(module, n))
    for engine, other in (ENGINES, ENGINES[::-1]):
        if module.startswith(f"wardstream.engines.{engine}"):
            bad += sorted(n for n in imported if n.startswith(f"wardstream.engines.{other}"))
    return bad


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module: str) -> None:
    bad = violations(module, ours(module))
    assert not bad, f"{module} may not import {bad} (see MAY_IMPORT in {Path(__file__).name})"


@pytest.mark.parametrize("module", [m for m in sorted(MODULES) if package_of(m) in NO_CLIENTS])
def test_no_kafka_client_below_the_engines(module: str) -> None:
    bad = {n for n in imports(MODULES[module]) if n.split(".")[0] in CLIENTS}
    assert not bad, f"{module} imports {sorted(bad)}: Kafka clients belong to engines/ and kafka/"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_between_modules() -> None:
    graph = {m: {n for n in ours(m) if n in MODULES and n != m} for m in MODULES}
    assert cycles(graph) == []


# -- the checks themselves fail where they should ---------------------------------------
def test_a_forbidden_import_is_reported() -> None:
    assert violations("wardstream.enforce.processor", {"wardstream.engines.fast.engine"})
    assert violations("wardstream.enforce.processor", {"wardstream.lifecycle.seen"})
    assert violations("wardstream.engines.faust.engine", {"wardstream.engines.fast.delivery"})
    assert violations("wardstream.policy.decide", {"wardstream.serde"})
    assert not violations("wardstream.lifecycle.seen", {"wardstream.enforce.processor"})
    assert not violations("wardstream.cli.main", {"wardstream.engines.fast.boot"})


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
