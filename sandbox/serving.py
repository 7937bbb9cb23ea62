"""One Bot API request from arrival to answer, whatever carries it: the HTTP server (`server`) and
the in-process request object (`inprocess`) both go through `Endpoint.answer`.

Parameters are decoded as Telegram reads form fields: a value is JSON when it parses as JSON,
except the parameters that are always text (python-telegram-bot sends strings unquoted); an
uploaded file is recorded by name, size and content type, and `attach://name` points at one.
Every call first waits the world's `latency` (without blocking the loop). getUpdates long-polls
until an update is there, `timeout` runs out or the endpoint closes; a newer getUpdates, through
any carrier, ends an older one still waiting with 409, as Telegram does. The answer is an HTTP
status and the JSON body Telegram would send.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox import bot_api
from sandbox.api_bot import take_poll
from sandbox.api_common import ApiError, Params
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


def upload(file_name: str | None, size: int, mime_type: str | None) -> dict[str, Any]:
    """What the sandbox keeps of an uploaded file."""
    return {"file_name": file_name, "size": size, "mime_type": mime_type}


def decode(fields: Iterable[tuple[str, str]], uploads: Mapping[str, dict[str, Any]]) -> Params:
    """Form fields and uploaded files (by field name) as the parameters of a call."""
    params: Params = {key: _value(key, text) for key, text in fields}
    params.update(uploads)
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = uploads.get(value.removeprefix("attach://"), value)
    return params


def _value(key: str, text: str) -> Any:
    if key in TEXT_PARAMS:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def encode(body: dict[str, Any]) -> bytes:
    """The JSON body as Telegram sends it (UTF-8, not ASCII-escaped)."""
    return json.dumps(body, ensure_ascii=False).encode()


class Endpoint:
    """Answers calls for one carrier; `close` ends its waiting long polls."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.closing = False

    def close(self) -> None:
        self.closing = True
        self.world.touch()

    async def answer(self, method: str, params: Params) -> tuple[int, dict[str, Any]]:
        world = self.world
        if method.lower() == "getupdates":
            await self._arrive()
            conflict = await self._long_poll(params)
            if conflict is not None:
                return conflict
            return bot_api.call(world, method, params)
        world.busy += 1
        try:
            await self._arrive()
            return bot_api.call(world, method, params)
        finally:
            world.busy -= 1
            world.mark_activity()

    async def _arrive(self) -> None:
        """The call's way to Telegram: the world's latency, awaited."""
        if self.world.latency:
            await asyncio.sleep(self.world.latency)

    async def _long_poll(self, params: Params) -> tuple[int, dict[str, Any]] | None:
        """Wait (up to `timeout`) for an update beyond the offset; a newer poll ends this one
        with 409."""
        world = self.world
        world.poll_generation += 1
        generation = world.poll_generation
        if world.webhook is not None:
            return None
        take_poll(world, params)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while not self.closing and world.webhook is None and not world.deliverable(limit=1):
            if generation != world.poll_generation:
                return bot_api.fail(world, "getUpdates", params, ApiError(409, CONFLICT))
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await world.changed(min(1.0, left))
        return None
