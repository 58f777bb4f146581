"""Charts as PNG bytes, drawn on ``matplotlib.figure.Figure`` with the Agg canvas (never pyplot).

Every chart is laid out in inches from the top of its figure rather than by constrained layout: that is
several times faster, gives pages of one ranking the same geometry, and lets the PDF report draw the same
charts onto A4 pages. Output is deterministic: fixed sizes and dpi, no "Software" metadata.
"""
from __future__ import annotations

import math
import os
import tempfile
import threading
from contextlib import contextmanager
from decimal import Decimal
from io import BytesIO
from typing import Iterator, Mapping, Sequence

# matplotlib writes its font cache under MPLCONFIGDIR; the service user's home may be read-only.
if "MPLCONFIGDIR" not in os.environ:
    _config_dir = os.path.join(tempfile.gettempdir(), f"parbot-matplotlib-{os.getuid()}")
    os.makedirs(_config_dir, exist_ok=True)
    os.environ["MPLCONFIGDIR"] = _config_dir

import matplotlib  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from parbot.core.decimals import to_decimal  # noqa: E402
from parbot.core.results import BlockResult, UnitResult  # noqa: E402

from . import abbreviate, class_label, num, short_name, signed, t  # noqa: E402

DPI = 160
WIDTH_IN = 8.0  # 1280 px: Telegram's usual photo size, so nothing is scaled down
# Telegram photo limits: width + height ≤ 10,000 px and a side ratio ≤ 20.
MAX_SIDES_PX = 10_000
MAX_RATIO = 20

RC = {
    "font.family": ["DejaVu Sans"],  # bundled with matplotlib; covers every Vietnamese letter
    "font.size": 10,
    "pdf.fonttype": 42,  # embed TrueType, so Vietnamese text renders and extracts from the PDF
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "legend.frameon": False,
    "text.parse_math": False,  # user text ("$\\foo$" in a unit's name) is drawn as written, never as mathtext
}
_LOCK = threading.RLock()  # rc_context changes global state; Agg serialises rendering anyway

BAND_COLOURS = ("#1a9850", "#4575b4", "#fdae61", "#f46d43", "#d73027", "#762a83")
NO_BAND_COLOUR = "#9e9e9e"
STATUS_COLOURS = {"not_started": "#bdbdbd", "in_progress": "#fdae61", "submitted": "#1a9850",
                  "late": "#d73027"}
STATUSES = tuple(STATUS_COLOURS)
SERIES_COLOURS = ("#4575b4", "#d73027", "#1a9850", "#762a83", "#f46d43", "#35978f", "#8c510a", "#de77ae")

# Ranking geometry, inches.
RANK_ROW = 0.32
RANK_TOP = 0.75
RANK_BOTTOM = 0.8
RANK_LABEL = 3.0
RANK_RIGHT = 0.55
DEFAULT_PER_PAGE = 30


@contextmanager
def style() -> Iterator[None]:
    """Draw and save inside this: the project's fonts and defaults, without touching global rcParams."""
    with _LOCK, matplotlib.rc_context(RC):
        yield


def font_path() -> str:
    """The font file the charts are drawn with."""
    with style():
        return font_manager.findfont(font_manager.FontProperties(), fallback_to_default=False)


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def figure_in(width_in: float, height_in: float) -> Figure:
    # Whole pixels, so sizes are exact and comparable with Telegram's limits.
    return Figure(figsize=(round(width_in * DPI) / DPI, round(height_in * DPI) / DPI), dpi=DPI)


def axes_at(fig: Figure, left: float, top: float, width: float, height: float):
    """Axes placed in inches from the figure's top-left corner."""
    w, h = fig.get_figwidth(), fig.get_figheight()
    return fig.add_axes((left / w, 1 - (top + height) / h, width / w, height / h))


def text_at(fig: Figure, x: float, top: float, text: str, **kwargs) -> None:
    w, h = fig.get_figwidth(), fig.get_figheight()
    fig.text(x / w, 1 - top / h, text, va="top", **kwargs)


