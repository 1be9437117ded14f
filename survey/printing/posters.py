"""Printable survey posters: one PDF page per counter, with the counter's QR code.

Two sizes (see docs/posters.md): "a4" is an A4 portrait wall poster; "a6" is an A6
portrait card (105 x 148 mm) for the acrylic stand-up holders on the counter desk.
Text is set in Be Vietnam Pro (SIL OFL 1.1), embedded from the pinned
fontpkg-be-vietnam-pro package, so Vietnamese renders the same on every machine and
stays extractable. The QR code is drawn as vector rectangles: sharp at any printer
resolution and much faster than placing a bitmap on every page.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from io import BytesIO

import fontpkg_be_vietnam_pro
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from survey.printing.qr import QUIET_ZONE, dark_runs, qr_matrix

REGULAR = "BeVietnamPro"
BOLD = "BeVietnamPro-Bold"

CALL_TO_ACTION = "Quét mã QR để đánh giá mức độ hài lòng"
CALL_TO_ACTION_EN = "Scan the QR code to rate our service"
URL_LABEL = "Hoặc nhập địa chỉ / Or type the address:"
ANONYMOUS_NOTE = "Khảo sát ẩn danh, chỉ mất khoảng 2 phút."

NAVY = HexColor("#163A6B")
RED = HexColor("#B3261E")
INK = HexColor("#1A1A1A")
GREY = HexColor("#4D4D4D")

# Where a line's baseline sits below the top of its line box, in ems. The font's ascent
# is 1.0 em; Vietnamese stacked marks (Ấ, Ủ) reach 1.22 em and use the line gap above.
BASELINE_DROP = 1.05


@dataclass(frozen=True)
class PosterInfo:
    """What one poster shows: the counter, its survey URL and the print date."""

    agency_name: str
    counter_name: str
    url: str  # the full survey URL, encoded in the QR code
    short_url: str  # printed under the code for people who type it, e.g. without the scheme
    questionnaire_name: str
    printed_on: date


@dataclass(frozen=True)
class _TextStyle:
    """How one block of text is set: preferred size, the size it may shrink to, line cap."""

    font: str
    size: float
    min_size: float
    max_lines: int
    color: Color
    leading: float = 1.3  # line height in ems; Vietnamese needs room for stacked marks


@dataclass(frozen=True)
class _Layout:
    """Page geometry and type for one poster size."""

    page: tuple[float, float]
    margin: float
    band_pad: float  # space above and below the agency name inside the top band
    gap: float  # space between blocks
    agency: _TextStyle
    counter: _TextStyle
    cta: _TextStyle
    cta_text: str
    english: _TextStyle
    url_label: _TextStyle
    url: _TextStyle
    note: _TextStyle
    footer: _TextStyle
    bottom_band: float
    qr_min: float  # below this QR width (quiet zone excluded) the text is set compact
    qr_max: float  # widest it is drawn


LAYOUTS = {
    "a4": _Layout(
        page=A4,
        margin=15 * mm,
        band_pad=9 * mm,
        gap=6 * mm,
        agency=_TextStyle(BOLD, 21, 15, 3, white),
        counter=_TextStyle(BOLD, 30, 20, 3, NAVY, leading=1.2),
        cta=_TextStyle(BOLD, 28, 20, 2, RED, leading=1.2),
        # A hand-picked break reads better than the greedy one ("... mức độ / hài lòng").
        cta_text="Quét mã QR để đánh giá\nmức độ hài lòng",
        english=_TextStyle(REGULAR, 15, 12, 1, GREY),
        url_label=_TextStyle(REGULAR, 10, 10, 1, GREY),
        url=_TextStyle(BOLD, 17, 17, 1, INK),
        note=_TextStyle(REGULAR, 11, 11, 1, GREY),
        footer=_TextStyle(REGULAR, 10, 8, 2, GREY),
        bottom_band=4 * mm,
        qr_min=82 * mm,  # 80 mm promised, and a little to spare
        qr_max=120 * mm,
    ),
    "a6": _Layout(
        page=A6,
        margin=6 * mm,
        band_pad=4.5 * mm,
        gap=2.2 * mm,
        agency=_TextStyle(BOLD, 9.5, 7.5, 3, white, leading=1.25),
        counter=_TextStyle(BOLD, 13, 10, 3, NAVY, leading=1.2),
        cta=_TextStyle(BOLD, 12, 10, 1, RED),
        cta_text=CALL_TO_ACTION,
        english=_TextStyle(REGULAR, 8, 7, 1, GREY),
        url_label=_TextStyle(REGULAR, 6, 6, 1, GREY),
        url=_TextStyle(BOLD, 9, 9, 1, INK),
        note=_TextStyle(REGULAR, 6.5, 6.5, 1, GREY),
        footer=_TextStyle(REGULAR, 6, 5.5, 2, GREY),
        bottom_band=2 * mm,
        qr_min=62 * mm,  # 60 mm promised, and a little to spare
        qr_max=90 * mm,
    ),
}


@cache
def register_fonts() -> tuple[str, str]:
    """Register Be Vietnam Pro regular and bold with reportlab (once) and return their names."""
    files = fontpkg_be_vietnam_pro.ROOT / "files"
    pdfmetrics.registerFont(TTFont(REGULAR, str(files / "BeVietnamPro-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(files / "BeVietnamPro-Bold.ttf")))
    return REGULAR, BOLD


def render_posters(
    posters: Iterable[PosterInfo],
    size: str = "a4",
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """Return one PDF with a page per poster; `size` is "a4" (wall) or "a6" (table card)."""
    layout = LAYOUTS.get(size)
    if layout is None:
        raise ValueError(f"unknown poster size {size!r}; use one of {sorted(LAYOUTS)}")
    register_fonts()
    buffer = BytesIO()
    # The initial font is one of ours: reportlab's default, Helvetica, would be named in
    # every page (unembedded) even though no text uses it.
    canvas = Canvas(buffer, pagesize=layout.page, pageCompression=1, initialFontName=REGULAR)
    canvas.setTitle("Mã QR khảo sát mức độ hài lòng")
    canvas.setCreator("sipas-counter-survey")
    pages = 0
    for poster in posters:
        _draw_poster(canvas, layout, _normalised(poster))
        canvas.showPage()
        pages += 1
        if progress is not None:
            progress(1)
    if pages == 0:
        raise ValueError("no posters to render")
    canvas.save()
    return buffer.getvalue()


def _normalised(poster: PosterInfo) -> PosterInfo:
    """Return `poster` with its text in NFC.

    reportlab places one glyph per character and does no mark positioning, so decomposed
    input (a base letter followed by combining marks, as some keyboards and exports
    produce) would print the marks misplaced. Be Vietnam Pro has every precomposed letter.
    """

    def nfc(text: str) -> str:
        return unicodedata.normalize("NFC", " ".join(text.split()))

    return PosterInfo(
        agency_name=nfc(poster.agency_name),
        counter_name=nfc(poster.counter_name),
        url=poster.url,
        short_url=nfc(poster.short_url),
        questionnaire_name=nfc(poster.questionnaire_name),
        printed_on=poster.printed_on,
    )


@dataclass(frozen=True)
class _Block:
    """Lines of text fitted to the width, with the size and style they are set in."""

    lines: list[str]
    size: float
    style: _TextStyle

    @property
    def height(self) -> float:
        """Return the height the block takes on the page."""
        return len(self.lines) * self.style.leading * self.size


@dataclass(frozen=True)
class _Plan:
    """The fitted text of one page; each block above or below the QR has its gap above it."""

    agency: _Block
    above: list[tuple[float, _Block]]
    below: list[tuple[float, _Block]]


def _draw_poster(canvas: Canvas, layout: _Layout, poster: PosterInfo) -> None:
    """Draw one poster on the current page: text at the top and foot, the QR code between."""
    matrix = qr_matrix(poster.url)
    plan = _plan(layout, poster)
    if _qr_width(layout, plan, len(matrix)) < layout.qr_min:
        # Only very long names get here: set the text at its smallest and closer together
        # so the code keeps the width promised for scanning.
        layout = _compact(layout)
        plan = _plan(layout, poster)
    page_width, page_height = layout.page
    centre = page_width / 2

    band_bottom = page_height - _band_height(layout, plan)
    canvas.setFillColor(NAVY)
    canvas.rect(0, band_bottom, page_width, page_height - band_bottom, stroke=0, fill=1)
    canvas.rect(0, 0, page_width, layout.bottom_band, stroke=0, fill=1)
    _draw_block(canvas, plan.agency, centre, page_height - layout.band_pad)

    y = band_bottom
    for gap, block in plan.above:
        y = _draw_block(canvas, block, centre, y - gap)
    qr_top = y
    qr_bottom = y = _foot_height(layout, plan)
    for gap, block in plan.below:
        y = _draw_block(canvas, block, centre, y - gap)

    _draw_qr(canvas, layout, matrix, qr_top, qr_bottom)


def _plan(layout: _Layout, poster: PosterInfo) -> _Plan:
    """Fit every text of `poster` to the page width of `layout`."""
    width = layout.page[0] - 2 * layout.margin
    return _Plan(
        agency=_fit(poster.agency_name, layout.agency, width),
        above=[
            (layout.gap, _fit(poster.counter_name, layout.counter, width)),
            (layout.gap, _fit(layout.cta_text, layout.cta, width)),
            (layout.gap / 3, _fit(CALL_TO_ACTION_EN, layout.english, width)),
        ],
        below=[
            (0, _fit(URL_LABEL, layout.url_label, width)),
            (0, _fit_one_line(poster.short_url, layout.url, width)),
            (0, _fit(ANONYMOUS_NOTE, layout.note, width)),
            (layout.gap, _fit(poster.questionnaire_name, layout.footer, width)),
            (0, _fit(f"In ngày {poster.printed_on:%d/%m/%Y}", layout.footer, width)),
        ],
    )


def _compact(layout: _Layout) -> _Layout:
    """Return `layout` with every text style at its minimum size and half the gaps."""
    names = ("agency", "counter", "cta", "english", "url_label", "note", "footer")
    smallest = {}
    for name in names:
        style = getattr(layout, name)
        smallest[name] = replace(style, size=style.min_size)
    return replace(layout, gap=layout.gap / 2, **smallest)


def _band_height(layout: _Layout, plan: _Plan) -> float:
    """Return the height of the coloured band at the top, which holds the agency name."""
    return 2 * layout.band_pad + plan.agency.height


def _foot_height(layout: _Layout, plan: _Plan) -> float:
    """Return the height taken at the foot of the page, up to the top of the blocks below the QR."""
    blocks = sum(gap + block.height for gap, block in plan.below)
    return layout.bottom_band + layout.margin / 2 + blocks


def _qr_area(layout: _Layout, plan: _Plan) -> tuple[float, float]:
    """Return the top and bottom y of the space left for the QR code and its quiet zone."""
    top = layout.page[1] - _band_height(layout, plan)
    top -= sum(gap + block.height for gap, block in plan.above)
    return top, _foot_height(layout, plan)


def _module_size(layout: _Layout, modules: int, top: float, bottom: float) -> float:
    """Return the size of one QR module so the code is as large as fits, quiet zone kept."""
    page_width = layout.page[0]
    return min(
        (top - bottom) / (modules + 2 * QUIET_ZONE),  # quiet zone clear of the text
        (page_width - 2 * layout.margin) / modules,  # symbol within the text margins
        page_width / (modules + 2 * QUIET_ZONE),  # quiet zone may use the page margin
        layout.qr_max / modules,
    )


def _qr_width(layout: _Layout, plan: _Plan, modules: int) -> float:
    """Return how wide the QR symbol comes out with the text of `plan`."""
    return modules * _module_size(layout, modules, *_qr_area(layout, plan))


def _draw_qr(
    canvas: Canvas, layout: _Layout, matrix: list[list[bool]], top: float, bottom: float
) -> None:
    """Draw the QR symbol centred between `top` and `bottom`, as large as fits."""
    module = _module_size(layout, len(matrix), top, bottom)
    side = len(matrix) * module
    x = (layout.page[0] - side) / 2
    y = (top + bottom) / 2 + side / 2  # top edge of the symbol
    canvas.saveState()
    # Work in module units with y pointing down, so every rectangle has small integer
    # coordinates: quicker to write and to compress than fractional points.
    canvas.transform(module, 0, 0, -module, x, y)
    path = canvas.beginPath()
    for row, column, length in dark_runs(matrix):
        path.rect(column, row, length, 1)
    canvas.setFillColor(INK)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _fit(text: str, style: _TextStyle, width: float) -> _Block:
    """Return `text` set as large as fits in `style.max_lines` even lines of `width`.

    Only if it does not fit even at the minimum size is the last line cut with an ellipsis.
    """
    size = style.size
    while size > style.min_size and len(_wrap(text, style.font, size, width)) > style.max_lines:
        size = max(style.min_size, size - 1)
    lines = _wrap(text, style.font, size, width)
    if len(lines) > style.max_lines:
        lines = _truncate(lines[: style.max_lines], style.font, size, width)
    return _Block(lines, size, style)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap `text` into even lines no wider than `width`, preferring breaks between clauses."""
    # A dash never starts a line: glue it to the word before with a no-break space.
    text = text.replace(" – ", "\u00a0– ").replace(" - ", "\u00a0- ")
    plain = _balanced(text, font, size, width)
    by_clause = _clause_wrap(text, font, size, width)
    return by_clause if len(by_clause) <= len(plain) else plain


