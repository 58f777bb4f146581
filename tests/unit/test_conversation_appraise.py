"""The appraiser's turns through the conversation engine: typed ChatState, one transaction per update, the
unit search, typed points with their reason and edits of the awaited points."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from appraisal_fixtures import ADMIN, COUNCIL, IN_EXPLANATION, T0, build, person
from callers import person_caller

from parbot.core import appraisal_state
from parbot.core.conversation import engine as conversation
from parbot.core.conversation.events import Command, Edit, Press, Sender, Text, Upload
from parbot.core.permissions import Grant, Role
from parbot.core.services import appraisal
from parbot.core.conversation.screen import Expects
from parbot.core.conversation.state import Awaiting, ChatState
from parbot.core.conversation.turn import Env
from parbot.i18n import t
from parbot.storage.db import make_engine, upgrade
from parbot.storage.evidence_store import EvidenceStore
from parbot.storage.uow import SqlUnitOfWork

APPRAISER, OFFICER = 41, 42


@pytest.fixture
def db(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    build(SqlUnitOfWork(engine), tmp_path, submit=("SNV", "STC"))
    yield engine
    engine.dispose()


def _chat(db, tmp_path, account, grants, now):
    person_id = person(SqlUnitOfWork(db), account, *grants)
    env = Env(now=now, tz="Asia/Ho_Chi_Minh", store=EvidenceStore(tmp_path / "evidence"), admin_contact="Sở Nội vụ")
    sender = Sender(channel="telegram", account_id=str(account), chat_id=str(account), language="vi", private=True)

    def run(event, message_id=None):
        return conversation.handle(SqlUnitOfWork(db), sender, event, env=env, message_id=message_id)

    def state():
        with SqlUnitOfWork(db) as uow:
            return ChatState.load(uow.chat_states.get(person_id))

    def appraised(item):
        with SqlUnitOfWork(db) as uow:
            return uow.scores.get(uow.periods.current().id, "SNV", item, "appraised")

    run.state, run.appraised = state, appraised
    return run


@pytest.fixture
def chat(db, tmp_path):
    return _chat(db, tmp_path, APPRAISER, (COUNCIL,), T0)


def ids(reply) -> list[str]:
    return [o.id for o in reply.screens[-1].options]


def test_typed_points_and_their_reason_take_one_transaction_each(chat, db):
    units = chat(Command("appraise"))
    tag = ids(units)[0][:4]
    assert f"{tag}:pu:SNV" in ids(units) and chat.state().awaiting is Awaiting.UNIT_SEARCH
    begun, commits = [], []
    sa.event.listen(db, "begin", lambda conn: begun.append(1))
    sa.event.listen(db, "commit", lambda conn: commits.append(1))
    steps = [Press(f"{tag}:pu:SNV"), Press(f"{tag}:pa:SNV:1"), Press(f"{tag}:pp:SNV:1.1"), Text("1,5"),
             Text("Kế hoạch ban hành chậm")]
    replies = []
    for number, event in enumerate(steps, start=1):
        begun.clear(), commits.clear()
        replies.append(chat(event, message_id=number))
        assert len(begun) == 1 and len(commits) == 1, (event, begun, commits)
        if number == 3:
            assert (chat.state().awaiting, chat.state().item) == (Awaiting.POINTS, "1.1")
            assert replies[-1].screens[-1].expects is Expects.NUMBER
        if number == 4:
            state = chat.state()
            assert (state.awaiting, state.points, state.awaited_message) == (Awaiting.REASON, "1,5", 4)
            assert replies[-1].screens[-1].text == t("appraisal.prompt.reason", "vi")
    score = chat.appraised("1.1")
    assert (score.points, score.reason) == (Decimal("1.5"), "Kế hoạch ban hành chậm")
    assert chat.state().awaiting is Awaiting.NOTHING
    assert replies[-1].screens[-1].text.startswith(t("appraisal.saved", "vi", code="1.1", points="1,5"))


def test_an_edit_of_the_awaited_points_replaces_them_and_other_edits_change_nothing(chat):
    tag = ids(chat(Command("appraise")))[0][:4]
    chat(Press(f"{tag}:pp:SNV:1.1"))
    chat(Text("0"), message_id=5)
    chat(Text("Không có kế hoạch"), message_id=6)  # the reason for 0
    assert chat.appraised("1.1").points == Decimal(0)
    chat(Press(f"{tag}:pp:SNV:1.1"))
    chat(Text("0"), message_id=7)
    stray = chat(Edit(of=6, text="khác"))
    assert stray.screens[-1].text == t("assess.edit.not_applied", "vi") and chat.state().points == "0"
    edited = chat(Edit(of=7, text="0,5"))
    assert edited.screens[-1].text.startswith(t("appraisal.edit.points", "vi", points="0,5"))
    assert (chat.state().awaiting, chat.state().points) == (Awaiting.REASON, "0,5")
    chat(Text("Thiếu kế hoạch quý"), message_id=8)
    score = chat.appraised("1.1")
    assert (score.points, score.reason) == (Decimal("0.5"), "Thiếu kế hoạch quý")


def test_typing_part_of_a_name_filters_the_unit_list_and_pages_keep_the_filter(chat):
    tag = ids(chat(Command("appraise")))[0][:4]
    found = chat(Text("noi vu"), message_id=1)
    assert [i for i in ids(found) if ":pu:" in i] == [f"{tag}:pu:SNV"]
    assert chat.state().query == "noi vu"
    again = chat(Press(f"{tag}:pn:0"))
    assert [i for i in ids(again) if ":pu:" in i] == [f"{tag}:pu:SNV"]
    chat(Press(f"{tag}:pu:SNV"))
    assert chat.state().awaiting is Awaiting.NOTHING  # typed text no longer filters the list


def test_a_refused_press_changes_neither_scores_nor_chat_state(chat):
    tag = ids(chat(Command("appraise")))[0][:4]
    chat(Press(f"{tag}:pp:SNV:1.1"))
    refused = chat(Press(f"{tag}:pk:SNV:2.1"))  # Sở Tài chính's area
    assert refused.alert and chat.appraised("2.1") is None
    assert (chat.state().awaiting, chat.state().item) == (Awaiting.POINTS, "1.1")


@pytest.mark.parametrize("item, typed, refusal", [
    ("1.2", "0,5", "không thể có theo cách chấm của tiêu chí 1.2; các mức được phép: 0, 1"),  # yes/no: 0 or 1
    ("1.1", "1,3", "không phải bội số của bước 0.25 của tiêu chí 1.1"),  # judged in steps of 0.25
    ("1.1", "1,125", "có quá 2 chữ số thập phân"),  # the set shows 2 decimals
])
def test_typed_points_the_items_rule_cannot_give_are_refused_and_asked_again(chat, item, typed, refusal):
    tag = ids(chat(Command("appraise")))[0][:4]
    chat(Press(f"{tag}:pp:SNV:{item}"))
    refused = chat(Text(typed), message_id=1)
    assert refusal in refused.screens[-1].text
    assert (chat.state().awaiting, chat.state().item) == (Awaiting.POINTS, item) and chat.appraised(item) is None


def test_an_explanation_and_its_file_are_typed_state_and_one_transaction_each(db, tmp_path):
    council = person_caller(SqlUnitOfWork(db), person(SqlUnitOfWork(db), 43, COUNCIL))
    appraisal.appraise(SqlUnitOfWork(db), caller=council, unit_code="SNV", item_code="1.1", points="1",
                       reason="Kế hoạch ban hành chậm", now=T0)
    appraisal.close_round(SqlUnitOfWork(db), caller=ADMIN, round_no=1, force=True, now=T0)
    chat = _chat(db, tmp_path, OFFICER, (Grant(Role.OFFICER, "SNV"),), IN_EXPLANATION)
    listed = chat(Command("explain"))
    tag = ids(listed)[0][:4]
    assert ids(listed) == [f"{tag}:xi:SNV:1.1"]
    begun = []
    sa.event.listen(db, "begin", lambda conn: begun.append(1))
    steps = [Press(f"{tag}:xi:SNV:1.1"), Text("Kế hoạch 12/KH-SNV ban hành đúng hạn"),
             Upload(file_name="kh.pdf", size=8, mime="application/pdf", data=b"%PDF kh.")]
    replies = []
    for number, event in enumerate(steps, start=1):
        begun.clear()
        replies.append(chat(event, message_id=number))
        assert len(begun) == 1, event
    assert "Kế hoạch ban hành chậm" in replies[0].screens[-1].text
    assert replies[1].screens[-1].text == t("explain.saved", "vi", code="1.1")
    assert replies[2].screens[-1].text == t("explain.file_saved", "vi", code="1.1")
    assert (chat.state().awaiting, chat.state().item) == (Awaiting.CONTEST_FILE, "1.1")
    with SqlUnitOfWork(db) as uow:
        period = uow.periods.current()
        contest = appraisal_state.of(uow.stages.get(period.id, "SNV")).contest("1.1")
        files = [e.file_name for e in uow.evidence.for_unit(period.id, "SNV") if e.purpose == "explanation"]
    assert contest.text == "Kế hoạch 12/KH-SNV ban hành đúng hạn" and len(contest.evidence_ids) == 1
    assert files == ["kh.pdf"]
