"""Imports of agencies, counters and paper forms from CSV and XLSX: all rows or none."""

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from survey import db
from survey.models import Agency, Channel, Counter, Response

AGENCIES = """code,name_vi,name_en,level,parent_code
KG,Tỉnh Kiên Giang,Kien Giang Province,province,
KG-STP,Sở Tư pháp,Department of Justice,department,KG
KG-RG,Trung tâm Phục vụ hành chính công Rạch Giá,Rach Gia Service Centre,centre,KG
KG-RG-VT,UBND phường Vĩnh Thanh,Vinh Thanh Ward,commune,KG-RG
"""
COUNTERS = """code,agency_code,name,questionnaire
STP-1,KG-STP,Quầy số 1,
STP-2,KG-STP,Quầy số 2,counter-quick
VT-1,KG-RG-VT,Quầy một cửa,sipas-service
"""
ITEMS = "A1,A2,A3,B1,B2,B3,B4,C1,C2,C3,D1,D2,D3,E1,E2,E3"


def write(tmp_path: Path, name: str, text: str, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def count(app, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


@pytest.fixture
def loaded(app, runner, tmp_path):
    """Agencies and counters imported through the CLI."""
    assert (
        runner.invoke(
            args=["agencies", "import", str(write(tmp_path, "a.csv", AGENCIES))]
        ).exit_code
        == 0
    )
    result = runner.invoke(args=["counters", "import", str(write(tmp_path, "c.csv", COUNTERS))])
    assert result.exit_code == 0, result.output
    return app


def test_agencies_import_builds_the_tree_and_reimport_updates(app, runner, tmp_path):
    result = runner.invoke(
        args=["agencies", "import", str(write(tmp_path, "a.csv", AGENCIES, bom=True))]
    )
    assert result.exit_code == 0 and "4 created, 0 updated" in result.output
    renamed = AGENCIES.replace("Sở Tư pháp,", "Sở Tư pháp tỉnh Kiên Giang,")
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "b.csv", renamed))])
    assert "0 created, 4 updated" in result.output
    with app.app_context():
        ward = db.session().scalar(select(Agency).where(Agency.code == "KG-RG-VT"))
        assert ward.parent.code == "KG-RG" and ward.parent.parent.code == "KG"
        assert db.session().scalar(select(Agency.name_vi).where(Agency.code == "KG-STP")) == (
            "Sở Tư pháp tỉnh Kiên Giang"
        )


def test_bad_agency_rows_reject_the_whole_file_and_name_each_row(app, runner, tmp_path):
    bad = AGENCIES + "KG-X,,X,ministry,NOPE\nKG-STP,Trùng,Dup,department,KG\n"
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", bad))])
    assert result.exit_code == 1
    assert "dòng 6: name_vi (tên tiếng Việt) đang trống" in result.output
    assert "dòng 6: level 'ministry' không thuộc" in result.output
    assert "dòng 6: parent_code NOPE không phải là cơ quan đã có" in result.output
    assert "dòng 7: mã KG-STP xuất hiện hai lần trong tệp (cả ở dòng 3)" in result.output
    assert count(app, Agency) == 0


def test_agency_loop_is_refused(app, runner, tmp_path):
    loop = "code,name_vi,name_en,level,parent_code\nA,Một,One,commune,B\nB,Hai,Two,commune,A\n"
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", loop))])
    assert result.exit_code == 1 and "vòng lặp" in result.output
    assert count(app, Agency) == 0


def test_missing_column_is_named(app, runner, tmp_path):
    result = runner.invoke(
        args=["agencies", "import", str(write(tmp_path, "a.csv", "code,name_vi\nA,B\n"))]
    )
    assert result.exit_code == 1 and "Thiếu cột: name_en, level, parent_code" in result.output


