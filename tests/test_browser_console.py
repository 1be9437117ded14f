"""The console in a real browser: Chromium (through Playwright) against a real HTTP server.

A manager signs in, creates a counter and downloads its poster. Every console page is opened at
phone and desktop sizes and must not overflow sideways; with SCREENSHOT_DIR set, the screenshots
are kept there for a person to look at. The `browser` fixture (conftest) skips these tests when
Chromium is missing, and fails them in CI.
"""

import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from test_console_support import PASSWORD, add_user
from werkzeug.serving import make_server

from survey import create_app, db
from survey.models import Counter

SIZES = {"phone": (360, 640), "desktop": (1280, 800)}


@pytest.fixture
def served(app_config):
    """Serve a fresh app on 127.0.0.1 and a free port; return (app, base URL)."""
    holder = {}
    server = make_server(
        "127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True
    )
    base = f"http://127.0.0.1:{server.server_port}"
    application = create_app(app_config | {"PUBLIC_BASE_URL": base})
    holder["app"] = application
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield application, base
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    db.dispose_engines(application)


def qr_image_loads(page) -> bool:
    """Wait for the page's QR image to finish loading; tell whether it has pixels."""
    # Waiting first: under load the image may still be on its way when the page is ready.
    page.wait_for_function(
        "() => { const img = document.querySelector('img.qr'); return img && img.complete; }"
    )
    return page.eval_on_selector("img.qr", "img => img.naturalWidth > 0")


def sign_in(page, base: str, email: str) -> None:
    """Sign in through the form, in English."""
    page.goto(f"{base}/console/login?lang=en")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/")


def shoot(browser, folder: Path, base: str, email: str | None, paths: dict[str, str]) -> list[Path]:
    """Screenshot each page of `paths` at every size into `folder`; return the files."""
    files = []
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        if email:
            sign_in(page, base, email)
        else:
            page.goto(f"{base}/console/login?lang=en")
        for name, path in paths.items():
            response = page.goto(base + path)
            assert response.status in (200, 422), f"{path}: {response.status}"
            # Nothing may stick out sideways on a phone: tables scroll inside their box.
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} is {overflow}px too wide at {width}px"
            file = folder / f"{name}-{size}.png"
            page.screenshot(path=str(file), full_page=True)
            files.append(file)
        context.close()
    return files


def test_manager_signs_in_creates_a_counter_and_downloads_its_poster(
    served, browser, make_agency, make_counter, tmp_path
):
    app, base = served
    root = make_agency(code="MH", name_vi="Ủy ban nhân dân tỉnh Minh Hòa", level="province")
    own = make_agency(code="MH-STP", name_vi="Sở Tư pháp tỉnh Minh Hòa", parent=root)
    make_agency(code="MH-STP-HT", name_vi="Phòng Hộ tịch", level="commune", parent=own)
    make_counter(agency=own)
    add_user(app, "manager@example.vn", "manager", "MH-STP")

    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    sign_in(page, base, "manager@example.vn")
    assert page.get_by_role("link", name="Sở Tư pháp tỉnh Minh Hòa").count() == 0  # English
    page.get_by_role("link", name="MH-STP (en)").click()
    page.get_by_label("Code").fill("STP-Q7")
    page.get_by_label("Name", exact=True).fill("Quầy số 7 – Chứng thực")
    page.get_by_label("Questionnaire").select_option("counter-quick")
    page.get_by_role("button", name="Create counter").click()
    page.wait_for_url(f"{base}/console/counters/*")
    assert page.get_by_text("Counter STP-Q7 created").is_visible()
    assert page.get_by_role("heading", name="Quầy số 7 – Chứng thực").is_visible()
    # The QR code image really loads.
    assert qr_image_loads(page)

    with page.expect_download() as waiting:
        page.get_by_role("link", name="A4 wall poster (PDF)").click()
    download = waiting.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert download.suggested_filename == "poster-STP-Q7-a4.pdf"
    assert saved.read_bytes().startswith(b"%PDF")

    # The address shown under the QR code opens the new counter's form.
    with app.app_context():
        counter = db.session().scalars(select(Counter).where(Counter.code == "STP-Q7")).one()
    page.goto(f"{base}/s/{counter.token}")
    assert page.get_by_text("Quầy số 7 – Chứng thực").is_visible()

    page.goto(f"{base}/console/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/console/login")
    context.close()


def test_console_pages_fit_phone_and_desktop_screens(
    served, browser, make_agency, make_counter, screenshot_dir, tmp_path
):
    app, base = served
    folder = screenshot_dir or tmp_path
    root = make_agency(code="MH", name_vi="Ủy ban nhân dân tỉnh Minh Hòa", level="province")
    own = make_agency(code="MH-STP", name_vi="Sở Tư pháp tỉnh Minh Hòa", parent=root)
    make_agency(
        code="MH-STP-HT", name_vi="Phòng Hộ tịch và Chứng thực", level="commune", parent=own
    )
    counter = make_counter(agency=own)
    make_counter(agency=own, active=False)
    add_user(app, "manager.so-tu-phap@minhhoa.gov.vn", "manager", "MH-STP")
    add_user(app, "admin@example.vn", "admin")
    files = shoot(browser, folder, base, None, {"login": "/console/login"})
    files += shoot(
        browser,
        folder,
        base,
        "manager.so-tu-phap@minhhoa.gov.vn",
        {
            "index": "/console/?lang=vi",
            "agency": "/console/agencies/MH-STP",
            "counter": f"/console/counters/{counter.id}",
            "receipts": f"/console/receipts?counter={counter.id}",
        },
    )
    files += shoot(
        browser,
        folder,
        base,
        "admin@example.vn",
        {
            "users": "/console/users",
            "user-new": "/console/users/new",
            "agency-edit": "/console/agencies/MH-STP/edit",
            "audit": "/console/audit",
        },
    )
    # A receipt link, as made through the form.
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, base, "manager.so-tu-phap@minhhoa.gov.vn")
        page.goto(f"{base}/console/receipts")
        page.get_by_label("Dossier code").fill("000.00.12.H56-241105-0001")
        page.get_by_role("button", name="Make the link").click()
        page.wait_for_selector("img.qr")
        assert qr_image_loads(page)
        files.append(folder / f"receipt-issued-{size}.png")
        page.screenshot(path=str(files[-1]), full_page=True)
        context.close()
    assert all(f.stat().st_size > 1000 for f in files)
