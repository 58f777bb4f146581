"""The conversation engine driven with events: screens out, answers and typed chat state stored, one
transaction per officer update, read-only turns without SQLite's write lock."""
from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from callers import ADMIN

from parbot.core.conversation import engine as conversation
from parbot.core.conversation.events import Command, Edit, Press, Sender, Text
from parbot.core.conversation.screen import Expects
from parbot.core.conversation.state import Awaiting, ChatState
from parbot.core.conversation.turn import Env
from parbot.core.model import Unit
from parbot.core.period import Deadlines, PeriodConfig
from parbot.core.services import people, periods
from parbot.i18n import t
from parbot.storage.db import READER_OPTION, make_engine, upgrade
from parbot.storage.evidence_store import EvidenceStore
from parbot.storage.uow import SqlUnitOfWork

OPENS = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)
NOW = OPENS + timedelta(days=3)
OFFICER, STRANGER = 500, 900


def sender(account: int = OFFICER) -> Sender:
    return Sender(channel="telegram", account_id=str(account), chat_id=str(account), language="vi", private=True)


@pytest.fixture
def chat(engine, tmp_path):
    return _world(engine, tmp_path)


def _world(engine, tmp_path):
    """A commune X1 on the 2020 set with its officer; ``chat(event)`` runs one turn as that officer."""
    uow = SqlUnitOfWork(engine)
    config = PeriodConfig(year=2020, criteria={"xa": "2020-xa.yaml"},
                          deadlines=Deadlines(self_assessment_opens=OPENS, self_assessment_closes=NOW + timedelta(30)))
    periods.save_period(uow, caller=ADMIN, config=config)
    with uow:
        uow.units.upsert(Unit("X1", "Xã Một", "xa"))
        uow.commit()
    code, _ = people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=30), now=OPENS,
                                   unit_code="X1")
    person = people.accept_invite(uow, code, telegram_id=OFFICER, chat_id=OFFICER, name="Lan", now=OPENS)[0]
    env = Env(now=NOW, tz="Asia/Ho_Chi_Minh", store=EvidenceStore(tmp_path / "evidence"), admin_contact="Sở Nội vụ")

    def run(event, message_id=None, account=OFFICER):
        return conversation.handle(SqlUnitOfWork(engine), sender(account), event, env=env, message_id=message_id)

    run.person_id = person.id
    run.state = lambda: ChatState.load(_stored(engine, person.id))
    run.answer = lambda item: _answer(engine, item)
    return run


def _stored(engine, person_id):
    with SqlUnitOfWork(engine) as uow:
        return uow.chat_states.get(person_id)


def _answer(engine, item_code):
    with SqlUnitOfWork(engine) as uow:
        return uow.answers.get(uow.periods.current().id, "X1", item_code)


def option(reply, verb, *, last=None):
    """The id of the first option of the reply's last screen with this verb (and last argument)."""
    for o in reply.screens[-1].options:
        parts = o.id.split(":")
        if parts[1] == verb and (last is None or parts[-1] == str(last)):
            return o.id
    raise AssertionError(f"no option {verb} {last} in {[o.id for o in reply.screens[-1].options]}")


def test_assess_shows_the_menu_then_an_area_opens_on_its_first_item(chat):
    menu = chat(Command("assess"))
    (screen,) = menu.screens
    assert not screen.replace and screen.expects is Expects.PRESS
    assert chat.state().unit == "X1" and chat.state().slot is None
    item = chat(Press(option(menu, "ar", last=0)))
    assert item.screens[0].replace and "1.1.1. " in item.screens[0].text
    assert chat.state() == ChatState(unit="X1", slot=0)


def test_a_pressed_answer_is_stored_and_evidence_is_asked(chat):
    opened = chat(Press(option(chat(Command("assess")), "ar", last=0)))
    item = chat(Press(option(opened, "a", last="late")))
    assert chat.answer("1.1.1").value == {"option": "late"}
    assert t("assess.need_evidence", "vi") in item.screens[0].text
    assert chat.state().awaiting is Awaiting.EVIDENCE and item.screens[0].expects is Expects.FILE


def test_typed_counts_of_a_ratio_are_kept_in_the_chat_state_then_saved_once(chat):
    opened = chat(Press(f"{option(chat(Command('assess')), 'ar', last=0)[:4]}:i:X1:3"))  # 1.1.4, a ratio
    assert opened.screens[0].expects is Expects.NUMBER and chat.state().awaiting is Awaiting.INPUT
    first = chat(Text("9"), message_id=10)
    assert chat.state().values == {"numerator": "9"} and chat.answer("1.1.4") is None
    assert not first.screens[0].replace
    chat(Text("10"), message_id=11)
    assert chat.answer("1.1.4").value["denominator"] is not None
    assert chat(Text("10"), message_id=11).screens == ()  # a redelivered message is not taken twice
    assert chat.state().seen == 11


def test_a_bad_number_is_explained_and_nothing_is_stored(chat):
    chat(Press(f"{option(chat(Command('assess')), 'ar', last=0)[:4]}:i:X1:3"))
    (reply,) = chat(Text("chín"), message_id=5).screens
    assert chat.answer("1.1.4") is None and chat.state().values == {}
    assert reply.text.startswith(t("error.answer.not_a_number", "vi", value="chín"))
    assert reply.expects is Expects.NUMBER


