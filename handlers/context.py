"""What a handler gets besides the update: the runtime services and the update's unit of work.

`BotApplication` is python-telegram-bot's Application carrying the `Runtime`, built complete
before it (`bot.app`). The intake opens a unit of work per update and registers it here while
the update's handlers run; `BotContext` hands both to handlers, typed.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from services.runtime import Runtime
from services.uow import UnitOfWork


class BotApplication(
    Application[
        ExtBot[None],
        "BotContext",
        dict[Any, Any],
        dict[Any, Any],
        dict[Any, Any],
        JobQueue["BotContext"],
    ]
):
    """The Application, with the runtime services and the units of work of updates in hand."""

    def __init__(self, *, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        self.units: dict[int, UnitOfWork] = {}


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The handler context: the runtime services and the update's unit of work."""

    _unit: UnitOfWork | None = None
    # in a private chat with an alliance's owner, that alliance's language (see handlers.guards)
    reader_language: str | None = None

    @classmethod
    def from_update(cls, update: object, application: Any) -> BotContext:
        context = super().from_update(update, application)
        if isinstance(update, Update) and isinstance(application, BotApplication):
            context._unit = application.units.get(update.update_id)
        return context

    @property
    def app(self) -> BotApplication:
        application = self.application
        if not isinstance(application, BotApplication):
            raise TypeError("handlers run in a BotApplication")
        return application

    @property
    def runtime(self) -> Runtime:
        return self.app.runtime

    def fail(self) -> None:
        """The update's handling failed: its unit of work is rolled back (see handlers.errors)."""
        if self._unit is not None:
            self._unit.failed = True
            self._unit.error = self.error

    @property
    def uow(self) -> UnitOfWork:
        if self._unit is None:
            raise RuntimeError("no unit of work: called outside update processing")
        return self._unit
