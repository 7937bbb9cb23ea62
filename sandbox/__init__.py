"""The local Bot API sandbox: an in-memory Telegram (`World`), its HTTP face on 127.0.0.1
(`SandboxServer`), and scenarios and the console (`run_scenario`, `run_interactive`)."""

from sandbox.script import run_interactive, run_scenario
from sandbox.server import SandboxServer
from sandbox.world import World

__all__ = ["SandboxServer", "World", "run_interactive", "run_scenario"]
