"""The sandbox stands apart: it imports nothing of the bot, and the bot imports it only when
`python -m bot sandbox` runs."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOT_PACKAGES = {"bot", "handlers", "rules", "services", "storage", "migrations"}


def _imports(path: Path, *, top_level_only: bool = False):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def test_sandbox_imports_nothing_of_the_bot():
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in (REPO / "sandbox").rglob("*.py")
        for name in _imports(path)
        if name in BOT_PACKAGES
    ]
    assert offenders == []


def test_bot_imports_the_sandbox_only_inside_functions():
    offenders = [
        str(path.relative_to(REPO))
        for package in BOT_PACKAGES
        for path in (REPO / package).rglob("*.py")
        if "sandbox" in _imports(path, top_level_only=True)
    ]
    assert offenders == []


def test_importing_the_bot_command_line_leaves_the_sandbox_unloaded():
    probe = "import sys, bot.cli, bot.sandbox_cli; print('sandbox' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "False", done.stderr
