"""The reliability harness: the real bot as a child process (`python -m bot run`) against the
sandbox's HTTP Bot API on 127.0.0.1, sharing an on-disk database with the test.

- `seed_groups`: groups that exist in the sandbox (the bot an admin there) and in the database
  (one alliance owned by OWNER_IDS), so the bot acts at once without greeting them first;
- `BotProcess`: start the bot, wait until it polls, kill it with SIGKILL or stop it, read what it
  wrote on stderr;
- `Gate`: holds Bot API calls before Telegram acts on them, as a slow network would; a call
  whose caller is gone when the gate opens is never carried out (Telegram never saw it);
- `ad_text`, `chat_text`: distinct ads the detector flags, and everyday chat it leaves alone;
- `ok_ids`, `ban_calls`: what the sandbox's journal says was done, for "exactly once".

Everything here is shared with the fuzz test and kept stable.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import update

from bot.app import running
from sandbox.membership import Membership
from sandbox.model import ADMIN_RIGHTS, Chat, Member, User
from sandbox.server import SandboxServer
from sandbox.world import World, settle
from storage.db import create_engine, create_session_factory
from storage.groups import AllianceRepository, ChatRepository
from storage.models import Chat as ChatRow
from tests.e2e.conftest import FAST, Env, start_env

REPO = Path(__file__).resolve().parents[2]
TOKEN = "7000000001:SANDBOXSANDBOXSANDBOX"
# Keys of the environment the child must not inherit: it gets its own.
OWN_KEYS = {
    "BOT_TOKEN",
    "DATABASE_URL",
    "OWNER_IDS",
    "TELEGRAM_API_BASE_URL",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "DEFAULT_LANGUAGE",
    "LOG_LEVEL",
    "SEND_RATE_PER_SECOND",
    "SEND_RATE_PER_CHAT_PER_MINUTE",
}


# ---- the world and the database ------------------------------------------------------------
async def seed_groups(
    db_url: str,
    world: World,
    owner: User,
    count: int,
    *,
    members: Iterable[User] = (),
    admins: Iterable[User] = (),
) -> list[Chat]:
    """`count` groups of one alliance owned by the world's owners, the bot an admin in each,
    `members` in all of them; stored in the database as the bot would have stored them."""
    people, staff = tuple(members), tuple(admins)
    chats = []
    for n in range(count):
        chat = world.add_group(f"g{n}", f"Club {n}", owner=owner, admins=staff, members=people)
        chat.members[world.bot.id] = Member(world.bot, "administrator", dict(ADMIN_RIGHTS))
        chats.append(chat)
    engine = create_engine(db_url)
    try:
        async with create_session_factory(engine)() as session:
            alliance = await AllianceRepository(session).get_default(
                world.owner_ids, timezone="Asia/Shanghai", language="en"
            )
            for chat in chats:
                await ChatRepository(session).upsert(
                    chat.id,
                    title=chat.title,
                    type="supergroup",
                    status="active",
                    alliance_id=alliance.id,
                )
            await session.commit()
    finally:
        await engine.dispose()
    return chats


def ad_text(n: int, second: bool = False) -> str:
    """The n-th account's first (or second) ad: each text its own, each one the detector flags."""
    if second:
        return f"招代理，日赚 {800 + n}，加V信 vx{55660000 + n} 了解，名额有限"
    return f"兼职日结 {300 + n}-{500 + n}，加薇 kk{20000 + n} 私聊，名额有限"


CHAT = ("今天的分享会几点开始", "周末一起去爬山吗", "the meetup starts at 8pm", "停车场在哪个门")


def chat_text(n: int) -> str:
    """Everyday chat, each text its own (a text repeated across groups counts as a wave)."""
    return f"{CHAT[n % len(CHAT)]} #{n}"


# ---- what the journal says was done -------------------------------------------------------
def ok_ids(world: World, method: str = "delete") -> Counter[tuple[int, int]]:
    """(chat id, message id) of every message deleted by a successful call, with how often."""
    done: Counter[tuple[int, int]] = Counter()
    for call in world.journal:
        if not call.ok:
            continue
        if call.method == "deleteMessage":
            done[(int(call.params["chat_id"]), int(call.params["message_id"]))] += 1
        elif call.method == "deleteMessages":
            for message_id in call.params["message_ids"]:
                done[(int(call.params["chat_id"]), int(message_id))] += 1
    return done


def ban_calls(world: World) -> Counter[tuple[int, int]]:
    """(chat id, user id) of every successful banChatMember call, with how often."""
    return Counter(
        (int(c.params["chat_id"]), int(c.params["user_id"]))
        for c in world.calls("banChatMember", ok=True)
    )


def changing_calls(world: World, since: float, until: float) -> list[str]:
    """Methods of the calls other than reading updates made between two journal times."""
    reads = {"getUpdates", "getMe", "getChatAdministrators", "getChatMember", "getChat"}
    return [c.method for c in world.journal if since <= c.at < until and c.method not in reads]


