"""Webhook mode: the secret token is required, anything that is not an update object gets 400
(never a traceback), and a valid update is stored before its 200 and reaches the handlers."""

import asyncio
import socket

import httpx

from bot.app import build, running
from bot.settings import Settings
from sandbox.offline import ScriptedRequest
from storage.inbox import InboxRepository

TOKEN = "900:SCRIPTEDSCRIPTEDSCRIPTED"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def webhook_settings(db_url, port):
    return Settings(
        _env_file=None,
        database_url=db_url,
        owner_ids=[1],
        webhook_url=f"http://127.0.0.1:{port}/hook",
        webhook_secret="s3cret-token",
        webhook_listen=f"127.0.0.1:{port}",
    )


def start_update(update_id, user_id=42):
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            "chat": {"id": user_id, "type": "private", "first_name": "Ann"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": "en"},
        },
    }


async def test_webhook_checks_secret_and_processes_updates(app_db_url):
    port = free_port()
    settings = webhook_settings(app_db_url, port)
    request = ScriptedRequest()
    app = await build(settings, token=TOKEN, request=request, updates_request=request)
    async with running(app):
        (hook,) = request.made("setWebhook")
        assert hook["url"] == f"http://127.0.0.1:{port}/hook"
        assert hook["secret_token"] == "s3cret-token"
        assert "chat_member" in hook["allowed_updates"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            missing = await client.post("/hook", json=start_update(1))
            wrong = await client.post(
                "/hook",
                json=start_update(2),
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-tokeN"},
            )
            good = await client.post(
                "/hook",
                json=start_update(3),
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
            )
            junk = await client.post(
                "/hook",
                content=b"{not json",
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
            )
        assert (missing.status_code, wrong.status_code, good.status_code, junk.status_code) == (
            403,
            403,
            200,
            400,
        )
        for _ in range(200):
            if request.made("sendMessage"):
                break
            await asyncio.sleep(0.02)
        (sent,) = request.made("sendMessage")
        assert sent["chat_id"] == 42
        assert "look after community groups" in sent["text"]


async def _post(port, update):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        reply = await client.post(
            "/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
        )
        assert reply.status_code == 200


async def _settle(request, count, seconds=3.0):
    for _ in range(int(seconds / 0.02)):
        if len(request.made("sendMessage")) >= count:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # room for a wrong extra reply to show up


async def test_processed_update_is_ignored_also_after_restart(app_db_url):
    port = free_port()
    settings = webhook_settings(app_db_url, port)
    first = ScriptedRequest()
    app = await build(settings, token=TOKEN, request=first, updates_request=first)
    async with running(app):
        await _post(port, start_update(10))
        await _post(port, start_update(10))  # Telegram redelivers
        await _settle(first, 1)
    assert len(first.made("sendMessage")) == 1
    second = ScriptedRequest()
    app = await build(settings, token=TOKEN, request=second, updates_request=second)
    async with running(app):
        await _post(port, start_update(10))
        await _post(port, start_update(11))
        await _settle(second, 1)
    assert len(second.made("sendMessage")) == 1


async def test_webhook_answers_400_to_anything_but_an_update_object(app_db_url, caplog):
    port = free_port()
    settings = webhook_settings(app_db_url, port)
    request = ScriptedRequest()
    app = await build(settings, token=TOKEN, request=request, updates_request=request)
    deep = b"[" * 100_000 + b"]" * 100_000
    bodies = [
        b"[1, 2]",
        b"null",
        b"42",
        b'"text"',
        deep,
        b'{"update_id": "7"}',
        b"{}",
        b'{"update_id": true}',
        b'{"update_id": 9223372036854775808, "message": {}}',
        b'{"update_id": -5, "message": {}}',
        b"\xff\xfe",
    ]
    async with running(app):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            replies = [
                await client.post(
                    "/hook",
                    content=body,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
                )
                for body in bodies
            ]
        async with app.runtime.sessions() as session:
            stored = await InboxRepository(session).count_pending()
    assert [r.status_code for r in replies] == [400] * len(bodies)
    assert all("Traceback" not in r.text for r in replies)
    assert "Traceback" not in caplog.text
    assert stored == 0
