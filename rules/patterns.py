"""Text patterns behind the ad signals: links, mentions, contact handles and bait phrases.

Each `find_*` function takes a `Normalised` message and returns the matches it found as
(weight, detail) pairs; the signals in `rules.signals` turn them into named `Signal`s. Patterns
run on the normalised views, never on raw text, so disguises that normalisation undoes (full-width
letters, spaced digits, zero-width characters) need no pattern of their own. Details quote the
sender's raw text, found through the normalised text's map.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rules import vocab
from rules.text import Normalised

__all__ = [
    "Hit",
    "find_ad_words",
    "find_contacts",
    "find_dm_requests",
    "find_links",
    "find_mentions",
    "find_profile_bait",
    "is_question",
    "is_small_talk",
    "noisy_or",
]

Hit = tuple[float, str]


def noisy_or(weights: Iterable[float], cap: float = 0.95) -> float:
    """Combine independent pieces of evidence: 1 - prod(1 - w), capped below certainty."""
    rest = 1.0
    for w in weights:
        rest *= 1.0 - w
    return min(cap, 1.0 - rest)


# ---------------------------------------------------------------------------------------------
# links

# Without "http://" or "www." a dotted word only counts as a link for these top-level domains:
# sloppy typing ("her.my", "ok.so") makes dotted words common in chat.
_TLDS = frozenset((
    "com", "net", "org", "io", "ru", "cn", "xyz", "top", "vip", "info", "biz", "site", "online",
    "shop", "club", "app", "cc", "ly", "gl", "su", "tk", "bet", "casino", "xxx", "porn", "ltd",
    "win", "icu",
))  # fmt: skip
_SHORTENERS = frozenset((
    "bit.ly", "tinyurl.com", "goo.gl", "cutt.ly", "is.gd", "urlz.fr", "rb.gy", "shorturl.at",
    "tiny.cc", "ow.ly", "rebrand.ly", "s.id", "clck.ru", "t.ly", "v.gd", "bit.do", "u.to",
))  # fmt: skip
_TME = re.compile(
    r"(?<![\w.])(?:https?://)?(?:www\.)?(?:t|telegram)\s?[.。]\s?(?:me|dog)/"
    r"(\+[\w-]+|joinchat/[\w-]+|[a-z][\w]{2,31})"
)
_URL = re.compile(
    r"(?<![\w@.])(https?://|www\.)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24}))"
    r"(?![\w])(?::\d{1,5})?(/[^\s,，。)）]*)?"
)


def _domain_allowed(domain: str, allowed: frozenset[str]) -> bool:
    domain = domain.removeprefix("www.")
    return any(domain == a or domain.endswith("." + a) for a in allowed)


def find_links(
    norm: Normalised,
    entity_urls: Iterable[str],
    allowed_domains: frozenset[str],
    allowed_mentions: frozenset[str],
) -> list[Hit]:
    """Links that do not point to an allowed domain; invites to private chats weigh most."""
    hits: dict[str, float] = {}
    texts = [(norm.folded, norm)] + [(u.lower(), None) for u in entity_urls]
    for text, source in texts:
        tme_spans: list[tuple[int, int]] = []
        for m in _TME.finditer(text):
            tme_spans.append(m.span())
            target = m.group(1)
            shown = source.raw_span(*m.span(), compact=False) if source else m.group()
            if target.startswith(("+", "joinchat/")):
                hits[shown] = 0.85
            elif target not in allowed_mentions and not _domain_allowed("t.me", allowed_domains):
                hits[shown] = 0.6
        for m in _URL.finditer(text):
            if any(s <= m.start() < e for s, e in tme_spans):
                continue
            scheme, domain, tld = m.group(1), m.group(2), m.group(3)
            if not scheme and tld not in _TLDS:
                continue  # "main.py", "e.g." and the like
            if _domain_allowed(domain, allowed_domains):
                continue
            shown = source.raw_span(*m.span(), compact=False) if source else m.group()
            bare = domain.removeprefix("www.")
            if bare in _SHORTENERS:
                hits[shown] = 0.6
            elif bare in ("wa.me", "api.whatsapp.com", "chat.whatsapp.com"):
                hits[shown] = 0.7
            else:
                hits[shown] = max(hits.get(shown, 0.0), 0.4)
    return [(w, shown) for shown, w in hits.items()]


# ---------------------------------------------------------------------------------------------
# mentions

_MENTION = re.compile(r"@(?<![\w@.]@)([a-z][a-z0-9_]{3,31})(?![\w.]*\.[a-z]{2,})")


def find_mentions(
    norm: Normalised, entity_mentions: Iterable[str], allowed: frozenset[str]
) -> list[Hit]:
    """@usernames outside the group's allowed list; bots weigh more than people or channels."""
    names = {m.group(1) for m in _MENTION.finditer(norm.folded)}
    names.update(m.lower().lstrip("@") for m in entity_mentions if m)
    hits: list[Hit] = []
    for name in sorted(names - allowed):
        hits.append((0.55 if name.endswith("bot") else 0.3, "@" + name))
    return hits


