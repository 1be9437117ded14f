"""The results in a real browser: an evaluator signs in, filters to a quarter, sorts, opens an
agency and downloads the CSV, the XLSX and the forest plot PNG. The overview and the agency page
are shot at 360 and 1280 px (kept in SCREENSHOT_DIR when it is set) and must not overflow."""

import io
import tempfile
from pathlib import Path

from openpyxl import load_workbook
from PIL import Image
from test_browser_console import sign_in
from test_results_pages import world  # noqa: F401  (the province with a suppressed agency)

SIZES = {"phone": (360, 640), "desktop": (1280, 800)}


def test_an_evaluator_filters_sorts_opens_and_downloads(
    browser,
    live_server,
    world,  # noqa: F811
    screenshot_dir,
):
    folder = screenshot_dir or Path(tempfile.mkdtemp())
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, live_server, "evaluator@example.vn")
    page.goto(f"{live_server}/results/?lang=en")
    page.get_by_label("Period shown").select_option("2026-Q1")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "shown=2026-Q1" in page.url
    assert page.get_by_role("heading", name="Service index, 2026-Q1").is_visible()
    page.get_by_role("link", name="Agency").first.click()
    page.wait_for_load_state()
    assert "sort=agency" in page.url and "shown=2026-Q1" in page.url
    header = page.locator('th[aria-sort="ascending"]')
    assert header.count() == 1
    for name, path in (("csv", "CSV"), ("xlsx", "XLSX")):
        with page.expect_download() as info:
            page.get_by_role("link", name=path, exact=True).last.click()
        body = Path(info.value.path()).read_bytes()
        if name == "csv":
            assert "OWN" in body.decode("utf-8-sig")
        else:
            assert load_workbook(io.BytesIO(body)).sheetnames
    with page.expect_download() as info:
        page.get_by_role("link", name="PNG").first.click()
    with Image.open(io.BytesIO(Path(info.value.path()).read_bytes())) as image:
        assert image.format == "PNG" and image.size[0] == 1440
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server}/results/?lang=vi&shown=2026-Q2")
        page.screenshot(path=str(folder / f"results-overview-{size}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server}/results/?lang=en")
    page.get_by_role("link", name="OWN-X (en)").click()
    page.wait_for_load_state()
    assert "/results/agency/OWN-X" in page.url
    assert page.get_by_role("heading", name="Counters, 2026-Q2").is_visible()
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server}/results/agency/OWN-X?lang=vi")
        page.screenshot(path=str(folder / f"results-agency-{size}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    context.close()
