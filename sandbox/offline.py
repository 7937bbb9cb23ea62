"""An offline Bot API for unit tests and benchmarks: python-telegram-bot's own Bot over an HTTP
layer that answers from a script, with no network at all.

Every call is recorded (method, parameters, time); answers can be queued per method, e.g. a 429
with retry_after, a 500, or Telegram's "Bad Request: ..." texts. Unscripted calls succeed.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from typing import Any

from telegram import Bot
from telegram.request import BaseRequest, RequestData

ME = {"id": 900, "is_bot": True, "first_name": "Keeper", "username": "keeper_bot"}


class ScriptedRequest(BaseRequest):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.answers: dict[str, deque[tuple[int, dict[str, Any]]]] = defaultdict(deque)
        self.next_message_id = 100

    def fail(
        self, method: str, code: int, description: str, retry_after: int | None = None
    ) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self.answers[method].append((code, body))

    def made(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params, _ in self.calls if name == method]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(  # the timeouts are of no use to a scripted answer
        self, url: str, method: str, request_data: RequestData | None = None, *_: Any, **__: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = {}
        if request_data is not None:
            params = {k: _decode(v) for k, v in request_data.json_parameters.items()}
        self.calls.append((name, params, time.monotonic()))
        if self.answers[name]:
            code, body = self.answers[name].popleft()
            return code, json.dumps(body).encode()
        result: Any = True
        if name == "getMe":
            result = ME
        elif name in ("getUpdates", "getChatAdministrators"):
            result = []
        elif name in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
            self.next_message_id += 1
            result = {
                "message_id": self.next_message_id,
                "date": int(time.time()),
                "chat": {"id": int(params.get("chat_id", 0)), "type": "supergroup"},
                "text": params.get("text", ""),
            }
        return 200, json.dumps({"ok": True, "result": result}).encode()


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


async def scripted_bot() -> tuple[Bot, ScriptedRequest]:
    request = ScriptedRequest()
    bot = Bot("900:SCRIPTEDSCRIPTEDSCRIPTED", request=request, get_updates_request=request)
    await bot.initialize()
    return bot, request