# ---------------------------------------------------------------------------------------------
# contact handles

# Names of messengers, including the homophones and symbols ads use to dodge filters.
_KW_STRONG = (
    r"微信|薇信|威信|维信|徽信|卫信|v信|v芯|薇芯|绿泡泡|扣扣|抠抠|口口|企鹅|🐧|电报|纸飞机|飞机|灰机|"
    r"蝙蝠|土豆|联系方式|联系|咨询|✈|☎|"
    r"(?<![a-z])(?:vx|wx|weixin|wechat|qq|whatsapp|telegram|line\s?id|skype|viber|contact|tg)"
)
_KW_WEAK = (
    r"微|薇|威|嶶|徾|韦|喂|溦|危|围|唯|伟|魏|葳|蔚|卫|扣|蔻|寇|宼|叩|抠|筘|鹅|"
    r"(?<![a-z])(?<![a-z0-9]\+)[qv]"
)
_ID_DIGITS = r"\d{5,13}"
_ID_HANDLE = r"@?[a-z][a-z0-9_-]{3,20}\d[a-z0-9_-]*|@[a-z][a-z0-9_]{3,31}"
# Anything but letters, digits and "@" may sit between a messenger and its ID ("薇❤:", "q~").
_GAP = r"(?:[^\w@]|[号是为_]){0,3}"
_KW_THEN_ID = re.compile(
    rf"(?P<kw>(?:加|添加|(?<![a-z0-9])\+)?(?:{_KW_STRONG}|{_KW_WEAK}))(?:号|号码|id)?{_GAP}"
    rf"(?P<id>{_ID_DIGITS}|{_ID_HANDLE})"
)
_ID_THEN_KW = re.compile(
    rf"(?<![a-z0-9])(?P<id>\d{{6,13}}|[a-z]{{2,6}}\d{{3,8}})[\s+➕_-]{{0,2}}(?P<kw>{_KW_STRONG}|"
    rf"{_KW_WEAK}|口)(?![a-z0-9])"
)
_ADD_KW = re.compile(
    rf"(?:加|(?<![a-z0-9])\+|添加|(?<![a-z])add\s?|私)(?P<kw>{_KW_STRONG}|{_KW_WEAK})(?![a-z])"
)
# Greedy digit runs need no lookarounds: a match can only start where a run starts.
_NUMBER = re.compile(r"\+?\d{7,}")
_PHONE = re.compile(r"\+\d{8,15}|1[3-9]\d{9}|0\d{9,11}")
_HAS_DIGIT = re.compile(r"\d")
_HAS_CJK = re.compile(r"[\u4e00-\u9fff]")
_HAS_CYRILLIC = re.compile(r"[а-яё]")
# A short letters-and-digits code set in Chinese text ("tad765", "ukx735"): how ads write a
# messenger ID without naming the messenger.
_CODE_IN_CJK = re.compile(
    r"(?:(?<=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff][^a-z0-9\u4e00-\u9fff])|^)"
    r"[a-z]{1,5}\d{3,6}[a-z]{0,2}(?![a-z0-9])"
    r"|(?<![a-z0-9])[a-z]{1,5}\d{3,6}[a-z]{0,2}(?=[^a-z0-9\u4e00-\u9fff]?[\u4e00-\u9fff])"
)
_QUANTITY = re.compile(
    r":|\d\.\d{5,}|\d{2,4}\s?[-./年]\s?\d{1,2}\s?[-./月]\s?\d{1,2}|\d\.\d{1,2}(?!\d)|(?:\d{1,3}[-/,]){2,}\d"
)


def _is_quantity(raw_fragment: str, digits: str) -> bool:
    """Dates, times, prices and score lists are not contact numbers."""
    if len(set(digits)) <= 2:  # "666666", "23333333": chat noise, not an ID
        return True
    return _QUANTITY.search(raw_fragment) is not None


def _describe_id(raw_kw: str, ident: str) -> str:
    if ident.isdigit():
        return f"{raw_kw} + {len(ident)} digits"
    return f"{raw_kw} {ident}"


