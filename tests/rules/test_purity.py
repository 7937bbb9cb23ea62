"""The ad detector's modules in rules/ stay pure: nothing of the project's other packages, no
Telegram, no SQL, no clock."""

import ast
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "rules"
FORBIDDEN = ("bot", "handlers", "storage", "telegram", "sqlalchemy", "datetime", "time")


DETECTOR = ("text", "facts", "vocab", "patterns", "signals", "classifier", "detect")


@pytest.mark.parametrize("path", [RULES / f"{m}.py" for m in DETECTOR], ids=DETECTOR)
def test_rules_module_imports_nothing_forbidden(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
