"""Per-channel sending (issue 11): each outbox row records its channel, one sender per channel with its own
rates and blocked handling, Zalo rows through parbot's Zalo client to the Zalo emulator and Telegram rows
through the Telegram emulator, and a person holding both gets a reminder where they chose."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from aiohttp import web
from emulator_fixtures import make_bot
from reminder_fixtures import VN, make_province
from sqlalchemy import select

from parbot.bot.outbox_kinds import RENDERERS
from parbot.bot.sender import Rendered, Sender, ZaloTransport, channel_senders
from parbot.core.text import split_within
from parbot.bot.zalo.client import ZaloClient
from parbot.core.services.notifications import queue_due_notifications
from parbot.sandbox.emulator import EmulatorServer
from parbot.sandbox.zalo_emulator import ZaloEmulatorServer
from parbot.sandbox.zalo_emulator.world import ZaloApiError
from parbot.settings import Settings
from parbot.storage.outbox_sender_repo import _item
from parbot.storage.repos_channels import SqlChannelAccounts
from parbot.storage.tables import OutboxRow

NOW = datetime(2025, 12, 24, 8, 1, tzinfo=VN).astimezone(timezone.utc)
SECOND = timedelta(seconds=1)
ONE_TEXT = {"test": lambda ctx, item: Rendered(text="tin")}  # the rows these tests queue: kind "test"


def rows(uow):
    with uow:
        return [_item(r) for r in uow.session.execute(select(OutboxRow.__table__).order_by(OutboxRow.id))]


@pytest.fixture
async def channels():
    """Both emulators, a Telegram bot and a Zalo client on them."""
    async with EmulatorServer() as telegram, ZaloEmulatorServer() as zalo:
        client = ZaloClient(zalo.token, api_base=zalo.base_url)
        async with make_bot(telegram) as bot:
            yield telegram, zalo, bot, client
        await client.close()


def officer_on_both(uow, telegram, zalo, notify: set[str]):
    """One unit's officer who accepted the invitation on Telegram and on Zalo, notices on ``notify``."""
    people = make_province(uow, units=1, leaders=False)
    (officer, unit), = people["officer"]
    for role in people.values():
        for person, _unit in role:
            telegram.create_user(person.telegram_id, person.name).user.started = True
    zalo.emulator.add_user("z-officer", officer.name)
    with uow:
        accounts = SqlChannelAccounts(uow.session)
        accounts.link(officer.id, "telegram", str(officer.telegram_id), str(officer.telegram_id))
        accounts.link(officer.id, "zalo", "z-officer", "z-officer", officer.name)
        accounts.choose(officer.id, notify)
        uow.commit()
    return people, officer, unit


async def send_all(uow, bot, client, now=NOW + SECOND):
    for sender in channel_senders(uow.engine, Settings(_env_file=None), bot, client, renderers=RENDERERS,
                                  now=lambda: now):
        await sender.drain()


@pytest.mark.parametrize("notify", [{"zalo"}, {"telegram", "zalo"}, {"telegram"}])
async def test_a_reminder_reaches_the_channels_the_person_chose(uow, channels, notify):
    telegram, zalo, bot, client = channels
    _people, officer, unit = officer_on_both(uow, telegram, zalo, notify)
    queue_due_notifications(uow, NOW)
    mine = [r for r in rows(uow) if r.person_id == officer.id]
    assert sorted(r.channel for r in mine) == sorted(notify)
    assert all(r.chat_ref == "z-officer" for r in mine if r.channel == "zalo")
    await send_all(uow, bot, client)
    assert {r.status for r in rows(uow) if r.person_id == officer.id} == {"sent"}
    on_telegram = [m.text for m in telegram.user(officer.telegram_id).bot_messages()]
    on_zalo = [m.text for m in zalo.emulator.users["z-officer"].received]
    assert len(on_telegram) == ("telegram" in notify) and len(on_zalo) == ("zalo" in notify)
    for text in on_telegram + on_zalo:
        assert text.startswith("⏰ Nhắc hạn tự đánh giá") and unit in queue_keys(uow, officer.id)


def queue_keys(uow, person_id: int) -> str:
    return " ".join(r.key for r in rows(uow) if r.person_id == person_id)


async def test_a_reminder_skipped_at_the_sweep_is_skipped_on_every_channel(uow, channels):
    telegram, zalo, bot, client = channels
    _people, officer, _unit = officer_on_both(uow, telegram, zalo, {"telegram", "zalo"})
    queue_due_notifications(uow, NOW + timedelta(days=3))  # the 24/12 reminder is stale by then: skipped
    stale = [r for r in rows(uow) if r.person_id == officer.id and "2025-12-24" in r.key]
    assert sorted(r.channel for r in stale) == ["telegram", "zalo"] and {r.status for r in stale} == {"skipped"}