def _mask_links(text: str) -> str:
    """Blank out links (same length, so positions still map): their digits are no phone."""
    for pattern in (_TME, _URL):
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


class _Contacts:
    """What find_contacts found so far: the highest weight per detail, and the spans already
    explained (a later, weaker pattern does not count the same text again)."""

    __slots__ = ("covered", "hits", "norm")

    def __init__(self, norm: Normalised) -> None:
        self.norm = norm
        self.hits: dict[str, float] = {}
        self.covered: list[tuple[int, int]] = []

    def add(self, weight: float, detail: str, span: tuple[int, int]) -> None:
        self.hits[detail] = max(self.hits.get(detail, 0.0), weight)
        self.covered.append(span)

    def seen(self, pos: int) -> bool:
        return any(s <= pos < e for s, e in self.covered)

    def result(self) -> list[Hit]:
        return [(w, d) for d, w in self.hits.items()]


def find_contacts(norm: Normalised) -> list[Hit]:
    """Messenger handles and phone-like numbers, with the messenger named in the detail."""
    found = _Contacts(norm)
    text = norm.text
    # Every pattern but "add + messenger" needs a digit or an "@": most messages have neither.
    if _HAS_DIGIT.search(text) is None and "@" not in text:
        _add_messenger(found, text)
        return found.result()
    if "." in text:
        text = _mask_links(text)
    _messenger_then_id(found, text)
    _id_then_messenger(found, text)
    _numbers(found, text)
    _add_messenger(found, text)
    if _HAS_CJK.search(text):
        _codes_in_chinese(found, text)
    return found.result()


def _messenger_then_id(found: _Contacts, text: str) -> None:
    """ "微信 abc1234", "qq: 12345678": a strong name counts more than a one-letter homophone,
    which must be followed by digits or a handle with digits, not a bare @username."""
    norm = found.norm
    for m in _KW_THEN_ID.finditer(text):
        kw, ident = m.group("kw"), m.group("id")
        if ident.isdigit() and _is_quantity(norm.raw_span(*m.span("id")), ident):
            continue
        bare = kw.lstrip("加添+")
        strong = len(bare) > 1 or bare in "🐧✈☎"
        if not strong and ident.startswith("@"):
            continue
        raw_kw = norm.raw_span(*m.span("kw")).strip()
        found.add(0.8 if strong else 0.7, _describe_id(raw_kw, ident), m.span())


def _id_then_messenger(found: _Contacts, text: str) -> None:
    """ "12345678 微信", "abc123 v"."""
    norm = found.norm
    for m in _ID_THEN_KW.finditer(text):
        ident = m.group("id")
        if found.seen(m.start()) or (
            ident.isdigit() and _is_quantity(norm.raw_span(*m.span("id")), ident)
        ):
            continue
        raw_kw = norm.raw_span(*m.span("kw")).strip()
        found.add(0.7, _describe_id(raw_kw, ident), m.span())


def _numbers(found: _Contacts, text: str) -> None:
    """Phone numbers, and other long numbers that are not quantities."""
    for m in _NUMBER.finditer(text):
        number = m.group()
        if found.seen(m.start()) or _is_quantity(
            found.norm.raw_span(*m.span()), number.lstrip("+")
        ):
            continue
        if _PHONE.fullmatch(number):
            found.add(0.35, f"phone number ({len(number.lstrip('+'))} digits)", m.span())
        elif number[0] != "+":
            found.add(0.25, f"{len(number)}-digit number", m.span())


def _add_messenger(found: _Contacts, text: str) -> None:
    """ "加微信", "add wechat": a request to add the sender on a messenger, with no ID."""
    for m in _ADD_KW.finditer(text):
        if not found.seen(m.start()):
            found.add(0.5, found.norm.raw_span(*m.span()).strip(), m.span())


def _codes_in_chinese(found: _Contacts, text: str) -> None:
    """A letters-and-digits code set in Chinese text, unless it is a split number ("1.5")."""
    norm = found.norm
    for m in _CODE_IN_CJK.finditer(text):
        if not found.seen(m.start()) and not _SPLIT_NUMBER.search(norm.raw_span(*m.span())):
            found.add(0.45, f"code {m.group()}", m.span())


_SPLIT_NUMBER = re.compile(r"\d[.,]\d")


# ---------------------------------------------------------------------------------------------
# bait phrases

