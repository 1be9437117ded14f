"""A citizen answers on a phone-sized Chromium, with and without JavaScript."""

import pytest
from sqlalchemy import select

from survey import db
from survey.models import Response

PHONE = {"width": 360, "height": 640}
CRITERIA = {
    "A1": "Nơi tiếp nhận và trả kết quả có biển chỉ dẫn rõ ràng, dễ tìm",
    "C1": "Công chức có thái độ lịch sự, tôn trọng",
    "E3": "Kết quả xử lý được thông báo kịp thời",
}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_citizen_answers_in_vietnamese_on_a_phone(
    app, live_server, browser, make_counter, javascript, screenshot_dir
):
    counter = make_counter()
    context = browser.new_context(
        viewport=PHONE,
        java_script_enabled=javascript,
        locale="vi-VN",
        has_touch=True,
        is_mobile=True,
    )
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server}/s/{counter.token}")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Phiếu khảo sát")
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if screenshot_dir:
        page.screenshot(path=screenshot_dir / f"citizen-form-360-{javascript}.png", full_page=True)

    # Answer by accessible names: the legend names the group, the label names the radio.
    groups = page.locator("fieldset.q")
    for index in range(16):
        name = "4 Hài lòng" if index % 3 else "5 Rất hài lòng"
        groups.nth(index).get_by_role("radio", name=name, exact=True).check()
    page.get_by_role("group", name=CRITERIA["E3"]).get_by_role(
        "radio", name="Không áp dụng / không trả lời"
    ).check()
    page.get_by_role("group", name=CRITERIA["C1"]).get_by_role(
        "radio", name="5 Rất hài lòng"
    ).check()
    page.get_by_role("button", name="Gửi ý kiến đánh giá").click()

    page.wait_for_url(f"{live_server}/s/{counter.token}/thanks")
    assert "Cảm ơn ông/bà đã tham gia đánh giá" in page.content()
    if screenshot_dir:
        page.screenshot(
            path=screenshot_dir / f"citizen-thanks-360-{javascript}.png", full_page=True
        )
    assert all(url.startswith(live_server) for url in requested), requested
    context.close()

    with app.app_context():
        stored = db.session().scalars(select(Response)).one()
        assert stored.counter_id == counter.id
        expected = ["4" if i % 3 else "5" for i in range(16)]
        expected[7] = "5"  # C1 changed to "Rất hài lòng"
        expected[15] = "0"  # E3 does not apply
        assert stored.scores == "".join(expected) + "0"  # OVERALL left out


def test_missing_answer_is_shown_beside_the_question_in_the_browser(
    live_server, browser, make_counter, screenshot_dir
):
    counter = make_counter()
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/s/{counter.token}")
    for index in range(15):  # all but E3
        page.locator("fieldset.q").nth(index).get_by_role("radio", name="3 Bình thường").check()
    page.get_by_role("button", name="Gửi ý kiến đánh giá").click()
    message = page.locator("#e-E3")
    assert message.inner_text() == "Vui lòng chọn một câu trả lời cho câu hỏi này."
    alert = page.get_by_role("alert")
    assert alert.is_visible()
    # The summary links to the one unanswered question, by its text.
    assert alert.get_by_role("link").count() == 1
    assert alert.get_by_role("link").get_attribute("href") == "#q-E3"
    assert page.locator("input[name=A1][value='3']").is_checked()
    if screenshot_dir:
        page.screenshot(path=screenshot_dir / "citizen-error-summary-360.png")
        page.locator("#q-E3").scroll_into_view_if_needed()
        page.screenshot(path=screenshot_dir / "citizen-error-360.png")
    context.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_option_fits_its_box_on_a_small_phone(live_server, browser, make_counter, lang):
    """Each answer is a box to tap: on a 320-pixel phone no word leaves it, nor the page."""
    counter = make_counter()
    for width in (320, 360):
        context = browser.new_context(viewport={"width": width, "height": 640}, is_mobile=True)
        page = context.new_page()
        page.goto(f"{live_server}/s/{counter.token}?lang={lang}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        spilled = page.evaluate(
            """[...document.querySelectorAll('.sc label, .ch label')]
                .filter(label => label.scrollWidth > label.clientWidth)
                .map(label => label.textContent)"""
        )
        assert spilled == [], (width, spilled)
        # The chosen box is filled (the browser knows :has()), and its radio is checked.
        box = page.locator("fieldset.q").first.locator("label").nth(3)
        box.click()
        assert box.locator("input").is_checked()
        assert box.evaluate("label => getComputedStyle(label).backgroundColor") == (
            "rgb(11, 79, 156)"
        )
        context.close()
