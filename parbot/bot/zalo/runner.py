"""The Zalo channel: updates from getUpdates (or the webhook) become conversation events, the engine runs
the turn in a worker thread, and its Screens go back as texts (render.py).

- ``message.text.received``: the engine's commands ("/assess", "/status", …) and "/ranking", "/result"
  (report_replies, charts sent as signed /l/chart/ URLs the platform fetches) are commands; "/start CODE",
  or a code typed by someone the bot does not know yet, accepts the invitation (the Zalo account is linked
  through channel_account); a typed number or word of the options on view is their Press; anything else is
  typed text.
- ``message.image.received``: the photo (fetched from its URL) is an Upload, evidence for the item on view.
- Where a screen waits for a file, its signed upload link (the engine's, parbot/bot/web serves the page)
  takes the documents Zalo cannot carry.
Each chat's updates are handled one after another; different chats at once.
"""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

from ...core.conversation import engine
from ...core.conversation.events import Command, Event, Sender, Text, Upload
from ...core.conversation.screen import Reply
from ...core.errors import DomainError
from ...core.permissions import Caller
from ...core.ports import UnitOfWork
from ...core.links import ACCOUNT_CODE
from ...core.services import assessment, channels, people
from ...core.services.people import CODE_ALPHABET, CODE_LENGTH, Identity
from ...i18n import error_text, t
from .. import report_replies
from ..deps import Deps
from ..web.app import ChartLinks
from .client import POLL_TIMEOUT, TEXT_LIMIT, ZaloClient, ZaloError
from .render import Rendered, press_of, render_reply, split

log = logging.getLogger("parbot.zalo")

CHANNEL = "zalo"
CODE = re.compile(rf"^[{re.escape(CODE_ALPHABET)}]{{{CODE_LENGTH}}}$")
BACKOFF_START, BACKOFF_CEILING = 1.0, 60.0
COMMANDS = (*engine.COMMANDS, *report_replies.COMMANDS)  # typed on Zalo; "/start" besides


@dataclass(frozen=True)
class Photo:
    """A chart sent by URL (sendPhoto): the platform fetches it from parbot's /l/chart/ page."""
    url: str
    caption: str | None


Answer = tuple[str | Photo, ...]


class _Chat:
    """A chat's updates in flight: handled one after another (the lock), forgotten when none is left."""

    def __init__(self) -> None:
        self.lock, self.users = asyncio.Lock(), 0