def test_stale_and_malformed_presses_are_refused_with_an_alert(chat):
    chat(Command("assess"))
    before = chat.state()
    stale = chat(Press("ffff:m:X1"))
    assert stale.alert and stale.toast == t("callback.stale", "vi")
    assert stale.screens[0].text == t("callback.stale_hint", "vi") and not stale.screens[0].replace
    malformed = chat(Press("nonsense"))
    assert malformed.alert and malformed.toast == t("callback.malformed", "vi")
    assert chat.state() == before


def test_someone_without_a_role_is_told_whom_to_contact(chat):
    (screen,) = chat(Command("assess"), account=STRANGER).screens
    assert screen.text == t("onboarding.no_role", "vi", contact="Sở Nội vụ")
    assert chat(Press("ffff:m:X1"), account=STRANGER).alert


def test_one_transaction_per_officer_update(chat, engine):
    begun: list[bool] = []
    commits: list[int] = []
    sa.event.listen(engine, "begin", lambda conn: begun.append(bool(conn.get_execution_options().get(READER_OPTION))))
    sa.event.listen(engine, "commit", lambda conn: commits.append(1))
    menu = chat(Command("assess"))
    tag = option(menu, "ar", last=0)[:4]
    steps = [Press(f"{tag}:ar:X1:0"), Press(f"{tag}:a:X1:0:late"), Press(f"{tag}:i:X1:3"), Text("9"),
             Text("10"), Command("status")]
    for number, event in enumerate(steps, start=1):
        begun.clear(), commits.clear()
        chat(event, message_id=number)
        assert len(begun) == 1 and len(commits) == 1, (event, begun, commits)
    assert chat.answer("1.1.1") is not None and chat.answer("1.1.4") is not None


def test_a_read_only_turn_runs_while_another_writer_holds_the_lock(sqlite_url, tmp_path):
    engine = make_engine(sqlite_url)
    upgrade(engine)
    world = _world(engine, tmp_path)
    world(Command("assess"))  # the chat state now names X1: /status changes nothing
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    done = threading.Event()
    replies = []

    def status():
        replies.append(world(Command("status")))
        done.set()

    thread = threading.Thread(target=status)
    thread.start()
    try:
        assert done.wait(20), "/status waited for the write lock"
    finally:
        writer.execute("ROLLBACK")
        thread.join()
        writer.close()
        engine.dispose()
    assert t("button.submit", "vi") in [o.label for o in replies[0].screens[0].options]


def _overtaken_press(sqlite_url, tmp_path, change: str):
    """Opens item 1.1.4 (a reader turn that moves the chat state) while, at its first write, another
    connection commits ``change`` at once, so SQLite refuses the reader's upgrade. Returns the
    kinds of the transactions begun for the turn (True: reader)."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    world = _world(engine, tmp_path)
    tag = option(world(Command("assess")), "ar", last=0)[:4]
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    overtaken: list[bool] = []
    readers: list[bool] = []

    def writer_first(conn, cursor, statement, parameters, context, executemany):
        if conn.get_execution_options().get(READER_OPTION) and statement.startswith(("INSERT", "UPDATE")) \
                and not overtaken:
            overtaken.append(True)
            other.execute(change)  # a real change, committed at once

    sa.event.listen(engine, "before_cursor_execute", writer_first)
    sa.event.listen(engine, "begin", lambda conn: readers.append(bool(conn.get_execution_options().get(READER_OPTION))))
    try:
        reply = world(Press(f"{tag}:i:X1:3"))
        turn = list(readers)
    finally:
        other.close()
        engine.dispose()
    assert overtaken and "1.1.4. " in reply.screens[0].text
    assert world.state().slot == 3 and world.state().awaiting is Awaiting.INPUT
    return turn


def test_a_reader_overtaken_by_another_writer_writes_its_chat_state_alone(sqlite_url, tmp_path):
    """The overtaken turn wrote nothing but its chat state, so it is not run again: the state is written in
    a short transaction of its own, over the row it read."""
    readers = _overtaken_press(sqlite_url, tmp_path, "UPDATE person SET username = 'overtaker'")
    assert readers == [True, False], "one reading turn, then the chat state's own write; no second turn"


def test_a_reader_whose_chat_state_changed_meanwhile_is_run_again_as_a_writer(sqlite_url, tmp_path):
    """If what changed is the chat state the turn read (another process moved it), writing over it would lose
    that change: the turn is run again as a writer, from the state as it now is."""
    readers = _overtaken_press(sqlite_url, tmp_path, "UPDATE chat_state SET updated_at = '2000-01-01 00:00:00'")
    assert readers == [True, False, False], "the reading turn, the refused state write, the turn as a writer"


def test_an_edited_count_replaces_the_one_awaited_and_other_edits_change_nothing(chat):
    chat(Press(f"{option(chat(Command('assess')), 'ar', last=0)[:4]}:i:X1:3"))  # 1.1.4: two counts
    chat(Text("9"), message_id=20)
    (replaced,) = chat(Edit(of=20, text="8")).screens
    assert replaced.text.startswith(t("assess.edit.replaced", "vi")) and replaced.expects is Expects.NUMBER
    assert chat.state().values == {"numerator": "8"} and chat.state().seen == 20
    chat(Text("10"), message_id=21)
    assert chat.answer("1.1.4").value["numerator"] == "8"
    (late,) = chat(Edit(of=21, text="12")).screens  # the answer is saved: the edit does not change it
    assert late.text == t("assess.edit.not_applied", "vi") and chat.answer("1.1.4").value["numerator"] == "8"
