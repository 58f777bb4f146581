"""The demo round: a sample province plays a whole year of the PAR Index through the real bot, on the
built-in Bot API emulator, on a compressed clock.

Every stage happens at its date of the shipped 2020 period (Vietnam time), through the same code the
province would run: invitations accepted with /start, officers answering in the chat, the reminder sweep
and the outbox sender, appraisal, the explanation round, survey import, publication, and the charts the
units and leaders receive. The clock given to the bot, the jobs and the services is the demo's own; one
seed fixes every simulated choice.
"""
from __future__ import annotations

import asyncio
import random
import unicodedata
from functools import partial
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import sqlalchemy as sa
from aiohttp import web
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..bot.deps import Deps
from ..bot.jobs import ReminderJobs, stop_jobs, sweep, utc_now
from ..bot.web.app import build_app as link_pages
from ..bot.zalo.runner import ZaloRunner
from ..core.links import ACCOUNT_CODE
from ..core.links import url as link_url
from ..core.decimals import fmt, round_half_up
from ..core.rules import YesNoRule
from ..core.permissions import Caller
from ..core.services import appraisal, links, people, publication, reporting, survey
from ..core.services.assessment import sequence
from ..core.services.results import period_results
from ..core.services.tabular import Row
from ..i18n import t
from ..reports.annex import Heading
from ..reports.bundle import TITLE, write_report
from ..storage.evidence_store import EvidenceStore
from ..storage.tables import OutboxRow
from ..storage.uow import SqlUnitOfWork
from .emulator import EmulatorServer, SimUser
from .officers import Habits, Officer, Person, Transcript, evidence_pdf
from .runtime import SAMPLE_UNITS, create_province, emulator_settings, running_bot, sample_period
from .zalo_emulator import ZaloEmulatorServer, ZaloSimUser

VN = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR = 2020
ADMIN = Caller.admin("cli:demo")
LATE_UNITS = 2  # units that stop half-way and are reminded
NAMES = ("Nguyễn Thị Lan", "Trần Văn Hùng", "Lê Thị Mai", "Phạm Quốc Bảo", "Hoàng Thị Hạnh", "Vũ Minh Tuấn",
         "Đặng Thu Trang", "Bùi Văn Long", "Đỗ Thị Ngọc", "Ngô Đức Thịnh", "Dương Thị Hoa", "Lý Văn Nam")
LEADER_NAMES = ("Phan Văn Khải", "Trịnh Thị Thu", "Mai Xuân Trường", "Hồ Thị Bích")
LOWER_REASONS = ("Văn bản kiểm chứng ban hành sau thời hạn quy định.",
                 "Không có tài liệu kiểm chứng hợp lệ cho nội dung này.",
                 "Báo cáo chưa đủ nội dung theo hướng dẫn của Sở Nội vụ.")
DEMO_LINK_KEY = "parbot-demo-link-key (not a secret)"  # signs the demo's web links and account codes
CONTEST_TEXT = ("Đơn vị đã ban hành đúng hạn; gửi kèm Quyết định số 27/QĐ-UBND ngày 28/02/2020 "
                "và sổ theo dõi văn bản đến.")


def vn(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=VN)


PUBLISHED = vn(2021, 3, 15, 9, 0)  # the results are published, and the report's decision signed, that day


class Clock:
    """The demo's compressed time: jumps from one stage's moment to the next."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at.astimezone(timezone.utc)

    def set(self, moment: datetime) -> datetime:
        self.at = moment
        return moment


class Reporter:
    """A progress bar per stage and a few lines of what happened."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def note(self, text: str) -> None:
        self.console.print(f"  {text}", markup=False, highlight=False)

    @contextmanager
    def stage(self, title: str, moment: datetime, total: int) -> Iterator[Callable[[int], None]]:
        self.console.print(f"[bold]{moment:%d/%m/%Y %H:%M}[/bold] {title}", highlight=False)
        with Progress(TextColumn("  "), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=self.console, transient=False) as progress:
            task = progress.add_task(title, total=total)
            yield lambda n=1: progress.advance(task, n)
            progress.update(task, completed=total)


