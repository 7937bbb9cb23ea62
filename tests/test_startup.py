"""Starting the bot where operators run it: `python -m bot` as a process, as an operator sees it.

A bad or missing setting, an unreachable database or Telegram, a rejected token: one line on
stderr naming the setting and the cause, exit code 2, no traceback, and no secret anywhere in
the output (also at DEBUG). The proxy setting carries the bot's calls; the shipped systemd unit
passes `systemd-analyze verify`. While running, a Telegram that goes away is retried with
backoff and said in the log, without a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.app import build, running
from bot.settings import Settings
from sandbox.server import SandboxServer
from sandbox.world import World, wait_for

REPO = Path(__file__).resolve().parent.parent
TOKEN = "5550001234:AAHrealLookingSecretTokenValue_123456"
WEBHOOK_SECRET = "hook-secret-value-9f8e7d"
DB_PASSWORD = "db-pass-4c3b2a"


def run_bot(tmp_path: Path, *args: str, timeout: float = 60, **env: str):
    """`python -m bot ARGS` in an empty folder (no .env), with only `env` set."""
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    clean.update({"PYTHONPATH": str(REPO), "PTB_TIMEDELTA": "1", **env})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sqlite_url(tmp_path: Path, name: str = "bot.db") -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}"


def one_line(stderr: str) -> str:
    """The one line the operator is told."""
    lines = stderr.splitlines()
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


class Recorder(ThreadingHTTPServer):
    """A server that answers every request with a fixed Bot API answer and records the
    request lines (as a proxy sees them: absolute URLs)."""

    def __init__(self, status: int, answer: dict) -> None:
        self.status, self.answer, self.seen = status, answer, []
        super().__init__(("127.0.0.1", 0), _Answer)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Answer(BaseHTTPRequestHandler):
    server: Recorder

    def _reply(self) -> None:
        self.server.seen.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps(self.server.answer).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def rejecting():
    """A Bot API that rejects every token, as Telegram does a revoked one."""
    server = Recorder(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_startup_owner_ids_not_numbers_names_owner_ids(tmp_path):
    result = run_bot(tmp_path, "run", OWNER_IDS="abc", BOT_TOKEN=TOKEN)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("configuration error: OWNER_IDS:")
    assert "'abc' is not a Telegram user id" in line
    assert TOKEN not in result.stdout + result.stderr


def test_startup_token_without_owners_is_refused(tmp_path):
    result = run_bot(tmp_path, "run", BOT_TOKEN=TOKEN, DATABASE_URL=sqlite_url(tmp_path))
    assert result.returncode == 2
    assert "OWNER_IDS: required with BOT_TOKEN" in one_line(result.stderr)
    assert not (tmp_path / "bot.db").exists(), "refused before anything was made"


def test_spam_evaluate_of_a_missing_file_creates_no_database(tmp_path):
    result = run_bot(tmp_path, "spam", "evaluate", "MISSING", DATABASE_URL=sqlite_url(tmp_path))
    assert result.returncode == 2
    assert one_line(result.stderr) == "error: MISSING: no such file"
    assert list(tmp_path.iterdir()) == []


def test_spam_evaluate_without_a_database_measures_the_seed_detector(tmp_path):
    data = tmp_path / "labeled.jsonl"
    data.write_text(
        '{"text": "加微信 abc123 兼职日结，私聊我", "label": "spam"}\n'
        '{"text": "今晚八点的分享会大家记得来", "label": "ham"}\n',
        encoding="utf-8",
    )
    result = run_bot(tmp_path, "spam", "evaluate", str(data), DATABASE_URL=sqlite_url(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "seed corpus only" in result.stdout
    assert json.loads(result.stdout.splitlines()[-1])["messages"] == 2
    assert not (tmp_path / "bot.db").exists()


def test_startup_unreachable_database_is_one_line_without_its_password(tmp_path):
    url = f"postgresql+asyncpg://bot:{DB_PASSWORD}@127.0.0.1:{closed_port()}/groupkeeper"
    result = run_bot(tmp_path, "run", BOT_TOKEN=TOKEN, OWNER_IDS="42", DATABASE_URL=url)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("cannot start: DATABASE_URL: the database postgresql+asyncpg://bot:***@")
    assert "ConnectionRefusedError" in line
    assert DB_PASSWORD not in result.stderr + result.stdout


def test_startup_unreachable_telegram_is_one_line(tmp_path):
    result = run_bot(
        tmp_path,
        "run",
        BOT_TOKEN=TOKEN,
        OWNER_IDS="42",
        DATABASE_URL=sqlite_url(tmp_path),
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{closed_port()}/bot",
    )
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("cannot start: TELEGRAM_API_BASE_URL: Telegram is not reachable at")
    assert "ConnectError" in line
    assert TOKEN not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {
            "LOG_LEVEL": "DEBUG",
            "WEBHOOK_URL": "https://bot.example.org/telegram",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
        },
    ],
    ids=["info", "debug-with-webhook-secret"],
)
def test_startup_rejected_token_is_named_and_never_printed(tmp_path, rejecting, extra):
    result = run_bot(
        tmp_path,
        "run",
        BOT_TOKEN=TOKEN,
        OWNER_IDS="42",
        DATABASE_URL=sqlite_url(tmp_path),
        TELEGRAM_API_BASE_URL=f"{rejecting.url}/bot",
        **extra,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "BOT_TOKEN was rejected by Telegram (401)" in result.stderr
    assert "Traceback" not in output
    assert rejecting.seen, "the bot asked the Bot API"
    for secret in (TOKEN, TOKEN.split(":", 1)[1], WEBHOOK_SECRET):
        assert secret not in output


def test_startup_goes_through_the_proxy_and_hides_its_password(tmp_path, rejecting):
    # the recorder plays an HTTP proxy: the bot sends it absolute URLs of a host that does
    # not resolve, so an answer at all proves the proxy carried the call
    proxy = rejecting.url.replace("http://", "http://agent:proxy-pass-77@")
    result = run_bot(
        tmp_path,
        "run",
        BOT_TOKEN=TOKEN,
        OWNER_IDS="42",
        DATABASE_URL=sqlite_url(tmp_path),
        TELEGRAM_API_BASE_URL="http://api.telegram.invalid/bot",
        TELEGRAM_PROXY_URL=proxy,
        LOG_LEVEL="DEBUG",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "BOT_TOKEN was rejected by Telegram (401)" in result.stderr
    assert rejecting.seen[0] == f"http://api.telegram.invalid/bot{TOKEN}/getMe"
    assert "proxy-pass-77" not in output
    assert TOKEN not in output


def test_startup_bad_proxy_url_names_the_setting(tmp_path):
    result = run_bot(tmp_path, "run", BOT_TOKEN=TOKEN, TELEGRAM_PROXY_URL="ftp://proxy:21")
    assert result.returncode == 2
    assert one_line(result.stderr).startswith("configuration error: TELEGRAM_PROXY_URL: must be")


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    unit = (REPO / "deploy" / "groupkeeper.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/groupkeeper/.venv/bin/python -m bot run" in unit
    # verify checks that the program exists: point the unit at this checkout's interpreter
    local = unit.replace("/opt/groupkeeper/.venv/bin/python", sys.executable)
    local = local.replace("/opt/groupkeeper", str(REPO))
    (tmp_path / "groupkeeper.service").write_text(local, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "groupkeeper.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "groupkeeper.service" not in result.stderr, result.stderr  # no warning about it


async def test_running_bot_retries_a_lost_telegram_with_backoff_and_no_traceback(tmp_path, caplog):
    world = World()
    olga = world.add_user("olga", owner=True)
    server = SandboxServer(world)
    base_url = await server.start()
    from bot import migrate

    url = sqlite_url(tmp_path)
    await migrate.upgrade(url)
    settings = Settings(
        _env_file=None, database_url=url, owner_ids=[olga.id], telegram_api_base_url=base_url
    )
    deployment = await build(settings, token=TOKEN)
    poller = deployment.poller
    assert poller is not None
    poller.timeout = 1  # short long polls, so that the loss is noticed at once
    caplog.set_level(logging.INFO)
    # as `python -m bot` sets it: httpx logs request URLs, which carry the token
    caplog.set_level(logging.WARNING, logger="httpx")
    async with running(deployment):
        await wait_for(lambda: world.calls("getUpdates"), timeout=10, what="polling")
        await server.stop()

        def said_so() -> bool:
            return any("trying again in" in r.getMessage() for r in caplog.records)

        await wait_for(said_so, timeout=15, what="a retry said in the log")
        await asyncio.sleep(2.5)  # a second, longer wait
    retries = [r.getMessage() for r in caplog.records if "trying again in" in r.getMessage()]
    assert retries[0].startswith("getUpdates failed")
    assert len(retries) >= 2
    assert "in 1 s" in retries[0]
    assert "in 2 s" in retries[1], "the wait grows"
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