class ZaloBot:
    def __init__(self, deps: Deps, client: ZaloClient, charts: ChartLinks | None = None) -> None:
        self.deps, self.client = deps, client
        self.charts = charts  # None: no PARBOT_PUBLIC_URL, charts' captions go as text
        self._chats: dict[str, _Chat] = {}
        self._tasks: set[asyncio.Task] = set()
        self.pause = asyncio.sleep  # between failed polls (tests count the pauses)

    # -- one update -----------------------------------------------------------------------------------

    async def handle_zalo_update(self, update: dict) -> None:
        """Handle one update (a parsed getUpdates result or webhook body) and send the answer; returns once
        the turn is committed and its texts sent. The webhook server awaits this."""
        message = update.get("message") or {}
        chat_id = str((message.get("chat") or {}).get("id") or "")
        sender_id = str((message.get("from") or {}).get("id") or "")
        if not chat_id or not sender_id or (message.get("chat") or {}).get("chat_type", "PRIVATE") != "PRIVATE":
            log.info("update %s ignored: not a private chat message", message.get("message_id"))
            return
        chat = self._chats.setdefault(chat_id, _Chat())
        chat.users += 1
        try:
            async with chat.lock:
                await self._handle(update, message, chat_id, sender_id)
        finally:
            chat.users -= 1
            if not chat.users:  # the last update of the chat in flight: forget its lock
                del self._chats[chat_id]

    async def _handle(self, update: dict, message: dict, chat_id: str, sender_id: str) -> None:
        try:
            texts = await self._answer(update, message, chat_id, sender_id)
        except Exception as exc:  # noqa: BLE001 - the person hears of it; the log has the cause
            log.error("zalo update %s failed: %s", message.get("message_id"), type(exc).__name__, exc_info=exc)
            texts = (t("error.unexpected", self.deps.settings.language),)
        for text in texts:
            try:
                if isinstance(text, Photo):
                    await self.client.send_photo(chat_id, text.url, text.caption)
                else:
                    await self.client.send_message(chat_id, text)
            except ZaloError as exc:
                log.warning("zalo send to a chat failed: %s", exc)
                break

    async def _answer(self, update: dict, message: dict, chat_id: str, sender_id: str) -> Answer:
        sender = Sender(channel=CHANNEL, account_id=sender_id, chat_id=chat_id, language=None, private=True,
                        name=str((message.get("from") or {}).get("display_name") or ""))
        name = update.get("event_name")
        if name == "message.text.received":
            text = str(message.get("text") or "").strip()
            return await asyncio.to_thread(self._text_turn, sender, text)
        if name == "message.image.received":
            upload = await self._fetch_photo(message)
            if upload is None:
                return (t("zalo.image_not_fetched", self.deps.settings.language),)
            return await asyncio.to_thread(self._turn, sender, upload)
        return (t("zalo.unsupported", self.deps.settings.language),)

    async def _fetch_photo(self, message: dict) -> Upload | None:
        """The photo as an Upload; None when it could not be fetched."""
        url = str(message.get("photo_url") or message.get("photo") or "")
        try:
            mime, data = await self.client.fetch(url, limit=assessment.DOWNLOAD_LIMIT)
        except ZaloError as exc:
            log.warning("zalo photo not fetched: %s", exc)
            return None
        if data is None:  # over the limit: the flow says how big it may be
            return Upload(file_name=None, size=assessment.DOWNLOAD_LIMIT + 1, mime=mime, data=None)
        extension = {"image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(mime or "", "jpg")
        return Upload(file_name=f"zalo-{message.get('message_id', 'anh')}.{extension}", size=len(data), mime=mime,
                      data=data)

    # -- in the worker thread -------------------------------------------------------------------------

    def _text_turn(self, sender: Sender, text: str) -> Answer:
        """A typed text in one unit of work, the engine's turn, unless it is a command answered outside the
        engine (/start, /ranking, /result) or looks like a code someone without a role is accepting."""
        words = text.split()
        if words and words[0].startswith("/"):
            command, args = words[0][1:].lower(), words[1:]
            if command in engine.COMMANDS:
                return self._turn(sender, Command(command, tuple(args)))
            if command in report_replies.COMMANDS:
                return self._report(sender, command, args)
            identity = self._identity(sender)
            lang = identity.language or self.deps.settings.language
            if command == "start":
                return self._accept(sender, args[0], lang) if args else self._start(identity, sender, lang)
            return (t("zalo.unknown_command", lang, name=command, commands=", ".join(f"/{c}" for c in COMMANDS)),)
        if CODE.match(text) or ACCOUNT_CODE.match(text):
            identity = self._identity(sender)
            if not identity.grants:
                return self._accept(sender, text, identity.language or self.deps.settings.language)
        return self._turn(sender, text)

    def _identity(self, sender: Sender) -> Identity:
        return people.identify_account(self.deps.uow(), CHANNEL, sender.account_id)

    def _report(self, sender: Sender, command: str, args: list[str]) -> Answer:
        """/ranking or /result, for members as on Telegram, in one unit of work with the account's lookup;
        each chart is stored and sent by a signed URL naming the person (without PARBOT_PUBLIC_URL its caption
        goes as text)."""
        deps = self.deps
        with (uow := deps.uow()):
            identity = people.identify_account(uow, CHANNEL, sender.account_id)
            lang = identity.language or deps.settings.language
            person_id = identity.person.id if identity.grants and identity.person else None
            messages = [] if person_id is None else report_replies.COMMANDS[command](
                uow, caller=Caller.person(person_id, identity.grants), args=args, lang=lang,
                tz=deps.settings.timezone, limit=TEXT_LIMIT)
            uow.commit()  # the account marked reachable, if it was not
        if person_id is None:
            return (t("onboarding.no_role", lang, contact=deps.settings.admin_contact),)
        answer: list[str | Photo] = []
        for message in messages:
            if not isinstance(message, report_replies.Charts):
                answer += split([message])
            elif self.charts is None:
                answer.append(message.caption)
            else:
                answer += [Photo(self.charts.url(person_id, message.scope, png, deps.now()),
                                 message.caption if n == 0 else None) for n, png in enumerate(message.draw())]
        return tuple(answer)

    def _start(self, identity: Identity, sender: Sender, lang: str) -> tuple[str, ...]:
        if not identity.grants:
            return (t("zalo.welcome_start", lang, contact=self.deps.settings.admin_contact),)
        return self._turn(sender, Command("assess"))

    def _accept(self, sender: Sender, code: str, lang: str) -> tuple[str, ...]:
        deps = self.deps
        if ACCOUNT_CODE.match(code):
            return self._link(sender, code, lang)
        try:
            person, _, added = people.accept_invite_account(
                deps.uow(), code, channel=CHANNEL, account_id=sender.account_id, chat_id=sender.chat_id,
                name=sender.name, language=lang, now=deps.now())
        except DomainError as error:
            if error.code.startswith("invite."):
                return (t(f"onboarding.{error.code}", lang, contact=deps.settings.admin_contact),)
            return (error_text(error, lang, deps.settings.timezone),)
        identity = people.identify_account(deps.uow(), CHANNEL, sender.account_id)
        lang = person.language
        roles = "\n".join("• " + t(f"role.{g.role.value}", lang, unit=g.unit_code or "", block=g.block or "")
                          for g in identity.grants)
        welcome = t("onboarding.welcome" if added else "onboarding.welcome_back", lang, name=person.name,
                    roles=roles)
        return (welcome, *self._turn(sender, Command("assess")))

    def _link(self, sender: Sender, code: str, lang: str) -> tuple[str, ...]:
        """An account code from the person's other channel (/kenh there): this Zalo account becomes theirs."""
        deps = self.deps
        try:
            person, added = channels.link_account(deps.uow(), code, channel=CHANNEL, account_id=sender.account_id,
                                                  chat_id=sender.chat_id, name=sender.name, key=deps.link_secret(),
                                                  now=deps.now())
        except DomainError as error:
            return (error_text(error, lang, deps.settings.timezone),)
        linked = t("channel.linked" if added else "channel.linked_already", person.language, name=person.name,
                   channel="Zalo")
        return (linked, *self._turn(sender, Command("kenh")))

    def _turn(self, sender: Sender, event: Event | str) -> tuple[str, ...]:
        """The ONE engine call of an update, in one unit of work, then the texts of its Reply. A typed text
        (``str``) is read there: the option its number or word stands for among those on view, else typed
        text. The options now on view are stored in the same transaction unless they are those on view before
        (a reply without options leaves them: the earlier screen's options still work, as old buttons do). No
        message id goes with it: the chat state is the person's, shared with Telegram, whose small message ids
        would look older than any Zalo one; a repeated webhook delivery is the webhook server's to drop."""
        on_view: list[dict[str, str]] = []  # the options on view before, once read
        rendered: list[Rendered] = []

        def typed(uow: UnitOfWork) -> Event:
            on_view[:] = [uow.channel_choices.get(CHANNEL, sender.chat_id)]
            return press_of(on_view[0], event) or Text(event)

        def shown(uow: UnitOfWork, reply: Reply, lang: str) -> None:
            rendered[:] = [render_reply(reply, lang)]
            choices = rendered[0].choices
            if choices and choices != (on_view[0] if on_view else uow.channel_choices.get(CHANNEL, sender.chat_id)):
                uow.channel_choices.put(CHANNEL, sender.chat_id, choices)
        engine.handle(self.deps.uow(), sender, typed if isinstance(event, str) else event, env=self.deps.env(),
                      shown=shown)
        return rendered[0].texts

    # -- polling --------------------------------------------------------------------------------------

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until ``stop`` is set; an unreachable or failing platform is retried with a
        growing pause (1 s doubling to 60 s). Each update is handled in its own task (a chat's in order)."""
        delay = BACKOFF_START
        while not stop.is_set():
            try:
                update = await _until(stop, self.client.get_update(timeout=POLL_TIMEOUT))
            except ZaloError as exc:
                log.warning("zalo getUpdates failed (%s); again in %.0f s", exc, delay)
                await _until(stop, self.pause(delay))
                delay = min(delay * 2, BACKOFF_CEILING)
                continue
            delay = BACKOFF_START
            if update:
                task = asyncio.create_task(self.handle_zalo_update(update))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def _until(stop: asyncio.Event, work: Any) -> Any:
    """``work``'s result, or None as soon as ``stop`` is set (the work is cancelled)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task in done:
        return task.result()
    task.cancel()
    return None


def build_zalo_bot(deps: Deps) -> ZaloBot:
    settings = deps.settings
    if settings.zalo_token is None:
        raise SystemExit("PARBOT_ZALO_BOT_TOKEN is not set")
    client = ZaloClient(settings.zalo_token.get_secret_value(), api_base=settings.zalo_api_base,
                        proxy=settings.proxy_url)
    return ZaloBot(deps, client, ChartLinks.of(settings))


class ZaloRunner:
    """The Zalo bot in the event loop of `parbot bot run` (parbot.bot.app.serve): ``start`` polls; behind
    the webhook server its ``bot.handle_zalo_update`` takes what the platform posts to /zalo instead."""

    def __init__(self, deps: Deps) -> None:
        self.bot = build_zalo_bot(deps)
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        log.info("polling Zalo at %s", self.bot.deps.settings.zalo_api_base)
        self._task = asyncio.create_task(self.bot.poll(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.bot.client.close()