async def test_blocked_on_zalo_stops_zalo_only_and_the_admins_are_told(uow, channels):
    telegram, zalo, bot, client = channels
    people, officer, unit = officer_on_both(uow, telegram, zalo, {"telegram", "zalo"})

    async def blocked(params):
        raise ZaloApiError(403, "Forbidden: the user blocked the bot")

    zalo.emulator._send_message = blocked
    queue_due_notifications(uow, NOW)
    await send_all(uow, bot, client)
    await send_all(uow, bot, client, now=NOW + SECOND * 5)  # the admins' notice, after the digest's pace
    by_channel = {r.channel: r.status for r in rows(uow) if r.person_id == officer.id and r.kind == "reminder"}
    assert by_channel == {"telegram": "sent", "zalo": "unreachable"}
    with uow:
        accounts = {a.channel: a for a in SqlChannelAccounts(uow.session).of_person(officer.id)}
        assert accounts["zalo"].unreachable_at is not None and accounts["telegram"].reachable
        assert uow.people.get(officer.id).unreachable_at is None
    admin = people["admin"][0][0]
    notice = [m.text for m in telegram.user(admin.telegram_id).bot_messages() if m.text.startswith("⚠️")]
    assert len(notice) == 1 and officer.name in notice[0] and unit in notice[0] and "Chỉ trên Zalo" in notice[0]
    # the next reminder goes to Telegram; its Zalo row is closed without a request
    attempts = zalo.emulator.calls.count("sendMessage")
    queue_due_notifications(uow, NOW + timedelta(days=4))
    await send_all(uow, bot, client, now=NOW + timedelta(days=4, seconds=1))
    later = {r.channel: r.status for r in rows(uow) if r.person_id == officer.id and "2025-12-28" in r.key}
    assert later == {"telegram": "sent", "zalo": "unreachable"}
    assert zalo.emulator.calls.count("sendMessage") == attempts


async def test_zalo_rows_keep_their_own_per_chat_pace(uow, channels):
    """Zalo's limits are not published: the configurable default (PARBOT_ZALO_SEND_RATE_PER_CHAT, 0.5/s)
    holds for a Zalo chat, while Telegram's 1/s holds for Telegram chats."""
    _telegram, zalo, _bot, client = channels
    zalo.emulator.add_user("z-1", "Lan")
    with uow:
        for n in range(3):
            uow.session.add(OutboxRow(key=f"z{n}", chat_id=0, chat_ref="z-1", channel="zalo", kind="test",
                                      payload={}, not_before=NOW, created_at=NOW))
        uow.commit()
    clock = [NOW]
    settings = Settings(_env_file=None)
    keyed = {"test": lambda ctx, item: Rendered(text=f"tin {item.key}")}
    sender = Sender(uow.engine, ZaloTransport(client), renderers=keyed, rate_global=settings.zalo_send_rate_global,
                    rate_per_chat=settings.zalo_send_rate_per_chat, now=lambda: clock[0])
    sent = []
    for step in range(5):  # every second
        clock[0] = NOW + SECOND * step
        sent.append(await sender.drain())
    assert sent == [1, 0, 1, 0, 1]
    assert [m.text for m in zalo.emulator.users["z-1"].received] == ["tin z0", "tin z1", "tin z2"]


def test_long_texts_are_split_at_line_ends_for_zalo():
    text = "\n".join(f"dòng {n:04d} " + "x" * 90 for n in range(60))  # ~6,000 characters
    parts = split_within([text], 2000)
    assert all(len(p) <= 2000 for p in parts) and "\n".join(parts) == text
    assert all(p.startswith("dòng ") for p in parts)
    assert split_within(["a" * 4500], 2000) == ["a" * 2000, "a" * 2000, "a" * 500]


@pytest.fixture
async def zalo_losing_replies():
    """A Zalo platform that takes each sendMessage and drops the connection before answering."""
    taken: list[dict] = []

    async def send(request: web.Request) -> web.Response:
        taken.append(await request.json())
        request.transport.abort()
        return web.Response(status=500)  # never reaches the client

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", taken
    await runner.cleanup()


async def test_a_zalo_send_whose_reply_was_lost_is_uncertain_not_repeated(uow, zalo_losing_replies):
    base, taken = zalo_losing_replies
    with uow:
        uow.session.add(OutboxRow(key="z", chat_id=0, chat_ref="z-1", channel="zalo", kind="test", payload={},
                                  not_before=NOW, created_at=NOW))
        uow.commit()
    client = ZaloClient("1:x", api_base=base)
    clock = [NOW]
    sender = Sender(uow.engine, ZaloTransport(client), renderers=ONE_TEXT, now=lambda: clock[0])
    try:
        for _ in range(3):
            await sender.drain()
            clock[0] += timedelta(minutes=1)
    finally:
        await client.close()
    [row] = rows(uow)
    assert len(taken) == 1 and row.status == "uncertain" and row.error.startswith("delivery unknown")


async def test_a_refused_zalo_connection_is_retried_it_cannot_have_delivered(uow):
    async with ZaloEmulatorServer() as zalo:
        base = zalo.base_url  # nothing listens there once the server stopped
    with uow:
        uow.session.add(OutboxRow(key="z", chat_id=0, chat_ref="z-1", channel="zalo", kind="test", payload={},
                                  not_before=NOW, created_at=NOW))
        uow.commit()
    client = ZaloClient("1:x", api_base=base)
    try:
        await Sender(uow.engine, ZaloTransport(client), renderers=ONE_TEXT, now=lambda: NOW).drain()
    finally:
        await client.close()
    [row] = rows(uow)
    assert (row.status, row.attempts) == ("pending", 1) and "ClientConnectorError" in row.error


