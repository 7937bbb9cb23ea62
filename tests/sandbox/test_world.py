"""The sandbox world alone: members, rights, bans, limits, the update queue, settling."""

import time

import pytest

from sandbox import Membership, Talk, World, bot_api
from sandbox.markup import parse_html
from tests.sandbox.conftest import small_world


def call(world, method, **params):
    status, body = bot_api.call(world, method, params)
    return status, body


def kinds(updates):
    return [next(k for k in u if k != "update_id") for u in updates]


def fetch(
    world,
    allowed=(
        "message",
        "chat_member",
        "my_chat_member",
        "callback_query",
        "chat_join_request",
        "edited_message",
    ),
):
    _, body = call(world, "getUpdates", allowed_updates=list(allowed))
    return body["result"]


def test_world_ban_refuses_reentry_until_unbanned(world):
    members = Membership(world)
    members.add_bot("g1", by="olga")
    members.join("alice", "g1")
    status, body = call(
        world, "banChatMember", chat_id=world.chats["g1"].id, user_id=world.users["alice"].id
    )
    assert (status, body) == (200, {"ok": True, "result": True})
    assert world.is_banned("alice", "g1")
    assert members.join("alice", "g1") is None
    assert world.refused == [("alice", "g1")]
    assert "alice tried to join: refused, banned" in world.events[-1].line()
    call(
        world,
        "unbanChatMember",
        chat_id=world.chats["g1"].id,
        user_id=world.users["alice"].id,
        only_if_banned=True,
    )
    assert world.status_of("alice", "g1") == "left"
    assert members.join("alice", "g1") is not None


def test_world_unban_only_if_banned_keeps_member(world):
    members = Membership(world)
    members.add_bot("g1", by="olga")
    members.join("bob", "g1")
    g1, bob = world.chats["g1"], world.users["bob"]
    call(world, "unbanChatMember", chat_id=g1.id, user_id=bob.id, only_if_banned=True)
    assert world.status_of("bob", "g1") == "member"
    call(world, "unbanChatMember", chat_id=g1.id, user_id=bob.id)
    assert world.status_of("bob", "g1") == "left"  # Telegram removes a member unbanned plainly


@pytest.mark.parametrize(
    ("setup", "method", "target", "code", "description"),
    [
        (
            "member",
            "banChatMember",
            "alice",
            400,
            "Bad Request: not enough rights to restrict/unrestrict chat member",
        ),
        (
            "admin",
            "banChatMember",
            "adam",
            400,
            "Bad Request: user is an administrator of the chat",
        ),
        ("admin", "banChatMember", "olga", 400, "Bad Request: can't remove chat owner"),
        (
            "absent",
            "banChatMember",
            "alice",
            403,
            "Forbidden: bot is not a member of the supergroup chat",
        ),
        ("kicked", "sendMessage", None, 403, "Forbidden: bot was kicked from the supergroup chat"),
        ("member", "deleteMessage", "alice", 400, "Bad Request: message can't be deleted"),
        ("admin", "deleteMessage", 999, 400, "Bad Request: message to delete not found"),
        ("admin", "restrictChatMember", "olga", 400, "Bad Request: can't restrict chat owner"),
    ],
    ids=[
        "ban-without-rights",
        "ban-admin",
        "ban-owner",
        "bot-absent",
        "bot-kicked",
        "delete-without-rights",
        "delete-missing",
        "restrict-owner",
    ],
)
def test_world_rights_answer_as_telegram(world, setup, method, target, code, description):
    members, talk = Membership(world), Talk(world)
    g1 = world.chats["g1"]
    members.join("alice", "g1")
    said = talk.send("alice", "g1", "hi")
    if setup in ("member", "admin", "kicked"):
        members.add_bot("g1", by="olga", as_admin=setup == "admin")
    if setup == "kicked":
        members.remove_bot("g1", by="olga")
    params = {"chat_id": g1.id}
    if method == "deleteMessage":
        params["message_id"] = said.message_id if target == "alice" else target
    elif method == "sendMessage":
        params["text"] = "hello"
    else:
        params["user_id"] = world.users[target].id
        params["permissions"] = {"can_send_messages": False}
    status, body = call(world, method, **params)
    assert (status, body["error_code"], body["description"]) == (code, code, description)
    assert world.calls(method)[-1].error == description
    assert not world.is_banned("alice", "g1")


def test_world_private_message_needs_start_and_unknown_method_404(world):
    talk = Talk(world)
    alice = world.users["alice"]
    status, body = call(world, "sendMessage", chat_id=alice.id, text="hi")
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot can't initiate conversation with a user",
    )
    talk.private("alice", "/start")
    assert call(world, "sendMessage", chat_id=alice.id, text="hi")[0] == 200
    assert [m.text for m in world.private_messages_to("alice")] == ["hi"]
    assert (
        call(world, "sendMessage", chat_id=-42, text="x")[1]["description"]
        == "Bad Request: chat not found"
    )
    assert call(world, "fooBar")[1] == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }


