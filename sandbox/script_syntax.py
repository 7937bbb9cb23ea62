"""The scenario language of the sandbox, parsed line by line into steps (see sandbox.script
for the language itself). Parsing knows nothing of the world: a step names users, chats and
messages the way the line does, and the runner resolves them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NAME = r"[^\s@:,\"#]+"
Q = r"(?:\"([^\"]*)\"|'([^']*)'|“([^”]*)”)"
COMPARE = r"(==|=|>=|<=|>|<|!=)"
UNIT = r"(?P<unit>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)"
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class ScriptError(ValueError):
    """A line the scenario language does not understand; the message says why."""


@dataclass
class Step:
    """One parsed line. `kind` says what it is; `args` holds its parts by name."""

    kind: str
    args: dict[str, str] = field(default_factory=dict)
    negated: bool = False
    text: str = ""  # the line as written

    @property
    def is_declaration(self) -> bool:
        return self.kind in ("owners", "users", "group")

    @property
    def is_expectation(self) -> bool:
        return self.kind.startswith("expect")


def strip_comment(line: str) -> str:
    """The line without its comment: from a `#` that starts the line or follows a space and is
    followed by a space or the end, outside quotes."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'“":
            quote = "”" if char == "“" else char
        elif (
            char == "#"
            and (index == 0 or line[index - 1].isspace())
            and (index + 1 == len(line) or line[index + 1].isspace())
        ):
            return line[:index]
    return line


def names(text: str) -> list[str]:
    return [n for n in re.split(r"[\s,]+", text.strip()) if n and n.lower() != "and"]


def _quoted(match: re.Match[str], first: int) -> str:
    for value in match.groups()[first : first + 3]:
        if value is not None:
            return value
    return ""


