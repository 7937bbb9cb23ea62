"""python-telegram-bot talking to a sandbox world in the same process, with no sockets.

`InProcessRequest(world)` is a `telegram.request.BaseRequest`: every call is answered by the same
`serving.Endpoint` and `bot_api.call` the HTTP server uses, so the parameters are decoded as the
server decodes them (the form fields PTB would send, uploads recorded by name, size and type),
getUpdates long-polls on the world's change notification, a second concurrent getUpdates ends
the first with 409, and the answer is the status and JSON body the server would send: PTB raises
the same exceptions (RetryAfter, BadRequest, Forbidden, Conflict, ...). A call that takes longer
than its read timeout raises TimedOut, as PTB's HTTP request does.

One instance may serve both PTB's requests and its getUpdates (there is no connection pool to
exhaust):

    request = InProcessRequest(world)
    app = (
        Application.builder().token(TOKEN).base_url("http://sandbox/bot")
        .request(request).get_updates_request(request).build()
    )
"""

from __future__ import annotations

import asyncio
from typing import IO, Any
from urllib.parse import parse_qsl

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from sandbox.serving import Endpoint, decode, encode, upload
from sandbox.world import World


class InProcessRequest(BaseRequest):
    """PTB's HTTP layer replaced by direct calls into the world's Bot API."""

    def __init__(self, world: World, *, read_timeout: float | None = 5.0) -> None:
        self.world = world
        self._endpoint = Endpoint(world)
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._endpoint.closing = False

    async def shutdown(self) -> None:
        self._endpoint.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        path, _, query = url.partition("?")
        name = path.rsplit("/", 1)[-1]
        params = decode(parse_qsl(query), {})  # parameters in the URL, as the server reads them
        if request_data is not None:
            params.update(_params(request_data))
        given = read_timeout is None or isinstance(read_timeout, int | float)
        timeout = read_timeout if given else self._read_timeout
        try:
            status, body = await asyncio.wait_for(self._endpoint.answer(name, params), timeout)
        except TimeoutError:
            raise TimedOut(f"the sandbox did not answer {name} within {timeout} s") from None
        return status, encode(body)


def _params(data: RequestData) -> dict[str, Any]:
    """The call's parameters as the server would decode PTB's form fields and uploads."""
    uploads = {
        key: upload(name, len(_content(content)), mime_type)
        for key, (name, content, mime_type) in data.multipart_data.items()
    }
    return decode(data.json_parameters.items(), uploads)


def _content(content: bytes | IO[bytes]) -> bytes:
    return content if isinstance(content, bytes) else content.read()
