"""The sandbox's HTTP face: the Bot API on 127.0.0.1, as python-telegram-bot calls it.

Routes `/bot<token>/<method>`; any token stands for the sandbox's bot. Parameters arrive as form
fields whose non-string values are JSON, as multipart when files are uploaded (the file's name and
size are kept), or as a JSON body. getUpdates long-polls and wakes as soon as an update arrives;
a second poller ends the first with 409, as Telegram does. With a webhook set, getUpdates answers
409 and updates are POSTed to the webhook (127.0.0.1 only) with the secret token header, in
order, retried until the receiver answers 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from sandbox import bot_api
from sandbox.api_messages import take_poll
from sandbox.model import Call
from sandbox.world import World

# Parameters that are always text, even when they look like JSON (PTB sends strings unquoted).
TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "name",
        "url",
        "secret_token",
        "parse_mode",
        "callback_query_id",
        "language_code",
        "description",
        "short_description",
        "title",
        "inline_message_id",
        "action",
        "ip_address",
        "emoji",
        "custom_title",
        "business_connection_id",
    }
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running"
)


class SandboxServer:
    """Serves `world` over HTTP on 127.0.0.1; use `async with` or start()/stop()."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only listens on the loopback interface")
        self.world = world
        self.host = host
        self.port = port
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._poll_generation = 0
        self._closing = False

    async def start(self) -> str:
        """Listen and return the base_url for PTB, like `http://127.0.0.1:PORT/bot`."""
        app = web.Application(client_max_size=50 << 20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{self.port}/bot"
        self._closing = False
        self._pusher = asyncio.create_task(self._push_webhooks())
        return self.base_url

    async def stop(self) -> None:
        self._closing = True
        self.world.touch()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
            self._pusher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # ---- requests ----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await _params(request)
        except ValueError:
            body = {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: can't parse request body",
            }
            return web.json_response(body, status=400)
        if method.lower() == "getupdates":
            conflict = await self._long_poll(params)
            if conflict is not None:
                return conflict
            status, body = bot_api.call(self.world, method, params)
            return web.json_response(body, status=status)
        self.world.busy += 1
        try:
            status, body = bot_api.call(self.world, method, params)
        finally:
            self.world.busy -= 1
            self.world.mark_activity()
        return web.json_response(body, status=status, dumps=_dumps)

    async def _long_poll(self, params: dict[str, Any]) -> web.Response | None:
        """Wait (up to `timeout`) for an update beyond the offset; a newer poll ends this one."""
        world = self.world
        self._poll_generation += 1
        generation = self._poll_generation
        if world.webhook is not None:
            return None
        take_poll(world, params)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while not self._closing and not world.deliverable() and world.webhook is None:
            if generation != self._poll_generation:
                world.journal.append(
                    Call("getUpdates", params, False, None, CONFLICT, time.time(), 409)
                )
                return web.json_response(
                    {"ok": False, "error_code": 409, "description": CONFLICT}, status=409
                )
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await world.changed(min(1.0, left))
        return None

    # ---- webhook -----------------------------------------------------------------------
    async def _push_webhooks(self) -> None:
        delay = 0.1
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
            while not self._closing:
                hook = self.world.webhook
                pending = self.world.deliverable() if hook is not None else []
                if hook is None or not pending:
                    await self.world.changed(1.0)
                    continue
                update = pending[0]
                headers = {}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
                error = await _post(client, hook["url"], update, headers)
                if error is None:
                    delay = 0.1
                    self.world.confirm(update["update_id"] + 1)
                    self.world.touch()
                    continue
                hook["last_error_date"] = self.world.now()
                hook["last_error_message"] = error
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)


async def _post(
    client: aiohttp.ClientSession, url: str, update: dict[str, Any], headers: dict[str, str]
) -> str | None:
    """Deliver one update; None on success, else Telegram-style error text."""
    try:
        async with client.post(url, json=update, headers=headers) as reply:
            if reply.status == 200:
                return None
            return f"Wrong response from the webhook: {reply.status} {reply.reason}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"Connection failed: {exc.__class__.__name__}"


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = {k: _value(k, v) for k, v in request.query.items()}
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        data = await request.json()
        if isinstance(data, dict):
            params.update(data)
        return params
    files: dict[str, dict[str, Any]] = {}
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            size = len(value.file.read())
            files[key] = {
                "file_name": value.filename,
                "size": size,
                "mime_type": value.content_type,
            }
            params[key] = files[key]
        else:
            params[key] = _value(key, str(value))
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = files.get(value.removeprefix("attach://"), value)
    return params


def _value(key: str, value: str) -> Any:
    if key in TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
