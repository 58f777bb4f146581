"""Every error code raised anywhere in parbot has a Vietnamese and an English message (issue 12: about 23
codes reached administrators raw, e.g. `Error: criteria.version_conflict`)."""
from __future__ import annotations

import re
from pathlib import Path

import parbot
from parbot.i18n import catalog, placeholders

SOURCE = Path(parbot.__file__).parent
RAISES = re.compile(r"\b(?:DomainError|NotFound|PermissionDenied|ValidationFailed|AnswerError)\(\s*(f?)\"([^\"]+)\"")
# Codes passed through a helper's parameter: `_text(value, limits, "evidence.reference_length")`.
PASSED = re.compile(r"\b_text\([^)]*,\s*\"([a-z_]+\.[a-z_]+)\"\)")
# Codes built with an f-string, and the values their part can take (core.services.assessment, .people).
EXPANSIONS = {"assess.{ws.read_only}": ("closed", "not_open", "submitted", "not_officer"),
              "invite.{status}": ("expired", "revoked", "used")}


def raised_codes() -> set[str]:
    codes: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for is_f, code in RAISES.findall(text):
            if is_f:
                assert code in EXPANSIONS, f"{path}: add the values of f-string code {code!r} to EXPANSIONS"
                prefix = code.split("{")[0]
                codes.update(prefix + value for value in EXPANSIONS[code])
            else:
                codes.add(code)
        codes.update(PASSED.findall(text))
    return codes


def test_the_scan_finds_the_codes_raised():
    codes = raised_codes()
    assert {"unit.not_found", "criteria.version_conflict", "period.criteria_locked", "answer.not_a_number",
            "assess.not_open", "invite.revoked", "evidence.reference_length", "cli.database_missing",
            "bot.no_token"} <= codes
    assert len(codes) > 70


def test_every_raised_code_has_both_translations_with_the_same_placeholders():
    vi, en = catalog("vi"), catalog("en")
    missing = sorted(code for code in raised_codes() if f"error.{code}" not in vi or f"error.{code}" not in en)
    assert missing == []
    differing = sorted(key for key in vi if key.startswith("error.") and key in en
                       and placeholders(vi[key]) != placeholders(en[key]))
    assert differing == []


def test_cli_and_schema_messages_exist_in_both_languages():
    vi, en = catalog("vi"), catalog("en")
    keys = {k for k in (*vi, *en) if k.startswith(("cli.", "problem.schema."))}
    assert len(keys) > 40
    assert sorted(k for k in keys if k not in vi or k not in en) == []
    assert sorted(k for k in keys if placeholders(vi[k]) != placeholders(en[k])) == []
