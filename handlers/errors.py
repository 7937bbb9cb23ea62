"""The error handler: the update's unit of work is marked failed (its changes are rolled back and
the intake tries it again, then sets it aside) and no later handler runs for it."""

from __future__ import annotations

from telegram.ext import ApplicationHandlerStop

from handlers.context import BotContext


async def on_error(update: object, context: BotContext) -> None:
    context.fail()
    raise ApplicationHandlerStop
