"""What the handlers share, kept in ``application.bot_data["deps"]``."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy.engine import Engine

from ..core.conversation.turn import Env
from ..core.services.people import CodeThrottle
from ..settings import Settings
from ..storage.evidence_store import EvidenceStore
from ..storage.uow import SqlUnitOfWork


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Deps:
    settings: Settings
    engine: Engine
    store: EvidenceStore
    clock: Callable[[], datetime] = field(default=utc_now)  # tests move time to reach deadlines
    invite_throttle: CodeThrottle = field(default_factory=CodeThrottle)  # wrong /start codes per account

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def now(self) -> datetime:
        return self.clock()

    def env(self) -> Env:
        """What a conversation turn needs from this process, as of now."""
        settings = self.settings
        return Env(now=self.now(), tz=settings.timezone, store=self.store, admin_contact=settings.admin_contact,
                   link_key=self.link_secret(), public_url=settings.public_url,
                   link_ttl=timedelta(hours=settings.link_ttl_hours))

    def link_secret(self) -> str | None:
        """PARBOT_LINK_SECRET, which signs web links and account codes (None: not configured)."""
        return self.settings.link_key.get_secret_value() if self.settings.link_key else None
