"""Every text marked for translation exists in both catalogs, with the same placeholders."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from services.i18n import catalog, tr

REPO = Path(__file__).resolve().parent.parent
KEYWORDS = {"tr": (2,), "N_": None}


def marked_texts():
    found = {}
    for package in ("bot", "handlers", "services"):
        for filename, _lineno, message, _comments, _context in extract_from_dir(
            REPO / package,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
        ):
            if isinstance(message, str) and message:
                found.setdefault(message, f"{package}/{filename}")
    return found


TEXTS = marked_texts()


def test_i18n_texts_are_found():
    assert len(TEXTS) > 5


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_i18n_every_text_translated(language):
    table = catalog(language)
    missing = sorted(f"{where}: {text!r}" for text, where in TEXTS.items() if text not in table)
    assert missing == []


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_i18n_placeholders_kept(language):
    table = catalog(language)
    fields = re.compile(r"\{(\w+)\}")
    wrong = [
        text
        for text in TEXTS
        if text in table and set(fields.findall(text)) != set(fields.findall(table[text]))
    ]
    assert wrong == []


def test_i18n_translates_and_formats():
    assert tr("zh-CN", "Approve") != "Approve"
    assert tr("en", "Approved: I now serve “{title}”.", title="G1") == "Approved: I now serve “G1”."
    assert tr("xx", "Approve") == "Approve"