def band_colours(block: BlockResult) -> dict[str, str]:
    ordered = sorted(block.bands, key=lambda b: b.min_index, reverse=True)
    return {band.label: BAND_COLOURS[i % len(BAND_COLOURS)] for i, band in enumerate(ordered)}


# ----------------------------------------------------------------------------------------------------
# Unit summary

SUMMARY_HEADER = 1.55
SUMMARY_ROW = 0.5
SUMMARY_BOTTOM = 0.75
SUMMARY_TITLE_LINE = 0.3


def _summary_title(result: UnitResult) -> str:
    return short_name(result.unit.name, 62)


def summary_height(result: UnitResult) -> float:
    extra = SUMMARY_TITLE_LINE * _summary_title(result).count("\n")
    return SUMMARY_HEADER + extra + SUMMARY_ROW * max(len(result.areas), 1) + SUMMARY_BOTTOM


def _decimal_ticks(ax, lang: str) -> None:
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: num(to_decimal(float(x)), lang, False)))


def draw_unit_summary(fig: Figure, result: UnitResult, block: BlockResult, previous_index: Decimal | None,
                      lang: str, top: float = 0.0) -> float:
    """Draw the summary from ``top`` (inches) down; return where it ends."""
    width = fig.get_figwidth()

    def pts(value: Decimal) -> str:  # points at the criteria set's precision (3 for 97,685)
        return num(value, lang, False, block.points_decimals)

    title = _summary_title(result)
    text_at(fig, 0.3, top + 0.15, title, fontsize=13, fontweight="bold", linespacing=1.15)
    top += SUMMARY_TITLE_LINE * title.count("\n")
    text_at(fig, 0.3, top + 0.5, f"{t(lang, 'summary_title', year=block.year)} · {block.block_name}",
          fontsize=10, color="#555555")
    rank = f"{result.rank}/{result.rank_of}" if result.rank else "—"
    facts = [f"{t(lang, 'index')}: {num(result.index, lang)}%", f"{t(lang, 'rank')}: {rank}",
             f"{t(lang, 'class')}: {class_label(result, lang)}"]
    if previous_index is not None:
        facts.append(f"{t(lang, 'change')}: {signed(result.index - previous_index, lang)}")
    text_at(fig, 0.3, top + 0.8, "   ·   ".join(facts), fontsize=11, fontweight="bold")
    points = [f"{t(lang, 'total')}: {pts(result.total)}/{pts(result.maximum)}",
              f"{t(lang, 'self')}: {pts(result.self_total)}"]
    if result.bonus:
        points.append(f"{t(lang, 'bonus')}: {pts(result.bonus)}")
    if result.deduction:
        points.append(f"{t(lang, 'deduction')}: {pts(result.deduction)}")
    if result.missing_survey:
        points.append(t(lang, "missing_survey", n=result.missing_survey))
    text_at(fig, 0.3, top + 1.12, "   ·   ".join(points), fontsize=9.5)

    areas = result.areas
    label_w, right_w = 2.5, 1.45
    plot_h = SUMMARY_ROW * max(len(areas), 1)
    ax = axes_at(fig, label_w, top + SUMMARY_HEADER, width - label_w - right_w, plot_h)
    averages = block.area_averages()
    differs = any(a.self_points != a.points for a in areas)
    colour = band_colours(block).get(result.classification or "", BAND_COLOURS[1])
    for row, area in enumerate(areas):
        ax.barh(row, float(area.maximum), height=0.72, color="#eeeeee", edgecolor="#9e9e9e", linewidth=0.6)
        if area.self_points != area.points:
            ax.barh(row - 0.17, float(area.self_points), height=0.3, color="white", edgecolor=colour,
                    hatch="////", linewidth=0.8)
            ax.barh(row + 0.17, float(area.points), height=0.3, color=colour)
        else:
            ax.barh(row, float(area.points), height=0.45, color=colour)
        average = averages.get(area.code)
        if average is not None and area.maximum > 0:
            ax.plot(float(average * area.maximum / 100), row, marker="D", color="black", markersize=4.5)
        note = f"{pts(area.points)}/{pts(area.maximum)} ({num(area.index, lang)}%)"
        if area.self_points != area.points:
            note += f"\n{t(lang, 'self')}: {pts(area.self_points)}"
        ax.text(1.02, row, note, transform=ax.get_yaxis_transform(), va="center", fontsize=8.5)
    ax.set_yticks(range(len(areas)),
                  [short_name(f"{a.code}. {a.short or a.name}", 30) for a in areas], fontsize=8.5)
    ax.set_ylim(len(areas) - 0.5, -0.5)
    ax.set_xlim(0, max([float(a.maximum) for a in areas] + [1.0]) * 1.02)
    ax.set_xlabel(t(lang, "points"), fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    _decimal_ticks(ax, lang)
    handles = [Patch(facecolor="#eeeeee", edgecolor="#9e9e9e", label=t(lang, "maximum")),
               Patch(facecolor=colour, label=t(lang, "appraised") if differs else t(lang, "points"))]
    if differs:
        handles.append(Patch(facecolor="white", edgecolor=colour, hatch="////", label=t(lang, "self")))
    handles.append(Line2D([], [], color="black", marker="D", linestyle="none", markersize=4.5,
                          label=t(lang, "block_average")))
    end = top + SUMMARY_HEADER + plot_h + SUMMARY_BOTTOM
    fig.legend(handles=handles, loc="lower center", ncols=len(handles), fontsize=8.5,
               bbox_to_anchor=(0.5, 1 - end / fig.get_figheight()))
    return end


def unit_summary_png(result: UnitResult, block: BlockResult, previous_index: Decimal | None = None,
                     lang: str = "vi") -> bytes:
    """One unit's result: per area its points against the maximum (self-scored beside appraised where they
    differ) and the block's average, with its index, rank "k/N", class and change from last year."""
    with style():
        fig = figure_in(WIDTH_IN, summary_height(result))
        draw_unit_summary(fig, result, block, previous_index, lang)
        return _png(fig)


# ----------------------------------------------------------------------------------------------------
# Ranking

def max_ranking_rows(width_in: float = WIDTH_IN) -> int:
    """Most rows a ranking image can hold within Telegram's photo limits."""
    width_px = round(width_in * DPI)
    height_px = min(MAX_SIDES_PX - width_px, MAX_RATIO * width_px)
    return int((height_px / DPI - RANK_TOP - RANK_BOTTOM) / RANK_ROW)


def page_rows(count: int, per_page: int) -> int:
    """Rows per page when ``count`` units are spread evenly over as few pages of ``per_page`` as possible."""
    pages = max(math.ceil(count / per_page), 1)
    return max(math.ceil(count / pages), 1)


def draw_ranking(fig: Figure, block: BlockResult, units: Sequence[UnitResult], rows: int, page: int,
                 pages: int, lang: str) -> None:
    """Horizontal bars of ``units`` (one page of the block's ranking) coloured by class, with the block
    average and the class thresholds; ``rows`` fixes the bar pitch so every page looks alike."""
    width = fig.get_figwidth()
    height = fig.get_figheight()
    colours = band_colours(block)
    title = t(lang, "ranking_title", year=block.year, block=block.block_name)
    if pages > 1:
        title += f" · {t(lang, 'page', page=page, pages=pages)}"
    text_at(fig, 0.3, 0.2, title, fontsize=12, fontweight="bold")
    plot_h = height - RANK_TOP - RANK_BOTTOM
    ax = axes_at(fig, RANK_LABEL, RANK_TOP, width - RANK_LABEL - RANK_RIGHT, plot_h)
    positions = range(len(units))
    ax.barh(positions, [float(u.index) for u in units], height=0.7,
            color=[colours.get(u.classification or "", NO_BAND_COLOUR) for u in units])
    for row, unit in enumerate(units):
        ax.text(float(unit.index) + 0.8, row, num(unit.index, lang), va="center", fontsize=8)
    ax.set_yticks(positions, [short_name(f"{u.rank}. {abbreviate(u.unit.name)}", 40) for u in units], fontsize=8.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel(t(lang, "index_pct"), fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.axvline(float(block.average_index), color="black", linewidth=1.2)
    for band in block.bands:
        if band.min_index > 0:
            ax.axvline(float(band.min_index), color=colours[band.label], linestyle="--", linewidth=0.9)
    handles = [Patch(color=colours[b.label], label=f"{b.label} ({'>' if b.exclusive else '≥'} "
                                                    f"{num(b.min_index, lang, False)})")
               for b in sorted(block.bands, key=lambda b: b.min_index, reverse=True)]
    handles.append(Line2D([], [], color="black", linewidth=1.2,
                          label=f"{t(lang, 'block_average')}: {num(block.average_index, lang)}"))
    fig.legend(handles=handles, loc="lower center", ncols=min(len(handles), 4), fontsize=8,
               bbox_to_anchor=(0.5, 0.0))


def ranking_pngs(block: BlockResult, lang: str = "vi", per_page: int | None = None) -> list[bytes]:
    """The block's ranking as pages of at most ``per_page`` units (30 by default; capped so each page
    stays within Telegram's photo limits), spread evenly; no pages for a block without units."""
    limit = min(DEFAULT_PER_PAGE if per_page is None else per_page, max_ranking_rows())
    if limit < 1:
        raise ValueError("per_page must be at least 1")
    units = block.ranked  # units left out of the ranking have no bar
    rows = page_rows(len(units), limit)
    chunks = [units[i:i + rows] for i in range(0, len(units), rows)]
    out = []
    with style():
        for page, chunk in enumerate(chunks, start=1):
            fig = figure_in(WIDTH_IN, RANK_TOP + rows * RANK_ROW + RANK_BOTTOM)
            draw_ranking(fig, block, chunk, rows, page, len(chunks), lang)
            out.append(_png(fig))
    return out


# ----------------------------------------------------------------------------------------------------
# Progress, area comparison, trend

def progress_png(counts: Mapping[str, Mapping[str, int]], lang: str = "vi") -> bytes:
    """Per block (keyed by its display name), the share of units not started / in progress / submitted /
    late, as 100 % stacked bars with the counts written in."""
    for name, by_status in counts.items():
        unknown = set(by_status) - set(STATUSES)
        if unknown:
            raise ValueError(f"{name}: unknown status {sorted(unknown)}; use {STATUSES}")
    names = list(counts)
    with style():
        fig = figure_in(WIDTH_IN, 1.5 + 0.55 * max(len(names), 1))
        text_at(fig, 0.3, 0.2, t(lang, "progress_title"), fontsize=12, fontweight="bold")
        ax = axes_at(fig, 2.6, 0.65, WIDTH_IN - 2.6 - 0.4, 0.55 * max(len(names), 1))
        totals = [sum(counts[n].values()) for n in names]
        left = [0.0] * len(names)
        for status in STATUSES:
            values = [counts[n].get(status, 0) for n in names]
            shares = [100 * v / total if total else 0.0 for v, total in zip(values, totals)]
            ax.barh(range(len(names)), shares, left=left, height=0.65, color=STATUS_COLOURS[status],
                    label=t(lang, status))
            for row, (value, share, start) in enumerate(zip(values, shares, left)):
                if share >= 4:
                    ax.text(start + share / 2, row, str(value), ha="center", va="center", fontsize=8.5)
            left = [a + b for a, b in zip(left, shares)]
        ax.set_yticks(range(len(names)),
                      [f"{short_name(n, 30)}\n({t(lang, 'units_count', n=total)})"
                       for n, total in zip(names, totals)], fontsize=8.5)
        ax.set_ylim(max(len(names), 1) - 0.5, -0.5)
        ax.set_xlim(0, 100)
        ax.set_xlabel(t(lang, "units_pct"), fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        fig.legend(loc="lower center", ncols=len(STATUSES), fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
        return _png(fig)


def _area_labels(blocks: Sequence[BlockResult]) -> dict[str, str]:
    """Area code → label, in order of first appearance across the blocks."""
    labels: dict[str, str] = {}
    for block in blocks:
        for unit in block.units[:1]:
            for area in unit.areas:
                labels.setdefault(area.code, f"{area.code}. {area.short or area.name}")
    return labels


def area_comparison_height(blocks: Sequence[BlockResult]) -> float:
    return 1.55 + len(_area_labels(blocks)) * (0.28 * len(blocks) + 0.25)


def draw_area_comparison(fig: Figure, blocks: Sequence[BlockResult], lang: str,
                         height: float | None = None) -> None:
    """Draw into the top ``height`` inches of ``fig`` (all of it by default)."""
    labels = _area_labels(blocks)
    years = sorted({b.year for b in blocks})
    title = t(lang, "area_title_year", year=years[0]) if len(years) == 1 else t(lang, "area_title")
    text_at(fig, 0.3, 0.2, title, fontsize=12, fontweight="bold")
    width = fig.get_figwidth()
    height = height or fig.get_figheight()
    ax = axes_at(fig, 2.8, 0.65, width - 2.8 - 0.5, height - 0.65 - 0.9)
    bar = 0.8 / len(blocks)
    codes = list(labels)
    for b, block in enumerate(blocks):
        averages = block.area_averages()
        rows = [r for r, code in enumerate(codes) if code in averages]
        values = [averages[codes[r]] for r in rows]
        offsets = [r - 0.4 + bar * (b + 0.5) for r in rows]
        ax.barh(offsets, [float(v) for v in values], height=bar * 0.9,
                color=SERIES_COLOURS[b % len(SERIES_COLOURS)], label=block.block_name)
        for y, value in zip(offsets, values):
            ax.text(float(value) + 0.8, y, num(value, lang), va="center", fontsize=8)
    ax.set_yticks(range(len(codes)), [short_name(labels[c], 32) for c in codes], fontsize=8.5)
    ax.set_ylim(max(len(codes), 1) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel(t(lang, "index_pct"), fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    fig.legend(loc="lower center", ncols=min(len(blocks), 3), fontsize=8.5,
               bbox_to_anchor=(0.5, 1 - height / fig.get_figheight()))


def area_comparison_png(block: BlockResult | Sequence[BlockResult], lang: str = "vi") -> bytes:
    """Average index per area (``BlockResult.area_averages``), one bar per block: where reform lags."""
    blocks = [block] if isinstance(block, BlockResult) else list(block)
    if not blocks:
        raise ValueError("no blocks to compare")
    with style():
        fig = figure_in(WIDTH_IN, area_comparison_height(blocks))
        draw_area_comparison(fig, blocks, lang)
        return _png(fig)


def trend_png(series: Mapping[str, Sequence[tuple[int, Decimal]]], lang: str = "vi") -> bytes:
    """The index over the years, one line per label (a unit, or a block's average)."""
    years = sorted({year for points in series.values() for year, _ in points})
    values = [float(v) for points in series.values() for _, v in points]
    legend_rows = math.ceil(len(series) / 3)
    with style():
        fig = figure_in(WIDTH_IN, 4.5 + 0.25 * legend_rows)
        text_at(fig, 0.3, 0.2, t(lang, "trend_title"), fontsize=12, fontweight="bold")
        ax = axes_at(fig, 0.8, 0.7, WIDTH_IN - 1.3, 3.1)
        for i, (label, points) in enumerate(series.items()):
            ordered = sorted(points)
            xs = [year for year, _ in ordered]
            ys = [float(v) for _, v in ordered]
            colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            ax.plot(xs, ys, marker="o", color=colour, label=short_name(label, 40, 1))
            annotated = ordered if len(series) == 1 else ordered[-1:]
            for year, value in annotated:
                ax.annotate(num(value, lang), (year, float(value)), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=8, color=colour)
        ax.set_xticks(years, [str(y) for y in years])
        if years:
            ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        low = min(values, default=0.0)
        ax.set_ylim(max(0.0, math.floor((low - 5) / 10) * 10), 102)
        ax.set_xlabel(t(lang, "year"), fontsize=9)
        ax.set_ylabel(t(lang, "index_pct"), fontsize=9)
        ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        ax.tick_params(labelsize=8)
        if series:
            fig.legend(loc="lower center", ncols=min(len(series), 3), fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
        return _png(fig)
