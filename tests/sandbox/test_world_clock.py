"""The sandbox's movable date clock, reactions, replies and finding a user's messages."""

import time

import pytest

from sandbox import Membership, Talk, bot_api
from sandbox.posting import message_to_api
from tests.sandbox.conftest import small_world

DAY = 86400
REACTIONS = ("message", "chat_member", "message_reaction", "message_reaction_count")


def fetch(world, allowed=REACTIONS):
    _, body = bot_api.call(world, "getUpdates", {"allowed_updates": list(allowed)})
    return body["result"]


def confirm(world):
    bot_api.call(world, "getUpdates", {"offset": world.updates.next_id})


def payloads(updates, kind):
    return [u[kind] for u in updates if kind in u]


def group_world():
    world = small_world()
    members = Membership(world)
    members.add_bot("g1", by="olga")
    for name in ("alice", "bob"):
        members.join(name, "g1")
    confirm(world)
    return world


def test_clock_shift_dates_new_updates_and_not_past_ones():
    world = group_world()
    members, talk = Membership(world), Talk(world)
    before = talk.send("alice", "g1", "before")
    first_date = message_to_api(world, before)["date"]
    assert abs(first_date - time.time()) < 5
    world.shift(2 * DAY)
    assert abs(world.now() - (time.time() + 2 * DAY)) < 5
    after = talk.send("bob", "g1", "after")
    talk.edit("alice", before, "before, edited")
    world.add_user("carl")
    members.join("carl", "g1")
    members.join_request("olga", "g2", "vip")
    forwarded = talk.send("bob", "g1", "news", forward_from_chat="Crypto News")
    updates = fetch(world, ("message", "edited_message", "chat_member"))
    assert message_to_api(world, before)["date"] == first_date  # the past keeps its date
    assert payloads(updates, "message")[0]["date"] == first_date
    assert after.date - first_date >= 2 * DAY - 5
    assert payloads(updates, "edited_message")[0]["edit_date"] - first_date >= 2 * DAY - 5
    assert payloads(updates, "chat_member")[-1]["date"] - first_date >= 2 * DAY - 5
    assert forwarded.extra["forward_origin"]["date"] - first_date >= 2 * DAY - 5
    world.set_time_offset(-6 * DAY)
    old = talk.send("alice", "g1", "long ago")
    assert abs(old.date - (time.time() - 6 * DAY)) < 5
    world.set_time_offset(0)
    assert abs(world.now() - time.time()) < 5


def test_clock_ban_until_date_runs_on_the_sandbox_clock():
    world = group_world()
    talk = Talk(world)
    g1, alice = world.chats["g1"], world.users["alice"]
    until = world.now() + DAY
    status, _ = bot_api.call(
        world,
        "restrictChatMember",
        {
            "chat_id": g1.id,
            "user_id": alice.id,
            "permissions": {"can_send_messages": False},
            "until_date": until,
        },
    )
    assert status == 200
    assert world.status_of("alice", "g1") == "restricted"
    assert talk.send("alice", "g1", "muted") is None
    world.shift(DAY + 60)
    assert world.status_of("alice", "g1") == "member"
    assert talk.send("alice", "g1", "free again") is not None


