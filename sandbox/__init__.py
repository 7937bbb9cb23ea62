"""The local Bot API sandbox: an in-memory Telegram (`World`), people acting in it
(`Membership`, `Talk`), its HTTP face on 127.0.0.1 (`SandboxServer`), the same Bot API
in-process for python-telegram-bot (`InProcessRequest`), and scenarios and the console
(`run_scenario`, `run_interactive`). It imports nothing of the bot."""

from sandbox.inprocess import InProcessRequest
from sandbox.membership import Membership
from sandbox.script import run_interactive, run_scenario
from sandbox.server import SandboxServer
from sandbox.talk import Talk
from sandbox.world import World

__all__ = [
    "InProcessRequest",
    "Membership",
    "SandboxServer",
    "Talk",
    "World",
    "run_interactive",
    "run_scenario",
]
