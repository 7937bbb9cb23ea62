"""An offline Bot API for benchmarks: answers the calls an Application makes at start, records
the rest. No network at all."""

from __future__ import annotations

import json
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT = {
    "id": 900000001,
    "is_bot": True,
    "first_name": "Keeper",
    "username": "groupkeeper_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": True,
    "supports_inline_queries": False,
}


class OfflineRequest(BaseRequest):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        self.calls.append(name)
        result: Any = True
        if name == "getMe":
            result = BOT
        elif name == "getUpdates":
            result = []
        elif name == "getChatAdministrators":
            result = []
        return 200, json.dumps({"ok": True, "result": result}).encode()
