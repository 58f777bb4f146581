"""Charts and results through the real bot polling the Bot API emulator, and the publication notices."""
from __future__ import annotations

import io
import pytest
from appraisal_fixtures import ADMIN, SELF, T0, YEAR, build, person
from PIL import Image

from parbot.core.permissions import Grant, Role
from parbot.core.services import publication as pub
from parbot.core.services.scores import import_scores
from parbot.core.services.tabular import Row
from parbot.i18n import t
from parbot.storage.db import make_engine, upgrade
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
HEADER = ["unit", "item", "source", "points", "reason"]


def fill(uow) -> None:
    """Appraised points for the so units (1.1 lowered for SNV, with a reason) and their survey points."""
    rows = []
    for unit in ("SNV", "STC"):
        for item, text in SELF.items():
            lowered = unit == "SNV" and item == "1.1"
            rows.append([unit, item, "appraised", "1" if lowered else text, "Thiếu tài liệu" if lowered else ""])
        rows += [[unit, "3.1.1", "survey", "1.5" if unit == "SNV" else "2", ""], [unit, "3.1.2", "survey", "1", ""]]
    import_scores(uow, caller=ADMIN, year=YEAR, header=HEADER,
                  rows=[Row(n, dict(zip(HEADER, r))) for n, r in enumerate(rows, 2)])


@pytest.fixture
def engine(db_path, tmp_path):
    """The appraisal tests' small province (so, huyen, xa), every unit submitted, instead of the samples."""
    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    build(SqlUnitOfWork(engine), tmp_path)
    yield engine
    engine.dispose()


def photo_of(message) -> Image.Image:
    image = Image.open(io.BytesIO(message.photo.data))
    width, height = image.size
    assert image.format == "PNG" and width + height <= 10_000 and max(width, height) <= 20 * min(width, height)
    return image


async def people(engine, server):
    uow = SqlUnitOfWork(engine)
    ids = {"leader": (8001, Grant(Role.PROVINCE_LEADER)), "admin": (8002, Grant(Role.ADMIN)),
           "unit_leader": (8003, Grant(Role.UNIT_LEADER, "SNV")), "officer": (8004, Grant(Role.OFFICER, "SNV"))}
    users = {}
    for name, (telegram_id, grant) in ids.items():
        person(uow, telegram_id, grant)
        users[name] = server.create_user(telegram_id, name)
        users[name].send_command("help")  # the person has written to the bot, so it may write to them
        await users[name].wait_for_reply()
    return users


async def test_ranking_result_progress_and_refusals(bot, emulator_server, engine):
    users = await people(engine, emulator_server)
    fill(SqlUnitOfWork(engine))
    bot.deps.clock = lambda: T0

    officer = users["officer"]
    officer.send_command("result")
    (before,) = await officer.wait_for_reply()
    assert before.text == t("error.report.not_published", "vi", year=YEAR)

    leader = users["leader"]
    leader.send_command("ranking", "so")
    (chart,) = await leader.wait_for_reply(until=lambda ms: any(m.photo for m in ms))
    photo_of(chart)
    assert "Sở, ban, ngành" in chart.caption and "tạm tính" in chart.caption
    assert "1. Sở Tài chính – 100,00%" in chart.caption and "Bình quân: 91,67%" in chart.caption
    assert any(e.get("action") == "upload_photo" for e in leader.chat.events)

    users["unit_leader"].send_command("ranking", "so")
    (refused,) = await users["unit_leader"].wait_for_reply()
    assert refused.photo is None and refused.text == t("error.permission.denied", "vi")

    admin = users["admin"]
    admin.send_command("progress")
    (progress,) = await admin.wait_for_reply(until=lambda ms: any(m.photo for m in ms))
    photo_of(progress)
    assert "7/7" in progress.caption

    pub.publish(SqlUnitOfWork(engine), caller=ADMIN, block="so", year=YEAR)
    officer.send_command("result")
    replies = await officer.wait_for_reply(until=lambda ms: any(t("reports.result.lost_header", "vi") in (m.text or "")
                                                                for m in ms))
    assert photo_of(replies[0]).size[0] == 1280 and "Xếp hạng: 2/2" in replies[0].caption
    lost = replies[-1].text
    assert "1.1 Kế hoạch CCHC: 1/2 (−1)" in lost and "Lý do: Thiếu tài liệu" in lost and "1.2" not in lost

    officer.send_command("result", "STC")  # a forged request for another unit
    (forged,) = await officer.wait_for_reply()
    assert forged.photo is None and forged.text == t("error.permission.denied", "vi")

    leader.send_command("ranking", "so")
    (published,) = await leader.wait_for_reply(until=lambda ms: any(m.photo for m in ms))
    assert "tạm tính" not in published.caption


