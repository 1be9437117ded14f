"""Opening hours per agency and the burst limit per counter, set by staff in the console or in
an import, and what they change in the flags (survey/citizen/flagging.py)."""

import html
import re

import pytest
from helpers import SUNDAY_9PM, TUESDAY_9AM
from sqlalchemy import select
from test_console_support import add_user, csrf
from test_flags import responses, send
from test_imports import write

from survey import create_app, db
from survey.models import Agency, AuditEntry, Counter

ADMIN = "admin@example.vn"
MANAGER = "manager@example.vn"


def agency_of(app, code: str) -> Agency:
    with app.app_context():
        return db.session().scalar(select(Agency).where(Agency.code == code))


def counter_of(app, counter_id: int) -> Counter:
    with app.app_context():
        return db.session().get(Counter, counter_id)


def entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return db.session().scalars(query).all()


def error_beside(page: str, field: str) -> str:
    """Return the text of the message shown beside `field` ('' when there is none)."""
    match = re.search(rf'<p class="msg f" id="{field}-err">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


def post(client, url: str, data: dict):
    """POST `data` with the session's CSRF token; the answer in Vietnamese."""
    return client.post(f"{url}?lang=vi", data={"csrf_token": csrf(client), **data})


def text_of(page: str) -> str:
    """Return the text a person reads on `page`: no tags, one space between words."""
    inline = re.sub(r"</?span[^>]*>", "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def get_page(client, url: str) -> str:
    """Return the page at `url` in Vietnamese (the sign-in helpers leave English chosen)."""
    return client.get(f"{url}?lang=vi").get_data(as_text=True)


def agency_edit(client, code: str, **changes):
    data = {"name_vi": "Sở Tư pháp tỉnh Minh Hòa", "name_en": "", "level": "department"}
    data |= {"parent": "ROOT", "opening_hours": ""} | changes
    return post(client, f"/console/agencies/{code}/edit", data)


def counter_edit(client, counter_id: int, **changes):
    data = {"name": "Quầy số 1", "questionnaire": "sipas-service", "burst_limit": ""} | changes
    return post(client, f"/console/counters/{counter_id}", data)


# ---------------------------------------------------------------- console: opening hours


def test_the_agency_form_saves_shows_and_audits_opening_hours(app, client, world, login):
    login(client, ADMIN)
    form = get_page(client, f"/console/agencies/{world.own}/edit")
    assert "Giờ làm việc" in form
    # The default shown is the configured one, in a form that can be typed back.
    assert "Để trống: T2-T6 07:00-17:30; T7 07:00-12:00." in text_of(form)
    page = get_page(client, f"/console/agencies/{world.own}")
    assert "Giờ làm việc: T2-T6 07:00-17:30; T7 07:00-12:00 (mặc định)" in text_of(page)

    reply = agency_edit(client, world.own, opening_hours="  T2-T7 07:00-11:30; T2-T6 13:00-17:00 ")
    assert reply.status_code == 303
    assert agency_of(app, world.own).opening_hours == "T2-T7 07:00-11:30; T2-T6 13:00-17:00"
    page = get_page(client, f"/console/agencies/{world.own}")
    assert "Giờ làm việc: T2-T7 07:00-11:30; T2-T6 13:00-17:00" in text_of(page)
    assert "(mặc định)" not in text_of(page)
    english = client.get(f"/console/agencies/{world.own}?lang=en").get_data(as_text=True)
    assert "Opening hours: Mon-Sat 07:00-11:30; Mon-Fri 13:00-17:00" in text_of(english)
    edit = get_page(client, f"/console/agencies/{world.own}/edit")
    assert 'value="T2-T7 07:00-11:30; T2-T6 13:00-17:00"' in edit

    # Emptied: back to the default.
    assert agency_edit(client, world.own).status_code == 303
    assert agency_of(app, world.own).opening_hours is None
    changes = [
        (e.before["opening_hours"], e.after["opening_hours"]) for e in entries(app, "agency.update")
    ]
    assert changes == [
        (None, "T2-T7 07:00-11:30; T2-T6 13:00-17:00"),
        ("T2-T7 07:00-11:30; T2-T6 13:00-17:00", None),
    ]
    log = get_page(client, "/console/audit")
    assert "opening_hours" in log and "T2-T7 07:00-11:30; T2-T6 13:00-17:00" in log


@pytest.mark.parametrize(
    "hours, message",
    [
        ("sáng thứ hai", "'sáng thứ hai' không đúng dạng 'T2-T6 07:00-17:00'"),
        ("T2-T9 07:00-17:00", "'T2-T9 07:00-17:00' có một ngày không hợp lệ"),
        ("T2-T6 17:00-07:00", "'T2-T6 17:00-07:00'"),
        ("T2-T6 07:00-25:00", "'T2-T6 07:00-25:00'"),
        ("T6-T2 07:00-17:00", "'T6-T2 07:00-17:00'"),
        ("T2-T6 07:00-17:00; " * 12, "200"),
    ],
)
def test_bad_opening_hours_are_refused_beside_the_field(app, client, world, login, hours, message):
    login(client, ADMIN)
    reply = agency_edit(client, world.own, opening_hours=hours, name_vi="Tên mới")
    assert reply.status_code == 422
    shown = error_beside(reply.get_data(as_text=True), "opening_hours")
    assert message in shown
    agency = agency_of(app, world.own)
    assert agency.opening_hours is None and agency.name_vi == "Sở Tư pháp tỉnh Minh Hòa"
    assert entries(app, "agency.update") == []


def test_a_new_agency_takes_opening_hours_and_refuses_bad_ones(app, client, world, login):
    login(client, ADMIN)
    data = {"code": "TTHCC", "name_vi": "Trung tâm Phục vụ hành chính công", "name_en": ""}
    data |= {"level": "department", "parent": "ROOT"}
    bad = post(client, "/console/agencies/new", data | {"opening_hours": "T2-T6"})
    assert bad.status_code == 422
    assert "'T2-T6' không đúng dạng" in error_beside(bad.get_data(as_text=True), "opening_hours")
    assert agency_of(app, "TTHCC") is None
    good = post(client, "/console/agencies/new", data | {"opening_hours": "T2-CN 07:00-21:00"})
    assert good.status_code == 303
    assert agency_of(app, "TTHCC").opening_hours == "T2-CN 07:00-21:00"
    (created,) = entries(app, "agency.create")
    assert created.after["opening_hours"] == "T2-CN 07:00-21:00"


# ---------------------------------------------------------------- console: burst limit


def test_the_counter_form_saves_shows_and_audits_the_burst_limit(app, client, world, login):
    login(client, MANAGER)
    page = get_page(client, f"/console/counters/{world.counter_own}")
    assert "Số phiếu tối đa trong 2 phút: 4 (mặc định)" in text_of(page)
    assert "Để trống: 4." in text_of(page)
    assert counter_edit(client, world.counter_own, burst_limit=" 12 ").status_code == 303
    assert counter_of(app, world.counter_own).burst_limit == 12
    page = get_page(client, f"/console/counters/{world.counter_own}")
    assert "Số phiếu tối đa trong 2 phút: 12 " in text_of(page)
    assert re.search(r'id="burst_limit"[^>]*value="12"|value="12"[^>]*id="burst_limit"', page)
    assert counter_edit(client, world.counter_own).status_code == 303
    assert counter_of(app, world.counter_own).burst_limit is None
    changes = [
        (e.before["burst_limit"], e.after["burst_limit"]) for e in entries(app, "counter.update")
    ]
    assert changes == [(None, 12), (12, None)]


@pytest.mark.parametrize("value", ["0", "101", "ba", "2.5", "-3", "²", "1e2"])
def test_bad_burst_limits_are_refused_beside_the_field(app, client, world, login, value):
    login(client, MANAGER)
    reply = counter_edit(client, world.counter_own, burst_limit=value, name="Tên mới")
    assert reply.status_code == 422
    shown = error_beside(reply.get_data(as_text=True), "burst_limit")
    assert f"'{value}' không phải số nguyên từ 1 đến 100" in shown
    counter = counter_of(app, world.counter_own)
    assert counter.burst_limit is None and counter.name != "Tên mới"
    assert entries(app, "counter.update") == []


def test_the_defaults_shown_come_from_the_configuration(app_config, client, world, login):
    configured = create_app(
        app_config | {"OPENING_HOURS": "Mon-Sat 08:00-16:00", "COUNTER_BURST": "6 per 5 minutes"}
    )
    try:
        other = configured.test_client()
        login(other, ADMIN)
        form = get_page(other, f"/console/agencies/{world.own}/edit")
        assert "Để trống: T2-T7 08:00-16:00." in text_of(form)
        counter = get_page(other, f"/console/counters/{world.counter_own}")
        assert "Số phiếu tối đa trong 5 phút: 6 (mặc định)" in text_of(counter)
        english = other.get(f"/console/counters/{world.counter_own}?lang=en")
        assert "Most responses in 5 minutes" in english.get_data(as_text=True)
    finally:
        db.dispose_engines(configured)


# ---------------------------------------------------------------- imports

# Levels that every version of the level rules takes (the district tier is being retired).
AGENCIES = """code,name_vi,name_en,level,parent_code
KG,Tỉnh Kiên Giang,Kien Giang Province,province,
KG-STP,Sở Tư pháp,Department of Justice,department,KG
KG-VT,UBND phường Vĩnh Thanh,Vinh Thanh Ward,commune,KG
"""
COUNTERS = "code,agency_code,name,burst_limit\nSTP-1,KG-STP,Quầy số 1,8\nSTP-2,KG-STP,Quầy số 2,\n"


def test_agencies_import_takes_opening_hours(app, runner, tmp_path):
    text = AGENCIES.replace("parent_code\n", "parent_code,opening_hours\n", 1)
    text = text.replace("department,KG\n", 'department,KG,"T2-T6 07:00-17:00; T7 07:30-11:30"\n')
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", text))])
    assert result.exit_code == 0, result.output
    assert agency_of(app, "KG-STP").opening_hours == "T2-T6 07:00-17:00; T7 07:30-11:30"
    assert agency_of(app, "KG").opening_hours is None
    # Re-imported without the column, the agencies keep their hours.
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "b.csv", AGENCIES))])
    assert result.exit_code == 0, result.output
    assert agency_of(app, "KG-STP").opening_hours == "T2-T6 07:00-17:00; T7 07:30-11:30"