_ACTIONS: list[tuple[str, str]] = [
    ("help", r"(?:help|\?)(?:\s+(?P<topic>all|everything|more))?"),
    ("quit", r"quit|exit|bye"),
    ("wait", r"wait\s+(?P<seconds>\d+(?:\.\d+)?)\s*(?:s|sec|seconds?)?"),
    ("time_passes", rf"time\s+passes\s+(?P<amount>\d+(?:\.\d+)?)\s*{UNIT}"),
    ("clock", rf"clock\s+(?:now|(?P<amount>[+-]?\s*\d+(?:\.\d+)?)\s*{UNIT}?)"),
    (
        "add_bot",
        rf"(?P<user>{NAME})\s+adds\s+(?:the\s+)?bot\s+to\s+(?P<chat>{NAME})"
        r"(?P<member>\s+as\s+(?:a\s+)?member)?",
    ),
    (
        "remove_bot",
        rf"(?P<user>{NAME})\s+(?:removes|kicks)\s+(?:the\s+)?bot\s+from\s+"
        rf"(?P<chat>{NAME})",
    ),
    (
        "join_request",
        rf"(?P<user>{NAME})\s+(?:asks|requests)\s+to\s+join\s+(?P<chat>{NAME})"
        rf"\s+via\s+(?:link\s+)?(?P<link>\S+)",
    ),
    (
        "join",
        rf"(?P<user>{NAME})\s+joins\s+(?P<chat>{NAME})(?:\s+invited\s+by\s+"
        rf"(?P<inviter>{NAME})|\s+via\s+(?:link\s+)?(?P<link>\S+))?",
    ),
    ("leave", rf"(?P<user>{NAME})\s+leaves\s+(?P<chat>{NAME})"),
    ("promote", rf"(?P<by>{NAME})\s+promotes\s+(?P<user>{NAME})\s+in\s+(?P<chat>{NAME})"),
    ("demote", rf"(?P<by>{NAME})\s+demotes\s+(?P<user>{NAME})\s+in\s+(?P<chat>{NAME})"),
    (
        "migrate",
        rf"(?P<chat>{NAME})\s+becomes\s+(?:a\s+)?supergroup"
        r"(?P<supergroup_first>\s+\(?supergroup\s+(?:update\s+)?first\)?)?",
    ),
    (
        "react",
        rf"(?P<user>{NAME})\s+reacts?\s+(?P<emoji>\S+)\s+(?:to|on)\s+(?:#(?P<message>\d+)\s+"
        rf"in\s+(?P<in_chat>{NAME})|(?P<author>{NAME})@(?P<chat>{NAME}))",
    ),
    ("press", rf"(?P<user>{NAME})\s+(?:presses|clicks|taps)\s+{Q}(?:\s+in\s+(?P<chat>{NAME}))?"),
    ("private", rf"(?P<user>{NAME})@bot\s*:\s?(?P<body>.*)"),
    ("say", rf"(?P<user>{NAME})@(?P<chat>{NAME})(?P<mods>[^:]*):\s?(?P<body>.*)"),
]
_MODS = [
    ("reply", r"repl(?:y|ies|ying)\s+to\s+#?(?P<reply>\d+)"),
    ("reply_last", rf"repl(?:y|ies|ying)\s+to\s+(?P<reply_user>{NAME})"),
    ("forward", rf"forward(?:ed)?\s+from\s+{Q}|forward(?:ed)?\s+from\s+(?P<channel>\S+)"),
    ("photo", r"photo"),
    ("anonymous", r"anonymous|anon"),
    ("channel", rf"as\s+channel\s+{Q}"),
    ("button", rf"button\s+{Q}\s+(?P<url>\S+)"),
    ("edit", r"edits?\s+#?(?P<edit>\d+)"),
]
_EXPECTS: list[tuple[str, str]] = [
    ("expect_said_nothing", rf"bot\s+said\s+nothing\s+in\s+(?P<chat>{NAME})"),
    (
        "expect_said",
        rf"bot\s+(?P<not>did\s+not\s+say|never\s+said|said)\s+in\s+"
        rf"(?P<chat>{NAME})\s+(?:something\s+containing\s+)?{Q}",
    ),
    (
        "expect_status",
        rf"(?P<user>{NAME})\s+is\s+(?P<not>not\s+)?(?:an?\s+)?"
        rf"(?P<status>banned|kicked|restricted|member|admin|administrator|left|"
        rf"owner|creator|present)\s+in\s+(?P<chat>{NAME})",
    ),
    (
        "expect_deleted",
        rf"(?:#|message\s+#?)(?P<message>\d+)\s+in\s+(?P<chat>{NAME})\s+"
        r"(?:is\s+|was\s+)?(?P<not>not\s+)?deleted",
    ),
    (
        "expect_deleted",
        rf"(?:the\s+)?last\s+message\s+of\s+(?P<user>{NAME})\s+in\s+"
        rf"(?P<chat>{NAME})\s+(?:is\s+|was\s+)?(?P<not>not\s+)?deleted",
    ),
    (
        "expect_private_nothing",
        rf"(?P<user>{NAME})\s+got\s+(?:nothing|no\s+(?:private\s+)?"
        r"messages?)",
    ),
    (
        "expect_private_media",
        rf"(?P<user>{NAME})\s+(?P<not>did\s+not\s+(?:get|receive)|never\s+(?:got|received)|"
        rf"got|gets|receives|received)\s+(?:an?\s+)?(?P<media>photo|document|file)"
        rf"(?:\s+(?:named\s+|containing\s+)?{Q})?",
    ),
    (
        "expect_private",
        rf"(?P<user>{NAME})\s+(?P<not>did\s+not\s+get|got)\s+(?:a\s+)?"
        rf"(?:private\s+message\s+)?(?:containing\s+)?{Q}",
    ),
    (
        "expect_refused",
        rf"(?P<user>{NAME})\s+was\s+(?P<not>not\s+)?refused\s+in\s+"
        rf"(?P<chat>{NAME})",
    ),
    (
        "expect_count",
        rf"(?P<what>bot\s+messages|messages|deleted\s+messages|members|"
        rf"bans|private\s+messages)\s+(?:in|to)\s+(?P<chat>{NAME})\s*{COMPARE}\s*"
        r"(?P<number>\d+)",
    ),
    (
        "expect_count",
        rf"(?P<what>429s|calls\s+(?P<method>\w+)|failed\s+calls)\s*{COMPARE}\s*"
        r"(?P<number>\d+)",
    ),
]


