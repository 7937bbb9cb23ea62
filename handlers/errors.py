"""The error handler: log the failure and roll back the update's unit of work."""

from __future__ import annotations

import logging

from bot.context import BotContext, current_uow_or_none

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    uow = current_uow_or_none()
    if uow is not None:
        uow.failed = True
    update_id = getattr(update, "update_id", None)
    log.error("update %s failed; its changes were rolled back", update_id, exc_info=context.error)
