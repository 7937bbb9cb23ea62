"""Run the executor alone until the outbox is empty (the process the outbox kill -9 test kills).

python tests/reliability/drain_outbox.py DATABASE_URL BASE_URL
"""

import asyncio
import sys

from telegram import Bot

from bot.executor import Executor
from bot.ratelimit import SendLimiter
from storage.db import create_engine, create_session_factory


async def main(database_url: str, base_url: str) -> None:
    engine = create_engine(database_url)
    bot = Bot("7000000001:SANDBOXSANDBOXSANDBOX", base_url=base_url)
    async with bot:
        executor = Executor(bot, create_session_factory(engine), SendLimiter(per_second=25))
        await executor.drain(timeout=120)
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
