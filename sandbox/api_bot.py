"""Sandbox Bot API methods about the bot itself: who it is, how updates reach it (getUpdates,
the webhook) and its command menus."""

from __future__ import annotations

from typing import Any

from sandbox.api_common import ApiError, Params, as_dict
from sandbox.updates import DEFAULT_UPDATES
from sandbox.world import World


def get_me(world: World, params: Params) -> Any:
    return {
        **world.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": True,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def take_poll(world: World, params: Params) -> None:
    """What a getUpdates call says besides asking: updates below `offset` were received, and
    which kinds of update the bot wants from now on."""
    offset = int(params.get("offset") or 0)
    if offset > 0:
        world.confirm(offset)
    _take_allowed(world, params)


def _take_allowed(world: World, params: Params) -> None:
    allowed = params.get("allowed_updates")
    if isinstance(allowed, list):
        world.updates.allowed = frozenset(allowed) if allowed else DEFAULT_UPDATES


def get_updates(world: World, params: Params) -> Any:
    if world.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    take_poll(world, params)
    limit = min(100, max(1, int(params.get("limit") or 100)))
    return world.deliverable(limit=limit)


def set_webhook(world: World, params: Params) -> Any:
    url = str(params.get("url") or "")
    if not url:
        world.webhook = None
        return True
    if not url.startswith(
        ("http://127.0.0.1", "http://localhost", "https://127.0.0.1", "https://localhost")
    ):
        raise ApiError(
            400, "Bad Request: bad webhook: the sandbox delivers webhooks to 127.0.0.1 only"
        )
    if params.get("drop_pending_updates"):
        world.updates.clear()
    allowed = params.get("allowed_updates")
    world.webhook = {
        "url": url,
        "secret_token": params.get("secret_token"),
        "allowed_updates": allowed if isinstance(allowed, list) else None,
    }
    _take_allowed(world, params)
    world.touch()
    return True


def delete_webhook(world: World, params: Params) -> Any:
    world.webhook = None
    if params.get("drop_pending_updates"):
        world.updates.clear()
    return True


def get_webhook_info(world: World, params: Params) -> Any:
    hook = world.webhook or {}
    info: dict[str, Any] = {
        "url": hook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates),
    }
    if hook.get("allowed_updates"):
        info["allowed_updates"] = hook["allowed_updates"]
    if hook.get("last_error_message"):
        info["last_error_date"] = hook["last_error_date"]
        info["last_error_message"] = hook["last_error_message"]
    return info


# ---- commands ------------------------------------------------------------------------------
def _scope_key(params: Params) -> tuple[str, str]:
    scope = as_dict(params.get("scope")) or {"type": "default"}
    parts = [str(scope.get("type"))] + [str(scope[k]) for k in ("chat_id", "user_id") if k in scope]
    return ":".join(parts), str(params.get("language_code") or "")


def set_my_commands(world: World, params: Params) -> Any:
    commands = params.get("commands")
    if not isinstance(commands, list):
        raise ApiError(400, "Bad Request: can't parse BotCommand array")
    world.commands[_scope_key(params)] = [
        {"command": str(c["command"]), "description": str(c["description"])} for c in commands
    ]
    return True


def delete_my_commands(world: World, params: Params) -> Any:
    world.commands.pop(_scope_key(params), None)
    return True


def get_my_commands(world: World, params: Params) -> Any:
    return world.commands.get(_scope_key(params), [])
