"""Charts drawn on the server: one geometry, given as inline SVG (no JavaScript, no outside
requests, a few KB) or as a PNG drawn with Pillow in the Be Vietnam Pro font.

Suppressed values never reach a chart: the callers give them as `left_out` names, and the chart
lists them below the plot as not published. Caution values are drawn hollow, in orange, with
"(caution)" beside their label.
"""

import io
from dataclasses import dataclass, field
from functools import cache

import fontpkg_be_vietnam_pro
from markupsafe import Markup, escape
from PIL import Image, ImageColor, ImageDraw, ImageFont

FONT_FILE = fontpkg_be_vietnam_pro.ROOT / "files" / "BeVietnamPro-Regular.ttf"
BOLD_FILE = fontpkg_be_vietnam_pro.ROOT / "files" / "BeVietnamPro-SemiBold.ttf"
FAMILY = f"'{fontpkg_be_vietnam_pro.FAMILY}',system-ui,sans-serif"
INK, GREY, GRID, BLUE, ORANGE = "#1a1a1a", "#444444", "#dde2e7", "#0b4f9c", "#b35c00"
SMALL, NORMAL = 11, 12


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BOLD_FILE if bold else FONT_FILE), size)


def text_width(text: str, size: int = NORMAL, bold: bool = False) -> float:
    """Return the width of `text` in pixels in Be Vietnam Pro (its glyphs are wide: a safe bound
    for the browser's fallback fonts too)."""
    return _font(size, bold).getlength(text)


def wrap(text: str, width: float, size: int = NORMAL) -> list[str]:
    """Split `text` into lines no wider than `width` at spaces; a word is never cut."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


@dataclass
class Chart:
    """Shapes in pixels: ("line", x1, y1, x2, y2, colour, width), ("polyline", points, colour,
    width), ("circle", x, y, r, fill,
    stroke), ("polygon", points, colour, opacity), ("text", x, y, text, size, anchor, colour,
    bold); anchor is start, middle or end and y the baseline."""

    width: int
    height: int
    title: str
    shapes: list[tuple] = field(default_factory=list)

    def svg(self) -> Markup:
        """Return the chart as an SVG element (standalone too: it declares its namespace)."""
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'width="100%" role="img" aria-label="{escape(self.title)}" '
            f'font-family="{FAMILY}" font-size="{NORMAL}"><title>{escape(self.title)}</title>'
        ]
        for shape in self.shapes:
            kind = shape[0]
            if kind == "line":
                _, x1, y1, x2, y2, colour, width = shape
                parts.append(
                    f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                    f'stroke="{colour}" stroke-width="{width}"/>'
                )
            elif kind == "polyline":
                _, points, colour, width = shape
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                parts.append(
                    f'<polyline points="{path}" fill="none" stroke="{colour}" '
                    f'stroke-width="{width}"/>'
                )
            elif kind == "circle":
                _, x, y, r, fill, stroke = shape
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" stroke="{stroke}" '
                    'stroke-width="2"/>'
                )
            elif kind == "polygon":
                _, points, colour, opacity = shape
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                parts.append(f'<polygon points="{path}" fill="{colour}" fill-opacity="{opacity}"/>')
            else:
                _, x, y, text, size, anchor, colour, bold = shape
                weight = ' font-weight="600"' if bold else ""
                parts.append(
                    f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                    f'fill="{colour}"{weight}>{escape(text)}</text>'
                )
        parts.append("</svg>")
        return Markup("".join(parts))

    def png(self, scale: int = 2) -> bytes:
        """Return the chart as a PNG of (width * scale) x (height * scale) pixels."""
        image = Image.new("RGBA", (self.width * scale, self.height * scale), "white")
        draw = ImageDraw.Draw(image)
        anchors = {"start": "ls", "middle": "ms", "end": "rs"}
        for shape in self.shapes:
            kind = shape[0]
            if kind == "line":
                _, x1, y1, x2, y2, colour, width = shape
                draw.line(
                    [(x1 * scale, y1 * scale), (x2 * scale, y2 * scale)],
                    fill=colour,
                    width=max(1, round(width * scale)),
                )
            elif kind == "polyline":
                _, points, colour, width = shape
                draw.line(
                    [(x * scale, y * scale) for x, y in points],
                    fill=colour,
                    width=round(width * scale),
                    joint="curve",
                )
            elif kind == "circle":
                _, x, y, r, fill, stroke = shape
                box = [(x - r) * scale, (y - r) * scale, (x + r) * scale, (y + r) * scale]
                draw.ellipse(box, fill=fill, outline=stroke, width=2 * scale)
            elif kind == "polygon":
                _, points, colour, opacity = shape
                layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
                rgb = ImageColor.getrgb(colour)[:3]
                ImageDraw.Draw(layer).polygon(
                    [(x * scale, y * scale) for x, y in points], fill=(*rgb, round(255 * opacity))
                )
                image.alpha_composite(layer)
                draw = ImageDraw.Draw(image)
            else:
                _, x, y, text, size, anchor, colour, bold = shape
                draw.text(
                    (x * scale, y * scale),
                    text,
                    fill=colour,
                    font=_font(size * scale, bold),
                    anchor=anchors[anchor],
                )
        out = io.BytesIO()
        image.convert("RGB").save(out, format="PNG", optimize=True)
        return out.getvalue()


@dataclass(frozen=True)
class Item:
    """One value to draw: its label, estimate and interval (0-100), and whether it needs
    caution. Suppressed values are never items."""

    label: str
    estimate: float
    ci_low: float | None
    ci_high: float | None
    caution: bool = False


@dataclass(frozen=True)
class Words:
    """The words around a chart, in the reader's language."""

    title: str
    axis: str  # the value axis
    caption: str  # design, confidence level and period
    caution: str  # "(caution)"
    left_out: str  # "Not published: "
    period_axis: str = ""  # the trend's time axis


