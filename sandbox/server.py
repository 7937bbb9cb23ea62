"""The sandbox's HTTP face: the Bot API on 127.0.0.1, as python-telegram-bot calls it.

Routes `/bot<token>/<method>`; any token stands for the sandbox's bot. Parameters arrive as form
fields (decoded by `serving.decode`), as multipart when files are uploaded, or as a JSON body;
the call is answered by `serving.Endpoint` like any other carrier's (latency, long polling, 409
for a superseded poller). With a webhook set, getUpdates answers 409 and updates are POSTed to
the webhook (127.0.0.1 only) with the secret token header, in order, retried until the receiver
answers 200.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.api_common import Params
from sandbox.serving import Endpoint, decode, encode, upload
from sandbox.world import World


class SandboxServer:
    """Serves `world` over HTTP on 127.0.0.1; use `async with` or start()/stop()."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only listens on the loopback interface")
        self.world = world
        self.host = host
        self.port = port
        self.base_url = ""
        self._endpoint = Endpoint(world)
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None

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
        self._endpoint.closing = False
        self._pusher = asyncio.create_task(self._push_webhooks())
        return self.base_url

    async def stop(self) -> None:
        self._endpoint.close()
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

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            params = await _params(request)
        except ValueError:
            status, body = (
                400,
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: can't parse request body",
                },
            )
        else:
            status, body = await self._endpoint.answer(request.match_info["method"], params)
        return web.Response(body=encode(body), status=status, content_type="application/json")

    # ---- webhook -----------------------------------------------------------------------
    async def _push_webhooks(self) -> None:
        delay = 0.1
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
            while not self._endpoint.closing:
                hook = self.world.webhook
                pending = self.world.deliverable(limit=1) if hook is not None else []
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


async def _params(request: web.Request) -> Params:
    """The call's parameters from the query, and a JSON, urlencoded or multipart body."""
    fields = list(request.query.items())
    if not request.can_read_body:
        return decode(fields, {})
    if request.content_type == "application/json":
        data = await request.json()
        params = decode(fields, {})
        if isinstance(data, dict):
            params.update(data)
        return params
    uploads: dict[str, dict[str, Any]] = {}
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            uploads[key] = upload(value.filename, len(value.file.read()), value.content_type)
        else:
            fields.append((key, str(value)))
    return decode(fields, uploads)
