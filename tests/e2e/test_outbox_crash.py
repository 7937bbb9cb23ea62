"""The outbox survives kill -9 in the middle of draining: nothing lost, nothing sent twice.

The executor runs in its own process against the sandbox. It is killed while some of its calls
are on their way (held before Telegram acts on them, as a slow network would); a new process
then finishes the work.
"""

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from rules.actions import BanMember, SendMessage
from sandbox import Membership, World
from sandbox.server import SandboxServer
from storage.db import create_engine, create_session_factory
from storage.models import Outbox
from storage.outbox import OutboxRepository

REPO = Path(__file__).resolve().parents[2]


def _start(db_url: str, base_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "drain_outbox.py"), db_url, base_url],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


async def test_outbox_survives_kill_9_mid_drain(app_db_url, monkeypatch):
    world = World()
    members = Membership(world)
    olga = world.add_user("olga", owner=True)
    groups = [world.add_group(f"g{n}", f"Club {n}", owner=olga) for n in range(4)]
    spammer = world.add_user("spammer")
    for group in groups:
        members.add_bot(group, by=olga)
        members.join(spammer, group)
    gate = asyncio.Event()
    gate.set()
    original = SandboxServer._handle

    async def held(self, request):
        await gate.wait()
        if request.transport is None or request.transport.is_closing():
            return web.Response(status=499)  # the caller is gone: Telegram never saw it
        return await original(self, request)

    monkeypatch.setattr(SandboxServer, "_handle", held)
    engine = create_engine(app_db_url)
    sessions = create_session_factory(engine)
    async with sessions() as s:
        for i in range(60):
            group = groups[i % 4]
            await OutboxRepository(s).add(SendMessage(chat_id=group.id, text=f"row {i}"))
        await OutboxRepository(s).add(BanMember(chat_id=groups[0].id, user_id=spammer.id))
        await s.commit()
    async with SandboxServer(world) as server:
        first = _start(app_db_url, server.base_url)
        try:
            for _ in range(600):
                if len(world.calls("sendMessage")) >= 15:
                    break
                await asyncio.sleep(0.02)
            gate.clear()  # calls now on their way stay on their way
            await asyncio.sleep(0.5)
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
        finally:
            if first.poll() is None:
                first.kill()
        await asyncio.sleep(0.2)
        gate.set()
        async with sessions() as s:
            interrupted = (await s.scalars(select(Outbox).where(Outbox.status != "done"))).all()
        assert interrupted, "the kill came after the work was done: nothing was tested"
        second = _start(app_db_url, server.base_url)
        assert await asyncio.to_thread(second.wait, 120) == 0
    texts = Counter(c.params.get("text") for c in world.calls("sendMessage") if c.ok)
    assert sorted(texts) == sorted(f"row {i}" for i in range(60))
    assert set(texts.values()) == {1}, [t for t, n in texts.items() if n > 1]
    async with sessions() as s:
        rows = (await s.scalars(select(Outbox))).all()
        assert {r.status for r in rows} == {"done"}
    assert world.is_banned(spammer, groups[0])
    await engine.dispose()
