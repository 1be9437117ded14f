"""The channel mix and the kiosk's shares in a real browser, on a phone (390 px) and a desktop
(1280 px): shown in Vietnamese, legible, and no page wider than the screen. Kept in
SCREENSHOT_DIR when it is set."""

import tempfile
from pathlib import Path

from test_browser_console import sign_in
from test_results_channels import world  # noqa: F401  (the world with known channel counts)

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
Q2 = "period=quarter&shown=2026-Q2"


def test_the_channel_mix_and_kiosk_share_fit_a_phone_and_a_desktop(
    browser,
    live_server,
    world,  # noqa: F811
    screenshot_dir,
):
    folder = screenshot_dir or Path(tempfile.mkdtemp())
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, live_server, "evaluator@example.vn")
    pages = {
        "overview": f"/results/?lang=vi&{Q2}",
        "agency": f"/results/agency/OWN?lang=vi&{Q2}",
        "agency-quick": f"/results/agency/OWN?lang=vi&{Q2}&questionnaire=counter-quick",
    }
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for name, url in pages.items():
            page.goto(f"{live_server}{url}")
            page.screenshot(path=str(folder / f"channels-{name}-{size}.png"), full_page=True)
            table = page.locator("table.channels")
            assert table.count() == 1
            table.scroll_into_view_if_needed()
            page.screenshot(path=str(folder / f"channels-{name}-{size}-table.png"))
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, name
        page.goto(f"{live_server}{pages['agency']}")
        assert "31%" in page.locator("#kiosk-share").inner_text()
        cell = page.locator('tr[data-agency="OWN"] td[data-channel="kiosk-all"]')
        page.goto(f"{live_server}{pages['overview']}")
        assert cell.inner_text() == "31%"
    context.close()
