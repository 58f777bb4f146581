"""The outbox on SQLite and PostgreSQL: queued once, claimed once, per-chat order and pace, outcomes,
the sender against the emulator (403, errors up to the limit), and the admin commands."""
from __future__ import annotations

import asyncio
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select


from reminder_fixtures import VN, make_province  # noqa: E402

from emulator_fixtures import make_bot  # noqa: E402

from parbot.bot.outbox_kinds import RENDERERS  # noqa: E402
from parbot.bot.sender import Rendered, Sender  # noqa: E402
from parbot.sandbox.emulator import EmulatorServer  # noqa: E402
from parbot.sandbox.emulator.faults import Faults  # noqa: E402
from parbot.core.services.notifications import queue_due_notifications  # noqa: E402
from parbot.storage.outbox_sender_repo import OutboxItem, _item  # noqa: E402
from parbot.storage.tables import OutboxRow  # noqa: E402
from parbot.storage.uow import SqlUnitOfWork  # noqa: E402

NOW = datetime(2025, 12, 24, 8, 1, tzinfo=VN).astimezone(timezone.utc)
SECOND = timedelta(seconds=1)


def rows(uow) -> list[OutboxItem]:
    with uow:
        return [_item(r) for r in uow.session.execute(select(OutboxRow.__table__).order_by(OutboxRow.id))]


def claimed_at(uow) -> datetime:
    with uow:
        value = uow.session.execute(select(OutboxRow.claimed_at)).scalar_one()
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def queue(uow, *messages: tuple[str, int]) -> None:
    with uow:
        for key, chat in messages:
            uow.outbox.enqueue(key, None, chat, "test", {"key": key}, not_before=NOW - SECOND)
        uow.commit()


def claim(uow, worker: str = "w1", now: datetime = NOW, limit: int = 50) -> list[str]:
    with uow:
        items = uow.outbox_rows.claim(worker, now, limit, SECOND)
        uow.commit()
    return [i.key for i in items]


def finish(uow, key: str, status: str = "sent", worker: str = "w1", at: datetime = NOW, **kw) -> None:
    with uow:
        item = next(r for r in rows(uow) if r.key == key)
        if status == "sent":
            assert uow.outbox_rows.mark_sent(item.id, worker, at)
        else:
            assert uow.outbox_rows.mark_retry(item.id, worker, kw["not_before"], "429", 0)
        uow.commit()


def test_a_sweep_repeated_queues_nothing_twice(uow):
    make_province(uow, units=3)
    first = queue_due_notifications(uow, NOW)
    assert first.queued == 3 + 1 and first.skipped == 22  # three officers, one digest; older digests skipped
    again = queue_due_notifications(uow, NOW + timedelta(minutes=1))
    assert (again.queued, again.skipped) == (0, 0) and again.already == first.queued + first.skipped
    keys = [r.key for r in rows(uow)]
    assert len(keys) == len(set(keys)) == 26


def test_claims_one_row_per_chat_in_order_and_paced(uow):
    queue(uow, ("a1", 1), ("a2", 1), ("b1", 2), ("a3", 1), ("b2", 2))
    assert claim(uow) == ["a1", "b1"]
    assert claim(uow) == []  # each chat has a row in flight
    finish(uow, "a1")
    assert claim(uow) == []  # chat 1 sent within the last second
    assert claim(uow, now=NOW + SECOND * 2) == ["a2"]
    # a 429 puts b1 back with a later time: b2 must not overtake it
    finish(uow, "b1", "retry", not_before=NOW + SECOND * 5)
    assert claim(uow, now=NOW + SECOND * 3) == []
    assert claim(uow, now=NOW + SECOND * 6) == ["b1"]


def test_a_dead_senders_claims_return_after_the_lease(uow):
    queue(uow, ("a1", 1))
    assert claim(uow, worker="dead") == ["a1"]
    with uow:
        assert uow.outbox_rows.release_stale(NOW + SECOND * 30, timedelta(seconds=60)) == 0
        assert uow.outbox_rows.release_stale(NOW + SECOND * 61, timedelta(seconds=60)) == 1
        uow.commit()
    assert claim(uow, worker="alive", now=NOW + SECOND * 61) == ["a1"]
    with uow:  # the dead sender's late outcome is not recorded over the new claim
        assert not uow.outbox_rows.mark_sent(rows(uow)[0].id, "dead", NOW)