def _text_block(chart: Chart, y: float, text: str, size: int = SMALL, bold: bool = False) -> float:
    """Add `text` wrapped to the chart's width from baseline `y`; return the next baseline."""
    for line in wrap(text, chart.width - 8, size):
        chart.shapes.append(("text", 4, y, line, size, "start", GREY if not bold else INK, bold))
        y += size + 4
    return y


def _footer(chart: Chart, y: float, words: Words, left_out: list[str]) -> None:
    """Add the caption and the list of values left out as not published; set the height."""
    y = _text_block(chart, y, words.caption)
    if left_out:
        y = _text_block(chart, y + 2, words.left_out + "; ".join(left_out))
    chart.height = int(y + 4)


def forest_plot(items: list[Item], words: Words, left_out: list[str], width: int = 720) -> Chart:
    """Return estimates with their confidence intervals, one row per item, labels wrapped."""
    label_width, right, top = 270, 20, 8
    plot = width - label_width - right
    chart = Chart(width, 0, words.title)

    def x(value: float) -> float:
        return label_width + plot * value / 100

    rows = []
    y = top
    for item in items:
        label = f"{item.label} {words.caution}" if item.caution else item.label
        lines = wrap(label, label_width - 12)
        height = max(24, 15 * len(lines) + 9)
        rows.append((item, lines, y, height))
        y += height
    bottom = y
    for tick in range(0, 101, 20):
        chart.shapes.append(("line", x(tick), top, x(tick), bottom, GRID, 1))
        chart.shapes.append(("text", x(tick), bottom + 14, str(tick), SMALL, "middle", GREY, False))
    chart.shapes.append(("line", label_width, bottom, width - right, bottom, GREY, 1))
    chart.shapes.append(
        ("text", label_width + plot / 2, bottom + 30, words.axis, NORMAL, "middle", INK, True)
    )
    for item, lines, row_top, height in rows:
        middle = row_top + height / 2
        first = middle - 15 * (len(lines) - 1) / 2 + 4
        for k, line in enumerate(lines):
            chart.shapes.append(("text", 4, first + 15 * k, line, NORMAL, "start", INK, False))
        colour = ORANGE if item.caution else BLUE
        if item.ci_low is not None and item.ci_high is not None:
            chart.shapes.append(
                ("line", x(item.ci_low), middle, x(item.ci_high), middle, colour, 3)
            )
        fill = "white" if item.caution else colour
        chart.shapes.append(("circle", x(item.estimate), middle, 5, fill, colour))
    _footer(chart, bottom + 50, words, left_out)
    return chart


def trend_chart(
    items: list[Item], words: Words, left_out: list[str], width: int = 720, height: int = 240
) -> Chart:
    """Return the estimates over periods (items in time order) with their confidence band."""
    left, right, top, plot_bottom = 44, 40, 26, height - 44
    plot_w, plot_h = width - left - right, plot_bottom - top
    step = plot_w / max(len(items) - 1, 1)
    chart = Chart(width, 0, words.title)

    def xy(i: int, value: float) -> tuple[float, float]:
        return left + step * i, top + plot_h * (1 - value / 100)

    chart.shapes.append(("text", 4, 14, words.axis, NORMAL, "start", INK, True))
    for tick in range(0, 101, 25):
        _, y = xy(0, tick)
        chart.shapes.append(("line", left, y, width - right, y, GRID, 1))
        chart.shapes.append(("text", left - 6, y + 4, str(tick), SMALL, "end", GREY, False))
    band = [(i, p) for i, p in enumerate(items) if p.ci_low is not None and p.ci_high is not None]
    if band:
        upper = [xy(i, p.ci_high) for i, p in band]
        lower = [xy(i, p.ci_low) for i, p in reversed(band)]
        if len(band) == 1:  # one period: a band of one point is a bar
            (bx, top_y), (_, low_y) = upper[0], lower[0]
            upper, lower = [(bx - 4, top_y), (bx + 4, top_y)], [(bx + 4, low_y), (bx - 4, low_y)]
        chart.shapes.append(("polygon", upper + lower, BLUE, 0.15))
    line = [xy(i, p.estimate) for i, p in enumerate(items)]
    if len(line) > 1:
        chart.shapes.append(("polyline", line, BLUE, 2))
    for (px, py), item in zip(line, items, strict=True):
        colour = ORANGE if item.caution else BLUE
        chart.shapes.append(("circle", px, py, 4, "white" if item.caution else colour, colour))
    every = max(1, -(-len(items) // 6))  # at most about six labels, so they never overlap
    for i, p in enumerate(items):
        if i % every == 0 or i == len(items) - 1:
            if i != len(items) - 1 and len(items) - 1 - i < every:
                continue  # the last label is always drawn: leave out the one that would touch it
            px, _ = xy(i, 0)
            label = f"{p.label} {words.caution}" if p.caution else p.label
            half = text_width(label, SMALL) / 2 + 2
            px = min(max(px, half), width - half)  # never past an edge: the last label shows
            chart.shapes.append(("text", px, plot_bottom + 16, label, SMALL, "middle", GREY, False))
    chart.shapes.append(
        (
            "text",
            left + plot_w / 2,
            plot_bottom + 34,
            words.period_axis,
            NORMAL,
            "middle",
            INK,
            True,
        )
    )
    _footer(chart, plot_bottom + 54, words, left_out)
    return chart
