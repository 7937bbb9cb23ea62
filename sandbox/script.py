"""Scenario files and the interactive console of the sandbox (`python -m bot sandbox`).

One line, one step. Declarations come first; the bot starts before the first action; after every
action the runner waits until the bot is done (`World.settle`) and prints what everyone did.
`expect` lines check the world and print `ok   line N: ...` or `FAIL line N: ...`.
A `#` followed by a space starts a comment (outside quotes); `#5` names message 5.

    # declarations (users are also created on first use)
    owner olga                                   # an owner of the deployment (world.owner_ids)
    users alice, bob, carl
    group g1 "Guangzhou 广州" owner olga admins adam members alice, bob
    group g2 Beijing owner olga basic             # `basic`: a basic group, not a supergroup

    # actions
    olga adds bot to g1                          # as admin; `... as member` gives no rights
    olga removes bot from g1
    carl joins g1                                # or: invited by alice / via link spring
    dave asks to join g1 via link vip            # a join request
    carl leaves g1
    olga promotes alice in g1                    # and: olga demotes alice in g1
    g2 becomes a supergroup                      # `... (supergroup first)`: its update first
    alice@g1: hello @bob https://t.me/x          # entities are marked as a client would
    bob@g1 reply to #5: 谢谢                     # reply to message 5 of g1 (numbers are shown)
    bob@g1 reply to alice: ok                    # reply to alice's last message
    bob@g1 replies to alice: ok                  # the same (a full reply_to_message)
    eve@g1 forwarded from "Crypto News": 空投    # a forward from a channel
    eve@g1 photo: 加微信 abc123                  # a photo with a caption
    eve@g1 button "Join" https://t.me/+x: hi     # a message with an inline button (userbots)
    olga@g1 anonymous: 公告                       # an anonymous admin (GroupAnonymousBot)
    olga@g1 as channel "Club News": hi           # a linked channel's post
    alice@g1 edit #5: hello again                # an edited message
    olga@bot: /start                             # a private message to the bot
    olga presses "Undo"                          # a button of the bot's last message to olga
    alice presses "I agree" in g1                # ... of the bot's last message in g1
    alice reacts 👍 to bob@g1                    # a reaction to bob's last message in g1
    alice reacts ❤ to #5 in g1                   # ... to message 5 (a new one replaces hers)
    wait 2                                       # let timed work run (seconds)
    time passes 2 days                           # move the date clock on: days, hours, minutes
    clock -6 days                                # dates from 6 days ago on; `clock +0`: now

    # expectations
    expect bot said in g1 "welcome"              # any bot message in g1 containing the text
    expect bot did not say in g1 "warning"
    expect bot said nothing in g2
    expect alice is banned in g1                 # banned, restricted, member, admin, left
    expect alice is not banned in g1
    expect #7 in g1 was deleted                  # or: message 7 in g1 was not deleted
    expect last message of eve in g1 was deleted
    expect olga got "blacklisted"                # a private message from the bot
    expect olga got nothing
    expect olga receives photo                   # a photo from the bot in private
    expect olga receives document "groups.csv"   # a document; the text is in its name or caption
    expect olga did not receive document
    expect eve was refused in g1                 # a join refused by a ban
    expect bot messages in g1 = 2                # also: messages, deleted messages, members,
    expect 429s = 0                              # private messages to NAME, calls METHOD

Dates in updates and results come from the sandbox's clock (`World.now()`): `time passes` and
`clock` move it, so the bot sees a story that runs over days; they do not run the bot's timers
(use `wait`). Reactions reach the bot, as message_reaction then message_reaction_count, only
when it is an admin of the group and asks for them in allowed_updates, as on Telegram.

`group ... with bot` declares a group the owner adds the bot to as the story starts. The console
reads the same lines, plus `help` (in the operator's words; `help all`: this reference) and
`quit` (or Ctrl-C, or Ctrl-D). What the bot does later on its own (a welcome after the joins
stop, a report, a digest) shows in the console as it happens, without waiting for a line.
With no declarations (in the console or a file) the world has owner olga, users alice, bob and
carl, members of groups g1 Guangzhou and g2 Beijing, owned by olga, with the bot added.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TextIO

from sandbox.script_steps import ScenarioState, run_step
from sandbox.script_syntax import ScriptError, Step, names, parse_line
from sandbox.server import SandboxServer
from sandbox.world import World

StartBot = Callable[[World, str], contextlib.AbstractAsyncContextManager[object]]
HELP = __doc__.split("\n\n", 1)[1] if __doc__ else ""
PROMPT = "> "
WATCH_EVERY = 0.25  # seconds between looks for what the bot did on its own, in the console
CONSOLE_HELP = """\
You play everyone here: members, admins and the owner. The bot answers as it would on Telegram,
and everything anyone does is shown as it happens.

