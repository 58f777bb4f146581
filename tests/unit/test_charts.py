"""Charts: content, paging within Telegram's photo limits, determinism and Vietnamese glyph coverage.

Results come from the real engine (``compute_block`` on a criteria set parsed from YAML); the builders here
are shared with test_exports.py.
"""
from __future__ import annotations

import io
import math
import subprocess
import sys
import unicodedata
import warnings
from decimal import Decimal as D

import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from parbot.core.criteria import parse_criteria_set
from parbot.core.results import NA, Band, BlockResult, ItemMarks, UnitRef, compute_block
from parbot.i18n import domain
from parbot.reports import charts, short_name
from parbot.reports.charts import (area_comparison_png, draw_ranking, draw_unit_summary, progress_png,
                                   ranking_pngs, trend_png, unit_summary_png)

BANDS = (Band("Tốt", D(90)), Band("Khá", D(80)), Band("Trung bình", D(65)), Band("Yếu", D(0)))


def criteria_yaml(extra_items: int = 0) -> str:
    extra = "".join(f'      - {{code: "2.{n}", name: "Tiêu chí thành phần bổ sung số {n} về thủ tục hành chính '
                    f'liên thông", max: 1, rule: {{kind: points}}}}\n' for n in range(2, 2 + extra_items))
    return f"""
format: parbot/criteria-set@1
code: test
year: 2024
title: Bộ tiêu chí thử nghiệm
blocks: [{{code: xa, name: "Ủy ban nhân dân cấp xã"}}]
areas:
  - code: "1"
    name: Công tác chỉ đạo, điều hành cải cách hành chính
    short: Chỉ đạo, điều hành
    criteria:
      - {{code: "1.1", name: Kế hoạch cải cách hành chính năm, max: 4, rule: {{kind: points}}}}
      - {{code: "1.2", name: Báo cáo định kỳ, max: 6, not_applicable: true, rule: {{kind: points}}}}
  - code: "2"
    name: Cải cách thủ tục hành chính
    criteria:
      - {{code: "2.1", name: Công bố thủ tục hành chính đúng hạn, max: 10, rule: {{kind: points}}}}
{extra}  - code: "3"
    name: Tác động của cải cách hành chính
    short: Sự hài lòng
    criteria:
      - {{code: "3.1", name: Mức độ hài lòng của người dân, max: 20, rule: {{kind: survey}}}}
bonus:
  code: B
  name: Điểm thưởng
  cap: 2
  items: [{{code: B1, name: Sáng kiến cải cách, max: 2, rule: {{kind: points}}}}]
deduction:
  code: T
  name: Điểm trừ
  cap: 3
  items: [{{code: T1, name: Vi phạm kỷ luật, max: 3, rule: {{kind: points}}}}]
"""


def make_criteria(extra_items: int = 0):
    criteria_set, problems = parse_criteria_set(criteria_yaml(extra_items))
    assert problems == []
    return criteria_set.for_block("xa")


def marks_for(seed: int, survey: bool = True) -> dict[str, ItemMarks]:
    """Varied marks: appraisal below the self-score in area 1, a reason on 2.1, 1.2 sometimes N/A."""
    return {
        "1.1": ItemMarks(self=D(4), appraised=D(2 + seed % 3)),
        "1.2": ItemMarks(self=NA) if seed % 4 == 0 else ItemMarks(self=D(seed % 7)),
        "2.1": ItemMarks(self=D(5 + seed % 6), reason="Thiếu tài liệu kiểm chứng"),
        "3.1": ItemMarks(survey=D(10 + seed % 11) if survey else None),
    }


def make_block(count: int, name: str = "Xã Phước Vĩnh An {i}", with_items: bool = True, marks=None,
               block_name: str = "Ủy ban nhân dân cấp xã", criteria=None) -> BlockResult:
    units = [UnitRef(f"X{i:03d}", name.format(i=i), "xa") for i in range(count)]
    marks = marks if marks is not None else {u.code: marks_for(i) for i, u in enumerate(units)}
    return compute_block(criteria or make_criteria(), block_name, units, marks, BANDS, with_items=with_items)


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def within_telegram_photo_limits(data: bytes) -> bool:
    width, height = png_size(data)
    return width + height <= 10_000 and max(width, height) / min(width, height) <= 20 and len(data) <= 10_000_000


# Every Vietnamese letter: 12 vowels × (no tone + 5 tones), đ, both cases.
VIETNAMESE_LETTERS = sorted({
    unicodedata.normalize("NFC", base + tone).upper() if upper else unicodedata.normalize("NFC", base + tone)
    for base in "aăâeêioôơuưy" for tone in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
    for upper in (False, True)
} | {"đ", "Đ"})
ALL_LETTERS_NAME = "".join(VIETNAMESE_LETTERS)


