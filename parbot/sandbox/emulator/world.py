"""The emulated Telegram world: users, chats, messages, files, updates, and the Bot API methods.

Everything runs on one asyncio loop; waiters (long-polling getUpdates, tests waiting for the bot)
are woken through per-chat version counters, so nothing here sleeps or polls.
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import math
import mimetypes
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

from parbot.sandbox.emulator import markup

MB = 1024 * 1024
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
PHOTO_LIMIT = 10 * MB
UPLOAD_LIMIT = 50 * MB
DOWNLOAD_LIMIT = 20 * MB
COMMAND_LIMIT = 100
BUTTON_LIMIT = 100
MARKUP_BYTES_LIMIT = 10 * 1024
CALLBACK_ANSWER_WINDOW = 15.0  # seconds Telegram waits for answerCallbackQuery
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
POLL_CONFLICT = ("Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
                 "running")
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
DEFAULT_TOKEN = "123456789:EMULATOR-test-token"


class ApiError(Exception):
    """A Bot API error answer: HTTP status ``code`` and Telegram's ``description``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


class SimError(Exception):
    """A simulated user tried something a real Telegram client cannot do."""


@dataclass(frozen=True)
class RateLimits:
    """Telegram's flood limits; a chat may burst a few messages before the per-second pace applies."""

    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    group_per_minute: float = 20.0


class _Bucket:
    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity, self.tokens, self.stamp = rate, capacity, capacity, now

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class RateLimiter:
    """Token buckets, one global and one per chat; counts what it let through and what it refused."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._global = _Bucket(limits.global_per_second, limits.global_per_second, clock())
        self._chats: dict[int, _Bucket] = {}
        self.accepted = 0
        self.refused = 0

    def check(self, chat_id: int, is_group: bool) -> None:
        now = self.clock()
        if chat_id not in self._chats:
            rate = self.limits.group_per_minute / 60 if is_group else self.limits.per_chat_per_second
            self._chats[chat_id] = _Bucket(rate, self.limits.per_chat_burst, now)
        buckets = (self._global, self._chats[chat_id])
        wait = max(b.wait(now) for b in buckets)
        if wait > 0:
            self.refused += 1
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        for bucket in buckets:
            bucket.tokens -= 1
        self.accepted += 1


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "photo" or "document"
    data: bytes
    file_size: int
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    def to_api(self) -> dict:
        base = {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": self.file_size}
        if self.kind == "photo":
            return base | {"width": self.width, "height": self.height}
        return base | {k: v for k, v in (("file_name", self.file_name), ("mime_type", self.mime_type)) if v}


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "vi"
    blocked: bool = False  # the user blocked the bot
    started: bool = False  # the user ever wrote to the bot

    def to_api(self) -> dict:
        data = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data


class Chat:
    def __init__(self, chat_id: int, kind: str, *, title: str | None = None, user: User | None = None) -> None:
        self.id = chat_id
        self.type = kind
        self.title = title
        self.user = user  # the other party of a private chat
        self.members: set[int] = {user.id} if user else set()
        self.messages: dict[int, Message] = {}
        self.events: list[dict] = []
        self.version = 0
        self.bot_sent = 0
        self._next_message_id = 1
        self._changed = asyncio.Event()

    @property
    def is_group(self) -> bool:
        return self.type != "private"

    def to_api(self) -> dict:
        if self.is_group:
            return {"id": self.id, "type": self.type, "title": self.title}
        return {"id": self.id, "type": "private"} | {
            k: v for k, v in self.user.to_api().items() if k in ("first_name", "last_name", "username")}

    def next_message_id(self) -> int:
        self._next_message_id += 1
        return self._next_message_id - 1

    def wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def bump(self, event: dict) -> int:
        self.version += 1
        event["version"] = self.version
        self.events.append(event)
        self.wake()
        return self.version

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed  # taken before the check: no await in between, so no lost wake-up
                if predicate():
                    return
                await changed.wait()


@dataclass
class Message:
    chat: Chat
    message_id: int
    date: int
    sender: User | None  # None: the bot
    text: str | None = None
    entities: list[dict] = field(default_factory=list)
    caption: str | None = None
    photo: StoredFile | None = None
    document: StoredFile | None = None
    reply_markup: dict | None = None
    edit_date: int | None = None
    media_group_id: str | None = None
    version: int = 0

    @property
    def from_bot(self) -> bool:
        return self.sender is None

    @property
    def edited(self) -> bool:
        return self.edit_date is not None

    @property
    def inline_keyboard(self) -> list[list[dict]]:
        return (self.reply_markup or {}).get("inline_keyboard", [])

    @property
    def button_texts(self) -> list[list[str]]:
        return [[b["text"] for b in row] for row in self.inline_keyboard]

    def find_button(self, *, text: str | None = None, callback_data: str | None = None) -> dict | None:
        for row in self.inline_keyboard:
            for button in row:
                if (text is None or button["text"] == text) and (
                        callback_data is None or button.get("callback_data") == callback_data):
                    return button
        return None

    def view(self) -> dict:
        """The message as the user sees it, for the simulated-user API and the web chat."""
        data: dict[str, Any] = {
            "message_id": self.message_id, "sender": "bot" if self.from_bot else "user",
            "from_id": None if self.from_bot else self.sender.id, "date": self.date, "text": self.text,
            "caption": self.caption, "entities": self.entities, "buttons": self.inline_keyboard,
            "edited": self.edited, "version": self.version,
        }
        for kind in ("photo", "document"):
            stored = getattr(self, kind)
            data[kind] = stored.to_api() if stored else None
        return data


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    created: float = 0.0  # the emulator's clock when the user pressed


@dataclass
class Hold:
    """The next call of one Bot API method waits, unapplied, until released: a test kills the bot while its
    request is held (``held`` is set then), so what happens at that moment needs no timing premise."""

    method: str
    held: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    params: Params | None = None

    def release(self) -> None:
        self.released.set()


class Params:
    """Bot API parameters from a form (strings; PTB JSON-encodes every non-string) or a JSON body."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def str(self, name: str, *, required: bool = False) -> str | None:
        value = self.raw.get(name)
        if value in (None, ""):
            if required:
                raise bad_request(f"{name} is empty")
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def int(self, name: str, *, required: bool = False, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            if required:
                raise bad_request(f"{name} is empty")
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def bool(self, name: str) -> bool:
        value = self.raw.get(name)
        return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))

    def json(self, name: str) -> Any:
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None


