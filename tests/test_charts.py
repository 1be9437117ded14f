"""The charts: SVG that parses, with axis titles, a caption and whole names; a PNG of the same
geometry that decodes at the right size; suppressed values listed, never drawn."""

import io
import xml.etree.ElementTree as ET

from PIL import Image

from survey.results.charts import Item, Words, forest_plot, text_width, trend_chart

SVG = "{http://www.w3.org/2000/svg}"
LONG = "Trung tâm Phục vụ hành chính công tỉnh Minh Hòa, chi nhánh phường Đông Hưng Thuận"
WORDS = Words(
    title="Chỉ số hài lòng",
    axis="Chỉ số (%) và khoảng tin cậy 95%",
    caption="Thiết kế: quầy là cụm; độ tin cậy 95%; kỳ: Quý 2/2026.",
    caution="(thận trọng)",
    left_out="Không công bố: ",
    period_axis="Kỳ",
)


def texts(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(f"{SVG}text"))


def test_forest_plot_parses_and_keeps_long_vietnamese_names_whole():
    items = [Item(LONG, 81.25, 75.5, 86.0), Item("Sở Tư pháp", 64.0, 50.0, 71.0, caution=True)]
    chart = forest_plot(items, WORDS, ["Ủy ban nhân dân xã Tân Hòa"])
    svg = str(chart.svg())
    words = " ".join(t.text for t in texts(svg))
    assert " ".join(LONG.split()) in words  # wrapped over lines, no word cut, nothing dropped
    assert "…" not in words
    assert WORDS.axis in words and WORDS.caption in words
    assert "Sở Tư pháp (thận trọng)" in words
    assert "Không công bố: Ủy ban nhân dân xã Tân Hòa" in words
    # Each label line fits the label column.
    for t in texts(svg):
        if t.get("x") == "4.0" and t.text in LONG:
            assert text_width(t.text) <= 270
    # Two dots only: the value left out is not drawn.
    assert len(list(ET.fromstring(svg).iter(f"{SVG}circle"))) == 2
    assert len(svg) < 8000


def test_png_decodes_at_the_size_of_the_geometry():
    chart = forest_plot([Item(LONG, 81.25, 75.5, 86.0)], WORDS, [])
    image = Image.open(io.BytesIO(chart.png()))
    assert image.format == "PNG"
    assert image.size == (chart.width * 2, chart.height * 2)
    # Something is drawn in the plot's blue (the interval), not only text on white.
    pixels = list(image.convert("RGB").get_flattened_data())
    assert any(
        abs(r - 0x0B) < 20 and abs(g - 0x4F) < 20 and abs(b - 0x9C) < 20 for r, g, b in pixels
    )


def test_trend_draws_its_band_and_keeps_the_last_label_inside():
    items = [Item(f"2026-Q{q}", 60.0 + q, 55.0 + q, 66.0 + q) for q in (1, 2, 3)]
    items.append(Item("Quý 4/2026", 70.0, 60.0, 75.0, caution=True))
    chart = trend_chart(items, WORDS, ["Quý 1/2027"])
    root = ET.fromstring(str(chart.svg()))
    assert root.find(f"{SVG}polygon") is not None and root.find(f"{SVG}polyline") is not None
    last = [t for t in root.iter(f"{SVG}text") if t.text == "Quý 4/2026 (thận trọng)"]
    assert len(last) == 1
    half = text_width(last[0].text, 11) / 2
    assert float(last[0].get("x")) + half <= chart.width
    words = [t.text for t in root.iter(f"{SVG}text")]
    assert WORDS.axis in words and WORDS.period_axis in words and WORDS.caption in words
    assert "Không công bố: Quý 1/2027" in words
    image = Image.open(io.BytesIO(chart.png(scale=1)))
    assert image.size == (chart.width, chart.height)
