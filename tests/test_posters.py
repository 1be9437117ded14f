"""Posters, checked with real tools: poppler renders and extracts them, zxing-cpp scans the code."""

import re
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from survey.printing.posters import CALL_TO_ACTION, CALL_TO_ACTION_EN, PosterInfo, render_posters
from survey.printing.qr import QUIET_ZONE, qr_matrix
from tests.needs import need_program

DPI = 150
POINTS_PER_MM = 72 / 25.4
PAGE_SIZES = {"a4": (595.28, 841.89), "a6": (297.64, 419.53)}  # points
MIN_QR_CM = {"a4": 8.0, "a6": 6.0}
PRINTER_MARGIN_MM = 4  # office printers cannot print closer to the edge than this

SO_TNMT = PosterInfo(
    agency_name="Sở Tài nguyên và Môi trường tỉnh Kiên Giang",
    counter_name="Quầy tiếp nhận hồ sơ đất đai",
    url="https://khaosat.kiengiang.gov.vn/s/TnMt7Qa2",
    short_url="khaosat.kiengiang.gov.vn/s/TnMt7Qa2",
    questionnaire_name="Phiếu khảo sát mức độ hài lòng về phục vụ hành chính công",
    printed_on=date(2026, 11, 21),
)
DONG_THANH = PosterInfo(
    agency_name="Ủy ban nhân dân xã Đông Thạnh",
    counter_name="Bộ phận Một cửa – Quầy số 1",
    url="https://khaosat.kiengiang.gov.vn/s/DgThanh01",
    short_url="khaosat.kiengiang.gov.vn/s/DgThanh01",
    questionnaire_name="SIPAS 2026",
    printed_on=date(2026, 1, 5),
)
NGUYEN_TRUNG_TRUC = PosterInfo(
    agency_name="Ủy ban nhân dân phường Nguyễn Trung Trực, thành phố Rạch Giá",
    counter_name="Bộ phận tiếp nhận và trả kết quả – Quầy số 3",
    url="https://khaosat.kiengiang.gov.vn/s/NTT-q3?src=poster",
    short_url="khaosat.kiengiang.gov.vn/s/NTT-q3",
    questionnaire_name="Phiếu khảo sát sự hài lòng của người dân (Quyết định 3279/QĐ-BNV)",
    printed_on=date(2026, 12, 31),
)
# Far longer than any real name, to push the layout to its limits; a short URL gives the
# fewest modules, which is the hardest case for the code's printed width.
OVERLONG = PosterInfo(
    agency_name=(
        "Trung tâm Phục vụ hành chính công tỉnh Kiên Giang – Chi nhánh Văn phòng Đăng ký "
        "đất đai thành phố Rạch Giá và các huyện đảo Phú Quốc, Kiên Hải, Kiên Lương, Giang Thành"
    ),
    counter_name=(
        "Bộ phận tiếp nhận và trả kết quả giải quyết thủ tục hành chính lĩnh vực tài nguyên, "
        "môi trường, xây dựng, quy hoạch đô thị, giao thông vận tải và nông nghiệp"
    ),
    url="https://ks.vn/a1",
    short_url="ks.vn/a1",
    questionnaire_name=(
        "Phiếu khảo sát sự hài lòng của người dân, tổ chức đối với sự phục vụ của cơ quan "
        "hành chính nhà nước năm 2026 (theo Quyết định số 3279/QĐ-BNV của Bộ Nội vụ) – bản in"
    ),
    printed_on=date(2026, 11, 21),
)


def write_pdf(pdf: bytes, tmp_path: Path) -> Path:
    """Write `pdf` to a file in `tmp_path` and return its path."""
    path = tmp_path / "posters.pdf"
    path.write_bytes(pdf)
    return path