def parse_line(line: str) -> Step | None:
    """The step a line stands for; None for blank lines and comments; ScriptError otherwise."""
    text = strip_comment(line).strip()
    if not text:
        return None
    lowered = text.lower()
    for word in ("owners", "owner", "users", "user"):
        if lowered.startswith(word + " "):
            kind = "owners" if word.startswith("owner") else "users"
            return Step(kind, {"names": text[len(word) :].strip()}, text=text)
    if lowered.startswith("group "):
        return _group(text)
    if lowered.startswith("expect "):
        return _expect(text)
    for kind, pattern in _ACTIONS:
        match = re.fullmatch(pattern, text, re.IGNORECASE | re.DOTALL)
        if match is None:
            continue
        args = {k: v for k, v in match.groupdict().items() if v is not None}
        if kind == "press":
            args["label"] = _quoted(match, 1)
        if kind in ("time_passes", "clock"):
            args["seconds"] = str(_seconds(args))
        if kind == "react" and "in_chat" in args:
            args["chat"] = args.pop("in_chat")
        if kind == "say":
            args.update(_mods(args.pop("mods", "")))
        return Step(kind, args, text=text)
    raise ScriptError(f"cannot understand {text!r} (type `help` for the language)")


def _seconds(args: dict[str, str]) -> float:
    """The duration a `time passes` or `clock` line names, in seconds (no unit: seconds)."""
    amount = float(args.pop("amount", "0").replace(" ", ""))
    unit = args.pop("unit", "s").lower()
    return amount * SECONDS[unit[0]]


def _group(text: str) -> Step:
    match = re.fullmatch(
        rf"group\s+(?P<key>{NAME})\s+(?:{Q}|(?P<word>\S+))(?P<rest>.*)", text, re.IGNORECASE
    )
    if match is None:
        raise ScriptError(f"a group needs a key and a title: {text!r}")
    args = {"key": match.group("key"), "title": _quoted(match, 1) or match.group("word")}
    rest = match.group("rest")
    for part in ("owner", "admins", "members"):
        found = re.search(
            rf"\b{part}\s+(.+?)(?=\s+(?:owner|admins|members|basic|with)\b|$)", rest, re.IGNORECASE
        )
        if found:
            args[part] = found.group(1)
    if re.search(r"\bbasic\b", rest, re.IGNORECASE):
        args["basic"] = "yes"
    if re.search(r"\bwith\s+(?:the\s+)?bot\b", rest, re.IGNORECASE):
        args["with_bot"] = "yes"
    return Step("group", args, text=text)


def _mods(text: str) -> dict[str, str]:
    args: dict[str, str] = {}
    rest = text.strip()
    while rest:
        for name, pattern in _MODS:
            match = re.match(pattern + r"(?:\s+|$)", rest, re.IGNORECASE)
            if match is None:
                continue
            args[name] = "yes"
            args.update({k: v for k, v in match.groupdict().items() if v is not None})
            if name in ("forward", "channel", "button"):
                args[f"{name}_name"] = _quoted(match, 0) or args.pop("channel", "")
            rest = rest[match.end() :].strip()
            break
        else:
            raise ScriptError(
                f"unknown message option {rest!r} (reply to #N, reply to NAME, "
                'forwarded from "Channel", photo, anonymous, as channel "C", '
                'button "Label" URL, edit #N)'
            )
    return args


def _expect(text: str) -> Step:
    body = text[len("expect ") :].strip()
    for kind, pattern in _EXPECTS:
        match = re.fullmatch(pattern, body, re.IGNORECASE)
        if match is None:
            continue
        args = {k: v for k, v in match.groupdict().items() if v is not None}
        negated = bool(args.pop("not", "").lower().startswith(("not", "did", "never")))
        if kind in ("expect_said", "expect_private", "expect_private_media"):
            first = list(match.re.groupindex.values())
            args["fragment"] = _quoted(match, max(first))
        if kind == "expect_count":
            args["op"] = next(
                g for g in match.groups() if g in ("==", "=", ">=", "<=", ">", "<", "!=")
            )
        return Step(kind, args, negated, text)
    raise ScriptError(f"cannot understand the expectation {body!r} (type `help`)")