def zalo_update(user_id: str, text: str, n: int) -> dict:
    return {"event_name": "message.text.received", "message": {
        "message_id": f"m-{n}", "date": n, "text": text, "from": {"id": user_id, "display_name": "Lan"},
        "chat": {"id": user_id, "chat_type": "PRIVATE"}}}


async def test_a_telegram_officer_links_zalo_by_the_kenh_code_and_chooses_where_reminders_go(uow, channels,
                                                                                          tmp_path):
    """The whole path, as the officer lives it: /kenh on Telegram shows a code, the code typed on Zalo links
    that account to the same person, "Chỉ Zalo" typed by its number sends the next reminder to Zalo only,
    then "Cả Telegram và Zalo" to both."""
    from parbot.bot.deps import Deps
    from parbot.bot.zalo.runner import ZaloBot
    from parbot.core.conversation import engine
    from parbot.core.conversation.events import Command, Sender as ChatSender
    from parbot.core.links import ACCOUNT_CODE
    from parbot.i18n import t
    from parbot.storage.evidence_store import EvidenceStore

    telegram, zalo, bot, client = channels
    people = make_province(uow, units=1, leaders=False)
    (officer, unit), = people["officer"]
    telegram.create_user(officer.telegram_id, officer.name).user.started = True
    deps = Deps(settings=Settings(_env_file=None, PARBOT_LINK_SECRET="a-channel-link-key"), engine=uow.engine,
                store=EvidenceStore(tmp_path / "evidence"), clock=lambda: NOW)
    on_telegram = ChatSender(channel="telegram", account_id=str(officer.telegram_id),
                             chat_id=str(officer.telegram_id), language="vi", private=True)
    (screen,) = engine.handle(deps.uow(), on_telegram, Command("kenh"), env=deps.env()).screens
    assert "Kênh của bạn: Telegram." in screen.text and not screen.options  # one channel: nothing to choose
    code = next(w for w in screen.text.split() if ACCOUNT_CODE.match(w))

    zalo_bot = ZaloBot(deps, client)
    user = zalo.emulator.add_user("z-lan", "Lan")
    await zalo_bot.handle_zalo_update(zalo_update("z-lan", f"/start {code}", 1))
    texts = [m.text for m in user.received]
    assert texts[0] == t("channel.linked", "vi", name=officer.name, channel="Zalo")
    assert "Kênh của bạn: Telegram và Zalo." in texts[-1]
    with uow:
        assert {a.channel: a.person_id for a in SqlChannelAccounts(uow.session).of_person(officer.id)} == {
            "telegram": officer.id, "zalo": officer.id}
        assert len(uow.people.list()) == 2  # the officer and the admin: no new person for the Zalo account
    number = next(line.split(".")[0] for line in texts[-1].splitlines() if line.endswith("Chỉ Zalo"))
    await zalo_bot.handle_zalo_update(zalo_update("z-lan", number, 2))
    assert t("channel.chosen", "vi", chosen="Zalo") in user.received[-1].text

    queue_due_notifications(uow, NOW)
    await send_all(uow, bot, client)
    assert {r.channel for r in rows(uow) if r.person_id == officer.id} == {"zalo"}
    reminders = [m.text for m in user.received if m.text.startswith("⏰")]
    assert len(reminders) == 1 and not telegram.user(officer.telegram_id).bot_messages()

    await zalo_bot.handle_zalo_update(zalo_update("z-lan", "/kenh", 3))
    both = next(line.split(".")[0] for line in user.received[-1].text.splitlines()
                if line.endswith("Cả Telegram và Zalo"))
    await zalo_bot.handle_zalo_update(zalo_update("z-lan", both, 4))
    later = NOW + timedelta(days=4)
    queue_due_notifications(uow, later)
    await send_all(uow, bot, client, now=later + SECOND)
    assert sorted(r.channel for r in rows(uow) if r.person_id == officer.id and "2025-12-28" in r.key) == [
        "telegram", "zalo"]
    assert len([m for m in user.received if m.text.startswith("⏰")]) == 2
    assert [m.text[:1] for m in telegram.user(officer.telegram_id).bot_messages()] == ["⏰"]
    assert unit in queue_keys(uow, officer.id)

    # The code served once: another Zalo account sending it is refused, and so is a forged one.
    stranger = zalo.emulator.add_user("z-other", "Khách")
    await zalo_bot.handle_zalo_update(zalo_update("z-other", code, 5))
    assert stranger.received[-1].text == t("error.channel.already_held", "vi", channel="Zalo")
    await zalo_bot.handle_zalo_update(zalo_update("z-other", code[:-1] + ("A" if code[-1] != "A" else "B"), 6))
    assert stranger.received[-1].text == t("error.channel.code_invalid", "vi")
