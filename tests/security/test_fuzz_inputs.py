"""Fuzzing what officers type and send, through the services the chat calls (faster than the bot, same checks):
counts, ratios and points of every typed rule kind, references and explanations, evidence file names and
contents. Whatever comes in, either a DomainError with a Vietnamese message or a saved value that every view
of the item shows again; nothing else escapes, and nothing saved is out of the item's range."""
from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from callers import ADMIN, person_caller
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from parbot.core.errors import DomainError
from parbot.core.model import Unit
from parbot.core.period import Deadlines, PeriodConfig
from parbot.core.rules import DirectPointsRule, PerOccurrenceRule, ProportionalRule, TiersRule
from parbot.core.services import assessment as svc
from parbot.core.services import people, periods, units
from parbot.core.services.tabular import Row
from parbot.i18n import error_text
from parbot.storage.db import make_engine, upgrade
from parbot.storage.evidence_store import EvidenceStore
from parbot.storage.uow import SqlUnitOfWork

OPENS = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)
NOW = OPENS + timedelta(days=3)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
NUMBERS = ["1e999999", "1e999999999/1e999999999", "NaN", "-inf", "∞", "²⁰²⁰", "１２", "0x10", "1_000", "12,5,3",
           "9" * 5000, "-1", "\x00", "1\u200b2", "1 000", "1.000,5", "1,5", "0,0001", "+0", "½", "٣", "$\\foo$",
           "=1+1"]
# Typed text: anything a client can send, mostly short and number-like.
TYPED = st.one_of(st.sampled_from(NUMBERS), st.from_regex(r"\A[-+]?[0-9]{0,20}([.,][0-9]{0,12})?\Z"),
                  st.text(max_size=60), st.text(st.sampled_from("0123456789.,-+eE \u00a0"), max_size=30))