@dataclass
class Cast:
    officers: dict[str, Officer] = field(default_factory=dict)  # unit -> officer
    leaders: dict[str, Person] = field(default_factory=dict)  # unit -> unit leader
    appraisers: dict[str, Person] = field(default_factory=dict)  # block -> appraiser
    province_leader: Person | None = None
    admin: Person | None = None
    person_ids: dict[int, int] = field(default_factory=dict)  # telegram id -> person id
    on_zalo: dict[str, ZaloSimUser] = field(default_factory=dict)  # unit -> its officer's Zalo account
    zalo_said: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # unit -> (messages before, text)


@dataclass
class DemoResult:
    folder: Path
    database: Path
    files: list[Path]
    ranking: dict[str, list[tuple[int, str, str]]]  # block -> (rank, unit, index)
    counts: dict[str, int]
    problems: list[str]  # what did not happen as it should; the demo then exits non-zero


class DemoRound:
    def __init__(self, folder: Path, seed: int, console: Console) -> None:
        self.folder, self.seed, self.rng = folder, seed, random.Random(seed)
        self.report = Reporter(console)
        self.clock = Clock(vn(2020, 11, 30, 9, 0))
        self.transcript = Transcript()
        self.cast = Cast()
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []
        self._next_user = 810_000_001

    # ---- set-up ------------------------------------------------------------------------------------------

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def criteria(self, block: str):
        with self.uow() as uow:
            return uow.periods.get(YEAR).criteria_for(block)

    def units(self) -> list:
        with self.uow() as uow:
            return [u for code in SAMPLE_UNITS for u in [uow.units.get(code)] if u is not None]

    def invite(self, role: str, unit: str | None = None, block: str | None = None) -> str:
        code, _ = people.create_invite(self.uow(), caller=ADMIN, role=role, unit_code=unit, block=block,
                                       expires_in=timedelta(days=30), now=self.clock())
        return code

    async def join(self, name: str, role: str, unit: str | None = None, block: str | None = None) -> Person:
        user = self.server.create_user(self._next_user, name, language_code="vi")
        self._next_user += 1
        person = Person(user, self.transcript, settle=self.settle)
        code = self.invite(role, unit, block)
        if role in ("officer", "unit_leader"):
            await person.start(code)
        else:  # no workspace to show: the welcome is the whole answer
            self.transcript.add(user, f"/start {code[:4]}…")
            user.send_command("start", code)
            await person.await_reply()
        with self.uow() as uow:
            self.cast.person_ids[user.id] = people.identify(uow, user.id).person.id
        return person

    async def settle(self, user: SimUser) -> None:
        """Until the bot has handled every update of the user's chat (see Person)."""
        chat_id = user.chat.id
        await self.application.update_processor.wait_handled(chat_id, self.server.emulator.updates_per_chat[chat_id])

    def caller(self, person: Person) -> Caller:
        person_id = self.cast.person_ids[person.user.id]
        with self.uow() as uow:
            return Caller.person(person_id, uow.roles.grants(person_id))

    # ---- stages ------------------------------------------------------------------------------------------

    async def onboarding(self) -> None:
        units = self.units()
        leaders_for = [u.code for u in units][:len(LEADER_NAMES)]
        blocks = sorted({u.block for u in units})
        total = len(units) + len(leaders_for) + len(blocks) + 2
        moment = self.clock.set(vn(2020, 12, 1, 8, 30))
        names = iter(NAMES)
        with self.report.stage("Mời và kích hoạt tài khoản (/start <mã mời>)", moment, total) as advance:
            self.cast.admin = await self.join("Sở Nội vụ - Tổ CCHC", "admin")
            advance(1)
            self.cast.province_leader = await self.join("Chủ tịch UBND tỉnh", "province_leader")
            advance(1)
            for unit in units:
                person = await self.join(next(names), "officer", unit.code)
                # Officers answer concurrently: each draws from its own generator, so the seed fixes the round
                # whatever the interleaving.
                rng = random.Random(f"{self.seed}:{unit.code}")
                habits = Habits.draw(rng)
                if not self.cast.officers:  # whatever the seed, the round shows each kind of slip once
                    habits = replace(habits, correction=True, typo=True, not_applicable=True)
                self.cast.officers[unit.code] = Officer(person.user, self.transcript, unit.code,
                                                        self.criteria(unit.block), rng, habits, settle=self.settle)
                advance(1)
            for unit_code, name in zip(leaders_for, LEADER_NAMES):
                self.cast.leaders[unit_code] = await self.join(name, "unit_leader", unit_code)
                advance(1)
            for block in blocks:
                self.cast.appraisers[block] = await self.join(f"Thẩm định khối {block}", "appraiser", block=block)
                advance(1)
        self.counts["invitations"] = total
        self.report.note(f"{total} lời mời được tạo và chấp nhận: {len(units)} cán bộ đầu mối, "
                         f"{len(leaders_for)} lãnh đạo đơn vị, {len(blocks)} tổ thẩm định, lãnh đạo tỉnh, quản trị.")

    async def self_assessment(self) -> list[str]:
        """Everyone answers concurrently; the late units stop part-way. Returns the late units."""
        officers = list(self.cast.officers.values())
        late = self.rng.sample([o.unit for o in officers if o.unit in self.cast.leaders], LATE_UNITS)
        total = sum(o.remaining for o in officers)
        moment = self.clock.set(vn(2020, 12, 14, 9, 0))
        with self.report.stage("Tự đánh giá, chấm điểm qua bot", moment, total) as advance:
            async def one(officer: Officer) -> None:
                await officer.press(officer.buttons("ar")[0][0]["text"])
                await officer.work(limit=officer.rng.randint(3, 8) if officer.unit in late else None,
                                   on_answer=lambda: advance(1))
                if officer.unit not in late:
                    await officer.submit()
            await asyncio.gather(*(one(o) for o in officers))
        self._tally()
        self.report.note(f"{len(officers) - len(late)} đơn vị đã nộp; {', '.join(late)} mới trả lời một phần.")
        c = self.counts
        self.report.note(f"{c['answers']} câu trả lời, {c['files']} tệp kiểm chứng, {c['references']} số hiệu văn bản, "
                         f"{c['ratios']} tỉ lệ nhập tay, {c['not_applicable']} mục 'Không phát sinh', "
                         f"{c['corrections']} lần sửa, {c['typos']} lần nhập sai được hỏi lại.")
        return late

    def _tally(self) -> None:
        for key in ("answers", "files", "references", "not_applicable", "corrections", "typos", "ratios"):
            self.counts[key] = sum(o.counts[key] for o in self.cast.officers.values())

    async def reminder_round(self) -> None:
        """The sweep on the demo's clock, then the outbox drained: the bot's own sender runs beside, and the
        drain waits for the rows it holds too, so no reminder lands in a chat while its officer is at work."""
        await asyncio.to_thread(sweep, self.engine, self.settings, self.clock())
        await self.drain(self.clock)

    async def reminders(self, late: list[str]) -> None:
        moments = [vn(2021, 1, 8, 8, 0, 30), vn(2021, 1, 12, 8, 0, 30), vn(2021, 1, 14, 8, 0, 30)]
        with self.report.stage("Nhắc hạn: quét mỗi phút và gửi qua hàng đợi (outbox)", moments[0],
                               len(moments) + len(late)) as advance:
            for moment in moments:
                self.clock.set(moment)
                await self.reminder_round()
                advance(1)
                if moment is moments[0]:  # the first late unit's officer adds Zalo, to be reminded there too
                    await self.add_zalo(self.cast.officers[late[0]])
            # The first late unit answers the reminder: "Tiếp tục" opens its areas, it finishes and submits.
            for n, unit in enumerate(late):
                officer = self.cast.officers[unit]
                self.clock.set(vn(2021, 1, 14 + n, 10, 0))
                if n:  # the second one only after the deadline-day reminder
                    self.clock.set(vn(2021, 1, 15, 8, 0, 30))
                    await self.reminder_round()
                    self.clock.set(vn(2021, 1, 15, 10, 0))
                reminder = next(m for m in reversed(officer.user.bot_messages()) if (m.text or "").startswith("⏰"))
                await officer.press(callback_data=reminder.inline_keyboard[0][0]["callback_data"])
                await officer.open_area()
                await officer.work()
                if not n:  # one file through the signed web link (what a Zalo chat cannot carry)
                    await self.upload_by_link(officer)
                    await self.drain(self.clock)
                await officer.submit()
                advance(1)
        self._tally()
        reminded = sum(self._reminders(self.cast.officers[u].user) for u in late)
        escalated = sum(self._reminders(self.cast.leaders[u].user) for u in late)
        self.counts["reminders"] = reminded
        self.counts["escalations"] = escalated
        self.report.note(f"{reminded} lời nhắc gửi tới cán bộ của {', '.join(late)}; {escalated} tin báo lãnh đạo "
                         f"đơn vị; {self._digests()} bản tin tổng hợp gửi quản trị. Cả hai đơn vị nộp trước hạn "
                         f"15/01/2021 17:00.")
        zalo = self.cast.on_zalo[late[0]]
        self.counts["zalo_reminders"] = sum(1 for m in zalo.received if m.text.startswith(("⏰", "❗")))
        self.report.note(f"{late[0]} dùng cả Telegram và Zalo (/kenh): {self.counts['zalo_reminders']} lời nhắc "
                         f"tới Zalo; {self.counts['link_uploads']} tệp kiểm chứng tải lên qua liên kết web ký số.")

    async def add_zalo(self, officer: Officer) -> None:
        """/kenh on Telegram gives a code; the officer sends it to the bot on Zalo, which links that account
        to the same person, then answers the number of "Cả Telegram và Zalo"."""
        messages = await officer.command("kenh")
        code = next(w for m in messages for w in (m.text or "").split() if ACCOUNT_CODE.match(w))
        zalo = ZaloSimUser(self.zalo.emulator, f"zalo-{officer.user.id}", officer.name)
        self.cast.on_zalo[officer.unit] = zalo
        self._zalo_says(officer, f"/start {code[:6]}…")
        await zalo.send_text(f"/start {code}")
        both = t("channel.choice.b", "vi")
        screen = await zalo.wait_for_text(both, timeout=60)
        number = next(line.split(".")[0] for line in screen.text.splitlines() if line.endswith(both))
        self._zalo_says(officer, number)
        await zalo.send_text(number)
        await zalo.wait_for_text(t("channel.chosen", "vi", chosen="Telegram và Zalo"), timeout=60)

    async def upload_by_link(self, officer: Officer) -> None:
        """A file through the signed upload link the bot gives where a chat cannot carry files (as on Zalo):
        the page stores it with the chat's checks and the chat is told."""
        item = next(i for i in sequence(officer.criteria) if i.evidence != "none")
        token, _ = await asyncio.to_thread(partial(
            links.issue, self.uow(), caller=self.caller(officer), key=DEMO_LINK_KEY, purpose="evidence",
            unit_code=officer.unit, item_code=item.code, now=self.clock(), ttl=timedelta(hours=72)))
        name = f"{officer.unit}-{item.code}-bien-ban.pdf"
        form = aiohttp.FormData()
        form.add_field("file", evidence_pdf(officer.unit, f"{item.code} (web)"), filename=name,
                       content_type="application/pdf")
        async with aiohttp.ClientSession() as http, http.post(link_url(self.public_url, "evidence", token),
                                                              data=form) as page:
            if page.status != 200 or name not in await page.text():
                self.problems.append(f"the upload through a web link answered {page.status}")
                return
        self.transcript.add(officer.user, f"(trang web, liên kết ký số) tải lên {name} cho mục {item.code}")
        self._zalo_says(officer, f"(trang web, liên kết ký số) tải lên {name} cho mục {item.code}")
        self.counts["link_uploads"] += 1

    def _zalo_says(self, officer: Officer, text: str) -> None:
        said = self.cast.zalo_said.setdefault(officer.unit, [])
        said.append((len(self.cast.on_zalo[officer.unit].received), text))

    @asynccontextmanager
    async def zalo_channel(self):  # noqa: ANN201 - an async context manager
        """The Zalo emulator and parbot's web pages (signed upload links, charts Zalo fetches by URL)."""
        async with ZaloEmulatorServer() as zalo:
            self.zalo = zalo
            pages = web.AppRunner(link_pages(Deps(settings=emulator_settings(
                self.server, self.folder, PARBOT_LINK_SECRET=DEMO_LINK_KEY), engine=self.engine,
                store=EvidenceStore(self.folder / "evidence"), clock=self.clock)), access_log=None)
            await pages.setup()
            await web.TCPSite(pages, "127.0.0.1", 0).start()
            self.public_url = f"http://127.0.0.1:{pages.addresses[0][1]}"
            try:
                yield {"PARBOT_ZALO_BOT_TOKEN": zalo.token, "PARBOT_ZALO_API_BASE": zalo.base_url,
                       "PARBOT_PUBLIC_URL": self.public_url, "PARBOT_LINK_SECRET": DEMO_LINK_KEY,
                       "PARBOT_ZALO_SEND_RATE_GLOBAL": "1000", "PARBOT_ZALO_SEND_RATE_PER_CHAT": "1000"}
            finally:
                await pages.cleanup()

    def zalo_markdown(self) -> str:
        """The Zalo chats of the demo, for the transcript: the bot's texts, and photos fetched by URL."""
        lines = []
        for unit, zalo in self.cast.on_zalo.items():
            name = self.cast.officers[unit].name
            lines += [f"## {name} — cán bộ đầu mối, {unit}, trên Zalo", ""]
            said = list(self.cast.zalo_said.get(unit, []))
            for n, message in enumerate(zalo.received):
                while said and said[0][0] <= n:
                    lines += [f"**{name}:** {said.pop(0)[1]}", ""]
                body = f"🖼 *ảnh qua liên kết* {message.text}" if message.kind == "photo" else message.text
                lines += ["**Bot (Zalo):**"] + [f"> {line}" if line else ">" for line in body.splitlines()] + [""]
        return unicodedata.normalize("NFC", "\n".join(lines))

    @staticmethod
    def _reminders(user: SimUser) -> int:
        return sum(1 for m in user.bot_messages() if (m.text or "").startswith(("⏰", "❗")))

    def _digests(self) -> int:
        return self.cast.admin.user.bot_message_count if self.cast.admin else 0

    async def appraise(self) -> dict[str, tuple[str, str]]:
        """Each block's appraiser lowers one or two yes/no items per unit with a reason and accepts the rest.
        Returns, per unit, one lowered item and its reason (for the explanation round)."""
        moment = self.clock.set(vn(2021, 1, 22, 9, 0))
        units = self.units()
        lowered: dict[str, tuple[str, str]] = {}
        with self.report.stage("Thẩm định vòng 1 (tổ thẩm định)", moment, len(units)) as advance:
            for unit in units:
                caller = self.caller(self.cast.appraisers[unit.block])
                view = await asyncio.to_thread(partial(appraisal.unit_view, self.uow(), caller=caller,
                                                       unit_code=unit.code, year=YEAR, now=self.clock()))
                candidates = [i for area in view.areas for i in area.items
                              if isinstance(i.item.rule, YesNoRule) and isinstance(i.self_points, Decimal)
                              and i.self_points > 0]
                for item in self.rng.sample(candidates, min(len(candidates), self.rng.choice((1, 2)))):
                    reason = self.rng.choice(LOWER_REASONS)
                    await asyncio.to_thread(partial(appraisal.appraise, self.uow(), caller=caller, unit_code=unit.code,
                                                    item_code=item.item.code, points="0", reason=reason, year=YEAR,
                                                    now=self.clock()))
                    lowered.setdefault(unit.code, (item.item.code, reason))
                    self.counts["lowered"] += 1
                for area in (a for a in view.areas if a.mine):
                    for entry in (i for i in area.items if i.self_points is None):  # bonus and deduction
                        await self._adjust(caller, unit.code, entry.item)
                    await asyncio.to_thread(partial(appraisal.accept_rest, self.uow(), caller=caller,
                                                    unit_code=unit.code, area_code=area.code, year=YEAR,
                                                    now=self.clock()))
                advance(1)
        self.clock.set(vn(2021, 1, 31, 17, 30))
        summary = await asyncio.to_thread(partial(appraisal.close_round, self.uow(), caller=ADMIN, round_no=1,
                                                  year=YEAR, now=self.clock()))
        await self.drain()
        self.report.note(f"{self.counts['lowered']} điểm bị hạ kèm lý do, {self.counts['bonuses']} điểm thưởng; đóng vòng 1 cho {len(summary.closed)} "
                         f"đơn vị, {summary.notices} thông báo kết quả sơ bộ được xếp hàng.")
        return lowered

    async def _adjust(self, caller: Caller, unit: str, item) -> None:  # noqa: ANN001 - criteria Item
        """Bonus and deduction contents are the council's to score: now and then an initiative earns its bonus."""
        if item.section == "bonus" and self.rng.random() < 0.25:
            points, reason = fmt(item.maximum), "Sáng kiến cải cách được Hội đồng sáng kiến tỉnh công nhận."
            self.counts["bonuses"] += 1
        else:
            points, reason = "0", "Không có nội dung phát sinh trong kỳ đánh giá."
        await asyncio.to_thread(partial(appraisal.appraise, self.uow(), caller=caller, unit_code=unit,
                                        item_code=item.code, points=points, reason=reason, year=YEAR,
                                        now=self.clock()))

    async def explanation(self, lowered: dict[str, tuple[str, str]]) -> None:
        unit = sorted(lowered)[0]
        item, _ = lowered[unit]
        moment = self.clock.set(vn(2021, 2, 3, 15, 0))
        with self.report.stage("Giải trình (vòng 2)", moment, 2) as advance:
            officer = self.cast.officers[unit]
            await asyncio.to_thread(partial(appraisal.contest, self.uow(), caller=self.caller(officer), unit_code=unit,
                                            item_code=item, text=CONTEST_TEXT, year=YEAR, now=self.clock()))
            advance(1)
            self.clock.set(vn(2021, 2, 15, 9, 0))
            appraiser = self.cast.appraisers[next(u.block for u in self.units() if u.code == unit)]
            # The explanation is accepted: the self points come back.
            await asyncio.to_thread(partial(appraisal.appraise, self.uow(), caller=self.caller(appraiser),
                                            unit_code=unit, item_code=item, year=YEAR, now=self.clock()))
            self.clock.set(vn(2021, 2, 21, 17, 30))
            await asyncio.to_thread(partial(appraisal.close_round, self.uow(), caller=ADMIN, round_no=2, year=YEAR,
                                            now=self.clock()))
            advance(1)
        self.report.note(f"{unit} giải trình mục {item}; tổ thẩm định chấp nhận, trả lại điểm tự chấm. Đóng vòng 2.")

    async def survey(self) -> None:
        moment = self.clock.set(vn(2021, 3, 1, 9, 0))
        rows, line = [], 2
        for unit in self.units():
            for item in self.criteria(unit.block).items.values():
                if item.is_survey:
                    share = Decimal(self.rng.randint(62, 96)) / 100
                    rows.append(Row(line, {"unit": unit.code, "item": item.code,
                                           "points": fmt((item.maximum * share).quantize(Decimal("0.01")))}))
                    line += 1
        with self.report.stage("Nhập kết quả điều tra xã hội học", moment, 1) as advance:
            count, _ = await asyncio.to_thread(partial(survey.import_survey, self.uow(), caller=ADMIN,
                                                       header=["unit", "item", "points"], rows=rows, year=YEAR))
            advance(1)
        self.report.note(f"{count} dòng điểm điều tra cho {len(self.units())} đơn vị.")

    async def publish(self) -> None:
        moment = self.clock.set(PUBLISHED)
        with self.report.stage("Công bố kết quả và gửi biểu đồ", moment, 2) as advance:
            snapshots = await asyncio.to_thread(partial(publication.publish, self.uow(), caller=ADMIN, year=YEAR,
                                                        now=self.clock()))
            advance(1)
            await self.drain()
            await self.ask_for_charts()
            advance(1)
        photos = self.counts["charts"] = self.photos()
        self.report.note(f"Công bố {len(snapshots)} khối (mã băm {', '.join(s.content_hash[:10] for s in snapshots)}); "
                         f"{photos} biểu đồ đã gửi tới đơn vị và lãnh đạo.")
        on_zalo = self.counts["zalo_charts"] = sum(1 for z in self.cast.on_zalo.values() for m in z.received
                                                   if m.kind == "photo")
        self.report.note(f"{on_zalo} biểu đồ tới Zalo: ảnh do parbot phục vụ qua liên kết ký số, Zalo tải về.")

    async def drain(self, now: Callable[[], datetime] = utc_now) -> None:
        """Run the outbox sender until every due row is handled (one row per chat per round, as it paces
        chats). By default it reads the wall clock: every row the demo queued is dated on the demo's past
        calendar; reminders are sent on the demo's clock (the sender drops a reminder past its deadline)."""
        jobs = ReminderJobs(self.engine, self.application.bot, self.settings, now=now)
        for _ in range(50):
            await jobs.run_sender()
            with self.uow() as uow:
                open_rows = uow.session.execute(sa.select(sa.func.count()).where(
                    OutboxRow.status.in_(("pending", "sending")))).scalar()
            if not open_rows:
                break
            await asyncio.sleep(0.01)
        await stop_jobs(jobs)
        with self.uow() as uow:
            failed = sorted(set(uow.session.execute(
                sa.select(OutboxRow.kind).where(OutboxRow.status == "failed")).scalars()))
        self.problems += [f"outbox messages of kind '{kind}' failed" for kind in failed
                          if f"'{kind}'" not in " ".join(self.problems)]

    async def ask_for_charts(self) -> None:
        """Publication has delivered each unit its summary chart and the leader the rankings; one officer also
        asks /result, as officers do, to read the lost items with the appraisers' reasons."""
        first = next(iter(self.cast.officers.values()))
        await first.command("result")
        if not self.photos():
            self.problems.append("no result chart reached anyone after publication")

    def photos(self) -> int:
        return sum(1 for c in self.server.emulator.chats.values() for m in c.messages.values()
                   if m.from_bot and m.photo is not None)

    # ---- outputs -----------------------------------------------------------------------------------------

    def write_outputs(self) -> list[Path]:
        files = []
        chart_dir = self.folder / "charts"
        chart_dir.mkdir(exist_ok=True)
        names = self._names()
        for chat in self.server.emulator.chats.values():
            for message in chat.messages.values():
                if message.from_bot and message.photo is not None:
                    path = chart_dir / f"{names[chat.id][0]}-{message.message_id}.png"
                    path.write_bytes(message.photo.data)
                    files.append(path)
        # What `parbot report` writes, from the published results, under the decision the demo publishes by.
        _, blocks, _, previous = reporting.report_blocks(self.uow(), year=YEAR)
        heading = Heading(TITLE.format(year=YEAR) + " (bản demo)", province="tỉnh Mẫu", issuer="Sở Nội vụ",
                          decision="15/QĐ-UBND", date=PUBLISHED.date())
        report = write_report(blocks, self.folder / f"bao-cao-{YEAR}.pdf", heading, previous)
        self.report.note(f"Báo cáo PDF ({report.pages} trang): {report.pdf}")
        self.report.note(f"Phụ lục kèm quyết định: {report.docx} (Word), {report.xlsx} (Excel)")
        transcript = self.folder / "hoi-thoai.md"
        transcript.write_text(self.transcript_markdown(names) + "\n" + self.zalo_markdown(), encoding="utf-8")
        return sorted(files) + [report.pdf, report.docx, report.xlsx, transcript]

    def _names(self) -> dict[int, tuple[str, str]]:
        """chat id -> (file-name slug, heading) for the people of the cast."""
        out = {}
        for unit, officer in self.cast.officers.items():
            out[officer.user.id] = (f"{unit}-can-bo", f"{officer.name} — cán bộ đầu mối, {unit}")
        for unit, leader in self.cast.leaders.items():
            out[leader.user.id] = (f"{unit}-lanh-dao", f"{leader.name} — lãnh đạo {unit}")
        for block, person in self.cast.appraisers.items():
            out[person.user.id] = (f"tham-dinh-{block}", person.name)
        out[self.cast.province_leader.user.id] = ("lanh-dao-tinh", self.cast.province_leader.name)
        out[self.cast.admin.user.id] = ("quan-tri", self.cast.admin.name)
        return out

    def transcript_markdown(self, names: dict[int, tuple[str, str]]) -> str:
        """A few chats in order: what each person did and each message the bot sent or edited, with buttons."""
        late = [u for u, o in self.cast.officers.items() if o.counts["answers"] and
                any((m.text or "").startswith("⏰") for m in o.user.bot_messages())]
        chosen = [self.cast.officers[u].user for u in list(self.cast.officers)[:1] + late[:1]]
        chosen += [self.cast.leaders[u].user for u in late[:1] if u in self.cast.leaders]
        chosen.append(self.cast.province_leader.user)
        lines = [f"# Hội thoại mẫu — demo Chỉ số CCHC {YEAR}", ""]
        for user in dict.fromkeys(chosen):
            chat = self.server.emulator.chats[user.id]
            lines += [f"## {names[user.id][1]}", ""]
            actions = iter(self.transcript.actions.get(chat.id, []))
            pending = next(actions, None)
            for event in chat.events:
                while pending is not None and pending[0] < event["version"]:
                    lines.append(f"**{user.user.first_name}:** {pending[1]}")
                    lines.append("")
                    pending = next(actions, None)
                if event["type"] in ("message", "edit") and event["message"]["sender"] == "bot":
                    lines += self._bot_lines(event)
            lines.append("")
        return unicodedata.normalize("NFC", "\n".join(lines))

    @staticmethod
    def _bot_lines(event: dict) -> list[str]:
        message = event["message"]
        head = "**Bot**" + (" (sửa tin)" if event["type"] == "edit" else "") + ":"
        body = message.get("text") or message.get("caption") or ""
        if message.get("photo"):
            body = f"🖼 *ảnh* {body}"
        out = [head] + [f"> {line}" if line else ">" for line in body.splitlines()]
        for row in message.get("buttons") or []:
            out.append(">" + " ".join(f" `[{b['text']}]`" for b in row))
        return out + [""]

    # ---- the round ---------------------------------------------------------------------------------------

    async def play(self) -> DemoResult:
        self.engine = await asyncio.to_thread(create_province, self.folder, sample_period())
        async with EmulatorServer() as server:
            self.server = server
            async with self.zalo_channel() as zalo_settings:
                self.settings = emulator_settings(server, self.folder, PARBOT_SEND_RATE_GLOBAL="1000",
                                                  PARBOT_SEND_RATE_PER_CHAT="1000", **zalo_settings)
                async with running_bot(self.settings, self.engine, self.clock) as application:
                    self.application = application
                    zalo_runner = ZaloRunner(application.bot_data["deps"])
                    await zalo_runner.start()
                    try:
                        await self.onboarding()
                        late = await self.self_assessment()
                        await self.reminders(late)
                        lowered = await self.appraise()
                        await self.explanation(lowered)
                        await self.survey()
                        await self.publish()
                    finally:
                        await zalo_runner.stop()
            files = await asyncio.to_thread(self.write_outputs)
        _, blocks = period_results(self.uow(), year=YEAR)
        ranking = {b.block: [(u.rank, u.unit.code, fmt(round_half_up(u.index, 2))) for u in b.units] for b in blocks}
        self.engine.dispose()
        return DemoResult(self.folder, self.folder / "parbot.db", files, ranking, dict(self.counts), self.problems)


def run_demo(folder: Path, seed: int, console: Console) -> DemoResult:
    return asyncio.run(DemoRound(folder, seed, console).play())
