"""Fuzzing button data: the parser with hypothesis, then the real bot on the emulator with random, truncated,
other units', stale and replayed data pressed by an officer. No exception escapes, every press is answered (a
refusal in Vietnamese), and nothing is written except by the one valid press (replayed: applied once)."""
from __future__ import annotations

import random
import re

import pytest
from bot_session import Matrix, matrix_for, said  # noqa: F401 - fixtures
from emulator_fixtures import emulator_server  # noqa: F401 - a fixture
from hypothesis import example, given
from hypothesis import strategies as st
from sqlmodel import Session, select

from parbot.core.conversation import callbacks
from parbot.core.conversation.callbacks import LIMIT, Callback, MalformedCallback, decode, encode
from parbot.i18n import t
from parbot.storage.tables import AnswerRow, AuditRow

ARG = st.from_regex(r"\A[A-Za-z0-9._-]{1,24}\Z")
TAG = st.from_regex(r"\A[0-9a-f]{4}\Z")


@given(data=st.one_of(st.text(max_size=80), st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
                      st.builds(lambda tag, verb, args: ":".join([tag, verb, *args]), TAG,
                                st.sampled_from(sorted(callbacks.VERBS)), st.lists(ARG, max_size=4))))
@example(data="")
@example(data="abcd:" + "a" * 80)
@example(data="abcd:a:SNV:1:y:")
@example(data="abcd:i:SNV:\u0661")  # an Arabic-Indic digit: not a slot
def test_decode_takes_anything(data):
    """Any string is a well-formed button (then it encodes back to itself) or MalformedCallback."""
    try:
        callback = decode(data)
    except MalformedCallback:
        return
    assert isinstance(callback, Callback) and len(data.encode()) <= LIMIT
    assert encode(callback.tag, callback.verb, *callback.args) == data
    for n in range(len(callback.args)):
        try:
            assert callback.slot(n) >= 0
        except MalformedCallback:
            pass


def hostile(tag: str, valid: list[str], seed: int = 14) -> list[str]:
    """Random bytes and text, every truncation of valid data, other units' codes, a stale tag, wrong arity,
    unknown verbs (a fixed seed: the same cases on every run)."""
    rng = random.Random(seed)
    found = {bytes(rng.randrange(256) for _ in range(rng.randrange(1, 65))).decode("latin-1") for _ in range(25)}
    found |= {"".join(rng.choice("abcdef0123456789:SNVX.-_ ") for _ in range(rng.randrange(1, 70)))
              for _ in range(15)}
    for data in valid:
        found |= {data[:n] for n in range(1, len(data))}
        found.add(data.replace(":SNV", ":STC"))  # another unit of the same block
        found.add(data.replace(":SNV", ":X0101"))  # a commune
        found.add(data.replace(tag, "0000" if tag != "0000" else "ffff", 1))  # another period's button
        found.add(data + ":1")
    found |= {f"{tag}:zz:SNV", f"{tag}:a:SNV:1:y:extra", f"{tag}:a:../..:1:y", f"{tag}:i:SNV:99999999999999999999",
              f"{tag}:pe:SNV:..%2F..", f"{tag}:u:" + "S" * 24, "\x00" * 64, f"{tag}:a:SNV:-1:y"}
    return sorted(found - set(valid) - {""})


@pytest.mark.e2e
async def test_hostile_button_data_is_refused_and_writes_nothing(matrix_for):
    matrix: Matrix = await matrix_for("assessment")
    officer = matrix.users["officer"]
    slots = matrix.slots("SNV")
    valid = [encode(matrix.tag, "a", "SNV", slots["YN"], "y"), encode(matrix.tag, "pe", "SNV", "1.1.1"),
             encode(matrix.tag, "sk", "SNV"), encode(matrix.tag, "st", "SNV")]
    problems = []
    for data in hostile(matrix.tag, valid):
        matrix.restore()
        matrix.said.clear()
        query = officer.forge_callback(data)
        await matrix.settle()
        if matrix.crashes:
            problems.append(f"{data!r}: crashed {matrix.crashes[0]!r}")
        elif not query.answered:
            problems.append(f"{data!r}: not answered")
        elif matrix.fingerprint() != matrix.unchanged:
            problems.append(f"{data!r}: wrote something")
        elif not query.text or re.fullmatch(r"[a-z_.]+", query.text):
            problems.append(f"{data!r}: answered {query.text!r}, not a refusal in words")
        matrix.crashes.clear()
    assert problems == []


@pytest.mark.e2e
async def test_a_replayed_press_is_applied_once(matrix_for):
    matrix: Matrix = await matrix_for("assessment")
    officer = matrix.users["officer"]
    data = encode(matrix.tag, "a", "SNV", matrix.slots("SNV")["YN"], "y")
    matrix.restore()
    queries = []
    for _ in range(3):  # the same button pressed three times, as a client resending it would
        queries.append(officer.forge_callback(data))
    await matrix.settle()
    assert matrix.crashes == [] and all(q.answered for q in queries)
    with Session(matrix.engine) as session:
        answers = session.exec(select(AnswerRow).where(AnswerRow.unit_code == "SNV")).all()
        audit = session.exec(select(AuditRow).where(AuditRow.unit_code == "SNV", AuditRow.action == "answer")).all()
    assert len(answers) == 1 and len(audit) == 1
    stale = officer.forge_callback(data.replace(matrix.tag, "0000" if matrix.tag != "0000" else "ffff", 1))
    await matrix.settle()
    assert stale.show_alert and stale.text == t("callback.stale", "vi")
