"""Poison updates: one the library cannot parse, one whose handling fails every time.

Both arrive by long polling among normal updates of the same group. Each is set aside (its
inbox row quarantined with the error, logged once), the group's later updates are handled in
their turn, and the poller keeps its cadence: no hot loop of getUpdates while the poison is
tried and set aside, and a quiet long poll afterwards.
"""

import asyncio
import logging

from sqlalchemy import select
from telegram import Update
from telegram.ext import TypeHandler

from storage.models import Inbox
from tests.reliability.conftest import ad_text

BOOM = "this message breaks a handler"


async def test_poison_updates_are_set_aside_and_the_rest_flow_on(live, caplog, monkeypatch):
    monkeypatch.setattr("bot.intake.RETRY_DELAYS", (0.3, 0.3))
    caplog.set_level(logging.INFO)
    world, g1, g2 = live.world, live.groups["g1"], live.groups["g2"]
    tries: list[int] = []

    async def breaks(update: object, context: object) -> None:
        message = update.effective_message if isinstance(update, Update) else None
        if message is not None and message.text == BOOM:
            tries.append(update.update_id)
            raise RuntimeError("a handler bug")

    live.app.app.add_handler(TypeHandler(Update, breaks), group=-10)
    await live.join("spammer", g1)
    await live.join("carol", g1)
    polls_before = len(world.calls("getUpdates"))

    before = live.talk.send(live.users["adam"], g1, "/rules")
    unparseable = world.push_raw(
        {
            "message": {
                "message_id": 999,
                "chat": {"id": g1.id, "type": "supergroup"},
                "date": "soon",
            }
        }
    )
    failing = live.talk.send(live.users["carol"], g1, BOOM)
    ad = live.talk.send(live.users["spammer"], g1, ad_text(1))
    elsewhere = live.talk.send(live.users["adam"], g2, "/rules")
    assert None not in (before, failing, ad, elsewhere)

    await live.wait_for(lambda: ad.deleted, timeout=20)
    await live.wait_bot_says(g1, "Warning 1 of 2")
    await live.wait_bot_says(g2, "No ads")
    await live.settle()
    episode = len(world.calls("getUpdates")) - polls_before

    quiet_from = len(world.calls("getUpdates"))
    await asyncio.sleep(3.0)
    quiet = len(world.calls("getUpdates")) - quiet_from

    await live.rt.activity.flush()  # updates that decided nothing are marked with the counts
    async with live.session() as session:
        rows = {r.update_id: r for r in (await session.scalars(select(Inbox))).all()}
    poisoned = rows[unparseable]
    assert poisoned.status == "quarantined"
    assert "cannot be parsed" in poisoned.error
    failed = [r for r in rows.values() if r.error and "a handler bug" in r.error]
    assert len(failed) == 1
    assert failed[0].status == "quarantined"
    assert len(tries) == 3  # tried, tried again twice, set aside
    assert caplog.text.count(f"update {unparseable} set aside") == 1
    assert caplog.text.count(f"update {failed[0].update_id} set aside") == 1
    others = [r for u, r in rows.items() if u not in (unparseable, failed[0].update_id)]
    assert {r.status for r in others} == {"done"}
    assert live.app.intake.backlog == 0
    assert episode <= 10, f"{episode} getUpdates while the poison was handled"
    assert quiet <= 1, f"{quiet} getUpdates in 3 quiet seconds: the poller spins"
