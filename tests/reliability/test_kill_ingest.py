"""kill -9 of the running bot in the middle of a burst of ads: no ad is left standing, none is
handled twice.

400 ads from 200 accounts (each posts two: the first is removed with a warning, the second
blacklists the account in every group) arrive at once. The bot fetches them from the sandbox
faster than it handles them, so by the time it is killed Telegram has been told it received
every one of them while most were not handled yet. A second run on the same database must
finish them all from its inbox.

The kill comes while calls on their way are held (`Gate`): a call Telegram answered is
recorded by then, and one it never received is not carried out, so "exactly once" is what the
bot promises and not luck of timing.
"""

import asyncio
import re
import time

from sqlalchemy import func, select

from sandbox.talk import Talk
from storage.db import create_engine, create_session_factory
from storage.models import BlacklistEntry, Inbox
from tests.reliability.conftest import ad_text, ban_calls, ok_ids, seed_groups, wait_until

ACCOUNTS = 200
GROUPS = 2


async def _inbox(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.execute(select(Inbox.status, func.count()).group_by(Inbox.status))
            return {str(status): int(n) for status, n in rows}
    finally:
        await engine.dispose()


def _count(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else 0


def _warned(world, group) -> int:
    """Ads the bot's warnings in the group speak of: one each, or a summary's count."""
    return sum(
        _count(r"Removed (\d+) ads", m.text) or ("Warning 1 of 2" in m.text)
        for m in world.bot_messages(group)
    )


async def test_kill_9_mid_ingest_burst_leaves_no_ad_unhandled(sandbox_server, bot_process, gate):
    world, server = sandbox_server
    olga = world.add_user("olga", owner=True)
    olga.started = True
    accounts = [world.add_user(f"ads{n}") for n in range(ACCOUNTS)]
    groups = await seed_groups(bot_process.db_url, world, olga, GROUPS, members=accounts)
    bot_process.base_url, bot_process.owner_ids = server.base_url, world.owner_ids
    bot_process.env["SEND_RATE_PER_SECOND"] = "200"
    bot_process.start()
    await bot_process.started(world)

    talk = Talk(world)
    ads = []
    for second in (False, True):
        for n, account in enumerate(accounts):
            message = talk.send(account, groups[n % GROUPS], ad_text(n, second))
            assert message is not None
            ads.append((groups[n % GROUPS], message))
    last_update = world.updates.next_id - 1
    started = time.monotonic()

    def removed() -> int:
        return sum(1 for group, ad in ads if ad.deleted)

    # Killed once Telegram was told of every update but only some were carried out.
    await wait_until(
        lambda: world.updates.confirmed > last_update and removed() >= 20,
        timeout=60,
        what="the bot to acknowledge the burst and remove some ads",
        world=world,
    )
    await gate.hold(world)
    await bot_process.kill()
    killed_at = time.monotonic() - started
    gate.open()
    at_kill = await _inbox(bot_process.db_url)
    removed_at_kill = removed()
    assert at_kill.get("pending", 0) > 0, f"the kill came after the work was done: {at_kill}"
    assert sum(at_kill.values()) == len(ads), f"not every update was stored: {at_kill}"
    assert not world.updates._pending, "Telegram still holds updates: the kill proves nothing"
    assert removed_at_kill < len(ads)

    bot_process.start()
    await bot_process.started(world)
    restarted = time.monotonic() - started
    await wait_until(
        lambda: (
            removed() == len(ads) and all(world.is_banned(a, g) for a in accounts for g in groups)
        ),
        timeout=90,
        what="every ad removed and every repeater banned after the restart",
        world=world,
    )
    await wait_until(
        lambda: not world.busy, timeout=10, what="the bot's calls to finish", world=world
    )
    # the bans come back as member updates: wait until those are handled too (a stop before
    # would leave them, rightly, for the next start)
    deadline = time.monotonic() + 60
    while set(await _inbox(bot_process.db_url)) != {"done"} or world.updates._pending:
        assert time.monotonic() < deadline, await _inbox(bot_process.db_url)
        await asyncio.sleep(0.5)
    finished = time.monotonic() - started
    assert await bot_process.stop() == 0
    print(
        f"\nkill -9 at {killed_at:.1f} s with {removed_at_kill}/{len(ads)} ads removed and "
        f"{at_kill.get('pending', 0)} updates pending; polling again at {restarted:.1f} s; "
        f"all done at {finished:.1f} s"
    )

    deleted = ok_ids(world)
    ad_ids = {(g.id, ad.message_id) for g, ad in ads}
    assert ad_ids <= set(deleted)
    twice = {key: n for key, n in deleted.items() if n > 1}
    assert not twice, f"messages deleted more than once: {twice}"
    bans = ban_calls(world)
    assert set(bans) >= {(g.id, a.id) for a in accounts for g in groups}
    doubled = {key: n for key, n in bans.items() if n > 1}
    assert not doubled, f"ban calls made twice: {doubled}"
    for group in groups:  # each first ad warned about once at most (the summaries gather)
        assert _warned(world, group) <= ACCOUNTS // GROUPS, "an ad was warned about twice"
    reports = [m.text for m in world.private_messages_to(olga) if m.text.startswith("🚫")]
    reported = sum(_count(r"(\d+) accounts? blacklisted", text) for text in reports)
    assert reported <= ACCOUNTS, "an account was reported to the owner twice"

    after = await _inbox(bot_process.db_url)
    # the bans come back as member updates: every one of them is handled too
    assert set(after) == {"done"}, after
    assert after["done"] > len(ads)
    engine = create_engine(bot_process.db_url)
    async with create_session_factory(engine)() as session:
        listed = await session.scalar(select(func.count()).select_from(BlacklistEntry))
    await engine.dispose()
    assert listed == ACCOUNTS
    assert "Traceback" not in bot_process.log, bot_process.log[-4000:]