def test_world_rate_limits_answer_429_with_retry_after():
    now = [1000.0]
    world = small_world(per_chat_per_minute=20, per_second=30, clock=lambda: now[0])
    members, talk = Membership(world), Talk(world)
    members.add_bot("g1", by="olga")
    g1 = world.chats["g1"]
    for n in range(20):
        now[0] += 0.5
        assert call(world, "sendMessage", chat_id=g1.id, text=f"m{n}")[0] == 200
    status, body = call(world, "sendMessage", chat_id=g1.id, text="one too many")
    assert status == 429
    assert body["description"].startswith("Too Many Requests: retry after ")
    assert body["parameters"]["retry_after"] == 51  # the first send leaves the window in 50.5 s
    user_message = talk.send("adam", "g1", "x")
    assert call(world, "deleteMessage", chat_id=g1.id, message_id=user_message.message_id)[0] == 200
    now[0] += 51
    assert call(world, "sendMessage", chat_id=g1.id, text="later")[0] == 200
    assert world.too_many_requests == 1
    world.limits.enforce = False
    assert all(call(world, "sendMessage", chat_id=g1.id, text="x")[0] == 200 for _ in range(25))


def test_world_rate_limit_per_second_overall():
    now = [50.0]
    world = small_world(per_second=30, clock=lambda: now[0])
    talk = Talk(world)
    for user in ("alice", "bob", "adam", "olga"):
        talk.private(user, "/start")
    ids = [world.users[u].id for u in ("alice", "bob", "adam", "olga")]
    answers = [call(world, "sendMessage", chat_id=ids[n % 4], text="x")[0] for n in range(31)]
    assert answers.count(200) == 30
    assert answers[-1] == 429
    now[0] += 1.01
    assert call(world, "sendMessage", chat_id=ids[0], text="x")[0] == 200


def test_world_join_updates_in_telegram_order(world):
    members = Membership(world)
    members.add_bot("g1", by="olga")
    assert kinds(fetch(world)) == ["my_chat_member", "message"]
    call(world, "getUpdates", offset=world.updates.next_id)
    members.join("bob", "g1", inviter="alice")
    member, message = fetch(world)
    assert member["chat_member"]["from"]["id"] == world.users["alice"].id
    assert member["chat_member"]["new_chat_member"]["status"] == "member"
    assert message["message"]["from"]["id"] == world.users["alice"].id
    assert message["message"]["new_chat_members"][0]["id"] == world.users["bob"].id
    world.add_user("carl")
    members.join("carl", "g1", invite_link="spring")
    via_link = fetch(world)[-2]["chat_member"]
    assert via_link["from"]["id"] == world.users["carl"].id
    assert via_link["invite_link"]["name"] == "spring"
    assert via_link["invite_link"]["creator"]["id"] == world.users["olga"].id


def test_world_chat_member_updates_only_when_asked(world):
    members = Membership(world)
    members.add_bot("g1", by="olga")
    members.join("alice", "g1")
    assert "chat_member" not in kinds(fetch(world, ["message", "my_chat_member"]))
    members.join("bob", "g1")
    assert kinds(fetch(world, ["message", "chat_member"]))[-2:] == ["chat_member", "message"]


def test_world_send_marks_entities_in_utf16():
    world = small_world()
    members, talk = Membership(world), Talk(world)
    members.add_bot("g1", by="olga")
    members.join("alice", "g1")
    message = talk.send(
        "alice", "g1", "加我 😀 @promo_bob https://t.me/+abc /start@x [看](https://x.cn/a)"
    )
    types = {e["type"]: e for e in message.entities}
    assert types["mention"]["offset"] == 6  # the emoji counts two UTF-16 units
    assert set(types) == {"mention", "url", "bot_command", "text_link"}
    assert message.text.endswith("看")
    assert types["text_link"]["url"] == "https://x.cn/a"


def test_world_html_parse_mode():
    text, entities = parse_html('<b>Warning</b> 1 of 2 &lt;rules&gt; <a href="https://x">link</a>')
    assert text == "Warning 1 of 2 <rules> link"
    assert [e["type"] for e in entities] == ["bold", "text_link"]
    world = small_world()
    members = Membership(world)
    members.add_bot("g1", by="olga")
    status, body = call(
        world, "sendMessage", chat_id=world.chats["g1"].id, text="a <x> b", parse_mode="HTML"
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse entities")


def test_world_join_request_approve_and_migration(world):
    members = Membership(world)
    members.add_bot("g1", by="olga")
    members.join_request("alice", "g1", "vip")
    assert kinds(fetch(world))[-1] == "chat_join_request"
    call(
        world,
        "approveChatJoinRequest",
        chat_id=world.chats["g1"].id,
        user_id=world.users["alice"].id,
    )
    assert world.status_of("alice", "g1") == "member"
    basic = world.add_group("g3", "Shenzhen", owner="olga", supergroup=False)
    members.add_bot("g3", by="olga")
    new = members.migrate_to_supergroup("g3")
    assert new.id != basic.id
    assert world.chats["g3"] is new
    assert new.type == "supergroup"
    status, body = call(world, "sendMessage", chat_id=basic.id, text="x")
    assert status == 400
    assert body["parameters"] == {"migrate_to_chat_id": new.id}
    texts = [u["message"] for u in fetch(world) if "message" in u][-2:]
    assert texts[0]["migrate_to_chat_id"] == new.id
    assert texts[1]["migrate_from_chat_id"] == basic.id


async def test_world_settle_waits_for_confirmation():
    world = small_world()
    members = Membership(world)
    members.add_bot("g1", by="olga")
    with pytest.raises(TimeoutError, match="not fetched and confirmed"):
        await world.settle(quiet=0.01, timeout=0.2)
    updates = fetch(world)
    call(world, "getUpdates", offset=updates[-1]["update_id"] + 1)
    started = time.monotonic()
    await world.settle(quiet=0.05, timeout=2)
    assert time.monotonic() - started < 1.5
    assert list(World().updates) == []
