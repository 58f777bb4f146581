"""`parbot demo`: the whole round in-process, through the real bot on the emulator."""
from __future__ import annotations

import json
import re
import zipfile
from decimal import Decimal

import docx
import pytest
from PIL import Image
from pypdf import PdfReader
from typer.testing import CliRunner

from parbot.cli.main import app
from parbot.core.decimals import num
from parbot.sandbox.demo import run_demo
from parbot.settings import get_settings
from tests.unit.test_vietnamese_output import english

pytestmark = pytest.mark.e2e


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """The demo points the CLI's settings at its database: keep that inside the test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.setenv("PARBOT_EVIDENCE_DIR", str(tmp_path / "unused-evidence"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def results(runner: CliRunner, database, *args: str):
    outcome = runner.invoke(app, ["results", "--period", "2020", *args],
                            env={"PARBOT_DATABASE_URL": f"sqlite:///{database}"})
    get_settings.cache_clear()
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def test_the_demo_plays_a_round_and_a_seed_replays_it(isolated, tmp_path):
    runner = CliRunner()
    out = tmp_path / "demo"
    outcome = runner.invoke(app, ["demo", "--out", str(out), "--seed", "7"])
    assert outcome.exit_code == 0, outcome.output
    printed = outcome.output
    database = out / "parbot.db"

    # The printed ranking is what `parbot results` shows on the demo's database.
    table = results(runner, database)
    assert table.strip() and table in printed
    ranking = json.loads(results(runner, database, "--format", "json"))
    assert [b["block"] for b in ranking["blocks"]] == ["huyen", "so", "xa"]
    assert all(u["class"] for b in ranking["blocks"] for u in b["units"])

    # The stages happened and said so.
    for stage in ("Mời và kích hoạt", "Tự đánh giá", "Nhắc hạn", "Thẩm định vòng 1", "Giải trình",
                  "điều tra xã hội học", "Công bố"):
        assert stage in printed
    reminded = re.search(r"(\d+) lời nhắc gửi tới cán bộ", printed)
    assert reminded and int(reminded.group(1)) >= 2
    lowered = re.search(r"(\d+) điểm bị hạ kèm lý do", printed)
    assert lowered and int(lowered.group(1)) >= 1
    for variety in (r"(\d+) lần sửa", r"(\d+) mục 'Không phát sinh'", r"(\d+) lần nhập sai được hỏi lại",
                    r"(\d+) tệp kiểm chứng", r"(\d+) tỉ lệ nhập tay"):
        found = re.search(variety, printed)
        assert found and int(found.group(1)) >= 1, variety

    # The files: charts the users received, the workbook, the report, the transcripts.
    charts = sorted((out / "charts").glob("*.png"))
    assert charts and all(Image.open(p).format == "PNG" for p in charts)
    assert any("lanh-dao-tinh" in p.name for p in charts) and any("can-bo" in p.name for p in charts)
    with zipfile.ZipFile(out / "bao-cao-2020.xlsx") as workbook:
        assert "xl/workbook.xml" in workbook.namelist()
    report = PdfReader(out / "bao-cao-2020.pdf")
    assert len(report.pages) > 3 and "Sở Nội vụ" in "".join(p.extract_text() for p in report.pages)
    # The Word annex opens and holds each block's ranking table as `parbot results` ranks it.
    annex = docx.Document(out / "bao-cao-2020.docx")
    rankings = [table for table in annex.tables if table.rows[0].cells[2].text == "Điểm tối đa"]
    published = [[(c.text for c in row.cells) for row in table.rows[1:-1]] for table in rankings]
    assert sorted([(rank, name, index) for rank, name, _, _, index, _ in rows] for rows in published) == sorted(
        [(str(u["rank"]), u["unit"], num(Decimal(str(u["index_pct"])), "vi")) for u in b["units"]]
        for b in ranking["blocks"])
    # The demo says where it wrote the report and its annex.
    said = re.sub(r"\s+", "", printed)
    for name in ("bao-cao-2020.pdf", "bao-cao-2020.docx", "bao-cao-2020.xlsx"):
        assert re.sub(r"\s+", "", str(out / name)) in said, name
    transcript = (out / "hoi-thoai.md").read_text(encoding="utf-8")
    assert transcript.startswith("# Hội thoại mẫu") and "**Bot**" in transcript and "`[" in transcript
    assert "⏰" in transcript  # the late unit's chat shows its reminders
    # One unit's officer also on Zalo (linked with /kenh): reminded there, the chart fetched by URL; and one
    # evidence file through the signed web link, confirmed in the chat.
    on_zalo = re.search(r"(\w+) dùng cả Telegram và Zalo \(/kenh\): (\d+) lời nhắc tới Zalo; (\d+) tệp kiểm chứng "
                        r"tải lên qua liên kết web", printed)
    assert on_zalo and int(on_zalo.group(2)) >= 1 and int(on_zalo.group(3)) == 1
    assert re.search(r"([1-9]\d*) biểu đồ tới Zalo", printed)
    zalo_chat = transcript.split(f"cán bộ đầu mối, {on_zalo.group(1)}, trên Zalo", 1)[1]
    assert "đã được liên kết với bạn" in zalo_chat and "⏰" in zalo_chat and "🖼 *ảnh qua liên kết*" in zalo_chat
    assert "(trang web, liên kết ký số) tải lên" in zalo_chat and "(gửi qua liên kết web)" in zalo_chat
    bot_side = "\n".join(line for line in transcript.splitlines() if line.startswith(">"))
    assert english(bot_side) == []
    assert "Cán bộ đầu mối của Sở Nội vụ" in bot_side  # the role and the unit by name, not by code

    # The same seed plays the same round.
    again = run_demo(tmp_path / "again", 7, _quiet())
    first = {b["block"]: [(u["rank"], u["unit_code"], u["index_pct"]) for u in b["units"]] for b in ranking["blocks"]}
    assert {block: [(rank, code, str(index)) for rank, code, index in rows]
            for block, rows in again.ranking.items()} == {block: [(r, c, str(i)) for r, c, i in rows]
                                                          for block, rows in first.items()}


def _quiet():
    from io import StringIO

    from rich.console import Console

    return Console(file=StringIO(), width=120)
