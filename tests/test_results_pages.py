"""The results pages: numbers equal the hand-computed indices for the filters asked; nothing
suppressed is shown as a number; sorting, the new filters, bad filters, comments and charts."""

import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from PIL import Image
from test_results import answer_two_quarters, expected_indices, store

from survey import db
from survey.models import Channel, Counter, Response
from survey.questionnaires.versions import ensure_version
from survey.timeutil import vietnam_day

TINY = "TINY"


@pytest.fixture
def world(world, app, make_agency, make_counter):
    """Return test_results' province (40 answers per counter and quarter), and an agency with
    only 7 answers in 2026-Q2: its values must never be shown."""
    answer_two_quarters(app, world)
    with app.app_context():
        from survey.models import Agency

        root = db.session().query(Agency).filter_by(code="ROOT").one()
    tiny = make_agency(code=TINY, name_vi="Ủy ban nhân dân xã Nhỏ", level="commune", parent=root)
    counter = make_counter(agency=tiny)
    store(app, counter.id, "sipas-service", ["5" * 16 + "4"] * 7, datetime(2026, 5, 12, 3))
    return world


def get(client, url, lang="en"):
    reply = client.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
    return reply.status_code, reply.get_data(as_text=True)


def row_of(html: str, name: str) -> str:
    """Return the table row (<tr>...</tr>) naming `name`."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", html, re.S)
    found = [r for r in rows if name in r]
    assert found, name
    return found[0]


def test_overview_shows_the_quarter_asked_with_hand_computed_numbers(client, world, login):
    login(client, "evaluator@example.vn")
    status, html = get(client, "/results/?period=quarter&shown=2026-Q1")
    assert status == 200
    assert "Service index, 2026-Q1" in html
    expected = expected_indices()
    for agency in ("OWN", "OWN-X", "OTHER", "*"):
        value = expected[("2026-Q1", agency, "service")][0]
        name = "All agencies" if agency == "*" else f"{agency} (en)"
        assert f">{value:.2f}<" in row_of(html, f">{name}<"), agency
    # Every period of the range can be chosen.
    assert '<option value="2026-Q1" selected>' in html and '<option value="2026-Q2">' in html


def test_a_suppressed_value_is_never_a_number(client, world, login, app):
    login(client, "evaluator@example.vn")
    _status, html = get(client, "/results/")
    row = row_of(html, "TINY (en)")
    assert "not published" in row and "n = 7 respondents, fewer than 30" in row
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    # Index, interval, rank and change are "—"; the responses (7) is a count, not an estimate.
    assert cells[0] == "—" and cells[1] == "—" and cells[2] == "7"
    assert "100" not in row  # not even as "an index of exactly 100" in its reasons
    # The chart leaves it out and lists it as not published.
    svg = client.get("/results/chart/forest.svg?lang=en").get_data(as_text=True)
    root = ET.fromstring(svg)
    words = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Not published" in words and "TINY (en)" in words.split("Not published")[1]
    assert "TINY (en)" not in words.split("Not published")[0]
    # Its agency page neither.
    _status, page = get(client, f"/results/agency/{TINY}")
    for r in re.findall(r"<tr[^>]*>.*?</tr>", page.split("Elements and criteria")[1], re.S)[1:18]:
        assert "not published" in r and "100.00" not in r


def test_sorting_works_without_javascript_and_keeps_the_filters(client, world, login):
    login(client, "evaluator@example.vn")
    expected = expected_indices()
    values = {a: expected[("2026-Q2", a, "service")][0] for a in ("OWN", "OWN-X", "OTHER")}
    for order in ("asc", "desc"):
        _s, html = get(client, f"/results/?from=2026-01-01&sort=index&order={order}")
        positions = {a: html.index(f">{a} (en)</a>") for a in values}
        wanted = sorted(values, key=values.get, reverse=order == "desc")
        assert sorted(positions, key=positions.get) == wanted
        assert f'aria-sort="{"ascending" if order == "asc" else "descending"}"' in html
        # The suppressed agency sorts last either way, its value unknown.
        assert html.index(">TINY (en)</a>") > max(positions.values())
    _s, html = get(client, "/results/?from=2026-01-01&sort=agency&order=asc")
    names = re.findall(r'<th scope="row"><a [^>]*>([^<]+)</a>', html)
    assert names == sorted(names, key=str.casefold)
    links = re.findall(r'href="(/results/\?[^"]*sort=[^"]*)"', html)
    assert links and all("from=2026-01-01" in link for link in links)
    # The language switch keeps them too.
    assert re.search(r'href="\?[^"]*from=2026-01-01[^"]*lang=vi"', html)


def test_channel_level_parent_and_verified_filters(client, world, login):
    login(client, "evaluator@example.vn")
    # Every fourth of the 40 answers per counter came from a receipt link.
    for query in ("channel=receipt", "verified=1", "channel=receipt&channel=qr&verified=1"):
        _s, html = get(client, f"/results/?{query}")
        assert ">10<" in row_of(html, ">OWN (en)<"), query
        assert ">100%<" in row_of(html, ">OWN (en)<"), query
    _s, html = get(client, "/results/?channel=qr")
    assert ">30<" in row_of(html, ">OWN (en)<") and ">0%<" in row_of(html, ">OWN (en)<")
    _s, html = get(client, "/results/?level=commune")
    assert "OWN-X (en)" in html and "TINY (en)" in html
    assert ">OWN (en)</a>" not in html and "OTHER (en)</a>" not in html
    _s, html = get(client, "/results/?parent=own")
    assert ">OWN (en)</a>" in html and "OWN-X (en)</a>" in html and "OTHER (en)</a>" not in html
    assert ">80<" in row_of(html, "All agencies")  # 40 at OWN and 40 at OWN-X in 2026-Q2


@pytest.mark.parametrize(
    ("query", "english", "vietnamese"),
    [
        ("channel=fax", "Unknown channel: fax", "Kênh không hợp lệ: fax"),
        ("level=huyen", "Unknown agency level: huyen", "Cấp cơ quan không hợp lệ: huyen"),
        ("sort=bogus", "Unknown sort column: bogus", "Cột sắp xếp không hợp lệ: bogus"),
        ("order=up&sort=index", "The order must be asc or desc", "Thứ tự phải là asc"),
        ("shown=2026-13", "is not a period of this kind", "không phải là một kỳ"),
        ("verified=maybe", "must be 1 or 0", "phải là 1 hoặc 0"),
        ("parent=NOPE", "no agency has the code NOPE", "không có cơ quan nào mã NOPE"),
        ("page=0", "The page must be a whole number", "Trang phải là một số nguyên"),
    ],
)
def test_a_bad_filter_is_a_400_with_its_message_and_the_menu(
    client, world, login, query, english, vietnamese
):
    login(client, "evaluator@example.vn")
    for lang, message in (("en", english), ("vi", vietnamese)):
        status, html = get(client, f"/results/?{query}", lang)
        assert status == 400, (query, lang)
        assert message in html, (query, lang)
        assert 'class="menu"' in html and "/console/login" not in html
        assert "cookies" not in html


def test_verified_share_is_of_the_period_shown(client, world, login, app):
    with app.app_context():
        session = db.session()
        version = ensure_version(session, app.extensions["questionnaires"]["sipas-service"])
        agency_id = session.get(Counter, world.counter_own).agency_id
        when = datetime(2026, 2, 11, 3)
        for _i in range(20):
            session.add(
                Response(
                    questionnaire_id=version.id,
                    counter_id=world.counter_own,
                    agency_id=agency_id,
                    submitted_at=when,
                    local_day=vietnam_day(when),
                    scores="4" * 17,
                    details={},
                    channel=Channel.RECEIPT,
                )
            )
        session.commit()
    login(client, "evaluator@example.vn")
    _s, q1 = get(client, "/results/?shown=2026-Q1")
    _s, q2 = get(client, "/results/?shown=2026-Q2")
    assert ">50%<" in row_of(q1, ">OWN (en)<")  # (10 + 20) of 60
    assert ">25%<" in row_of(q2, ">OWN (en)<")  # 10 of 40


def test_vietnamese_pages_name_designs_and_periods_in_words(client, world, login):
    login(client, "evaluator@example.vn")
    _s, html = get(client, "/results/?design=cluster&period=all", "vi")
    assert "quầy là cụm" in html and "mỗi người trả lời là một đơn vị" in html
    assert (
        "Chỉ số hài lòng chung, toàn bộ khoảng thời gian" in html
        and ", all<" not in html.split("<h2>")[1]
    )
    assert "Design:" not in html and "suppressed" not in html
    _s, html = get(client, "/results/?shown=2026-Q2", "vi")
    assert "Quý 2/2026" in html


def add_comments(app, counter_id: int, texts: list[str]) -> None:
    with app.app_context():
        session = db.session()
        version = ensure_version(session, app.extensions["questionnaires"]["sipas-service"])
        agency_id = session.get(Counter, counter_id).agency_id
        for i, text in enumerate(texts):
            when = datetime(2026, 5, 1 + i, 3)
            session.add(
                Response(
                    questionnaire_id=version.id,
                    counter_id=counter_id,
                    agency_id=agency_id,
                    submitted_at=when,
                    local_day=vietnam_day(when),
                    scores="4" * 17,
                    details={},
                    comment=text,
                )
            )
        session.commit()


def test_agency_page_counters_comments_and_charts(client, world, login, app):
    texts = [f"Góp ý số {i}" for i in range(24)] + ['<script>alert("x")</script>']
    add_comments(app, world.counter_child, texts)
    add_comments(app, world.counter_other, ["Bình luận của Sở Xây dựng"])
    login(client, "manager@example.vn")
    status, html = get(client, "/results/agency/OWN-X")
    assert status == 200
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    # Newest first: the script comment (25 May), then 23, 22, ...; 20 a page.
    assert html.index("&lt;script&gt;") < html.index("Góp ý số 23") < html.index("Góp ý số 22")
    assert "Góp ý số 4<" not in html and "Page 1 of 2" in html
    _s, second = get(client, "/results/agency/OWN-X?page=2")
    assert "Góp ý số 4<" in second and "Góp ý số 0<" in second and "Góp ý số 5<" not in second
    # Its counter with its responses in 2026-Q2: 40 stored and 25 with comments.
    with app.app_context():
        code = db.session().get(Counter, world.counter_child).code
    assert re.search(rf"{code}</th><td>[^<]*</td><td class=\"num\">65</td>", html)
    # The manager cannot read another agency's results or comments by URL.
    assert get(client, "/results/agency/OTHER")[0] == 404
    assert get(client, "/results/agency/OTHER?page=2")[0] == 404
    assert client.get("/results/agency/OTHER/chart/trend.png").status_code == 404
    # The element profile and the trend, as SVG and PNG.
    for name in ("profile", "trend"):
        svg = client.get(f"/results/agency/OWN-X/chart/{name}.svg?lang=vi")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        root = ET.fromstring(svg.get_data())
        words = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
        assert "Thiết kế: mỗi người trả lời là một đơn vị" in words and "95%" in words
        png = client.get(f"/results/agency/OWN-X/chart/{name}.png")
        assert png.status_code == 200 and png.mimetype == "image/png"
        with Image.open(io.BytesIO(png.get_data())) as image:
            assert image.format == "PNG"
    profile = client.get("/results/agency/OWN-X/chart/profile.svg?lang=en").get_data(as_text=True)
    assert profile.count("<circle") == 5


def test_agency_page_numbers_equal_hand_computed(client, world, login):
    login(client, "evaluator@example.vn")
    _s, html = get(client, "/results/agency/OTHER?shown=2026-Q1")
    expected = expected_indices()
    table = html.split("Elements and criteria")[1]
    for key in ("A", "B1", "E3", "service"):
        value, n = expected[("2026-Q1", "OTHER", key)]
        label = "Service index" if key == "service" else f"{key} <span"
        row = row_of(table, label)
        assert f">{value:.2f}<" in row and f">{n}<" in row, key