_DM = (
    ("zh", re.compile(r"私聊|私我|私信|私撩|私戳|加我|联系我|滴滴我|戳我|撩我|pm我|dm我"), 0.35),
    ("zh", re.compile(r"(?:丝|思|撕|蜜)(?:我|聊)(?![天])|来撩|有意者?私"), 0.35),
    ("zh", re.compile(r"找我"), 0.2),
    (
        "en",
        re.compile(r"\b(?:dm|pm|inbox|msg|message|text|contact|write|hmu|whatsapp|telegram)\s?me\b"),
        0.4,
    ),
    ("en", re.compile(r"\bhit me up\b"), 0.4),
    ("en", re.compile(r"\b(?:dm|pm) (?:for|now|if)\b|\bsend me a (?:dm|message)\b"), 0.4),
    ("ru", re.compile(r"(?:пиши|напиши)(?:те)?\s(?:мне|в\s?лс|в\s?личку|в\s?личные)"), 0.45),
    ("ru", re.compile(r"(?<![а-яё])(?:в\s?лс|в\s?личку|в\s?директ)(?![а-яё])"), 0.35),
    ("ru", re.compile(r"(?:пиши|пишите|ставь|ставьте|жми|жмите)\s?(?:\+|плюс)"), 0.45),
    ("ru", re.compile(r"личн(?:ые|ых)\sсообщени"), 0.4),
    ("ru", re.compile(r"(?:пиши|напиши)(?:те)?\s(?:в\s)?(?:тг|телеграм)"), 0.4),
)  # fmt: skip
_PROFILE = (
    (
        "zh",
        re.compile(
            r"看(?:我|俺|姐姐|妹妹|哥哥)?的?(?:个人)?(?:简介|主页|头像|名字|昵称|资料|签名|铭|茗|明字|名|id)"
            r"|(?:简介|主页|头像|名字|昵称|签名|空间)(?:有|里有|见|看)"
            r"|点(?:我|开)?(?:头像|主页)|看(?:我)?(?:空间|个签)"
        ),
    ),
    (
        "en",
        re.compile(
            r"\b(?:check|see|look at|visit|view|open) (?:out )?my (?:bio|profile|page|name)\b"
            r"|\blinks? (?:is )?in (?:my )?(?:bio|profile)\b|\bmy bio\b"
        ),
    ),
    (
        "ru",
        re.compile(
            r"(?:смотри|смотрите|загляни|заглядывай|ссылка|инфа|подробности)\s(?:в\s)?"
            r"(?:моем\s|моём\s)?(?:профил|описани|био)|в\s(?:моем\s|моём\s)?профиле"
        ),
    ),
)


def _scripts(text: str) -> set[str]:
    """Which pattern families can match: Chinese and Russian ones only where those scripts are."""
    found = {"en"}
    if _HAS_CJK.search(text):
        found.add("zh")
    if _HAS_CYRILLIC.search(text):
        found.add("ru")
    return found


# A question: what a member asks ("有没有人出二手轮胎？", "does anyone sell ...?"). Asked with
# "私聊我", it is a buyer's request, not an offer.
_QUESTION = re.compile(
    r"[?？]|^(?:请问|求问|求助|求购|求推荐|有没有|有谁|谁有|谁知道|哪里|哪儿|哪家|想问)"
    r"|有没有人|有人(?:知道|有|出|卖|要|用过|去)|吗[!,.~]*$|(?:does|do|is|can|anyone|who)\b.*\?"
)


def is_question(norm: Normalised) -> bool:
    """Whether the message asks something rather than offers something."""
    return _QUESTION.search(norm.folded) is not None


_NOT_WORD = re.compile(r"[\W_]+")
_SMALL_TALK = re.compile(
    "|".join(
        re.escape(t) for t in sorted({*vocab.SMALL_TALK, *vocab.SMALL_TALK_FILLER}, key=len)[::-1]
    )
)


def is_small_talk(norm: Normalised) -> bool:
    """Whether the message is only greetings, wishes, thanks or acknowledgements ("祝大家新年快乐，
    万事如意！", "收到", "谢谢群主"): nothing in it but what every group says on the same day."""
    words = _NOT_WORD.sub("", norm.text)
    return bool(words) and not _SMALL_TALK.sub("", words)


def find_dm_requests(norm: Normalised) -> list[Hit]:
    """ "Add me", "DM me", "пиши в лс": invitations to move the talk out of the group."""
    hits: dict[str, float] = {}
    scripts = _scripts(norm.text)
    for script, pattern, weight in _DM:
        if script not in scripts:
            continue
        for m in pattern.finditer(norm.text):
            shown = norm.raw_span(*m.span()).strip()
            hits[shown] = max(hits.get(shown, 0.0), weight)
    return [(w, d) for d, w in hits.items()]