def test_a_dead_senders_rows_already_on_their_way_become_uncertain_not_due(uow):
    """Whether a request that left before the crash was delivered is unknown: sending it again is what gave
    people two reminders, so only the rows no request had left for are due again."""
    queue(uow, ("a1", 1), ("b1", 2))
    with uow:
        a1, _b1 = uow.outbox_rows.claim("dead", NOW, 50, SECOND)
        uow.outbox_rows.mark_started([a1.id], "dead", NOW)
        uow.commit()
    with uow:
        assert uow.outbox_rows.release_stale(NOW + SECOND * 61, timedelta(seconds=60)) == 1
        uow.commit()
    assert [(r.key, r.status) for r in rows(uow)] == [("a1", "uncertain"), ("b1", "pending")]
    assert claim(uow, worker="alive", now=NOW + SECOND * 61) == ["b1"]


def test_a_live_senders_own_claims_are_kept_and_renewed(uow):
    queue(uow, ("a1", 1))
    assert claim(uow, worker="w1") == ["a1"]
    with uow:
        assert uow.outbox_rows.release_stale(NOW + SECOND * 61, timedelta(seconds=60), keep="w1") == 0
        assert uow.outbox_rows.renew("w1", NOW + SECOND * 61) == 1
        assert uow.outbox_rows.release_stale(NOW + SECOND * 100, timedelta(seconds=60)) == 0  # renewed at 61
        uow.commit()
    assert [r.status for r in rows(uow)] == ["sending"]


def test_rows_to_an_unreachable_person_are_closed_not_sent(uow):
    with uow:
        person = uow.people.ensure(5, 5, "X", None, "vi")
        uow.outbox.enqueue("k", person.id, 5, "test", {}, not_before=NOW - SECOND)
        uow.people.mark_unreachable(person.id, "403")
        uow.commit()
    assert claim(uow) == []
    assert [(r.status, r.error) for r in rows(uow)] == [("unreachable", "recipient unreachable")]


@pytest.fixture
def pg_engine():
    from parbot.storage.db import make_engine, upgrade
    from tests.conftest import _fresh_postgres_database, require_postgres

    require_postgres()
    url, drop = _fresh_postgres_database()
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
    drop()


@pytest.mark.postgres
def test_concurrent_claims_skip_locked_rows(pg_engine):
    """SQLite needs no such test: BEGIN IMMEDIATE serialises its writers."""
    engine = pg_engine
    queue(SqlUnitOfWork(engine), *[(f"k{n}", n) for n in range(10)])
    first = SqlUnitOfWork(engine)
    with first:
        held = [i.key for i in first.outbox_rows.claim("w1", NOW, 4, SECOND)]
        got: list[str] = []

        def other() -> None:
            got.extend(claim(SqlUnitOfWork(engine), worker="w2"))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "the second claim waited on the first one's locks"
        first.commit()
    assert held == ["k0", "k1", "k2", "k3"]
    assert got == [f"k{n}" for n in range(4, 10)]


# ---- the sender against the emulator ---------------------------------------------------------------------


async def test_blocked_user_is_marked_unreachable_and_admins_are_told(uow, emulator_server, ptb_bot):
    people = make_province(uow, units=2, leaders=False)
    for role in people.values():
        for person, _unit in role:
            emulator_server.create_user(person.telegram_id, person.name).user.started = True
    (blocked, unit), (fine, _) = people["officer"]
    admin = people["admin"][0][0]
    emulator_server.user(blocked.telegram_id).block()
    queue_due_notifications(uow, NOW)
    sender = Sender(uow.engine, ptb_bot, renderers=RENDERERS, rate_global=1000, now=lambda: NOW + SECOND)
    await sender.drain()
    sender.now = lambda: NOW + SECOND * 3
    await sender.drain()  # the admin's notice, paced after the digest
    with uow:
        assert uow.people.get(blocked.id).unreachable_at is not None
    assert emulator_server.user(fine.telegram_id).bot_message_count == 1
    texts = [m.text for m in emulator_server.user(admin.telegram_id).bot_messages()]
    assert len(texts) == 2 and texts[0].startswith("📊") and blocked.name in texts[1] and unit in texts[1]
    statuses = {r.key.split("/")[0] + "/" + r.kind: r.status for r in rows(uow)}
    assert statuses["unreachable/unreachable"] == "sent"
    # nothing more is queued for the blocked officer
    calls = emulator_server.emulator.method_calls["sendMessage"]
    queue_due_notifications(uow, NOW + timedelta(days=4))
    sender.now = lambda: NOW + timedelta(days=4, seconds=1)
    await sender.drain()
    assert emulator_server.emulator.method_calls["sendMessage"] == calls + 2  # the fine officer and the digest
    assert not any(f"/p{blocked.id}/" in r.key and "12-28" in r.key for r in rows(uow))


