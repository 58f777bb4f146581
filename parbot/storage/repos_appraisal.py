"""Published snapshots: only ever added, never updated (a change is a new revision)."""
from __future__ import annotations

from sqlmodel import Session, select

from ..core.model import Snapshot
from .tables import SnapshotRow


def _snapshot(row: SnapshotRow) -> Snapshot:
    return Snapshot(period_id=row.period_id, block=row.block, revision=row.revision, results=dict(row.results),
                    content_hash=row.content_hash, published_by=row.published_by, reason=row.reason,
                    published_at=row.published_at)


class SqlSnapshots:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, snapshot: Snapshot) -> None:
        row = SnapshotRow(period_id=snapshot.period_id, block=snapshot.block, revision=snapshot.revision,
                          results=snapshot.results, content_hash=snapshot.content_hash,
                          published_by=snapshot.published_by, reason=snapshot.reason)
        if snapshot.published_at is not None:
            row.published_at = snapshot.published_at
        self.session.add(row)
        self.session.flush()

    def latest(self, period_id: int, block: str) -> Snapshot | None:
        row = self.session.exec(select(SnapshotRow).where(SnapshotRow.period_id == period_id,
                                                          SnapshotRow.block == block)
                                .order_by(SnapshotRow.revision.desc())).first()
        return None if row is None else _snapshot(row)

    def history(self, period_id: int, block: str | None = None) -> list[Snapshot]:
        query = select(SnapshotRow).where(SnapshotRow.period_id == period_id)
        if block is not None:
            query = query.where(SnapshotRow.block == block)
        return [_snapshot(r) for r in self.session.exec(query.order_by(SnapshotRow.block, SnapshotRow.revision))]
