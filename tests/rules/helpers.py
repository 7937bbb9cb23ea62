"""Builders shared by the rules tests."""

from rules.facts import DetectPolicy, MessageFacts
from rules.signals import Evidence
from rules.text import normalise


def evidence(
    text: str = "",
    *,
    name: str = "",
    newcomer: bool = False,
    same_text_groups: int = 0,
    same_text_senders: int = 1,
    history: int = 0,
    warned: bool = False,
    **message: object,
) -> Evidence:
    facts = MessageFacts(text=text, sender_name=name, **message)  # type: ignore[arg-type]
    return Evidence(
        message=facts,
        body=normalise(facts.text + ("\n" + facts.caption if facts.caption else "")),
        name=normalise(name),
        newcomer=newcomer,
        same_text_groups=same_text_groups,
        same_text_senders=same_text_senders,
        history=history,
        warned=warned,
    )


POLICY = DetectPolicy(
    allowed_domains=frozenset({"python.org", "github.com"}),
    allowed_mentions=frozenset({"club_news", "club_helper_bot"}),
)