@pytest.fixture
def world(tmp_path):
    """The 2020 departments' set (every typed rule kind), open; officer of X1 (SQLite: the parsing and the checks are the same on both)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'parbot.db'}")
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    config = PeriodConfig(year=2020, criteria={"so": "2020-so.yaml"},
                          deadlines=Deadlines(self_assessment_opens=OPENS, self_assessment_closes=OPENS + timedelta(days=40)))
    periods.save_period(uow, caller=ADMIN, config=config)
    with uow:
        uow.units.upsert(Unit("X1", "Sở X1", "so"))
        uow.commit()
    code, _ = people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=30), now=OPENS,
                                   unit_code="X1")
    person = people.accept_invite(uow, code, telegram_id=100, chat_id=None, name="Lan", now=OPENS)[0]
    caller = person_caller(uow, person.id)
    with uow:
        criteria = uow.periods.current().criteria_for("so")
    yield uow, caller, criteria, EvidenceStore(tmp_path / "evidence")
    engine.dispose()


KINDS = {"tiers-number": lambda r: isinstance(r, TiersRule) and r.measure == "number",
         "tiers-ratio": lambda r: isinstance(r, TiersRule) and r.measure == "ratio",
         "proportional": lambda r: isinstance(r, ProportionalRule),
         "per-occurrence": lambda r: isinstance(r, PerOccurrenceRule),
         "points": lambda r: isinstance(r, DirectPointsRule)}


def first_of(criteria, kind: str):
    return next(i for i in criteria.items.values() if KINDS[kind](i.rule) and not i.is_survey and i.section == "area")


def explained(error: DomainError) -> None:
    """A refusal is a sentence in Vietnamese, never the bare catalog key or an English fallback."""
    text = error_text(error, "vi")
    assert text.strip() and text != error.code and "Traceback" not in text


def shows_again(uow, caller, item) -> None:
    """Every view of the item still renders what was saved, in range."""
    over = svc.overview(uow, caller=caller, unit_code="X1", now=NOW)
    view = svc.view_from(over, item)
    answer = view.answer
    if answer is not None and answer.points is not None:
        assert Decimal(0) <= answer.points <= item.maximum
    svc.item_view(uow, caller=caller, unit_code="X1", position=item.position, now=NOW)


@pytest.mark.parametrize("kind", list(KINDS))
def test_typed_numbers_of_every_rule_kind(world, kind):
    uow, caller, criteria, _ = world
    item = first_of(criteria, kind)
    keys = [i.key for i in item.rule.inputs()]

    @FUZZ
    @given(values=st.lists(TYPED, min_size=len(keys), max_size=len(keys)))
    @example(values=["1e999999999"] * len(keys))
    @example(values=["9" * 5000] * len(keys))
    def check(values):
        try:
            svc.record_answer(uow, caller=caller, unit_code="X1", item_code=item.code, raw=dict(zip(keys, values)),
                              now=NOW)
        except DomainError as error:
            explained(error)
        shows_again(uow, caller, item)

    check()


@FUZZ
@given(text=st.text(max_size=3000) | st.sampled_from(["$\\foo$", "=HYPERLINK(\"http://x\",\"y\")", "\x00\x1b[2J",
                                                       "Số 15/KH-UBND" * 400]))
def test_references_and_explanations(world, text):
    uow, caller, criteria, _ = world
    item = next(i for i in criteria.items.values() if i.section == "area" and not i.is_survey)
    for service in (svc.add_reference, svc.set_explanation):
        try:
            service(uow, caller=caller, unit_code="X1", item_code=item.code, text=text, now=NOW)
        except DomainError as error:
            explained(error)
    view = svc.item_view(uow, caller=caller, unit_code="X1", position=item.position, now=NOW)
    kept = [e.reference for e in view.evidence if e.reference] + [view.answer.explanation if view.answer else None]
    for value in filter(None, kept):  # saved as NFC text without control characters
        assert unicodedata.is_normalized("NFC", value)
        assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value)
    shows_again(uow, caller, item)


@FUZZ
@given(name=st.one_of(st.none(), st.text(max_size=300),
                      st.sampled_from(["../../etc/passwd", "..\\..\\boot.ini", "/dev/null", "a\x00b.pdf",
                                       "\u202egpj.exe", "CON", "." * 300, "=cmd|'/C calc'!A0.xlsx"])),
       data=st.binary(max_size=2048), mime=st.one_of(st.none(), st.text(max_size=80)))
@example(name="empty.pdf", data=b"", mime="application/pdf")
def test_evidence_files_with_any_name_and_content(world, name, data, mime):
    uow, caller, criteria, store = world
    item = next(i for i in criteria.items.values() if i.section == "area" and not i.is_survey)
    try:
        view, _ = svc.add_evidence_file(uow, caller=caller, store=store, unit_code="X1", item_code=item.code,
                                        data=data, file_name=name, mime_type=mime, now=NOW)
    except DomainError as error:
        explained(error)
        return
    record = next(e for e in view.evidence if e.kind == "file" and store.read(e.sha256) == data)
    stored = store.path(record.sha256).resolve()
    assert stored.is_relative_to(store.root.resolve())  # the stored path never comes from the file's name
    assert record.file_name is None or "\x00" not in record.file_name


DATES = st.one_of(st.sampled_from(["²⁰²⁰", "２０２０", "2020.0", "1e3", "-2020", "0", "99999999999999999999",
                                   "2020-13-45", "2020\x00", "٢٠٢٠", " 2021 ", "", "14d", "0d", "٣d", "1.5d"]),
                  st.text(max_size=30), st.from_regex(r"\A[0-9]{1,6}[dhm]?\Z"))


@FUZZ
@given(valid_from=DATES, valid_to=DATES)
def test_unit_years_are_whole_years_or_refused(world, valid_from, valid_to):
    """No chat input takes a date; the years of a unit list are the typed dates the province sends in."""
    uow = world[0]
    row = Row(2, {"code": "X2", "name": "Xã X2", "block": "so", "valid_from": valid_from, "valid_to": valid_to})
    try:
        units.import_units(uow, caller=ADMIN, header=list(row.values), rows=[row])
    except DomainError as error:
        explained(error)
        return
    with uow:
        versions = uow.units.versions("X2")
    assert versions and all(v.valid_from is None or 1900 < v.valid_from < 2200 for v in versions)
    assert all(v.valid_to is None or 1900 < v.valid_to < 2200 for v in versions)


@FUZZ
@given(text=DATES)
def test_invitation_lifetimes_are_positive_or_refused(text):
    try:
        duration = people.parse_duration(text)
    except DomainError as error:
        explained(error)
        return
    assert duration > timedelta(0) and text.strip()[-1] in "dhm"


@pytest.mark.parametrize("text", ["9" * 12 + "d", "99999999999999m", "9" * 5000 + "d", "367d", "١٤d"],
                         ids=["days", "minutes", "digits", "over-a-year", "arabic-digits"])
def test_huge_invitation_lifetimes_are_refused(text):
    with pytest.raises(DomainError) as info:
        people.parse_duration(text)
    explained(info.value)
