"""Downloads: publication rules in CSV, XLSX, JSON; formula injection; LibreOffice; raw export."""

import csv
import io
import json
import subprocess
from datetime import datetime

import numpy as np
import pytest
from openpyxl import load_workbook

from analysis import Responses, Scheme, index_rows
from survey import db
from survey.models import Agency, Channel, Counter, Response
from survey.questionnaires.versions import ensure_version
from survey.timeutil import vietnam_day
from tests.needs import need_program
from tests.test_results import answers

INJECTED = '=HYPERLINK("http://x","y")'
TABBED = "\tPhòng có tab"
WHEN = datetime(2026, 2, 10, 3)  # 2026-Q1 in Vietnam
# Agency code -> (responses, satisfied of 40 in answers()); OTHER has n = 7 < 30: suppressed.
SIZES = {"OWN": (40, 30), "OTHER": (7, 5), "EVIL": (35, 20), "TAB": (33, 25)}
NUMBERS = ("estimate", "se", "ci_low", "ci_high")
QUERY = "period=quarter&from=2026-01-01&to=2026-03-31"


def _comment(code: str, i: int) -> str | None:
    if code != "EVIL":
        return None
    return "+1+1" if i == 0 else "@SUM(A1)" if i == 2 else None


def _store(app, code: str, counter_id: int, rows: list[list[int]]) -> None:
    """Store the rows at the counter; the second is flagged (too fast), every fourth verified."""
    with app.app_context():
        session = db.session()
        version = ensure_version(session, app.extensions["questionnaires"]["sipas-service"])
        counter = session.get(Counter, counter_id)
        for i, values in enumerate(rows):
            session.add(
                Response(
                    questionnaire_id=version.id,
                    counter_id=counter_id,
                    agency_id=counter.agency_id,
                    submitted_at=WHEN,
                    local_day=vietnam_day(WHEN),
                    scores="".join(map(str, values)),
                    details={"gender": "female" if i % 2 else "male"},
                    channel=Channel.RECEIPT if i % 4 == 0 else Channel.QR,
                    nonce=f"NONCE-SECRET-{counter_id}-{i}",
                    dossier_hash=f"DOSSIER-HASH-{counter_id}-{i}" if i % 4 == 0 else None,
                    comment=_comment(code, i),
                    flags="too-fast" if i == 1 else None,
                    status="flagged" if i == 1 else "valid",
                )
            )
        session.commit()


def downloads_world(app, world) -> dict[str, dict[str, dict]]:
    """Store SIZES' responses (two hostile agency names, hostile comments) and return each
    agency's rows {key: row} computed by `analysis` directly on the same (valid) answers."""
    with app.app_context():
        session = db.session()
        root = session.query(Agency).filter_by(code="ROOT").one()
        for code, name in (("EVIL", INJECTED), ("TAB", TABBED)):
            agency = Agency(code=code, name_vi=name, name_en=name, parent_id=root.id)
            agency.level = "department"
            session.add(agency)
            session.flush()
            session.add(
                Counter(
                    code=f"Q-{code}",
                    agency_id=agency.id,
                    name="Quầy 1",
                    token=f"tok-{code}-secret",
                    questionnaire_slug="sipas-service",
                )
            )
        session.commit()
        counter_of = {c.agency.code: c.id for c in session.query(Counter)}
    expected = {}
    for code, (n, good) in SIZES.items():
        rows = [answers(i, good) for i in range(n)]
        _store(app, code, counter_of[code], rows)
        kept = np.array([r for i, r in enumerate(rows) if i != 1], dtype=np.uint8)
        computed = index_rows(
            Responses(
                scores=kept,
                agency=np.zeros(len(kept), int),
                psu=np.arange(len(kept)),
                weight=np.ones(len(kept)),
                period=np.zeros(len(kept), int),
            ),
            Scheme.sipas(),
        )
        expected[code] = {r["key"]: r for r in computed if r["agency"] == 0}
    return expected


@pytest.fixture
def stored(app, world):
    """Return the analysis rows of downloads_world."""
    return downloads_world(app, world)


def csv_rows(data: bytes) -> list[dict]:
    """Parse a CSV download, which must start with the UTF-8 BOM."""
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(book) -> list[dict]:
    """Return the rows of every level sheet, keyed by the codes of the second row."""
    out = []
    for name in book.sheetnames:
        if name == "Phương pháp":
            continue
        values = list(book[name].values)
        out += [dict(zip(values[1], row, strict=True)) for row in values[2:]]
    return out


def get(client, url: str) -> bytes:
    reply = client.get(url)
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    return reply.get_data()


