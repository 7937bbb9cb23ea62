"""Benchmark: blacklisting one account across many groups, against the sandbox's limits.

The full bot runs against the local Bot API (127.0.0.1) with N groups of one alliance; an admin
sends `/blacklist <id>` in one of them. Measured: the time until the account is banned in every
group, against the ideal the send limits allow (every call paced at SEND_RATE_PER_SECOND, so
calls / rate seconds). The figure is ideal / measured (1.0 = as fast as the limits allow), and
the number of 429 answers (target: none).

    python -m bench.fanout [--groups 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._results import save
from bot import migrate
from bot.app import build, running
from bot.settings import Settings
from sandbox.model import ADMIN_RIGHTS, Member
from sandbox.server import SandboxServer
from sandbox.talk import Talk
from sandbox.world import World
from storage.groups import AllianceRepository, ChatRepository

TOKEN = "7000000001:SANDBOXSANDBOXSANDBOX"


async def run(groups: int, db: Path) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{db}"
    await migrate.upgrade(url)
    world = World()
    olga = world.add_user("olga", owner=True)
    adam = world.add_user("adam")
    spammer = world.add_user("spammer")
    chats = []
    for n in range(groups):
        chat = world.add_group(f"g{n}", f"Club {n}", owner=olga, admins=(adam,), members=(spammer,))
        chat.members[world.bot.id] = Member(world.bot, "administrator", dict(ADMIN_RIGHTS))
        chats.append(chat)
    async with SandboxServer(world) as server:
        settings = Settings(
            _env_file=None,
            database_url=url,
            owner_ids=[olga.id],
            telegram_api_base_url=server.base_url,
            default_language="en",
        )
        deployment = await build(settings, token=TOKEN)
        async with running(deployment):
            async with deployment.runtime.sessions() as session:
                alliance = (await AllianceRepository(session).list_all())[0]
                for chat in chats:
                    await ChatRepository(session).upsert(
                        chat.id,
                        title=chat.title,
                        type="supergroup",
                        status="active",
                        alliance_id=alliance.id,
                    )
                await session.commit()
            calls_before = len(world.journal)
            started = time.perf_counter()
            Talk(world).send(adam, chats[0], f"/blacklist {spammer.id} advertising")
            while not all(world.is_banned(spammer, c) for c in chats):
                await world.changed(0.05)
            elapsed = time.perf_counter() - started
            changing = [
                c
                for c in world.journal[calls_before:]
                if c.method not in ("getUpdates", "getChatAdministrators", "getMe")
            ]
    rate = settings.send_rate_per_second
    by_method: dict[str, int] = {}
    for entry in changing:
        by_method[entry.method] = by_method.get(entry.method, 0) + 1
    ideal = len(changing) / rate
    return {
        "benchmark": "fanout",
        "groups": groups,
        "calls": len(changing),
        "seconds": round(elapsed, 2),
        "ideal_seconds": round(ideal, 2),
        "ratio_ideal_over_measured": round(ideal / elapsed, 3),
        "answers_429": world.too_many_requests,
        "calls_by_method": by_method,
        "limits": {"per_second": rate, "per_group_per_minute": world.limits.per_chat_per_minute},
    }


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = await run(args.groups, Path(tmp) / "fanout.db")
    print(
        f"banned in {result['groups']} groups: {result['calls']} calls in {result['seconds']} s;"
        f" ideal {result['ideal_seconds']} s; ratio {result['ratio_ideal_over_measured']}"
        f" (target >= 0.9); 429 answers: {result['answers_429']} (target 0)"
    )
    save(args.json, result)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    asyncio.run(main())
