"""The import direction of ARCHITECTURE.md, for every package, with no exceptions:
rules <- storage <- services <- handlers <- bot (each may import those to its left, never to its
right); the sandbox imports nothing of the bot, and the bot imports the sandbox only lazily, in
the one command that runs it. No module imports itself back through others (no cycles)."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ORDER = ["rules", "storage", "services", "handlers", "bot"]
PROJECT = {*ORDER, "sandbox", "migrations", "bench", "tests"}
NO_IO = {"telegram", "sqlalchemy", "aiohttp", "httpx", "asyncpg", "aiosqlite"}
ALLOWED = {
    "rules": {"rules"},
    "storage": {"rules", "storage"},
    "services": {"rules", "storage", "services"},
    "handlers": {"rules", "storage", "services", "handlers"},
    "bot": {"rules", "storage", "services", "handlers", "bot", "migrations"},
    "sandbox": {"sandbox"},
    "migrations": {"storage", "migrations"},
}
LIBRARIES_BANNED = {
    "rules": NO_IO,
    "storage": {"telegram", "aiohttp"},
    "services": {"telegram", "aiohttp"},
}
LAZY_SANDBOX = {"bot/sandbox_cli.py"}


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(imported module, at module level?) of a file; TYPE_CHECKING blocks are not imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped, nested = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            nested.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        top = id(node) not in nested
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from services import moderation` imports a module
                yield f"{node.module}.{alias.name}", top
            yield node.module, top


def _files(package):
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_architecture_import_direction(package):
    offenders = []
    for path in _files(package):
        rel = str(path.relative_to(REPO))
        for name, top in _imports(path):
            root = name.split(".")[0]
            if root in PROJECT and root not in ALLOWED[package]:
                if root == "sandbox" and rel in LAZY_SANDBOX and not top:
                    continue  # `python -m bot sandbox` loads it when it runs, from the checkout
                offenders.append(f"{rel} imports {name}")
            if root in LIBRARIES_BANNED.get(package, set()):
                offenders.append(f"{rel} imports {name}")
    assert offenders == []


def test_architecture_no_import_cycles():
    modules = {}
    for package in ALLOWED:
        for path in _files(package):
            modules[_module(path)] = path
    graph = {}
    for name, path in modules.items():
        found = [imported for imported, top in _imports(path) if top]
        # `from package import module` reaches the module, not the package's own code
        graph[name] = {
            imported
            for imported in found
            if imported in modules
            and imported != name
            and not any(other.startswith(imported + ".") for other in found if other in modules)
        }
    cycles = []
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], "\n".join(cycles)


def test_architecture_the_sandbox_is_not_shipped():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    include = next(line for line in text.splitlines() if line.startswith("include = "))
    assert "sandbox" not in include
    assert "services" in include