# ---- holding calls on their way ----------------------------------------------------------
@dataclass
class Gate:
    """Open: calls reach the sandbox. Closed: they wait on their way; when it opens again, a
    call whose caller went away meanwhile is dropped, as Telegram never received it."""

    opened: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0  # calls whose caller was gone when the gate opened
    passing: int = 0  # calls past the gate and not answered yet (long polls aside)

    def __post_init__(self) -> None:
        self.opened.set()

    def close(self) -> None:
        self.opened.clear()

    def open(self) -> None:
        self.opened.set()

    async def hold(self, world: World, *, quiet: float = 2.0) -> None:
        """Close, and return once every call that got past is answered and the bot had `quiet`
        seconds to record the answers (nothing else reaches Telegram meanwhile)."""
        self.close()
        await wait_until(
            lambda: not self.passing and not world.busy,
            timeout=10,
            what="calls on their way to be answered",
            world=world,
        )
        await asyncio.sleep(quiet)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    held = Gate()
    original = SandboxServer._handle

    async def handle(self: SandboxServer, request: web.Request) -> web.Response:
        await held.opened.wait()
        if request.transport is None or request.transport.is_closing():
            held.dropped += 1
            return web.Response(status=499)
        if request.match_info["method"].lower() == "getupdates":  # a long poll: it waits
            return await original(self, request)
        held.passing += 1
        try:
            return await original(self, request)
        finally:
            held.passing -= 1

    monkeypatch.setattr(SandboxServer, "_handle", handle)
    return held


# ---- the bot as a process ----------------------------------------------------------------
@dataclass
class BotProcess:
    """`python -m bot run` against the sandbox at `base_url`, its stderr kept in a file."""

    db_url: str
    base_url: str
    workdir: Path
    owner_ids: list[int]
    env: dict[str, str] = field(default_factory=dict)
    runs: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "the bot runs already"
        self.runs += 1
        log = self.workdir / f"bot-{self.runs}.log"
        self._logs.append(log)
        env = {k: v for k, v in os.environ.items() if k not in OWN_KEYS}
        env.update(
            PYTHONPATH=str(REPO),
            BOT_TOKEN=TOKEN,
            DATABASE_URL=self.db_url,
            TELEGRAM_API_BASE_URL=self.base_url,
            OWNER_IDS=",".join(str(i) for i in self.owner_ids),
            DEFAULT_LANGUAGE="en",
            LOG_LEVEL="INFO",
        )
        env.update(self.env)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(  # the workdir has no .env: only this environment
                [sys.executable, "-m", "bot", "run"],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def started(self, world: World, *, timeout: float = 60.0) -> None:
        """Until the bot polls for updates (it has taken up what its inbox held by then): a
        long poll counts when it starts, it is journaled only when it ends."""
        polls = world.poll_generation
        deadline = time.monotonic() + timeout
        while world.poll_generation <= polls:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"the bot exited ({self.proc.returncode}):\n{self.log[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the bot did not poll within {timeout:g} s:\n{self.log[-3000:]}"
                )
            await world.changed(0.1)

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.proc.wait, 10)
        assert self.proc.returncode == -signal.SIGKILL

    async def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait, 10)
        return int(self.proc.returncode)

    def ensure_dead(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def log(self) -> str:
        """Everything every run wrote (stdout and stderr)."""
        return "\n".join(p.read_text(errors="replace") for p in self._logs if p.exists())


@pytest.fixture
async def sandbox_server(gate: Gate) -> AsyncIterator[tuple[World, SandboxServer]]:
    """A world (limits on, at a rate the test's bot is configured under) served on 127.0.0.1,
    its calls passing through `gate` (the server takes its handler when it starts)."""
    world = World(per_second=1000)
    async with SandboxServer(world) as server:
        yield world, server


@pytest.fixture
async def live(app_db_url: str) -> AsyncIterator[Env]:
    """The end-to-end harness's world and bot in this process (`tests.e2e.conftest.env`), for
    what needs no process to kill: groups g1..g3, the owner olga and the admin adam."""
    world, app, chats, users = await start_env(app_db_url)
    async with running(app):
        for chat in chats.values():
            Membership(world).add_bot(chat, by=users["olga"])
        await world.wait_for(
            lambda: len(world.calls("sendMessage")) >= len(chats),
            timeout=20,
            what="the bot to greet its groups",
        )
        async with app.runtime.sessions() as session:
            await session.execute(update(ChatRow).values(policy=FAST))
            await session.commit()
        app.runtime.state.chats.clear()
        await settle(world)
        yield Env(world, app, users, chats)


@pytest.fixture
def bot_process(app_db_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    """Filled in by the test (`base_url`, `owner_ids`); killed at the end whatever happened."""
    process = BotProcess(app_db_url, "", tmp_path, [])
    yield process
    process.ensure_dead()


async def wait_until(predicate: object, *, timeout: float, what: str, world: World) -> None:
    """`predicate()` true within `timeout` seconds, waking on the world's changes."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await world.changed(min(0.1, left))


__all__ = [
    "REPO",
    "TOKEN",
    "BotProcess",
    "Gate",
    "ad_text",
    "ban_calls",
    "changing_calls",
    "chat_text",
    "ok_ids",
    "seed_groups",
    "wait_until",
]
