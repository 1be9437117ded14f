"""Security headers on every page type (survey/security.py), and no inline style or script.

Every response carries the Content-Security-Policy, X-Frame-Options, X-Content-Type-Options and
Referrer-Policy; everything but the static files is `Cache-Control: no-store`; HSTS only with an
https base URL. The policy allows no inline style or script, so no page may contain a `<style>`
element, a `style=` attribute, an inline `<script>` or an `on...=` handler. In Chromium the
pages raise no CSP violation and are still styled by the static files.
"""

import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import full_answers, hidden_fields
from sqlalchemy import select
from test_browser_console import sign_in
from test_results_pages import world  # noqa: F401  (a province with answers: charts are drawn)

from survey import create_app, db
from survey.models import Counter
from survey.security import CONTENT_SECURITY_POLICY

API_TOKEN = "security-headers-token-0123456789"
BASE = "http://survey.test"
EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class InlineCode(HTMLParser):
    """Collect what a CSP without 'unsafe-inline' would block in a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        """Note a <style>, an inline <script>, a style= attribute or an on...= handler."""
        names = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and not names.get("src"):
            self.found.append("inline <script>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def inline_code(html: str) -> list[str]:
    """Return the inline styles and scripts of `html` (empty when there are none)."""
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_parser_finds_inline_style_and_script():
    # The check below must be able to fail.
    html = (
        '<p style="color:red">x</p><style>p{}</style><script>1</script>'
        '<svg><rect style="fill:red"/></svg><a href="javascript:x()" onclick="y()">z</a>'
        '<script src="/static/x.js"></script>'
    )
    assert len(inline_code(html)) == 6
    assert inline_code('<p class="a"><svg><rect fill="red"/></svg></p>') == []


def receipt_path(client, app, counter_id: int) -> str:
    """Return the path of a receipt link issued through the API."""
    with app.app_context():
        code = db.session().get(Counter, counter_id).code
    reply = client.post(
        "/api/v1/receipts",
        json={"counter": code, "dossier": "000.00.12.H56-241105-0001"},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert reply.status_code == 201, reply.get_data(as_text=True)
    return reply.json["url"].removeprefix(BASE)


def thanks_page(client, token: str):
    """Answer the form of poster `token` and return the thank-you page."""
    hidden = hidden_fields(client.get(f"/s/{token}").get_data(as_text=True))
    reply = client.post(f"/s/{token}", data=hidden | full_answers("5"))
    assert reply.status_code == 303
    return client.get(reply.headers["Location"])


def api_call(client, path: str):
    """Call the API at `path` with the test token."""
    return client.get(path, headers={"Authorization": f"Bearer {API_TOKEN}"})


# Each page type: (how to fetch it, the status expected, whether the body is HTML to check).
PAGES = {
    "home": (lambda c, a, w: c.get("/"), 200, True),
    "citizen form": (lambda c, a, w: c.get(f"/s/{w.token_own}"), 200, True),
    "thank-you": (lambda c, a, w: thanks_page(c, w.token_own), 200, True),
    "receipt-link form": (lambda c, a, w: c.get(receipt_path(c, a, w.counter_own)), 200, True),
    "sign-in": (lambda c, a, w: c.get("/console/login"), 200, True),
    "console": (lambda c, a, w: c.get("/console/"), 200, True),
    "console review": (lambda c, a, w: c.get("/console/review"), 200, True),
    "results": (lambda c, a, w: c.get("/results/"), 200, True),
    "results agency": (lambda c, a, w: c.get("/results/agency/OWN-X"), 200, True),
    "results download": (lambda c, a, w: c.get("/results/download.csv"), 200, False),
    "chart download svg": (lambda c, a, w: c.get("/results/chart/forest.svg"), 200, False),
    "chart download png": (lambda c, a, w: c.get("/results/chart/forest.png"), 200, False),
    "api call": (lambda c, a, w: api_call(c, "/api/v1/indices?period=all"), 200, False),
    "api error": (lambda c, a, w: c.get("/api/v1/indices"), 401, False),
    "error page 404": (lambda c, a, w: c.get("/no-such-page"), 404, True),
    "static file": (lambda c, a, w: c.get("/static/site.css"), 200, False),
}
SIGNED_IN = {"console", "console review", "results", "results agency", "results download"}
SIGNED_IN |= {"chart download svg", "chart download png"}


@pytest.mark.parametrize("kind", list(PAGES))
def test_every_page_type_has_the_security_headers(kind, app, client, world, make_token, login):  # noqa: F811
    make_token("api-admin@example.vn", plain=API_TOKEN)
    if kind in SIGNED_IN:
        login(client, "admin@example.vn")
    fetch, status, is_html = PAGES[kind]
    reply = fetch(client, app, world)
    assert reply.status_code == status, reply.get_data(as_text=True)[:300]
    for name, value in EXPECTED.items():
        assert reply.headers.get(name) == value, name
    assert "Strict-Transport-Security" not in reply.headers  # the base URL is http
    if kind == "static file":
        # Static files keep normal caching: revalidated, never no-store.
        assert "no-store" not in reply.headers.get("Cache-Control", "")
    else:
        assert reply.headers["Cache-Control"] == "no-store"
    if is_html:
        html = reply.get_data(as_text=True)
        assert reply.mimetype == "text/html" and "<main" in html
        assert inline_code(html) == [], kind
        # The citizen pages stay light: the staff stylesheet is for the console and results.
        staff_page = kind in SIGNED_IN or kind == "sign-in"
        assert ("console.css" in html) == staff_page
    reply.close()  # a static file is streamed from disk


def test_the_policy_allows_what_the_pages_need_and_no_more():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["style-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"  # the form's <link rel="icon" href="data:,">
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_hsts_only_with_an_https_base_url(app_config):
    secure = create_app(app_config | {"PUBLIC_BASE_URL": "https://survey.example.vn"})
    try:
        for path in ("/", "/console/login", "/api/v1/indices", "/static/site.css"):
            reply = secure.test_client().get(path)
            reply.close()
            assert reply.headers["Strict-Transport-Security"] == (
                "max-age=31536000; includeSubDomains"
            ), path
    finally:
        db.dispose_engines(secure)
    plain = create_app(app_config | {"PUBLIC_BASE_URL": "http://192.168.1.10:8000"})
    try:
        assert "Strict-Transport-Security" not in plain.test_client().get("/").headers
    finally:
        db.dispose_engines(plain)


# ---------------------------------------------------------------- in a real browser

SIZES = {"phone": (360, 640), "desktop": (1280, 800)}
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""
INLINE_STYLE = """document.body.insertAdjacentHTML('beforeend', '<p style="color:red">x</p>')"""


def computed(page, selector: str, prop: str) -> str:
    """Return the computed CSS property `prop` of the first element matching `selector`."""
    return page.eval_on_selector(selector, f"e => getComputedStyle(e).getPropertyValue('{prop}')")


def test_pages_raise_no_csp_violation_and_stay_styled(
    browser,
    live_server,
    app,
    world,  # noqa: F811
    screenshot_dir,
):
    folder = screenshot_dir or Path(tempfile.mkdtemp())
    with app.app_context():
        token = db.session().scalar(select(Counter.token).where(Counter.id == world.counter_own))
    pages = {
        "console": "/console/?lang=en",
        "results": "/results/?lang=vi&shown=2026-Q2",
        "results-agency": "/results/agency/OWN-X?lang=vi",
        "citizen": f"/s/{token}",
    }
    # The property each page's stylesheets set on a known element, as the CSS says.
    styled = {
        "console": [
            (".top", "background-color", "rgb(165, 14, 14)"),  # site.css
            ("main", "max-width", "1040px"),  # console.css
            (".tree li.d2", "padding-left", "50px"),  # console.css, once an inline style
        ],
        "results": [
            ("main", "max-width", "1040px"),
            ("figure.chart", "background-color", "rgb(255, 255, 255)"),
            (".chart > svg", "min-width", "560px"),
        ],
        "results-agency": [("figure.chart", "overflow-x", "auto")],
        "citizen": [
            ("main", "max-width", "760px"),  # no console.css on the citizen's form
            (".q", "background-color", "rgb(255, 255, 255)"),
            (".sc label", "border-top-style", "solid"),
        ],
    }
    messages = []  # the browser's console messages, for one size at a time
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        messages.clear()
        page.on("console", lambda message: messages.append(message))  # noqa: B023
        sign_in(page, live_server, "admin@example.vn")
        for name, path in pages.items():
            reply = page.goto(live_server + path)
            assert reply.status == 200, path
            page.wait_for_load_state("load")
            assert page.evaluate("window.__csp") == [], path
            for selector, prop, value in styled[name]:
                assert computed(page, selector, prop) == value, (path, selector, prop)
            if name.startswith("results"):
                assert page.locator("figure.chart svg").count() >= 1  # the charts are drawn
            page.screenshot(path=str(folder / f"csp-{name}-{size}.png"), full_page=True)
        assert [m.text for m in messages if "Content Security Policy" in m.text] == []
        # The watch itself works: an inline style attribute added now is refused and reported.
        page.evaluate(INLINE_STYLE)
        page.wait_for_function("window.__csp.length > 0")
        assert page.evaluate("window.__csp")[0].startswith("style-src")
        assert any("Content Security Policy" in m.text for m in messages)
        context.close()