def test_bad_opening_hours_reject_the_agencies_file_with_the_line(app, runner, tmp_path):
    text = "code,name_vi,name_en,level,parent_code,opening_hours\n"
    text += "KG,Tỉnh Kiên Giang,,province,,T2-T6 07:00-17:00\n"
    text += "KG-STP,Sở Tư pháp,,department,KG,thứ hai 7 giờ\n"
    text += "KG-VT,UBND phường Vĩnh Thanh,,commune,KG,T2-T6 18:00-07:00\n"
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", text))])
    assert result.exit_code == 1
    assert "dòng 3: opening_hours: 'thứ hai 7 giờ' không đúng dạng" in result.output
    assert "dòng 4: opening_hours: 'T2-T6 18:00-07:00'" in result.output
    assert "dòng 2" not in result.output
    assert agency_of(app, "KG") is None


def test_counters_import_takes_burst_limits_and_refuses_bad_ones(app, runner, tmp_path):
    agencies = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", AGENCIES))])
    assert agencies.exit_code == 0, agencies.output
    bad = COUNTERS + "STP-3,KG-STP,Quầy số 3,0\nSTP-4,KG-STP,Quầy số 4,nhiều\n"
    result = runner.invoke(args=["counters", "import", str(write(tmp_path, "c.csv", bad))])
    assert result.exit_code == 1
    assert "dòng 4: burst_limit: '0' không phải số nguyên từ 1 đến 100" in result.output
    assert "dòng 5: burst_limit: 'nhiều' không phải số nguyên từ 1 đến 100" in result.output
    with app.app_context():
        assert db.session().scalars(select(Counter)).all() == []

    result = runner.invoke(args=["counters", "import", str(write(tmp_path, "c.csv", COUNTERS))])
    assert result.exit_code == 0, result.output
    with app.app_context():
        limits = dict(db.session().execute(select(Counter.code, Counter.burst_limit)).all())
    assert limits == {"STP-1": 8, "STP-2": None}
    # Without the column a re-import keeps the limits; with it, an empty cell is the default.
    keep = "code,agency_code,name\nSTP-1,KG-STP,Quầy một\n"
    assert (
        runner.invoke(args=["counters", "import", str(write(tmp_path, "k.csv", keep))]).exit_code
        == 0
    )
    clear = "code,agency_code,name,burst_limit\nSTP-1,KG-STP,Quầy một,\n"
    with app.app_context():
        assert db.session().scalar(select(Counter.burst_limit).where(Counter.code == "STP-1")) == 8
    assert (
        runner.invoke(args=["counters", "import", str(write(tmp_path, "e.csv", clear))]).exit_code
        == 0
    )
    with app.app_context():
        assert (
            db.session().scalar(select(Counter.burst_limit).where(Counter.code == "STP-1")) is None
        )


