"""Long polling that loses nothing: each batch of updates is stored in the inbox and committed
before the next getUpdates tells Telegram it was received (its offset).

Updates are kept as Telegram's raw JSON: parsing happens later, one update at a time, so an
update the library cannot read is set aside instead of stopping the whole stream. While the
intake's backlog is at its bound the poller waits, and Telegram keeps the rest. Errors: 429 waits
as long as Telegram says; network trouble, 5xx and a database that cannot store the batch back
off (the batch is fetched again: its offset was not advanced); a 409 (a webhook is set, or
another poller runs) waits and tries again; a rejected token stops the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from urllib.parse import urlencode

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import NetworkError
from telegram.request import BaseRequest

from bot.intake import Intake

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


class TokenRejected(Exception):
    """Telegram answered 401 or 404: BOT_TOKEN is not a valid bot token."""


class Poller:
    def __init__(
        self,
        request: BaseRequest,
        api_url: str,
        intake: Intake,
        *,
        allowed_updates: Sequence[str],
        timeout: int = 30,
    ) -> None:
        self.request = request
        self.api_url = api_url  # base URL with the token, e.g. https://api.telegram.org/bot123:x
        self.intake = intake
        self.allowed = json.dumps(list(allowed_updates))
        self.timeout = timeout
        self.offset: int | None = None
        self._task: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="poller")

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The polling task: it ends only when the token is rejected (or on stop)."""
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TokenRejected):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = 1.0
        while True:
            await self.intake.wait_room()
            try:
                await self.poll_once()
                delay = 1.0
            except TokenRejected as exc:
                self.failure = exc
                log.critical("BOT_TOKEN was rejected by Telegram: polling stops")
                raise
            except _Wait as wait:
                log.warning("getUpdates: %s; waiting %.0f s", wait.reason, wait.seconds)
                await asyncio.sleep(wait.seconds)
            except (NetworkError, OSError, ValueError) as exc:
                log.warning("getUpdates failed (%s); trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF, delay * 2)
            except SQLAlchemyError as exc:  # the batch was not stored: it is fetched again
                log.warning("updates not stored (%s); trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF, delay * 2)

    async def poll_once(self, *, timeout: int | None = None) -> int:
        """One getUpdates: store what came and commit, then hand it to the intake. Returns how
        many updates were new."""
        wait = self.timeout if timeout is None else timeout
        query = {"timeout": wait, "allowed_updates": self.allowed}
        if self.offset is not None:
            query["offset"] = self.offset
        status, body = await self.request.do_request(
            f"{self.api_url}/getUpdates?{urlencode(query)}",
            "POST",
            read_timeout=wait + 10,
        )
        receipt = await self.intake.receive(_result(status, body))
        if receipt.highest is not None:
            self.offset = receipt.highest + 1  # stored: Telegram may forget them now
        return receipt.new


class _Wait(Exception):
    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


def _result(status: int, body: bytes) -> list[object]:
    try:
        answer = json.loads(body)
    except ValueError:
        raise _Wait(5.0, f"an answer that is not JSON (HTTP {status})") from None
    if not isinstance(answer, dict):
        raise _Wait(5.0, f"an answer that is not an object (HTTP {status})")
    if answer.get("ok") is True and isinstance(answer.get("result"), list):
        return list(answer["result"])
    code = answer.get("error_code", status)
    description = str(answer.get("description", ""))[:200]
    if code in (401, 404):
        raise TokenRejected(f"BOT_TOKEN was rejected by Telegram ({code})")
    if code == 429:
        parameters = answer.get("parameters") or {}
        retry_after = parameters.get("retry_after", 5) if isinstance(parameters, dict) else 5
        raise _Wait(float(retry_after), "429 Too Many Requests")
    if code == 409:
        raise _Wait(5.0, f"409 Conflict ({description})")
    raise _Wait(min(MAX_BACKOFF, 5.0), f"HTTP {code}: {description}")
