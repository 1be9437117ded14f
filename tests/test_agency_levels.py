"""Agency levels as they are since 1 July 2025: new levels in the console form and the import,
no district for a new agency, a district stored before still shown and its results working, and
a demo province without districts."""

from pathlib import Path

from flask_babel import force_locale
from helpers import full_answers, hidden_fields
from sqlalchemy import func, select
from test_console_support import add_user, post

from survey import db
from survey.levels import CURRENT_LEVELS, level_choices, level_label
from survey.models import (
    Agency,
    AgencyLevel,
    Channel,
    Counter,
    IssuedReceiptLink,
    Response,
    ResponseStatus,
)

HEADER = "code,name_vi,name_en,level,parent_code\n"


def agency(app, code: str) -> Agency | None:
    """Return the stored agency with `code`, or None."""
    with app.app_context():
        return db.session().scalar(select(Agency).where(Agency.code == code))


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "agencies.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_levels_offered_are_those_since_the_reform(app):
    with app.test_request_context("/?lang=vi"), force_locale("vi"):
        offered = dict(level_choices())
        assert list(offered) == ["province", "department", "centre", "branch", "commune"]
        assert offered["centre"] == "Trung tâm Phục vụ hành chính công"
        assert "district" not in offered
        # An agency stored as a district keeps its level when it is edited.
        assert dict(level_choices("district"))["district"] == "Huyện (trước 1/7/2025)"
        assert level_label("commune") == "Xã, phường, đặc khu (Ủy ban nhân dân)"
        assert level_label("no-such-level") == "no-such-level"
    with app.test_request_context("/?lang=en"), force_locale("en"):
        assert level_label("branch") == "Branch of the public administrative service centre"
    assert AgencyLevel.DISTRICT not in CURRENT_LEVELS


def test_the_console_form_offers_the_new_levels_and_refuses_a_new_district(app, client, login):
    add_user(app, "admin@example.vn", "admin")
    login(client, "admin@example.vn")
    form = client.get("/console/agencies/new?lang=vi").get_data(as_text=True)
    assert 'value="centre"' in form and 'value="branch"' in form
    assert 'value="district"' not in form
    data = {"code": "MH-TT", "name_vi": "Trung tâm Phục vụ hành chính công", "parent": ""}
    refused = post(client, "/console/agencies/new", data | {"level": "district"})
    assert refused.status_code == 422 and agency(app, "MH-TT") is None
    made = post(client, "/console/agencies/new", data | {"level": "centre"})
    assert made.status_code == 303 and agency(app, "MH-TT").level == "centre"


def test_a_district_stored_before_can_still_be_edited(app, client, login, make_agency):
    make_agency(code="OLD-H", name_vi="Ủy ban nhân dân huyện Tân Lập", level="district")
    add_user(app, "admin@example.vn", "admin")
    login(client, "admin@example.vn")
    page = client.get("/console/agencies/OLD-H/edit?lang=vi").get_data(as_text=True)
    assert 'value="district"' in page and "Huyện (trước 1/7/2025)" in page
    data = {"name_vi": "UBND huyện Tân Lập (cũ)", "level": "district", "parent": ""}
    assert post(client, "/console/agencies/OLD-H/edit", data).status_code == 303
    assert agency(app, "OLD-H").name_vi == "UBND huyện Tân Lập (cũ)"
    # Nor may another agency be moved to the district level.
    make_agency(code="NEW-X", name_vi="Ủy ban nhân dân xã Mới", level="commune")
    moved = post(client, "/console/agencies/NEW-X/edit", data | {"name_vi": "Xã Mới"})
    assert moved.status_code == 422 and agency(app, "NEW-X").level == "commune"


def test_the_import_takes_the_new_levels_and_an_existing_district_only(app, runner, tmp_path):
    text = HEADER + (
        "MH,UBND tỉnh Minh Hòa,,province,\n"
        "MH-TT,Trung tâm Phục vụ hành chính công,,centre,MH\n"
        "MH-TT-1,Chi nhánh số 1,,branch,MH-TT\n"
        "MH-DK,UBND đặc khu Hòn Ngọc,,commune,MH\n"
    )
    result = runner.invoke(args=["agencies", "import", write(tmp_path, text)])
    assert result.exit_code == 0, result.output
    assert agency(app, "MH-TT-1").level == "branch"
    new_district = HEADER + "MH-H,UBND huyện Mới,,district,MH\n"
    result = runner.invoke(args=["agencies", "import", write(tmp_path, new_district)])
    assert result.exit_code == 1 and agency(app, "MH-H") is None
    assert "1/7/2025" in result.output
    # A district stored before the reform is imported again as it is.
    with app.app_context():
        session = db.session()
        session.add(Agency(code="MH-OLD", name_vi="UBND huyện Cũ", name_en="", level="district"))
        session.commit()
    again = HEADER + "MH-OLD,UBND huyện Cũ,,district,MH\n"
    result = runner.invoke(args=["agencies", "import", write(tmp_path, again)])
    assert result.exit_code == 0, result.output
    assert agency(app, "MH-OLD").parent_id == agency(app, "MH").id


def test_a_district_agency_from_before_still_has_its_results(app, client, login, make_agency):
    district = make_agency(code="OLD-H", name_vi="Ủy ban nhân dân huyện Tân Lập", level="district")
    with app.app_context():
        session = db.session()
        session.add(Counter(code="OLD-H-Q1", agency_id=district.id, name="Quầy 1", token="t" * 20))
        session.commit()
    citizen = app.test_client()
    for _ in range(3):
        fields = hidden_fields(citizen.get(f"/s/{'t' * 20}").get_data(as_text=True))
        citizen.post(f"/s/{'t' * 20}", data=fields | full_answers("4"))
    with app.app_context():
        session = db.session()
        session.query(Response).update({"status": ResponseStatus.VALID})
        session.commit()
        assert session.scalar(select(func.count()).select_from(Response)) == 3
    add_user(app, "evaluator@example.vn", "evaluator")
    login(client, "evaluator@example.vn")
    page = client.get("/results/agency/OLD-H?period=all&lang=vi")
    assert page.status_code == 200
    assert "Ủy ban nhân dân huyện Tân Lập" in page.get_data(as_text=True)
    overview = client.get("/results/?period=all&lang=vi").get_data(as_text=True)
    assert "Ủy ban nhân dân huyện Tân Lập" in overview


def test_the_demo_has_no_district_and_has_the_new_levels(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = db.session()
        agencies = session.scalars(select(Agency)).all()
        assert 14 <= len(agencies) <= 16
        levels = {a.level for a in agencies}
        assert "district" not in levels
        assert {"province", "department", "centre", "branch", "commune"} <= levels
        assert not [a.code for a in agencies if "huyện" in a.name_vi.lower()]
        names = " ".join(a.name_vi for a in agencies if a.level == "commune")
        assert "phường" in names and "xã" in names and "đặc khu" in names
        # Every receipt-link answer has its link, among links never answered.
        receipt = session.scalar(
            select(func.count()).select_from(Response).where(Response.channel == Channel.RECEIPT)
        )
        answered = session.scalar(
            select(func.count())
            .select_from(IssuedReceiptLink)
            .join(Response, Response.dossier_hash == IssuedReceiptLink.dossier_hash)
        )
        issued = session.scalar(select(func.count()).select_from(IssuedReceiptLink))
        assert receipt > 500 and answered == receipt
        assert 0.25 < answered / issued < 0.75
