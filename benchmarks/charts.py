"""Benchmark the chat charts and the xlsx export; print the numbers, and only with ``--write`` replace their
section of docs/benchmarks.md (the PDF report: benchmarks/report.py).

Run: python benchmarks/charts.py [--repeat 3] [--write]

Results come from the real engine on a generated criteria set shaped like MOHA's (8 areas, 80 items,
the 8th measured by the survey) with seeded random marks; each time is the best of ``--repeat`` runs.
"""
from __future__ import annotations

import argparse
import io
import platform
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._report import write_section  # noqa: E402
from parbot.core.criteria import parse_criteria_set  # noqa: E402
from parbot.core.results import Band, BlockResult, ItemMarks, UnitRef, compute_block  # noqa: E402
from parbot.reports import charts  # noqa: E402
from parbot.reports.xlsx import results_xlsx  # noqa: E402

SECTION = "## Charts and workbook"
AREAS = 8
ITEMS_PER_AREA = 10
BANDS = (Band("Xuất sắc", Decimal(90)), Band("Tốt", Decimal(80)), Band("Khá", Decimal(70)),
         Band("Trung bình", Decimal(50)), Band("Yếu", Decimal(0)))


def criteria():
    lines = ["format: parbot/criteria-set@1", "code: bench", "year: 2024", "title: Bộ tiêu chí đo hiệu năng",
             "blocks: [{code: xa, name: Xã}]", "areas:"]
    for a in range(1, AREAS + 1):
        lines += [f'  - code: "{a}"', f"    name: Lĩnh vực cải cách hành chính số {a}", f"    short: Lĩnh vực {a}",
                  "    criteria:"]
        kind = "survey" if a == AREAS else "points"
        lines += [f'      - {{code: "{a}.{i}", name: "Tiêu chí thành phần {a}.{i} về cải cách hành chính", '
                  f"max: 1.5, rule: {{kind: {kind}}}}}" for i in range(1, ITEMS_PER_AREA + 1)]
    criteria_set, problems = parse_criteria_set("\n".join(lines))
    assert not problems, problems
    return criteria_set.for_block("xa")


def block(count: int, with_items: bool, seed: int = 1) -> BlockResult:
    rng = random.Random(seed)
    crit = criteria()
    units = [UnitRef(f"X{i:05d}", f"Ủy ban nhân dân xã Phước Vĩnh An {i}, huyện Củ Chi", "xa") for i in range(count)]
    marks = {}
    for unit in units:
        marks[unit.code] = {}
        for code, item in crit.items.items():
            points = Decimal(rng.choice(("0", "0.5", "1", "1.5", "1.5", "1.5")))
            if item.is_survey:
                marks[unit.code][code] = ItemMarks(survey=points)
            else:
                appraised = max(points - Decimal("0.5"), Decimal(0)) if rng.random() < 0.2 else None
                marks[unit.code][code] = ItemMarks(self=points, appraised=appraised,
                                                   reason="Thiếu tài liệu kiểm chứng" if appraised is not None else None)
    return compute_block(crit, "Ủy ban nhân dân cấp xã", units, marks, BANDS, with_items=with_items)


def best(repeat: int, action) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def run(repeat: int) -> list[tuple[str, str, float]]:
    rows = []
    for count in (20, 300):
        b = block(count, with_items=True)
        unit = b.units[len(b.units) // 2]
        pages = len(charts.ranking_pngs(b))
        counts = {"Sở, ban, ngành": {"not_started": 2, "in_progress": 5, "submitted": 12, "late": 1},
                  "Ủy ban nhân dân cấp xã": {"not_started": count // 10, "submitted": count - count // 10}}
        series = {u.unit.name: [(2021, u.index - 3), (2022, u.index - 1), (2023, u.index)] for u in b.units[:5]}
        rows += [
            (f"unit_summary_png ({count} units)", "1 image", best(repeat, lambda: charts.unit_summary_png(
                unit, b, Decimal("75")))),
            (f"ranking_pngs ({count} units)", f"{pages} page(s)", best(repeat, lambda: charts.ranking_pngs(b))),
            (f"progress_png ({count} units)", "1 image", best(repeat, lambda: charts.progress_png(counts))),
            (f"area_comparison_png ({count} units)", "1 image",
             best(repeat, lambda: charts.area_comparison_png(b))),
            (f"trend_png ({count} units, 5 series)", "1 image", best(repeat, lambda: charts.trend_png(series))),
        ]
    province = block(300, with_items=True)
    departments = block(20, with_items=True, seed=2)
    rows.append(("results_xlsx (20 + 300 units, with item sheets)", "322 sheets",
                 best(repeat, lambda: results_xlsx([departments, province], io.BytesIO()))))
    large = block(10_000, with_items=False)
    rows.append(("results_xlsx (10,000 units, ranking only)", "1 sheet",
                 best(repeat, lambda: results_xlsx([large], io.BytesIO()))))
    return rows


def section(rows: list[tuple[str, str, float]], repeat: int) -> str:
    table = "\n".join(f"| {name} | {size} | {seconds:.3f} |" for name, size, seconds in rows)
    body = f"""Command: `python benchmarks/charts.py --repeat {repeat} --write` (best of {repeat}).
Machine: {platform.python_implementation()} {platform.python_version()}, {platform.machine()},
matplotlib {charts.matplotlib.__version__}. Criteria: 8 areas × 10 items (the 8th by survey), random marks.

| what | output | seconds |
|---|---|---|
{table}

The PDF report, which used to be drawn with these matplotlib charts, is typeset with reportlab now: see
the "Report (PDF and annex)" section.
"""
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="replace this section of docs/benchmarks.md")
    args = parser.parse_args()
    body = section(run(args.repeat), args.repeat)
    if args.write:
        write_section(ROOT / "docs" / "benchmarks.md", SECTION.removeprefix("## "), body)
    print(body)


if __name__ == "__main__":
    main()