def render_pages(pdf: Path) -> list[Image.Image]:
    """Rasterise every page of `pdf` at DPI with pdftoppm, in page order."""
    pdftoppm = need_program("pdftoppm", "poppler-utils")
    prefix = pdf.parent / "page"
    subprocess.run([pdftoppm, "-r", str(DPI), "-png", str(pdf), str(prefix)], check=True)
    files = sorted(pdf.parent.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
    return [load_image(file) for file in files]


def load_image(path: Path) -> Image.Image:
    """Return the image in `path`, read in full so no file is left open."""
    with Image.open(path) as image:
        return image.copy()


def page_text(pdf: Path, page: int) -> str:
    """Return the text of one page (1-based) as pdftotext extracts it, whitespace collapsed."""
    pdftotext = need_program("pdftotext", "poppler-utils")
    args = [pdftotext, "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"]
    text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return " ".join(text.split())


def page_words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Return each page's words as (x0, y0, x1, y1, word) in points from the top left."""
    pdftotext = need_program("pdftotext", "poppler-utils")
    args = [pdftotext, "-bbox", "-enc", "UTF-8", str(pdf), "-"]
    html = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    word = re.compile(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        [(*map(float, match.groups()[:4]), match.group(5)) for match in word.finditer(page)]
        for page in html.split("<page ")[1:]
    ]


def media_boxes(pdf: bytes) -> list[tuple[float, float]]:
    """Return the width and height in points of every page, read from the PDF itself."""
    boxes = re.findall(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(float(width), float(height)) for width, height in boxes]


def scan(image: Image.Image) -> zxingcpp.Barcode:
    """Return the single QR code zxing-cpp finds on a page image."""
    barcodes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(barcodes) == 1, f"expected one QR code on the page, found {len(barcodes)}"
    return barcodes[0]


def symbol_box(barcode: zxingcpp.Barcode) -> tuple[float, float, float, float]:
    """Return the left, top, right and bottom pixel edges of a decoded (upright) QR symbol."""
    position = barcode.position
    return position.top_left.x, position.top_left.y, position.top_right.x, position.bottom_left.y


def width_cm(barcode: zxingcpp.Barcode) -> float:
    """Return the printed width of a QR symbol, quiet zone excluded, measured on the page image."""
    left, _, right, _ = symbol_box(barcode)
    return (right - left) / DPI * 2.54


def assert_scans_as_expected(image: Image.Image, poster: PosterInfo, size: str) -> None:
    """Check the page's code gives the poster's URL, is big enough, centred, and has its margin."""
    barcode = scan(image)
    assert barcode.text == poster.url
    assert width_cm(barcode) >= MIN_QR_CM[size]
    left, top, right, bottom = symbol_box(barcode)
    assert abs((left + right) / 2 - image.width / 2) <= 2  # centred on the page

    # The quiet zone really is blank on the page: no text or band reaches into it.
    zone = QUIET_ZONE * (right - left) / len(qr_matrix(poster.url))
    edge = 2  # pixels of anti-aliasing at the symbol's edge
    gray = image.convert("L")
    strips = [
        (left - zone, top - zone, right + zone, top - edge),
        (left - zone, bottom + edge, right + zone, bottom + zone),
        (left - zone, top - zone, left - edge, bottom + zone),
        (right + edge, top - zone, right + zone, bottom + zone),
    ]
    for strip in strips:
        darkest, _ = gray.crop(tuple(round(v) for v in strip)).getextrema()
        assert darkest >= 200, f"something is printed in the quiet zone {strip}"


def assert_text_of(text: str, poster: PosterInfo) -> None:
    """Check a page's extracted text has every line of `poster`, diacritics intact."""
    for expected in (
        poster.agency_name,
        poster.counter_name,
        CALL_TO_ACTION,
        CALL_TO_ACTION_EN,
        poster.short_url,
        poster.questionnaire_name,
        f"In ngày {poster.printed_on:%d/%m/%Y}",
        "ẩn danh",
    ):
        assert expected in text


@pytest.mark.parametrize("poster", [SO_TNMT, DONG_THANH, NGUYEN_TRUNG_TRUC])
def test_a4_poster_scans_and_reads_right(poster, tmp_path):
    pdf = render_posters([poster], size="a4")
    assert media_boxes(pdf) == [pytest.approx(PAGE_SIZES["a4"], abs=0.01)]
    path = write_pdf(pdf, tmp_path)
    [page] = render_pages(path)
    assert_scans_as_expected(page, poster, "a4")
    assert_text_of(page_text(path, 1), poster)


@pytest.mark.parametrize("poster", [SO_TNMT, DONG_THANH, NGUYEN_TRUNG_TRUC])
def test_a6_card_scans_and_reads_right(poster, tmp_path):
    pdf = render_posters([poster], size="a6")
    assert media_boxes(pdf) == [pytest.approx(PAGE_SIZES["a6"], abs=0.01)]
    path = write_pdf(pdf, tmp_path)
    [page] = render_pages(path)
    assert_scans_as_expected(page, poster, "a6")
    assert_text_of(page_text(path, 1), poster)


@pytest.mark.parametrize("size", ["a4", "a6"])
def test_batch_gives_each_page_its_own_counter(size, tmp_path):
    posters = [SO_TNMT, DONG_THANH, NGUYEN_TRUNG_TRUC]
    calls = []
    pdf = render_posters(iter(posters), size=size, progress=calls.append)
    assert calls == [1, 1, 1]
    assert media_boxes(pdf) == [pytest.approx(PAGE_SIZES[size], abs=0.01)] * 3
    path = write_pdf(pdf, tmp_path)
    pages = render_pages(path)
    assert len(pages) == 3
    for number, (page, poster) in enumerate(zip(pages, posters, strict=True), start=1):
        assert scan(page).text == poster.url
        text = page_text(path, number)
        assert poster.agency_name in text
        assert poster.counter_name in text


@pytest.mark.parametrize("size", ["a4", "a6"])
def test_overlong_names_stay_on_the_page_and_clear_of_the_code(size, tmp_path):
    path = write_pdf(render_posters([OVERLONG, SO_TNMT], size=size), tmp_path)
    width, height = PAGE_SIZES[size]
    margin = PRINTER_MARGIN_MM * POINTS_PER_MM
    for words in page_words(path):
        for x0, y0, x1, y1, word in words:
            assert margin <= x0 and x1 <= width - margin, f"{word!r} runs off the side"
            assert margin <= y0 and y1 <= height - margin, f"{word!r} runs off the top or foot"
        assert not overlapping(words)
    pages = render_pages(path)
    assert_scans_as_expected(pages[0], OVERLONG, size)
    # The URL is never cut; the names may end in an ellipsis only when they cannot fit.
    assert OVERLONG.short_url in page_text(path, 1)


def overlapping(words: list[tuple[float, float, float, float, str]]) -> list[tuple[str, str]]:
    """Return the pairs of words whose boxes overlap by more than a fifth of their height.

    pdftotext's boxes run from the font's ascent to its descent, a little more than the
    line spacing of tightly set headings, so a sliver of overlap between lines is normal.
    """
    pairs = []
    for i, (ax0, ay0, ax1, ay1, a) in enumerate(words):
        for bx0, by0, bx1, by1, b in words[i + 1 :]:
            across = min(ax1, bx1) - max(ax0, bx0)
            down = min(ay1, by1) - max(ay0, by0)
            if across > 0 and down > 0.2 * min(ay1 - ay0, by1 - by0):
                pairs.append((a, b))
    return pairs


def test_fonts_are_embedded_be_vietnam_pro(tmp_path):
    pdffonts = need_program("pdffonts", "poppler-utils")
    path = write_pdf(render_posters([NGUYEN_TRUNG_TRUC]), tmp_path)
    output = subprocess.run([pdffonts, str(path)], check=True, capture_output=True, text=True)
    fonts = output.stdout.splitlines()[2:]  # after the header and its rule
    assert fonts
    for line in fonts:
        name, embedded = line.split()[0], line.split()[-5]
        assert "BeVietnamPro" in name
        assert embedded == "yes", f"{name} is not embedded"


def test_decomposed_input_prints_as_composed_text(tmp_path):
    decomposed = unicodedata.normalize("NFD", DONG_THANH.agency_name)
    assert decomposed != DONG_THANH.agency_name
    poster = PosterInfo(
        agency_name=decomposed,
        counter_name=DONG_THANH.counter_name,
        url=DONG_THANH.url,
        short_url=DONG_THANH.short_url,
        questionnaire_name=DONG_THANH.questionnaire_name,
        printed_on=DONG_THANH.printed_on,
    )
    path = write_pdf(render_posters([poster]), tmp_path)
    assert DONG_THANH.agency_name in page_text(path, 1)


def test_rejects_unknown_size_and_empty_batch():
    with pytest.raises(ValueError, match="size"):
        render_posters([SO_TNMT], size="letter")
    with pytest.raises(ValueError, match="no posters"):
        render_posters([])