def test_react_emits_reaction_and_count_with_old_and_new():
    world = group_world()
    members, talk = Membership(world), Talk(world)
    said = talk.send("bob", "g1", "周六集合")
    confirm(world)
    assert talk.react("alice", "g1", said.message_id, "👍") is said
    world.add_user("carl")
    assert talk.react("carl", "g1", said, "👍") is None  # carl is not in g1
    members.join("carl", "g1")
    talk.react("carl", "g1", said, "👍")
    talk.react("alice", "g1", said, "❤")
    updates = fetch(world)
    reactions = payloads(updates, "message_reaction")
    counts = payloads(updates, "message_reaction_count")
    assert [(r["user"]["id"], r["old_reaction"], r["new_reaction"]) for r in reactions] == [
        (world.users["alice"].id, [], [{"type": "emoji", "emoji": "👍"}]),
        (world.users["carl"].id, [], [{"type": "emoji", "emoji": "👍"}]),
        (
            world.users["alice"].id,
            [{"type": "emoji", "emoji": "👍"}],
            [{"type": "emoji", "emoji": "❤"}],
        ),
    ]
    assert all(
        r["message_id"] == said.message_id and r["chat"]["id"] == said.chat_id
        for r in reactions + counts
    )
    assert counts[0]["reactions"] == [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 1}]
    assert counts[1]["reactions"] == [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 2}]
    assert counts[2]["reactions"] == [
        {"type": {"type": "emoji", "emoji": "👍"}, "total_count": 1},
        {"type": {"type": "emoji", "emoji": "❤"}, "total_count": 1},
    ]
    kinds = [next(k for k in u if k != "update_id") for u in updates][-2:]
    assert kinds == ["message_reaction", "message_reaction_count"]
    assert "alice changed 👍 to ❤ on #" in world.events[-1].line()


def test_react_again_with_the_same_emoji_is_a_no_op():
    world = group_world()
    talk = Talk(world)
    said = talk.send("bob", "g1", "hi")
    talk.react("alice", "g1", said, "👍")
    confirm(world)
    queued, noted = len(world.updates), len(world.events)
    assert talk.react("alice", "g1", said, "👍") is None
    assert (len(world.updates), len(world.events)) == (queued, noted)
    assert said.reactions == {world.users["alice"].id: ["👍"]}
    talk.react("alice", "g1", said, None)  # taking it back
    taken = payloads(fetch(world), "message_reaction_count")
    assert said.reactions == {}
    assert taken[-1]["reactions"] == []


def test_react_updates_follow_allowed_updates_and_bot_rights():
    world = group_world()
    talk = Talk(world)
    said = talk.send("bob", "g1", "hi")
    confirm(world)
    talk.react("alice", "g1", said, "👍")
    only_counts = fetch(world, ("message", "message_reaction_count"))
    assert [k for u in only_counts for k in u if k != "update_id"] == ["message_reaction_count"]
    member_world = small_world()
    member_members, member_talk = Membership(member_world), Talk(member_world)
    member_members.add_bot("g1", by="olga", as_admin=False)
    member_members.join("alice", "g1")
    member_members.join("bob", "g1")
    note = member_talk.send("bob", "g1", "hi")
    queued = len(member_world.updates)
    member_talk.react("alice", "g1", note, "🔥")
    assert len(member_world.updates) == queued  # Telegram tells admins only
    assert note.reaction_counts() == [{"type": {"type": "emoji", "emoji": "🔥"}, "total_count": 1}]


def test_reply_carries_a_full_reply_to_message_without_nesting():
    world = group_world()
    talk = Talk(world)
    first = talk.send("bob", "g1", "周六几点？")
    second = talk.send("alice", "g1", "九点", reply_to=first)
    third = talk.send("bob", "g1", "好", reply_to=second)
    updates = payloads(fetch(world), "message")
    replied = updates[-2]["reply_to_message"]
    assert replied["message_id"] == first.message_id
    assert replied["text"] == "周六几点？"
    assert replied["from"]["id"] == world.users["bob"].id
    assert replied["chat"]["id"] == first.chat_id
    assert replied["date"] == first.date
    nested = updates[-1]["reply_to_message"]
    assert nested["message_id"] == second.message_id
    assert "reply_to_message" not in nested
    assert third.extra["_reply_to"] == second.message_id


def test_user_messages_and_last_message_of_skip_service_and_deleted():
    world = group_world()
    talk = Talk(world)
    assert world.user_messages("alice", "g1") == []  # her join is a service message
    one = talk.send("alice", "g1", "one")
    two = talk.send("alice", "g1", "two")
    talk.send("bob", "g1", "bob's")
    assert world.user_messages("alice", "g1") == [one, two]
    assert world.last_message_of("alice", "g1") is two
    two.deleted = True
    assert world.last_message_of(world.users["alice"].id, world.chats["g1"]) is one
    with pytest.raises(KeyError, match="olga has no message in g1"):
        world.last_message_of("olga", "g1")
