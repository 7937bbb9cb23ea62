"""Wiring and entry points of the bot: settings, assembling and running it, receiving updates,
the executor, the scheduler, the command line."""