def check_numbers(rows: list[dict], expected: dict, number=float) -> None:
    """Published rows equal analysis' numbers; suppressed ones have none; caution is marked."""
    by_key = {(r["agency"], r["key"]): r for r in rows if r["agency"] in expected}
    assert {a for a, _k in by_key} == set(expected)
    checked = suppressed = caution = 0
    for code, keys in expected.items():
        for key, want in keys.items():
            got = by_key[(code, key)]
            if want["status"] == "suppressed":
                assert all(got[c] in (None, "") for c in (*NUMBERS, "mean_score")), (code, key)
                suppressed += 1
                continue
            for c in NUMBERS:
                assert number(got[c]) == pytest.approx(want[c], abs=1e-8), (code, key, c)
            checked += 1
            caution += want["status"] == "caution"
    assert checked >= 10 and suppressed >= 23 and caution > 0


def test_csv_json_xlsx_give_no_suppressed_number_and_equal_the_analysis(client, stored, login):
    login(client, "evaluator@example.vn")
    rows = csv_rows(get(client, f"/results/download.csv?{QUERY}"))
    check_numbers(rows, stored)
    assert {r["status"] for r in rows if r["agency"] == "OTHER"} == {"suppressed"}
    other = [r for r in rows if r["agency"] == "OTHER" and r["key"] == "service"][0]
    assert "few-respondents" in other["reason_codes"] and "n = 6" in other["reason"]
    assert any(r["status"] == "caution" and r["reason_codes"] for r in rows)
    report = json.loads(get(client, f"/results/download.json?{QUERY}"))
    check_numbers(report["rows"], stored)
    json_other = [r for r in report["rows"] if (r["agency"], r["key"]) == ("OTHER", "A1")][0]
    assert json_other["reasons"][0]["code"] == "few-respondents"
    book = load_workbook(io.BytesIO(get(client, f"/results/download.xlsx?{QUERY}")))
    check_numbers(xlsx_rows(book), stored)
    # The 7-respondent agency's numbers appear in no download, as text or otherwise.
    value = f"{stored['OTHER']['service']['estimate']:.4f}"[:6]
    for data in (get(client, f"/results/download.{f}?{QUERY}") for f in ("csv", "json")):
        assert value not in data.decode("utf-8-sig")


def test_xlsx_has_level_sheets_frozen_vietnamese_headers_two_decimals_and_method(
    client, stored, login
):
    login(client, "evaluator@example.vn")
    reply = client.get(f"/results/download.xlsx?{QUERY}&lang=vi")
    name = reply.headers["Content-Disposition"]
    assert "chi-so-hai-long_sipas-service_2026-01-01_2026-03-31.xlsx" in name
    book = load_workbook(io.BytesIO(reply.get_data()))
    assert book.sheetnames == ["Dịch vụ", "Yếu tố", "Tiêu chí", "Phương pháp"]
    sheet = book["Dịch vụ"]
    assert sheet.freeze_panes == "A3"
    header = [c.value for c in sheet[1]]
    codes = [c.value for c in sheet[2]]
    assert header[codes.index("estimate")] == "Chỉ số (%)"
    assert header[codes.index("status")] == "Trạng thái công bố"
    estimate = sheet.cell(row=3, column=codes.index("estimate") + 1)
    assert isinstance(estimate.value, float) and estimate.number_format == "0.00"
    assert {r.value for r in book["Tiêu chí"]["D"][2:]} >= {"Tiêu chí"}
    method = {row[0]: row[1] for row in book["Phương pháp"].values}
    assert "mỗi người trả lời là một đơn vị" in method["Thiết kế mẫu"]
    assert method["Độ tin cậy"] == "95%"
    assert "Clopper–Pearson" in method["Khoảng tin cậy của tiêu chí"]
    assert "30" in method["Không công bố"] and "20" in method["Cần thận trọng"]
    assert "2026-01-01" in method["Bộ lọc"] and "2026-03-31" in method["Bộ lọc"]
    assert method["Thời điểm lập (giờ Việt Nam)"].endswith("+07:00")
    assert method["Phiên bản phiếu"] == "1"


