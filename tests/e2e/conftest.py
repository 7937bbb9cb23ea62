"""The end-to-end harness: the sandbox Bot API on 127.0.0.1 and the real Application against it.

`env` gives a world with an owner (olga), an admin (adam), groups g1..g3 with the bot added by the
owner, and helpers that act as people and wait for what they would see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import update

from bot.app import Deployment, build, running
from bot.settings import Settings
from sandbox import bot_api
from sandbox.inprocess import InProcessRequest
from sandbox.membership import Membership
from sandbox.model import Chat, Message, User
from sandbox.talk import Talk
from sandbox.world import World, settle, wait_for
from storage.models import Chat as ChatRow

TOKEN = "7000000001:SANDBOXSANDBOXSANDBOX"
IN_PROCESS = "http://sandbox.invalid/bot"  # never dialled: the request object answers in-process
FAST = {"welcome_batch_seconds": 1.5}


@dataclass
class Env:
    world: World
    app: Deployment
    users: dict[str, User]
    groups: dict[str, Chat]
    members: Membership = field(init=False)
    talk: Talk = field(init=False)

    def __post_init__(self) -> None:
        self.members, self.talk = Membership(self.world), Talk(self.world)

    @property
    def rt(self):
        return self.app.runtime

    def session(self):
        return self.app.runtime.sessions()

    async def settle(self) -> None:
        await settle(self.world)
        await self.app.intake.idle()
        await settle(self.world)

    async def wait_for(self, predicate, timeout: float = 15.0) -> None:
        await wait_for(predicate, timeout=timeout)

    def user(self, name: str) -> User:
        if name not in self.world.users:
            self.users[name] = self.world.add_user(name)
        return self.world.users[name]

    async def join(self, name: str, group: Chat, inviter: str | None = None) -> bool:
        message = self.members.join(
            self.user(name), group, inviter=self.user(inviter) if inviter else None
        )
        await self.settle()
        return message is not None

    async def say(self, name: str, group: Chat, text: str) -> Message:
        message = self.talk.send(self.user(name), group, text)
        assert message is not None, f"{name} cannot write in {group.key}"
        return message

    async def admin_says(self, group: Chat, text: str) -> Message:
        return await self.say("adam", group, text)

    async def admin_reply(self, group: Chat, to: Message, text: str) -> Message:
        message = self.talk.send(self.users["adam"], group, text, reply_to=to)
        assert message is not None
        return message

    def bot_texts(self, group: Chat) -> list[str]:
        return [m.text for m in self.world.bot_messages(group)]

    async def wait_bot_says(self, group: Chat, fragment: str, timeout: float = 15.0) -> str:
        found: list[str] = []

        def said() -> bool:
            found[:] = [t for t in self.bot_texts(group) if fragment.lower() in t.lower()]
            return bool(found)

        await wait_for(said, timeout=timeout, what=f"the bot to say {fragment!r} in {group.key}")
        return found[-1]

    async def wait_private(self, name: str, fragment: str, timeout: float = 20.0) -> str:
        found: list[str] = []

        def said() -> bool:
            found[:] = [
                m.text
                for m in self.world.private_messages_to(name)
                if fragment.lower() in m.text.lower()
            ]
            return bool(found)

        await wait_for(said, timeout=timeout, what=f"a private message to {name}: {fragment!r}")
        return found[-1]

    async def press_private(self, name: str, button_text: str) -> None:
        for message in reversed(self.world.private_messages_to(name)):
            for row in message.buttons or []:
                for button in row:
                    if button.get("text") == button_text:
                        self.talk.press(name, message, button["callback_data"])
                        return
        raise AssertionError(f"no button {button_text!r} in {name}'s private chat")

    def deleted(self, group: Chat, message: Message) -> bool:
        return group.messages[message.message_id].deleted

    def is_banned(self, name: str, group: Chat) -> bool:
        return self.world.is_banned(name, group)

    def status(self, name: str, group: Chat) -> str:
        return self.world.status_of(name, group)

    def unban_directly(self, name: str, group: Chat) -> None:
        """Someone lifts a ban by hand in Telegram's own interface."""
        group.members.pop(self.user(name).id, None)


async def start_env(db_url: str, *, groups: int = 3, policy: dict | None = None):
    world = World()
    olga = world.add_user("olga", owner=True)
    adam = world.add_user("adam")
    olga.started = True
    chats = {}
    for n in range(1, groups + 1):
        chats[f"g{n}"] = world.add_group(f"g{n}", f"Club {n}", owner=olga, admins=(adam,))
    settings = Settings(
        _env_file=None,
        database_url=db_url,
        owner_ids=world.owner_ids,
        telegram_api_base_url=IN_PROCESS,
        default_language="en",
    )
    app = await start_bot(world, settings)
    return world, app, chats, {"olga": olga, "adam": adam}


async def start_bot(world: World, settings: Settings) -> Deployment:
    """The real bot, talking to the world's Bot API in this process (no sockets)."""
    request = InProcessRequest(world)
    return await build(
        settings,
        token=TOKEN,
        request=request,
        updates_request=request,
        report_delay=0.5,
        retrain_delay=0.5,
    )


@pytest.fixture
async def env(app_db_url):
    world, app, chats, users = await start_env(app_db_url)
    async with running(app):
        for chat in chats.values():
            Membership(world).add_bot(chat, by=users["olga"])
        await wait_for(
            lambda: len(world.calls("sendMessage")) >= len(chats),
            timeout=20,
            what="the bot to greet its groups",
        )
        async with app.runtime.sessions() as session:
            await session.execute(update(ChatRow).values(policy=FAST))
            await session.commit()
        app.runtime.state.chats.clear()
        await settle(world)
        yield Env(world, app, users, chats)


__all__ = ["Env", "bot_api", "start_bot", "start_env"]