Members talk in groups:
  alice@g1: hello                         alice writes "hello" in group g1
  bob@g1 reply to alice: thanks           bob replies to alice's last message
  eve@g1 photo: 加微信 abc123              a photo with a caption
  eve@g1 forwarded from "Crypto News": 空投  a post forwarded from a channel
  adam@g1 reply to eve: /spam             an admin's command, in reply (also /warn, /ban,
                                          /blacklist, /mute 2h, /stats, /whois, /rules ...)
People come and go:
  carl joins g1                           also: carl joins g1 invited by alice
  carl leaves g1
  olga promotes alice in g1               alice becomes an admin (olga demotes alice in g1)
  olga adds bot to g1                     the owner brings the bot into a group
  g1 becomes a supergroup
The owner, in private with the bot:
  olga@bot: /start                        also /groups, /digest, /schedule, /help
  olga presses "Undo"                     a button under the bot's last message to olga
Time:
  wait 5                                  let 5 seconds pass: the bot's timers run
  time passes 2 days                      later dates for what follows (for health reports)
Checks (say ok or FAIL):
  expect bot said in g1 "welcome"
  expect eve is banned in g1              also: member, admin, restricted, left
  expect olga got "blacklisted"

Without declarations you have owner olga, members alice, bob and carl, and the groups g1
(Guangzhou) and g2 (Beijing) with the bot in them; `owner`, `users` and `group` lines before the
first action set up your own. `help all` shows every line the language knows.
`quit`, Ctrl-C or Ctrl-D leaves."""


class Runner:
    """Feeds lines to a world, starting the server and the bot at the first action."""

    def __init__(
        self,
        *,
        start_bot: StartBot,
        out: TextIO,
        name: str,
        expect_timeout: float,
        settle_timeout: float,
    ) -> None:
        self.state = ScenarioState(World(), out, expect_timeout)
        self.start_bot = start_bot
        self.out = out
        self.name = name
        self.settle_timeout = settle_timeout
        self.stack = contextlib.AsyncExitStack()
        self.started = False
        self.declared = False
        self.seen = 0
        self.console = False  # help in the operator's words, and `watch` prints as it happens
        self.busy = False  # a line is being run: its own flush prints what it caused

    @property
    def world(self) -> World:
        return self.state.world

    async def feed(self, number: int, line: str) -> bool:
        """Run one line; False when it asks to quit."""
        try:
            step = parse_line(line)
        except ScriptError as exc:
            self.fail(number, f"syntax: {exc}")
            return True
        if step is None:
            return True
        if step.kind == "quit":
            return False
        if step.kind == "help":
            print(HELP if "topic" in step.args or not self.console else CONSOLE_HELP, file=self.out)
            return True
        try:
            if step.is_declaration:
                self.declare(step)
                return True
            if not self.started:
                await self.start()
            await self.act(number, step)
        except (KeyError, ValueError) as exc:
            self.fail(number, f"{step.text}: {exc.args[0] if exc.args else exc}")
        return True

    def declare(self, step: Step) -> None:
        self.declared = True
        world = self.world
        if step.kind in ("owners", "users"):
            for name in names(step.args["names"]):
                user = self.state.user(name)
                if step.kind == "owners" and user.id not in world.owner_ids:
                    world.owner_ids.append(user.id)
            return
        owner = step.args.get("owner")
        if owner is None:
            if not world.owner_ids:
                raise ValueError(f"group {step.args['key']} needs an owner (declare one first)")
            owner_user = world.user(world.owner_ids[0])
        else:
            owner_user = self.state.user(owner.strip())
        chat = world.add_group(
            step.args["key"],
            step.args["title"],
            owner=owner_user,
            admins=tuple(self.state.user(n) for n in names(step.args.get("admins", ""))),
            members=tuple(self.state.user(n) for n in names(step.args.get("members", ""))),
            supergroup="basic" not in step.args,
        )
        if "with_bot" in step.args:
            self.state.pending_bots.append((chat.key, owner_user.name))

    async def start(self) -> None:
        world = self.world
        default = not self.declared
        if default:
            olga = self.state.user("olga")
            world.owner_ids.append(olga.id)
            people = tuple(self.state.user(n) for n in ("alice", "bob", "carl"))
            for key, title in (("g1", "Guangzhou"), ("g2", "Beijing")):
                world.add_group(key, title, owner=olga, members=people)
                self.state.pending_bots.append((key, "olga"))
            print(
                "(no declarations: owner olga; users alice, bob, carl; groups g1 Guangzhou and "
                "g2 Beijing, owned by olga, with the bot)",
                file=self.out,
            )
        server = SandboxServer(world)
        base_url = await server.start()
        self.stack.push_async_callback(server.stop)
        await self.stack.enter_async_context(self.start_bot(world, base_url))
        self.started = True
        for key, by in self.state.pending_bots:
            self.state.membership.add_bot(key, by=by)
        self.state.pending_bots.clear()
        await self.settle(0)

    async def act(self, number: int, step: Step) -> None:
        if step.is_expectation:
            await self.settle(number)
            self.flush()
            passed, detail = await run_step(self.state, step)
            self.state.expectations += 1
            if passed:
                print(f"ok   line {number}: {step.text}", file=self.out)
            else:
                self.fail(number, f"{step.text} ({detail})" if detail else step.text)
            return
        if step.kind == "wait":
            await asyncio.sleep(float(step.args["seconds"]))
        else:
            await run_step(self.state, step)
        await self.settle(number)

    async def settle(self, number: int) -> None:
        try:
            await self.world.settle(timeout=self.settle_timeout)
        except TimeoutError as exc:
            self.fail(number, str(exc))
        self.flush()

    def flush(self) -> None:
        """Print every event since the last flush."""
        for event in self.world.events[self.seen :]:
            print(event.line(), file=self.out)
        self.seen = len(self.world.events)

    async def watch(self) -> None:
        """Print what the bot does on its own between lines (a welcome after a wave of joins,
        a report): the console shows it without waiting for the next line."""
        while True:
            await asyncio.sleep(WATCH_EVERY)
            if self.started and not self.busy and len(self.world.events) > self.seen:
                print("\r", end="", file=self.out)
                self.flush()
                print(PROMPT, end="", file=self.out, flush=True)

    def fail(self, number: int, text: str) -> None:
        self.state.failures += 1
        print(f"FAIL line {number}: {text}", file=self.out)

    async def close(self) -> None:
        await self.stack.aclose()


@contextlib.asynccontextmanager
async def _runner(
    start_bot: StartBot, out: TextIO, name: str, expect_timeout: float, settle_timeout: float
) -> AsyncIterator[Runner]:
    runner = Runner(
        start_bot=start_bot,
        out=out,
        name=name,
        expect_timeout=expect_timeout,
        settle_timeout=settle_timeout,
    )
    try:
        yield runner
    finally:
        await runner.close()


async def run_scenario(
    lines: Iterable[str],
    *,
    start_bot: StartBot,
    out: TextIO,
    name: str = "scenario",
    expect_timeout: float = 3.0,
    settle_timeout: float = 10.0,
) -> int:
    """Run a scenario; returns the number of failed expectations (syntax errors count)."""
    async with _runner(start_bot, out, name, expect_timeout, settle_timeout) as runner:
        for number, line in enumerate(lines, start=1):
            if not await runner.feed(number, line.rstrip("\n")):
                break
        state = runner.state
        print(f"{name}: {state.expectations} expectation(s), {state.failures} failure(s)", file=out)
        return state.failures


async def run_interactive(
    *,
    start_bot: StartBot,
    stdin: TextIO,
    out: TextIO,
    expect_timeout: float = 3.0,
    settle_timeout: float = 10.0,
) -> int:
    """The console: read lines from `stdin` until `quit` or end of input; returns failures.

    Lines are read by a thread of their own that nothing waits for, so Ctrl-C (which cancels
    this coroutine) leaves at once, the bot stopped, instead of waiting for one more line.
    """
    print("groupkeeper sandbox: type `help` for what you can do, `quit` to leave.", file=out)
    lines = _read_lines(stdin)
    async with _runner(start_bot, out, "console", expect_timeout, settle_timeout) as runner:
        runner.console = True
        watcher = asyncio.create_task(runner.watch(), name="console-watch")
        try:
            number = 0
            while True:
                print(PROMPT, end="", file=out, flush=True)
                line = await lines.get()
                if line is None:
                    print(file=out)
                    break
                number += 1
                runner.busy = True
                try:
                    if not await runner.feed(number, line.rstrip("\n")):
                        break
                finally:
                    runner.busy = False
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        return runner.state.failures


def _read_lines(stdin: TextIO) -> asyncio.Queue[str | None]:
    """Lines of `stdin` as they are typed, None at the end, from a daemon thread: a thread
    blocked in readline never holds up leaving (the event loop's own executor would)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, line)

    def read() -> None:
        while True:
            try:
                line = stdin.readline()
            except (OSError, ValueError):  # stdin closed under us
                line = ""
            put(line or None)
            if not line:
                return

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return queue
