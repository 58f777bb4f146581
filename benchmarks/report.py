"""Benchmark the PDF report (reportlab) against the matplotlib report it replaced, in the same run, for
20 + 300 units with items; also the Word annex. Wall and CPU (this process and its worker processes).

Run: python benchmarks/report.py [--write]   (``--write``: also into docs/benchmarks.md)

Targets (issue 13): the report ≤ 10 s wall on the 2-core machine and ≥ 20× less CPU than the matplotlib
report. The blocks are benchmarks/charts.py's: 8 areas × 10 items (the 8th by survey), seeded marks.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docx  # noqa: E402

from benchmarks._report import write_section  # noqa: E402
from benchmarks.charts import block  # noqa: E402
from parbot.reports.annex import Heading  # noqa: E402
from parbot.reports.docx import results_docx  # noqa: E402
from parbot.reports.pdf import results_report_pdf  # noqa: E402

SECTION = "Report (PDF and annex)"
TITLE = "Báo cáo kết quả Chỉ số cải cách hành chính năm 2024"


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the matplotlib report's pool)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(action) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), _cpu()
    result = action()
    return time.perf_counter() - wall, _cpu() - cpu, result


def run() -> list[tuple[str, str, float, float]]:
    from benchmarks._matplotlib_report import results_report_pdf as matplotlib_report_pdf

    blocks = [block(20, with_items=True, seed=2), block(300, with_items=True)]
    previous = {u.unit.code: u.index - 2 for u in blocks[1].units}
    heading = Heading(TITLE, province="tỉnh Thanh Hóa", issuer="Sở Nội vụ", decision="123/QĐ-UBND",
                      date=date(2025, 3, 15))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, action in (
                ("reportlab (parbot/reports/pdf.py)", lambda: results_report_pdf(blocks, folder / "new.pdf", heading,
                                                                                  previous)),
                ("matplotlib, the baseline (benchmarks/_matplotlib_report.py)",
                 lambda: matplotlib_report_pdf(blocks, folder / "old.pdf", TITLE, previous))):
            wall, cpu, pages = measure(action)
            size = (folder / ("new.pdf" if name.startswith("reportlab") else "old.pdf")).stat().st_size
            rows.append((f"PDF report, {name}", f"{pages} pages, {size / 1e6:.1f} MB", wall, cpu))
        wall, cpu, _ = measure(lambda: results_docx(blocks, folder / "annex.docx", heading, previous))
        tables = docx.Document(folder / "annex.docx").tables
        rows.append(("Word annex (parbot/reports/docx.py)",
                     f"{len(tables)} tables, {sum(len(t.rows) for t in tables)} rows", wall, cpu))
    return rows


def section(rows: list[tuple[str, str, float, float]], load_before: tuple[float, ...]) -> str:
    table = "\n".join(f"| {name} | {size} | {wall:.1f} | {cpu:.1f} |" for name, size, wall, cpu in rows)
    new, old = rows[0], rows[1]
    after = os.getloadavg()
    busy = max(load_before[0], after[0]) > (os.cpu_count() or 1)
    load = "; ".join(", ".join(f"{n:.1f}" for n in values) for values in (load_before, after))
    note = ("\nThe machine was busy (a load above its cores: other processes held them), so the wall times are "
            "not the report's own;\nthe CPU times are." if busy else "")
    return f"""Command: `.venv/bin/python benchmarks/report.py --write` (each once, in the same run).
Machine: {platform.python_implementation()} {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores,
load average at the start and at the end {load}
(wall times stretch with other work on the machine; CPU times do not).{note}
20 + 300 units with items (benchmarks/charts.py's blocks: 8 areas × 10 items, seeded marks).

| what | output | wall s | CPU s |
|---|---|---|---|
{table}

reportlab uses {old[3] / new[3]:.0f}× less CPU and {old[2] / new[2]:.0f}× less wall time than matplotlib (which
shapes and loads every glyph of every line itself, in a process pool), in one process and one typesetting pass,
with criterion names and reasons wrapped in full (hence more pages: a unit's lost points take 2–3 pages in
readable type), vector charts and the units compared area by area. Targets: ≤ 10 s wall on 2 free cores (the
wall time in one process is about its CPU time), ≥ 20× less CPU.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace this section of docs/benchmarks.md")
    args = parser.parse_args()
    load_before = os.getloadavg()
    body = section(run(), load_before)
    if args.write:
        write_section(ROOT / "docs" / "benchmarks.md", SECTION, body)
    print(body)


if __name__ == "__main__":
    main()