async def test_publication_delivers_summaries_and_rankings_through_the_outbox(bot, emulator_server, engine):
    users = await people(engine, emulator_server)
    uow = SqlUnitOfWork(engine)
    fill(uow)
    pub.publish(uow, caller=ADMIN, block="so", year=YEAR)
    # The bot's own outbox sender (started with the application) delivers them.
    for name in ("officer", "unit_leader", "leader"):
        await users[name].wait_for_reply(timeout=20, until=lambda ms: any(m.photo for m in ms))
    for name in ("officer", "unit_leader"):
        (notice,) = [m for m in users[name].bot_messages() if m.photo]
        photo_of(notice)
        assert "Sở Nội vụ" in notice.caption and "/result" in notice.caption
    (ranking,) = [m for m in users["leader"].bot_messages() if m.photo]
    photo_of(ranking)
    assert "Cao nhất: 1. Sở Tài chính – 100,00%" in ranking.caption and "tạm tính" not in ranking.caption
    assert not [m for m in users["admin"].bot_messages() if m.photo]


async def test_a_zalo_officer_receives_the_chart_summary_as_a_photo_parbot_serves(engine, tmp_path):
    """Zalo takes photos only by URL: the sender stores the chart, signs its URL under PARBOT_PUBLIC_URL, and
    the Zalo emulator fetches it from parbot's web pages as the platform would; an expired URL, or one of a
    member removed since, is refused."""
    from datetime import datetime, timedelta, timezone

    import aiohttp
    from aiohttp import web

    from parbot.bot.deps import Deps
    from parbot.bot.outbox_kinds import RENDERERS
    from parbot.bot.sender import channel_senders
    from parbot.bot.web.app import build_app
    from parbot.bot.zalo.client import ZaloClient, ZaloError
    from parbot.core.services import people as people_svc
    from parbot.sandbox.zalo_emulator import ZaloEmulatorServer
    from parbot.settings import Settings
    from parbot.storage.evidence_store import EvidenceStore

    uow = SqlUnitOfWork(engine)
    with uow:
        lan = uow.people.create("Lan", "vi")  # joined on Zalo: no Telegram chat
        uow.channel_accounts.link(lan.id, "zalo", "z-lan", "z-lan", "Lan")
        uow.roles.add(lan.id, Grant(Role.OFFICER, "SNV"))
        hoa = uow.people.create("Hoa", "vi")  # the province leader, on Zalo too: the block's ranking
        uow.channel_accounts.link(hoa.id, "zalo", "z-hoa", "z-hoa", "Hoa")
        uow.roles.add(hoa.id, Grant(Role.PROVINCE_LEADER))
        uow.commit()
    clock = [datetime.now(timezone.utc)]
    key, evidence = "an-e2e-chart-link-key", tmp_path / "evidence"
    pages = web.AppRunner(build_app(Deps(settings=Settings(_env_file=None, PARBOT_LINK_SECRET=key), engine=engine,
                                         store=EvidenceStore(evidence), clock=lambda: clock[0])))
    await pages.setup()
    await web.TCPSite(pages, "127.0.0.1", 0).start()
    public = f"http://127.0.0.1:{pages.addresses[0][1]}"
    settings = Settings(_env_file=None, PARBOT_PUBLIC_URL=public, PARBOT_LINK_SECRET=key,
                        PARBOT_EVIDENCE_DIR=str(evidence))
    try:
        async with ZaloEmulatorServer() as zalo:
            user = zalo.emulator.add_user("z-lan", "Lan")
            leader = zalo.emulator.add_user("z-hoa", "Hoa")
            client = ZaloClient(zalo.token, api_base=zalo.base_url)
            fill(uow)
            pub.publish(uow, caller=ADMIN, block="so", year=YEAR)
            (sender,) = [s for s in channel_senders(engine, settings, None, client, renderers=RENDERERS)
                         if s.channel == "zalo"]
            assert await sender.drain() == 2
            (ranking,) = [m for m in leader.received if m.kind == "photo"]
            assert ranking.photo_url.startswith(f"{public}/l/chart/") and Image.open(io.BytesIO(ranking.photo))
            (photo,) = [m for m in user.received if m.kind == "photo"]
            assert photo.photo_url.startswith(f"{public}/l/chart/")
            image = Image.open(io.BytesIO(photo.photo))
            assert image.format == "PNG" and "Sở Nội vụ" in photo.text and "/result" in photo.text
            async with aiohttp.ClientSession() as http, http.get(photo.photo_url) as answer:
                assert answer.status == 200 and answer.content_type == "image/png"
                assert await answer.read() == photo.photo  # what the platform fetched is parbot's PNG
            clock[0] += timedelta(hours=settings.link_ttl_hours, seconds=1)  # past the link's expiry
            with pytest.raises(ZaloError) as refused:
                await client.send_photo("z-lan", photo.photo_url, "")
            assert refused.value.code == 400
            clock[0] = datetime.now(timezone.utc)
            await client.send_photo("z-lan", photo.photo_url, "")  # within its time the same URL works
            people_svc.remove_member(uow, caller=ADMIN, who=f"p{lan.id}", now=clock[0])
            with pytest.raises(ZaloError):
                await client.send_photo("z-lan", photo.photo_url, "")
            await client.close()
    finally:
        await pages.cleanup()
