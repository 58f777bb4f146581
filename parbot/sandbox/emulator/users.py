"""A simulated Telegram user: what a person can do in a client, and what they can see."""
from __future__ import annotations

from collections.abc import Callable

from parbot.sandbox.emulator import markup
from parbot.sandbox.emulator.world import CallbackQuery, Chat, Emulator, Message, SimError, User


class SimUser:
    """Acts in the user's private chat with the bot (or in a group they belong to, via ``chat=``).

    ``wait_for_reply`` returns the bot's messages sent or edited since the user's last action, so a
    test reads exactly what the bot did in answer, without sleeps.
    """

    def __init__(self, emulator: Emulator, user: User) -> None:
        self.emulator = emulator
        self.user = user
        self.chat: Chat = emulator.chats[user.id]
        self._marks: dict[int, int] = {}  # chat id → chat version at the last action or wait

    @classmethod
    def create(cls, emulator: Emulator, user_id: int, first_name: str, *, last_name: str | None = None,
               username: str | None = None, language_code: str | None = "vi") -> SimUser:
        emulator.add_user(User(user_id, first_name, last_name, username, language_code))
        return cls(emulator, emulator.users[user_id])

    @property
    def id(self) -> int:
        return self.user.id

    def _where(self, chat: Chat | None) -> Chat:
        target = chat or self.chat
        if self.id not in target.members:
            raise SimError(f"user {self.id} is not a member of chat {target.id}")
        self._marks[target.id] = target.version
        return target

    # ---- actions ---------------------------------------------------------------------------------

    def send_text(self, text: str, *, chat: Chat | None = None) -> Message:
        if not text:
            raise SimError("a client cannot send an empty message")
        target = self._where(chat)
        return self.emulator.post_user_message(self.user, target, text=text, entities=markup.command_entities(text))

    def send_command(self, command: str, *args: str, chat: Chat | None = None) -> Message:
        """``send_command("start", "PAYLOAD")`` sends "/start PAYLOAD"; in a group, "/start@botname"."""
        target = chat or self.chat
        name = command.lstrip("/")
        if target.is_group:
            name += "@" + self.emulator.bot["username"]
        return self.send_text(" ".join(["/" + name, *args]), chat=chat)

    def send_document(self, data: bytes, file_name: str, mime_type: str | None = None, *,
                      caption: str | None = None, declared_size: int | None = None,
                      chat: Chat | None = None) -> Message:
        """``declared_size`` makes Telegram report a bigger file (e.g. 25 MB) without the bytes."""
        target = self._where(chat)
        stored = self.emulator.store_file("document", (file_name, data, mime_type), declared_size=declared_size)
        return self.emulator.post_user_message(self.user, target, document=stored, caption=caption)

    def send_photo(self, data: bytes, *, caption: str | None = None, chat: Chat | None = None) -> Message:
        target = self._where(chat)
        stored = self.emulator.store_file("photo", ("photo.jpg", data, "image/jpeg"))
        return self.emulator.post_user_message(self.user, target, photo=stored, caption=caption)

    def edit_text(self, message: Message, text: str) -> Message:
        """Edit a text the user sent earlier; the bot receives ``edited_message``."""
        self._where(message.chat)
        return self.emulator.edit_user_message(self.user, message, text)

    def send_album(self, photos: list[bytes], *, caption: str | None = None,
                   chat: Chat | None = None) -> list[Message]:
        """Several photos sent at once: one message each, sharing a ``media_group_id``."""
        target = self._where(chat)
        stored = [self.emulator.store_file("photo", (f"photo{n}.jpg", data, "image/jpeg"))
                  for n, data in enumerate(photos)]
        return self.emulator.post_album(self.user, target, stored, caption)

    def press(self, text: str | None = None, *, callback_data: str | None = None,
              message_id: int | None = None) -> CallbackQuery:
        """Press an inline button the bot shows now: by text and/or data, on ``message_id`` or the latest
        bot message carrying such a button. A button that is gone (edited away) cannot be pressed."""
        if text is None and callback_data is None:
            raise SimError("name the button by text or callback_data")
        candidates = ([self._bot_message(message_id)] if message_id is not None
                      else [m for m in reversed(self.chat.messages.values()) if m.from_bot])
        for msg in candidates:
            button = msg.find_button(text=text, callback_data=callback_data)
            if button is not None:
                if "callback_data" not in button:
                    raise SimError(f"button {button['text']!r} is not a callback button")
                self._marks[self.chat.id] = self.chat.version
                return self.emulator.post_callback(self.user, msg, button["callback_data"])
        raise SimError(f"no button text={text!r} callback_data={callback_data!r} on "
                       f"{'message ' + str(message_id) if message_id is not None else 'any bot message'}")

    def forge_callback(self, data: str, *, message_id: int | None = None) -> CallbackQuery:
        """Send arbitrary callback data as a modified client could, for security tests."""
        msg = self._bot_message(message_id if message_id is not None else self._last_bot_message_id())
        self._marks[self.chat.id] = self.chat.version
        return self.emulator.post_callback(self.user, msg, data)

    def block(self) -> None:
        if not self.user.blocked:
            self.user.blocked = True
            self.emulator.chat_member_update(self.chat, self.user, "member", "kicked")

    def unblock(self) -> None:
        if self.user.blocked:
            self.user.blocked = False
            self.emulator.chat_member_update(self.chat, self.user, "kicked", "member")

    # ---- what the user sees ----------------------------------------------------------------------

    def messages(self, chat: Chat | None = None) -> list[Message]:
        return list((chat or self.chat).messages.values())

    def bot_messages(self, chat: Chat | None = None) -> list[Message]:
        return [m for m in self.messages(chat) if m.from_bot]

    @property
    def last_bot_message(self) -> Message | None:
        found = self.bot_messages()
        return found[-1] if found else None

    def visible_commands(self) -> list[dict]:
        return self.emulator.visible_commands(self.chat.id, self.user.language_code or "")

    @property
    def bot_message_count(self) -> int:
        return self.chat.bot_sent

    def changed_since(self, version: int, chat: Chat | None = None) -> list[Message]:
        changed = [m for m in self.bot_messages(chat) if m.version > version]
        return sorted(changed, key=lambda m: m.version)

    async def wait_for_reply(self, timeout: float = 5.0, *,
                             until: Callable[[list[Message]], bool] | None = None,
                             chat: Chat | None = None) -> list[Message]:
        """Bot messages sent or edited since the last action (or the last wait), once there is at least
        one and ``until(messages)`` holds. Raises TimeoutError describing the chat otherwise."""
        target = chat or self.chat
        mark = self._marks.get(target.id, 0)

        def ready() -> bool:
            changed = self.changed_since(mark, target)
            return bool(changed) and (until is None or until(changed))
        try:
            await target.wait_until(ready, timeout)
        except TimeoutError:
            tail = [(m.text or m.caption or "")[:80] for m in self.messages(target)[-3:]]
            raise TimeoutError(f"bot did not answer user {self.id} within {timeout}s; last messages: {tail}") \
                from None
        self._marks[target.id] = target.version
        return self.changed_since(mark, target)

    async def wait_for_answer(self, query: CallbackQuery, timeout: float = 5.0) -> CallbackQuery:
        """Wait until the bot answers the callback query (answerCallbackQuery)."""
        try:
            await self.emulator.chats[query.chat_id].wait_until(lambda: query.answered, timeout)
        except TimeoutError:
            raise TimeoutError(f"callback query {query.data!r} was not answered within {timeout}s") from None
        return query

    def _bot_message(self, message_id: int) -> Message:
        msg = self.chat.messages.get(message_id)
        if msg is None or not msg.from_bot:
            raise SimError(f"no bot message {message_id} in chat {self.chat.id}")
        return msg

    def _last_bot_message_id(self) -> int:
        if self.last_bot_message is None:
            raise SimError("the bot has sent nothing to press on")
        return self.last_bot_message.message_id
