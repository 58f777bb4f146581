"""The options each text-only chat has on view (table ``channel_choice``, migration 0012)."""
from __future__ import annotations

from sqlmodel import Session

from .tables import ChannelChoiceRow, utcnow


class SqlChannelChoices:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, channel: str, chat_id: str) -> dict[str, str]:
        row = self.session.get(ChannelChoiceRow, (channel, chat_id))
        return dict(row.choices) if row is not None else {}

    def put(self, channel: str, chat_id: str, choices: dict[str, str]) -> None:
        row = self.session.get(ChannelChoiceRow, (channel, chat_id)) or ChannelChoiceRow(channel=channel,
                                                                                       chat_id=chat_id)
        row.choices, row.updated_at = dict(choices), utcnow()
        self.session.add(row)
        self.session.flush()
