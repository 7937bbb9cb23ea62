"""The webhook endpoint: Telegram POSTs updates here instead of the bot polling for them.

The secret token header is compared in constant time; a wrong or missing one gets 403 and the
body is never parsed. Valid updates go to the Application's update queue.
"""

from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.settings import Settings

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_BODY = 1 << 20


class WebhookServer:
    def __init__(self, app: Application, settings: Settings) -> None:  # type: ignore[type-arg]
        if settings.webhook_url is None or settings.webhook_secret is None:
            raise ValueError("WEBHOOK_URL and WEBHOOK_SECRET are required for webhook mode")
        self.app = app
        self.settings = settings
        self.path = urlsplit(settings.webhook_url).path or "/"
        self._secret = settings.webhook_secret.get_secret_value().encode()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        from bot.app import ALLOWED_UPDATES

        server = web.Application(client_max_size=MAX_BODY)
        server.router.add_post(self.path, self._receive)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.webhook_host, self.settings.webhook_port)
        await site.start()
        await self.app.bot.set_webhook(
            url=self.settings.webhook_url,
            secret_token=self.settings.webhook_secret.get_secret_value(),  # type: ignore[union-attr]
            allowed_updates=ALLOWED_UPDATES,
        )
        log.info("webhook listening on %s%s", self.settings.webhook_listen, self.path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, self.app.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="bad update")
        await self.app.update_queue.put(update)
        return web.Response(text="ok")
