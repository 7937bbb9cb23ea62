"""kill -9 in the middle of a fan-out: nothing lost, nothing done twice.

Two processes are killed while some of their calls are on their way (held before Telegram acts
on them, as a slow network would: `Gate`), then a new process finishes the work:
- the executor alone, draining an outbox of messages and a ban;
- the whole bot, carrying out an admin's /blacklist across 50 groups.
"""

import asyncio
import os
import subprocess
import sys
from collections import Counter

from sqlalchemy import select

from rules.actions import BanMember, SendMessage
from sandbox import Membership, World
from sandbox.server import SandboxServer
from sandbox.talk import Talk
from storage.db import create_engine, create_session_factory
from storage.models import Outbox
from storage.outbox import OutboxRepository
from tests.reliability.conftest import REPO, ban_calls, seed_groups, wait_until

GROUPS = 50


def _drain(db_url: str, base_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "reliability" / "drain_outbox.py"), db_url, base_url],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


async def test_outbox_survives_kill_9_mid_drain(app_db_url, gate):
    world = World()
    members = Membership(world)
    olga = world.add_user("olga", owner=True)
    groups = [world.add_group(f"g{n}", f"Club {n}", owner=olga) for n in range(4)]
    spammer = world.add_user("spammer")
    for group in groups:
        members.add_bot(group, by=olga)
        members.join(spammer, group)
    engine = create_engine(app_db_url)
    sessions = create_session_factory(engine)
    async with sessions() as s:
        for i in range(60):
            group = groups[i % 4]
            await OutboxRepository(s).add(SendMessage(chat_id=group.id, text=f"row {i}"))
        await OutboxRepository(s).add(BanMember(chat_id=groups[0].id, user_id=spammer.id))
        await s.commit()
    async with SandboxServer(world) as server:
        first = _drain(app_db_url, server.base_url)
        try:
            for _ in range(600):
                if len(world.calls("sendMessage")) >= 15:
                    break
                await asyncio.sleep(0.02)
            gate.close()  # calls now on their way stay on their way
            await asyncio.sleep(0.5)
            first.kill()
            await asyncio.to_thread(first.wait, 10)
        finally:
            if first.poll() is None:
                first.kill()
        await asyncio.sleep(0.2)
        gate.open()
        async with sessions() as s:
            interrupted = (await s.scalars(select(Outbox).where(Outbox.status != "done"))).all()
        assert interrupted, "the kill came after the work was done: nothing was tested"
        second = _drain(app_db_url, server.base_url)
        assert await asyncio.to_thread(second.wait, 120) == 0
    texts = Counter(c.params.get("text") for c in world.calls("sendMessage") if c.ok)
    assert sorted(texts) == sorted(f"row {i}" for i in range(60))
    assert set(texts.values()) == {1}, [t for t, n in texts.items() if n > 1]
    async with sessions() as s:
        rows = (await s.scalars(select(Outbox))).all()
        assert {r.status for r in rows} == {"done"}
    assert world.is_banned(spammer, groups[0])
    await engine.dispose()


async def test_kill_9_mid_blacklist_fan_out_bans_each_once(sandbox_server, bot_process, gate):
    world, server = sandbox_server
    olga = world.add_user("olga", owner=True)
    olga.started = True
    adam = world.add_user("adam")
    spammer = world.add_user("spammer")
    groups = await seed_groups(
        bot_process.db_url, world, olga, GROUPS, members=(spammer,), admins=(adam,)
    )
    bot_process.base_url, bot_process.owner_ids = server.base_url, world.owner_ids
    # slow enough that the kill finds the fan-out half done
    bot_process.env["SEND_RATE_PER_SECOND"] = "15"
    bot_process.start()
    await bot_process.started(world)

    Talk(world).send(adam, groups[0], f"/blacklist {spammer.id} advertising")

    def banned() -> int:
        return sum(1 for g in groups if world.is_banned(spammer, g))

    await wait_until(
        lambda: banned() >= 10, timeout=60, what="the fan-out to be under way", world=world
    )
    await gate.hold(world)
    await bot_process.kill()
    gate.open()
    at_kill = banned()
    assert at_kill < GROUPS, "the kill came after the fan-out was done: nothing was tested"

    bot_process.start()
    await bot_process.started(world)
    await wait_until(
        lambda: banned() == GROUPS, timeout=60, what="the ban in every group", world=world
    )
    await wait_until(
        lambda: any("is blacklisted" in m.text for m in world.bot_messages(groups[0])),
        timeout=30,
        what="the answer to /blacklist",
        world=world,
    )
    await asyncio.sleep(1.0)  # anything repeated would come now
    assert await bot_process.stop() == 0

    bans = ban_calls(world)
    assert {key for key in bans if key[1] == spammer.id} == {(g.id, spammer.id) for g in groups}
    doubled = {key: n for key, n in bans.items() if n > 1}
    assert not doubled, f"banned {at_kill} before the kill; ban calls made twice: {doubled}"
    answers = [m.text for m in world.bot_messages(groups[0]) if "is blacklisted" in m.text]
    assert len(answers) == 1, answers
    assert "Traceback" not in bot_process.log, bot_process.log[-4000:]