def test_the_chart_font_has_every_vietnamese_letter_and_every_label_character():
    path = charts.font_path()
    assert path.endswith("DejaVuSans.ttf")
    cmap = TTFont(path).getBestCmap()
    assert len(VIETNAMESE_LETTERS) == 12 * 6 * 2 + 2
    label_chars = {c for lang in ("vi", "en") for text in domain(lang, "report_labels")._catalog.values()
                   if isinstance(text, str) for c in text if not c.isspace()}
    missing = [c for c in set(VIETNAMESE_LETTERS) | label_chars | set("…–·≥−±") if ord(c) not in cmap]
    assert missing == []


def test_vietnamese_text_renders_without_missing_glyphs():
    block = make_block(3, name="Ủy ban " + ALL_LETTERS_NAME[:60] + " {i}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)" for each gap
        unit_summary_png(block.units[0], block, D("70"))
        ranking_pngs(block)
        area_comparison_png(block)


def test_mplconfigdir_is_set_and_pyplot_is_never_imported():
    code = ("import sys, os; os.environ.pop('MPLCONFIGDIR', None)\n"
            "import parbot.reports.charts as c, parbot.reports.pdf\n"
            "assert os.path.isdir(os.environ['MPLCONFIGDIR']) and os.access(os.environ['MPLCONFIGDIR'], os.W_OK)\n"
            "c.trend_png({'a': [(2023, 1), (2024, 2)]})\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_same_input_gives_the_same_bytes_and_other_input_other_bytes():
    block = make_block(12)
    other = make_block(12, name="Phường {i}")
    unit = block.units[3]
    assert unit_summary_png(unit, block, D("80.5")) == unit_summary_png(unit, block, D("80.5"))
    assert unit_summary_png(unit, block, D("80.5")) != unit_summary_png(unit, block, D("60"))
    assert ranking_pngs(block) == ranking_pngs(block)
    assert ranking_pngs(block) != ranking_pngs(other)
    assert area_comparison_png([block, other]) == area_comparison_png([block, other])
    counts = {"Sở, ban, ngành": {"submitted": 3, "late": 1}}
    assert progress_png(counts) == progress_png(counts)
    series = {"Sở Nội vụ": [(2023, D("81.5")), (2024, D("90"))]}
    assert trend_png(series) == trend_png(series)
    assert trend_png(series, lang="en") != trend_png(series)


def test_twenty_units_fit_on_one_ranking_page():
    pages = ranking_pngs(make_block(20))
    assert len(pages) == 1
    assert within_telegram_photo_limits(pages[0])


def test_three_hundred_units_are_paged_evenly_within_telegram_limits():
    block = make_block(300, name="Ủy ban nhân dân xã Phước Vĩnh An số {i} thuộc huyện Củ Chi, tỉnh Tây Ninh")
    pages = ranking_pngs(block)
    assert len(pages) == math.ceil(300 / charts.DEFAULT_PER_PAGE)
    assert all(within_telegram_photo_limits(p) for p in pages)
    assert len({png_size(p) for p in pages}) == 1  # every page has the same geometry

    tall = ranking_pngs(block, per_page=1000)  # more than one image may hold: capped
    assert len(tall) == math.ceil(300 / charts.max_ranking_rows())
    assert all(within_telegram_photo_limits(p) for p in tall)
    width, height = png_size(tall[0])
    assert width + height > 9_000  # the cap uses the room there is


def test_per_page_spreads_units_evenly_and_refuses_zero():
    assert charts.page_rows(31, 30) == 16
    assert charts.page_rows(300, 30) == 30
    assert len(ranking_pngs(make_block(31))) == 2
    with pytest.raises(ValueError):
        ranking_pngs(make_block(2), per_page=0)


def test_one_unit_and_no_unit():
    block = make_block(1)
    assert len(ranking_pngs(block)) == 1
    assert within_telegram_photo_limits(unit_summary_png(block.units[0], block))
    assert ranking_pngs(make_block(0)) == []


def _ranking_labels(block: BlockResult, rows: int = 30) -> list[str]:
    fig = charts.figure_in(charts.WIDTH_IN, 12)
    with charts.style():
        draw_ranking(fig, block, block.units, rows, 1, 1, "vi")
    return [label.get_text() for label in fig.axes[0].get_yticklabels()]


def test_ties_share_a_rank_in_the_chart():
    same = {f"X{i:03d}": marks_for(5) for i in range(3)}
    labels = _ranking_labels(make_block(3, marks=same))
    assert [label.split(".")[0] for label in labels] == ["1", "1", "1"]


def test_long_names_are_wrapped_and_shortened_legibly():
    long_name = ("Ủy ban nhân dân xã Phước Vĩnh An thuộc huyện Củ Chi thành phố Hồ Chí Minh "
                 "được thành lập theo Nghị quyết số {i} của Ủy ban Thường vụ Quốc hội")
    labels = _ranking_labels(make_block(2, name=long_name))
    for label in labels:
        lines = label.split("\n")
        assert len(lines) == 2 and all(len(line) <= 40 for line in lines)
        assert lines[0].startswith(("1. UBND xã", "2. UBND xã"))
        assert lines[-1].endswith("…")
    assert short_name("Sở Nội vụ", 40) == "Sở Nội vụ"


def test_unit_summary_states_index_rank_class_change_and_missing_survey():
    criteria = make_criteria()
    units = [UnitRef("A", "Xã An Bình", "xa"), UnitRef("B", "Xã Bình An", "xa")]
    marks = {"A": marks_for(1, survey=False), "B": marks_for(2)}
    block = compute_block(criteria, "Ủy ban nhân dân cấp xã", units, marks, BANDS)
    unit = next(u for u in block.units if u.unit.code == "A")
    fig = charts.figure_in(charts.WIDTH_IN, charts.summary_height(unit))
    with charts.style():
        draw_unit_summary(fig, unit, block, D("50"), "vi")
    text = "\n".join(t.get_text() for t in fig.texts)
    index = format(unit.index, "f").replace(".", ",")
    assert f"Chỉ số: {index}%" in text
    assert f"Xếp hạng: {unit.rank}/2" in text
    assert f"Xếp loại: {unit.classification}" in text
    assert "So với năm trước: " + ("+" if unit.index > 50 else "−") + format(abs(unit.index - 50), "f").replace(".", ",") in text
    assert "Chưa có điểm ĐTXHH: 1 tiêu chí" in text
    area_labels = [label.get_text() for label in fig.axes[0].get_yticklabels()]
    assert area_labels == ["1. Chỉ đạo, điều hành", "2. Cải cách thủ tục hành chính", "3. Sự hài lòng"]
    # Area 1 was appraised below the self-score: the self bar is drawn beside the appraised one.
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["Điểm tối đa", "Thẩm định", "Tự chấm", "Bình quân khối"]


def test_english_labels_and_unknown_language():
    block = make_block(2)
    fig = charts.figure_in(charts.WIDTH_IN, charts.summary_height(block.units[0]))
    with charts.style():
        draw_unit_summary(fig, block.units[0], block, None, "en")
    text = "\n".join(t.get_text() for t in fig.texts)
    assert "Rank: 1/2" in text and "Change from last year" not in text
    with pytest.raises(ValueError):
        unit_summary_png(block.units[0], block, lang="fr")


def test_all_zero_block_renders():
    zero = {f"X{i:03d}": {code: ItemMarks(self=D(0), survey=D(0)) for code in ("1.1", "1.2", "2.1")}
            for i in range(4)}
    block = make_block(4, marks=zero)
    assert {u.index for u in block.units} == {D("0.00")} and block.average_index == 0
    assert len(ranking_pngs(block)) == 1
    png_size(unit_summary_png(block.units[0], block, D("0")))
    png_size(area_comparison_png(block))


def test_progress_chart_checks_statuses_and_handles_empty_blocks():
    counts = {"Sở, ban, ngành": {"not_started": 2, "in_progress": 5, "submitted": 12, "late": 1},
              "Ủy ban nhân dân cấp xã": {"submitted": 180, "late": 20}, "Khối trống": {}}
    width, height = png_size(progress_png(counts))
    assert width == charts.WIDTH_IN * charts.DPI and height > 0
    with pytest.raises(ValueError, match="done"):
        progress_png({"Sở": {"done": 1}})


def test_area_comparison_takes_one_or_several_blocks():
    one = make_block(5)
    other = make_block(5, name="Phường {i}", block_name="Phường")
    single, double = area_comparison_png(one), area_comparison_png([one, other])
    assert png_size(double)[1] > png_size(single)[1]  # a bar per block per area
    with pytest.raises(ValueError):
        area_comparison_png([])


def test_trend_grows_with_its_legend():
    few = {"A": [(2022, D(70)), (2024, D(80))]}
    many = {f"Đơn vị {n}": [(2022, D(70 + n)), (2023, D(72 + n))] for n in range(8)}
    assert png_size(trend_png(many))[1] > png_size(trend_png(few))[1]
    png_size(trend_png({}))
