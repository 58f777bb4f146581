"""/ranking and /result typed on Zalo: the Zalo runner polls the Zalo emulator and answers as Telegram does
(bot/report_replies.py), its charts sent by signed /l/chart/ URLs that the emulator fetches from parbot's web
pages, as the platform would."""
from __future__ import annotations

import io

import pytest
from appraisal_fixtures import ADMIN, YEAR, build
from helpers import ZaloPerson, zalo_bot
from PIL import Image
from test_reports_e2e import fill

from parbot.core.permissions import Grant, Role
from parbot.core.services import publication as pub
from parbot.i18n import t
from parbot.storage.db import make_engine, upgrade
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
KEY = "an-e2e-zalo-report-key"


@pytest.fixture
def engine(tmp_path):
    """The appraisal tests' small province, every unit submitted, with people who joined on Zalo only."""
    engine = make_engine(f"sqlite:///{tmp_path / 'parbot.db'}")
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    build(uow, tmp_path)
    with uow:
        for account, grant in (("z-leader", Grant(Role.PROVINCE_LEADER)), ("z-officer", Grant(Role.OFFICER, "SNV"))):
            someone = uow.people.create(account, "vi")
            uow.channel_accounts.link(someone.id, "zalo", account, account, account)
            uow.roles.add(someone.id, grant)
        uow.commit()
    fill(uow)
    yield engine
    engine.dispose()


@pytest.fixture
async def zalo(engine, tmp_path):
    async with zalo_bot(engine, tmp_path / "evidence", key=KEY, contact="Sở Nội vụ") as bot:
        yield bot


def png(message) -> Image.Image:
    image = Image.open(io.BytesIO(message.photo))
    assert image.format == "PNG"
    return image


async def test_a_leader_on_zalo_gets_the_ranking_chart_by_a_url_the_platform_fetched(engine, zalo):
    server, runner, public = zalo
    leader = ZaloPerson(server, runner, "z-leader", "z-leader")
    (chart,) = await leader.send("/ranking so")
    assert chart.kind == "photo" and chart.photo_url.startswith(f"{public}/l/chart/")
    png(chart)  # the emulator fetched parbot's PNG, as sendPhoto(photo=URL) requires
    assert "Sở, ban, ngành" in chart.text and "tạm tính" in chart.text and "1. Sở Tài chính – 100,00%" in chart.text
    (choose,) = await leader.send("/ranking")  # every block is the province leader's: which one?
    assert choose.kind == "text" and choose.text.startswith(t("reports.ranking.choose", "vi"))
    assert "so" in choose.text and "xa" in choose.text

    stranger = ZaloPerson(server, runner, "z-stranger", "z-stranger")
    (refused,) = await stranger.send("/ranking so")
    assert refused.kind == "text" and refused.text == t("onboarding.no_role", "vi", contact="Sở Nội vụ")


async def test_an_officer_on_zalo_gets_the_units_result_and_lost_items_once_published(engine, zalo):
    server, runner, public = zalo
    officer = ZaloPerson(server, runner, "z-officer", "z-officer")
    (before,) = await officer.send("/result")
    assert before.kind == "text" and before.text == t("error.report.not_published", "vi", year=YEAR)

    pub.publish(SqlUnitOfWork(engine), caller=ADMIN, block="so", year=YEAR)
    summary, lost = await officer.send("/result")
    assert summary.kind == "photo" and summary.photo_url.startswith(f"{public}/l/chart/")
    assert png(summary).size[0] == 1280 and "Xếp hạng: 2/2" in summary.text
    assert lost.kind == "text" and "1.1 Kế hoạch CCHC: 1/2 (−1)" in lost.text and "Lý do: Thiếu tài liệu" in lost.text

    (forged,) = await officer.send("/result STC")  # another unit's result: refused as on Telegram
    assert forged.kind == "text" and forged.text == t("error.permission.denied", "vi")
    (denied,) = await officer.send("/ranking so")
    assert denied.text == t("error.permission.denied", "vi")