class HeldTransport:
    """A transport whose first send hangs until released: a batch slower than its lease."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.first_started = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, item, rendered) -> None:
        self.sent.append(item.key)
        if len(self.sent) == 1:
            self.first_started.set()
            await self.release.wait()


async def test_a_batch_slower_than_its_lease_is_not_claimed_again(uow):
    """The province leader got the same ranking twice: the lease ran out while the send was in flight and
    another sender took the row. The claimant renews its leases while it sends."""
    with uow:
        uow.people.ensure(1, 1, "P", None, "vi")
        uow.people.mark_unreachable(1, "403")  # keeps the renderer's text
        uow.outbox.enqueue("x", None, 77, "unreachable", {"person_id": 1}, not_before=NOW)
        uow.commit()
    transport = HeldTransport()
    # Renewed every lease/3 on the wall clock: long enough that a busy machine's pauses never outlast it.
    lease = timedelta(seconds=6)
    slow = Sender(uow.engine, transport, renderers=RENDERERS, lease=lease, now=lambda: NOW + SECOND, worker="slow")
    other = Sender(uow.engine, transport, renderers=RENDERERS, lease=lease, now=lambda: NOW + SECOND, worker="other")
    draining = asyncio.create_task(slow.drain())
    await asyncio.wait_for(transport.first_started.wait(), 60)
    first = claimed_at(uow)
    async with asyncio.timeout(120):  # until a renewal moved the claim past its first expiry
        while claimed_at(uow) < first + lease:
            await asyncio.sleep(0.1)
    assert await other.drain() == 0
    transport.release.set()
    assert await asyncio.wait_for(draining, 60) == 1
    assert transport.sent == ["x"] and [r.status for r in rows(uow)] == ["sent"]


@pytest.mark.parametrize("fault, status, copies", [("lost_reply", "uncertain", 1), ("reset", "uncertain", 0),
                                                   ("server_error", "pending", 0)])
async def test_a_send_whose_outcome_is_unknown_is_never_repeated(uow, fault, status, copies):
    """A lost reply gave 13 of 20 people 2–5 copies. Only an answer from Telegram (a 5xx) proves the message
    was not sent; a dropped connection after the request left may have delivered it."""
    async with EmulatorServer(faults=Faults(**{fault: 1.0}, methods={"sendMessage"})) as server:
        server.create_user(4242, "Officer").user.started = True
        with uow:
            person = uow.people.ensure(4242, 4242, "Officer", None, "vi")
            uow.outbox.enqueue("link/n1/abc", person.id, 4242, "evidence_received",
                               {"unit": "U1", "item": "1.1", "file_name": "a.pdf"}, not_before=NOW)
            uow.commit()
        async with make_bot(server) as bot:
            clock = [NOW + SECOND]
            sender = Sender(uow.engine, bot, renderers=RENDERERS, backoff=SECOND, now=lambda: clock[0])
            for _ in range(3):
                await sender.drain()
                clock[0] += timedelta(minutes=1)
        [row] = rows(uow)
        assert row.status == status and server.user(4242).bot_message_count == copies
        if status == "uncertain":
            assert row.attempts == 1 and row.error.startswith("delivery unknown")


async def test_connection_refused_is_retried_it_cannot_have_delivered(uow):
    with uow:
        uow.outbox.enqueue("x", None, 77, "test", {}, not_before=NOW)
        uow.commit()
    server = await EmulatorServer().start()
    async with make_bot(server) as bot:
        await server.stop()  # nothing listens any more: the connection is refused
        await Sender(uow.engine, bot, renderers={"test": lambda ctx, item: Rendered(text="hi")},
                     now=lambda: NOW + SECOND).drain()
    [row] = rows(uow)
    assert (row.status, row.attempts) == ("pending", 1) and "ConnectError" in row.error


async def test_other_errors_retry_with_backoff_then_fail_with_the_reason(uow, ptb_bot):
    with uow:
        uow.outbox.enqueue("x", None, 999_999, "unreachable", {"person_id": 1}, not_before=NOW)
        uow.people.ensure(1, 1, "P", None, "vi")
        uow.people.mark_unreachable(1, "403")  # keeps the renderer's text; chat 999999 does not exist
        uow.commit()
    clock = [NOW]
    sender = Sender(uow.engine, ptb_bot, renderers=RENDERERS, max_attempts=3, backoff=timedelta(seconds=10),
                    now=lambda: clock[0])
    waits = []
    for _ in range(3):
        await sender.drain()
        row = rows(uow)[0]
        waits.append((row.status, row.attempts, round((row.not_before - clock[0]).total_seconds())))
        clock[0] = row.not_before
    assert waits == [("pending", 1, 10), ("pending", 2, 20), ("failed", 3, 0)]
    assert rows(uow)[0].error == "BadRequest: Chat not found"


async def test_an_evidence_link_confirmation_is_rendered_and_sent(uow, emulator_server, ptb_bot):
    emulator_server.create_user(4242, "Officer").user.started = True
    with uow:
        person = uow.people.ensure(4242, 4242, "Officer", None, "vi")
        uow.outbox.enqueue("link/n1/abc", person.id, 4242, "evidence_received",
                           {"unit": "U1", "item": "1.1", "file_name": "bien-ban.pdf"}, not_before=NOW)
        uow.commit()
    await Sender(uow.engine, ptb_bot, renderers=RENDERERS, rate_global=1000, now=lambda: NOW + SECOND).drain()
    assert [r.status for r in rows(uow)] == ["sent"]
    texts = [m.text for m in emulator_server.user(4242).bot_messages()]
    assert len(texts) == 1 and "bien-ban.pdf" in texts[0] and "1.1" in texts[0]


def test_outbox_commands(cli, database_url):
    from parbot.storage.db import make_engine

    assert cli("db", "upgrade")[0] == 0  # reading commands no longer create a missing SQLite file
    code, out, _ = cli("outbox", "status")
    assert code == 0
    uow = SqlUnitOfWork(make_engine(database_url))
    queue(uow, ("a", 1), ("b", 2))
    with uow:
        for key in ("a", "b"):
            item = uow.outbox_rows.claim("w", NOW, 1, SECOND)[0]
            uow.outbox_rows.mark_final(item.id, "w", "failed", f"boom {key}", 5)
        uow.commit()
    code, out, _ = cli("outbox", "status")
    table = [[cell.strip() for cell in re.split("[┃│]", line)[1:-1]] for line in out.splitlines() if line[:1] in "┃│"]
    assert table[0] == ["loại", "chờ gửi", "đang gửi", "đã gửi", "bỏ qua", "không gửi được", "lỗi", "chưa rõ"]
    assert table[1] == ["test", "0", "0", "0", "0", "0", "2", "0"] and "boom a" in out
    assert re.search(r"#\d+ +lỗi +test +chat 1 +5 lần thử +nền tảng nhắn tin báo: “boom a”", out)
    assert cli("outbox", "retry", "--id", str(rows(uow)[0].id))[1].strip() == "Đã xếp lại 1 dòng vào hàng đợi gửi."
    assert [r.status for r in rows(uow)] == ["pending", "failed"]
    assert cli("outbox", "retry", "--all-failed")[1].strip() == "Đã xếp lại 1 dòng vào hàng đợi gửi."
    assert [(r.status, r.attempts) for r in rows(uow)] == [("pending", 0), ("pending", 0)]
    assert cli("outbox", "retry")[0] == 2


ERRORS = {  # what the sender stores in a row's error, and how `parbot outbox status` says it
    "403 Forbidden: bot was blocked by the user": "người nhận đã chặn bot",
    "403 Forbidden: user is deactivated": "tài khoản của người nhận đã bị xóa",
    "recipient unreachable": "người nhận đã không nhận được tin trước đó (chặn bot hoặc xóa tài khoản): không gửi nữa",
    "BadRequest: Chat not found": "không tìm thấy cuộc trò chuyện (người nhận chưa bấm Start với bot?)",
    "delivery unknown: TimedOut: ReadTimeout": "không rõ đã gửi được chưa (không gửi lại): hết thời gian chờ",
    "delivery unknown: part 2/3: ZaloError 500": "không rõ đã gửi được chưa (không gửi lại): phần 2/3: "
                               "nền tảng nhắn tin báo: “ZaloError 500”",
    "render: KeyError('unit')": "parbot không dựng được tin nhắn (lỗi phần mềm, hãy báo người phát triển: "
                                "“KeyError('unit')”)",
    "no renderer for kind survey_ready": "parbot chưa biết cách soạn loại tin “survey_ready”",
}


def test_outbox_status_says_why_a_message_was_not_sent_in_words(cli, database_url):
    """The sender's own sentences and the platforms' usual refusals read in Vietnamese; any other platform
    text is quoted as the platform's (issue 12)."""
    from parbot.storage.db import make_engine
    from tests.unit.test_vietnamese_output import english

    assert cli("db", "upgrade")[0] == 0
    uow = SqlUnitOfWork(make_engine(database_url))
    queue(uow, *((f"k{n}", n) for n in range(len(ERRORS))))
    with uow:
        for error in ERRORS:
            item = uow.outbox_rows.claim("w", NOW, 1, SECOND)[0]
            status = "unreachable" if error.startswith(("403", "recipient")) else "uncertain" if "unknown" in error else "failed"
            uow.outbox_rows.mark_final(item.id, "w", status, error, 1)
        uow.commit()
    code, out, _ = cli("--lang", "vi", "outbox", "status")
    lines = [line.rstrip() for line in out.splitlines() if line.startswith("#")]
    assert code == 0 and len(lines) == len(ERRORS)
    for words in ERRORS.values():  # listed by status: failed, unreachable, uncertain
        assert any(line.endswith(words) for line in lines), (words, lines)
    assert english(out) == []
