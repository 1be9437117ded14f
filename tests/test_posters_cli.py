"""Posters as citizens and printers meet them: `flask posters` and the console's downloads,
rendered by poppler, scanned by zxing-cpp, and followed to the counter's form."""

import io
import subprocess
import unicodedata
from pathlib import Path

import pytest
import zxingcpp
from needs import need_program
from PIL import Image
from test_console_support import add_user

from survey import db
from survey.console import operations as ops

BASE = "http://survey.test"


@pytest.fixture
def province(app, make_agency, make_counter):
    """Return {agency code: [counters]} for a province, a department and a commune below it."""
    root = make_agency(code="KG", name_vi="Ủy ban nhân dân tỉnh Kiên Giang", level="province")
    dept = make_agency(
        code="KG-STNMT", name_vi="Sở Tài nguyên và Môi trường tỉnh Kiên Giang", parent=root
    )
    commune = make_agency(
        code="KG-XDT", name_vi="Ủy ban nhân dân xã Đông Thạnh", level="commune", parent=dept
    )
    make_agency(code="KG-EMPTY", name_vi="Sở Nội vụ", parent=root)
    counters = {
        "KG-STNMT": [make_counter(agency=dept), make_counter(agency=dept)],
        "KG-XDT": [make_counter(agency=commune)],
    }
    # A retired counter has no poster.
    retired = make_counter(agency=commune)
    with app.app_context():
        session = db.session()
        ops.set_counter_active(session, None, session.get(type(retired), retired.id), False)
    return counters


def pages_as_png(pdf: Path, tmp_path: Path, dpi: int = 150) -> list[Image.Image]:
    """Render every page of `pdf` with poppler's pdftoppm."""
    need_program("pdftoppm", "poppler-utils")
    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True)
    return [Image.open(p) for p in sorted(tmp_path.glob("page*.png"))]


def pdf_text(pdf: Path) -> str:
    """Return the text of `pdf` as poppler's pdftotext extracts it."""
    need_program("pdftotext", "poppler-utils")
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True
    )
    return out.stdout.decode("utf-8")


def page_size(pdf: Path) -> str:
    """Return poppler's description of the first page's size."""
    need_program("pdfinfo", "poppler-utils")
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    return next(line for line in info.stdout.splitlines() if line.startswith("Page size"))


def scanned_urls(images: list[Image.Image]) -> list[str]:
    """Return the text of the one QR code on each page, as a phone would read it."""
    urls = []
    for image in images:
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert len(found) == 1, "one QR code per page"
        urls.append(found[0].text)
    return urls


def follow(client, url: str):
    """Open a scanned URL with the test client, as the citizen's phone would."""
    assert url.startswith(BASE + "/s/")
    return client.get(url.removeprefix(BASE))


def test_cli_writes_every_active_counter_of_an_agency_and_below(app, runner, province, tmp_path):
    out = tmp_path / "kg.pdf"
    result = runner.invoke(args=["posters", "--agency", "KG", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 posters written" in result.stdout
    assert "Posters" in result.stderr  # the progress bar's label
    assert out.read_bytes().startswith(b"%PDF")
    assert "(A4)" in page_size(out)

    images = pages_as_png(out, tmp_path)
    urls = scanned_urls(images)
    expected = [c.token for code in ("KG-STNMT", "KG-XDT") for c in province[code]]
    assert urls == [f"{BASE}/s/{token}" for token in expected]
    client = app.test_client()
    for url, counter in zip(urls, province["KG-STNMT"] + province["KG-XDT"], strict=True):
        form = follow(client, url)
        html = form.get_data(as_text=True)
        assert form.status_code == 200 and counter.name in html

    text = unicodedata.normalize("NFC", pdf_text(out))
    assert "Sở Tài nguyên và Môi trường tỉnh Kiên Giang" in " ".join(text.split())
    assert "Ủy ban nhân dân xã Đông Thạnh" in text
    for url in urls:
        assert url.removeprefix("http://") in text  # the address people type


def test_cli_makes_a6_table_cards_for_a_sub_agency(app, runner, province, tmp_path):
    out = tmp_path / "xdt.pdf"
    result = runner.invoke(args=["posters", "--agency", "KG-XDT", "--size", "a6", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "297.6" in page_size(out) and "419.5" in page_size(out)  # A6 in points
    (url,) = scanned_urls(pages_as_png(out, tmp_path, dpi=200))
    assert url == f"{BASE}/s/{province['KG-XDT'][0].token}"
    assert follow(app.test_client(), url).status_code == 200


@pytest.mark.parametrize(
    "args, message",
    [
        (["--agency", "NOPE"], "no agency has code NOPE"),
        (["--agency", "KG-EMPTY"], "no active counter"),
        (["--agency", "KG", "--size", "a3"], "Invalid value for '--size'"),
    ],
)
def test_cli_refuses_what_it_cannot_print(runner, province, tmp_path, args, message):
    out = tmp_path / "x.pdf"
    result = runner.invoke(args=["posters", *args, "-o", str(out)])
    assert result.exit_code != 0 and message in result.output
    assert not out.exists()


def test_cli_needs_an_output_file(runner, province):
    result = runner.invoke(args=["posters", "--agency", "KG"])
    assert result.exit_code == 2 and "--output" in result.output


def test_console_poster_scans_to_the_counter_and_names_the_agency(
    app, client, province, tmp_path, login
):
    add_user(app, "m@example.vn", "manager", "KG-XDT")
    login(client, "m@example.vn")
    counter = province["KG-XDT"][0]
    reply = client.get(f"/console/counters/{counter.id}/poster.pdf")
    assert reply.status_code == 200 and reply.mimetype == "application/pdf"
    pdf = tmp_path / "one.pdf"
    pdf.write_bytes(reply.data)
    (url,) = scanned_urls(pages_as_png(pdf, tmp_path))
    assert url == f"{BASE}/s/{counter.token}"
    html = follow(app.test_client(), url).get_data(as_text=True)
    assert "Ủy ban nhân dân xã Đông Thạnh" in html and counter.name in html
    assert "Ủy ban nhân dân xã Đông Thạnh" in unicodedata.normalize("NFC", pdf_text(pdf))
    # After the token is replaced, the old poster leads to the "replaced" page.
    with app.app_context():
        session = db.session()
        ops.rotate_token(session, None, session.get(type(counter), counter.id))
    assert follow(app.test_client(), url).status_code == 410


def test_console_qr_png_scans_to_the_counter(app, client, province, login):
    add_user(app, "m@example.vn", "manager", "KG")
    login(client, "m@example.vn")
    counter = province["KG-STNMT"][1]
    reply = client.get(f"/console/counters/{counter.id}/qr.png")
    (url,) = scanned_urls([Image.open(io.BytesIO(reply.data))])
    assert url == f"{BASE}/s/{counter.token}"
