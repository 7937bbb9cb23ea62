"""The update queue with raw updates, the storm switch, and many messages at once."""

import pytest

from sandbox import Membership, Talk, bot_api
from sandbox.limits import CHAT_CHANGING
from tests.sandbox.conftest import small_world


def call(world, method, **params):
    return bot_api.call(world, method, params)


def fetch(world, **params):
    status, body = call(world, "getUpdates", **params)
    assert status == 200, body
    return body["result"]


def group_world(**limits):
    world = small_world(**limits)
    members = Membership(world)
    members.add_bot("g1", by="olga")
    members.join("alice", "g1")
    call(world, "getUpdates", offset=world.updates.next_id)
    return world


# ---- raw updates ---------------------------------------------------------------------------
def test_push_raw_gets_the_next_update_id_and_reaches_the_bot_as_it_is():
    world = group_world()
    before = world.updates.next_id
    malformed = {"message": {"chat": "nonsense", "date": "yesterday"}}
    update_id = world.push_raw(malformed)
    Talk(world).send("alice", "g1", "after it")
    updates = fetch(world)
    assert update_id == before
    assert updates[0] == {"update_id": before, "message": {"chat": "nonsense", "date": "yesterday"}}
    assert updates[1]["update_id"] == before + 1
    assert updates[1]["message"]["text"] == "after it"
    assert "update_id" not in malformed  # the caller's dict is left alone


def test_push_raw_keeps_its_own_update_id_in_order_and_moves_the_counter_on():
    world = group_world()
    first = world.updates.next_id
    assert world.push_raw({"update_id": first + 10, "message": {"text": "late"}}) == first + 10
    assert world.push_raw({"update_id": first + 5, "edited_message": None}) == first + 5
    assert world.push_raw({"poll": [1, 2, 3]}) == first + 11
    ids = [u["update_id"] for u in fetch(world)]
    assert ids == [first + 5, first + 10, first + 11]
    fetch(world, offset=first + 11)
    assert [u["update_id"] for u in world.updates] == [first + 11]


def test_push_raw_of_an_already_confirmed_id_is_delivered_once():
    world = group_world()
    old = world.updates.next_id - 1
    world.push_raw({"update_id": old, "message": {"text": "again"}})
    assert [u["update_id"] for u in fetch(world)] == [old]
    fetch(world, offset=old + 1)  # what PTB sends next
    assert fetch(world) == []


def test_push_raw_of_an_unknown_kind_is_delivered_whatever_the_bot_asked_for():
    world = group_world()
    world.push_raw({"update_id": 500, "surprise": {"x": 1}})
    world.push_raw({"update_id": 501})
    world.push_raw({"update_id": 502, "chat_member": {"x": 1}})  # known, not asked for: dropped
    updates = fetch(world, allowed_updates=["message"])
    assert updates == [{"update_id": 500, "surprise": {"x": 1}}, {"update_id": 501}]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"message": {1, 2}}, "not JSON serializable"),
        ({"update_id": "7", "message": {}}, "update_id must be an integer"),
        ({"update_id": True, "message": {}}, "update_id must be an integer"),
    ],
    ids=["not-json", "string-id", "bool-id"],
)
def test_push_raw_refuses_what_cannot_travel(payload, error):
    world = small_world()
    with pytest.raises(TypeError, match=error):
        world.push_raw(payload)
    assert len(world.updates) == 0


# ---- the storm switch ----------------------------------------------------------------------
def test_storm_answers_429_to_every_chat_changing_call_for_its_seconds():
    now = [100.0]
    world = group_world(clock=lambda: now[0])
    g1, alice = world.chats["g1"], world.users["alice"]
    said = Talk(world).send("alice", "g1", "buy now")
    world.storm(seconds=5, retry_after=2)
    refused = {
        "sendMessage": {"text": "hi"},
        "deleteMessage": {"message_id": said.message_id},
        "deleteMessages": {"message_ids": [said.message_id]},
        "banChatMember": {"user_id": alice.id},
        "restrictChatMember": {"user_id": alice.id, "permissions": {"can_send_messages": False}},
        "unbanChatMember": {"user_id": alice.id},
    }
    for method, params in refused.items():
        status, body = call(world, method, chat_id=g1.id, **params)
        assert (status, body) == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 2",
                "parameters": {"retry_after": 2},
            },
        ), method
    assert call(world, "getChatMember", chat_id=g1.id, user_id=alice.id)[0] == 200
    assert call(world, "getMe")[0] == 200
    assert world.too_many_requests == len(refused)
    assert [c.error_code for c in world.calls("banChatMember")] == [429]
    assert "bot was told to wait 2 s (banChatMember: 429 Too Many Requests)" in [
        e.text for e in world.events
    ]
    assert not said.deleted
    assert world.status_of("alice", "g1") == "member"
    now[0] += 5
    assert call(world, "sendMessage", chat_id=g1.id, text="calm again")[0] == 200
    assert call(world, "banChatMember", chat_id=g1.id, user_id=alice.id)[0] == 200


def test_storm_can_be_ended_early_and_names_only_real_methods():
    world = group_world()
    world.storm(seconds=60, retry_after=9)
    assert call(world, "sendMessage", chat_id=world.chats["g1"].id, text="x")[0] == 429
    world.storm(seconds=0, retry_after=0)
    assert call(world, "sendMessage", chat_id=world.chats["g1"].id, text="x")[0] == 200
    assert set(bot_api.METHODS) >= CHAT_CHANGING


# ---- many messages at once -----------------------------------------------------------------
def test_send_many_queues_each_message_as_send_does():
    world = group_world()
    members = Membership(world)
    for n in range(50):
        world.add_user(f"ad{n}")
        members.join(f"ad{n}", "g1")
    fetch(world, offset=world.updates.next_id)
    noted = len(world.events)
    sent = Talk(world).send_many(
        [(f"ad{n}", "g1", f"加微信 ad{n} https://t.me/x{n}") for n in range(50)]
        + [("bob", "g1", "not in g1")]
    )
    assert sent[-1] is None
    assert all(m is not None for m in sent[:-1])
    updates = fetch(world)
    assert [u["message"]["from"]["username"] for u in updates] == [f"ad{n}" for n in range(50)]
    assert updates[0]["message"]["entities"][0]["type"] == "url"
    assert world.user_messages("ad7", "g1")[-1].text == "加微信 ad7 https://t.me/x7"
    assert [e.text for e in world.events[noted:]] == ["(50 of 51 messages sent at once)"]
