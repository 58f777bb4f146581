"""Signed links: bound to person, unit, item and purpose; expiring; refused after removal or the deadline;
an upload lands in the evidence store with its audit and a chat confirmation."""
from __future__ import annotations

from datetime import timedelta

import pytest
from callers import ADMIN

from parbot.core import links
from parbot.core.errors import DomainError, PermissionDenied
from parbot.core.services import links as link_svc
from parbot.core.services import people
from parbot.storage.evidence_store import EvidenceStore

from link_fixtures import CLOSES, KEY, NOW, PDF, world  # noqa: F401  (world is a fixture)



def claims(**changes):
    base = dict(purpose="evidence", person_id=7, unit_code="X1", item_code="1.1.1", expires_at=NOW + timedelta(hours=1))
    return links.LinkClaims(**{**base, **changes})


def test_a_signed_link_verifies_and_carries_its_claims():
    token = links.sign(claims(), KEY)
    assert token.isascii() and " " not in token
    got = links.verify(token, KEY, purpose="evidence", now=NOW)
    assert (got.person_id, got.unit_code, got.item_code, got.purpose) == (7, "X1", "1.1.1", "evidence")


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
    lambda t: links.sign(claims(item_code="1.1.2"), KEY).split(".")[0] + "." + t.split(".")[1],  # claims swapped
    lambda t: t.split(".")[0],  # no signature
    lambda t: "",
])
def test_tampered_links_are_invalid(mutate):
    with pytest.raises(DomainError) as err:
        links.verify(mutate(links.sign(claims(), KEY)), KEY, purpose="evidence", now=NOW)
    assert err.value.code == "link.invalid"


def test_wrong_key_wrong_purpose_and_expiry_are_refused():
    token = links.sign(claims(), KEY)
    for key, purpose, now, code in ((KEY + "x", "evidence", NOW, "link.invalid"),
                                    (KEY, "rules", NOW, "link.invalid"),
                                    (KEY, "evidence", NOW + timedelta(hours=1), "link.expired")):
        with pytest.raises(DomainError) as err:
            links.verify(token, key, purpose=purpose, now=now)
        assert err.value.code == code
    with pytest.raises(DomainError, match="link.not_configured"):
        links.sign(claims(), "short")


def test_link_expires_no_later_than_the_deadline(world):
    uow, officer = world
    _, issued = link_svc.issue(uow, caller=officer, key=KEY, purpose="evidence", unit_code="X1", item_code="1.1.1",
                               now=NOW, ttl=timedelta(days=365))
    assert issued.expires_at == CLOSES


def test_links_only_for_the_callers_own_unit(world):
    uow, officer = world
    with pytest.raises(PermissionDenied):
        link_svc.issue(uow, caller=officer, key=KEY, purpose="evidence", unit_code="X2", item_code="1.1.1",
                       now=NOW, ttl=timedelta(hours=1))


def test_upload_through_a_link_is_stored_audited_and_confirmed(world, tmp_path):
    uow, officer = world
    store = EvidenceStore(tmp_path)
    token, _ = link_svc.issue(uow, caller=officer, key=KEY, purpose="evidence", unit_code="X1", item_code="1.1.1",
                              now=NOW, ttl=timedelta(hours=2))
    assert link_svc.evidence_form(uow, key=KEY, token=token, now=NOW).item.code == "1.1.1"
    view, added = link_svc.upload_evidence(uow, key=KEY, store=store, token=token, data=PDF, file_name="qd.pdf",
                                           now=NOW)
    assert added and [(e.mime_type, e.file_name) for e in view.evidence] == [("application/pdf", "qd.pdf")]
    again = link_svc.upload_evidence(uow, key=KEY, store=store, token=token, data=PDF, file_name="qd.pdf", now=NOW)
    assert again[1] is False  # the same file twice is one record, one notice
    with uow:
        audit = [a.action for a in uow.audit.query(unit_code="X1", item_code="1.1.1")]
        rows = uow.session.exec(__import__("sqlmodel").text("select kind, chat_id from outbox")).all()
    assert audit == ["evidence"] and [tuple(r) for r in rows] == [("evidence_received", 5100)]


def test_types_are_read_from_the_bytes(world, tmp_path):
    uow, officer = world
    token, _ = link_svc.issue(uow, caller=officer, key=KEY, purpose="evidence", unit_code="X1", item_code="1.1.1",
                              now=NOW, ttl=timedelta(hours=2))
    with pytest.raises(DomainError, match="link.file_type"):
        link_svc.upload_evidence(uow, key=KEY, store=EvidenceStore(tmp_path), token=token,
                                 data=b"MZ\x90 not a pdf", file_name="virus.pdf", now=NOW)
    assert link_svc.sniff_type(b"PK\x03\x04rest", "bang.xlsx").endswith("spreadsheetml.sheet")


def test_removed_member_and_deadline_refuse_a_good_signature(world, tmp_path):
    uow, officer = world
    token, _ = link_svc.issue(uow, caller=officer, key=KEY, purpose="evidence", unit_code="X1", item_code="1.1.1",
                              now=NOW, ttl=timedelta(days=90))
    with pytest.raises(DomainError):  # after the deadline the unit is closed, whatever the link says
        link_svc.upload_evidence(uow, key=KEY, store=EvidenceStore(tmp_path), token=token, data=PDF,
                                 file_name="a.pdf", now=CLOSES + timedelta(seconds=1))
    people.remove_member(uow, caller=ADMIN, who=f"p{officer.person_id}", now=NOW)
    with pytest.raises(PermissionDenied):
        link_svc.upload_evidence(uow, key=KEY, store=EvidenceStore(tmp_path), token=token, data=PDF,
                                 file_name="a.pdf", now=NOW)
