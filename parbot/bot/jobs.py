"""Scheduled work in the bot process: the reminder sweep (every minute) and the outbox sender (every second).

APScheduler 3's AsyncIOScheduler with the in-memory job store: no job is pickled, because due work is
derived from the database on every run, so a restart loses nothing. ``misfire_grace_time`` is set (the
default of one second silently drops runs after a pause) and runs coalesce.

Several processes: on PostgreSQL the sweep runs under a transaction-level advisory lock, and one process at
a time sends (a session advisory lock held by its connection; when that process dies the lock goes with it
and another takes over), so the global rate holds for the bot token; rows are still claimed with
FOR UPDATE SKIP LOCKED. On SQLite one process is assumed: an OS file lock next to the database refuses a
second sender on the same file.

``python -m parbot.bot.jobs`` runs the jobs alone (a sender process without handlers).
"""
from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta, timezone
from typing import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine
from telegram import Bot

from ..core.services import appraisal
from ..core.services.notifications import SweepReport, queue_due_notifications
from ..settings import Settings, get_settings
from ..storage.db import make_engine, upgrade
from ..storage.process_locks import SWEEP_LOCK, SenderAlreadyRunning, SenderLock, try_transaction_lock
from ..storage.uow import SqlUnitOfWork
from .deps import Deps
from .outbox_kinds import RENDERERS
from .sender import channel_senders
from .zalo.client import ZaloClient

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def sweep(engine: Engine, settings: Settings, now: datetime) -> SweepReport | None:
    """One sweep (reminders due, appraisal rounds past their deadline); None when another process holds the
    sweep lock (PostgreSQL)."""
    uow = SqlUnitOfWork(engine)
    with uow:
        if not try_transaction_lock(uow.session, SWEEP_LOCK):
            return None
        report = queue_due_notifications(uow, now, tz=settings.timezone,
                                         grace=timedelta(hours=settings.reminder_grace_hours))
        appraisal.close_due_rounds(uow, now=now)  # an appraisal round closes at its deadline, with its notices
        uow.commit()
    return report


class ReminderJobs:
    running: dict[str, "ReminderJobs"] = {}  # database URL -> the jobs this process runs on it

    def __init__(self, engine: Engine, bot: Bot | None, settings: Settings, *,
                 now: Callable[[], datetime] = utc_now, send_interval: float = 1.0,
                 zalo: ZaloClient | None = None) -> None:
        self.engine, self.settings, self.now = engine, settings, now
        self.send_interval = send_interval
        self.zalo = zalo if zalo is not None else zalo_client(settings)
        # one sender per channel
        self.senders = channel_senders(engine, settings, bot, self.zalo, renderers=RENDERERS, now=now)
        self.lock = SenderLock(engine)
        self.scheduler = AsyncIOScheduler(timezone=settings.timezone, job_defaults={
            "misfire_grace_time": max(30, settings.sweep_interval_seconds), "coalesce": True, "max_instances": 1})

    def start(self) -> None:
        """Refuses (SenderAlreadyRunning) when another process sends from the same SQLite file. Within a
        process, a new application on the same database replaces the jobs of the previous one."""
        url = self.engine.url.render_as_string(hide_password=False)
        previous = self.running.pop(url, None)
        if previous is not None:
            previous.shutdown()
        self.lock.acquire_sqlite()
        self.running[url] = self
        if self.engine.dialect.name == "sqlite":
            # we are the only sender: claims left are a dead process's
            released = sum(sender.recover() for sender in self.senders)
            if released:
                log.warning("released %d outbox rows claimed by a stopped sender", released)
        first = datetime.now(timezone.utc)
        self.scheduler.add_job(self.run_sweep, "interval", seconds=self.settings.sweep_interval_seconds,
                               id="reminder-sweep", next_run_time=first)
        self.scheduler.add_job(self.run_sender, "interval", seconds=self.send_interval, id="outbox-sender",
                               next_run_time=first)
        self.scheduler.start()

    async def run_sweep(self) -> None:
        try:
            report = await asyncio.to_thread(sweep, self.engine, self.settings, self.now())
        except Exception:  # noqa: BLE001 - logged; the next minute tries again
            log.exception("reminder sweep failed")
            return
        if report and (report.queued or report.skipped):
            log.info("reminder sweep: %d queued, %d skipped", report.queued, report.skipped)

    async def run_sender(self) -> None:
        try:
            if await asyncio.to_thread(self.lock.held):
                await asyncio.gather(*(sender.drain() for sender in self.senders))
        except asyncio.CancelledError:
            # The loop is closing (Ctrl-C, the sandbox stopped) mid-round: not a failure to report with a
            # traceback; the round's claims are released at the next start (SQLite) or when leases expire.
            log.info("outbox sender stopped mid-round")
        except Exception:  # noqa: BLE001 - logged; the next second tries again
            log.exception("outbox sender round failed")

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.lock.release()
        url = self.engine.url.render_as_string(hide_password=False)
        if self.running.get(url) is self:
            del self.running[url]


def zalo_client(settings: Settings) -> ZaloClient | None:
    """The Zalo sender's client when a Zalo token is set."""
    if settings.zalo_token is None:
        return None
    return ZaloClient(settings.zalo_token.get_secret_value(), api_base=settings.zalo_api_base,
                      proxy=settings.proxy_url)


def start_jobs(deps: Deps, bot: Bot | None) -> ReminderJobs:
    """The sweep and the senders of every channel with a token (``bot`` None: no Telegram)."""
    jobs = ReminderJobs(deps.engine, bot, deps.settings, now=deps.now)
    jobs.start()
    return jobs


async def stop_jobs(jobs: ReminderJobs) -> None:
    jobs.shutdown()
    if jobs.zalo is not None:
        await jobs.zalo.close()


async def start_reminders(application) -> None:  # noqa: ANN001 - telegram.ext.Application
    """post_init hook: needs ``application.bot_data["deps"]`` (parbot.bot.deps.Deps)."""
    application.bot_data["reminder_jobs"] = start_jobs(application.bot_data["deps"], application.bot)


async def stop_reminders(application) -> None:  # noqa: ANN001
    """post_shutdown hook."""
    jobs = application.bot_data.pop("reminder_jobs", None)
    if jobs is not None:
        await stop_jobs(jobs)


async def serve(settings: Settings) -> None:
    """The jobs without handlers, until killed."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    base = settings.telegram_api_base.rstrip("/")
    async with Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot") as bot:
        jobs = ReminderJobs(engine, bot, settings)
        jobs.start()
        try:
            await asyncio.Event().wait()
        finally:
            await stop_jobs(jobs)


if __name__ == "__main__":
    from telegram.error import InvalidToken

    from ..i18n import t
    from ..logsafe import configure

    configure(os.environ.get("PARBOT_LOG_LEVEL", "INFO"), get_settings())
    try:
        asyncio.run(serve(get_settings()))
    except SenderAlreadyRunning as exc:
        raise SystemExit(f"refused: {exc}") from None
    except InvalidToken:  # its message and traceback quote the token
        raise SystemExit(t("guard.token_rejected", get_settings().language,
                           api=get_settings().telegram_api_base)) from None