def test_non_utf8_file_is_refused_with_advice(app, runner, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(AGENCIES.encode("cp1258", errors="replace"))
    result = runner.invoke(args=["agencies", "import", str(path)])
    assert result.exit_code == 1 and "CSV UTF-8" in result.output


def test_counters_import_list_and_update(loaded, runner, tmp_path):
    result = runner.invoke(args=["counters", "list", "--format", "csv"])
    lines = result.output.strip().splitlines()
    assert lines[0] == "code,agency_code,name,survey_url"
    assert lines[1].startswith("STP-1,KG-STP,Quầy số 1,http://survey.test/s/")
    with loaded.app_context():
        quick = db.session().scalar(select(Counter).where(Counter.code == "STP-2"))
        assert quick.questionnaire_slug == "counter-quick"
        token = quick.token
    renamed = COUNTERS.replace("Quầy số 2,counter-quick", "Quầy số hai,")
    result = runner.invoke(args=["counters", "import", str(write(tmp_path, "c2.csv", renamed))])
    assert "0 created, 3 updated" in result.output
    with loaded.app_context():
        quick = db.session().scalar(select(Counter).where(Counter.code == "STP-2"))
        # The name changes; an empty questionnaire cell keeps it; the poster stays valid.
        assert (quick.name, quick.questionnaire_slug, quick.token) == (
            "Quầy số hai",
            "counter-quick",
            token,
        )


def test_bad_counter_rows_are_all_listed(loaded, runner, tmp_path):
    bad = (
        "code,agency_code,name,questionnaire\nN-1,NOPE,Quầy,\nN-2,KG-STP,,\nN-3,KG-STP,Quầy,paper\n"
    )
    result = runner.invoke(args=["counters", "import", str(write(tmp_path, "c.csv", bad))])
    assert result.exit_code == 1
    assert "dòng 2: agency_code NOPE" in result.output
    assert "dòng 3: tên đang trống" in result.output
    assert "dòng 4: phiếu paper không thuộc" in result.output
    assert count(loaded, Counter) == 3


def paper_csv(rows: list[str], extra_header: str = ",weight,psu,comment") -> str:
    return f"counter,submitted_at,{ITEMS}{extra_header}\n" + "\n".join(rows) + "\n"


GOOD_ROW = "STP-1,2026-03-31," + ",".join(["4"] * 16) + ",1.5,P7,Cán bộ nhiệt tình"


def test_paper_forms_are_imported_with_weights_psu_and_missing(loaded, runner, tmp_path):
    rows = [GOOD_ROW, "VT-1,2026-04-02T16:45:00+07:00," + ",".join(["5"] * 14 + ["", ""]) + ",,,"]
    result = runner.invoke(
        args=[
            "responses",
            "import",
            str(write(tmp_path, "p.csv", paper_csv(rows), bom=True)),
            "--questionnaire",
            "sipas-service",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "2 paper forms imported" in result.output
    with loaded.app_context():
        stored = db.session().scalars(select(Response).order_by(Response.id)).all()
        assert [r.channel for r in stored] == [Channel.IMPORT, Channel.IMPORT]
        assert (stored[0].weight, stored[0].psu, stored[0].comment) == (
            1.5,
            "P7",
            "Cán bộ nhiệt tình",
        )
        assert stored[0].scores == "4" * 16 + "0"
        assert stored[0].local_day == 20260331
        assert stored[1].scores == "5" * 14 + "000" and stored[1].weight == 1.0
        assert stored[1].submitted_at.hour == 9 and stored[1].local_day == 20260402


def test_bad_paper_forms_store_nothing_and_list_every_row(loaded, runner, tmp_path):
    rows = [
        GOOD_ROW,
        "NOPE,2026-03-31," + ",".join(["4"] * 16) + ",,,",
        "STP-1,31/03/2026," + ",".join(["4"] * 15 + ["6"]) + ",-1,,",
        "STP-2,2026-03-31," + ",".join(["4"] * 16) + ",,,",
        "STP-1,2026-03-31," + ",".join(["4"] * 16) + ",,," + "x" * 1001,
    ]
    result = runner.invoke(
        args=["responses", "import", str(write(tmp_path, "p.csv", paper_csv(rows)))]
    )
    assert result.exit_code == 1
    out = result.output
    assert "dòng 3: counter NOPE không phải là mã quầy đã có" in out
    assert "dòng 4: submitted_at '31/03/2026' không phải ngày" in out
    assert "dòng 4: E3 là '6': phải là số nguyên từ 1 đến 5" in out
    assert "dòng 4: weight '-1' phải là số lớn hơn 0" in out
    assert "dòng 5: quầy STP-2 dùng phiếu counter-quick, không phải sipas-service" in out
    assert "dòng 6: ý kiến dài quá 1000 ký tự" in out
    assert "dòng 2" not in out
    assert count(loaded, Response) == 0


def test_paper_forms_from_xlsx(loaded, runner, tmp_path):
    from datetime import datetime

    book = Workbook()
    sheet = book.active
    sheet.append(["counter", "submitted_at", *ITEMS.split(","), "weight"])
    sheet.append(["STP-1", datetime(2026, 5, 4, 8, 0), *[3] * 16, 2])
    sheet.append(["VT-1", "2026-05-05", *[5] * 16, None])
    sheet.append([None] * 19)  # a blank row at the end is ignored
    path = tmp_path / "forms.xlsx"
    book.save(path)
    result = runner.invoke(args=["responses", "import", str(path)])
    assert result.exit_code == 0, result.output
    with loaded.app_context():
        stored = db.session().scalars(select(Response).order_by(Response.id)).all()
        assert [r.weight for r in stored] == [2.0, 1.0]
        assert stored[0].scores.startswith("3" * 16) and stored[0].local_day == 20260504


def test_unknown_column_and_unknown_questionnaire(loaded, runner, tmp_path):
    path = write(tmp_path, "p.csv", paper_csv([GOOD_ROW], ",weight,psu,comment,phone"))
    result = runner.invoke(args=["responses", "import", str(path)])
    assert result.exit_code == 1 and "Cột không xác định: phone" in result.output
    result = runner.invoke(args=["responses", "import", str(path), "--questionnaire", "nope"])
    assert result.exit_code == 2 and "unknown questionnaire" in result.output
    assert count(loaded, Response) == 0