# ---------------------------------------------------------------- what the flags do with them


def flags(app) -> list[str | None]:
    return [r.flags for r in responses(app)]


def test_hours_set_in_the_console_decide_out_of_hours_at_once(
    flagging_app, clock, make_agency, make_counter, login
):
    agency = make_agency(code="TTHCC", name_vi="Trung tâm Phục vụ hành chính công")
    counter = make_counter(agency=agency)
    add_user(flagging_app, ADMIN, "admin")
    staff = flagging_app.test_client()
    login(staff, ADMIN)
    # The default hours: a Sunday evening is closed, and the settings are now cached.
    clock.now = SUNDAY_9PM
    send(flagging_app.test_client(), counter.token, clock, 60)
    data = {"name_vi": agency.name_vi, "name_en": "", "level": "department", "parent": ""}
    reply = post(
        staff, "/console/agencies/TTHCC/edit", data | {"opening_hours": "T2-CN 07:00-22:00"}
    )
    assert reply.status_code == 303
    send(flagging_app.test_client(), counter.token, clock, 60)
    # Afternoons only: a Tuesday morning is now out of hours.
    reply = post(
        staff, "/console/agencies/TTHCC/edit", data | {"opening_hours": "T2-T6 13:00-17:00"}
    )
    assert reply.status_code == 303
    clock.now = TUESDAY_9AM + 7 * 86400  # the Tuesday after: the clock never goes back
    send(flagging_app.test_client(), counter.token, clock, 60, address="198.51.100.1")
    assert flags(flagging_app) == ["out-of-hours", None, "out-of-hours"]
    assert responses(flagging_app)[2].evidence["out-of-hours"] == {"opened": "2026-11-10 09:00"}


def test_a_burst_limit_set_in_the_console_decides_counter_burst_at_once(
    flagging_app, clock, make_counter, login
):
    counter = make_counter()
    add_user(flagging_app, ADMIN, "admin")
    staff = flagging_app.test_client()
    login(staff, ADMIN)

    def citizen(i: int) -> None:
        # One person, one phone, one address each, 21 seconds apart at the counter.
        send(flagging_app.test_client(), counter.token, clock, 21, address=f"198.51.100.{i}")

    citizen(0)  # counts under the default (4), and the settings are now cached
    data = {"name": counter.name, "questionnaire": "sipas-service"}
    reply = post(staff, f"/console/counters/{counter.id}", data | {"burst_limit": "2"})
    assert reply.status_code == 303
    # A window per limit (flagging._item): the three after the change have a new one to fill.
    for i in (1, 2, 3):
        citizen(i)
    assert flags(flagging_app) == [None, None, None, "counter-burst"]
    assert responses(flagging_app)[3].evidence["counter-burst"]["limit"] == 2