def test_formula_injection_is_neutralised_in_csv_and_xlsx(client, stored, login):
    login(client, "evaluator@example.vn")
    rows = csv_rows(get(client, f"/results/download.csv?{QUERY}"))
    names = {r["agency"]: r["agency_name"] for r in rows}
    assert names["EVIL"] == "'" + INJECTED and names["TAB"] == "'" + TABBED
    book = load_workbook(io.BytesIO(get(client, f"/results/download.xlsx?{QUERY}")))
    cells = [c for s in book.worksheets for row in s.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert not [c.value for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@\t\r"]
    assert "'" + INJECTED in {c.value for c in cells}
    raw = csv_rows(get(client, f"/results/responses.csv?{QUERY}"))
    comments = {r["comment"] for r in raw if r["agency"] == "EVIL"}
    assert {"'+1+1", "'@SUM(A1)"} <= comments
    raw_book = load_workbook(io.BytesIO(get(client, f"/results/responses.xlsx?{QUERY}")))
    raw_cells = [c for row in raw_book.active.iter_rows() for c in row]
    assert not [c.coordinate for c in raw_cells if c.data_type == "f"]
    assert "'+1+1" in {c.value for c in raw_cells}


def test_xlsx_converts_with_libreoffice(client, stored, login, tmp_path):
    soffice = need_program("soffice", "libreoffice-calc-nogui")
    login(client, "evaluator@example.vn")
    source = tmp_path / "chi-so.xlsx"
    source.write_bytes(get(client, f"/results/download.xlsx?{QUERY}"))
    done = subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "chi-so.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000


def test_raw_responses_are_anonymised_with_every_answer(client, stored, login):
    login(client, "evaluator@example.vn")
    reply = client.get(f"/results/responses.csv?{QUERY}")
    assert (
        "phieu-tra-loi_sipas-service_2026-01-01_2026-03-31.csv"
        in reply.headers["Content-Disposition"]
    )
    data = reply.get_data()
    rows = csv_rows(data)
    columns = list(rows[0])
    assert columns[:8] == [
        "agency",
        "counter",
        "day",
        "channel",
        "verified",
        "status",
        "flags",
        "flag_reasons",
    ]
    assert {"A1", "E3", "OVERALL", "gender", "comment"} <= set(columns)
    text = data.decode("utf-8-sig")
    for secret in ("NONCE-SECRET", "DOSSIER-HASH", "tok-EVIL-secret", "tok0000001"):
        assert secret not in text
    assert len(rows) == sum(n for n, _good in SIZES.values())
    own = [r for r in rows if r["agency"] == "OWN"]
    first = answers(0, SIZES["OWN"][1])
    assert [own[0][k] for k in ("A1", "A2", "E3", "OVERALL")] == [
        str(first[0]),
        str(first[1]),
        str(first[15]),
        str(first[16] or ""),
    ]
    assert own[0]["day"] == "2026-02-10" and own[0]["verified"] == "1"
    assert own[0]["channel"] == "receipt" and own[1]["channel"] == "qr"
    assert own[1]["status"] == "flagged" and own[1]["flags"] == "too-fast"
    assert own[1]["flag_reasons"]
    book = load_workbook(io.BytesIO(get(client, f"/results/responses.xlsx?{QUERY}")))
    sheet = book.active
    assert sheet.freeze_panes == "A3"
    assert [c.value for c in sheet[2]] == columns
    assert sheet.max_row == 2 + len(rows)


def test_managers_get_only_their_agencies_by_url(client, stored, login):
    login(client, "manager@example.vn")
    for url in (f"/results/responses.csv?{QUERY}", f"/results/responses.csv?{QUERY}&parent=OTHER"):
        reply = client.get(url)
        if reply.status_code == 200:
            agencies = {r["agency"] for r in csv_rows(reply.get_data())}
            assert agencies <= {"OWN", "OWN-X"}, url
        else:
            assert reply.status_code in (400, 404), url
    agencies = {r["agency"] for r in csv_rows(get(client, f"/results/responses.csv?{QUERY}"))}
    assert agencies == {"OWN"}
    book = load_workbook(io.BytesIO(get(client, f"/results/responses.xlsx?{QUERY}")))
    assert {row[0] for row in book.active.iter_rows(min_row=3, values_only=True)} == {"OWN"}
    indices = json.loads(get(client, f"/results/download.json?{QUERY}"))
    assert {r["agency"] for r in indices["rows"]} <= {"OWN", "OWN-X", "*"}


def test_raw_export_streams_in_chunks(app, stored, monkeypatch):
    from survey.results import raw

    monkeypatch.setattr(raw, "CHUNK", 10)
    with app.app_context():
        definition = app.extensions["questionnaires"]["sipas-service"]
        ids = {a.id for a in db.session().query(Agency)}
        from survey.results.filters import ResultsRequest

        chunks = list(raw.csv_chunks(raw.raw_rows(db.engine(), definition, ResultsRequest(), ids)))
    assert len(chunks) > 10  # 115 rows, 10 at a time: never the whole file in one string
    assert sum(c.count("\n") for c in chunks) == 1 + sum(n for n, _g in SIZES.values())
