"""Deleting messages and banning, answered as Telegram answers them."""

import pytest

from sandbox import Membership, Talk, bot_api
from tests.sandbox.conftest import small_world


def call(world, method, **params):
    return bot_api.call(world, method, params)


def spam_world(*, bot_admin: bool = True):
    world = small_world()
    members, talk = Membership(world), Talk(world)
    members.add_bot("g1", by="olga", as_admin=bot_admin)
    members.join("alice", "g1")
    ads = [talk.send("alice", "g1", f"ad {n}") for n in range(3)]
    return world, ads


def test_delete_messages_deletes_what_it_finds_and_skips_the_rest():
    world, ads = spam_world()
    g1 = world.chats["g1"]
    ids = [ads[0].message_id, 9_999, ads[2].message_id, ads[2].message_id]
    assert call(world, "deleteMessages", chat_id=g1.id, message_ids=ids) == (
        200,
        {"ok": True, "result": True},
    )
    assert [m.deleted for m in ads] == [True, False, True]
    # none of them there any more: still True, as on Telegram
    assert call(world, "deleteMessages", chat_id=g1.id, message_ids=[ads[0].message_id, 9_999])[0]
    assert len(world.deleted_messages("g1")) == 2


def test_delete_messages_takes_up_to_100_ids():
    world, ads = spam_world()
    ids = [m.message_id for m in ads] + list(range(10_000, 10_097))
    assert len(ids) == 100
    assert call(world, "deleteMessages", chat_id=world.chats["g1"].id, message_ids=ids)[0] == 200
    assert all(m.deleted for m in ads)


@pytest.mark.parametrize(
    ("message_ids", "description"),
    [
        (None, "Bad Request: message identifiers are not specified"),
        ([], "Bad Request: message identifiers are not specified"),
        (list(range(1, 102)), "Bad Request: too many message identifiers specified"),
        (5, "Bad Request: expected an Array of message identifiers"),
        ("[1,", "Bad Request: can't parse message_ids JSON object"),
        ([1, None], "Bad Request: message identifier must be a Number"),
        ([1, "x"], "Bad Request: can't parse message identifier as a Number"),
        ([1, 0], "Bad Request: invalid message identifier specified"),
    ],
    ids=["missing", "empty", "101-ids", "not-a-list", "bad-json", "null-id", "text-id", "zero-id"],
)
def test_delete_messages_refuses_ids_as_telegram_does(message_ids, description):
    world, ads = spam_world()
    params = {"chat_id": world.chats["g1"].id}
    if message_ids is not None:
        params["message_ids"] = message_ids
    assert call(world, "deleteMessages", **params) == (
        400,
        {"ok": False, "error_code": 400, "description": description},
    )
    assert not any(m.deleted for m in ads)


def test_delete_messages_of_others_needs_the_right():
    world, ads = spam_world(bot_admin=False)
    status, body = call(
        world, "deleteMessages", chat_id=world.chats["g1"].id, message_ids=[ads[0].message_id]
    )
    assert (status, body["description"]) == (400, "Bad Request: message can't be deleted")
    assert not ads[0].deleted


@pytest.mark.parametrize("revoke", [True, False], ids=["revoke", "keep"])
def test_ban_leaves_the_users_messages_for_everyone_else(revoke):
    """revoke_messages takes the history away from the banned user; it deletes nothing."""
    world, ads = spam_world()
    g1, alice = world.chats["g1"], world.users["alice"]
    params = {"revoke_messages": True} if revoke else {}
    assert call(world, "banChatMember", chat_id=g1.id, user_id=alice.id, **params)[0] == 200
    assert world.is_banned("alice", "g1")
    assert [m.deleted for m in ads] == [False, False, False]
    ids = [m.message_id for m in world.user_messages("alice", "g1")]
    assert call(world, "deleteMessages", chat_id=g1.id, message_ids=ids)[0] == 200
    assert world.user_messages("alice", "g1") == []