def _clause_wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap `text` breaking after commas and dashes where possible.

    "Ủy ban nhân dân phường Nguyễn Trung Trực, / thành phố Rạch Giá" keeps a place name
    whole where even lines would split it after "Nguyễn".
    """
    lines: list[str] = []
    for clause in re.split(r"(?<=[,–-]) ", text):
        joined = f"{lines[-1]} {clause}" if lines else clause
        if lines and pdfmetrics.stringWidth(joined, font, size) <= width:
            lines[-1] = joined
        else:
            lines.extend(_balanced(clause, font, size, width))
    return lines


def _balanced(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap `text` (hard breaks at newlines) into lines of even length no wider than `width`."""
    lines = simpleSplit(text, font, size, width)
    if len(lines) < 2 or "\n" in text:
        return lines
    # Greedy wrapping leaves a short last line ("... thành phố / Rạch Giá"); find the
    # narrowest width that still needs no more lines, so the lines come out even.
    low, high = width / len(lines), width
    for _ in range(8):
        middle = (low + high) / 2
        if len(simpleSplit(text, font, size, middle)) > len(lines):
            low = middle
        else:
            high = middle
    return simpleSplit(text, font, size, high)


def _truncate(lines: list[str], font: str, size: float, width: float) -> list[str]:
    """End the last of `lines` with an ellipsis, dropping words until it fits `width`."""
    words = lines[-1].split()
    while words and pdfmetrics.stringWidth(" ".join(words) + " …", font, size) > width:
        words.pop()
    return lines[:-1] + [" ".join(words + ["…"])]


def _fit_one_line(text: str, style: _TextStyle, width: float) -> _Block:
    """Return `text` as one line, set smaller than the style's size if that is what fits.

    An address is never broken or cut: people type it from the poster.
    """
    natural = pdfmetrics.stringWidth(text, style.font, style.size)
    size = style.size if natural <= width else style.size * width / natural
    return _Block([text], size, style)


def _draw_block(canvas: Canvas, block: _Block, centre: float, top: float) -> float:
    """Draw `block` centred on `centre` below `top` and return the y just below it."""
    canvas.setFillColor(block.style.color)
    canvas.setFont(block.style.font, block.size)
    for line in block.lines:
        canvas.drawCentredString(centre, top - BASELINE_DROP * block.size, line)
        top -= block.style.leading * block.size
    return top
