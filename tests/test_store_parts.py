"""The store's parts take what they need (the client, their keys, their scripts, the
parts they write through), never the ``Store`` facade that builds them.

``lint-imports`` keeps that for the imports it sees (the contract on
``crisiswatch.store.core`` in pyproject.toml), but it skips the imports under
``if TYPE_CHECKING:``, which is where a part that took the facade would import it."""

from __future__ import annotations

import ast
from pathlib import Path

import crisiswatch.store

STORE = Path(crisiswatch.store.__file__).parent
FACADE = {"crisiswatch.store", "crisiswatch.store.core"}


def _type_checking_imports(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom) and sub.module:
                    found.append(sub.module)
                elif isinstance(sub, ast.Import):
                    found.extend(a.name for a in sub.names)
    return found


def test_no_store_module_imports_the_facade_for_type_checking() -> None:
    modules = sorted(STORE.glob("*.py"))
    assert len(modules) > 10  # the package's modules were found
    offending = {m.name: names for m in modules
                 if (names := [n for n in _type_checking_imports(ast.parse(m.read_text()))
                               if n in FACADE])}
    assert offending == {}
