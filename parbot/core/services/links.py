"""Signed links as use cases: issue one for a person's unit and item, and act through one.

Using a link re-reads the person's grants and the period's calendar: a member removed after the link was
sent, or a unit past its deadline, is refused though the signature is still good. An upload goes through
assessment.add_evidence_file, so it meets the same checks, store and audit as a file sent in chat, and
the chat is told through the outbox.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any

from ..errors import DomainError
from ..links import LinkClaims, sign, verify
from ..permissions import Action, Caller
from ..ports import UnitOfWork
from . import assessment, channels, reporting
from .periods import get_period

EVIDENCE_TYPES = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
}
_MAGIC = {b"%PDF": "application/pdf", b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}
_SHA256 = re.compile(r"[0-9a-f]{64}")  # a chart link's item: the stored chart's hash
_ZIP = b"PK\x03\x04"  # DOCX and XLSX are zip files: the extension tells which


def sniff_type(data: bytes, file_name: str) -> str:
    """The evidence type from the file's first bytes (never the browser's word for it)."""
    for magic, mime in _MAGIC.items():
        if data.startswith(magic):
            return mime
    if data.startswith(_ZIP):
        lower = file_name.lower()
        for mime, extension in EVIDENCE_TYPES.items():
            if extension in (".docx", ".xlsx") and lower.endswith(extension):
                return mime
    raise DomainError("link.file_type", allowed="PDF, DOCX, XLSX, JPG, PNG")


def issue(uow: UnitOfWork, *, caller: Caller, key: str | None, purpose: str, unit_code: str,
          item_code: str | None, now: datetime, ttl: timedelta) -> tuple[str, LinkClaims]:
    """A link for the caller's own unit and item, expiring after ``ttl`` and never after the deadline."""
    if caller.person_id is None:
        raise DomainError("link.person_only")
    with uow:
        action = Action.ASSESS if purpose == "evidence" else Action.VIEW_UNIT
        ws = assessment._workspace(uow, caller, unit_code, now, action)
        if item_code is not None:
            assessment._item(ws, item_code)
        expires = now + ttl
        if purpose == "evidence":
            assessment._writable(ws)
            expires = min(expires, ws.deadline)
    claims = LinkClaims(purpose=purpose, person_id=caller.person_id, unit_code=unit_code, item_code=item_code,
                        expires_at=expires)
    return sign(claims, key), claims


def open_link(uow: UnitOfWork, *, key: str | None, token: str, purpose: str, now: datetime) -> tuple[LinkClaims, Caller]:
    """The claims and the person as they stand now (current grants, not those at issue)."""
    claims = verify(token, key, purpose=purpose, now=now)
    with uow:
        person = uow.people.get(claims.person_id)
        if person is None:
            raise DomainError("link.invalid")
        caller = Caller.person(person.id, uow.roles.grants(person.id))
    return claims, caller


def _linked_item(uow: UnitOfWork, *, key: str | None, token: str, purpose: str, now: datetime,
                 action: Action) -> assessment.ItemView:
    """The item a link names, as the person may still see it now (``action``: what they must still hold)."""
    claims, caller = open_link(uow, key=key, token=token, purpose=purpose, now=now)
    with uow:
        ws = assessment._workspace(uow, caller, claims.unit_code, now, action)
        item = assessment._item(ws, claims.item_code or "")
        if action is Action.ASSESS:
            assessment._writable(ws)
        return assessment.view_from(assessment._overview(uow, ws), item)


def evidence_form(uow: UnitOfWork, *, key: str | None, token: str, now: datetime) -> assessment.ItemView:
    """What the upload page shows; refused like the upload itself when the person may no longer add."""
    return _linked_item(uow, key=key, token=token, purpose="evidence", now=now, action=Action.ASSESS)


def rules_token(*, key: str | None, person_id: int, unit_code: str, item_code: str, now: datetime,
                ttl: timedelta) -> str:
    """A link to an item's full rules for a person who is viewing the item (the screen checked the unit)."""
    return sign(LinkClaims(purpose="rules", person_id=person_id, unit_code=unit_code, item_code=item_code,
                           expires_at=now + ttl), key)


def rules_view(uow: UnitOfWork, *, key: str | None, token: str, now: datetime) -> assessment.ItemView:
    """The item behind a rules link, for a person who may still view the unit (read-only: no deadline)."""
    return _linked_item(uow, key=key, token=token, purpose="rules", now=now, action=Action.VIEW_UNIT)


def upload_evidence(uow: UnitOfWork, *, key: str | None, store: Any, token: str, data: bytes, file_name: str,
                    now: datetime) -> tuple[assessment.ItemView, bool]:
    """Keep a file sent through an evidence link and queue the chat's confirmation."""
    claims, caller = open_link(uow, key=key, token=token, purpose="evidence", now=now)
    mime = sniff_type(data, file_name)
    view, added = assessment.add_evidence_file(uow, caller=caller, store=store, unit_code=claims.unit_code,
                                               item_code=claims.item_code or "", data=data, file_name=file_name,
                                               mime_type=mime, now=now)
    if added:
        with uow:
            person = uow.people.get(claims.person_id)
            if person is not None and channels.reachable(uow)(person):
                uow.outbox.enqueue(f"link/{claims.nonce}/{hashlib.sha256(data).hexdigest()[:16]}", person.id,
                                   person.chat_id, "evidence_received",
                                   {"unit": claims.unit_code, "item": claims.item_code, "file_name": file_name})
                uow.commit()
    return view, added


def chart_scope(year: int, *, unit_code: str | None = None, block: str | None = None) -> str:
    """What a chart shows, as its link names it (the ``unit_code`` claim): one unit's result, or a block's
    ranking; the period's year with it. Unit codes hold no "/", so the two never read alike."""
    if (unit_code is None) == (block is None):
        raise ValueError("a chart shows one unit or one block")
    return f"{year}/u/{unit_code}" if unit_code is not None else f"{year}/b/{block}"


def chart_token(*, key: str | None, person_id: int, scope: str, sha256: str, now: datetime,
                ttl: timedelta) -> str:
    """A link to a chart sent to the person (stored by its SHA-256): Zalo takes photos only by URL. ``scope``:
    chart_scope of what the chart shows."""
    return sign(LinkClaims(purpose="chart", person_id=person_id, unit_code=scope, item_code=sha256,
                           expires_at=now + ttl), key)


def open_chart(uow: UnitOfWork, *, key: str | None, token: str, now: datetime) -> str:
    """The SHA-256 of the chart behind a genuine, unexpired link, for a person whose grants still cover what
    it shows: the unit (reporting.require_unit) or the block's ranking (reporting.require_ranking). A leader
    demoted, an officer moved to another unit or a member removed since it was sent is refused."""
    claims, caller = open_link(uow, key=key, token=token, purpose="chart", now=now)
    year, kind, code = (claims.unit_code.split("/", 2) + ["", ""])[:3]
    if not _SHA256.fullmatch(claims.item_code or "") or not year.isdigit() or kind not in ("u", "b") or not code:
        raise DomainError("link.invalid")
    with uow:
        period = get_period(uow, int(year))
        if kind == "u":
            reporting.require_unit(uow, period, caller.grants, code)
        else:
            reporting.require_ranking(uow, period, caller.grants, code)
    return claims.item_code
