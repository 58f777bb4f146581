"""Message catalogs: every key in both languages with the same placeholders; errors map to messages."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from parbot.core.errors import DomainError
from parbot.i18n import LANGUAGES, catalog, error_text, placeholders, t

ROOT = Path(__file__).resolve().parents[2] / "parbot"


def test_every_key_exists_in_both_languages_with_the_same_placeholders():
    vi, en = catalog("vi"), catalog("en")
    assert set(vi) == set(en), set(vi) ^ set(en)
    for key in vi:
        assert placeholders(vi[key]) == placeholders(en[key]), key
        assert vi[key].strip() and en[key].strip(), key


def test_texts_are_nfc():
    for lang in LANGUAGES:
        for key, text in catalog(lang).items():
            assert unicodedata.normalize("NFC", text) == text, key


def test_keys_used_in_the_bot_exist():
    """Literal keys in the bot's code (t("…"), turn.t("…")) are all in the catalogs."""
    keys = set()
    for path in list((ROOT / "bot").rglob("*.py")):
        keys |= set(re.findall(r'\bt\(\s*f?"([a-z_]+\.[a-z_.]+)"', path.read_text()))
    missing = {k for k in keys if "{" not in k and k not in catalog("vi")}
    assert not missing


@pytest.mark.parametrize("code", [
    "answer.not_a_number", "answer.not_an_integer", "answer.below_minimum", "answer.above_maximum",
    "answer.pick_option", "answer.numerator_exceeds_denominator", "answer.conditions_incomplete",
    "answer.not_a_step", "answer.survey_not_self_scored", "permission.denied", "invite.unit_required",
    "invite.scope_required", "invite.scope_not_allowed", "assess.closed", "assess.submitted"])
def test_domain_error_codes_have_messages(code):
    assert f"error.{code}" in catalog("vi")


def test_rule_and_permission_error_codes_are_all_mapped():
    """Every DomainError code raised with a literal in core has a message."""
    codes = set()
    for path in (ROOT / "core").rglob("*.py"):
        codes |= set(re.findall(r'(?:Error|Denied|NotFound|DomainError)\(\s*"([a-z_]+\.[a-z_.]+)"', path.read_text()))
    ours = {c for c in codes if c.split(".")[0] in ("answer", "assess", "evidence", "invite", "permission", "member")}
    assert ours and not {c for c in ours if f"error.{c}" not in catalog("vi")}


def test_t_formats_and_falls_back():
    assert t("assess.saved", "en", item="1.1", points="0.5", maximum="1") == "✅ Saved 1.1: 0.5/1 points."
    assert t("assess.saved", "fr-FR", item="1.1", points="0,5", maximum="1").startswith("✅ Đã lưu")
    assert t("no.such.key", "vi") == "no.such.key"


def test_error_text_fills_params_and_never_fails():
    assert error_text(DomainError("answer.above_maximum", value="5", maximum="2"), "vi") == \
        "5 lớn hơn giá trị tối đa 2."
    assert error_text(DomainError("answer.above_maximum"), "en") == "… is above the maximum …."
    assert error_text(DomainError("made.up"), "en") == t("error.generic", "en")


def test_unsupported_telegram_languages_get_the_provinces_default(monkeypatch):
    from parbot.i18n import language
    from parbot.settings import get_settings

    assert (language("en-US"), language("fr"), language(None)) == ("en", "vi", "vi")
    monkeypatch.setenv("PARBOT_LANGUAGE", "en")
    get_settings.cache_clear()
    try:
        assert (language("vi"), language("fr"), language(None)) == ("vi", "en", "en")
    finally:
        monkeypatch.delenv("PARBOT_LANGUAGE")
        get_settings.cache_clear()
