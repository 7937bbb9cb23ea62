"""Import direction: rules imports nothing of the project; storage knows no Telegram; handlers
do not import bot wiring beyond the context and texts."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT = {"bot", "handlers", "rules", "storage", "migrations"}
FORBIDDEN = {
    "rules": PROJECT - {"rules"} | {"telegram", "sqlalchemy", "aiohttp", "httpx"},
    "storage": {"bot", "handlers", "telegram"},
    "handlers": {"migrations"},
}


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_architecture_import_direction(package):
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in (REPO / package).rglob("*.py")
        for name in _imports(path)
        if name in FORBIDDEN[package]
    ]
    assert offenders == []
