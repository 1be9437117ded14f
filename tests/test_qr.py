"""QR codes decode, with a real reader (zxing-cpp), to exactly the URL they were made from."""

import re
import xml.etree.ElementTree as ET
from io import BytesIO

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from survey.printing.qr import QUIET_ZONE, dark_runs, qr_matrix, qr_png, qr_svg

SVG_NS = "{http://www.w3.org/2000/svg}"

URLS = [
    "https://khaosat.kiengiang.gov.vn/s/Xy7Qa2",
    "http://localhost:5000/s/abc",
    # Mixed case, query string and percent-escapes must survive byte for byte.
    "https://dichvucong.rachgia.gov.vn/khao-sat/PhuongNguyenTrungTruc/quay-3?lang=vi&src=qr%20a4",
]


def decode(image: Image.Image) -> list[zxingcpp.Barcode]:
    """Return the QR codes zxing-cpp finds in `image`."""
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


def rasterise_svg(svg: str, scale: int = 8) -> Image.Image:
    """Draw an SVG made of one viewBox, rects and straight-line paths into a PIL image.

    A tiny independent reader of the SVG path syntax (absolute and relative M, H, V, L, Z)
    so the test does not trust the generator's own idea of where modules are.
    """
    root = ET.fromstring(svg)
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    image = Image.new("L", (int(width * scale), int(height * scale)), 255)
    draw = ImageDraw.Draw(image)
    for element in root:
        if element.tag == f"{SVG_NS}rect":
            if element.get("fill") not in ("#fff", "#ffffff", "white"):
                continue
            x, y = float(element.get("x", 0)), float(element.get("y", 0))
            w, h = float(element.get("width")), float(element.get("height"))
            draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1], 255)
        elif element.tag == f"{SVG_NS}path":
            for polygon in path_polygons(element.get("d")):
                draw.polygon([(x * scale, y * scale) for x, y in polygon], fill=0)
    return image


def path_polygons(d: str) -> list[list[tuple[float, float]]]:
    """Return the closed polygons of an SVG path that uses only straight lines."""
    tokens = re.findall(r"[MmLlHhVvZz]|-?\d+(?:\.\d+)?", d)
    polygons, current = [], []
    x = y = 0.0
    command = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.isalpha():
            command = token
            i += 1
            if command in "Zz":
                polygons.append(current)
                current = []
            continue
        if command in "MmLl":
            dx, dy = float(tokens[i]), float(tokens[i + 1])
            i += 2
            x, y = (x + dx, y + dy) if command.islower() else (dx, dy)
            if command in "Mm":
                current = []
                command = "l" if command == "m" else "L"  # later pairs are line-tos
        elif command in "Hh":
            x = x + float(token) if command == "h" else float(token)
            i += 1
        elif command in "Vv":
            y = y + float(token) if command == "v" else float(token)
            i += 1
        else:
            raise AssertionError(f"unexpected path command {command!r}")
        current.append((x, y))
    return polygons


@pytest.mark.parametrize("url", URLS)
def test_png_decodes_to_exactly_the_url(url):
    image = Image.open(BytesIO(qr_png(url)))
    [barcode] = decode(image)
    assert barcode.text == url
    assert barcode.ec_level == "Q"


def test_png_has_a_quiet_zone_of_four_modules():
    box = 6
    image = Image.open(BytesIO(qr_png(URLS[0], box_size=box))).convert("L")
    side = image.width
    assert image.height == side
    assert side == (len(qr_matrix(URLS[0])) + 2 * QUIET_ZONE) * box
    margin = QUIET_ZONE * box
    for x in range(side):
        for y in range(margin):
            assert image.getpixel((x, y)) == 255
            assert image.getpixel((x, side - 1 - y)) == 255
            assert image.getpixel((y, x)) == 255
            assert image.getpixel((side - 1 - y, x)) == 255
    # ...and the symbol starts right after it: the top-left finder pattern's corner is dark.
    assert image.getpixel((margin, margin)) == 0


@pytest.mark.parametrize("url", URLS)
def test_svg_is_a_scalable_path_that_decodes_to_the_url(url):
    svg = qr_svg(url)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    side = len(qr_matrix(url)) + 2 * QUIET_ZONE
    assert root.get("viewBox") == f"0 0 {side} {side}"
    children = [child.tag for child in root]
    # A white background (so it scans on any page colour) and one path: no bitmap inside.
    assert children == [f"{SVG_NS}rect", f"{SVG_NS}path"]
    assert "<image" not in svg

    [barcode] = decode(rasterise_svg(svg))
    assert barcode.text == url


def test_matrix_is_the_bare_symbol():
    matrix = qr_matrix(URLS[0])
    size = len(matrix)
    assert all(len(row) == size for row in matrix)
    assert (size - 21) % 4 == 0  # 21 + 4 * (version - 1) modules
    # The finder pattern's outer ring sits in the very first row and column: no border here.
    assert all(matrix[0][:7]) and all(row[0] for row in matrix[:7])
    assert all(matrix[0][-7:]) and all(row[0] for row in matrix[-7:])
    assert not matrix[1][1]


def test_dark_runs_cover_exactly_the_dark_modules():
    matrix = qr_matrix(URLS[2])
    painted = {(y, x + k) for y, x, n in dark_runs(matrix) for k in range(n)}
    dark = {(y, x) for y, row in enumerate(matrix) for x, on in enumerate(row) if on}
    assert painted == dark


@pytest.mark.parametrize("url", ["", "https://example.org/khảo-sát"])
def test_rejects_empty_and_non_ascii_urls(url):
    with pytest.raises(ValueError):
        qr_png(url)