Upload = tuple[str, bytes, str | None]  # file name, content, MIME type


def _check_inline_keyboard(markup_: dict | None) -> None:
    rows = (markup_ or {}).get("inline_keyboard", [])
    if sum(len(row) for row in rows) > BUTTON_LIMIT or \
            len(json.dumps(markup_, ensure_ascii=False, separators=(",", ":")).encode()) > MARKUP_BYTES_LIMIT:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise bad_request("BUTTON_DATA_INVALID")
            if not any(k in button for k in ("callback_data", "url", "switch_inline_query", "login_url",
                                              "switch_inline_query_current_chat", "web_app", "pay",
                                              "callback_game", "copy_text")):
                raise bad_request("text buttons are unallowed in the inline keyboard")


class Emulator:
    """One bot (identified by ``token``) and the Telegram users around it."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_username: str = "parbot_emulator_bot",
                 rate_limits: RateLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot = {"id": int(head) if head.isdigit() else 1, "is_bot": True, "first_name": "ParBot",
                    "username": bot_username, "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        self.clock = clock
        self.limiter = RateLimiter(rate_limits, clock) if rate_limits else None
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.method_calls: Counter[str] = Counter()
        self.webhook_url = ""
        self._updates: list[dict] = []
        self.confirmed_offset = 0  # the highest getUpdates offset: updates below it are confirmed and gone
        self._holds: dict[str, Hold] = {}
        self.updates_per_chat: Counter[int] = Counter()  # what a test waits for the bot to have handled
        self._allowed_updates: list[str] | None = None
        self._next_update_id = 100_000_001
        self._updates_changed = asyncio.Event()
        self._poller: asyncio.Event | None = None  # set to end the waiting getUpdates with 409
        self.conflicts = 0
        self._ids = itertools.count(1)
        self.closed = False
        self._methods: dict[str, Callable[[Params, dict[str, Upload]], Any]] = {
            name.lower(): getattr(self, f"_m_{name}") for name in (
                "getMe", "logOut", "close", "deleteWebhook", "setWebhook", "getWebhookInfo", "getUpdates",
                "setMyCommands", "getMyCommands", "deleteMyCommands", "sendMessage", "editMessageText",
                "editMessageCaption", "editMessageReplyMarkup", "deleteMessage", "answerCallbackQuery",
                "sendPhoto", "sendDocument", "getFile", "sendChatAction", "getChat")}

    # ---- the world, for the simulated side -------------------------------------------------------

    def add_user(self, user: User) -> Chat:
        if user.id in self.users:
            raise SimError(f"user {user.id} exists")
        self.users[user.id] = user
        chat = Chat(user.id, "private", user=user)
        self.chats[user.id] = chat
        return chat

    def create_group(self, title: str, member_ids: list[int], *, chat_id: int | None = None) -> Chat:
        """A basic group with the bot in it; the bot learns it was added, as from Telegram."""
        chat_id = chat_id if chat_id is not None else -4_000_000_000 - next(self._ids)
        if chat_id >= 0 or chat_id in self.chats:
            raise SimError(f"invalid or taken group id {chat_id}")
        unknown = [m for m in member_ids if m not in self.users]
        if not member_ids or unknown:
            raise SimError(f"a group needs known members, unknown: {unknown}")
        group = Chat(chat_id, "group", title=title)
        group.members.update(member_ids)
        self.chats[chat_id] = group
        self.chat_member_update(group, self.users[member_ids[0]], "left", "member")
        return group

    def chat_member_update(self, chat: Chat, by: User, old: str, new: str) -> None:
        def member(status: str) -> dict:
            return {"user": self.bot, "status": status} | ({"until_date": 0} if status == "kicked" else {})
        self.push_update("my_chat_member", {"chat": chat.to_api(), "from": by.to_api(), "date": self.now(),
                                            "old_chat_member": member(old), "new_chat_member": member(new)})

    def now(self) -> int:
        return int(time.time())

    def _new_file_ids(self, kind: str, data: bytes, declared_size: int | None) -> tuple[str, str]:
        n = next(self._ids)
        unique = "AgAD" + hashlib.sha256(data + str(declared_size).encode()).hexdigest()[:16]
        return f"{'AgAC' if kind == 'photo' else 'BQAC'}{n:08d}{unique}", unique

    def store_file(self, kind: str, upload: Upload, *, declared_size: int | None = None) -> StoredFile:
        """Keep uploaded bytes; ``declared_size`` fakes a bigger file without allocating it."""
        name, data, mime = upload
        if declared_size is not None and declared_size < len(data):
            raise SimError("declared size is smaller than the content")
        size = declared_size if declared_size is not None else len(data)
        file_id, unique = self._new_file_ids(kind, data, declared_size)
        mime = mime or mimetypes.guess_type(name)[0]
        width = height = None
        if kind == "photo":
            width, height = _image_size(data)
        ext = mimetypes.guess_extension(mime or "") or ".bin"
        path = f"{kind}s/file_{len(self.files)}{'.jpg' if kind == 'photo' else ext}"
        stored = StoredFile(file_id, unique, kind, data, size, path,
                            file_name=name if kind == "document" else None,
                            mime_type=mime if kind == "document" else None, width=width, height=height)
        self.files[file_id] = stored
        self.files_by_path[path] = stored
        return stored

    def post_user_message(self, user: User, chat: Chat, **content: Any) -> Message:
        if user.blocked and not chat.is_group:
            raise SimError("the user has blocked the bot; unblock first")
        user.started = True
        msg = Message(chat, chat.next_message_id(), self.now(), user, **content)
        chat.messages[msg.message_id] = msg
        msg.version = chat.bump({"type": "message", "message": msg.view()})
        self.push_update("message", self.message_json(msg))
        return msg

    def edit_user_message(self, user: User, msg: Message, text: str) -> Message:
        """The user edits what they typed; the bot gets ``edited_message`` (the same message id)."""
        if msg.sender is not user or msg.text is None:
            raise SimError("a user can edit only their own text messages")
        if not text or text == msg.text:
            raise SimError("an edit must change the text")
        msg.text = text
        msg.entities = markup.command_entities(text)
        msg.edit_date = self.now()
        msg.version = msg.chat.bump({"type": "edit", "message": msg.view()})
        self.push_update("edited_message", self.message_json(msg))
        return msg

    def post_album(self, user: User, chat: Chat, photos: list[StoredFile], caption: str | None) -> list[Message]:
        """Photos sent together: one message each, one ``media_group_id``, the caption on the first."""
        if not 2 <= len(photos) <= 10:
            raise SimError("an album holds 2 to 10 items")
        group = str(13_000_000_000_000_000 + next(self._ids))
        return [self.post_user_message(user, chat, photo=photo, caption=caption if n == 0 else None,
                                       media_group_id=group) for n, photo in enumerate(photos)]

    def post_callback(self, user: User, msg: Message, data: str) -> CallbackQuery:
        query = CallbackQuery(str(next(self._ids) * 7_919 + 4_000_000_000_000), user.id, msg.chat.id,
                              msg.message_id, data, created=self.clock())
        self.callback_queries[query.id] = query
        self.push_update("callback_query", {
            "id": query.id, "from": user.to_api(), "message": self.message_json(msg),
            "chat_instance": str(abs(hash((self.bot["id"], msg.chat.id))) % 10**18), "data": data})
        return query

    def push_update(self, kind: str, payload: dict) -> None:
        chat = (payload.get("message") or payload).get("chat") or {}
        if "id" in chat:
            self.updates_per_chat[chat["id"]] += 1
        self._updates.append({"update_id": self._next_update_id, kind: payload})
        self._next_update_id += 1
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def close(self) -> None:
        """Release long-polling requests so a server can stop at once."""
        self.closed = True
        self._updates_changed.set()
        for chat in self.chats.values():
            chat.wake()

    def message_json(self, msg: Message) -> dict:
        data: dict[str, Any] = {"message_id": msg.message_id, "date": msg.date, "chat": msg.chat.to_api(),
                                "from": self.bot if msg.from_bot else msg.sender.to_api()}
        if msg.text is not None:
            data["text"] = msg.text
        if msg.caption is not None:
            data["caption"] = msg.caption
        if msg.entities:
            data["caption_entities" if msg.caption is not None else "entities"] = msg.entities
        if msg.photo:
            data["photo"] = [msg.photo.to_api()]
        if msg.document:
            data["document"] = msg.document.to_api()
        if msg.inline_keyboard:
            data["reply_markup"] = {"inline_keyboard": msg.inline_keyboard}
        if msg.edit_date:
            data["edit_date"] = msg.edit_date
        if msg.media_group_id:
            data["media_group_id"] = msg.media_group_id
        return data

    def visible_commands(self, chat_id: int, language_code: str = "") -> list[dict]:
        """The command menu a chat shows, resolved through scopes as Telegram documents it."""
        chat = self._chat(chat_id)
        kinds = ["all_group_chats"] if chat.is_group else ["all_private_chats"]
        scopes = [{"type": "chat", "chat_id": chat_id}] + [{"type": k} for k in kinds + ["default"]]
        for scope in scopes:
            for lang in dict.fromkeys((language_code, "")):
                if (found := self.commands.get((_scope_key(scope), lang))) is not None:
                    return found
        return []

    # ---- the Bot API ---------------------------------------------------------------------------

    def hold(self, method: str) -> Hold:
        """Hold the next call of ``method`` (see :class:`Hold`)."""
        hold = self._holds[method.lower()] = Hold(method)
        return hold

    async def call(self, method: str, params: Params, uploads: dict[str, Upload]) -> Any:
        handler = self._methods.get(method.lower())
        self.method_calls[method] += 1
        if handler is None:
            raise ApiError(400, "Bad Request: method not found")
        if (hold := self._holds.pop(method.lower(), None)) is not None:
            hold.params = params
            hold.held.set()
            await hold.released.wait()
            raise ApiError(500, "Internal Server Error")  # never applied: its caller is gone
        result = handler(params, uploads)
        return await result if asyncio.iscoroutine(result) else result

    def _chat(self, chat_id: int | str | None) -> Chat:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = next((c for c in self.chats.values() if c.user and c.user.username == chat_id[1:]), None)
        else:
            try:
                chat = self.chats.get(int(chat_id))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _target_chat(self, p: Params) -> Chat:
        chat = self._chat(p.str("chat_id", required=True))
        if not chat.is_group:
            if chat.user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _limit(self, chat: Chat) -> None:
        if self.limiter:
            self.limiter.check(chat.id, chat.is_group)

    def _formatted(self, p: Params, key: str, limit: int) -> tuple[str, list[dict]]:
        raw = p.str(key) or ""
        if p.has("parse_mode"):
            try:
                text, entities = markup.parse(raw, p.str("parse_mode"))
            except markup.EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        else:
            text, entities = raw, p.json(f"{'caption_' if key == 'caption' else ''}entities") or []
        if len(text) > limit:
            raise bad_request("message is too long" if key == "text" else "message caption is too long")
        return text, entities

    def _reply_markup(self, p: Params) -> dict | None:
        value = p.json("reply_markup")
        _check_inline_keyboard(value)
        return value

    def _deliver(self, chat: Chat, msg: Message) -> dict:
        chat.messages[msg.message_id] = msg
        chat.bot_sent += 1
        msg.version = chat.bump({"type": "message", "message": msg.view()})
        return self.message_json(msg)

    def _m_getMe(self, p: Params, u: dict) -> dict:
        return self.bot

    def _m_logOut(self, p: Params, u: dict) -> bool:
        return True

    _m_close = _m_logOut

    def _m_deleteWebhook(self, p: Params, u: dict) -> bool:
        self.webhook_url = ""
        if p.bool("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_setWebhook(self, p: Params, u: dict) -> bool:
        self.webhook_url = p.str("url") or ""
        return True

    def _m_getWebhookInfo(self, p: Params, u: dict) -> dict:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    async def _m_getUpdates(self, p: Params, u: dict) -> list[dict]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = p.int("offset", default=0)
        limit = min(max(p.int("limit", default=100), 1), 100)
        if p.has("allowed_updates"):
            self._allowed_updates = p.json("allowed_updates") or None
        if offset > 0:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self._updates = [x for x in self._updates if x["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if self._allowed_updates is not None:  # Telegram drops what the bot did not ask for
            self._updates = [x for x in self._updates if next(k for k in x if k != "update_id")
                             in self._allowed_updates]
        if self._poller is not None:  # Telegram ends the earlier request, as for two bot instances
            self._poller.set()
        mine = self._poller = asyncio.Event()
        try:
            if not self._updates and not self.closed:
                changed = asyncio.ensure_future(self._updates_changed.wait())
                ended = asyncio.ensure_future(mine.wait())
                try:
                    await asyncio.wait((changed, ended), timeout=max(p.int("timeout", default=0), 0),
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    changed.cancel()
                    ended.cancel()
            if mine.is_set():
                self.conflicts += 1
                raise ApiError(409, POLL_CONFLICT)
            return self._updates[:limit]
        finally:
            if self._poller is mine:
                self._poller = None

    def _m_setMyCommands(self, p: Params, u: dict) -> bool:
        commands = p.json("commands")
        if not isinstance(commands, list) or len(commands) > COMMAND_LIMIT:
            raise bad_request("BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else "commands is empty")
        for c in commands:
            name, description = c.get("command", ""), c.get("description", "")
            if not (1 <= len(name) <= 32 and all(ch.islower() or ch.isdigit() or ch == "_" for ch in name)
                    and name.isascii()):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(p)] = [{"command": c["command"], "description": c["description"]}
                                                for c in commands]
        return True

    def _m_getMyCommands(self, p: Params, u: dict) -> list[dict]:
        return self.commands.get(self._commands_key(p), [])

    def _m_deleteMyCommands(self, p: Params, u: dict) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    def _commands_key(self, p: Params) -> tuple[str, str]:
        return _scope_key(p.json("scope") or {"type": "default"}), p.str("language_code") or ""

    def _m_sendMessage(self, p: Params, u: dict) -> dict:
        text, entities = self._formatted(p, "text", TEXT_LIMIT)
        if not text.strip():
            raise bad_request("message text is empty")
        reply_markup = self._reply_markup(p)
        chat = self._target_chat(p)
        self._limit(chat)
        msg = Message(chat, chat.next_message_id(), self.now(), None, text=text, entities=entities,
                      reply_markup=reply_markup)
        return self._deliver(chat, msg)

    def _send_file(self, p: Params, uploads: dict[str, Upload], kind: str) -> dict:
        caption, entities = self._formatted(p, "caption", CAPTION_LIMIT)
        reply_markup = self._reply_markup(p)
        stored = self._resolve_file(p, uploads, kind)
        chat = self._target_chat(p)
        self._limit(chat)
        msg = Message(chat, chat.next_message_id(), self.now(), None, caption=caption or None,
                      entities=entities if caption else [], reply_markup=reply_markup, **{kind: stored})
        return self._deliver(chat, msg)

    def _resolve_file(self, p: Params, uploads: dict[str, Upload], kind: str) -> StoredFile:
        if kind in uploads:
            name, data, mime = uploads[kind]
            if len(data) > (PHOTO_LIMIT if kind == "photo" else UPLOAD_LIMIT):
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo":
                width, height = _image_size(data)
                if width + height > 10_000 or max(width, height) > 20 * min(width, height):
                    raise bad_request("PHOTO_INVALID_DIMENSIONS")
            return self.store_file(kind, (name, data, mime))
        ref = p.str(kind)
        if ref is None:
            raise bad_request(f"there is no {kind} in the request")
        if ref.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")  # the emulator has no internet
        stored = self.files.get(ref)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return stored

    def _m_sendPhoto(self, p: Params, u: dict[str, Upload]) -> dict:
        return self._send_file(p, u, "photo")

    def _m_sendDocument(self, p: Params, u: dict[str, Upload]) -> dict:
        return self._send_file(p, u, "document")

    def _editable(self, p: Params) -> Message:
        if p.has("inline_message_id"):
            raise bad_request("inline messages are not emulated")
        chat = self._chat(p.str("chat_id", required=True))
        msg = chat.messages.get(p.int("message_id", required=True))
        if msg is None:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _apply_edit(self, msg: Message, changes: dict) -> dict | bool:
        if all(getattr(msg, k) == v for k, v in changes.items()):
            raise bad_request(NOT_MODIFIED)
        self._limit(msg.chat)
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edit_date = self.now()
        msg.version = msg.chat.bump({"type": "edit", "message": msg.view()})
        return self.message_json(msg)

    def _m_editMessageText(self, p: Params, u: dict) -> dict | bool:
        msg = self._editable(p)
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(p, "text", TEXT_LIMIT)
        if not text.strip():
            raise bad_request("message text is empty")
        # Telegram keeps only inline keyboards on messages; a missing reply_markup removes it.
        return self._apply_edit(msg, {"text": text, "entities": entities, "reply_markup": self._reply_markup(p)})

    def _m_editMessageCaption(self, p: Params, u: dict) -> dict | bool:
        msg = self._editable(p)
        if msg.photo is None and msg.document is None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._formatted(p, "caption", CAPTION_LIMIT)
        return self._apply_edit(msg, {"caption": caption or None, "entities": entities if caption else [],
                                      "reply_markup": self._reply_markup(p)})

    def _m_editMessageReplyMarkup(self, p: Params, u: dict) -> dict | bool:
        msg = self._editable(p)
        return self._apply_edit(msg, {"reply_markup": self._reply_markup(p)})

    def _m_deleteMessage(self, p: Params, u: dict) -> bool:
        chat = self._chat(p.str("chat_id", required=True))
        message_id = p.int("message_id", required=True)
        if chat.messages.pop(message_id, None) is None:
            raise bad_request("message to delete not found")
        chat.bump({"type": "delete", "message_id": message_id})
        return True

    def _m_answerCallbackQuery(self, p: Params, u: dict) -> bool:
        query = self.callback_queries.get(p.str("callback_query_id", required=True) or "")
        if query is None or query.answered or self.clock() - query.created > CALLBACK_ANSWER_WINDOW:
            raise bad_request(QUERY_TOO_OLD)
        text = p.str("text")
        if text and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered, query.text, query.show_alert, query.url = True, text, p.bool("show_alert"), p.str("url")
        self.chats[query.chat_id].bump({"type": "callback_answer", "callback_query_id": query.id, "text": text,
                                        "show_alert": query.show_alert})
        return True

    def _m_getFile(self, p: Params, u: dict) -> dict:
        stored = self.files.get(p.str("file_id", required=True) or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size, "file_path": stored.file_path}

    def _m_sendChatAction(self, p: Params, u: dict) -> bool:
        chat = self._target_chat(p)
        chat.bump({"type": "chat_action", "action": p.str("action", required=True)})
        return True

    def _m_getChat(self, p: Params, u: dict) -> dict:
        return self._chat(p.str("chat_id", required=True)).to_api() | {"accent_color_id": 0, "max_reaction_count": 11}


def _scope_key(scope: dict) -> str:
    return json.dumps(scope, sort_keys=True)


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        raise bad_request("IMAGE_PROCESS_FAILED") from None
