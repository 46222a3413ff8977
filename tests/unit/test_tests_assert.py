"""Every test function checks something: a test with no assertion passes whatever the code does.

Read from the source (AST), no test is run. A test function counts as checking when its
body (nested functions included, such as a hypothesis property defined inside it) has
one of these forms:

- an ``assert`` statement, or ``raise AssertionError(...)``;
- ``pytest.raises(...)``, ``pytest.warns(...)`` or ``pytest.fail(...)``;
- a call with ``check=True`` (``subprocess.run(..., check=True)`` raises on failure);
- a call to a helper that has one of these forms (directly or through other helpers): a
  function of the same module, a function imported from another module under tests/, or
  a method of a class defined under tests/ (``reach.at_least_half(...)``);
- a ``@given`` decorator: a hypothesis property whose claim is that no input raises.

A test that checks through something else (a library call that raises on failure) is
listed in ``CHECKS_OTHERWISE`` with the reason; any other test without one of the forms
fails this test.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

TESTS = Path(__file__).resolve().parents[1]
CHECKS_OTHERWISE = {
    "unit/serde/test_serde_pipelines.py::test_paths_exist_in_the_schema": (
        "check_paths raises UnknownFieldPath naming every path the schema lacks"
    ),
}
_PYTEST_CHECKS = {"raises", "warns", "fail"}

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _checks_directly(fn: Function) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id == "AssertionError":
                return True
        if isinstance(node, ast.Call):
            f = node.func
            if (
                isinstance(f, ast.Attribute)
                and isinstance(f.value, ast.Name)
                and f.value.id == "pytest"
                and f.attr in _PYTEST_CHECKS
            ):
                return True
            if any(
                k.arg == "check" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in node.keywords
            ):
                return True
    return False


def _called(fn: Function) -> tuple[set[str], set[str]]:
    """Names called as ``f(...)`` and attributes called as ``x.m(...)``."""
    names, methods = set(), set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                methods.add(node.func.attr)
    return names, methods


def _is_property(fn: Function) -> bool:
    for decorator in fn.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "given":
            return True
    return False


def unchecked_tests(sources: Mapping[str, str]) -> list[str]:
    """``path::test`` of every test function in ``sources`` (path -> text, paths relative
    to tests/) that has none of the forms above. ``from x import f`` is looked up as
    ``x.py`` in the importing module's directory, ``from tests.a.b import f`` as ``a/b.py``."""
    trees = {path: ast.parse(text, path) for path, text in sources.items()}
    functions: dict[tuple[str, str], Function] = {}  # (module, name) and ("<method>", name)
    imported: dict[str, dict[str, str]] = {}  # module -> local name -> source module
    for module, tree in trees.items():
        imported[module] = {}
        for node in tree.body:
            if isinstance(node, Function):
                functions[(module, node.name)] = node
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, Function):
                        functions[("<method>", item.name)] = item
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                if node.module.startswith("tests."):  # from tests.unit.x.mod import f
                    source = "/".join(node.module.split(".")[1:]) + ".py"
                else:  # from mod import f: mod.py beside the importing module
                    source = (PurePosixPath(module).parent / f"{node.module}.py").as_posix()
                for alias in node.names:
                    if source in trees:
                        imported[module][alias.asname or alias.name] = source

    def helpers(module: str, fn: Function) -> set[tuple[str, str]]:
        names, methods = _called(fn)
        local = {(imported[module].get(n, module), n) for n in names}
        return {k for k in local if k in functions} | {
            ("<method>", m) for m in methods if ("<method>", m) in functions
        }

    checking = {key for key, fn in functions.items() if _checks_directly(fn)}
    edges = {key: helpers(key[0], fn) for key, fn in functions.items() if key[0] != "<method>"}
    for key, fn in functions.items():
        if key[0] == "<method>":
            edges[key] = {("<method>", m) for m in _called(fn)[1] if ("<method>", m) in functions}
    grown = True
    while grown:
        grown = False
        for key, calls in edges.items():
            if key not in checking and calls & checking:
                checking.add(key)
                grown = True

    found = []
    for module, tree in trees.items():
        for fn in _test_functions(tree.body):
            if not (_checks_directly(fn) or _is_property(fn) or helpers(module, fn) & checking):
                found.append(f"{module}::{fn.name}")
    return found


def _test_functions(body: Iterable[ast.stmt]) -> Iterable[Function]:
    for node in body:
        if isinstance(node, Function) and node.name.startswith("test_"):
            yield node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            yield from _test_functions(node.body)


def test_every_test_function_checks_something() -> None:
    sources = {
        p.relative_to(TESTS).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(TESTS.rglob("*.py"))
    }
    found = set(unchecked_tests(sources))
    new = sorted(found - set(CHECKS_OTHERWISE))
    assert not new, (
        f"test functions that check nothing: {new}. Add an assert (or pytest.raises, or a "
        "helper that asserts); see this module's docstring for the forms that count"
    )
    stale = sorted(set(CHECKS_OTHERWISE) - found)
    assert not stale, f"remove from CHECKS_OTHERWISE (they assert now, or are gone): {stale}"


def test_the_check_finds_a_test_without_an_assertion_and_accepts_the_forms() -> None:
    helper = "def assert_ok(x):\n    assert x\n"
    module = (
        "import pytest\nfrom hypothesis import given\nfrom test_helpers import assert_ok\n"
        "def test_none():\n    int('1')\n"
        "def test_assert():\n    assert 1\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n"
        "def test_imported_helper():\n    assert_ok(1)\n"
        "def local(x):\n    assert_ok(x)\n"
        "def test_local_helper():\n    local(1)\n"
        "def test_inner_property():\n    @given()\n    def check():\n        assert 1\n"
        "    check()\n"
        "@given()\ndef test_property():\n    int('1')\n"
        "def test_calls_a_non_asserting_helper():\n    sorted([])\n"
    )
    found = unchecked_tests({"unit/test_helpers.py": helper, "unit/test_m.py": module})
    assert found == [
        "unit/test_m.py::test_none",
        "unit/test_m.py::test_calls_a_non_asserting_helper",
    ]
