"""What a chat waits for between turns: a typed, versioned record kept as JSON in the chat_state table."""
from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

SCHEMA = 1


class Awaiting(str, Enum):
    NOTHING = "nothing"
    INPUT = "input"                  # typed numbers of an item (a ratio asks two in turn)
    EVIDENCE = "evidence"            # a file or a document reference
    EXPLANATION = "explanation"
    POINTS = "points"                # an appraiser's points
    REASON = "reason"                # the reason for points other than the unit's own
    CONTEST = "contest"              # a unit's explanation of an appraised item
    CONTEST_FILE = "contest_file"    # files after that explanation
    UNIT_SEARCH = "unit_search"      # part of a unit's name, to find it in /appraise


class ChatState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    schema_: int = Field(default=SCHEMA, alias="schema")
    awaiting: Awaiting = Awaiting.NOTHING
    unit: str | None = None
    slot: int | None = None          # the assessed item's position
    item: str | None = None          # the appraised item's code
    values: dict[str, str] = Field(default_factory=dict)  # typed numbers so far
    points: str | None = None        # typed points waiting for their reason
    query: str = ""                  # the appraiser's typed search of the unit list
    awaited_message: int | None = None  # the message that gave the awaited value: its edit replaces it
    message: int | None = None       # the message the current screen is on
    seen: int = 0                    # newest incoming message handled (redeliveries are ignored)

    @classmethod
    def load(cls, data: dict) -> "ChatState":
        """Read a stored row; rows of the old untyped layout (or an unknown schema) start afresh, keeping
        ``seen`` so a redelivered message is still recognised."""
        if data.get("schema") != SCHEMA:
            return cls(seen=int(data.get("seen") or 0))
        return cls.model_validate(data)

    def dump(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)

    def waiting(self, awaiting: Awaiting, **changes: object) -> "ChatState":
        """The same chat now waiting for something else; ``seen`` and the screen's message are kept."""
        return self.model_copy(update={"awaiting": awaiting, **changes})
