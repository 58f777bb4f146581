"""Signed web links: what a chat cannot carry (an evidence file, an item's full rules, a chart).

A link names one person, one unit, one item (or none) and one purpose, and expires. It is signed with
HMAC-SHA256 under the operator's key (PARBOT_LINK_SECRET), so it needs no table and a changed key revokes
every link. The signature covers every claim: a link for one purpose or item never opens another. What
the signature cannot know (the member removed since, the deadline passed) is checked when the link is
used, by core.services.links, against the database.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from .errors import DomainError

PURPOSES = frozenset({"evidence", "rules", "chart"})
MIN_KEY_LENGTH = 16


@dataclass(frozen=True)
class LinkClaims:
    purpose: str
    person_id: int
    unit_code: str
    item_code: str | None
    expires_at: datetime
    nonce: str = ""

    def _payload(self) -> dict:
        return {"p": self.purpose, "u": self.person_id, "c": self.unit_code, "i": self.item_code,
                "e": int(self.expires_at.timestamp()), "n": self.nonce}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, body: str) -> str:
    return _b64(hmac.new(key.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest())


def _check_key(key: str | None) -> str:
    if not key or len(key) < MIN_KEY_LENGTH:
        raise DomainError("link.not_configured")
    return key


def sign(claims: LinkClaims, key: str | None) -> str:
    """A URL-safe ASCII token carrying the claims and their signature."""
    if claims.purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {claims.purpose!r}")
    if claims.nonce == "":
        claims = LinkClaims(**{**claims.__dict__, "nonce": secrets.token_urlsafe(6)})
    body = _b64(json.dumps(claims._payload(), separators=(",", ":"), ensure_ascii=True).encode("ascii"))
    return f"{body}.{_mac(_check_key(key), body)}"


def url(public_url: str, purpose: str, token: str) -> str:
    """Where parbot's web pages (parbot.bot.web) serve a link of ``purpose``."""
    return f"{public_url.rstrip('/')}/l/{purpose}/{token}"


def verify(token: str, key: str | None, *, purpose: str, now: datetime) -> LinkClaims:
    """The claims of a genuine, unexpired link made for ``purpose``; DomainError ``link.invalid`` or
    ``link.expired`` otherwise (a tampered link and a foreign one answer alike)."""
    key = _check_key(key)
    body, _, mac = token.partition(".")
    if not body or not mac or not hmac.compare_digest(mac, _mac(key, body)):
        raise DomainError("link.invalid")
    try:
        data = json.loads(_unb64(body))
        claims = LinkClaims(purpose=str(data["p"]), person_id=int(data["u"]), unit_code=str(data["c"]),
                            item_code=None if data["i"] is None else str(data["i"]),
                            expires_at=datetime.fromtimestamp(int(data["e"]), timezone.utc), nonce=str(data["n"]))
    except (ValueError, KeyError, TypeError):
        raise DomainError("link.invalid") from None
    if claims.purpose != purpose:
        raise DomainError("link.invalid")
    if now >= claims.expires_at:
        raise DomainError("link.expired", at=claims.expires_at)
    return claims


# An account code: links a person's account on another channel to the person (``/kenh`` shows it, the other
# channel takes it like an invitation code). ``<person>-<expiry minute, base 36>-<MAC>``, letters, digits,
# "-" and "_" only, so it is also a Telegram deep-link payload. The MAC covers the channel the code is for.
ACCOUNT_CODE = re.compile(r"^([0-9]{1,12})-([0-9a-z]{1,10})-([A-Za-z0-9_-]{16})$")


def _account_mac(key: str, person_id: int, channel: str, minute: str) -> str:
    return _mac(key, f"account:{person_id}:{channel}:{minute}")[:16]  # 96 bits


def account_code(person_id: int, channel: str, expires_at: datetime, key: str | None) -> str:
    minute = _base36(int(expires_at.timestamp()) // 60)
    return f"{person_id}-{minute}-{_account_mac(_check_key(key), person_id, channel, minute)}"


def verify_account_code(code: str, channel: str, key: str | None, now: datetime) -> int:
    """The person an account code for ``channel`` names; DomainError ``channel.code_invalid`` /
    ``channel.code_expired``."""
    key = _check_key(key)
    match = ACCOUNT_CODE.match(code.strip())
    if match is None:
        raise DomainError("channel.code_invalid")
    person, minute, mac = match.groups()
    if not hmac.compare_digest(mac, _account_mac(key, int(person), channel, minute)):
        raise DomainError("channel.code_invalid")
    expires_at = datetime.fromtimestamp(int(minute, 36) * 60, timezone.utc)
    if now >= expires_at:
        raise DomainError("channel.code_expired", at=expires_at)
    return int(person)


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
        if number == 0:
            return digits
