"""Shared set-up for the sandbox tests: a small world, the server, a PTB Application on it."""

from __future__ import annotations

import contextlib

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from sandbox.server import SandboxServer
from sandbox.world import World


def small_world(**limits) -> World:
    world = World(**limits)
    olga = world.add_user("olga", owner=True)
    adam = world.add_user("adam")
    world.add_user("alice")
    world.add_user("bob")
    world.add_group("g1", "Guangzhou", owner=olga, admins=(adam,))
    world.add_group("g2", "Beijing", owner=olga)
    return world


def build_app(base_url: str) -> Application:
    return (
        ApplicationBuilder().token("123:ABC").base_url(base_url).get_updates_read_timeout(5).build()
    )


@contextlib.asynccontextmanager
async def polling(app: Application, allowed_updates=None, poll_interval: float = 0.0):
    async with app:
        await app.start()
        await app.updater.start_polling(
            poll_interval=poll_interval,
            timeout=2,
            allowed_updates=allowed_updates if allowed_updates is not None else Update.ALL_TYPES,
        )
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


@pytest.fixture
def world() -> World:
    return small_world()


@pytest.fixture
async def server(world):
    async with SandboxServer(world) as running:
        yield running
