"""Property-based tests (Hypothesis): malformed input never gets a 5xx, and nothing is written.

Each property sends requests that are wrong in some way — malformed UTF-8, NUL bytes, lone
surrogates, huge fields, bodies over MAX_CONTENT_LENGTH, file parts where text is expected,
duplicate and unknown keys, out-of-range and overflowing numbers, wrong content types, nested
JSON — to the citizen form, the receipt-link form, sign-in and the API, and runs the imports on
malformed rows. Every request gets a 4xx with a message (JSON under /api/); the row counts of
responses, agencies, counters and receipt links are the same after as before. Bounded for CI:
50 examples per property, on each database.
"""

import io
import json
from urllib.parse import quote_from_bytes

import pytest
from helpers import full_answers, hidden_fields
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from test_console_support import csrf

from survey import create_app, db
from survey.cli.imports import ImportRejected, import_agencies, import_paper_forms
from survey.models import Agency, Counter, IssuedReceiptLink, Response
from survey.tables import CellProblems, Row, TableError

TOKEN = "sv_fuzz-token-0123456789abcdefghijklmnopqrstuv"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 64 * 1024
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def app(app_config):
    """Return the app with a small body limit and errors turned into pages, as in production."""
    application = create_app(
        app_config | {"MAX_CONTENT_LENGTH": MAX_BODY, "PROPAGATE_EXCEPTIONS": False}
    )
    yield application
    db.dispose_engines(application)


@pytest.fixture
def counter(make_counter, make_token) -> Counter:
    """Store TOKEN (an admin's, for the case software) and a counter, once per test."""
    make_token("case@example.vn", plain=TOKEN)
    return make_counter()


def counts(app) -> tuple[int, ...]:
    """Return the row counts of responses, agencies, counters and receipt links."""
    with app.app_context():
        session = db.session()
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Response, Agency, Counter, IssuedReceiptLink)
        )


def assert_refused(reply, api: bool = False) -> None:
    """Check that `reply` is a 4xx with a message (JSON with error and message under /api/)."""
    body = reply.get_data()
    assert 400 <= reply.status_code < 500, (reply.status_code, body[:300])
    assert body, reply.status_code
    if api:
        assert reply.mimetype == "application/json", body[:300]
        data = reply.get_json()
        assert data["error"] and data["message"]


# ---------------------------------------------------------------- strategies

# Never an answer of a scale (1-5; "0" is its "no opinion"): out of range, overflowing, odd.
NUMBERS = st.sampled_from(
    ["6", "-1", "99999999999999999999", "1e309", "-1e309", "nan", "inf", "4.0", "0x4", "٤"]
)
NUL_TEXT = st.text(max_size=20).map(lambda t: t + "\x00" + t)
SURROGATE_TEXT = st.builds(
    lambda a, s, b: a + chr(s) + b, st.text(max_size=10), st.integers(0xD800, 0xDFFF), st.text()
)
BAD_BYTES = st.binary(min_size=1, max_size=20).map(lambda b: b"\xff" + b + b"\xc3")


