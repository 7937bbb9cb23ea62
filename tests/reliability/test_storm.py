"""A 429 storm: Telegram refuses every chat-changing call for a while, with a retry_after.

Ads keep arriving in three groups during it. The bot must wait as long as it is told (a probe
per group and retry_after at most, never a hot loop of refused calls), lose nothing, fail
nothing for good, and carry everything out once the storm is over.
"""

import itertools
import time
from collections import defaultdict

from sqlalchemy import select

from sandbox.limits import CHAT_CHANGING
from storage.models import Outbox
from tests.reliability.conftest import ad_text, ok_ids

STORM_SECONDS = 6.0
RETRY_AFTER = 2


async def test_429_storm_is_waited_out_and_nothing_is_lost(live):
    world, groups = live.world, list(live.groups.values())
    spammers = [live.user(f"spam{n}") for n in range(len(groups) * 2)]
    for n, spammer in enumerate(spammers):
        live.members.join(spammer, groups[n % len(groups)])
    await live.settle()
    before = len(world.journal)

    stormed_at = time.time()
    world.storm(seconds=STORM_SECONDS, retry_after=RETRY_AFTER)
    ads = []
    for n, spammer in enumerate(spammers):  # ads arrive all through the storm
        group = groups[n % len(groups)]
        ads.append((group, live.talk.send(spammer, group, ad_text(n))))
        await world.changed(STORM_SECONDS / len(spammers))
    await live.wait_for(lambda: all(ad.deleted for _, ad in ads), timeout=STORM_SECONDS + 30)
    for group in groups:
        await live.wait_bot_says(group, "removed", timeout=30)
    await live.settle()
    ended = stormed_at + STORM_SECONDS

    refused = [c for c in world.journal[before:] if c.error_code == 429]
    assert refused, "no call was refused: the storm tested nothing"
    assert all(c.at < ended + 0.5 for c in refused)
    in_storm = [c for c in world.journal[before:] if c.at < ended and c.method in CHAT_CHANGING]
    assert all(not c.ok for c in in_storm), "a call got through the storm"
    # retry_after is honoured per chat: a probe, then silence for as long as Telegram said
    by_chat = defaultdict(list)
    for call in refused:
        by_chat[int(call.params["chat_id"])].append(call.at)
    for chat_id, times in by_chat.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= RETRY_AFTER - 0.2 for gap in gaps), (chat_id, gaps)
    probes = len(groups) * (int(STORM_SECONDS / RETRY_AFTER) + 1)
    assert len(refused) <= probes, f"{len(refused)} refused calls, {probes} probes at most"
    print(
        f"\nstorm: {len(refused)} calls refused in {len(by_chat)} chats; all done {time.time() - ended:.1f} s after it"
    )

    deleted = ok_ids(world)
    assert all(deleted[(g.id, ad.message_id)] == 1 for g, ad in ads)
    for group in groups:
        assert live.bot_texts(group), f"nothing said in {group.key} after the storm"
    async with live.session() as session:
        rows = (await session.scalars(select(Outbox))).all()
    # cancelled: a welcome for people blacklisted meanwhile; nothing failed for good
    settled = ("done", "pending", "cancelled")
    assert {r.status for r in rows} <= set(settled), [
        (r.kind, r.status, r.last_error) for r in rows if r.status not in settled
    ]
    assert all(r.not_before is not None for r in rows if r.status == "pending")  # tidying later
    assert live.app.executor.stats.failed == 0
