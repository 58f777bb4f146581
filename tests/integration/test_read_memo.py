"""Reads a turn repeats are taken once per transaction, and again only after a write to their own table."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import event

from parbot.core.model import AuditEntry
from parbot.storage.uow import SqlUnitOfWork


def test_a_read_is_taken_again_only_after_a_write_to_its_table(engine):
    selects: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001 - the DBAPI's
        if statement.startswith("SELECT"):
            selects.append(statement.split("FROM")[1].split()[0])

    event.listen(engine, "before_cursor_execute", count)
    try:
        with SqlUnitOfWork(engine) as uow:
            stage, evidence = uow.stages.get(1, "X01"), uow.evidence.for_unit(1, "X01")
            assert selects == ["unit_stage", "evidence"]
            # A write elsewhere, flushed as a nested service's commit does: both reads still hold.
            with uow:
                uow.audit.add(AuditEntry(actor="test", action="note", at=datetime.now(timezone.utc)))
                uow.commit()
            assert (uow.stages.get(1, "X01"), uow.evidence.for_unit(1, "X01")) == (stage, evidence)
            assert selects == ["unit_stage", "evidence"]
            # A write to the stages' table: the stage is read again, the evidence is not.
            uow.session.execute(sa.text("DELETE FROM unit_stage WHERE period_id = -1"))
            uow.stages.get(1, "X01"), uow.evidence.for_unit(1, "X01")
            assert selects == ["unit_stage", "evidence", "unit_stage"]
        with SqlUnitOfWork(engine) as uow:  # a new transaction reads what others committed meanwhile
            uow.stages.get(1, "X01")
            assert selects == ["unit_stage", "evidence", "unit_stage", "unit_stage"]
    finally:
        event.remove(engine, "before_cursor_execute", count)