def encode(value) -> str:
    """Percent-encode `value` as a form body does, keeping lone surrogates and raw bytes."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe="")


def form_body(pairs: list[tuple[str, object]]) -> bytes:
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs).encode("ascii")


@st.composite
def bad_form(draw, fields: dict[str, str]):
    """Return (content type, body) of a form post that is wrong in one or more ways."""
    pairs = list(fields.items()) + list(full_answers().items())
    kind = draw(
        st.sampled_from(
            [
                "nul",
                "surrogate",
                "bad-bytes",
                "huge",
                "too-large",
                "file",
                "duplicate",
                "number",
                "content-type",
                "json",
            ]
        )
    )
    key = draw(st.sampled_from(["A1", "E3", "comment", "gender", "nonce", "unknown-key"]))
    extra = draw(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=3))
    if kind == "nul":
        pairs.append((key, draw(NUL_TEXT)))
    elif kind == "surrogate":
        pairs.append((key, draw(SURROGATE_TEXT)))
    elif kind == "bad-bytes":
        pairs.append((key, draw(BAD_BYTES)))
    elif kind == "huge":
        pairs.append(("comment", "ý" * draw(st.integers(1001, 8000))))
    elif kind == "too-large":
        pairs.append(("comment", "x" * (MAX_BODY + draw(st.integers(1, 10_000)))))
    elif kind == "duplicate":
        pairs.insert(0, ("A1", draw(NUMBERS)))  # the first of two values is read: refused
    elif kind == "number":
        pairs = [(k, draw(NUMBERS) if k == "E3" else v) for k, v in pairs]
    if kind == "file":
        data = {k: v for k, v in pairs + extra}
        data[key if key != "unknown-key" else "A2"] = (io.BytesIO(draw(st.binary())), "f.txt")
        return "multipart/form-data", data
    body = form_body(pairs + extra)
    if kind == "content-type":
        return draw(st.sampled_from(["text/plain", "application/xml", "image/png"])), body
    if kind == "json":
        depth = draw(st.integers(1, 20_000))
        return "application/json", "[" * depth + "]" * depth
    return "application/x-www-form-urlencoded", body


def post_bad_form(client, path: str, case) -> object:
    content_type, body = case
    return client.post(path, data=body, content_type=content_type)


# ---------------------------------------------------------------- citizen and receipt forms


@FUZZ
@given(data=st.data())
def test_the_citizen_form_refuses_malformed_posts(app, counter, data):
    client = app.test_client()
    page = client.get(f"/s/{counter.token}")
    fields = hidden_fields(page.get_data(as_text=True))
    before = counts(app)
    reply = post_bad_form(client, f"/s/{counter.token}", data.draw(bad_form(fields)))
    assert_refused(reply)
    assert counts(app) == before


@pytest.fixture
def receipt_path(app, counter) -> str:
    """Return the path of a receipt link issued through the API, once per test."""
    reply = app.test_client().post(
        "/api/v1/receipts", json={"counter": counter.code, "dossier": "HS-FUZZ-1"}, headers=AUTH
    )
    assert reply.status_code == 201, reply.get_data(as_text=True)
    return reply.json["url"].removeprefix("http://survey.test")


@FUZZ
@given(data=st.data())
def test_the_receipt_link_form_refuses_malformed_posts(app, receipt_path, data):
    path = receipt_path
    client = app.test_client()
    fields = hidden_fields(client.get(path).get_data(as_text=True))
    before = counts(app)
    reply = post_bad_form(client, path, data.draw(bad_form(fields)))
    assert_refused(reply)
    assert counts(app) == before


@FUZZ
@given(data=st.data())
def test_sign_in_refuses_malformed_posts(app, data):
    client = app.test_client()
    token = csrf(client)
    field = data.draw(st.sampled_from(["email", "password", "next"]))
    value = data.draw(
        st.one_of(NUL_TEXT, SURROGATE_TEXT, BAD_BYTES, st.just("x" * (MAX_BODY + 10)))
    )
    pairs = [("csrf_token", token), ("email", "a@example.vn"), ("password", "y" * 12)]
    pairs.append((field, value))
    before = counts(app)
    reply = client.post(
        "/console/login", data=form_body(pairs), content_type="application/x-www-form-urlencoded"
    )
    assert_refused(reply)
    assert counts(app) == before


# ---------------------------------------------------------------- the API


def json_text(value) -> str:
    """Return JSON text of `value`, keeping lone surrogates as \\u escapes."""
    return json.dumps(value, ensure_ascii=True)


@st.composite
def bad_receipt_body(draw, counter_code: str):
    """Return (content type, body) of a receipt request that is wrong in one or more ways."""
    kind = draw(
        st.sampled_from(
            [
                "nested",
                "surrogate",
                "nul",
                "bad-bytes",
                "huge",
                "number",
                "types",
                "duplicate",
                "unknown-counter",
                "content-type",
                "not-object",
            ]
        )
    )
    unknown = draw(st.dictionaries(st.text(max_size=8), st.integers(), max_size=3))
    body = {**unknown, "counter": counter_code, "dossier": "HS-0001"}
    field = draw(st.sampled_from(["counter", "dossier"]))
    if kind == "nested":
        depth = draw(st.integers(1000, 20_000))
        return "application/json", '{"counter": ' * depth + "1" + "}" * depth
    if kind == "surrogate":
        body[field] = draw(SURROGATE_TEXT)
    elif kind == "nul":
        body["counter"] = draw(NUL_TEXT)  # a dossier is only hashed: NUL there is no harm
    elif kind == "bad-bytes":
        return "application/json", b'{"counter": "' + draw(BAD_BYTES) + b'", "dossier": "x"}'
    elif kind == "huge":
        body[field] = "x" * draw(st.integers(300, MAX_BODY + 10_000))
    elif kind == "number":
        number = draw(st.sampled_from(["1e400", "-1e400", "9" * 400, "NaN", "Infinity"]))
        return "application/json", f'{{"counter": {number}, "dossier": "HS-1"}}'
    elif kind == "types":
        body[field] = draw(st.one_of(st.none(), st.booleans(), st.lists(st.integers())))
    elif kind == "duplicate":
        text = json_text(body)[:-1] + f', "counter": {json_text(draw(NUL_TEXT))}}}'
        return "application/json", text
    elif kind == "unknown-counter":
        body["counter"] = "NO-SUCH-" + draw(st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True))
    elif kind == "content-type":
        ctype = draw(st.sampled_from(["text/plain", "application/x-www-form-urlencoded"]))
        return ctype, json_text(body)
    elif kind == "not-object":
        return "application/json", json_text(draw(st.lists(st.integers(), max_size=3)))
    return "application/json", json_text(body)


@FUZZ
@given(data=st.data())
def test_the_receipts_api_refuses_malformed_bodies(app, counter, data):
    content_type, body = data.draw(bad_receipt_body(counter.code))
    before = counts(app)
    reply = app.test_client().post(
        "/api/v1/receipts", data=body, content_type=content_type, headers=AUTH
    )
    assert_refused(reply, api=True)
    assert counts(app) == before


BAD_FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "confidence": st.sampled_from(["1e999", "nan", "-1", "2", "0.4", "9" * 50]),
        "from": st.sampled_from(["2026-13-45", "99999-01-01", "0001-00-00", "x"]),
        "period": st.sampled_from(["decade", "month\x00"]),
        "design": st.sampled_from(["strata", "srs\x00"]),
    },
).filter(bool)


@FUZZ
@given(filters=BAD_FILTERS, noise=st.one_of(NUL_TEXT, SURROGATE_TEXT, BAD_BYTES, st.none()))
def test_the_indices_api_refuses_malformed_queries(app, counter, filters, noise):
    query = "&".join(f"{encode(k)}={encode(v)}" for k, v in filters.items())
    if noise is not None:
        query += "&unknown=" + encode(noise)
    before = counts(app)
    reply = app.test_client().get(f"/api/v1/indices?{query}", headers=AUTH)
    assert_refused(reply, api=True)
    assert counts(app) == before


# ---------------------------------------------------------------- the imports

CELL = st.one_of(
    st.text(max_size=30),
    NUL_TEXT,
    st.integers(301, 400).map(lambda n: "ý" * n),
    NUMBERS,
    st.sampled_from(["1e300", "0001-01-01", "2099-01-01", "9999-12-31T23:59", "=A1", "sec-a1"]),
)


@FUZZ
@given(cells=st.lists(st.tuples(CELL, CELL, CELL), min_size=1, max_size=5))
def test_agency_imports_refuse_malformed_rows_and_store_nothing(app, cells):
    header = ["code", "name_vi", "name_en", "level", "parent_code"]
    # Every file has at least one bad row: a NUL in a name, which no database stores.
    rows = [Row(2, dict(zip(header, ["OK-1", "Tên\x00", "Name", "department", ""], strict=False)))]
    rows += [
        Row(n, dict(zip(header, [code, name, name_en, "department", ""], strict=False)))
        for n, (code, name, name_en) in enumerate(cells, start=3)
    ]
    before = counts(app)
    with app.app_context():
        with pytest.raises((ImportRejected, TableError)) as refused:
            import_agencies(db.session(), header, rows)
        db.session().rollback()
    problems = getattr(refused.value, "problems", None) or [(0, str(refused.value))]
    assert all(reason for _, reason in problems)
    assert counts(app) == before


@FUZZ
@given(cells=st.lists(st.tuples(CELL, CELL, CELL, CELL), min_size=1, max_size=5))
def test_paper_form_imports_refuse_malformed_rows_and_store_nothing(app, counter, cells):
    with app.app_context():
        session = db.session()
        code = counter.code
        definition = app.extensions["questionnaires"]["sipas-service"]
        header = ["counter", "submitted_at", *full_answers(), "weight", "psu", "comment"]
        rows = [
            Row(
                n, dict(zip(header, [code, moment, a1, *["4"] * 15, weight, psu, ""], strict=False))
            )
            for n, (moment, a1, weight, psu) in enumerate(cells, start=2)
        ]
        rows.append(Row(len(rows) + 2, dict(zip(header, [code, "2026-01-05", "6"], strict=False))))
        before = counts(app)
        with pytest.raises((ImportRejected, CellProblems, TableError)):
            import_paper_forms(session, header, rows, definition)
        session.rollback()
    assert counts(app) == before
