"""Assembling the running bot, complete, before anything runs; and running it.

`build` makes every part in order (database, alliances, detector, the Bot, the runtime services,
the Application with its handlers, the executor, the scheduler, the intake and its receiver) and
hands them over as one `Deployment`; nothing is filled in later. `running` starts them in order
and stops them in reverse: the same way in production, in the sandbox, in tests and benchmarks.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, ExtBot, JobQueue
from telegram.request import BaseRequest, HTTPXRequest

import handlers
from bot.executor import Executor
from bot.intake import Intake
from bot.poller import Poller
from bot.ratelimit import SendLimiter
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.telegram_reads import BotReads
from bot.webhook import WebhookServer
from handlers.context import BotApplication, BotContext
from handlers.private import register_menus
from services.activity import ActivityBuffer
from services.authority import Authority
from services.detector import Detector
from services.runtime import Alliances, Options, Runtime
from services.settings import follow_env
from services.state import StateCache
from storage.db import create_engine, create_session_factory
from storage.groups import AllianceRepository
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


@dataclass(frozen=True)
class Deployment:
    """Everything the running bot is made of."""

    settings: Settings
    engine: AsyncEngine
    runtime: Runtime
    app: BotApplication
    executor: Executor
    scheduler: Scheduler
    intake: Intake
    poller: Poller | None
    webhook: WebhookServer | None

    @property
    def bot(self) -> ExtBot[None]:
        return self.app.bot


async def build(
    settings: Settings,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    report_delay: float = 5.0,
    retrain_delay: float = 10.0,
) -> Deployment:
    """The bot for `settings`, built complete; nothing runs until `running`.

    `request`/`updates_request` replace the HTTP clients (the sandbox's in-process one, an
    offline one in benchmarks).
    """
    secret = token or (settings.bot_token.get_secret_value() if settings.bot_token else None)
    if secret is None:
        raise ValueError("BOT_TOKEN is not set")
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        repo = AllianceRepository(session)
        await repo.get_default(
            settings.owner_ids, timezone=settings.timezone, language=settings.default_language
        )
        # what no command set follows .env; what one set overrides it, and the log says so
        for line in await follow_env(
            session, timezone=settings.timezone, language=settings.default_language
        ):
            log.info("%s", line)
        alliances = await repo.list_all()
        await session.commit()
    detector = Detector()
    await detector.retrain(sessions)
    # TELEGRAM_PROXY_URL serves both clients (http:// or socks5://, the latter through
    # python-telegram-bot's socks extra)
    proxy = settings.proxy
    polling = updates_request or HTTPXRequest(read_timeout=40, connect_timeout=10, proxy=proxy)
    bot: ExtBot[None] = ExtBot(
        secret,
        base_url=settings.telegram_api_base_url,
        request=request
        or HTTPXRequest(connection_pool_size=32, read_timeout=15, write_timeout=15, proxy=proxy),
        get_updates_request=polling,  # the bot opens and closes it; the poller uses it
    )
    reads = BotReads(bot)
    runtime = Runtime(
        options=Options(
            bot_id=int(secret.split(":", 1)[0]),
            default_language=settings.default_language,
            tier_rules=settings.tier_rules,
            unauthorised_groups=settings.unauthorised_groups,
        ),
        sessions=sessions,
        alliances=Alliances(alliances),
        state=StateCache.empty(),
        authority=Authority(reads),
        activity=ActivityBuffer(sessions),
        detector=detector,
        telegram=reads,
    )
    queue: JobQueue[Any] = JobQueue()
    app = (
        ApplicationBuilder()
        .bot(bot)
        .job_queue(queue)
        .updater(None)
        .context_types(ContextTypes(context=BotContext))
        .application_class(BotApplication, {"runtime": runtime})
        .build()
    )
    # the builder's type does not follow application_class
    assert isinstance(app, BotApplication)
    handlers.register(app)
    limiter = SendLimiter(settings.send_rate_per_second, settings.send_rate_per_chat_per_minute)
    executor = Executor(bot, sessions, limiter)
    scheduler = Scheduler(
        queue, runtime, executor, report_delay=report_delay, retrain_delay=retrain_delay
    )
    intake = Intake(app, scheduler)
    poller = webhook = None
    if settings.webhook_url is not None:
        webhook = WebhookServer(settings, intake)
    else:
        poller = Poller(
            polling,
            f"{settings.telegram_api_base_url}{secret}",
            intake,
            allowed_updates=ALLOWED_UPDATES,
        )
    return Deployment(settings, engine, runtime, app, executor, scheduler, intake, poller, webhook)


@asynccontextmanager
async def running(deployment: Deployment, *, feed: bool = True) -> AsyncIterator[Deployment]:
    """Start every part, in order; stop those started in reverse, also when a start fails.

    With `feed=False` nothing fetches updates: the caller hands them to `intake.receive`
    (tests, benchmarks).
    """
    d = deployment
    app, rt = d.app, d.runtime
    async with AsyncExitStack() as stack:
        stack.push_async_callback(d.engine.dispose)
        await app.initialize()  # getMe: a rejected token stops here (InvalidToken)
        stack.push_async_callback(app.shutdown)
        await app.start()
        stack.push_async_callback(app.stop)
        rt.activity.start()
        stack.push_async_callback(rt.activity.stop)
        d.executor.start()
        stack.push_async_callback(d.executor.stop)
        await d.scheduler.start(utcnow())
        await register_menus(app.bot, d.settings.default_language)
        await d.intake.start()
        stack.push_async_callback(d.intake.stop)
        if feed and d.webhook is not None:
            await d.webhook.start()
            stack.push_async_callback(d.webhook.stop)
            secret = d.settings.webhook_secret
            await app.bot.set_webhook(
                url=d.settings.webhook_url or "",
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=ALLOWED_UPDATES,
            )
        elif feed and d.poller is not None:
            await app.bot.delete_webhook(drop_pending_updates=False)
            d.poller.start()
            stack.push_async_callback(d.poller.stop)
        log.info("bot @%s ready; owners %s", app.bot.username, sorted(rt.alliances.owners))
        yield d
