"""Engine benchmark: 10,000 units × 100 items × 3 sources — results and ranks, then the xlsx.

Run:  .venv/bin/python benchmarks/engine.py [--units 10000] [--write docs/benchmarks.md]
Measures wall time of each step and the peak resident memory of the process (ru_maxrss).
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import write_section  # noqa: E402
from parbot.core.criteria import parse_criteria_set  # noqa: E402
from parbot.core.results import NA, Band, ItemMarks, UnitRef, compute_block  # noqa: E402

AREAS, ITEMS_PER_AREA = 10, 10  # 100 items; area 10 is the survey


def criteria_yaml() -> str:
    lines = ["format: parbot/criteria-set@1", "code: BENCH", "year: 2026", "title: Benchmark",
             "blocks: [{code: xa, name: Xã}]", "areas:"]
    for a in range(1, AREAS + 1):
        lines += [f"  - code: '{a}'", f"    name: Lĩnh vực {a}", "    criteria:"]
        for i in range(1, ITEMS_PER_AREA + 1):
            rule = "{kind: survey}" if a == AREAS else "{kind: points}"
            na = ", not_applicable: true" if a != AREAS and i == 1 else ""
            lines.append(f"      - {{code: '{a}.{i}', name: Tiêu chí {a}.{i}, max: 1{na}, rule: {rule}}}")
    return "\n".join(lines) + "\n"


def synthetic_marks(criteria, units: int, rng: random.Random) -> dict[str, dict[str, ItemMarks]]:
    steps = [Decimal(n) / 4 for n in range(5)]
    marks = {}
    for u in range(units):
        unit = {}
        for item in criteria.items.values():
            if item.is_survey:
                unit[item.code] = ItemMarks(survey=Decimal(rng.randint(0, 100)) / 100)
            else:
                self_points = NA if item.not_applicable_allowed and rng.random() < 0.1 else rng.choice(steps)
                appraised = self_points if self_points is NA or rng.random() < 0.8 else rng.choice(steps)
                unit[item.code] = ItemMarks(self=self_points, appraised=appraised)
        marks[f"X{u:05d}"] = unit
    return marks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--write", type=Path, help="update this markdown file's engine section")
    parser.add_argument("--db", action="store_true", help="also load the scores into SQLite and time results from it")
    args = parser.parse_args()
    rng = random.Random(2026)
    criteria = parse_criteria_set(criteria_yaml())[0].for_block("xa")
    t0 = time.perf_counter()
    marks = synthetic_marks(criteria, args.units, rng)
    t_data = time.perf_counter() - t0
    units = [UnitRef(code, f"Xã số {code[1:]}", "xa") for code in marks]
    bands = (Band("Tốt", Decimal(80)), Band("Khá", Decimal(65)), Band("Trung bình", Decimal(50)), Band("Yếu", Decimal(0)))

    t0 = time.perf_counter()
    block = compute_block(criteria, "Xã", units, marks, bands, "competition")
    t_results = time.perf_counter() - t0
    t0 = time.perf_counter()
    detailed = compute_block(criteria, "Xã", units, marks, bands, "competition", with_items=True)
    t_items = time.perf_counter() - t0

    from parbot.reports.xlsx import results_xlsx

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        results_xlsx([block], Path(tmp) / "ranking.xlsx")
        t_xlsx = time.perf_counter() - t0
        size = (Path(tmp) / "ranking.xlsx").stat().st_size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert len(block.units) == args.units and detailed.units[0].items
    del detailed
    db_rows = from_database(marks, block) if args.db else []

    rows = [
        ("synthetic marks (3 sources; not part of the engine)", f"{t_data:.2f} s"),
        (f"results and ranks, {args.units:,} units × 100 items", f"{t_results:.2f} s"),
        ("the same with per-item detail (what the report needs)", f"{t_items:.2f} s"),
        (f"ranking xlsx ({size / 1e6:.1f} MB)", f"{t_xlsx:.2f} s"),
        ("peak resident memory (engine and xlsx steps)", f"{peak_mb:.0f} MB"),
        *db_rows,
    ]
    table = "\n".join(["| step | measured |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows])
    print(table)
    if args.write:
        flags = " --db" if args.db else ""
        note = (f"Command: `.venv/bin/python benchmarks/engine.py --units {args.units}{flags} --write {args.write}` "
                f"(Python {sys.version.split()[0]}, 2 cores).\n\n{table}\n\n"
                "Targets: results under 2 s, peak memory under 500 MB. What dominates the results step is Decimal "
                "addition and object creation per item (1,000,000 item marks); ranking itself is one sort. "
                "The marks held in memory (3 sources × 1,000,000) dominate the peak memory. From the database, reading "
                "and converting the 3,000,000 score rows dominates by far; the engine step stays the same.")
        write_section(args.write, "Engine", note)


def from_database(marks, expected) -> list[tuple[str, str]]:
    """Write the same scores to a SQLite file, then time `period_results` (read + engine) through the service."""
    from parbot.core.results import NA as NOT_APPLICABLE
    from parbot.core.services import periods, results
    from parbot.core.model import Unit
    from parbot.core.period import PeriodConfig
    from parbot.core.permissions import Caller
    from parbot.storage.db import make_engine, upgrade
    from parbot.storage.tables import ScoreRow, utcnow
    from parbot.storage.uow import SqlUnitOfWork

    with tempfile.TemporaryDirectory() as tmp:
        set_file = Path(tmp) / "bench.yaml"
        set_file.write_text(criteria_yaml(), encoding="utf-8")
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        uow = SqlUnitOfWork(engine)
        config = PeriodConfig.model_validate({"year": 2026, "criteria": {"xa": str(set_file)}, "deadlines": {
            "self_assessment_opens": "2026-12-01T08:00:00+07:00", "self_assessment_closes": "2027-01-15T17:00:00+07:00"}})
        period = periods.save_period(uow, caller=Caller.admin("bench"), config=config)
        t0 = time.perf_counter()
        with uow:
            for code in marks:
                uow.units.upsert(Unit(code, f"Xã số {code[1:]}", "xa"))
            uow.commit()
        now = utcnow()
        rows = []
        for unit, items in marks.items():
            for item, m in items.items():
                for source, value in (("self", m.self), ("appraised", m.appraised), ("survey", m.survey)):
                    if value is not None:
                        na = value is NOT_APPLICABLE
                        rows.append({"period_id": period.id, "unit_code": unit, "item_code": item, "source": source,
                                     "points": None if na else str(value), "not_applicable": na, "by": "bench",
                                     "at": now})
        with engine.begin() as connection:
            connection.execute(ScoreRow.__table__.insert(), rows)
        t_write = time.perf_counter() - t0
        count = len(rows)
        del rows
        t0 = time.perf_counter()
        _, (block,) = results.period_results(SqlUnitOfWork(engine), year=2026)
        t_read = time.perf_counter() - t0
        assert [u.index for u in block.units] == [u.index for u in expected.units]
        engine.dispose()
    return [(f"write {count:,} score rows to SQLite (set-up, bulk insert)", f"{t_write:.1f} s"),
            ("results from SQLite: read the rows + engine (`parbot results`)", f"{t_read:.1f} s")]


if __name__ == "__main__":
    main()
