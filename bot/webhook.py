"""The webhook endpoint: Telegram POSTs updates here instead of the bot polling for them.

The secret token header is compared in constant time; a wrong or missing one gets 403 and the
body is never parsed. A body that is not an update object (not JSON, a list, null, nested too
deep, no integer update_id) gets 400, never a traceback. A valid update is stored in the inbox
and committed before the 200 that tells Telegram it was received; while the intake's backlog is
at its bound the answer is 503, and Telegram delivers again later.
"""

from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.intake import Intake
from bot.settings import Settings
from storage.inbox import update_id_of

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_BODY = 1 << 20


class WebhookServer:
    def __init__(self, settings: Settings, intake: Intake) -> None:
        if settings.webhook_url is None or settings.webhook_secret is None:
            raise ValueError("WEBHOOK_URL and WEBHOOK_SECRET are required for webhook mode")
        self.settings = settings
        self.intake = intake
        self.path = urlsplit(settings.webhook_url).path or "/"
        self._secret = settings.webhook_secret.get_secret_value().encode()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        server = web.Application(client_max_size=MAX_BODY)
        server.router.add_post(self.path, self.receive)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.webhook_host, self.settings.webhook_port)
        await site.start()
        log.info("webhook listening on %s%s", self.settings.webhook_listen, self.path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(await request.read())
        except (ValueError, RecursionError):
            return web.Response(status=400, text="not JSON")
        update_id = update_id_of(data)
        if update_id is None:
            return web.Response(status=400, text="not an update object")
        if not self.intake.has_room:
            return web.Response(status=503, text="busy: deliver again later")
        try:
            await self.intake.receive([data])
        except SQLAlchemyError as exc:
            log.error("update %s not stored (%s): Telegram will deliver it again", update_id, exc)
            return web.Response(status=503, text="not stored: deliver again later")
        return web.Response(text="ok")
