"""Appraisal benchmark on a SQLite file: 3,321 communes (the 2025 count) × 56 assessed + 8 survey items.

Run:  .venv/bin/python benchmarks/appraisal.py [--units 3321] [--write docs/benchmarks.md]
Steps: the appraiser's unit list (province-wide), the survey import (one component row per unit), the
workbook export of 100 units, and publication (results with items → canonical JSON → hash → snapshot).
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import write_section  # noqa: E402
from parbot.cli.appraisal_cmds import write_workbook  # noqa: E402
from parbot.core.period import Deadlines, PeriodConfig  # noqa: E402
from parbot.core.permissions import Caller, Grant, Role  # noqa: E402
from parbot.core.services import appraisal, periods, publication, survey, units  # noqa: E402
from parbot.core.services.tabular import Row  # noqa: E402
from parbot.storage.db import make_engine, upgrade  # noqa: E402
from parbot.storage.tables import ScoreRow, UnitStageRow  # noqa: E402
from parbot.storage.uow import SqlUnitOfWork  # noqa: E402

AREAS, ITEMS = 8, 8  # area 8 is the survey
ADMIN = Caller.admin("bench")


def criteria_yaml() -> str:
    lines = ["format: parbot/criteria-set@1", "code: BENCH-A", "year: 2025", "title: Benchmark",
             "blocks: [{code: xa, name: Xã}]", "areas:"]
    for a in range(1, AREAS + 1):
        lines += [f"  - code: '{a}'", f"    name: Lĩnh vực {a}", "    criteria:"]
        for i in range(1, ITEMS + 1):
            rule = "{kind: survey}" if a == AREAS else "{kind: points, step: 0.25}"
            lines.append(f"      - {{code: '{a}.{i}', name: Tiêu chí {a}.{i}, max: 2, rule: {rule}}}")
    return "\n".join(lines) + "\n"


def build(directory: Path, count: int) -> SqlUnitOfWork:
    (directory / "set.yaml").write_text(criteria_yaml(), encoding="utf-8")
    engine = make_engine(f"sqlite:///{directory / 'bench.db'}")
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    now = datetime(2025, 12, 1, tzinfo=timezone.utc)
    periods.save_period(uow, caller=ADMIN, config=PeriodConfig(
        year=2025, criteria={"xa": str(directory / "set.yaml")},
        deadlines=Deadlines(self_assessment_opens=now, self_assessment_closes=now)))
    codes = [f"X{n:04d}" for n in range(count)]
    units.import_units(uow, caller=ADMIN, header=["code", "name", "block"],
                       rows=[Row(n, {"code": c, "name": f"Xã {c}", "block": "xa"}) for n, c in enumerate(codes, 2)])
    with uow:
        period = uow.periods.get(2025)
        rows = [dict(period_id=period.id, unit_code=c, item_code=f"{a}.{i}", source=source,
                     points=Decimal("1.5") if source == "self" else Decimal(1), by="bench", at=now,
                     reason=None if source == "self" else "Thiếu tài liệu", appraisal_round=None if source == "self" else 1)
                for c in codes for a in range(1, AREAS) for i in range(1, ITEMS + 1) for source in ("self", "appraised")]
        uow.session.execute(ScoreRow.__table__.insert(), rows)
        uow.session.execute(UnitStageRow.__table__.insert(),
                            [dict(period_id=period.id, unit_code=c, submitted_at=now, state={}) for c in codes])
        uow.commit()
    return uow


def timed(label: str, what: str, function, out: list) -> object:
    start = time.perf_counter()
    result = function()
    out.append((label, what, time.perf_counter() - start))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=3321)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        uow = timed("set-up (units, self and appraised scores)", f"{args.units} units", lambda: build(directory, args.units),
                    rows)
        council = Caller.person(1, (Grant(Role.APPRAISER, block="xa"),))
        listed = timed("appraiser's unit list", "province-wide",
                       lambda: appraisal.list_units(uow, caller=council, year=2025), rows)
        survey_rows = [Row(n, {"unit": f"X{n:04d}", "item": str(AREAS), "points": "12.5"}) for n in range(args.units)]
        timed("survey import", f"{len(survey_rows)} component rows",
              lambda: survey.import_survey(uow, caller=ADMIN, header=["unit", "item", "points"], rows=survey_rows,
                                           year=2025), rows)
        year, sheets = timed("workbook export (data)", "all units",
                             lambda: appraisal.export_sheets(uow, caller=ADMIN, year=2025), rows)
        timed("workbook export (xlsx)", "100 sheets",
              lambda: write_workbook(year, sheets[:100], directory / "council.xlsx"), rows)
        (snapshot,) = timed("publish", "one block with items",
                            lambda: publication.publish(uow, caller=ADMIN, year=2025), rows)
        size = len(publication.json.dumps(snapshot.results, ensure_ascii=False)) / 1024 / 1024
    assert len(listed) == args.units
    table = ["| step | scale | seconds |", "|---|---|---|"] + [f"| {a} | {b} | {s:.2f} |" for a, b, s in rows]
    body = (f"Command: `.venv/bin/python benchmarks/appraisal.py --units {args.units} --write docs/benchmarks.md` "
            f"(CPython {platform.python_version()}, SQLite file).\n"
            f"Criteria: {AREAS} areas × {ITEMS} items (area {AREAS} by survey); snapshot JSON {size:.1f} MB.\n\n"
            + "\n".join(table))
    print(body)
    if args.write:
        write_section(args.write, "Appraisal and publication", body)


if __name__ == "__main__":
    main()
