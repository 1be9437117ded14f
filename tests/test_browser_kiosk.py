"""The kiosk in a real browser (Chromium through Playwright): answers taken offline are kept on
the device, the service worker serves the page while offline, and back online every answer is
stored exactly once; a revoked kiosk is refused."""

import os
import time
from pathlib import Path

from sqlalchemy import func, select
from test_browser_console import served  # noqa: F401  (fixture)

from survey import db
from survey.kiosk.devices import create_enrolment, enrolment_url
from survey.models import Counter, Kiosk, Response, utcnow


def kiosk_responses(application) -> list[tuple]:
    """Return (device id, channel) of every stored response."""
    with application.app_context():
        rows = db.session().execute(select(Response.device_response_id, Response.channel))
        return [tuple(r) for r in rows]


def wait_for(condition, seconds: float = 20) -> None:
    """Wait until `condition()` holds, or fail."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def tap_once(page) -> None:
    """Answer both questions and go back to the first one."""
    page.locator(".question.current .choice.v3").click()
    page.locator(".question.current .choice.v2").click()
    page.locator("#thanks.current").click()
    page.locator(".question.current[data-key=Q1]").wait_for()


def test_offline_answers_are_stored_once_when_back_online(served, browser, make_counter):  # noqa: F811
    application, base = served
    with application.app_context():
        session = db.session()
        counter = Counter(
            code="K1",
            agency_id=make_counter().agency_id,
            name="Quầy 1",
            token="tokk1",
            questionnaire_slug="counter-quick",
        )
        session.add(counter)
        session.commit()
        _, code = create_enrolment(session, None, counter)
        url = enrolment_url(code)
    context = browser.new_context(viewport={"width": 800, "height": 1280})
    outside = []
    context.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
    page = context.new_page()
    page.goto(url)
    page.wait_for_url(f"{base}/k/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    for _ in range(3):
        tap_once(page)
    wait_for(lambda: len(kiosk_responses(application)) == 3)
    context.set_offline(True)
    for _ in range(5):
        tap_once(page)
    page.reload()  # offline: the service worker serves the page
    page.locator(".question.current[data-key=Q1]").wait_for()
    # The queue's length, for staff, read from IndexedDB once the page is up.
    page.wait_for_function("document.getElementById('queue').textContent === '5'")
    assert len(kiosk_responses(application)) == 3
    context.set_offline(False)
    wait_for(lambda: len(kiosk_responses(application)) == 8)
    page.wait_for_function("document.getElementById('queue').textContent === ''")
    rows = kiosk_responses(application)
    assert len({r[0] for r in rows}) == 8 and {r[1] for r in rows} == {"kiosk"}
    assert outside == []
    shots = os.environ.get("SCREENSHOT_DIR")
    for width, height in ((800, 1280), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        if shots:
            page.screenshot(path=str(Path(shots) / f"kiosk-{width}x{height}.png"))
    with application.app_context():
        session = db.session()
        session.scalar(select(Kiosk)).revoked_at = utcnow()
        session.commit()
        assert session.scalar(select(func.count()).select_from(Response)) == 8
    # Revoked: refused at once, even with the page in the service worker's cache.
    assert page.goto(f"{base}/k/").status == 403
    context.close()
