"""Building the python-telegram-bot Application and its resources.

`build_application` wires handlers and the typed context; `post_init` opens the database, makes
sure the deployment's alliance exists, starts the executor and registers command menus;
`post_shutdown` stops the executor and closes the database. `running` drives the whole lifecycle
for long polling or a webhook, the same way in production, in the sandbox and in tests.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest, HTTPXRequest

import handlers
from bot.activity import ActivityBuffer
from bot.caches import AdminCache
from bot.context import (
    BotContext,
    Services,
    UpdateProcessor,
    prune_processed_job,
    refresh_detector_job,
)
from bot.detector import Detector
from bot.executor import Executor
from bot.ratelimit import SendLimiter
from bot.reports import report_job
from bot.scheduler import start_schedules
from bot.settings import Settings
from bot.state import StateCache
from handlers.private import register_menus
from storage.db import create_engine, create_session_factory
from storage.groups import AllianceRepository, ProcessedUpdateRepository
from storage.models import utcnow

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.CHAT_MEMBER,
    Update.MY_CHAT_MEMBER,
    Update.CHAT_JOIN_REQUEST,
    Update.MESSAGE_REACTION,
    Update.MESSAGE_REACTION_COUNT,
]

BotApplication = Application  # type: ignore[type-arg]


def build_application(
    settings: Settings, *, token: str | None = None, request: BaseRequest | None = None
) -> BotApplication:
    """The Application for `settings`; nothing is opened until it is initialised.

    `request` replaces the HTTP client (benchmarks use an offline one).
    """
    secret = token or (settings.bot_token.get_secret_value() if settings.bot_token else None)
    if secret is None:
        raise ValueError("BOT_TOKEN is not set")
    context_types = ContextTypes(context=BotContext, bot_data=Services)
    processor = UpdateProcessor()
    builder = (
        ApplicationBuilder()
        .token(secret)
        .base_url(settings.telegram_api_base_url)
        .context_types(context_types)
        .concurrent_updates(processor)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        builder = builder.request(
            HTTPXRequest(connection_pool_size=32, read_timeout=15, write_timeout=15)
        ).get_updates_request(HTTPXRequest(read_timeout=40, connect_timeout=10))
    app = builder.build()
    services: Services = app.bot_data
    services.settings = settings
    processor.services = services
    handlers.register(app)
    return app


async def _post_init(app: BotApplication) -> None:
    services: Services = app.bot_data
    settings = services.settings
    engine = create_engine(settings.database_url)
    services.engine = engine
    services.sessions = create_session_factory(engine)
    services.seen_users = {}
    services.admin_cache = AdminCache()
    async with services.sessions() as session:
        latest = await ProcessedUpdateRepository(session).latest()
    services.state = StateCache.empty(latest)
    services.activity = ActivityBuffer(services.sessions, timezone=settings.timezone)
    services.activity.start()
    async with services.sessions() as session:
        alliance = await AllianceRepository(session).get_default(
            settings.owner_ids, timezone=settings.timezone, language=settings.default_language
        )
        await session.commit()
        services.alliance_id = alliance.id
        services.activity.tz = ZoneInfo(alliance.timezone)  # days are the alliance's days
        services.owners = {}
        for owner_id in alliance.owner_ids:
            services.owners.setdefault(owner_id, set()).add(alliance.id)
    services.detector = Detector()
    await services.detector.retrain(services.sessions)
    assert app.job_queue is not None
    services.jobs = app.job_queue
    app.job_queue.run_repeating(report_job, interval=60, first=10, name="blacklist-report")
    jobs = app.job_queue
    jobs.run_repeating(refresh_detector_job, interval=300, first=300, name="detector-refresh")
    jobs.run_repeating(prune_processed_job, interval=3600, first=60, name="prune-processed")
    limiter = SendLimiter(settings.send_rate_per_second, settings.send_rate_per_chat_per_minute)
    services.executor = Executor(app.bot, services.sessions, limiter)
    services.executor.start()
    await start_schedules(services, utcnow())
    await register_menus(app.bot, settings.default_language)
    log.info("bot @%s ready; owners %s", app.bot.username, sorted(services.owners))


async def _post_shutdown(app: BotApplication) -> None:
    services: Services = app.bot_data
    if hasattr(services, "executor"):
        await services.executor.stop()
    if hasattr(services, "activity"):
        await services.activity.stop()
    if hasattr(services, "engine"):
        await services.engine.dispose()


@asynccontextmanager
async def running(
    app: BotApplication, *, webhook: bool = False, feed: bool = True
) -> AsyncIterator[BotApplication]:
    """Initialise, start and feed the application; undo it all on exit, in reverse order.

    With `feed=False` nothing fetches updates: the caller puts them on `app.update_queue`.
    """
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        server = None
        if not feed:
            pass
        elif webhook:
            from bot.webhook import WebhookServer

            server = WebhookServer(app, app.bot_data.settings)
            await server.start()
        else:
            assert app.updater is not None
            await app.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False
            )
        try:
            yield app
        finally:
            if server is not None:
                await server.stop()
            elif app.updater is not None and app.updater.running:
                await app.updater.stop()
            await app.stop()
    finally:
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        await app.shutdown()