def find_profile_bait(norm: Normalised) -> list[Hit]:
    """ "See my bio / profile / name": the ad itself sits in the sender's profile."""
    hits: list[Hit] = []
    scripts = _scripts(norm.text)
    for script, pattern in _PROFILE:
        if script not in scripts:
            continue
        for m in pattern.finditer(norm.text):
            hits.append((0.6, norm.raw_span(*m.span()).strip()))
    return hits


# ---------------------------------------------------------------------------------------------
# ad vocabulary


def _alternation(terms: Iterable[tuple[str, float]]) -> str:
    ordered = sorted((t for t, _ in terms), key=len, reverse=True)
    return "|".join(re.escape(t) for t in ordered)


_CHINESE = re.compile(_alternation(vocab.CHINESE))
# No lookbehind here: a pattern that starts with the alternation lets the regex engine skip
# positions by first character, which is several times faster; the word start is checked after.
_ENGLISH = re.compile("(?:" + _alternation(vocab.ENGLISH) + r")(?:s|es)?(?![a-z])")
_RUSSIAN = re.compile(r"(?<![а-яёa-z])(?:" + _alternation(vocab.RUSSIAN) + ")")
_WORD_CHAR = re.compile("[a-z0-9]")
_WEIGHTS = {t: w for t, w in (*vocab.CHINESE, *vocab.ENGLISH, *vocab.RUSSIAN)}


def find_ad_words(norm: Normalised) -> list[Hit]:
    """Ad vocabulary in any of the three languages; each distinct term counts once."""
    text = norm.text
    found: dict[str, float] = {}
    patterns = []
    if _HAS_CJK.search(text):
        patterns.append(_CHINESE)
    if _HAS_CYRILLIC.search(text):
        patterns.append(_RUSSIAN)
    patterns.append(_ENGLISH)
    for pattern in patterns:
        for m in pattern.finditer(text):
            if pattern is _ENGLISH and m.start() and _WORD_CHAR.match(text, m.start() - 1):
                continue
            term = m.group()
            weight = _WEIGHTS.get(term)
            if weight is None:  # an English plural
                weight = _WEIGHTS.get(term.removesuffix("es"), _WEIGHTS.get(term[:-1], 0.0))
            found[term] = weight
    hits = [(w, t) for t, w in found.items()]
    for gate, pattern in _EARNINGS:
        if gate.search(text):
            amount = pattern.search(text)
            if amount:
                hits.append((0.5, norm.raw_span(*amount.span()).strip()))
    markers = set(_AD_EMOJI.findall(norm.raw))
    if len(markers) >= 2:
        hits.append((0.25 if len(markers) < 4 else 0.45, f"{len(markers)} ad emoji"))
    return hits


# Money per period: "earn $300 a day", "от 3000 в день", "日入500". Each pattern runs only when
# its cheap gate (a currency sign, a Russian period word, a Chinese earning word) is in the text.
_EARNINGS = (
    (
        re.compile(r"[$£€]|\d\s?(?:usd|dollar)"),
        re.compile(
            r"(?:earn|make|making|get paid|receive|profit|income)\w*\s"
            r"(?:up to |over |about |from )?"
            r"[$£€]?\d[\d,.]*k?\s?(?:usd|dollars?|[$£€])?\s?"
            r"(?:(?:per|a|an|each|every|/)\s?(?:day|week|hour|hr|month)|daily|weekly)\b"
        ),
    ),
    (
        re.compile(r"(?:в|за)\s(?:день|сутки|час|недел|месяц)"),
        re.compile(
            r"(?:от\s?\d[\d\s.,]*(?:\$|₽|руб\w*|р\b|тыс\w*|к\b|k\b)?"
            r"|\d[\d\s.,]*(?:\$|₽|руб\w*|тыс\w*))"
            r"\s?(?:в|за)\s(?:день|сутки|час|недел\w+|месяц)"
        ),
    ),
    (re.compile(r"[日月周](?:入|赚|结|收益)"), re.compile(r"[日月周](?:入|赚|结|收益)\s?\d{3,}")),
)
# Pictographs that decorate ads ("🔥✅👉💰") rather than express a feeling: several different
# ones in a message are a mark of promotional copy.
_AD_EMOJI = re.compile("[🔥✅👉👇💰💵💸💎🎁🧧📢📣🚀⭐🌟💯⚡🏆🎉🔞☎📞✈💲🤑⏰❗‼🆓🆕🈶🉐]")
